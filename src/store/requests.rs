//! Which forwarded writes a mailbox or an account has already carried out, by the key the
//! requesting node gave each, and what they produced (issue 19 finding 5).
//!
//! A node that forwards an APPEND, COPY, MOVE, STORE or EXPUNGE to the account's owner, or an
//! account-wide CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE or SETMETADATA, may lose the
//! answer: the link breaks or times out after the owner committed. It then sends the same request again,
//! with the same [`RequestKey`], to whichever node owns the account by then. The key is logged
//! in the same transaction as the write (so it is durable exactly when the write is) and kept
//! here, in the mailbox (or account) state and so in every snapshot: any owner, also a new one after a
//! failover, answers a repeated key with the original result instead of writing again.
//!
//! Retention: the retry window is seconds (a lease TTL plus a little), so only the latest
//! [`RecentRequests::MAX_KEYS`] keys are kept, and at most [`RecentRequests::MAX_UIDS`] UIDs
//! across their outcomes (a COPY of many messages counts each); the oldest go first. What is
//! forgotten is decided by the records alone, so replay after a restart keeps the same keys.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::types::MailboxInfo;

/// The requesting node's name for one forwarded write: 128 random bits, the same for every
/// attempt of that write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestKey(pub u128);

impl RequestKey {
    /// A new random key.
    ///
    /// # Errors
    /// When the system's random source fails.
    pub fn random() -> std::io::Result<RequestKey> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(RequestKey(u128::from_le_bytes(bytes)))
    }
}

/// What a keyed write produced, enough to answer it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// APPEND: the consecutive UIDs `first..first + count`.
    Appended { first: u32, count: u32 },
    /// The destination side of COPY or MOVE: `(source UID, new UID)` pairs.
    Copied { pairs: Vec<(u32, u32)> },
    /// STORE: the MODSEQ it gave, the UIDs it matched, changed, and found modified since
    /// UNCHANGEDSINCE (a repeat would find its own change there).
    Stored {
        mod_seq: u64,
        matched: Vec<u32>,
        changed: Vec<u32>,
        modified: Vec<u32>,
    },
    /// EXPUNGE: what it removed, at which MODSEQ.
    Expunged { mod_seq: u64, uids: Vec<u32> },
}

impl Outcome {
    /// The UIDs an APPEND of `uids` (consecutive, as the mailbox gives them) produced.
    pub fn appended(uids: &[u32]) -> Outcome {
        Outcome::Appended {
            first: uids.first().copied().unwrap_or(0),
            count: u32::try_from(uids.len()).unwrap_or(u32::MAX),
        }
    }

    /// The UIDs of an [`Outcome::Appended`].
    pub fn appended_uids(&self) -> Option<Vec<u32>> {
        match self {
            Outcome::Appended { first, count } => {
                Some((0..*count).map_while(|i| first.checked_add(i)).collect())
            }
            _ => None,
        }
    }
}

/// What a keyed account-wide write produced, enough to answer it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountOutcome {
    /// CREATE: the mailbox it made (a repeat would find it and say `ALREADYEXISTS`).
    Created(MailboxInfo),
    /// RENAME: `(old, new)` of every name it changed (a repeat would say `NONEXISTENT`).
    Renamed(Vec<(String, String)>),
    /// DELETE, SUBSCRIBE, UNSUBSCRIBE, SETMETADATA: done, nothing to report.
    Done,
}

/// An outcome [`RecentRequests`] keeps: how much of the retention bound it takes.
pub trait Weighed {
    fn weight(&self) -> usize;
}

impl Weighed for AccountOutcome {
    fn weight(&self) -> usize {
        match self {
            AccountOutcome::Renamed(pairs) => pairs.len().max(1),
            AccountOutcome::Created(_) | AccountOutcome::Done => 1,
        }
    }
}

impl Weighed for Outcome {
    /// How many UIDs it names.
    fn weight(&self) -> usize {
        match self {
            Outcome::Appended { .. } => 1,
            Outcome::Copied { pairs } => pairs.len().max(1),
            Outcome::Stored {
                matched, modified, ..
            } => (matched.len() + modified.len()).max(1),
            Outcome::Expunged { uids, .. } => uids.len().max(1),
        }
    }
}

/// The latest keyed writes of a mailbox (or, with [`AccountOutcome`], of an account), oldest
/// first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    from = "KeptRequests<O>",
    into = "KeptRequests<O>",
    bound(
        serialize = "O: Serialize + Clone",
        deserialize = "O: Deserialize<'de>"
    )
)]
pub struct RecentRequests<O = Outcome> {
    done: VecDeque<(RequestKey, O)>,
    /// Sum of the outcomes' weights.
    uids: usize,
    /// Each key's number, counted from the first one recorded (`forgotten` of them are gone
    /// from the front of `done`): a lookup without a pass over up to [`Self::MAX_KEYS`] keys
    /// at every replayed record (a new owner replays thousands). Rebuilt on load, not stored.
    index: HashMap<RequestKey, u64>,
    forgotten: u64,
}

/// What snapshots hold of [`RecentRequests`] (the layout it has always had).
#[derive(Serialize, Deserialize)]
struct KeptRequests<O> {
    done: VecDeque<(RequestKey, O)>,
    uids: usize,
}

