//! COPY, MOVE and their UID forms (RFC 9051 sections 6.4.7 and 6.4.8, RFC 6851, RFC 4315
//! COPYUID).

use actix::ResponseActFuture;
use roost_proto::{Code, MailboxName, SequenceSet, Status, StatusKind, Tag};

use super::messages::{ReadMode, Reply};
use super::names::{mailbox_error, InvalidName};
use super::{ready, run, Session};
use crate::mailbox::MailboxError;

impl Session {
    pub(super) fn handle_copy(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        mailbox: &MailboxName,
        is_move: bool,
    ) -> ResponseActFuture<Self, Reply> {
        if is_move {
            if let Some(refused) = self.refuse_read_only(&tag) {
                return refused;
            }
        }
        let Some(selected) = self.state.selected() else {
            return ready(self.reply(ReadMode::Command));
        };
        let verb = if is_move { "MOVE" } else { "COPY" };
        let Ok(name) = self.mailbox_name(mailbox) else {
            self.write_status(InvalidName::missing(tag));
            return ready(self.reply(ReadMode::Command));
        };
        let pairs = if uid {
            selected.view.resolve_uids(set)
        } else {
            selected.view.resolve_seqs(set)
        };
        let uids: Vec<u32> = pairs.iter().map(|&(_, u)| u).collect();
        let source = selected.handle.clone();
        let (registry, user) = (self.shared.registry.clone(), self.user());
        let work = async move {
            let destination = match registry.account(&user).await?.open(&name).await {
                Err(MailboxError::NonExistent(n)) => return Err(MailboxError::NonExistent(n)),
                other => other?,
            };
            let copied = if uids.is_empty() {
                None // nothing to do; clients (iOS) expect OK for vanished UIDs
            } else if is_move {
                Some(source.move_to(uids, &destination).await?)
            } else {
                Some(source.copy_to(uids, &destination).await?)
            };
            let into_self = destination.info().id == source.info().id;
            let entries = match (&copied, into_self) {
                // Copied already: reading them back failing must not make the answer NO.
                (Some(c), true) => destination.entries(c.destination_uids.clone()).await.ok(),
                _ => None,
            };
            Ok((copied, entries))
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok((copied, entries)) => {
                    crate::memory::after_command(
                        copied.as_ref().map_or(0, |c| c.source_uids.len()),
                    );
                    if let (Some((entries, keywords)), Some(m)) =
                        (entries, session.state.selected_mut())
                    {
                        m.view.queue_appended(&entries, &[], keywords);
                        let own: Vec<u32> = entries.iter().map(|e| e.uid).collect();
                        session.own_new_messages(own);
                    }
                    let code = copied
                        .as_ref()
                        .filter(|c| !c.source_uids.is_empty())
                        .map(|c| Code::CopyUid {
                            uid_validity: c.uid_validity,
                            source: SequenceSet::from_numbers(c.source_uids.iter().copied()),
                            destination: SequenceSet::from_numbers(
                                c.destination_uids.iter().copied(),
                            ),
                        });
                    if is_move {
                        // RFC 6851 section 4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
                        if let Some(code) = code {
                            session.write_status(Status::untagged(
                                StatusKind::Ok,
                                Some(code),
                                "Moved",
                            ));
                        }
                        if let Some(c) = &copied {
                            session.write_expunged(&c.source_uids);
                        }
                        session.write_status(Status::ok(tag, None, format!("{verb} completed")));
                    } else {
                        session.write_status(Status::ok(tag, code, format!("{verb} completed")));
                    }
                }
                Err(MailboxError::NonExistent(_)) => session.write_status(Status::no(
                    tag,
                    Some(Code::TryCreate),
                    "no such destination mailbox; create it first",
                )),
                Err(e) => session.write_status(mailbox_error(tag, &e)),
            }
            ReadMode::Command
        })
    }
}
