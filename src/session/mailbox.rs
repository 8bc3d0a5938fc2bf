//! CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, NAMESPACE, STATUS, CLOSE and UNSELECT (RFC
//! 9051 sections 6.3.4-6.3.11 and 6.4.1-6.4.2); SELECT and EXAMINE are in `select.rs`.

use actix::{Context, ResponseActFuture};
use roost_proto::{
    Atom, Code, Data, MailboxName, NamespaceDesc, Response, Status, StatusItem, StatusValue, Tag,
};

use super::messages::{ReadMode, Reply};
use super::names::{check_new_name, mailbox_error, InvalidName, DELIMITER};
use super::{ready, run, Session};
use crate::mailbox::feed::AccountEvent;
use crate::mailbox::MailboxError;
use crate::store::SpecialUse;

impl Session {
    /// Answers `BAD` for a name that cannot be decoded, or runs `f` with the decoded name.
    pub(super) fn with_name(
        &mut self,
        tag: Tag,
        name: &MailboxName,
        f: impl FnOnce(&mut Self, Tag, String) -> ResponseActFuture<Self, Reply>,
    ) -> ResponseActFuture<Self, Reply> {
        self.with_name_or(tag, name, InvalidName::missing, f)
    }

    /// [`with_name`](Self::with_name), answering `invalid` for a name no mailbox can have.
    fn with_name_or(
        &mut self,
        tag: Tag,
        name: &MailboxName,
        invalid: fn(Tag) -> Status,
        f: impl FnOnce(&mut Self, Tag, String) -> ResponseActFuture<Self, Reply>,
    ) -> ResponseActFuture<Self, Reply> {
        match self.mailbox_name(name) {
            Ok(name) => f(self, tag, name),
            Err(InvalidName) => {
                self.write_status(invalid(tag));
                ready(self.reply(ReadMode::Command))
            }
        }
    }

    /// RFC 9051 section 6.3.4, with RFC 6154's `USE (...)`.
    pub(super) fn handle_create(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        special_use: &[Atom],
    ) -> ResponseActFuture<Self, Reply> {
        let uses: Result<Vec<SpecialUse>, &Atom> = special_use
            .iter()
            .map(|a| SpecialUse::from_name(a.as_str()).ok_or(a))
            .collect();
        let special_use = match uses {
            Ok(uses) if uses.len() <= 1 => uses.first().copied(),
            Ok(_) => {
                self.write_status(Status::no(
                    tag,
                    Some(Code::UseAttr),
                    "at most one special-use attribute per mailbox",
                ));
                return ready(self.reply(ReadMode::Command));
            }
            Err(a) => {
                self.write_status(Status::no(
                    tag,
                    Some(Code::UseAttr),
                    format!("unknown special-use attribute \\{a}"),
                ));
                return ready(self.reply(ReadMode::Command));
            }
        };
        self.with_name_or(
            tag,
            mailbox,
            InvalidName::refused,
            move |session, tag, name| {
                if let Err(reason) = check_new_name(&name) {
                    session.write_status(Status::no(tag, Some(Code::Cannot), reason));
                    return ready(session.reply(ReadMode::Command));
                }
                let (registry, user) = (session.shared.registry.clone(), session.user());
                let work = async move {
                    registry
                        .account(&user)
                        .await?
                        .create(name, special_use)
                        .await
                };
                run(session, work, move |session, result, _| {
                    if let Ok(info) = &result {
                        let name = info.name.clone();
                        session.own_change(AccountEvent::Created { name });
                    }
                    session.write_status(match result {
                        // RFC 8474 section 4.1: OBJECTID servers name the new mailbox's id.
                        Ok(info) => Status::ok(
                            tag,
                            Some(Code::MailboxId(info.id.to_string())),
                            "CREATE completed",
                        ),
                        Err(e) => mailbox_error(tag, &e),
                    });
                    ReadMode::Command
                })
            },
        )
    }

