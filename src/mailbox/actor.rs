//! The Mailbox actor: the one authoritative, in-memory copy of an open mailbox, and the
//! only writer of its files.
//!
//! It loads the store on a blocking task before handling any request (`ctx.wait`), serves
//! reads from memory, and sends every write through the group commit in `commit.rs`. While
//! a commit is on disk the state already holds its changes, so reads that arrive meanwhile
//! wait for it (see `read`): nobody is ever shown a UID or flag that a crash could undo.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::commit::Batcher;
use super::feed::{AccountEvent, MessageChanges};
use super::listeners::Listeners;
use super::ops::lock_set;
use super::registry::{MailboxKey, Shared};
use super::request::{Answer, MailboxOp};
use super::usage::AccountUsage;
use super::{Attachment, MailboxError, MailboxEvent, MailboxStatus, Reply, SharedIndex, Snapshot};
use crate::store::mailbox::{open_mailbox, MailboxState};
use crate::store::recovery::Reconcile;
use crate::store::requests::RequestKey;
use crate::store::{recent, FlagSet, MailboxInfo, MessageEntry, Store};

/// Requests from [`MailboxHandle`](super::MailboxHandle) and the Account actor; each
/// answers on its `reply` (a dropped reply reads as `Unavailable`).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) enum Request {
    Attach {
        listener: Recipient<MailboxEvent>,
        read_only: bool,
        reply: Reply<Attachment>,
    },
    Detach {
        id: u64,
    },
    /// Every operation a session (here or on another node) asks of the mailbox.
    Op {
        op: MailboxOp,
        reply: Reply<Answer>,
    },
    /// All entries, shared (see [`MailboxHandle::index`](super::MailboxHandle::index)).
    Index {
        reply: Reply<SharedIndex>,
    },
    /// The destination side of COPY/MOVE: link these messages' blobs from `source_dir`
    /// and add them. Replies with `(source UID, new UID)` pairs. A MOVE inside the account
    /// (`moving`) adds nothing to its quota usage, so it is not refused for quota.
    CopyIn {
        source_dir: PathBuf,
        entries: Vec<MessageEntry>,
        keywords: Arc<[String]>,
        moving: bool,
        /// The key of a COPY or MOVE forwarded by another node (see `once.rs`).
        key: Option<RequestKey>,
        reply: Reply<Vec<(u32, u32)>>,
    },
    /// The write under `key` was answered: requests that waited for it run now.
    KeyDone {
        key: RequestKey,
    },
    /// From the Account actor after DELETE or RENAME: tell sessions, refuse further work,
    /// and signal `done` once no commit is running (so files can be removed).
    Close {
        reason: String,
        deleted: bool,
        done: oneshot::Sender<()>,
    },
}

pub(super) type Deferred = Box<dyn FnOnce(&mut Mailbox, &mut Context<Mailbox>)>;

pub(super) struct Mailbox {
    pub(super) shared: Arc<Shared>,
    pub(super) key: MailboxKey,
    token: Arc<()>,
    pub(super) info: MailboxInfo,
    pub(super) dir: PathBuf,
    /// `None` until loaded.
    pub(super) store: Option<Store<MailboxState>>,
    /// Why the mailbox no longer serves: failed load, failed commit, deleted, renamed.
    pub(super) fault: Option<MailboxError>,
    pub(super) batcher: Batcher,
    /// Reads waiting for the running commit.
    deferred: Vec<Deferred>,
    pub(super) listeners: Listeners,
    keywords: Arc<[String]>,
    idle_since: Option<Instant>,
    close_waiters: Vec<oneshot::Sender<()>>,
    /// The entries as last shared with readers; dropped at every write.
    index: Option<Arc<[MessageEntry]>>,
    /// The `\Recent` mark as last saved (`None`: none saved yet), and whether a save is on
    /// its way to disk.
    recent_saved: Option<u32>,
    recent_saving: bool,
    /// The account's quota accounting (set by the registry when it starts the actor).
    pub(super) usage: Option<Arc<AccountUsage>>,
    /// Blobs whose files are still to be removed: of expunged messages, and of refused
    /// APPENDs. The removal takes each id out of the set, under its lock, before deleting;
    /// a COPY that brings the same blob back takes it out first, and the file stays (see
    /// `ops.rs`). A close waits until the set is empty.
    pub(super) removing: Arc<std::sync::Mutex<std::collections::HashSet<crate::store::BlobId>>>,
    /// Blobs that COPY jobs are linking into this mailbox: an EXPUNGE meanwhile must not
    /// free them, or the copy would list a file about to be deleted.
    pub(super) incoming: std::collections::HashMap<crate::store::BlobId, usize>,
    /// Keyed writes not answered yet, with the repeats of their key that wait for them.
    pub(super) in_progress: std::collections::HashMap<RequestKey, Vec<Deferred>>,
}

