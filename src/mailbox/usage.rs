//! Quota accounting of one account on its owner node (RFC 9208): how much each mailbox
//! holds, kept exact by the only writers there are, the account's Mailbox actors.
//!
//! A Mailbox actor reports its mailbox's usage when it loads, then adds what a write adds
//! and takes off what an EXPUNGE frees, both while it plans the write in its batch: the
//! check against the limits and the addition are one step under one lock, so concurrent
//! APPEND, COPY and MOVE into different mailboxes of the account can never pass the limit
//! together. Mailboxes with no actor are counted from disk ([`AccountUsage::count_missing`])
//! only when a limit or GETQUOTA needs the total; what an actor reported always wins over
//! what a count read, because only an actor writes.
//!
//! The accounting lives while any actor of the account runs on this node (see
//! `Shared::drop_usage_if_idle`); a node that loses the account drops it, and the next
//! owner counts afresh.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::MailboxError;
use crate::auth::userdb::UserDb;
use crate::store::account::mailbox_dir;
use crate::store::mailbox::read_usage;
use crate::store::quota::{Exceeded, Limits, Usage};
use crate::store::MailboxId;

/// Where an account's limits come from when no administrator set them with SETQUOTA:
/// the user's `quota-*` fields in the users file, else `[quota]` in the configuration.
#[derive(Clone, Debug, Default)]
pub struct QuotaPolicy {
    pub default: Limits,
    pub users: Option<Arc<UserDb>>,
}

impl QuotaPolicy {
    /// The limits of `user` (blocking: the users file may be reloaded).
    pub fn configured(&self, user: &str) -> Limits {
        self.users
            .as_ref()
            .and_then(|db| db.lookup_quota(user).ok().flatten())
            .unwrap_or(self.default)
    }
}

/// Why a write was refused by the accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Exceeded(Exceeded),
    /// A limit applies but some mailbox has not been counted yet (its actor failed).
    Uncounted,
}

impl From<Refusal> for MailboxError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Exceeded(e) => MailboxError::OverQuota(format!("this would exceed {e}")),
            Refusal::Uncounted => {
                MailboxError::Unavailable("the account's quota usage is being counted".into())
            }
        }
    }
}

/// Usage and limits of one account, shared by its actors on the owner node.
#[derive(Debug)]
pub struct AccountUsage {
    user: String,
    account_dir: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every mailbox of the account; `None` until counted or reported by its actor.
    mailboxes: HashMap<MailboxId, Option<Usage>>,
    /// The Account actor has listed the mailboxes (before that, no total is known).
    listed: bool,
    configured: Limits,
    set_by_admin: Option<Limits>,
}

impl Inner {
    fn limits(&self) -> Limits {
        self.set_by_admin.unwrap_or(self.configured)
    }

    fn total(&self) -> Option<Usage> {
        if !self.listed {
            return None;
        }
        self.mailboxes
            .values()
            .try_fold(Usage::default(), |sum, u| u.map(|u| sum.plus(u)))
    }
}

/// An account's limits and usage at one moment (GETQUOTA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuotaReport {
    pub limits: Limits,
    pub usage: Usage,
}

