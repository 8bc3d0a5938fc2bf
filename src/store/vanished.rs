//! Which UIDs were expunged and at which MODSEQ, so QRESYNC can answer `VANISHED (EARLIER)`
//! exactly (RFC 7162 sections 3.2.5.1 and 3.2.6) after restarts and log compaction: the
//! record is part of the mailbox state, so it is in every snapshot.
//!
//! Retention: consecutive UIDs expunged together are one range, so a mailbox that expunged a
//! million messages in a few hundred commands costs a few hundred ranges. Past
//! [`Vanished::MAX_RANGES`] ranges the oldest tenth is forgotten and `forgotten_up_to` rises to
//! the highest MODSEQ among them. A client asking about changes since a MODSEQ below that is
//! told every UID of its set that no longer exists, as RFC 7162 section 3.2.6 prescribes for a
//! mod-sequence older than the server remembers: more than strictly needed, never less.

use serde::{Deserialize, Serialize};

/// A run of expunged UIDs (`first..=last`) and the MODSEQ of their expunge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Run {
    first: u32,
    last: u32,
    mod_seq: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vanished {
    /// Expunges with a MODSEQ at or below this are no longer known one by one.
    forgotten_up_to: u64,
    /// In the order of their expunge (MODSEQ ascending).
    runs: Vec<Run>,
}

/// What the record knows of the expunges after some MODSEQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Since {
    /// Exactly these UID ranges (ascending, merged).
    Exactly(Vec<(u32, u32)>),
    /// The MODSEQ is older than what is remembered: every UID that no longer exists may
    /// have gone since.
    AllMissing,
}

impl Vanished {
    pub const MAX_RANGES: usize = 100_000;

    /// A record that knows nothing of expunges at or before `mod_seq` (a mailbox whose
    /// history was not kept, such as one stored before the record existed).
    pub fn forgetting_up_to(mod_seq: u64) -> Vanished {
        Vanished {
            forgotten_up_to: mod_seq,
            runs: Vec::new(),
        }
    }

    /// Notes that `uids` (ascending) were expunged at `mod_seq`.
    pub fn record(&mut self, mod_seq: u64, uids: &[u32]) {
        for &uid in uids {
            match self.runs.last_mut() {
                Some(run) if run.mod_seq == mod_seq && run.last.checked_add(1) == Some(uid) => {
                    run.last = uid;
                }
                _ => self.runs.push(Run {
                    first: uid,
                    last: uid,
                    mod_seq,
                }),
            }
        }
        if self.runs.len() > Self::MAX_RANGES {
            let drop = Self::MAX_RANGES / 10;
            let newest_dropped = self.runs[..drop].iter().map(|r| r.mod_seq).max();
            self.forgotten_up_to = self.forgotten_up_to.max(newest_dropped.unwrap_or(0));
            self.runs.drain(..drop);
        }
    }

    /// The expunges with a MODSEQ above `mod_seq`.
    pub fn since(&self, mod_seq: u64) -> Since {
        if mod_seq < self.forgotten_up_to {
            return Since::AllMissing;
        }
        // Runs are in MODSEQ order: the newer ones are a suffix.
        let start = self.runs.partition_point(|r| r.mod_seq <= mod_seq);
        let mut ranges: Vec<(u32, u32)> = self.runs[start..]
            .iter()
            .map(|r| (r.first, r.last))
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (first, last) in ranges {
            match merged.last_mut() {
                Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        Since::Exactly(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expunges_are_kept_as_runs_and_read_back_since_a_modseq() {
        let mut v = Vanished::default();
        v.record(5, &[1, 2, 3, 7]);
        v.record(6, &[4]);
        v.record(9, &[8, 9]);
        assert_eq!(v.runs.len(), 4);
        assert_eq!(v.since(0), Since::Exactly(vec![(1, 4), (7, 9)]));
        assert_eq!(v.since(5), Since::Exactly(vec![(4, 4), (8, 9)]));
        assert_eq!(v.since(9), Since::Exactly(vec![]));
    }

    #[test]
    fn past_the_limit_the_oldest_are_forgotten_and_older_questions_get_everything() {
        let mut v = Vanished::default();
        for i in 0..=Vanished::MAX_RANGES as u32 {
            v.record(u64::from(i) + 2, &[i * 2 + 1]);
        }
        assert_eq!(
            v.runs.len(),
            Vanished::MAX_RANGES + 1 - Vanished::MAX_RANGES / 10
        );
        let forgotten = v.forgotten_up_to;
        assert_eq!(forgotten, (Vanished::MAX_RANGES / 10) as u64 + 1);
        assert_eq!(v.since(forgotten - 1), Since::AllMissing);
        assert!(matches!(v.since(forgotten), Since::Exactly(r) if r.len() == v.runs.len()));
        assert_eq!(Vanished::forgetting_up_to(10).since(3), Since::AllMissing);
    }
}
