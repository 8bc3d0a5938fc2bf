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
mod listeners;
mod ops;
mod ownership;
mod registry;
mod remote;
mod service;
#[cfg(test)]
mod tests;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Message, Recipient};
use bytes::Bytes;
use roost_proto::{Flag, StoreAction};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use self::account::{AccountActor, AccountRequest};
use self::actor::{Mailbox, Request};
use self::registry::Shared;
use crate::store::{blobs, BlobId, MailboxId, MailboxInfo, MessageEntry, PlanError, SpecialUse};
use crate::store::{StoreError, StoreMetrics};

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
    /// `[TOOBIG]`
    #[error("message too big")]
    TooBig,
    /// `[UNAVAILABLE]`: the mailbox moved or its owner is gone; try again.
    #[error("mailbox unavailable: {0}")]
    Unavailable(String),
    /// `[SERVERBUG]`/`[CORRUPTION]`: an I/O or consistency failure, logged with details.
    #[error("storage error: {0}")]
    Storage(String),
}

impl From<PlanError> for MailboxError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::NonExistent(n) => MailboxError::NonExistent(n),
            PlanError::AlreadyExists(n) => MailboxError::AlreadyExists(n),
            PlanError::Cannot(m) => MailboxError::Cannot(m),
            PlanError::Limit(m) => MailboxError::Limit(m),
        }
    }
}

