//! Which accounts this node owns in a cluster: acquiring leases, renewing them, fencing the
//! store, and letting go (idle, lease lost, operator move, drain).
//!
//! Only used with Redis configured; the single-node embedded mode owns everything without
//! leases.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::fence::Fence;
use super::link::LocalNode;
use super::peer::Links;
use super::redis::RedisDirectory;
use super::{DirectoryError, Lease, LeaseTiming, Owner};
use crate::mailbox::{MailboxError, Shared};
use crate::telemetry::metrics;

/// Waited past a lease's end before asking for it again: Redis expires keys on access, so
/// any wait works; a little keeps retries of many sessions from meeting the last millisecond.
const EXPIRY_SLACK: Duration = Duration::from_millis(10);

/// Where an account is served.
pub(crate) enum Resolved {
    /// This node owns it: use the local actors.
    Local,
    /// Another node does.
    Remote { address: String },
}

struct Owned {
    lease: Lease,
    fence: Arc<Fence>,
}

pub(crate) struct Ownership {
    pub directory: RedisDirectory,
    pub links: Links,
    timing: LeaseTiming,
    owned: Mutex<HashMap<String, Owned>>,
    /// Set on drain: no new leases are taken; requests for other accounts go remote.
    draining: AtomicBool,
    /// Whether the last heartbeat reached Redis (readiness).
    pub reachable: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unreachable(e: DirectoryError) -> MailboxError {
    MailboxError::Unavailable(format!("the cluster directory is unavailable: {e}"))
}

impl Ownership {
    pub fn new(directory: RedisDirectory, local: LocalNode, timing: LeaseTiming) -> Arc<Ownership> {
        Arc::new(Ownership {
            directory,
            // A hung owner's links are given up after about two renewal intervals (2/3 of
            // the lease), so its remote sessions hear of it before the lease even ends.
            links: Links::new(local, timing.renew_every()),
            timing,
            owned: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
            reachable: AtomicBool::new(true),
        })
    }

    /// The fence of an account this node owns (checked before every write).
    pub fn fence(&self, account: &str) -> Option<Arc<Fence>> {
        lock(&self.owned).get(account).map(|o| o.fence.clone())
    }