    /// RFC 9051 section 6.3.5.
    pub(super) fn handle_delete(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
    ) -> ResponseActFuture<Self, Reply> {
        self.with_name(tag, mailbox, move |session, tag, name| {
            let (registry, user) = (session.shared.registry.clone(), session.user());
            let deleted = AccountEvent::Deleted { name: name.clone() };
            let work = async move { registry.account(&user).await?.delete(name).await };
            run(session, work, move |session, result, _| {
                if result.is_ok() {
                    session.own_change(deleted);
                }
                session.write_status(match result {
                    Ok(()) => Status::ok(tag, None, "DELETE completed"),
                    Err(e) => mailbox_error(tag, &e),
                });
                ReadMode::Command
            })
        })
    }

    /// RFC 9051 section 6.3.6.
    pub(super) fn handle_rename(
        &mut self,
        tag: Tag,
        from: &MailboxName,
        to: &MailboxName,
    ) -> ResponseActFuture<Self, Reply> {
        let Ok(to) = self.mailbox_name(to) else {
            self.write_status(InvalidName::refused(tag));
            return ready(self.reply(ReadMode::Command));
        };
        self.with_name(tag, from, move |session, tag, from| {
            if let Err(reason) = check_new_name(&to) {
                session.write_status(Status::no(tag, Some(Code::Cannot), reason));
                return ready(session.reply(ReadMode::Command));
            }
            let (registry, user) = (session.shared.registry.clone(), session.user());
            let renamed = AccountEvent::Renamed {
                from: from.clone(),
                to: to.clone(),
            };
            let work = async move { registry.account(&user).await?.rename(from, to).await };
            run(session, work, move |session, result, _| {
                if result.is_ok() {
                    session.own_change(renamed);
                }
                session.write_status(match result {
                    Ok(_) => Status::ok(tag, None, "RENAME completed"),
                    Err(e) => mailbox_error(tag, &e),
                });
                ReadMode::Command
            })
        })
    }

    /// RFC 9051 sections 6.3.7 and 6.3.8. Subscribing to a name that does not exist is
    /// allowed (the name may be created later).
    pub(super) fn handle_subscribe(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        subscribe: bool,
    ) -> ResponseActFuture<Self, Reply> {
        self.with_name_or(
            tag,
            mailbox,
            InvalidName::refused,
            move |session, tag, name| {
                let (registry, user) = (session.shared.registry.clone(), session.user());
                let subscription = AccountEvent::Subscription {
                    name: name.clone(),
                    subscribed: subscribe,
                };
                let work = async move {
                    let account = registry.account(&user).await?;
                    if subscribe {
                        account.subscribe(name).await
                    } else {
                        account.unsubscribe(name).await
                    }
                };
                run(session, work, move |session, result, _| {
                    if result.is_ok() {
                        session.own_change(subscription);
                    }
                    let verb = if subscribe {
                        "SUBSCRIBE"
                    } else {
                        "UNSUBSCRIBE"
                    };
                    session.write_status(match result {
                        Ok(()) => Status::ok(tag, None, format!("{verb} completed")),
                        Err(e) => mailbox_error(tag, &e),
                    });
                    ReadMode::Command
                })
            },
        )
    }

    /// RFC 9051 section 6.3.10: one personal namespace with an empty prefix.
    pub(super) fn handle_namespace(&mut self, tag: Tag) -> ReadMode {
        let personal = vec![NamespaceDesc {
            prefix: String::new(),
            delimiter: Some(DELIMITER),
        }];
        self.write(Response::Data(Data::Namespace {
            personal,
            other: Vec::new(),
            shared: Vec::new(),
        }));
        self.write_status(Status::ok(tag, None, "NAMESPACE completed"));
        ReadMode::Command
    }

