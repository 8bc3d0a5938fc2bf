//! The node's table of running Account and Mailbox actors, and the rule that stops them:
//! an actor may go once nobody holds a handle to it, decided under the table's lock so a
//! lookup can never hand out an actor that is about to stop.
//!
//! Liveness is counted with a token (`Arc<()>`): the actor, the table entry and every
//! handle hold a clone, so "no handles" is a strong count of actor + table.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use actix::{Actor, Addr};

use super::account::AccountActor;
use super::actor::Mailbox;
use super::handle::OwnerRoute;
use super::usage::AccountUsage;
use super::{AccountHandle, MailboxHandle, Options};
use crate::store::account::{account_dir_name, account_user_name, mailbox_dir};
use crate::store::{MailboxId, MailboxInfo, StoreMetrics};

/// Identifies a mailbox actor: its account (directory name) and its immutable id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct MailboxKey {
    pub account: String,
    pub id: MailboxId,
}

struct Entry<A: Actor> {
    addr: Addr<A>,
    token: Arc<()>,
}

/// Shared by the [`Registry`](super::Registry) and every actor it started.
pub(crate) struct Shared {
    /// `<data_dir>/accounts`
    pub root: PathBuf,
    pub options: Options,
    pub metrics: Arc<StoreMetrics>,
    accounts: Mutex<HashMap<String, Entry<AccountActor>>>,
    mailboxes: Mutex<HashMap<MailboxKey, Entry<Mailbox>>>,
    /// Quota accounting of each account with an actor here (see `usage.rs`).
    usage: Mutex<HashMap<String, Arc<AccountUsage>>>,
    /// Set in cluster mode: leases and fences of the accounts this node owns.
    pub ownership: OnceLock<Arc<crate::cluster::ownership::Ownership>>,
    /// Who listens to each account's changes (NOTIFY).
    pub feeds: super::feed::Feeds,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent even if a holder panicked: every update is one insert/remove.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(root: PathBuf, options: Options) -> Shared {
        Shared {
            root,
            options,
            metrics: Arc::new(StoreMetrics::default()),
            accounts: Mutex::new(HashMap::new()),
            mailboxes: Mutex::new(HashMap::new()),
            usage: Mutex::new(HashMap::new()),
            ownership: OnceLock::new(),
            feeds: super::feed::Feeds::default(),
        }
    }

    /// Checks that this node may write `account` now: always in single-node mode; in a
    /// cluster only while it holds the account's lease (see `cluster::fence`). Blocking.
    ///
    /// # Errors
    /// `Unavailable` when the lease is gone, expired or superseded.
    pub fn check_write(&self, account: &str) -> Result<(), super::MailboxError> {
        self.check_write_at(account, None)
    }

    /// As [`check_write`](Self::check_write), and the lease is still the one of `epoch`
    /// (when given): a batch staged under one lease is not written under a later one.
    ///
    /// # Errors
    /// As [`check_write`](Self::check_write).
    pub fn check_write_at(
        &self,
        account: &str,
        epoch: Option<u64>,
    ) -> Result<(), super::MailboxError> {
        self.with_fence(account, |fence| {
            if epoch.is_some_and(|e| e != fence.epoch()) {
                return Err(
                    "the lease on this account changed while the change was prepared".into(),
                );
            }
            fence.check().map_err(|e| e.to_string())
        })
    }

    /// Runs `check` on this node's fence of `account`: always allowed without a cluster,
    /// never for an account this node does not own.
    fn with_fence(
        &self,
        account: &str,
        check: impl FnOnce(&crate::cluster::fence::Fence) -> Result<(), String>,
    ) -> Result<(), super::MailboxError> {
        let Some(ownership) = self.ownership.get() else {
            return Ok(());
        };
        let fence = ownership.fence(account).ok_or_else(|| {
            super::MailboxError::Unavailable("this node does not own the account".into())
        })?;
        check(&fence).map_err(super::MailboxError::Unavailable)
    }

