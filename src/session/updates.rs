//! Changes made by other sessions reach this one as [`MailboxEvent`]s; they are queued in the
//! view and sent at the moments RFC 9051 section 7 allows: before a tagged completion, or at
//! once while idling.

use actix::{ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};
use roost_proto::{Code, Data, Response, Status, StatusKind};

use super::flags::offered_flags;
use super::messages::Reply;
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
        let known = selected.view.max_uid();
        let updates = selected.view.drain(allowed);
        let told_new: Vec<u32> = match updates.exists {
            Some(_) => {
                let uids = selected.view.uids();
                let from = uids.rank(known.saturating_add(1));
                uids.slice(from..uids.len()).collect()
            }
            None => Vec::new(),
        };
        if updates.exists.is_some() || !updates.flags.is_empty() {
            selected.contexts.changed();
        }
        let keywords = selected.view.keywords.clone();
        self.write_context_news();
        self.announce_keywords(&keywords);
        self.write_gone(&updates.expunged_seqs, updates.expunged_uids);
        if let Some(n) = updates.exists {
            self.write(Response::Data(Data::Exists(n)));
            self.note_told_new(&told_new);
        }
        if let (Some(n), false) = (updates.recent, self.rev2) {
            self.write(Response::Data(Data::Recent(n)));
        }
        let format = self.flags_fetch_format(true);
        for (seq, entry) in updates.flags {
            let recent = self
                .state
                .selected()
                .is_some_and(|m| m.view.is_recent(entry.uid));
            self.write(format.response(seq, &entry, &keywords, recent));
        }
    }

    /// Sends `* FLAGS` and `* OK [PERMANENTFLAGS]` again when `keywords` holds keywords the
    /// client has not been told of, so that no FETCH shows a flag it was never offered.
    pub(super) fn announce_keywords(&mut self, keywords: &[String]) {
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        if keywords.len() <= selected.announced_keywords {
            return;
        }
        selected.announced_keywords = keywords.len();
        let read_only = selected.read_only;
        for line in offered_flags(keywords, read_only) {
            self.write(line);
        }
    }

    /// The selected mailbox went away (deleted, renamed, moved to another owner). An
    /// IMAP4rev2 session takes RFC 9051 section 3 transition (6) with an unsolicited
    /// `[CLOSED]`; an IMAP4rev1 client does not know that code and would go on as if its
    /// mailbox were still selected, so it gets `* BYE` and reconnects. Returns the reply that
    /// ends the connection in that case.
    pub(super) fn close_selected(
        &mut self,
        ctx: &mut Context<Self>,
        reason: &str,
    ) -> Option<Reply> {
        self.state.selected()?;
        if !self.rev2 {
            return Some(self.bye(ctx, reason));
        }
        self.state = std::mem::replace(&mut self.state, State::Logout).deselect();
        self.observe_state();
        self.write_status(Status::untagged(StatusKind::Ok, Some(Code::Closed), reason));
        None
    }
}

impl Handler<MailboxEvent> for Session {
    type Result = ();

    fn handle(&mut self, event: MailboxEvent, ctx: &mut Context<Self>) {
        match &mut self.events_while_selecting {
            Some(early) => early.push(event),
            None => self.apply_event(event, ctx),
        }
    }
}

impl Session {
    /// Takes a change of the selected mailbox into the view, and tells an idling client.
    pub(super) fn apply_event(&mut self, event: MailboxEvent, ctx: &mut Context<Self>) {
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        if selected.handle.info().id != event.mailbox || selected.attachment != event.attachment {
            return; // from a mailbox (or an earlier selection of it) this session has left
        }
        let kind = crate::mailbox::feed::MessageChanges {
            new: matches!(event.change, Change::Appended { .. }),
            expunged: matches!(event.change, Change::Expunged { .. }),
            flags: matches!(event.change, Change::Flags { .. }),
        };
        let heard = match &event.change {
            Change::Appended { entries, .. } | Change::Flags { entries, .. } => {
                entries.iter().map(|e| e.mod_seq).max()
            }
            _ => None,
        };
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
                    self.close_selected(ctx, &reason);
                }
                return;
            }
        }
        if let (Some(heard), Some(selected)) = (heard, self.state.selected_mut()) {
            selected.view.heard_up_to(heard);
        }
        self.push_selected(ctx, kind);
    }

    /// While idling, news goes out as soon as the client has room for it. For a client that
    /// does not read, it stays in the view, where news of one message replaces older news of
    /// the same message, so it costs at most one entry per message however much happens.
    pub(super) fn flush_while_idle(&mut self, ctx: &mut Context<Self>) {
        if !matches!(self.pending, Pending::Idle { .. }) {
            return;
        }
        if self.out.has_room() {
            self.expunges_allowed = true;
            self.flush_updates();
            self.refresh_contexts(ctx);
            self.fetch_told_new(ctx);
            return;
        }
        self.after_room(ctx, |s| &mut s.flush_waits_for_room, Self::flush_while_idle);
    }

    /// Runs `then` once the client has read enough that output has room again; `waiting`
    /// is the flag that keeps one such wake-up on its way at a time.
    pub(super) fn after_room(
        &mut self,
        ctx: &mut Context<Self>,
        waiting: fn(&mut Session) -> &mut bool,
        then: fn(&mut Session, &mut Context<Session>),
    ) {
        if std::mem::replace(waiting(self), true) {
            return; // a wake-up is already on its way
        }
        let outbox = self.out.clone();
        let room = async move { outbox.room().await };
        ctx.spawn(room.into_actor(self).map(move |result, session, ctx| {
            *waiting(session) = false;
            match result {
                Ok(()) => then(session, ctx),
                Err(_) => session.broken = true,
            }
        }));
    }
}