    /// RFC 9051 section 6.3.11.
    pub(super) fn handle_status(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        items: Vec<StatusItem>,
    ) -> ResponseActFuture<Self, Reply> {
        if items.contains(&StatusItem::HighestModSeq) {
            self.enable_condstore(); // RFC 7162 section 3.1
        }
        self.with_name(tag, mailbox, move |session, tag, name| {
            let (registry, user) = (session.shared.registry.clone(), session.user());
            let wants_limit = items.contains(&StatusItem::AppendLimit);
            let work = async move {
                let account = registry.account(&user).await?;
                let handle = account.open(&name).await?;
                let status = handle.status().await?;
                // RFC 7889 with RFC 9208: no APPEND larger than the storage left can succeed.
                let left = if wants_limit {
                    let quota = account.quota().await.ok();
                    quota.and_then(|q| q.limits.storage_left(q.usage))
                } else {
                    None
                };
                Ok::<_, MailboxError>((handle.info().clone(), status, left))
            };
            run(session, work, move |session, result, _| {
                match result {
                    Ok((info, status, left)) => {
                        let limit = session.shared.config.limits.max_literal;
                        let limit = left.map_or(limit, |left| left.min(limit));
                        let values = status_values(&items, &info, &status, limit);
                        session.write(Response::Data(Data::Status {
                            mailbox: info.name,
                            items: values,
                        }));
                        session.write_status(Status::ok(tag, None, "STATUS completed"));
                    }
                    Err(e) => session.write_status(mailbox_error(tag, &e)),
                }
                ReadMode::Command
            })
        })
    }

    /// RFC 9051 section 6.4.1: expunge silently (read-write only), then back to Authenticated.
    pub(super) fn handle_close(
        &mut self,
        tag: Tag,
        _ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Reply> {
        let expunge = self
            .state
            .selected()
            .filter(|m| !m.read_only)
            .map(|m| m.handle.clone());
        self.state = std::mem::replace(&mut self.state, super::state::State::Logout).deselect();
        let Some(handle) = expunge else {
            self.write_status(Status::ok(tag, None, "CLOSE completed"));
            return ready(self.reply(ReadMode::Command));
        };
        run(
            self,
            async move { handle.expunge(None).await },
            move |session, result, _| {
                session.write_status(match result {
                    Ok(_) => Status::ok(tag, None, "CLOSE completed"),
                    Err(e) => mailbox_error(tag, &e),
                });
                ReadMode::Command
            },
        )
    }

    /// RFC 9051 section 6.4.2: back to Authenticated without expunging.
    pub(super) fn handle_unselect(&mut self, tag: Tag) -> ReadMode {
        self.state = std::mem::replace(&mut self.state, super::state::State::Logout).deselect();
        self.write_status(Status::ok(tag, None, "UNSELECT completed"));
        ReadMode::Command
    }
}

/// The requested STATUS items, in the order asked.
/// `append_limit` is the mailbox's APPENDLIMIT (RFC 7889): `limits.max_literal`, the
/// largest literal the parser takes, or less where the account's storage quota leaves less.
/// DELETED-STORAGE is the sum of the RFC822.SIZE of the `\Deleted` messages in octets, the
/// figure RFC 9208 section 4.1.4 allows (what EXPUNGE frees of the account's usage).
pub(super) fn status_values(
    items: &[StatusItem],
    info: &crate::store::MailboxInfo,
    status: &crate::mailbox::MailboxStatus,
    append_limit: u64,
) -> Vec<StatusValue> {
    items
        .iter()
        .map(|&item| {
            let n = match item {
                StatusItem::Messages => u64::from(status.messages),
                StatusItem::UidNext => u64::from(status.uid_next),
                StatusItem::UidValidity => u64::from(status.uid_validity),
                StatusItem::Unseen => u64::from(status.unseen),
                StatusItem::Deleted => u64::from(status.deleted),
                StatusItem::Size => status.size,
                StatusItem::Recent => u64::from(status.recent),
                StatusItem::HighestModSeq => status.highest_mod_seq,
                StatusItem::MailboxId => return StatusValue::MailboxId(info.id.to_string()),
                StatusItem::DeletedStorage => status.deleted_size,
                StatusItem::AppendLimit => append_limit,
            };
            StatusValue::Number(item, n)
        })
        .collect()
}

/// An atom from a literal that is known to be one.
pub(super) fn atom(s: &'static str) -> Atom {
    Atom::new(s).expect("a static atom literal")
}
