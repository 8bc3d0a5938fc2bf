//! A session's UIDs in sequence order, stored as runs of consecutive UIDs when that is
//! smaller.
//!
//! Every selected session keeps its own list (sequence numbers are per session), so at
//! 50,000 sessions on mailboxes of 10,000 messages a plain `Vec<u32>` would cost 40 KiB per
//! connection. Mail arrives in UID order and is expunged sparsely, so a mailbox's UIDs are
//! mostly long runs: `1:10000` is one run of 8 bytes. A list whose runs would take more room
//! than the plain UIDs (every other message expunged) stays plain.

/// The first UID of a run of consecutive UIDs and its index in the list (sequence number
/// minus one); the run ends where the next one starts (or at the list's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    uid: u32,
    index: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UidList {
    Runs { runs: Vec<Run>, len: u32 },
    Plain(Vec<u32>),
}

impl Default for UidList {
    fn default() -> Self {
        UidList::Runs {
            runs: Vec::new(),
            len: 0,
        }
    }
}

impl UidList {
    /// The list of `uids`, which must be ascending.
    pub fn from_sorted(uids: impl IntoIterator<Item = u32>) -> UidList {
        let mut runs = Vec::new();
        let mut len = 0u32;
        let mut last = None;
        for uid in uids {
            if last.is_none_or(|l: u32| l.checked_add(1) != Some(uid)) {
                runs.push(Run { uid, index: len });
            }
            last = Some(uid);
            len += 1;
        }
        if runs.len() * 2 <= len as usize {
            runs.shrink_to_fit();
            UidList::Runs { runs, len }
        } else {
            UidList::Plain(runs_to_uids(&runs, len))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            UidList::Runs { len, .. } => *len as usize,
            UidList::Plain(uids) => uids.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The UID at `index` (sequence number minus one).
    pub fn get(&self, index: usize) -> Option<u32> {
        match self {
            UidList::Plain(uids) => uids.get(index).copied(),
            UidList::Runs { runs, len } => {
                let index = u32::try_from(index).ok().filter(|i| i < len)?;
                let run = runs[runs.partition_point(|r| r.index <= index) - 1];
                Some(run.uid + (index - run.index))
            }
        }
    }

    pub fn last(&self) -> Option<u32> {
        self.get(self.len().checked_sub(1)?)
    }

    /// How many UIDs are below `uid` (where `uid` is or would be in the list).
    pub fn rank(&self, uid: u32) -> usize {
        match self {
            UidList::Plain(uids) => uids.partition_point(|&u| u < uid),
            UidList::Runs { runs, len } => {
                let k = runs.partition_point(|r| r.uid <= uid);
                let Some(run) = k.checked_sub(1).map(|k| runs[k]) else {
                    return 0;
                };
                let end = runs.get(k).map_or(*len, |next| next.index);
                (run.index + (uid - run.uid).min(end - run.index)) as usize
            }
        }
    }

    /// The index of `uid`, if it is in the list.
    pub fn position(&self, uid: u32) -> Option<usize> {
        let i = self.rank(uid);
        (self.get(i) == Some(uid)).then_some(i)
    }

    pub fn contains(&self, uid: u32) -> bool {
        self.position(uid).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len()).map_while(move |i| self.get(i))
    }

    /// The UIDs at indexes `range`, in order.
    pub fn slice(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = u32> + '_ {
        range.map_while(move |i| self.get(i))
    }

    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }

    /// Appends `uids`, ascending and above the last.
    pub fn extend(&mut self, uids: impl IntoIterator<Item = u32>) {
        match self {
            UidList::Plain(list) => list.extend(uids),
            UidList::Runs { runs, len } => {
                let mut last = runs.last().map(|r| r.uid + (*len - r.index - 1));
                for uid in uids {
                    if last.is_none_or(|l| l.checked_add(1) != Some(uid)) {
                        runs.push(Run { uid, index: *len });
                    }
                    last = Some(uid);
                    *len += 1;
                }
            }
        }
        // Checked in O(1): a list that runs no longer shrink becomes plain, once.
        if let UidList::Runs { runs, len } = self {
            if runs.len() * 2 > *len as usize {
                *self = UidList::Plain(runs_to_uids(runs, *len));
            }
        }
    }

    /// Keeps the UIDs for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        let kept = UidList::from_sorted(self.iter().filter(|&u| keep(u)));
        *self = kept;
    }
}

/// The UIDs that `runs` (of `len` UIDs in all) stand for.
fn runs_to_uids(runs: &[Run], len: u32) -> Vec<u32> {
    let ends = runs.iter().skip(1).map(|r| r.index).chain([len]);
    runs.iter()
        .zip(ends)
        .flat_map(|(r, end)| (0..end - r.index).map(move |i| r.uid + i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uids: &[u32]) {
        let list = UidList::from_sorted(uids.iter().copied());
        assert_eq!(list.to_vec(), uids);
        assert_eq!(list.len(), uids.len());
        for (i, &u) in uids.iter().enumerate() {
            assert_eq!(list.get(i), Some(u));
            assert_eq!(list.position(u), Some(i));
        }
        assert_eq!(list.get(uids.len()), None);
        let probes = uids
            .iter()
            .flat_map(|&u| [u.saturating_sub(1), u, u.saturating_add(1)])
            .chain([0, 1]);
        for probe in probes {
            assert_eq!(
                list.rank(probe),
                uids.partition_point(|&u| u < probe),
                "{probe}"
            );
            assert_eq!(list.contains(probe), uids.contains(&probe));
        }
        assert_eq!(list.last(), uids.last().copied());
    }

    #[test]
    fn behaves_as_a_sorted_vec_in_both_forms() {
        check(&[]);
        check(&[7]);
        check(&(1..=1000).collect::<Vec<_>>());
        check(&[1, 2, 3, 10, 11, 12, 13, 40, 90, 91]);
        check(&(1..=200).filter(|u| u % 2 == 0).collect::<Vec<_>>());
        check(&[u32::MAX - 2, u32::MAX - 1, u32::MAX]);
    }

    #[test]
    fn consecutive_uids_take_one_run_and_sparse_ones_stay_plain() {
        let list = UidList::from_sorted(1..=10_000);
        assert!(matches!(&list, UidList::Runs { runs, .. } if runs.len() == 1));
        let sparse = UidList::from_sorted((1..=100).map(|u| u * 2));
        assert!(matches!(sparse, UidList::Plain(_)));
    }

    #[test]
    fn extend_and_retain_keep_the_order_and_switch_forms() {
        let mut list = UidList::from_sorted(1..=10);
        list.extend([11, 12, 20]);
        assert_eq!(list.to_vec(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20]);
        list.retain(|u| u % 2 == 0);
        assert_eq!(list.to_vec(), [2, 4, 6, 8, 10, 12, 20]);
        assert!(matches!(list, UidList::Plain(_)));
        list.extend(21..=60);
        assert_eq!(list.len(), 47);
        assert_eq!(list.get(7), Some(21));
        list.retain(|_| true);
        assert!(matches!(list, UidList::Runs { .. }));
        let mut growing = UidList::from_sorted(1..=4);
        growing.extend([6, 8, 10, 12]);
        assert!(matches!(growing, UidList::Plain(_)));
        assert_eq!(growing.to_vec(), [1, 2, 3, 4, 6, 8, 10, 12]);
        let mut empty = UidList::default();
        empty.extend([5, 6]);
        assert_eq!(empty.to_vec(), [5, 6]);
    }
}
