//! Handles: what sessions hold to reach an account's or a mailbox's actor, on this node or
//! on the node that owns the account. Each operation is one [`AccountOp`] or [`MailboxOp`]
//! value either way; the methods here only give it a typed result.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use actix::{Addr, Recipient};
use serde::{Deserialize, Serialize};

use crate::store::metadata::{MetadataChange, MetadataFound, MetadataQuery};
use crate::store::vanished::Since;

use super::account::{AccountActor, AccountRequest};
use super::actor::{Mailbox, Request};
use super::feed::Watcher;
use super::registry::Shared;
use super::request::{expect_answer, AccountOp, Answer, MailboxOp};
use super::types::{
    AccountView, Appended, Attachment, Copied, ExpungeScope, Expunged, MailboxEvent, MailboxStatus,
    NewMessage, SharedIndex, StoreFlags, StoreOutcome,
};
use super::usage::QuotaReport;
use super::{call, MailboxError};
use crate::cluster::peer::Peer;
use crate::cluster::wire::WireRequest;
use crate::store::quota::Limits;
use crate::store::requests::RequestKey;
use crate::store::{blobs, BlobId, MailboxId, MailboxInfo, MessageEntry, SpecialUse};

/// A handle to an account's Account actor, here or on the owner node. Cheap to clone.
#[derive(Clone)]
pub struct AccountHandle {
    pub(super) target: AccountTarget,
}

#[derive(Clone)]
pub(super) enum AccountTarget {
    Local {
        addr: Addr<AccountActor>,
        /// Keeps the actor from stopping while the handle exists.
        _token: Arc<()>,
    },
    Remote {
        peer: Arc<Peer>,
        user: String,
        /// The account's directory on the shared filesystem (blob paths are read directly).
        dir: PathBuf,
        /// To find the account's owner again when a write's answer was lost (`retry.rs`).
        shared: Arc<Shared>,
    },
}

impl AccountHandle {
    pub(super) fn local(addr: Addr<AccountActor>, token: Arc<()>) -> AccountHandle {
        AccountHandle {
            target: AccountTarget::Local {
                addr,
                _token: token,
            },
        }
    }

    pub(crate) fn remote(
        peer: Arc<Peer>,
        user: String,
        dir: PathBuf,
        shared: Arc<Shared>,
    ) -> AccountHandle {
        AccountHandle {
            target: AccountTarget::Remote {
                peer,
                user,
                dir,
                shared,
            },
        }
    }

    /// Runs one account operation, here or on the owner node; a write sent to the owner node
    /// goes under a request key and is sent again if its answer is lost (`retry.rs`).
    pub(crate) async fn run(&self, op: AccountOp) -> Result<Answer, MailboxError> {
        match &self.target {
            AccountTarget::Remote { shared, user, .. } if op.is_write() => {
                self.run_keyed(shared, user, op).await
            }
            _ => self.run_unkeyed(op).await,
        }
    }

    /// Runs one account operation, here or on the owner node, once.
    pub(super) async fn run_unkeyed(&self, op: AccountOp) -> Result<Answer, MailboxError> {
        match &self.target {
            AccountTarget::Local { addr, .. } => {
                call(addr, |reply| AccountRequest::Op { op, reply }).await
            }
            AccountTarget::Remote { peer, user, .. } => {
                let user = user.clone();
                peer.call(WireRequest::Account { user, op }).await
            }
        }
    }

    /// Whether the account is loaded (and, remotely, still owned by that node).
    pub(crate) async fn ready(&self) -> Result<(), MailboxError> {
        // Not `run`: finding the owner again after a lost answer asks this (no recursion).
        expect_answer!(self.run_unkeyed(AccountOp::Ready).await?, Answer::Unit => ())
    }

    pub async fn view(&self) -> Result<AccountView, MailboxError> {
        expect_answer!(self.run(AccountOp::View).await?, Answer::View(v) => v)
    }

