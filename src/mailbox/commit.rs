//! Group commit for the Mailbox actor: writes that arrive while one batch is being
//! fsynced wait in a queue; when the batch ends, the whole queue becomes the next batch,
//! with one log write and one fsync.
//!
//! A batch is: plan and stage every queued write in arrival order (each sees the effects
//! of the ones before it), hand the encoded transactions to a blocking task, and, when it
//! returns, announce and answer them all. If the write fails the in-memory state is ahead
//! of the disk, so the actor fails for good (see `Mailbox::fail`) rather than serve it.

use actix::prelude::*;
use tokio::task::JoinError;

use super::actor::Mailbox;
use super::{Appended, ExpungeScope, Expunged, MailboxError, Reply, StoreOutcome};
use crate::store::journal::Committed;
use crate::store::mailbox::{MailboxRecord, NewEntry};
use crate::store::requests::RequestKey;
use crate::store::BlobId;
use roost_proto::StoreAction;

/// A write waiting for the next batch.
pub(super) enum Write {
    /// Blobs already durable; `key`: forwarded by another node (see `once.rs`).
    Append {
        items: Vec<NewEntry>,
        key: Option<RequestKey>,
        reply: Reply<Appended>,
    },
    Store {
        uids: Vec<u32>,
        action: StoreAction,
        names: Vec<String>,
        unchanged_since: Option<u64>,
        key: Option<RequestKey>,
        reply: Reply<StoreOutcome>,
    },
    Expunge {
        scope: ExpungeScope,
        key: Option<RequestKey>,
        reply: Reply<Expunged>,
    },
    /// Blobs already linked; `(source UID, message)`.
    CopyIn {
        items: Vec<(u32, NewEntry)>,
        same_mailbox: bool,
        /// The copy half of a MOVE inside the account: not refused for quota.
        moving: bool,
        /// Blobs this copy asked to keep (`Mailbox::incoming`), released when it is planned.
        claimed: Vec<BlobId>,
        key: Option<RequestKey>,
        reply: Reply<Vec<(u32, u32)>>,
    },
}

/// A staged write waiting for its batch's fsync.
pub(super) enum Done {
    Appended {
        uids: Vec<u32>,
        /// The message files written for them: removed again if the commit fails, so a
        /// refused APPEND leaves nothing recovery would list (docs/storage.md).
        written: Vec<BlobId>,
        reply: Reply<Appended>,
    },
    Stored {
        matched: Vec<u32>,
        changed: Vec<u32>,
        /// The MODSEQ this STORE gave the messages it changed.
        mod_seq: u64,
        modified: Vec<u32>,
        reply: Reply<StoreOutcome>,
    },
    Expunged {
        uids: Vec<u32>,
        mod_seq: u64,
        freed: Vec<BlobId>,
        reply: Reply<Expunged>,
    },
    CopiedIn {
        pairs: Vec<(u32, u32)>,
        reply: Reply<Vec<(u32, u32)>>,
    },
}

/// Answers `reply` with `error`; `None` so plan code can return it directly.
pub(super) fn refuse<T: 'static, U>(reply: Reply<T>, error: &MailboxError) -> Option<U> {
    reply.send(Err(error.clone()));
    None
}

impl Write {
    /// The message files an APPEND wrote before it joined the queue.
    pub fn written(&self) -> Vec<BlobId> {
        match self {
            Write::Append { items, .. } => items.iter().map(|i| i.blob).collect(),
            _ => Vec::new(),
        }
    }

    pub fn refuse(self, error: &MailboxError) {
        let _: Option<()> = match self {
            Write::Append { reply, .. } => refuse(reply, error),
            Write::Store { reply, .. } => refuse(reply, error),
            Write::Expunge { reply, .. } => refuse(reply, error),
            Write::CopyIn { reply, .. } => refuse(reply, error),
        };
    }
}

impl Done {
    pub fn refuse(self, error: &MailboxError) {
        let _: Option<()> = match self {
            Done::Appended { reply, .. } => refuse(reply, error),
            Done::Stored { reply, .. } => refuse(reply, error),
            Done::Expunged { reply, .. } => refuse(reply, error),
            Done::CopiedIn { reply, .. } => refuse(reply, error),
        };
    }
}

/// The queue and the state of the running batch.
#[derive(Default)]
pub(super) struct Batcher {
    /// A batch is on its way to disk; reads and new writes wait.
    pub in_flight: bool,
    queue: Vec<Write>,
    /// Blob writes and links running before their writes join the queue.
    pub pending_io: usize,
    /// The lease epoch this actor last wrote into the log ([`MailboxRecord::Writer`]).
    logged_epoch: Option<u64>,
}

impl Batcher {
    /// Nothing queued and no blob I/O running.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.pending_io == 0
    }

    /// Whether a batch or a blob write is still running (a close waits for them).
    pub fn is_working(&self) -> bool {
        self.in_flight || self.pending_io > 0
    }
}

