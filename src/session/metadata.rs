//! GETMETADATA and SETMETADATA (RFC 5464 sections 4.2 and 4.3).
//!
//! The entries live with the account and every read and write goes to its owner (the
//! account actor, here or over the node link). Roost has no ACLs and no shared mailboxes, so
//! `/shared` entries are seen by the account's user alone, like `/private` ones: section 3.3
//! lets a server without ACL treat the mailbox's one user as every authorized user. Both
//! scopes are kept, as distinct names. Section 3.2's name checks are the parser's (`BAD`).
//!
//! Unsolicited METADATA responses (section 4.4) are optional and not sent: `ENABLE METADATA`
//! enables nothing.

use actix::ResponseActFuture;
use bytes::Bytes;
use roost_proto::{
    Code, Data, Depth, EntryName, MailboxName, MetadataCode, MetadataEntries, MetadataOptions,
    MetadataValue, Response, Status, Tag,
};

use super::messages::{ReadMode, Reply};
use super::names::mailbox_error;
use super::{run, Session};
use crate::store::metadata::{MetadataFound, MetadataQuery, QueryDepth};

/// The server entry whose value comes from the configuration (section 3.2.1.1).
const ADMIN: &str = "/shared/admin";

impl Session {
    /// RFC 5464 section 4.2: one `* METADATA` with every entry found (none: no response),
    /// then OK, with `[METADATA LONGENTRIES n]` when MAXSIZE left values out.
    pub(super) fn handle_getmetadata(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        options: MetadataOptions,
        entries: Vec<EntryName>,
    ) -> ResponseActFuture<Self, Reply> {
        let query = MetadataQuery {
            entries: entries.iter().map(EntryName::key).collect(),
            depth: match options.depth {
                Depth::Zero => QueryDepth::Zero,
                Depth::One => QueryDepth::One,
                Depth::Infinity => QueryDepth::Infinity,
            },
            max_size: options.max_size,
        };
        self.with_name(tag, mailbox, move |session, tag, name| {
            let admin = session.shared.config.metadata.admin.clone();
            let (registry, user) = (session.shared.registry.clone(), session.user());
            let mailbox = name.clone();
            let work = async move {
                let account = registry.account(&user).await?;
                let mut found = account.get_metadata(mailbox, query.clone()).await?;
                if let Some(admin) = admin.filter(|_| name.is_empty() && query.matches(ADMIN)) {
                    found.offer(ADMIN, admin.as_bytes(), query.max_size);
                }
                Ok::<_, crate::mailbox::MailboxError>((name, found))
            };
            run(session, work, move |session, result, _| {
                match result {
                    Ok((name, found)) => session.write_metadata(tag, name, found),
                    Err(e) => session.write_status(mailbox_error(tag, &e)),
                }
                ReadMode::Command
            })
        })
    }

    fn write_metadata(&mut self, tag: Tag, mailbox: String, found: MetadataFound) {
        let values: Vec<(EntryName, MetadataValue)> = found
            .values
            .into_iter()
            .filter_map(|(name, value)| {
                let name = EntryName::new(name.as_bytes()).ok()?;
                Some((name, Some(Bytes::from(value))))
            })
            .collect();
        if !values.is_empty() {
            self.write(Response::Data(Data::Metadata {
                mailbox,
                entries: MetadataEntries::Values(values),
            }));
        }
        let code = found
            .longest_skipped
            .map(|n| Code::Metadata(MetadataCode::LongEntries(n)));
        self.write_status(Status::ok(tag, code, "GETMETADATA completed"));
    }

    /// RFC 5464 section 4.3: every entry set or removed in one durable record, or none (a
    /// limit answers NO with its code).
    pub(super) fn handle_setmetadata(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        entries: Vec<(EntryName, MetadataValue)>,
    ) -> ResponseActFuture<Self, Reply> {
        let changes: Vec<_> = entries
            .into_iter()
            .map(|(name, value)| (name.key(), value.map(|v| v.to_vec())))
            .collect();
        self.with_name(tag, mailbox, move |session, tag, name| {
            if name.is_empty() && changes.iter().any(|(n, _)| n == ADMIN) {
                session.write_status(Status::no(
                    tag,
                    Some(Code::NoPerm),
                    "/shared/admin is read-only (RFC 5464 section 3.2.1.1)",
                ));
                return super::ready(session.reply(ReadMode::Command));
            }
            let (registry, user) = (session.shared.registry.clone(), session.user());
            let work = async move {
                let account = registry.account(&user).await?;
                account.set_metadata(name, changes).await
            };
            run(session, work, move |session, result, _| {
                session.write_status(match result {
                    Ok(()) => Status::ok(tag, None, "SETMETADATA completed"),
                    Err(e) => mailbox_error(tag, &e),
                });
                ReadMode::Command
            })
        })
    }
}