    /// CREATE: creates missing parents too (RFC 9051 section 6.3.4). Durable when it returns.
    pub async fn create(
        &self,
        name: String,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo, MailboxError> {
        let op = AccountOp::Create { name, special_use };
        expect_answer!(self.run(op).await?, Answer::Info(i) => i)
    }

    /// DELETE (section 6.3.5): refuses INBOX; a mailbox with children keeps existing as
    /// `\Noselect` only if it has inferior names (here: refused with `HasChildren`).
    /// Attached sessions receive [`Change::Closed`](super::Change::Closed).
    pub async fn delete(&self, name: String) -> Result<(), MailboxError> {
        expect_answer!(self.run(AccountOp::Delete { name }).await?, Answer::Unit => ())
    }

    /// RENAME (section 6.3.6): children move along; renaming INBOX moves its messages into a
    /// new mailbox and leaves INBOX empty. Returns the `(old, new)` names of everything renamed.
    /// Sessions attached to a renamed mailbox receive [`Change::Closed`](super::Change::Closed).
    pub async fn rename(
        &self,
        from: String,
        to: String,
    ) -> Result<Vec<(String, String)>, MailboxError> {
        let op = AccountOp::Rename { from, to };
        expect_answer!(self.run(op).await?, Answer::Renamed(r) => r)
    }

    /// The account's quota limits and usage (RFC 9208 GETQUOTA), from its owner.
    pub async fn quota(&self) -> Result<QuotaReport, MailboxError> {
        expect_answer!(self.run(AccountOp::Quota).await?, Answer::Quota(q) => q)
    }

    /// Sets the account's limits (SETQUOTA by an administrator); answers the new report.
    pub async fn set_quota(&self, limits: Limits) -> Result<QuotaReport, MailboxError> {
        let op = AccountOp::SetQuota { limits };
        expect_answer!(self.run(op).await?, Answer::Quota(q) => q)
    }

    pub async fn subscribe(&self, name: String) -> Result<(), MailboxError> {
        self.set_subscribed(name, true).await
    }

    pub async fn unsubscribe(&self, name: String) -> Result<(), MailboxError> {
        self.set_subscribed(name, false).await
    }

    async fn set_subscribed(&self, name: String, subscribe: bool) -> Result<(), MailboxError> {
        let op = AccountOp::Subscribe { name, subscribe };
        expect_answer!(self.run(op).await?, Answer::Unit => ())
    }

    /// GETMETADATA: the entries of the server (`mailbox` empty) or of a mailbox that `query`
    /// asks for (RFC 5464 section 4.2).
    pub async fn get_metadata(
        &self,
        mailbox: String,
        query: MetadataQuery,
    ) -> Result<MetadataFound, MailboxError> {
        let op = AccountOp::GetMetadata { mailbox, query };
        expect_answer!(self.run(op).await?, Answer::Metadata(found) => found)
    }

    /// SETMETADATA: all changes, durably, or none (RFC 5464 section 4.3).
    pub async fn set_metadata(
        &self,
        mailbox: String,
        changes: Vec<MetadataChange>,
    ) -> Result<(), MailboxError> {
        let op = AccountOp::SetMetadata { mailbox, changes };
        expect_answer!(self.run(op).await?, Answer::Unit => ())
    }

    /// Starts hearing of every change to the account (NOTIFY), here or from the owner node,
    /// until the returned [`Watch`] is dropped. `watcher` must not block.
    pub async fn watch(&self, watcher: Watcher) -> Result<Watch, MailboxError> {
        match &self.target {
            AccountTarget::Local { addr, .. } => {
                let id = call(addr, |reply| AccountRequest::Watch { watcher, reply }).await?;
                Ok(Watch(WatchTarget::Local {
                    account: self.clone(),
                    id,
                }))
            }
            AccountTarget::Remote { peer, user, .. } => {
                let stream = peer.register_watcher(watcher);
                let request = WireRequest::Watch {
                    user: user.clone(),
                    stream,
                };
                match peer.call(request).await {
                    Ok(Answer::Unit) => Ok(Watch(WatchTarget::Remote {
                        peer: peer.clone(),
                        stream,
                    })),
                    other => {
                        peer.unregister_watcher(stream);
                        Err(other.map_or_else(|e| e, super::request::unexpected))
                    }
                }
            }
        }
    }

    /// The handle of the mailbox with this name (starting its actor if needed).
    pub async fn open(&self, name: &str) -> Result<MailboxHandle, MailboxError> {
        let name = name.to_string();
        match &self.target {
            AccountTarget::Local { addr, .. } => {
                call(addr, |reply| AccountRequest::Open { name, reply }).await
            }
            AccountTarget::Remote {
                peer,
                user,
                dir,
                shared,
            } => {
                let info = expect_answer!(
                    self.run(AccountOp::Open { name }).await?,
                    Answer::Info(i) => i
                )?;
                let dir = crate::store::account::mailbox_dir(dir, info.id);
                let target = MailboxTarget::Remote {
                    peer: peer.clone(),
                    user: user.clone(),
                    stream: OnceLock::new(),
                    shared: shared.clone(),
                };
                Ok(MailboxHandle::new(target, info, dir))
            }
        }
    }

    /// The mailbox `address` names, only while it is still that mailbox: after a RENAME,
    /// DELETE or re-CREATE that the requesting session has not heard of yet, this fails with
    /// `Gone` instead of handing out whatever mailbox now has the name.
    pub(crate) async fn open_addressed(
        &self,
        address: &MailboxAddress,
    ) -> Result<MailboxHandle, MailboxError> {
        let gone = || {
            MailboxError::Gone(format!(
                "mailbox {} was renamed, deleted or recreated",
                address.name
            ))
        };
        match self.open(&address.name).await {
            Ok(handle) if address.matches(handle.info()) => Ok(handle),
            Ok(_) | Err(MailboxError::NonExistent(_)) => Err(gone()),
            Err(e) => Err(e),
        }
    }
}

/// A running watch of an account's changes; dropping it ends the watch.
pub struct Watch(WatchTarget);

enum WatchTarget {
    Local {
        /// Also keeps the account loaded (and owned) while watched.
        account: AccountHandle,
        id: u64,
    },
    Remote {
        peer: Arc<Peer>,
        stream: u64,
    },
}

impl Drop for Watch {
    fn drop(&mut self) {
        match &self.0 {
            WatchTarget::Local { account, id } => {
                if let AccountTarget::Local { addr, .. } = &account.target {
                    addr.do_send(AccountRequest::Unwatch { id: *id });
                }
            }
            WatchTarget::Remote { peer, stream } => {
                peer.unregister_watcher(*stream);
                let (peer, stream) = (peer.clone(), *stream);
                // Fire and forget: if the link is gone, the owner has dropped the watch already.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let _ = peer.call(WireRequest::Unwatch { stream }).await;
                    });
                }
            }
        }
    }
}