impl Mailbox {
    pub fn new(
        shared: Arc<Shared>,
        key: MailboxKey,
        info: MailboxInfo,
        dir: PathBuf,
        token: Arc<()>,
    ) -> Self {
        Mailbox {
            shared,
            listeners: Listeners::new(key.id),
            key,
            token,
            info,
            dir,
            store: None,
            fault: None,
            batcher: Batcher::default(),
            deferred: Vec::new(),
            keywords: Arc::from(Vec::new()),
            idle_since: None,
            close_waiters: Vec::new(),
            index: None,
            recent_saved: None,
            recent_saving: false,
            usage: None,
            removing: Arc::default(),
            incoming: std::collections::HashMap::new(),
            in_progress: std::collections::HashMap::new(),
        }
    }

    /// The durable state, or why there is none.
    pub(super) fn state(&self) -> Result<&MailboxState, MailboxError> {
        match (&self.fault, &self.store) {
            (Some(fault), _) => Err(fault.clone()),
            (None, Some(store)) => Ok(store.state()),
            (None, None) => Err(MailboxError::Unavailable("mailbox not loaded".into())),
        }
    }

    /// The keyword table as sessions hold it; rebuilt only when it grew.
    pub(super) fn keywords(&mut self) -> Arc<[String]> {
        if let Some(store) = &self.store {
            let table = &store.state().keywords;
            if table.len() != self.keywords.len() {
                self.keywords = Arc::from(table.as_slice());
            }
        }
        self.keywords.clone()
    }