impl AccountUsage {
    pub fn new(user: &str, account_dir: PathBuf) -> AccountUsage {
        AccountUsage {
            user: user.to_owned(),
            account_dir,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is a single insert or field write: a panic cannot leave it half done.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From the Account actor once loaded: the mailboxes that exist, and the limits an
    /// administrator set. Mailboxes already reported keep their usage.
    pub fn list(&self, ids: impl IntoIterator<Item = MailboxId>, set_by_admin: Option<Limits>) {
        let mut inner = self.lock();
        let mut listed: HashMap<MailboxId, Option<Usage>> =
            ids.into_iter().map(|id| (id, None)).collect();
        for (id, usage) in listed.iter_mut() {
            *usage = inner.mailboxes.get(id).copied().flatten();
        }
        inner.mailboxes = listed;
        inner.listed = true;
        inner.set_by_admin = set_by_admin;
    }

    /// From a Mailbox actor once loaded: what its mailbox holds now.
    pub fn opened(&self, id: MailboxId, usage: Usage) {
        self.lock().mailboxes.insert(id, Some(usage));
    }

    /// CREATE: a new, empty mailbox.
    pub fn created(&self, id: MailboxId) {
        self.lock().mailboxes.insert(id, Some(Usage::default()));
    }

    /// DELETE, once durable: the mailbox and its messages are gone.
    pub fn deleted(&self, id: MailboxId) {
        self.lock().mailboxes.remove(&id);
    }

    /// A Mailbox actor failed: its reported usage may not match the disk any more.
    pub fn forget(&self, id: MailboxId) {
        if let Some(usage) = self.lock().mailboxes.get_mut(&id) {
            *usage = None;
        }
    }

    pub fn set_by_admin(&self, limits: Option<Limits>) {
        self.lock().set_by_admin = limits;
    }

    pub fn limits(&self) -> Limits {
        self.lock().limits()
    }

    /// Re-reads the configured limits and, when any limit applies, counts the mailboxes no
    /// actor has reported (blocking: may read the users file and mailbox logs).
    ///
    /// # Errors
    /// A mailbox that cannot be read.
    pub fn refresh(&self, policy: &QuotaPolicy) -> Result<(), MailboxError> {
        let configured = policy.configured(&self.user);
        let limited = {
            let mut inner = self.lock();
            inner.configured = configured;
            !inner.limits().is_unlimited()
        };
        if limited {
            self.count_missing()?;
        }
        Ok(())
    }

    /// Limits and usage, counting what is not yet counted (blocking).
    ///
    /// # Errors
    /// A mailbox that cannot be read, or the account is not listed yet.
    pub fn report(&self, policy: &QuotaPolicy) -> Result<QuotaReport, MailboxError> {
        self.lock().configured = policy.configured(&self.user);
        let usage = self.count_missing()?;
        Ok(QuotaReport {
            limits: self.limits(),
            usage,
        })
    }

    /// Counts every mailbox that has no usage yet from its files, and returns the total.
    /// A mailbox whose actor reports meanwhile keeps the actor's figure. Blocking.
    ///
    /// # Errors
    /// A mailbox that cannot be read, or the account is not listed yet.
    pub fn count_missing(&self) -> Result<Usage, MailboxError> {
        let missing: Vec<MailboxId> = {
            let inner = self.lock();
            if !inner.listed {
                return Err(MailboxError::Unavailable("account not loaded".into()));
            }
            inner
                .mailboxes
                .iter()
                .filter(|(_, u)| u.is_none())
                .map(|(&id, _)| id)
                .collect()
        };
        for id in missing {
            let dir = mailbox_dir(&self.account_dir, id);
            let counted = read_usage(&dir).map_err(MailboxError::from)?;
            if let Some(slot @ None) = self.lock().mailboxes.get_mut(&id) {
                *slot = Some(counted);
            }
        }
        self.lock()
            .total()
            .ok_or_else(|| MailboxError::Unavailable("quota usage changed while counted".into()))
    }

    /// A write into `id` adds `added`: checked against the limits (unless `enforce` is
    /// false: a MOVE inside the account adds nothing to the account) and counted, in one
    /// step.
    ///
    /// # Errors
    /// The limit it would pass, or `Uncounted` when a limit applies and the total is not
    /// known.
    pub fn add(&self, id: MailboxId, added: Usage, enforce: bool) -> Result<(), Refusal> {
        let mut inner = self.lock();
        let limits = inner.limits();
        if enforce && !limits.is_unlimited() {
            let total = inner.total().ok_or(Refusal::Uncounted)?;
            limits.check(total.plus(added)).map_err(Refusal::Exceeded)?;
        }
        if let Some(Some(usage)) = inner.mailboxes.get_mut(&id) {
            *usage = usage.plus(added);
        }
        Ok(())
    }

    /// An EXPUNGE in `id` frees `freed`.
    pub fn remove(&self, id: MailboxId, freed: Usage) {
        if let Some(Some(usage)) = self.lock().mailboxes.get_mut(&id) {
            *usage = usage.minus(freed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(messages: u64, bytes: u64) -> Usage {
        Usage { messages, bytes }
    }

    fn limited(messages: u64) -> AccountUsage {
        let u = AccountUsage::new("alice", PathBuf::from("/nonexistent"));
        u.list(
            [MailboxId(1), MailboxId(2)],
            Some(Limits {
                storage_kib: None,
                messages: Some(messages),
            }),
        );
        u
    }

    #[test]
    fn an_uncounted_mailbox_refuses_limited_writes_until_reported() {
        let u = limited(10);
        u.opened(MailboxId(1), usage(3, 300));
        assert_eq!(
            u.add(MailboxId(1), usage(1, 1), true),
            Err(Refusal::Uncounted)
        );
        assert_eq!(u.add(MailboxId(1), usage(1, 1), false), Ok(()));
        u.opened(MailboxId(2), usage(5, 500));
        assert_eq!(u.lock().total(), Some(usage(9, 801)));
    }

    #[test]
    fn writes_past_the_limit_are_refused_and_not_counted() {
        let u = limited(10);
        u.opened(MailboxId(1), usage(4, 0));
        u.opened(MailboxId(2), usage(4, 0));
        assert_eq!(u.add(MailboxId(1), usage(2, 0), true), Ok(()));
        assert_eq!(
            u.add(MailboxId(2), usage(1, 0), true),
            Err(Refusal::Exceeded(Exceeded::Messages { limit: 10 }))
        );
        u.remove(MailboxId(1), usage(1, 0));
        assert_eq!(u.add(MailboxId(2), usage(1, 0), true), Ok(()));
        assert_eq!(u.lock().total(), Some(usage(10, 0)));
        u.deleted(MailboxId(2));
        assert_eq!(u.lock().total(), Some(usage(5, 0)));
    }

    #[test]
    fn listing_again_keeps_reported_usage_and_drops_deleted_mailboxes() {
        let u = limited(10);
        u.opened(MailboxId(1), usage(4, 40));
        u.list([MailboxId(1), MailboxId(3)], None);
        assert_eq!(
            u.lock().mailboxes.get(&MailboxId(1)),
            Some(&Some(usage(4, 40)))
        );
        assert_eq!(u.lock().mailboxes.get(&MailboxId(3)), Some(&None));
        assert!(!u.lock().mailboxes.contains_key(&MailboxId(2)));
        assert!(u.limits().is_unlimited());
    }
}