impl From<StoreError> for MailboxError {
    fn from(e: StoreError) -> Self {
        MailboxError::Storage(e.to_string())
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
    pub parse_meta: fn(&[u8]) -> Vec<u8>,
}

fn parse_meta(raw: &[u8]) -> Vec<u8> {
    crate::message::MessageMeta::parse(raw).to_bytes()
}

impl Default for Options {
    fn default() -> Self {
        Options {
            compact_after: 10_000,
            idle_linger: Duration::from_secs(10),
            max_message_size: 64 << 20,
            parse_meta,
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
        let Some(ownership) = self.shared.ownership.get().cloned() else {
            let handle = self.shared.account(user);
            handle.ready().await?;
            return Ok(handle);
        };
        let name = crate::store::account::account_dir_name(user);
        let mut last = MailboxError::Unavailable("no owner found".into());
        // An owner that just let go answers Unavailable; the next attempt finds the new one.
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            let handle = match ownership.resolve(&self.shared, &name).await? {
                ownership::Resolved::Local => self.shared.account(user),
                ownership::Resolved::Remote { address } => AccountHandle {
                    target: AccountTarget::Remote {
                        peer: ownership.links.peer(&address),
                        user: user.to_owned(),
                        dir: self.shared.root.join(&name),
                    },
                },
            };
            match handle.ready().await {
                Ok(()) => return Ok(handle),
                Err(e @ MailboxError::Unavailable(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
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
        service::OwnerService::new(self.clone())
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

/// An account's mailbox list and subscriptions, as of one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountView {
    pub mailboxes: Vec<MailboxInfo>,
    /// Subscribed names; may name mailboxes that do not exist (RFC 9051 section 6.3.7).
    pub subscriptions: Vec<String>,
}

/// A handle to an account's Account actor, on this node or on the node that owns the
/// account. Cheap to clone.
#[derive(Clone)]
pub struct AccountHandle {
    target: AccountTarget,
}

#[derive(Clone)]
enum AccountTarget {
    Local {
        addr: Addr<AccountActor>,
        /// Keeps the actor from stopping while the handle exists.
        _token: Arc<()>,
    },
    Remote {
        peer: Arc<remote::Peer>,
        user: String,
        /// The account's directory on the shared filesystem (blob paths are read directly).
        dir: PathBuf,
    },
}

/// Where an actor's answer comes back.
type Reply<T> = oneshot::Sender<Result<T, MailboxError>>;

/// Sends a request carrying a reply channel and waits for the answer; an actor that is
/// gone (or drops the request) reads as `Unavailable`.
async fn call<A, M, T>(addr: &Addr<A>, make: impl FnOnce(Reply<T>) -> M) -> Result<T, MailboxError>
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<M>,
    M: Message<Result = ()> + Send + 'static,
{
    let gone = || MailboxError::Unavailable("the mailbox service stopped".into());
    let (tx, rx) = oneshot::channel();
    addr.send(make(tx)).await.map_err(|_| gone())?;
    rx.await.map_err(|_| gone())?
}

/// Sends one account operation to the owner node.
async fn remote_account(
    peer: &remote::Peer,
    user: &str,
    op: wire::AccountOp,
) -> Result<wire::WireValue, MailboxError> {
    peer.call(wire::WireRequest::Account {
        user: user.to_owned(),
        op,
    })
    .await
}

/// Unwraps the expected variant of an owner's answer.
macro_rules! expect_value {
    ($value:expr, $pattern:pat => $out:expr) => {
        match $value {
            $pattern => Ok($out),
            other => Err(remote::unexpected(other)),
        }
    };
}

impl AccountHandle {
    async fn call<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> AccountRequest,
        op: impl FnOnce() -> wire::AccountOp,
        from_wire: impl FnOnce(wire::WireValue) -> Result<T, MailboxError>,
    ) -> Result<T, MailboxError> {
        match &self.target {
            AccountTarget::Local { addr, .. } => call(addr, make).await,
            AccountTarget::Remote { peer, user, .. } => {
                from_wire(remote_account(peer, user, op()).await?)
            }
        }
    }

    /// Whether the account is loaded (and, remotely, still owned by that node).
    pub(crate) async fn ready(&self) -> Result<(), MailboxError> {
        self.call(
            AccountRequest::Ready,
            || wire::AccountOp::Ready,
            |v| expect_value!(v, wire::WireValue::Unit => ()),
        )
        .await
    }

    pub async fn view(&self) -> Result<AccountView, MailboxError> {
        self.call(
            AccountRequest::View,
            || wire::AccountOp::View,
            |v| expect_value!(v, wire::WireValue::View(v) => v),
        )
        .await
    }

    /// CREATE: creates missing parents too (RFC 9051 section 6.3.4). Durable when it returns.
    pub async fn create(
        &self,
        name: String,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo, MailboxError> {
        let n = name.clone();
        self.call(
            |reply| AccountRequest::Create {
                name,
                special_use,
                reply,
            },
            || wire::AccountOp::Create {
                name: n,
                special_use,
            },
            |v| expect_value!(v, wire::WireValue::Info(i) => i),
        )
        .await
    }

    /// DELETE (section 6.3.5): refuses INBOX; a mailbox with children keeps existing as
    /// `\Noselect` only if it has inferior names (here: refused with `Cannot` "has children").
    /// Attached sessions receive [`Change::Closed`].
    pub async fn delete(&self, name: String) -> Result<(), MailboxError> {
        let n = name.clone();
        self.call(
            |reply| AccountRequest::Delete { name, reply },
            || wire::AccountOp::Delete { name: n },
            |v| expect_value!(v, wire::WireValue::Unit => ()),
        )
        .await
    }

    /// RENAME (section 6.3.6): children move along; renaming INBOX moves its messages into a
    /// new mailbox and leaves INBOX empty. Returns the `(old, new)` names of everything renamed.
    /// Sessions attached to a renamed mailbox receive [`Change::Closed`].
    pub async fn rename(
        &self,
        from: String,
        to: String,
    ) -> Result<Vec<(String, String)>, MailboxError> {
        let (f, t) = (from.clone(), to.clone());
        self.call(
            |reply| AccountRequest::Rename { from, to, reply },
            || wire::AccountOp::Rename { from: f, to: t },
            |v| expect_value!(v, wire::WireValue::Renamed(r) => r),
        )
        .await
    }

    pub async fn subscribe(&self, name: String) -> Result<(), MailboxError> {
        self.set_subscribed(name, true).await
    }

    pub async fn unsubscribe(&self, name: String) -> Result<(), MailboxError> {
        self.set_subscribed(name, false).await
    }

    async fn set_subscribed(&self, name: String, subscribe: bool) -> Result<(), MailboxError> {
        let n = name.clone();
        self.call(
            |reply| AccountRequest::Subscribe {
                name,
                subscribe,
                reply,
            },
            || wire::AccountOp::Subscribe { name: n, subscribe },
            |v| expect_value!(v, wire::WireValue::Unit => ()),
        )
        .await
    }

    /// The handle of the mailbox with this name (starting its actor if needed).
    pub async fn open(&self, name: &str) -> Result<MailboxHandle, MailboxError> {
        let name = name.to_string();
        match &self.target {
            AccountTarget::Local { addr, .. } => {
                call(addr, |reply| AccountRequest::Open { name, reply }).await
            }
            AccountTarget::Remote { peer, user, dir } => {
                let value = remote_account(peer, user, wire::AccountOp::Open { name }).await?;
                let info = expect_value!(value, wire::WireValue::Info(i) => i)?;
                let dir = crate::store::account::mailbox_dir(dir, info.id);
                Ok(MailboxHandle {
                    inner: Arc::new(HandleInner {
                        target: MailboxTarget::Remote {
                            peer: peer.clone(),
                            user: user.clone(),
                        },
                        info,
                        dir,
                    }),
                })
            }
        }
    }
}

/// A handle to a Mailbox actor. Cheap to clone.
#[derive(Clone)]
pub struct MailboxHandle {
    inner: Arc<HandleInner>,
}

struct HandleInner {
    target: MailboxTarget,
    info: MailboxInfo,
    /// The mailbox's directory on the (shared) filesystem: blobs are read from it directly.
    dir: PathBuf,
}

enum MailboxTarget {
    Local {
        addr: Addr<Mailbox>,
        /// Keeps the actor from stopping while a handle exists.
        _token: Arc<()>,
    },
    /// The account is owned by another node.
    Remote {
        peer: Arc<remote::Peer>,
        user: String,
    },
}

/// Everything a session needs to start a view of the mailbox (SELECT/EXAMINE).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub info: MailboxInfo,
    pub uid_next: u32,
    pub highest_mod_seq: u64,
    /// The mailbox's keyword table: keyword `i` is bit `FlagSet::keyword_bit(i)`.
    pub keywords: Arc<[String]>,
    /// Every message, in UID order.
    pub entries: Vec<MessageEntry>,
}

/// Counts for STATUS (RFC 9051 section 6.3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxStatus {
    pub messages: u32,
    pub uid_next: u32,
    pub uid_validity: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of RFC822.SIZE.
    pub size: u64,
    pub highest_mod_seq: u64,
    /// Messages no session has seen yet as `\Recent` (IMAP4rev1).
    pub recent: u32,
}

/// What a session attached with: its view starts from `snapshot`; `recent` are the UIDs
/// that are `\Recent` for this session (IMAP4rev1; claimed by the first read-write session).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub id: u64,
    pub snapshot: Snapshot,
    pub recent: Vec<u32>,
}

/// One message of an APPEND.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub data: Bytes,
    pub flags: Vec<Flag>,
    /// INTERNALDATE (Unix seconds); `None` = now.
    pub internal_date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub uid_validity: u32,
    /// The new UIDs, in the order the messages were given.
    pub uids: Vec<u32>,
}

/// STORE as the mailbox sees it: UIDs already resolved by the session.
#[derive(Debug, Clone)]
pub struct StoreFlags {
    pub uids: Vec<u32>,
    pub action: StoreAction,
    pub flags: Vec<Flag>,
    /// CONDSTORE UNCHANGEDSINCE.
    pub unchanged_since: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoreOutcome {
    /// Messages whose flags changed (new flags and MODSEQ), plus those that matched but were
    /// already as requested (unchanged MODSEQ), so `.SILENT`-less STORE can report them.
    pub entries: Vec<MessageEntry>,
    /// UIDs that failed the UNCHANGEDSINCE test (`[MODIFIED ...]`).
    pub modified: Vec<u32>,
    pub keywords: Arc<[String]>,
    /// UIDs whose flags this STORE changed (attached sessions are told of exactly these).
    pub changed: Vec<u32>,
    /// The MODSEQ this STORE gave them. `entries` show the messages as they are after the
    /// commit, which may include another session's change committed in the same batch.
    pub mod_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    pub uid_validity: u32,
    pub source_uids: Vec<u32>,
    pub destination_uids: Vec<u32>,
}

/// Which messages an EXPUNGE removes (owned form of the store's `ExpungeSelect`).
#[derive(Debug, Clone)]
enum ExpungeScope {
    AllDeleted,
    DeletedAmong(Vec<u32>),
    Exactly(Vec<u32>),
}

impl MailboxHandle {
    /// Runs one operation on the mailbox's actor, here or on the owner node.
    async fn call<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
        op: impl FnOnce() -> wire::MailboxOp,
        from_wire: impl FnOnce(wire::WireValue) -> Result<T, MailboxError>,
    ) -> Result<T, MailboxError> {
        match &self.inner.target {
            MailboxTarget::Local { addr, .. } => call(addr, make).await,
            MailboxTarget::Remote { peer, user } => {
                let request = wire::WireRequest::Mailbox {
                    user: user.clone(),
                    mailbox: self.inner.info.name.clone(),
                    op: op(),
                };
                from_wire(peer.call(request).await?)
            }
        }
    }

