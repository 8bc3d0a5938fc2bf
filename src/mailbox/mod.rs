//! Mailbox and Account actors: the one authoritative copy of each open mailbox and of each
//! account's mailbox list, reached through cloneable handles.
//!
//! A `Mailbox` actor owns one mailbox's store: it orders APPEND, STORE, EXPUNGE, COPY and
//! MOVE, assigns UIDs and MODSEQs, writes the log with group commit (one fsync for every
//! write that arrived while the previous fsync ran), answers only once the change is durable,
//! and then sends a [`MailboxEvent`] to every attached session. An `Account` actor serialises
//! CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE. The [`Registry`] finds or starts them.
//!
//! Sessions only see [`AccountHandle`] and [`MailboxHandle`], which is what lets a handle
//! point at another node once the cluster arrives.

mod account;
mod actor;
mod commit;
pub mod feed;
mod handle;
mod listeners;
mod once;
mod ops;
mod registry;
pub mod request;
mod retry;
#[cfg(test)]
pub(crate) mod tests;
mod types;
mod usage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Message};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use self::handle::{AccountHandle, MailboxAddress, MailboxHandle, Watch};
pub(crate) use self::registry::Shared;
pub use self::types::{
    AccountView, Appended, Attachment, Change, Copied, ExpungeScope, Expunged, MailboxEvent,
    MailboxStatus, NewMessage, SharedIndex, Snapshot, StoreFlags, StoreOutcome,
};
pub use self::usage::{QuotaPolicy, QuotaReport};
use crate::cluster::ownership;
use crate::store::{PlanError, StoreError, StoreMetrics};

/// Why a mailbox operation failed; the session maps each to its response code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MailboxError {
    /// `[NONEXISTENT]`
    #[error("no mailbox named {0}")]
    NonExistent(String),
    /// `[ALREADYEXISTS]`
    #[error("mailbox {0} already exists")]
    AlreadyExists(String),
    /// `[CANNOT]`, e.g. deleting INBOX, renaming into itself, invalid name.
    #[error("{0}")]
    Cannot(String),
    /// `[LIMIT]`, e.g. more than 59 keywords in one mailbox.
    #[error("{0}")]
    Limit(String),
    /// `[HASCHILDREN]`: DELETE of a mailbox with inferior names.
    #[error("{0} has children; delete them first")]
    HasChildren(String),
    /// `[TOOBIG]`
    #[error("message too big")]
    TooBig,
    /// `[OVERQUOTA]` (RFC 9208 section 4.3.1): nothing was written.
    #[error("{0}")]
    OverQuota(String),
    /// `[UNAVAILABLE]`: the mailbox moved or its owner is gone; try again.
    #[error("mailbox unavailable: {0}")]
    Unavailable(String),
    /// The mailbox a handle was made for was renamed, deleted or recreated: the session
    /// leaves it (`[CLOSED]`) and the command fails with `[NONEXISTENT]`.
    #[error("{0}")]
    Gone(String),
    /// `[SERVERBUG]`/`[CORRUPTION]`: an I/O or consistency failure, logged with details.
    #[error("storage error: {0}")]
    Storage(String),
    /// `[METADATA MAXSIZE n]`, `[METADATA TOOMANY]` or `[OVERQUOTA]` (RFC 5464 section 4.3).
    #[error("{0}")]
    Metadata(crate::store::metadata::MetadataRefusal),
    /// `[OVERQUOTA]`: the server's disk (ENOSPC) or its file system quota (EDQUOT) is full;
    /// nothing was written.
    #[error("{0}")]
    DiskFull(String),
}

impl MailboxError {
    /// An I/O error while doing `what`: a full disk is [`MailboxError::DiskFull`], anything
    /// else [`MailboxError::Storage`].
    pub fn from_io(what: &str, e: &std::io::Error) -> MailboxError {
        match e.kind() {
            std::io::ErrorKind::StorageFull => MailboxError::DiskFull(
                "the server's disk is full (no space left on device); nothing was saved".into(),
            ),
            std::io::ErrorKind::QuotaExceeded => MailboxError::DiskFull(
                "the server's file system quota is used up; nothing was saved".into(),
            ),
            _ => MailboxError::Storage(format!("{what}: {e}")),
        }
    }
}