    /// Runs `f` now, or after the running commit if there is one.
    pub(super) fn read(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut Self, &mut Context<Self>) + 'static,
    ) {
        if self.batcher.in_flight {
            self.deferred.push(Box::new(f));
        } else {
            f(self, ctx);
        }
    }

    /// Called by the commit machinery once a commit ended.
    pub(super) fn after_commit(&mut self, ctx: &mut Context<Self>) {
        self.closed_when_idle();
        for f in std::mem::take(&mut self.deferred) {
            f(self, ctx);
        }
    }

    /// Stops serving for good after a storage failure: the in-memory state may hold
    /// changes the disk does not, so the registry forgets this actor and the next open
    /// reloads from disk.
    pub(super) fn fail(&mut self, error: MailboxError) {
        tracing::error!(mailbox = %self.info.id, name = %self.info.name, %error, "mailbox store failed");
        let reason = match &error {
            MailboxError::Unavailable(why) => why.clone(),
            _ => "mailbox storage failure".to_owned(),
        };
        self.listeners.close_all(&reason);
        self.fault = Some(error);
        self.shared.forget_mailbox(&self.key, &self.token);
        if let Some(usage) = &self.usage {
            usage.forget(self.key.id);
        }
    }

    fn attach(
        &mut self,
        listener: Recipient<MailboxEvent>,
        read_only: bool,
    ) -> Result<Attachment, MailboxError> {
        let keywords = self.keywords();
        self.state()?;
        let (Some(store), listeners) = (&self.store, &mut self.listeners) else {
            return Err(MailboxError::Unavailable("mailbox not loaded".into()));
        };
        let state = store.state();
        let snapshot = Snapshot {
            info: self.info.clone(),
            uid_next: state.uid_next,
            highest_mod_seq: state.highest_mod_seq,
            keywords,
            entries: state.entries.clone(),
        };
        let (id, recent) = listeners.attach(listener, read_only, state);
        Ok(Attachment {
            id,
            snapshot,
            recent,
        })
    }

    fn status(&self) -> Result<MailboxStatus, MailboxError> {
        let state = self.state()?;
        let seen = state
            .entries
            .iter()
            .filter(|e| e.flags.contains(FlagSet::SEEN))
            .count() as u32;
        let deleted = state.deleted_usage();
        Ok(MailboxStatus {
            messages: state.entries.len() as u32,
            uid_next: state.uid_next,
            uid_validity: self.info.uid_validity,
            unseen: state.entries.len() as u32 - seen,
            deleted: deleted.messages as u32,
            deleted_size: deleted.bytes,
            size: state.usage().bytes,
            highest_mod_seq: state.highest_mod_seq,
            recent: self.listeners.unclaimed_count(state),
        })
    }

    fn entries(
        &mut self,
        uids: &[u32],
    ) -> Result<(Vec<MessageEntry>, Arc<[String]>), MailboxError> {
        let keywords = self.keywords();
        let state = self.state()?;
        Ok((state.lookup(uids).into_iter().copied().collect(), keywords))
    }

    fn index(&mut self) -> Result<SharedIndex, MailboxError> {
        let keywords = self.keywords();
        if self.index.is_none() {
            self.index = Some(Arc::from(self.state()?.entries.as_slice()));
        }
        let index = self
            .index
            .clone()
            .ok_or(MailboxError::Unavailable("no index".into()))?;
        Ok((index, keywords))
    }

    /// Tells the account's watchers (NOTIFY) what a durable batch changed, with the counts
    /// after it; nothing is computed when nobody watches.
    pub(super) fn publish(&self, changes: MessageChanges) {
        let account = &self.key.account;
        if !changes.any() || !self.shared.feeds.is_watched(account) {
            return;
        }
        if let Ok(status) = self.status() {
            let event = AccountEvent::Messages {
                mailbox: self.info.id,
                name: self.info.name.clone(),
                changes,
                status,
            };
            self.shared.feeds.publish(account, &event);
        }
    }

    /// The state is about to change: readers must not be handed the old index.
    pub(super) fn forget_index(&mut self) {
        self.index = None;
    }

    fn close(&mut self, reason: &str, deleted: bool, done: oneshot::Sender<()>) {
        self.listeners.close_all(reason);
        let fault = if deleted {
            MailboxError::NonExistent(self.info.name.clone())
        } else {
            MailboxError::Unavailable(reason.to_string())
        };
        self.refuse_queued(&fault);
        self.fault = Some(fault);
        if self.batcher.is_working() {
            self.close_waiters.push(done);
        } else {
            self.closed_after_removals(vec![done]);
        }
    }

    /// Tells those waiting for a close, once no batch and no blob write runs any more.
    pub(super) fn closed_when_idle(&mut self) {
        if !self.batcher.is_working() {
            let waiters = std::mem::take(&mut self.close_waiters);
            self.closed_after_removals(waiters);
        }
    }

    /// Tells `waiters` the mailbox is closed once the files of its expunges are removed:
    /// the account may be handed over next, and the next owner would list a file left
    /// behind again as a recovered message.
    fn closed_after_removals(&self, waiters: Vec<oneshot::Sender<()>>) {
        if waiters.is_empty() {
            return;
        }
        let remove = self.pending_removals();
        tokio::task::spawn_blocking(move || {
            remove();
            for waiter in waiters {
                let _ = waiter.send(());
            }
        });
    }

    /// Whether the `\Recent` mark changed since it was last saved.
    fn recent_unsaved(&self) -> bool {
        self.store.is_some()
            && self.fault.is_none()
            && self.recent_saved != Some(self.listeners.unclaimed_from())
    }

    /// Saves a changed `\Recent` mark off the actor's thread, one save at a time (so an older
    /// value can never land after a newer one).
    fn save_recent(&mut self, ctx: &mut Context<Self>) {
        if self.recent_saving || !self.recent_unsaved() {
            return;
        }
        let (dir, mark) = (self.dir.clone(), self.listeners.unclaimed_from());
        self.recent_saving = true;
        let save = tokio::task::spawn_blocking(move || recent::write_mark(&dir, mark));
        ctx.spawn(save.into_actor(self).map(move |saved, act, _| {
            act.recent_saving = false;
            match saved {
                Ok(Ok(())) => act.recent_saved = Some(mark),
                Ok(Err(e)) => tracing::warn!(mailbox = %act.info.id, error = %e, "cannot save the \\Recent mark"),
                Err(_) => {}
            }
        }));
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.save_recent(ctx);
        // Holders of the token: this actor, the registry entry, and handles.
        let busy = self.batcher.in_flight
            || !self.batcher.is_idle()
            || !self.in_progress.is_empty()
            || self.recent_saving
            || self.recent_unsaved()
            // A new actor's recovery would list a file being removed as a lost message.
            || !lock_set(&self.removing).is_empty();
        if busy || Arc::strong_count(&self.token) > 2 || !self.listeners.is_empty() {
            self.idle_since = None;
            return;
        }
        let since = *self.idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= self.shared.options.idle_linger
            && self.shared.release_mailbox(&self.key, &self.token)
        {
            ctx.stop();
        }
    }
}

