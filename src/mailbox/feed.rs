//! The account feed: what changed in an account, for sessions that asked to hear of it with
//! NOTIFY (RFC 5465), here or on other nodes.
//!
//! Every change to an account happens on its owner node (the Account actor orders CREATE,
//! DELETE, RENAME and subscriptions; each Mailbox actor its messages), so the owner's feed
//! sees all of them. A mailbox actor publishes one [`AccountEvent::Messages`] per durable
//! batch, carrying the mailbox's counts after it: a watcher that falls behind keeps only the
//! latest counts per mailbox. Watchers are plain callbacks that must not block: a local
//! session's coalescing inbox, or the owner's push onto the node link for a session on
//! another node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::MailboxStatus;
use crate::store::MailboxId;

/// Which kinds of message change a batch held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageChanges {
    pub new: bool,
    pub expunged: bool,
    pub flags: bool,
}

impl MessageChanges {
    pub fn any(self) -> bool {
        self.new || self.expunged || self.flags
    }

    pub fn merge(&mut self, other: MessageChanges) {
        self.new |= other.new;
        self.expunged |= other.expunged;
        self.flags |= other.flags;
    }
}

/// One change to an account, once it is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountEvent {
    /// Messages of a mailbox came, went or changed flags; its counts after the change.
    Messages {
        mailbox: MailboxId,
        name: String,
        changes: MessageChanges,
        status: MailboxStatus,
    },
    /// CREATE (also parents CREATE made on the way).
    Created {
        name: String,
    },
    Deleted {
        name: String,
    },
    /// RENAME of a mailbox (its children moved with it and are not listed).
    Renamed {
        from: String,
        to: String,
    },
    Subscription {
        name: String,
        subscribed: bool,
    },
    /// The feed ended for this watcher (the owner let the account go, or the link to it
    /// broke): later changes will not be heard of.
    Lost,
}

/// A watcher: takes an event, says whether it still wants more. Must not block.
pub type Watcher = Arc<dyn Fn(&AccountEvent) -> bool + Send + Sync>;

static NEXT_WATCH: AtomicU64 = AtomicU64::new(1);

/// The watchers of every account of this node, by account directory name.
#[derive(Default)]
pub(crate) struct Feeds {
    by_account: Mutex<HashMap<String, Vec<(u64, Watcher)>>>,
}

impl Feeds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(u64, Watcher)>>> {
        self.by_account
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a watcher of `account`; returns its id for [`Feeds::unwatch`].
    pub fn watch(&self, account: &str, watcher: Watcher) -> u64 {
        let id = NEXT_WATCH.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(account.to_owned())
            .or_default()
            .push((id, watcher));
        id
    }

    pub fn unwatch(&self, account: &str, id: u64) {
        let mut map = self.lock();
        if let Some(list) = map.get_mut(account) {
            list.retain(|(w, _)| *w != id);
            if list.is_empty() {
                map.remove(account);
            }
        }
    }

    /// Whether anyone listens (publishers skip computing events nobody reads).
    pub fn is_watched(&self, account: &str) -> bool {
        self.lock().contains_key(account)
    }

    /// Hands `event` to every watcher of `account`, dropping those that are gone.
    pub fn publish(&self, account: &str, event: &AccountEvent) {
        let watchers: Vec<(u64, Watcher)> = match self.lock().get(account) {
            Some(list) => list.clone(),
            None => return,
        };
        // Called outside the lock: a watcher may take its own locks.
        let gone: Vec<u64> = watchers
            .iter()
            .filter(|(_, w)| !w(event))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.unwatch(account, id);
        }
    }

    /// Tells every watcher of `account` that its feed ended, and forgets them.
    pub fn end(&self, account: &str) {
        let Some(watchers) = self.lock().remove(account) else {
            return;
        };
        for (_, w) in watchers {
            w(&AccountEvent::Lost);
        }
    }
}