    pub fn owned_count(&self) -> u64 {
        lock(&self.owned).len() as u64
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Finds who serves `account` (its directory name), taking the lease when it is free.
    ///
    /// # Errors
    /// `Unavailable` when Redis cannot be reached or the owner's address is unknown.
    pub async fn resolve(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        account: &str,
    ) -> Result<Resolved, MailboxError> {
        if let Some(fence) = self.fence(account) {
            if !fence.is_lost() {
                return Ok(Resolved::Local);
            }
        }
        if self.is_draining() {
            // Take nothing new: go to the owner, or let another live node take the account.
            return match self.directory.owner(account).await.map_err(unreachable)? {
                Some((node, _)) => self.address_of(&node).await,
                None => self.another_node().await,
            };
        }
        let dir = shared.root.join(account);
        let recorded = tokio::task::spawn_blocking(move || Fence::recorded(&dir))
            .await
            .unwrap_or(0);
        let acquired = self.directory.acquire_above(account, recorded);
        match acquired.await.map_err(unreachable)? {
            Owner::Me(lease) => {
                self.adopt(shared, lease).await?;
                Ok(Resolved::Local)
            }
            Owner::Node { address, .. } => Ok(Resolved::Remote { address }),
        }
    }

    /// A live node other than this one, to serve an account this draining node won't take.
    async fn another_node(&self) -> Result<Resolved, MailboxError> {
        let nodes = self.directory.nodes().await.map_err(unreachable)?;
        nodes
            .into_iter()
            .find(|n| n.node != self.links.local_node())
            .map(|n| Resolved::Remote { address: n.address })
            .ok_or_else(|| {
                MailboxError::Unavailable("this node is draining and no other node is up".into())
            })
    }

    async fn address_of(&self, node: &str) -> Result<Resolved, MailboxError> {
        let nodes = self.directory.nodes().await.map_err(unreachable)?;
        nodes
            .into_iter()
            .find(|n| n.node == node)
            .map(|n| Resolved::Remote { address: n.address })
            .ok_or_else(|| MailboxError::Unavailable(format!("owner node {node} is not reachable")))
    }

    /// Starts serving an account whose lease this node just took: claims the fence on the
    /// shared filesystem (so a former owner can no longer write), then renews the lease.
    async fn adopt(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        lease: Lease,
    ) -> Result<(), MailboxError> {
        let account = lease.account.clone();
        let fence = Arc::new(Fence::new(
            &shared.root.join(&account),
            lease.epoch,
            lease.valid_until,
        ));
        let claim = fence.clone();
        tokio::task::spawn_blocking(move || claim.claim())
            .await
            .map_err(|e| MailboxError::Storage(format!("fence claim panicked: {e}")))?
            .map_err(|e| {
                MailboxError::Storage(format!("cannot write the fence of {account}: {e}"))
            })?;
        {
            let mut owned = lock(&self.owned);
            if owned.contains_key(&account) {
                return Ok(()); // another task adopted it meanwhile
            }
            owned.insert(
                account.clone(),
                Owned {
                    lease: lease.clone(),
                    fence,
                },
            );
        }
        tracing::info!(%account, epoch = lease.epoch, "took ownership");
        let me = Arc::downgrade(self);
        let shared = Arc::downgrade(shared);
        tokio::spawn(renew(me, shared, account));
        Ok(())
    }

    /// A renewal moved the lease's end: a later failed renewal gives up only then (issue 19:
    /// the first lease's end was kept, so one failure after it gave the account up at once).
    fn extended(&self, account: &str, valid_until: Instant) {
        if let Some(owned) = lock(&self.owned).get_mut(account) {
            owned.lease.valid_until = owned.lease.valid_until.max(valid_until);
        }
    }

    /// Stops serving `account` at once: its sessions get `[CLOSED]` with `reason`. The lease
    /// is released when `release` is true (operator move, drain), left to expire otherwise.
    pub async fn give_up(&self, shared: &Shared, account: &str, reason: &str, release: bool) {
        let Some(fence) = self.fence(account) else {
            return;
        };
        // No new writes from here; the closing mailboxes still remove the files of their
        // refused writes and expunges under the lease, or the next owner would list them
        // again (roost-bench faults: an APPEND retried under its key stored twice).
        fence.mark_handing_over();
        tracing::info!(%account, reason, "giving up ownership");
        shared.close_account(account, reason).await;
        let owned = {
            let mut owned = lock(&self.owned);
            match owned.get(account) {
                Some(o) if Arc::ptr_eq(&o.fence, &fence) => owned.remove(account),
                _ => None, // taken again meanwhile: that ownership stands
            }
        };
        fence.mark_lost();
        let Some(owned) = owned else {
            return;
        };
        if release {
            if let Err(e) = self.directory.release(&owned.lease).await {
                tracing::warn!(%account, error = %e, "cannot release lease; it will expire");
            }
        }
    }

    /// Drain: gives up every account (remote sessions reattach to their next owner) and
    /// takes no new ones.
    pub async fn release_all(&self, shared: &Shared, reason: &str) {
        self.draining.store(true, Ordering::SeqCst);
        let accounts: Vec<String> = lock(&self.owned).keys().cloned().collect();
        for account in accounts {
            self.give_up(shared, &account, reason, true).await;
        }
    }

    /// How long to wait before asking again for `account` when its owner did not answer:
    /// `backoff`, but only until its lease runs out (or at once when nobody holds it), so a
    /// dead or hung owner is replaced as soon as its lease ends, not up to a backoff later.
    /// Without Redis, the backoff.
    pub async fn retry_pause(&self, account: &str, backoff: Duration) -> Duration {
        match self.directory.lease_left(account).await {
            Ok(Some(left)) => backoff.min(left + EXPIRY_SLACK),
            Ok(None) => EXPIRY_SLACK.min(backoff),
            Err(_) => backoff,
        }
    }

    /// The lease TTL the cluster is configured with.
    pub fn lease_ttl(&self) -> std::time::Duration {
        self.timing.ttl
    }

    fn lease(&self, account: &str) -> Option<(Lease, Arc<Fence>)> {
        lock(&self.owned)
            .get(account)
            .map(|o| (o.lease.clone(), o.fence.clone()))
    }
}

/// Keeps one account's lease alive; lets it go when the lease is lost, Redis stays
/// unreachable past the lease's end, or no actor of the account has run for a while.
async fn renew(ownership: Weak<Ownership>, shared: Weak<Shared>, account: String) {
    let mut idle_ticks = 0;
    loop {
        let every = match ownership.upgrade() {
            Some(o) => o.timing.renew_every(),
            None => return,
        };
        tokio::time::sleep(every).await;
        let (Some(o), Some(shared)) = (ownership.upgrade(), shared.upgrade()) else {
            return;
        };
        let Some((lease, fence)) = o.lease(&account) else {
            return; // given up elsewhere
        };
        if shared.account_is_idle(&account) {
            idle_ticks += 1;
            if idle_ticks >= 2 {
                // Nobody anywhere has it open: let another node take it when it needs it.
                o.give_up(&shared, &account, "idle", true).await;
                return;
            }
        } else {
            idle_ticks = 0;
        }
        let renewed = o.directory.renew(&lease).await;
        metrics::lease_renewal(match &renewed {
            Ok(_) => "ok",
            Err(DirectoryError::LeaseLost { .. }) => "lost",
            Err(_) => "failed",
        });
        match renewed {
            Ok(renewed) => {
                fence.extend(renewed.valid_until);
                o.extended(&account, renewed.valid_until);
            }
            Err(DirectoryError::LeaseLost { .. }) => {
                o.give_up(
                    &shared,
                    &account,
                    "The mailbox moved to another node",
                    false,
                )
                .await;
                return;
            }
            Err(e) => {
                tracing::warn!(%account, error = %e, "cannot renew lease");
                if Instant::now() >= lease.valid_until {
                    o.give_up(
                        &shared,
                        &account,
                        "Lost contact with the cluster; reconnect",
                        false,
                    )
                    .await;
                    return;
                }
            }
        }
    }
}