    /// The mailbox as it was when this handle was made (a RENAME closes the handle's
    /// sessions, so the name stays right for as long as it is used).
    pub fn info(&self) -> &MailboxInfo {
        &self.inner.info
    }

    /// Attaches a session: it will receive every later change as a [`MailboxEvent`].
    /// `read_only` (EXAMINE) sessions do not claim `\Recent`.
    pub async fn attach(
        &self,
        listener: Recipient<MailboxEvent>,
        read_only: bool,
    ) -> Result<Attachment, MailboxError> {
        match &self.inner.target {
            MailboxTarget::Local { addr, .. } => {
                call(addr, |reply| Request::Attach {
                    listener,
                    read_only,
                    reply,
                })
                .await
            }
            MailboxTarget::Remote { peer, user } => {
                let stream = peer.register(self.inner.info.id, listener);
                let request = wire::WireRequest::Mailbox {
                    user: user.clone(),
                    mailbox: self.inner.info.name.clone(),
                    op: wire::MailboxOp::Attach { stream, read_only },
                };
                let attached = match peer.call(request).await {
                    Ok(wire::WireValue::Attached(a)) => Ok(a),
                    Ok(other) => Err(remote::unexpected(other)),
                    Err(e) => Err(e),
                };
                match attached {
                    // The stream id is this side's name for the attachment.
                    Ok(a) => Ok(Attachment { id: stream, ..a }),
                    Err(e) => {
                        peer.unregister(stream);
                        Err(e)
                    }
                }
            }
        }
    }