impl<O> From<KeptRequests<O>> for RecentRequests<O> {
    fn from(kept: KeptRequests<O>) -> RecentRequests<O> {
        let index = (0..).zip(&kept.done).map(|(n, (k, _))| (*k, n)).collect();
        RecentRequests {
            done: kept.done,
            uids: kept.uids,
            index,
            forgotten: 0,
        }
    }
}

impl<O> From<RecentRequests<O>> for KeptRequests<O> {
    fn from(recent: RecentRequests<O>) -> KeptRequests<O> {
        KeptRequests {
            done: recent.done,
            uids: recent.uids,
        }
    }
}

impl<O: PartialEq> PartialEq for RecentRequests<O> {
    fn eq(&self, other: &RecentRequests<O>) -> bool {
        self.done == other.done && self.uids == other.uids
    }
}

impl<O: Eq> Eq for RecentRequests<O> {}

impl<O> Default for RecentRequests<O> {
    fn default() -> Self {
        RecentRequests {
            done: VecDeque::new(),
            uids: 0,
            index: HashMap::new(),
            forgotten: 0,
        }
    }
}

impl<O: Weighed> RecentRequests<O> {
    pub const MAX_KEYS: usize = 4096;
    pub const MAX_UIDS: usize = 65_536;

    /// What the write with `key` produced, if it is remembered.
    pub fn outcome(&self, key: RequestKey) -> Option<&O> {
        let n = self.index.get(&key)?;
        let at = usize::try_from(n.checked_sub(self.forgotten)?).ok()?;
        self.done.get(at).map(|(_, o)| o)
    }

    /// Notes a committed write; the oldest are forgotten past the bounds. A key already
    /// known keeps its first outcome.
    pub fn record(&mut self, key: RequestKey, outcome: O) {
        if self.index.contains_key(&key) {
            return;
        }
        self.uids += outcome.weight();
        self.index
            .insert(key, self.forgotten + self.done.len() as u64);
        self.done.push_back((key, outcome));
        while self.done.len() > Self::MAX_KEYS
            || (self.uids > Self::MAX_UIDS && self.done.len() > 1)
        {
            if let Some((old_key, old)) = self.done.pop_front() {
                self.uids -= old.weight();
                self.index.remove(&old_key);
                self.forgotten += 1;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.done.len()
    }

    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_answers_its_first_outcome_and_the_oldest_keys_go_first() {
        let mut recent = RecentRequests::default();
        for k in 0..(RecentRequests::<Outcome>::MAX_KEYS as u128 + 10) {
            recent.record(RequestKey(k), Outcome::appended(&[k as u32 + 1]));
        }
        assert_eq!(recent.len(), RecentRequests::<Outcome>::MAX_KEYS);
        assert_eq!(recent.outcome(RequestKey(9)), None);
        let last = RecentRequests::<Outcome>::MAX_KEYS as u128 + 9;
        assert_eq!(
            recent
                .outcome(RequestKey(last))
                .and_then(Outcome::appended_uids),
            Some(vec![last as u32 + 1])
        );
        recent.record(RequestKey(last), Outcome::appended(&[1]));
        assert_eq!(
            recent
                .outcome(RequestKey(last))
                .and_then(Outcome::appended_uids),
            Some(vec![last as u32 + 1])
        );
    }

    #[test]
    fn large_copies_are_bounded_by_their_uids() {
        let mut recent = RecentRequests::default();
        let pairs: Vec<(u32, u32)> = (1..=40_000).map(|u| (u, u + 100_000)).collect();
        recent.record(
            RequestKey(1),
            Outcome::Copied {
                pairs: pairs.clone(),
            },
        );
        recent.record(RequestKey(2), Outcome::Copied { pairs });
        // Both would exceed the bound: the older goes, the newest always stays.
        assert_eq!(recent.len(), 1);
        assert!(recent.outcome(RequestKey(2)).is_some());
    }

    #[test]
    fn a_loaded_snapshot_keeps_the_layout_and_finds_keys_as_before() {
        let mut recent = RecentRequests::default();
        for k in 0..(RecentRequests::<Outcome>::MAX_KEYS as u128 + 3) {
            recent.record(RequestKey(k), Outcome::appended(&[k as u32 + 1]));
        }
        let bytes = postcard::to_allocvec(&recent).unwrap();
        let kept = KeptRequests {
            done: recent.done.clone(),
            uids: recent.uids,
        };
        assert_eq!(bytes, postcard::to_allocvec(&kept).unwrap());
        let mut loaded: RecentRequests = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(loaded, recent);
        // Past the bound again: the oldest loaded keys go, the index follows.
        for k in 0..5u128 {
            let key = RequestKey(1_000_000 + k);
            loaded.record(key, Outcome::appended(&[9]));
            assert!(loaded.outcome(key).is_some());
        }
        assert_eq!(loaded.len(), RecentRequests::<Outcome>::MAX_KEYS);
        assert_eq!(loaded.outcome(RequestKey(7)), None);
        assert_eq!(
            loaded
                .outcome(RequestKey(8))
                .and_then(Outcome::appended_uids),
            Some(vec![9])
        );
    }

    #[test]
    fn appended_uids_are_consecutive() {
        let outcome = Outcome::appended(&[7, 8, 9]);
        assert_eq!(outcome, Outcome::Appended { first: 7, count: 3 });
        assert_eq!(outcome.appended_uids(), Some(vec![7, 8, 9]));
    }
}
