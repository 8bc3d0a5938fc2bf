//! APPEND (RFC 9051 section 6.3.12, RFC 4315 APPENDUID, MULTIAPPEND).

use actix::ResponseActFuture;
use roost_proto::{AppendMessage, Code, MailboxName, SequenceSet, Status, Tag};

use super::flags::refused_flags;
use super::messages::{ReadMode, Reply};
use super::names::{mailbox_error, InvalidName};
use super::{ready, run, Session};
use crate::mailbox::{MailboxError, NewMessage};

impl Session {
    pub(super) fn handle_append(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        messages: Vec<AppendMessage>,
    ) -> ResponseActFuture<Self, Reply> {
        let Ok(name) = self.mailbox_name(mailbox) else {
            self.write_status(InvalidName::missing(tag));
            return ready(self.reply(ReadMode::Command));
        };
        if let Some(reason) = messages.iter().find_map(|m| refused_flags(&m.flags)) {
            self.write_status(Status::bad(tag, None, reason));
            return ready(self.reply(ReadMode::Command));
        }
        if messages.iter().any(|m| m.data.is_empty()) {
            self.write_status(Status::no(
                tag,
                Some(Code::Cannot),
                "an empty message cannot be appended",
            ));
            return ready(self.reply(ReadMode::Command));
        }
        let new: Vec<NewMessage> = messages
            .into_iter()
            .map(|m| NewMessage {
                data: crate::message::line_ends::crlf(m.data),
                flags: m.flags,
                internal_date: m.date.map(|d| d.unix_timestamp()),
            })
            .collect();
        let selected = self.state.selected().map(|m| m.handle.info().id);
        let (registry, user) = (self.shared.registry.clone(), self.user());
        let work = async move {
            let handle = match registry.account(&user).await?.open(&name).await {
                Err(MailboxError::NonExistent(_)) => return Err(None),
                other => other.map_err(Some)?,
            };
            let appended = handle.append(new).await.map_err(Some)?;
            // Into the selected mailbox: announce the new messages before the tagged OK
            // (RFC 9051 section 6.3.12 says the server SHOULD send EXISTS).
            // The messages are stored: a failure to read them back must not turn the answer
            // into a NO (a client would append them again); the session then hears of them
            // as of any other change.
            let entries = if selected == Some(handle.info().id) {
                handle.entries(appended.uids.clone()).await.ok()
            } else {
                None
            };
            Ok((appended, entries))
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok((appended, entries)) => {
                    if let (Some((entries, keywords)), Some(m)) =
                        (entries, session.state.selected_mut())
                    {
                        m.view.queue_appended(&entries, &[], keywords);
                        let own: Vec<u32> = entries.iter().map(|e| e.uid).collect();
                        session.own_new_messages(own);
                    }
                    let code = Code::AppendUid {
                        uid_validity: appended.uid_validity,
                        uids: SequenceSet::from_numbers(appended.uids.iter().copied()),
                    };
                    session.write_status(Status::ok(tag, Some(code), "APPEND completed"));
                }
                Err(None) => session.write_status(Status::no(
                    tag,
                    Some(Code::TryCreate),
                    "no such mailbox; create it first",
                )),
                Err(Some(e)) => session.write_status(mailbox_error(tag, &e)),
            }
            ReadMode::Command
        })
    }
}