    pub fn detach(&self, attachment: u64) {
        match &self.inner.target {
            MailboxTarget::Local { addr, .. } => addr.do_send(Request::Detach { id: attachment }),
            MailboxTarget::Remote { peer, .. } => {
                peer.unregister(attachment);
                let peer = peer.clone();
                // Fire and forget: if the link is gone, the owner has dropped it already.
                actix_rt::spawn(async move {
                    let _ = peer
                        .call(wire::WireRequest::Detach { stream: attachment })
                        .await;
                });
            }
        }
    }

    pub async fn status(&self) -> Result<MailboxStatus, MailboxError> {
        self.call(
            Request::Status,
            || wire::MailboxOp::Status,
            |v| expect_value!(v, wire::WireValue::Status(s) => s),
        )
        .await
    }

    /// The current entries of the given UIDs (missing ones are skipped), with the keyword table.
    pub async fn entries(
        &self,
        uids: Vec<u32>,
    ) -> Result<(Vec<MessageEntry>, Arc<[String]>), MailboxError> {
        let u = uids.clone();
        self.call(
            |reply| Request::Entries { uids, reply },
            || wire::MailboxOp::Entries { uids: u },
            |v| expect_value!(v, wire::WireValue::Entries(e, k) => (e, Arc::from(k))),
        )
        .await
    }

    /// Every message's entry, shared rather than copied where the mailbox is local (SEARCH
    /// reads them all; repeated searches between writes share one copy). A remote owner
    /// sends the entries of `uids`, the session's view.
    pub async fn index(&self, uids: &[u32]) -> Result<SharedIndex, MailboxError> {
        match &self.inner.target {
            MailboxTarget::Local { addr, .. } => call(addr, |reply| Request::Index { reply }).await,
            MailboxTarget::Remote { .. } => {
                let (entries, keywords) = self.entries(uids.to_vec()).await?;
                Ok((Arc::from(entries), keywords))
            }
        }
    }

    /// APPEND: writes blobs and metadata, then one log commit for all messages.
    pub async fn append(&self, messages: Vec<NewMessage>) -> Result<Appended, MailboxError> {
        match &self.inner.target {
            MailboxTarget::Local { addr, .. } => {
                call(addr, |reply| Request::Append { messages, reply }).await
            }
            MailboxTarget::Remote { .. } => {
                let op = wire::MailboxOp::Append {
                    messages: messages.into_iter().map(Into::into).collect(),
                };
                expect_value!(self.remote(op).await?, wire::WireValue::Appended(a) => a)
            }
        }
    }

    /// Sends an operation to the owner node (for paths that are remote by construction).
    async fn remote(&self, op: wire::MailboxOp) -> Result<wire::WireValue, MailboxError> {
        match &self.inner.target {
            MailboxTarget::Remote { peer, user } => {
                let request = wire::WireRequest::Mailbox {
                    user: user.clone(),
                    mailbox: self.inner.info.name.clone(),
                    op,
                };
                peer.call(request).await
            }
            MailboxTarget::Local { .. } => Err(MailboxError::Unavailable(
                "operation routed to the wrong node".into(),
            )),
        }
    }

    pub async fn store(&self, request: StoreFlags) -> Result<StoreOutcome, MailboxError> {
        let op = wire::MailboxOp::store(request.clone());
        self.call(
            |reply| Request::Store { request, reply },
            || op,
            |v| expect_value!(v, wire::WireValue::Stored(s) => s),
        )
        .await
    }