    /// The account's handle: here if this node owns the account (or no cluster is
    /// configured), else pointing at its owner. See [`Registry::account`](super::Registry::account).
    ///
    /// # Errors
    /// `Storage` when the account's files cannot be read or created; `Unavailable` when no
    /// owner answers.
    pub async fn resolve_account(
        self: &Arc<Self>,
        user: &str,
    ) -> Result<AccountHandle, super::MailboxError> {
        use super::MailboxError;
        use crate::cluster::ownership::Resolved;
        let Some(ownership) = self.ownership.get().cloned() else {
            let handle = self.account(user);
            handle.ready().await?;
            return Ok(handle);
        };
        let name = account_dir_name(user);
        let mut last = MailboxError::Unavailable("no owner found".into());
        // An owner that just let go answers Unavailable; the next attempt finds the new one.
        for attempt in 0..3u32 {
            if attempt > 0 {
                let backoff = std::time::Duration::from_millis(200 * u64::from(attempt));
                tokio::time::sleep(ownership.retry_pause(&name, backoff).await).await;
            }
            let handle = match ownership.resolve(self, &name).await? {
                Resolved::Local => self.account(user),
                Resolved::Remote { address } => AccountHandle::remote(
                    ownership.links.peer(&address),
                    user.to_owned(),
                    self.root.join(&name),
                    self.clone(),
                ),
            };
            match handle.ready().await {
                Ok(()) => return Ok(handle),
                Err(e @ MailboxError::Unavailable(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// How long a node keeps sending a write whose answer was lost: until a hung or dead
    /// owner's lease has run out and another node serves the account, plus a margin.
    pub fn retry_window(&self) -> std::time::Duration {
        let lease = self
            .ownership
            .get()
            .map_or(std::time::Duration::ZERO, |o| o.lease_ttl());
        lease + std::time::Duration::from_secs(5)
    }

    /// How long to wait before sending a write to `user`'s owner again: `backoff`, cut short
    /// when the owner's lease ends sooner (see `Ownership::retry_pause`).
    pub async fn retry_pause(
        &self,
        user: &str,
        backoff: std::time::Duration,
    ) -> std::time::Duration {
        match self.ownership.get() {
            Some(o) => o.retry_pause(&account_dir_name(user), backoff).await,
            None => backoff,
        }
    }

    /// The epoch of this node's lease on `account` (`None` without a cluster, or when this
    /// node does not own it).
    pub fn write_epoch(&self, account: &str) -> Option<u64> {
        self.ownership.get()?.fence(account).map(|f| f.epoch())
    }

    /// Whether this node may remove files it wrote itself that nothing lists (see
    /// [`Fence::check_cleanup`](crate::cluster::fence::Fence::check_cleanup)).
    pub fn check_cleanup(&self, account: &str) -> Result<(), super::MailboxError> {
        self.with_fence(account, |fence| {
            fence.check_cleanup().map_err(|e| e.to_string())
        })
    }

    /// No actor of this account runs on this node.
    pub fn account_is_idle(&self, account: &str) -> bool {
        !lock(&self.accounts).contains_key(account)
            && !lock(&self.mailboxes).keys().any(|k| k.account == account)
    }

    /// Closes every actor of `account` (its sessions, here and remote, get `[CLOSED]` with
    /// `reason`); later requests start afresh, on whichever node then owns the account.
    pub async fn close_account(&self, account: &str, reason: &str) {
        let mailboxes: Vec<Addr<Mailbox>> = {
            let mut map = lock(&self.mailboxes);
            let keys: Vec<MailboxKey> = map
                .keys()
                .filter(|k| k.account == account)
                .cloned()
                .collect();
            keys.iter()
                .filter_map(|k| map.remove(k))
                .map(|e| e.addr)
                .collect()
        };
        lock(&self.accounts).remove(account);
        // Whoever owns the account next counts its usage afresh.
        lock(&self.usage).remove(account);
        self.feeds.end(account);
        for addr in mailboxes {
            let (done, finished) = tokio::sync::oneshot::channel();
            let close = super::actor::Request::Close {
                reason: reason.to_owned(),
                deleted: false,
                done,
            };
            if addr.send(close).await.is_ok() {
                let _ = finished.await;
            }
        }
    }

    /// The user's Account actor, started on this arbiter if it is not running.
    pub fn account(self: &Arc<Self>, user: &str) -> AccountHandle {
        let name = account_dir_name(user);
        let mut accounts = lock(&self.accounts);
        let entry = accounts.entry(name.clone()).or_insert_with(|| {
            let token = Arc::new(());
            let dir = self.root.join(&name);
            let usage = lock(&self.usage)
                .entry(name.clone())
                .or_insert_with(|| Arc::new(AccountUsage::new(user, dir.clone())))
                .clone();
            let addr =
                AccountActor::new(self.clone(), name.clone(), dir, token.clone(), usage).start();
            Entry { addr, token }
        });
        AccountHandle::local(entry.addr.clone(), entry.token.clone())
    }

    /// The Mailbox actor of `info` in the account `account`, started if needed. Called by
    /// the Account actor only, so it is ordered with RENAME and DELETE.
    pub fn mailbox(self: &Arc<Self>, account: &str, info: &MailboxInfo) -> MailboxHandle {
        let key = MailboxKey {
            account: account.to_string(),
            id: info.id,
        };
        let dir = mailbox_dir(&self.root.join(account), info.id);
        let mut mailboxes = lock(&self.mailboxes);
        let entry = mailboxes.entry(key.clone()).or_insert_with(|| {
            let token = Arc::new(());
            let usage = lock(&self.usage).get(account).cloned();
            let mut mailbox =
                Mailbox::new(self.clone(), key, info.clone(), dir.clone(), token.clone());
            mailbox.usage = usage;
            Entry {
                addr: mailbox.start(),
                token,
            }
        });
        let route = self
            .ownership
            .get()
            .and(account_user_name(account))
            .map(|user| OwnerRoute {
                shared: self.clone(),
                user,
            });
        MailboxHandle::local(
            entry.addr.clone(),
            entry.token.clone(),
            info.clone(),
            dir,
            route,
        )
    }

    /// Removes a mailbox actor from the table (DELETE, RENAME): later opens start afresh.
    pub(super) fn take_mailbox(&self, key: &MailboxKey) -> Option<Addr<Mailbox>> {
        lock(&self.mailboxes).remove(key).map(|e| e.addr)
    }

    /// Removes the entry of a failed mailbox actor, if it is still this one.
    pub(super) fn forget_mailbox(&self, key: &MailboxKey, token: &Arc<()>) {
        let mut mailboxes = lock(&self.mailboxes);
        if mailboxes
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(&e.token, token))
        {
            mailboxes.remove(key);
        }
    }

    pub fn forget_account(&self, name: &String, token: &Arc<()>) {
        let mut accounts = lock(&self.accounts);
        if accounts
            .get(name)
            .is_some_and(|e| Arc::ptr_eq(&e.token, token))
        {
            accounts.remove(name);
        }
    }

    /// True (and the entry is gone) when no handle to this mailbox actor remains.
    pub(super) fn release_mailbox(&self, key: &MailboxKey, token: &Arc<()>) -> bool {
        let released = release(&self.mailboxes, key, token);
        if released {
            self.drop_usage_if_idle(&key.account);
        }
        released
    }

    /// Forgets the account's quota accounting once no actor of it runs here: nothing here
    /// writes it any more, and a later owner (this node or another) counts afresh. Under
    /// the tables' locks, in their order, so no actor starting meanwhile gets another copy.
    fn drop_usage_if_idle(&self, account: &str) {
        let accounts = lock(&self.accounts);
        let mailboxes = lock(&self.mailboxes);
        if !accounts.contains_key(account) && !mailboxes.keys().any(|k| k.account == account) {
            lock(&self.usage).remove(account);
        }
    }

    /// Running (registered) mailbox actors.
    pub fn running_mailboxes(&self) -> usize {
        lock(&self.mailboxes).len()
    }

    pub fn release_account(&self, name: &String, token: &Arc<()>) -> bool {
        let released = release(&self.accounts, name, token);
        if released {
            self.drop_usage_if_idle(name);
        }
        released
    }
}

fn release<K: Hash + Eq, A: Actor>(
    map: &Mutex<HashMap<K, Entry<A>>>,
    key: &K,
    token: &Arc<()>,
) -> bool {
    let mut map = lock(map);
    let registered = map.get(key).is_some_and(|e| Arc::ptr_eq(&e.token, token));
    // Holders: the actor itself, the table entry (if still registered), and handles.
    let handles = Arc::strong_count(token) - 1 - usize::from(registered);
    if handles > 0 {
        return false;
    }
    if registered {
        map.remove(key);
    }
    true
}
