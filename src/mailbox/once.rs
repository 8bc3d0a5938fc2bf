//! The owner's side of keyed writes (issue 19 finding 5): a write (APPEND, STORE, EXPUNGE,
//! and the destination side of COPY and MOVE) forwarded by another node
//! carries a [`RequestKey`], and the node sends it again, under the same key, when the answer
//! was lost (link closed, timed out, owner gone). Here a key takes effect at most once:
//!
//! - committed already (the key is in the mailbox state, logged with the write): answered
//!   with the recorded outcome, nothing is written;
//! - still running (blob I/O, queued, or in the batch being fsynced): the repeat waits and is
//!   looked at again once the first is answered (committed: its outcome; refused: nothing was
//!   written, so it runs);
//! - unknown: it runs, and its records carry the key.
//!
//! A new owner after a failover loads the keys with the log or snapshot, so the answer does
//! not depend on which node the repeat reaches.

use std::sync::Arc;

use actix::prelude::*;

use super::actor::{Mailbox, Request};
use super::request::{Answer, MailboxOp};
use super::{Appended, Expunged, MailboxError, Reply, StoreOutcome};
use crate::store::requests::{Outcome, RequestKey};

impl Mailbox {
    /// Runs a keyed mailbox operation (`MailboxOp::Once`): writes are recorded (a repeated
    /// STORE would change nothing and report its own change as `[MODIFIED]`; a repeated
    /// EXPUNGE would report nothing), reads change nothing and simply run.
    pub(super) fn run_once(
        &mut self,
        ctx: &mut Context<Self>,
        key: RequestKey,
        op: MailboxOp,
        reply: Reply<Answer>,
    ) {
        match op {
            MailboxOp::Append { messages } => self.once(
                ctx,
                key,
                reply,
                |act, outcome| {
                    let uids = outcome.appended_uids()?;
                    let uid_validity = act.info.uid_validity;
                    Some(Answer::Appended(Appended { uid_validity, uids }))
                },
                move |act, ctx, reply| {
                    act.start_append(ctx, messages, Some(key), reply.from(Answer::Appended));
                },
            ),
            MailboxOp::Store(request) => self.once(
                ctx,
                key,
                reply,
                |act, outcome| {
                    let Outcome::Stored {
                        mod_seq,
                        matched,
                        changed,
                        modified,
                    } = outcome
                    else {
                        return None;
                    };
                    let state = act.state().ok()?;
                    Some(Answer::Stored(StoreOutcome {
                        entries: state.lookup(matched).into_iter().copied().collect(),
                        modified: modified.clone(),
                        keywords: Arc::from(state.keywords.as_slice()),
                        changed: changed.clone(),
                        mod_seq: *mod_seq,
                        contended: Vec::new(),
                    }))
                },
                move |act, ctx, reply| {
                    act.start_store(ctx, request, Some(key), reply.from(Answer::Stored));
                },
            ),
            MailboxOp::Expunge(scope) => self.once(
                ctx,
                key,
                reply,
                |_, outcome| match outcome {
                    Outcome::Expunged { mod_seq, uids } => Some(Answer::Expunged(Expunged {
                        uids: uids.clone(),
                        mod_seq: *mod_seq,
                    })),
                    _ => None,
                },
                move |act, ctx, reply| {
                    act.start_expunge(ctx, scope, Some(key), reply.from(Answer::Expunged));
                },
            ),
            other => self.run(ctx, other, reply),
        }
    }

    /// Answers `reply` with what the write under `key` produced if it is committed, waits for
    /// it if it is running, or starts it (`start`, which must record `key` with its records).
    pub(super) fn once<T: 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        key: RequestKey,
        reply: Reply<T>,
        recorded: fn(&Mailbox, &Outcome) -> Option<T>,
        start: impl FnOnce(&mut Mailbox, &mut Context<Mailbox>, Reply<T>) + 'static,
    ) {
        if let Some(waiting) = self.in_progress.get_mut(&key) {
            waiting.push(Box::new(move |act, ctx| {
                act.once(ctx, key, reply, recorded, start);
            }));
            return;
        }
        let known = match self.state() {
            Ok(state) => state.requests.outcome(key).cloned(),
            Err(e) => return reply.send(Err(e)),
        };
        let Some(outcome) = known else {
            // Not in the state, whose staged part holds the running batch: never carried
            // out. Started at once, so keyed writes batch and pipeline as any others.
            self.in_progress.insert(key, Vec::new());
            let addr = ctx.address();
            let reply = reply.then(move || addr.do_send(Request::KeyDone { key }));
            return start(self, ctx, reply);
        };
        // A key in the state is only an answer once durable: after the running commit.
        self.read(ctx, move |act, _| {
            tracing::info!(mailbox = %act.info.id, key = %format_args!("{:032x}", key.0), "a repeated request was answered as before, not carried out again");
            let answer = recorded(act, &outcome).ok_or_else(|| {
                MailboxError::Cannot("the request key was used for another operation".into())
            });
            reply.send(answer);
        });
    }

    /// The write under `key` was answered: the repeats that waited for it are looked at again.
    pub(super) fn key_done(&mut self, ctx: &mut Context<Self>, key: RequestKey) {
        for waiting in self.in_progress.remove(&key).unwrap_or_default() {
            waiting(self, ctx);
        }
    }
}