impl Mailbox {
    /// Queues a write; starts a batch at once unless one is running.
    pub(super) fn enqueue(&mut self, ctx: &mut Context<Self>, write: Write) {
        if let Some(fault) = self.fault.clone() {
            self.refuse_write(write, &fault);
            return;
        }
        self.batcher.queue.push(write);
        self.start_batch(ctx);
    }

    fn start_batch(&mut self, ctx: &mut Context<Self>) {
        if self.batcher.in_flight || self.batcher.queue.is_empty() || self.fault.is_some() {
            return;
        }
        let writes = std::mem::take(&mut self.batcher.queue);
        // In a cluster, the log names the epoch of each owner before its first change, so
        // that "one writer per epoch, epochs only growing" can be checked from the log.
        let epoch = self.shared.write_epoch(&self.key.account);
        if let (Some(e), Some(store)) = (epoch, self.store.as_mut()) {
            if self.batcher.logged_epoch != Some(e)
                && store
                    .stage(vec![MailboxRecord::Writer { epoch: e }])
                    .is_ok()
            {
                self.batcher.logged_epoch = Some(e);
            }
        }
        let done: Vec<Done> = writes.into_iter().filter_map(|w| self.prepare(w)).collect();
        let Some(store) = self.store.as_mut() else {
            return;
        };
        if !store.has_staged() {
            // Nothing to write (e.g. a STORE that changes nothing): answer in order.
            self.complete(done);
            return;
        }
        let commit = match store.begin_commit() {
            Ok(commit) => commit,
            Err(e) => return self.abort_batch(done, e.into()),
        };
        self.batcher.in_flight = true;
        let (shared, account) = (self.shared.clone(), self.key.account.clone());
        // The fence is checked on the blocking task, right before the write it guards.
        let job = tokio::task::spawn_blocking(move || -> Result<Committed, MailboxError> {
            shared.check_write_at(&account, epoch)?;
            Ok(commit.run_while(&|| shared.check_write_at(&account, epoch).is_ok()))
        });
        ctx.spawn(
            job.into_actor(self)
                .map(move |ran, act, ctx| act.finish_batch(ctx, ran, done)),
        );
    }

    fn finish_batch(
        &mut self,
        ctx: &mut Context<Self>,
        ran: Result<Result<Committed, MailboxError>, JoinError>,
        done: Vec<Done>,
    ) {
        self.batcher.in_flight = false;
        let result = match (ran, self.store.as_mut()) {
            (Ok(Ok(committed)), Some(store)) => {
                let finished = store.finish_commit(committed);
                if finished.is_err() {
                    self.remove_written(&done);
                }
                finished.map_err(Into::into)
            }
            (Ok(Err(fenced)), _) => Err(fenced),
            (Ok(Ok(_)), None) => Err(MailboxError::Storage("store vanished".into())),
            (Err(e), _) => Err(MailboxError::Storage(format!("commit panicked: {e}"))),
        };
        match result {
            Ok(()) => self.complete(done),
            Err(e) => self.abort_batch(done, e),
        }
        self.after_commit(ctx);
        self.start_batch(ctx);
    }

    /// Removes the message files of the APPENDs in a batch whose commit failed (the log
    /// was cut back to its last whole frame, so nothing names them).
    fn remove_written(&self, done: &[Done]) {
        let written: Vec<BlobId> = done
            .iter()
            .flat_map(|d| match d {
                Done::Appended { written, .. } => written.clone(),
                _ => Vec::new(),
            })
            .collect();
        self.remove_unlisted(written);
    }

    /// Removes message files this actor wrote for a refused change, checking the fence
    /// right before: once another node owns the account its recovery may have listed them
    /// (they are then at worst re-added, never deleted under a listed message). A close
    /// waits for these removals: a file left behind at a handover would come back at the
    /// next owner beside the retry of the same APPEND (roost-bench faults: stored twice).
    pub(super) fn remove_unlisted(&self, written: Vec<BlobId>) {
        if written.is_empty() {
            return;
        }
        super::ops::lock_set(&self.removing).extend(written);
        tokio::task::spawn_blocking(self.pending_removals());
    }

    /// Answers a write that will not be made, and removes the files it wrote.
    pub(super) fn refuse_write(&self, write: Write, error: &MailboxError) {
        self.remove_unlisted(write.written());
        write.refuse(error);
    }

    /// Refuses every queued write.
    pub(super) fn refuse_queued(&mut self, error: &MailboxError) {
        for write in std::mem::take(&mut self.batcher.queue) {
            self.refuse_write(write, error);
        }
    }

    fn abort_batch(&mut self, done: Vec<Done>, error: MailboxError) {
        self.remove_written(&done);
        for d in done {
            d.refuse(&error);
        }
        self.refuse_queued(&error);
        self.fail(error);
    }
}