/// How a mailbox is named between nodes: by its immutable id and UIDVALIDITY, with the name
/// it had when the handle was made. The owner serves a request only while the mailbox of
/// that name is still this one, so a request from a session that has not yet heard of a
/// RENAME, DELETE or re-CREATE fails instead of landing in another mailbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailboxAddress {
    pub id: MailboxId,
    pub uid_validity: u32,
    pub name: String,
}

impl MailboxAddress {
    /// Whether `info` is still the mailbox this address was made for.
    pub fn matches(&self, info: &MailboxInfo) -> bool {
        info.id == self.id && info.uid_validity == self.uid_validity && info.name == self.name
    }
}

/// A handle to a Mailbox actor. Cheap to clone.
#[derive(Clone)]
pub struct MailboxHandle {
    inner: Arc<HandleInner>,
}

pub(super) struct HandleInner {
    target: MailboxTarget,
    info: MailboxInfo,
    /// The mailbox's directory on the (shared) filesystem: blobs are read from it directly.
    dir: PathBuf,
}

/// How to find an account's current owner again: its user name, and the node's tables.
pub(super) struct OwnerRoute {
    pub(super) shared: Arc<Shared>,
    pub(super) user: String,
}

pub(super) enum MailboxTarget {
    Local {
        addr: Addr<Mailbox>,
        /// Keeps the actor from stopping while a handle exists.
        _token: Arc<()>,
        /// In a cluster, where to find the account's owner when this node refuses a write
        /// because it no longer owns the account (`retry.rs`).
        route: Option<OwnerRoute>,
    },
    /// The account is owned by another node.
    Remote {
        peer: Arc<Peer>,
        user: String,
        /// The link stream of this handle's attachment, once attached.
        stream: OnceLock<u64>,
        /// To find the account's owner again when a write's answer was lost (`retry.rs`).
        shared: Arc<Shared>,
    },
}

impl MailboxHandle {
    pub(super) fn new(target: MailboxTarget, info: MailboxInfo, dir: PathBuf) -> MailboxHandle {
        MailboxHandle {
            inner: Arc::new(HandleInner { target, info, dir }),
        }
    }

    pub(super) fn local(
        addr: Addr<Mailbox>,
        token: Arc<()>,
        info: MailboxInfo,
        dir: PathBuf,
        route: Option<OwnerRoute>,
    ) -> MailboxHandle {
        let target = MailboxTarget::Local {
            addr,
            _token: token,
            route,
        };
        MailboxHandle::new(target, info, dir)
    }

    /// The mailbox as it was when this handle was made (a RENAME closes the handle's
    /// sessions, so the name stays right for as long as it is used).
    pub fn info(&self) -> &MailboxInfo {
        &self.inner.info
    }

    pub(super) fn target(&self) -> &MailboxTarget {
        &self.inner.target
    }

