//! EXPUNGE and UID EXPUNGE (RFC 9051 sections 6.4.3 and 6.4.9).

use actix::ResponseActFuture;
use roost_proto::{Code, Data, Response, SequenceSet, Status, Tag};

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
                        session.write_expunged(&expunged.uids);
                        crate::memory::after_command(expunged.uids.len());
                        // RFC 7162 section 3.2.7: a QRESYNC client learns the new MODSEQ.
                        let code = (session.qresync && !expunged.uids.is_empty())
                            .then_some(Code::HighestModSeq(expunged.mod_seq));
                        session.write_status(Status::ok(tag, code, "EXPUNGE completed"));
                    }
                    Err(e) => session.write_status(mailbox_error(tag, &e)),
                }
                ReadMode::Command
            },
        )
    }

    /// Reports messages this session removed itself, renumbering its view.
    pub(super) fn write_expunged(&mut self, uids: &[u32]) {
        let Some(m) = self.state.selected_mut() else {
            return;
        };
        // Only messages the client was told of (RFC 7162 section 3.2.10.2).
        let visible: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|&u| m.view.seq_of(u).is_some())
            .collect();
        let seqs = m.view.expunge_now(uids);
        self.write_gone(&seqs, visible);
    }

    /// `* n EXPUNGE` for each of `seqs`, or once QRESYNC is enabled one `* VANISHED` of
    /// their `uids` (RFC 7162 section 3.2.10.2).
    pub(super) fn write_gone(&mut self, seqs: &[u32], uids: Vec<u32>) {
        self.write_context_removals(seqs, &uids);
        if self.qresync {
            if let Some(set) = (!seqs.is_empty()).then(|| SequenceSet::from_numbers(uids)) {
                self.write(Response::Data(Data::Vanished {
                    earlier: false,
                    uids: set,
                }));
            }
            return;
        }
        for &seq in seqs {
            self.write(Response::Data(Data::Expunge(seq)));
        }
    }
}
