//! Changes made by other sessions reach this one as [`MailboxEvent`]s; they are queued in the
//! view and sent at the moments RFC 9051 section 7 allows: before a tagged completion, or at
//! once while idling.

use actix::{Context, Handler};
use roost_proto::{Code, Data, Response, Status, StatusKind};

use super::state::State;
use super::{Pending, Session};
use crate::mailbox::{Change, MailboxEvent};

impl Session {
    /// Sends what the view has queued and the client may be told now.
    pub(super) fn flush_updates(&mut self) {
        let allowed = self.expunges_allowed;
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        let updates = selected.view.drain(allowed);
        let keywords = selected.view.keywords.clone();
        for seq in updates.expunged_seqs {
            self.write(Response::Data(Data::Expunge(seq)));
        }
        if let Some(n) = updates.exists {
            self.write(Response::Data(Data::Exists(n)));
        }
        if let (Some(n), false) = (updates.recent, self.rev2) {
            self.write(Response::Data(Data::Recent(n)));
        }
        for (seq, entry) in updates.flags {
            let line = self.flags_fetch(seq, &entry, &keywords, true);
            self.write(line);
        }
    }

    /// The selected mailbox went away (deleted, renamed, moved to another owner): RFC 9051
    /// section 3 transition (6) with an unsolicited `[CLOSED]`.
    pub(super) fn close_selected(&mut self, reason: &str) {
        if self.state.selected().is_none() {
            return;
        }
        self.state = std::mem::replace(&mut self.state, State::Logout).deselect();
        self.observe_state();
        self.write_status(Status::untagged(StatusKind::Ok, Some(Code::Closed), reason));
    }
}

impl Handler<MailboxEvent> for Session {
    type Result = ();

    fn handle(&mut self, event: MailboxEvent, _ctx: &mut Context<Self>) {
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        if selected.handle.info().id != event.mailbox {
            return; // from a mailbox this session has since left
        }
        match event.change {
            Change::Appended {
                entries,
                keywords,
                recent,
            } => selected.view.queue_appended(&entries, &recent, keywords),
            Change::Flags { entries, keywords } => selected.view.queue_flags(&entries, keywords),
            Change::Expunged { uids, .. } => selected.view.queue_expunged(&uids),
            Change::Closed { reason } => {
                if self.busy {
                    self.deferred_close = Some(reason);
                } else {
                    self.close_selected(&reason);
                }
                return;
            }
        }
        if matches!(self.pending, Pending::Idle { .. }) {
            self.expunges_allowed = true;
            self.flush_updates();
        }
    }
}