    pub fn address(&self) -> MailboxAddress {
        let info = &self.inner.info;
        MailboxAddress {
            id: info.id,
            uid_validity: info.uid_validity,
            name: info.name.clone(),
        }
    }

    /// Runs one operation on the mailbox's actor, here or on the owner node; a write sent to
    /// the owner node goes under a request key and is sent again if its answer is lost
    /// (`retry.rs`).
    pub(crate) async fn run(&self, op: MailboxOp) -> Result<Answer, MailboxError> {
        let Some((shared, user)) = self.owner_route(&op) else {
            return self.run_here_or_there(op).await;
        };
        self.forward_once(shared, user, op.name(), |handle, key| {
            let op = MailboxOp::Once {
                key,
                op: Box::new(op.clone()),
            };
            async move { handle.run_here_or_there(op).await }
        })
        .await
    }

    /// Where a write goes again, under its request key, when its answer was lost or this
    /// node was no longer the account's writer: every write forwarded to another node, and
    /// in a cluster an APPEND here too (refused because the lease just went elsewhere, its
    /// files may be listed again by the next owner: the repeat finds them, see
    /// `Mailbox::blob_ids`). Nothing else: a local STORE, EXPUNGE, COPY or MOVE refused here
    /// left nothing behind, and its NO is true.
    fn owner_route(&self, op: &MailboxOp) -> Option<(&Arc<Shared>, &str)> {
        match &self.inner.target {
            MailboxTarget::Remote { shared, user, .. } if op.is_write() => Some((shared, user)),
            MailboxTarget::Local {
                route: Some(route), ..
            } if matches!(op, MailboxOp::Append { .. }) => {
                Some((&route.shared, route.user.as_str()))
            }
            _ => None,
        }
    }

    /// Runs one operation on the mailbox's actor, here or on the owner node, once.
    async fn run_here_or_there(&self, op: MailboxOp) -> Result<Answer, MailboxError> {
        match &self.inner.target {
            MailboxTarget::Local { addr, .. } => {
                call(addr, |reply| Request::Op { op, reply }).await
            }
            MailboxTarget::Remote { user, .. } => {
                let request = WireRequest::Mailbox {
                    user: user.clone(),
                    mailbox: self.address(),
                    op,
                };
                self.remote(request).await
            }
        }
    }