impl Mailbox {
    /// Reads answer from memory (after the running commit); writes go through group commit.
    pub(super) fn run(&mut self, ctx: &mut Context<Self>, op: MailboxOp, reply: Reply<Answer>) {
        match op {
            MailboxOp::Status => self.read(ctx, move |act, _| {
                reply.send(act.status().map(Answer::Status));
            }),
            MailboxOp::Entries { uids } => self.read(ctx, move |act, _| {
                reply.send(act.entries(&uids).map(|(e, k)| Answer::Entries(e, k)));
            }),
            MailboxOp::Append { messages } => {
                self.start_append(ctx, messages, None, reply.from(Answer::Appended));
            }
            MailboxOp::Store(request) => {
                self.start_store(ctx, request, None, reply.from(Answer::Stored));
            }
            MailboxOp::Expunge(scope) => {
                self.start_expunge(ctx, scope, None, reply.from(Answer::Expunged));
            }
            MailboxOp::VanishedSince { mod_seq } => self.read(ctx, move |act, _| {
                let since = act.state().map(|s| s.vanished.since(mod_seq));
                reply.send(since.map(Answer::Vanished));
            }),
            MailboxOp::Once { key, op } => self.run_once(ctx, key, *op, reply),
        }
    }
}

impl Actor for Mailbox {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let dir = self.dir.clone();
        let uid_validity = self.info.uid_validity;
        let metrics = self.shared.metrics.clone();
        let compact_after = self.shared.options.compact_after;
        let (shared, account) = (self.shared.clone(), self.key.account.clone());
        let (usage, id) = (self.usage.clone(), self.key.id);
        let load = tokio::task::spawn_blocking(move || {
            // Recovery re-lists, quarantines and removes temporary files: only the account's
            // current writer may (a former owner resuming after a pause must not, issue 19
            // finding 1).
            shared.check_write(&account)?;
            let may_change = || shared.check_write(&account).is_ok();
            let parse_meta = shared.options.parse_meta;
            let how = Reconcile {
                may_change: &may_change,
                parse_meta: &parse_meta,
                drop_missing: false,
            };
            let opened = open_mailbox(&dir, uid_validity, compact_after, metrics, &how)?;
            if let Some(usage) = usage {
                // Reported before the actor writes anything, so the count that `refresh`
                // makes of the other mailboxes never reads this one from disk.
                usage.opened(id, opened.0.state().usage());
                if let Err(e) = usage.refresh(&shared.options.quota) {
                    // Writes under a limit wait for a later count (`Refusal::Uncounted`).
                    tracing::warn!(%account, error = %e, "cannot count the account's quota usage");
                }
            }
            Ok::<_, MailboxError>((opened, recent::read_mark(&dir)))
        });
        ctx.wait(load.into_actor(self).map(|loaded, act, _| match loaded {
            Ok(Ok(((store, report), recent_mark))) => {
                if report.is_clean() {
                    tracing::debug!(mailbox = %act.info.id, "{report}");
                } else {
                    tracing::warn!(mailbox = %act.info.id, name = %act.info.name, "{report}");
                }
                for (earlier, later) in &store.state().writers.regressions {
                    tracing::error!(
                        mailbox = %act.info.id, name = %act.info.name, account = %act.key.account,
                        earlier, later,
                        "two writers: the mailbox log has changes of epoch {later} after epoch \
                         {earlier}"
                    );
                }
                act.listeners.loaded(store.state(), recent_mark);
                act.recent_saved = recent_mark;
                act.store = Some(store);
            }
            Ok(Err(e)) => act.fail(e),
            Err(e) => act.fail(MailboxError::Storage(format!("mailbox load panicked: {e}"))),
        }));
        let every = (self.shared.options.idle_linger / 2)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        ctx.run_interval(every, Self::tick);
    }
}

impl Handler<Request> for Mailbox {
    type Result = ();

    fn handle(&mut self, request: Request, ctx: &mut Context<Self>) {
        match request {
            Request::Attach {
                listener,
                read_only,
                reply,
            } => self.read(ctx, move |act, _| {
                reply.send(act.attach(listener, read_only));
            }),
            Request::Detach { id } => self.listeners.detach(id),
            Request::Op { op, reply } => self.run(ctx, op, reply),
            Request::Index { reply } => self.read(ctx, move |act, _| {
                reply.send(act.index());
            }),
            Request::CopyIn {
                source_dir,
                entries,
                keywords,
                moving,
                key,
                reply,
            } => self.start_copy_in(ctx, source_dir, entries, keywords, moving, key, reply),
            Request::KeyDone { key } => self.key_done(ctx, key),
            Request::Close {
                reason,
                deleted,
                done,
            } => self.close(&reason, deleted, done),
        }
    }
}
