//! GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208 section 4.1).
//!
//! Each account is one quota root, `#user/<name>`, holding all its mailboxes, with the
//! resources STORAGE (KiB) and MESSAGE. The account's owner counts and enforces it (see
//! `crate::mailbox::usage`); these handlers only ask it. A user sees their own root;
//! `[quota] admins` may read and set every account's.

use actix::ResponseActFuture;
use roost_proto::{Atom, Code, Data, MailboxName, QuotaResource, Response, Status, Tag};

use super::mailbox::atom;
use super::messages::{ReadMode, Reply};
use super::names::mailbox_error;
use super::{ready, run, Session};
use crate::mailbox::{MailboxError, QuotaReport};
use crate::store::account::account_dir_name;
use crate::store::quota::Limits;

const ROOT_PREFIX: &str = "#user/";

/// The quota root of `user`'s account.
pub fn root_of(user: &str) -> String {
    format!("{ROOT_PREFIX}{user}")
}

/// The `QUOTA` response of a report: one triplet per limited resource (RFC 9208 section
/// 4.2.1: a resource not listed has no limit).
fn quota_data(root: String, report: QuotaReport) -> Response {
    let mut resources = Vec::new();
    if let Some(limit) = report.limits.storage_kib {
        resources.push(QuotaResource {
            name: atom("STORAGE"),
            usage: report.usage.storage_kib(),
            limit,
        });
    }
    if let Some(limit) = report.limits.messages {
        resources.push(QuotaResource {
            name: atom("MESSAGE"),
            usage: report.usage.messages,
            limit,
        });
    }
    Response::Data(Data::Quota { root, resources })
}

/// SETQUOTA's list as limits; the error is the tagged answer (resources this server does
/// not limit are refused as a whole, RFC 9208 section 4.1.3: nothing is set).
fn limits_of(tag: &Tag, list: &[(Atom, u64)]) -> Result<Limits, Status> {
    let mut limits = Limits::default();
    for (name, limit) in list {
        let slot = match name.as_str().to_ascii_uppercase().as_str() {
            "STORAGE" => &mut limits.storage_kib,
            "MESSAGE" => &mut limits.messages,
            other => {
                return Err(Status::no(
                    tag.clone(),
                    Some(Code::Cannot),
                    format!("cannot limit {other}: only STORAGE and MESSAGE are limited here"),
                ))
            }
        };
        if slot.replace(*limit).is_some() {
            return Err(Status::bad(
                tag.clone(),
                None,
                format!("{name} is listed twice"),
            ));
        }
    }
    Ok(limits)
}

impl Session {
    pub(super) fn is_quota_admin(&self) -> bool {
        let user = self.user();
        self.shared.config.quota.admins.contains(&user)
    }

    /// The user whose account `root` names, if this session may use it; else the answer.
    fn root_user(&self, tag: &Tag, root: &[u8]) -> Result<String, Status> {
        let own = self.user();
        let named = std::str::from_utf8(root)
            .ok()
            .and_then(|r| r.strip_prefix(ROOT_PREFIX));
        match named {
            Some(user) if user == own => Ok(own),
            Some(user) if self.is_quota_admin() && !user.is_empty() => Ok(user.to_owned()),
            _ => Err(Status::no(
                tag.clone(),
                Some(Code::NonExistent),
                format!(
                    "no such quota root; yours is \"{}\" (see GETQUOTAROOT)",
                    root_of(&own)
                ),
            )),
        }
    }

    /// Asks `user`'s account owner for its quota, setting `limits` first when given, and
    /// answers with `QUOTA` (after `before`, the QUOTAROOT of GETQUOTAROOT).
    fn answer_quota(
        &mut self,
        tag: Tag,
        user: String,
        limits: Option<Limits>,
        before: Option<Response>,
    ) -> ResponseActFuture<Self, Reply> {
        let registry = self.shared.registry.clone();
        let other = user != self.user();
        let accounts = self.shared.config.data_dir.join("accounts");
        let work = async move {
            // Another user's account (an administrator's request) is never created by it.
            if other
                && tokio::fs::metadata(accounts.join(account_dir_name(&user)))
                    .await
                    .is_err()
            {
                return Err(MailboxError::NonExistent(format!("no account {user}")));
            }
            let account = registry.account(&user).await?;
            let report = match limits {
                Some(limits) => account.set_quota(limits).await?,
                None => account.quota().await?,
            };
            Ok((user, report))
        };
        let verb = if limits.is_some() {
            "SETQUOTA"
        } else if before.is_some() {
            "GETQUOTAROOT"
        } else {
            "GETQUOTA"
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok((user, report)) => {
                    if let Some(before) = before {
                        session.write(before);
                    }
                    session.write(quota_data(root_of(&user), report));
                    session.write_status(Status::ok(tag, None, format!("{verb} completed")));
                }
                Err(e) => session.write_status(mailbox_error(tag, &e)),
            }
            ReadMode::Command
        })
    }

    /// RFC 9208 section 4.1.1.
    pub(super) fn handle_getquota(
        &mut self,
        tag: Tag,
        root: &[u8],
    ) -> ResponseActFuture<Self, Reply> {
        match self.root_user(&tag, root) {
            Ok(user) => self.answer_quota(tag, user, None, None),
            Err(status) => {
                self.write_status(status);
                ready(self.reply(ReadMode::Command))
            }
        }
    }

    /// RFC 9208 section 4.1.2: the mailbox need not exist (its root is the account's).
    pub(super) fn handle_getquotaroot(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
    ) -> ResponseActFuture<Self, Reply> {
        self.with_name(tag, mailbox, |session, tag, name| {
            let user = session.user();
            let quotaroot = Response::Data(Data::QuotaRoot {
                mailbox: name,
                roots: vec![root_of(&user)],
            });
            session.answer_quota(tag, user, None, Some(quotaroot))
        })
    }

    /// RFC 9208 section 4.1.3: administrators only (`[quota] admins`).
    pub(super) fn handle_setquota(
        &mut self,
        tag: Tag,
        root: &[u8],
        list: &[(Atom, u64)],
    ) -> ResponseActFuture<Self, Reply> {
        let checked = if self.is_quota_admin() {
            self.root_user(&tag, root)
                .and_then(|user| Ok((user, limits_of(&tag, list)?)))
        } else {
            Err(Status::no(
                tag.clone(),
                Some(Code::NoPerm),
                "only a quota administrator may change quotas",
            ))
        };
        match checked {
            Ok((user, limits)) => self.answer_quota(tag, user, Some(limits), None),
            Err(status) => {
                self.write_status(status);
                ready(self.reply(ReadMode::Command))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setquota_lists_become_limits_and_unknown_resources_are_refused() {
        let tag = Tag::new("A1").unwrap();
        let list = [(atom("storage"), 512), (atom("MESSAGE"), 10)];
        assert_eq!(
            limits_of(&tag, &list).unwrap(),
            Limits {
                storage_kib: Some(512),
                messages: Some(10)
            }
        );
        assert_eq!(limits_of(&tag, &[]).unwrap(), Limits::default());
        let kind = |status: Status| match status {
            Status::Tagged { kind, .. } => kind,
            other => panic!("untagged {other:?}"),
        };
        let refused = limits_of(&tag, &[(atom("MAILBOX"), 5)]).unwrap_err();
        assert_eq!(kind(refused), roost_proto::StatusKind::No);
        let twice = [(atom("STORAGE"), 1), (atom("STORAGE"), 2)];
        assert_eq!(
            kind(limits_of(&tag, &twice).unwrap_err()),
            roost_proto::StatusKind::Bad
        );
    }
}