impl From<PlanError> for MailboxError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::NonExistent(n) => MailboxError::NonExistent(n),
            PlanError::AlreadyExists(n) => MailboxError::AlreadyExists(n),
            PlanError::Cannot(m) => MailboxError::Cannot(m),
            PlanError::Limit(m) => MailboxError::Limit(m),
            PlanError::HasChildren(n) => MailboxError::HasChildren(n),
            PlanError::Metadata(r) => MailboxError::Metadata(r),
        }
    }
}

impl From<StoreError> for MailboxError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Io { source, .. } => MailboxError::from_io(&e.to_string(), source),
            _ => MailboxError::Storage(e.to_string()),
        }
    }
}

/// How the store behaves; [`Options::default`] is what a server runs with.
#[derive(Debug, Clone)]
pub struct Options {
    /// Transactions in a log before it is compacted into a snapshot.
    pub compact_after: u64,
    /// How long an actor with no handles and no attached sessions lingers before stopping.
    pub idle_linger: Duration,
    /// Largest message APPEND accepts (`[TOOBIG]` above).
    pub max_message_size: usize,
    /// Parses a message into the bytes of its `.meta` file (tests substitute a stub).
    pub parse_meta: fn(&bytes::Bytes) -> Vec<u8>,
    /// Where accounts' quota limits come from.
    pub quota: QuotaPolicy,
    /// What one account's METADATA entries may take (RFC 5464 section 4.1).
    pub metadata: crate::store::metadata::MetadataLimits,
}

fn parse_meta(raw: &bytes::Bytes) -> Vec<u8> {
    crate::message::MessageMeta::parse_bytes(raw).to_bytes()
}

impl Default for Options {
    fn default() -> Self {
        Options {
            compact_after: 10_000,
            idle_linger: Duration::from_secs(10),
            max_message_size: 64 << 20,
            parse_meta,
            quota: QuotaPolicy::default(),
            metadata: crate::store::metadata::MetadataLimits::default(),
        }
    }
}

/// Finds or starts the Account and Mailbox actors of this node.
pub struct Registry {
    shared: Arc<Shared>,
}

impl Registry {
    /// Mail lives under `<data_dir>/accounts/`.
    pub fn new(data_dir: PathBuf) -> Arc<Registry> {
        Registry::with_options(data_dir, Options::default())
    }

    pub fn with_options(data_dir: PathBuf, options: Options) -> Arc<Registry> {
        Arc::new(Registry {
            shared: Arc::new(Shared::new(data_dir.join("accounts"), options)),
        })
    }

    /// Counters of log fsyncs, transactions and snapshots on this node (for tests and the
    /// metrics endpoint).
    pub fn metrics(&self) -> &StoreMetrics {
        &self.shared.metrics
    }

    /// Mailbox actors running on this node (the `roost_mailboxes_open` gauge).
    pub fn running_mailboxes(&self) -> usize {
        self.shared.running_mailboxes()
    }

    /// The account's handle; a new account gets INBOX, Drafts, Sent, Trash, Junk and
    /// Archive with their special-use attributes. Must be called inside an actix system.
    ///
    /// # Errors
    /// `Storage` when the account's files cannot be read or created.
    pub async fn account(&self, user: &str) -> Result<AccountHandle, MailboxError> {
        self.shared.resolve_account(user).await
    }

    /// The account's local handle, for requests from other nodes: only the owner serves them.
    ///
    /// # Errors
    /// `Unavailable` when this node does not own the account (any more).
    pub(crate) async fn owned_account(&self, user: &str) -> Result<AccountHandle, MailboxError> {
        if let Some(ownership) = self.shared.ownership.get().cloned() {
            let name = crate::store::account::account_dir_name(user);
            if let ownership::Resolved::Remote { .. } =
                ownership.resolve(&self.shared, &name).await?
            {
                return Err(MailboxError::Unavailable(
                    "this node no longer owns the account".into(),
                ));
            }
        }
        let handle = self.shared.account(user);
        handle.ready().await?;
        Ok(handle)
    }

    /// Turns on cluster mode: accounts are served where their lease is held. Returns the
    /// service that answers other nodes' requests for the accounts this node owns.
    pub(crate) fn join_cluster(
        self: &Arc<Self>,
        directory: crate::cluster::redis::RedisDirectory,
        local: crate::cluster::link::LocalNode,
        timing: crate::cluster::LeaseTiming,
    ) -> Arc<dyn crate::cluster::link::LinkService> {
        let _ = self
            .shared
            .ownership
            .set(ownership::Ownership::new(directory, local, timing));
        crate::cluster::owner::OwnerService::new(self.clone())
    }

