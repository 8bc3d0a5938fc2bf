//! EXPUNGE and UID EXPUNGE (RFC 9051 sections 6.4.3 and 6.4.9).

use actix::ResponseActFuture;
use roost_proto::{Data, Response, SequenceSet, Status, Tag};

use super::messages::{ReadMode, Reply};
use super::names::mailbox_error;
use super::{ready, run, Session};

impl Session {
    pub(super) fn handle_expunge(
        &mut self,
        tag: Tag,
        uids: Option<SequenceSet>,
    ) -> ResponseActFuture<Self, Reply> {
        if let Some(refused) = self.refuse_read_only(&tag) {
            return refused;
        }
        let Some(selected) = self.state.selected() else {
            return ready(self.reply(ReadMode::Command));
        };
        let only = uids.map(|set| {
            selected
                .view
                .resolve_uids(&set)
                .into_iter()
                .map(|(_, u)| u)
                .collect::<Vec<_>>()
        });
        if only.as_ref().is_some_and(Vec::is_empty) {
            self.write_status(Status::ok(tag, None, "EXPUNGE completed"));
            return ready(self.reply(ReadMode::Command));
        }
        let handle = selected.handle.clone();
        run(
            self,
            async move { handle.expunge(only).await },
            move |session, result, _| {
                match result {
                    Ok(expunged) => {
                        session.write_expunged(&expunged);
                        crate::memory::after_command(expunged.len());
                        session.write_status(Status::ok(tag, None, "EXPUNGE completed"));
                    }
                    Err(e) => session.write_status(mailbox_error(tag, &e)),
                }
                ReadMode::Command
            },
        )
    }

    /// Reports messages this session removed itself, renumbering its view.
    pub(super) fn write_expunged(&mut self, uids: &[u32]) {
        let seqs = match self.state.selected_mut() {
            Some(m) => m.view.expunge_now(uids),
            None => return,
        };
        for seq in seqs {
            self.write(Response::Data(Data::Expunge(seq)));
        }
    }
}