    /// Sends a request to the owner node. When the owner says the mailbox is gone (renamed,
    /// deleted or recreated) before its notice reached this node, the session attached
    /// through this handle is told at once, as the notice would have.
    pub(super) async fn remote(&self, request: WireRequest) -> Result<Answer, MailboxError> {
        let MailboxTarget::Remote { peer, stream, .. } = &self.inner.target else {
            return Err(MailboxError::Unavailable(
                "operation routed to the wrong node".into(),
            ));
        };
        let answer = peer.call(request).await;
        if let (Err(MailboxError::Gone(reason)), Some(stream)) = (&answer, stream.get()) {
            peer.close_stream(*stream, reason);
        }
        answer
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
            MailboxTarget::Remote {
                peer, user, stream, ..
            } => {
                let id = peer.register(self.inner.info.id, listener);
                let request = WireRequest::Attach {
                    user: user.clone(),
                    mailbox: self.address(),
                    stream: id,
                    read_only,
                };
                match self.remote(request).await {
                    // The stream id is this side's name for the attachment.
                    Ok(Answer::Attached(a)) => {
                        let _ = stream.set(id);
                        Ok(Attachment { id, ..a })
                    }
                    other => {
                        peer.unregister(id);
                        Err(other.map_or_else(|e| e, super::request::unexpected))
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
                    let _ = peer.call(WireRequest::Detach { stream: attachment }).await;
                });
            }
        }
    }

    pub async fn status(&self) -> Result<MailboxStatus, MailboxError> {
        expect_answer!(self.run(MailboxOp::Status).await?, Answer::Status(s) => s)
    }

    /// The UIDs expunged after `mod_seq`, as far as the mailbox remembers (RFC 7162 section
    /// 3.2.6).
    pub async fn vanished_since(&self, mod_seq: u64) -> Result<Since, MailboxError> {
        let op = MailboxOp::VanishedSince { mod_seq };
        expect_answer!(self.run(op).await?, Answer::Vanished(v) => v)
    }

    /// The current entries of the given UIDs (missing ones are skipped), with the keyword table.
    pub async fn entries(
        &self,
        uids: Vec<u32>,
    ) -> Result<(Vec<MessageEntry>, Arc<[String]>), MailboxError> {
        let op = MailboxOp::Entries { uids };
        expect_answer!(self.run(op).await?, Answer::Entries(e, k) => (e, k))
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
        let op = MailboxOp::Append { messages };
        expect_answer!(self.run(op).await?, Answer::Appended(a) => a)
    }

    pub async fn store(&self, request: StoreFlags) -> Result<StoreOutcome, MailboxError> {
        expect_answer!(self.run(MailboxOp::Store(request)).await?, Answer::Stored(s) => s)
    }

    /// EXPUNGE (`None`: every `\Deleted` message) or UID EXPUNGE (only those UIDs that are
    /// also `\Deleted`). Returns the expunged UIDs and their MODSEQ.
    pub async fn expunge(&self, uids: Option<Vec<u32>>) -> Result<Expunged, MailboxError> {
        let scope = uids.map_or(ExpungeScope::AllDeleted, ExpungeScope::DeletedAmong);
        self.expunge_scope(scope).await
    }

    async fn expunge_scope(&self, scope: ExpungeScope) -> Result<Expunged, MailboxError> {
        expect_answer!(self.run(MailboxOp::Expunge(scope)).await?, Answer::Expunged(u) => u)
    }

    /// COPY into `destination` (hard-linking blobs). UIDs that no longer exist are skipped.
    pub async fn copy_to(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
    ) -> Result<Copied, MailboxError> {
        self.copy_or_move(uids, destination, false).await
    }

    /// COPY or MOVE, here or, under a request key, on the owner node (see `retry.rs`).
    async fn copy_or_move(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
        is_move: bool,
    ) -> Result<Copied, MailboxError> {
        match &self.inner.target {
            MailboxTarget::Remote { shared, user, .. } => {
                let destination = destination.info().name.clone();
                self.copy_once(shared, user, uids, destination, is_move)
                    .await
            }
            MailboxTarget::Local { .. } => self.copy_keyed(uids, destination, is_move, None).await,
        }
    }

    /// The local COPY or MOVE, under the key a requesting node gave it (if any): a key the
    /// destination has seen is answered as it was, and a repeated MOVE expunges only what
    /// is still there.
    pub(crate) async fn copy_keyed(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
        is_move: bool,
        key: Option<RequestKey>,
    ) -> Result<Copied, MailboxError> {
        let copied = self.copy_in(uids, destination, is_move, key).await?;
        if is_move && !copied.source_uids.is_empty() {
            let scope = ExpungeScope::Exactly(copied.source_uids.clone());
            self.expunge_scope(scope).await?;
        }
        Ok(copied)
    }

    /// The local COPY: the destination links and adds the messages (`moving`: the first
    /// half of a MOVE, which the account's quota does not refuse).
    async fn copy_in(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
        moving: bool,
        key: Option<RequestKey>,
    ) -> Result<Copied, MailboxError> {
        let (entries, keywords) = self.entries(uids).await?;
        // A repeat of a keyed MOVE finds its sources gone: the destination still knows the key.
        let pairs = if entries.is_empty() && key.is_none() {
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
                moving,
                key,
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
        self.copy_or_move(uids, destination, true).await
    }

    /// Where the message octets of `blob` are; read them off the actor thread.
    pub fn blob_path(&self, blob: BlobId) -> PathBuf {
        blobs::blob_path(&self.inner.dir, blob)
    }

    /// The metadata parsed at append (blocking: call from a blocking task). A `.meta` file
    /// that is missing or damaged is parsed again from the message octets, which are the
    /// truth (docs/storage.md, "Recovery invariants"): one bad file never fails a range.
    pub fn load_meta(&self, blob: BlobId) -> Result<crate::message::MessageMeta, MailboxError> {
        let path = blobs::meta_path(&self.inner.dir, blob);
        let problem = match std::fs::read(&path) {
            Ok(bytes) => match crate::message::MessageMeta::from_bytes(&bytes) {
                Ok(meta) => return Ok(meta),
                Err(e) => e.to_string(),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing".to_string(),
            Err(e) => e.to_string(),
        };
        let raw_path = blobs::blob_path(&self.inner.dir, blob);
        let raw = std::fs::read(&raw_path).map_err(|e| match e.kind() {
            // Expunged (and deleted) since the caller read the entry.
            std::io::ErrorKind::NotFound => MailboxError::NonExistent("message expunged".into()),
            _ => MailboxError::Storage(format!("read {}: {e}", raw_path.display())),
        })?;
        tracing::warn!(path = %path.display(), problem, "message metadata parsed again from the message");
        Ok(crate::message::MessageMeta::parse_bytes(
            &bytes::Bytes::from(raw),
        ))
    }
}