    /// Drain: closes every account this node owns and releases the leases.
    pub async fn release_all(&self, reason: &str) {
        if let Some(ownership) = self.shared.ownership.get() {
            ownership.release_all(&self.shared, reason).await;
        }
    }

    /// Operator move: stops serving `account` here (if owned) and releases its lease.
    pub async fn give_up(&self, account: &str, reason: &str) {
        if let Some(ownership) = self.shared.ownership.get() {
            ownership.give_up(&self.shared, account, reason, true).await;
        }
    }

    /// Takes `user`'s account here if this node may (its lease is free and not reserved for
    /// another node) and loads it; `Ok(false)` when another node holds it.
    ///
    /// # Errors
    /// As [`Registry::account`].
    pub async fn take(&self, user: &str) -> Result<bool, MailboxError> {
        let Some(ownership) = self.shared.ownership.get().cloned() else {
            return Ok(true);
        };
        let name = crate::store::account::account_dir_name(user);
        match ownership.resolve(&self.shared, &name).await? {
            ownership::Resolved::Local => {
                self.shared.account(user).ready().await?;
                Ok(true)
            }
            ownership::Resolved::Remote { .. } => Ok(false),
        }
    }

    /// Whether this node was drained (it takes no new accounts).
    pub fn is_draining(&self) -> bool {
        self.shared.ownership.get().is_some_and(|o| o.is_draining())
    }

    /// Cluster mode: whether Redis answered the last heartbeat; `None` on a single node.
    pub fn directory_reachable(&self) -> Option<bool> {
        self.shared
            .ownership
            .get()
            .map(|o| o.reachable.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub(crate) fn set_directory_reachable(&self, reachable: bool) {
        if let Some(o) = self.shared.ownership.get() {
            o.reachable
                .store(reachable, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// How many accounts this node owns (cluster mode).
    pub fn owned_accounts(&self) -> u64 {
        self.shared.ownership.get().map_or(0, |o| o.owned_count())
    }
}

/// Where an actor's answer goes. A typed caller waits on a channel of its own type; the
/// generic path ([`request::MailboxOp`], and requests from other nodes) receives the same
/// answer as a [`request::Answer`] through [`Reply::from`].
pub(crate) struct Reply<T>(Box<dyn FnOnce(Result<T, MailboxError>) + Send>);

impl<T: Send + 'static> Reply<T> {
    fn channel() -> (Reply<T>, oneshot::Receiver<Result<T, MailboxError>>) {
        let (tx, rx) = oneshot::channel();
        let reply = Reply(Box::new(move |result| {
            // A caller that stopped waiting has nothing left to tell.
            let _ = tx.send(result);
        }));
        (reply, rx)
    }
}

impl<T: 'static> Reply<T> {
    pub(crate) fn send(self, result: Result<T, MailboxError>) {
        (self.0)(result);
    }

    /// The same reply, calling `after` once it has been sent.
    pub(crate) fn then(self, after: impl FnOnce() + Send + 'static) -> Reply<T> {
        Reply(Box::new(move |result| {
            (self.0)(result);
            after();
        }))
    }

    /// A reply for an `S`, delivered here as a `T`.
    pub(crate) fn from<S: 'static>(self, f: fn(S) -> T) -> Reply<S> {
        Reply(Box::new(move |result: Result<S, MailboxError>| {
            (self.0)(result.map(f));
        }))
    }
}

/// Sends a request carrying a reply and waits for the answer; an actor that is gone (or
/// drops the request) reads as `Unavailable`.
async fn call<A, M, T>(addr: &Addr<A>, make: impl FnOnce(Reply<T>) -> M) -> Result<T, MailboxError>
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<M>,
    M: Message<Result = ()> + Send + 'static,
    T: Send + 'static,
{
    let gone = || MailboxError::Unavailable("the mailbox service stopped".into());
    let (reply, answer) = Reply::channel();
    addr.send(make(reply)).await.map_err(|_| gone())?;
    answer.await.map_err(|_| gone())?
}