    /// EXPUNGE (`None`: every `\Deleted` message) or UID EXPUNGE (only those UIDs that are
    /// also `\Deleted`). Returns the expunged UIDs.
    pub async fn expunge(&self, uids: Option<Vec<u32>>) -> Result<Vec<u32>, MailboxError> {
        let op = wire::MailboxOp::Expunge { uids: uids.clone() };
        let scope = uids.map_or(ExpungeScope::AllDeleted, ExpungeScope::DeletedAmong);
        self.call(
            |reply| Request::Expunge { scope, reply },
            || op,
            |v| expect_value!(v, wire::WireValue::Expunged(u) => u),
        )
        .await
    }

    /// COPY into `destination` (hard-linking blobs). UIDs that no longer exist are skipped.
    pub async fn copy_to(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
    ) -> Result<Copied, MailboxError> {
        if let MailboxTarget::Remote { .. } = &self.inner.target {
            return self.remote_copy(uids, destination, false).await;
        }
        let (entries, keywords) = self.entries(uids).await?;
        let pairs = if entries.is_empty() {
            Vec::new()
        } else {
            let MailboxTarget::Local { addr, .. } = &destination.inner.target else {
                return Err(MailboxError::Cannot(
                    "cannot copy between accounts owned by different nodes".into(),
                ));
            };
            let source_dir = self.inner.dir.clone();
            call(addr, |reply| Request::CopyIn {
                source_dir,
                entries,
                keywords,
                reply,
            })
            .await?
        };
        Ok(Copied {
            uid_validity: destination.info().uid_validity,
            source_uids: pairs.iter().map(|p| p.0).collect(),
            destination_uids: pairs.iter().map(|p| p.1).collect(),
        })
    }

    /// MOVE: COPY, then expunge the sources, only once the copy is durable (RFC 6851).
    pub async fn move_to(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
    ) -> Result<Copied, MailboxError> {
        let MailboxTarget::Local { addr, .. } = &self.inner.target else {
            return self.remote_copy(uids, destination, true).await;
        };
        let copied = self.copy_to(uids, destination).await?;
        if !copied.source_uids.is_empty() {
            let scope = ExpungeScope::Exactly(copied.source_uids.clone());
            call(addr, |reply| Request::Expunge { scope, reply }).await?;
        }
        Ok(copied)
    }

    async fn remote_copy(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
        is_move: bool,
    ) -> Result<Copied, MailboxError> {
        let op = wire::MailboxOp::Copy {
            destination: destination.info().name.clone(),
            uids,
            is_move,
        };
        expect_value!(self.remote(op).await?, wire::WireValue::Copied(c) => c)
    }

    /// Where the message octets of `blob` are; read them off the actor thread.
    pub fn blob_path(&self, blob: BlobId) -> PathBuf {
        blobs::blob_path(&self.inner.dir, blob)
    }

    /// The metadata parsed at append (blocking: call from a blocking task).
    pub fn load_meta(&self, blob: BlobId) -> Result<crate::message::MessageMeta, MailboxError> {
        let path = blobs::meta_path(&self.inner.dir, blob);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            // Expunged (and deleted) since the caller read the entry.
            std::io::ErrorKind::NotFound => MailboxError::NonExistent("message expunged".into()),
            _ => MailboxError::Storage(format!("read {}: {e}", path.display())),
        })?;
        crate::message::MessageMeta::from_bytes(&bytes)
            .map_err(|e| MailboxError::Storage(format!("{}: {e}", path.display())))
    }
}

/// Every entry of a mailbox (sorted by UID) and the keyword table they use, shared.
pub type SharedIndex = (Arc<[MessageEntry]>, Arc<[String]>);

/// A change to a mailbox, sent to every attached session after it is durable.
#[derive(Message, Debug, Clone, Serialize, Deserialize)]
#[rtype(result = "()")]
pub struct MailboxEvent {
    pub mailbox: MailboxId,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Change {
    /// New messages (UID order); `recent` are the UIDs that are `\Recent` for the receiver.
    Appended {
        entries: Vec<MessageEntry>,
        keywords: Arc<[String]>,
        recent: Vec<u32>,
    },
    /// New flags / MODSEQ.
    Flags {
        entries: Vec<MessageEntry>,
        keywords: Arc<[String]>,
    },
    Expunged {
        uids: Vec<u32>,
    },
    /// The mailbox was deleted, renamed, or (cluster) moved away: the session must send
    /// `* OK [CLOSED]` / `* BYE` as RFC 9051 says and leave the Selected state.
    Closed {
        reason: String,
    },
}
