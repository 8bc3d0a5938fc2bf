//! What a QRESYNC client is told of the messages it knew that are gone (RFC 7162 sections
//! 3.2.5 and 3.2.6): `VANISHED (EARLIER)` computed from the mailbox's expunge record, the
//! client's known UIDs and sequence match data, and the UIDs still present.
//!
//! Everything works on ascending, disjoint UID ranges, so a client that knows `1:4000000000`
//! costs as much as one that knows `1:10`.

use roost_proto::{SeqBound, SeqRange, SequenceSet};

use super::view::merged;
use crate::store::vanished::Since;

/// Ascending, disjoint, inclusive UID ranges.
pub type Ranges = Vec<(u32, u32)>;

/// `set` as ranges, `*` standing for `largest`.
pub fn ranges_of(set: &SequenceSet, largest: u32) -> Ranges {
    match set {
        SequenceSet::Ranges(r) => merged(r, largest),
        SequenceSet::Saved => Vec::new(),
    }
}

/// Ranges back into a set (`None` when empty: nothing to report).
pub fn to_set(ranges: &Ranges) -> Option<SequenceSet> {
    let ranges: Vec<SeqRange> = ranges
        .iter()
        .map(|&(lo, hi)| SeqRange {
            start: SeqBound::Value(lo),
            end: SeqBound::Value(hi),
        })
        .collect();
    (!ranges.is_empty()).then_some(SequenceSet::Ranges(ranges))
}

fn intersect(a: &Ranges, b: &Ranges) -> Ranges {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `ranges` without the UIDs in `present` (ascending).
fn without(ranges: &Ranges, present: &[u32]) -> Ranges {
    let mut out = Vec::new();
    for &(lo, hi) in ranges {
        // u64: the UID after u32::MAX must not wrap onto it.
        let mut next = u64::from(lo);
        let start = present.partition_point(|&u| u < lo);
        for &uid in present[start..].iter().take_while(|&&u| u <= hi) {
            if u64::from(uid) > next {
                out.push((u32::try_from(next).unwrap_or(hi), uid - 1));
            }
            next = u64::from(uid) + 1;
        }
        if next <= u64::from(hi) {
            out.push((u32::try_from(next).unwrap_or(hi), hi));
        }
    }
    out
}

/// The lowest UID the client may not know to be gone, from its sequence match data (RFC
/// 7162 section 3.2.5.2): each pair in order whose message number still holds that UID says
/// the client knows of every expunge up to it; the first pair that does not match ends the
/// scan. `present` is the mailbox's UIDs in sequence order.
pub fn seq_match_floor(seqs: &SequenceSet, uids: &SequenceSet, present: &[u32]) -> u32 {
    let flat = |s: &SequenceSet| -> Vec<u32> {
        ranges_of(s, u32::MAX)
            .into_iter()
            .flat_map(|(lo, hi)| lo..=hi)
            .take(present.len().saturating_add(1))
            .collect()
    };
    let mut floor = 1;
    for (seq, uid) in flat(seqs).into_iter().zip(flat(uids)) {
        let at = usize::try_from(seq).ok().and_then(|s| s.checked_sub(1));
        match at.and_then(|i| present.get(i)) {
            Some(&have) if have == uid => floor = uid.saturating_add(1),
            _ => break,
        }
    }
    floor
}

/// `VANISHED (EARLIER)`: the UIDs of `known` below `uid_next` and from `floor` up that are
/// not `present` (ascending) and, as far as the expunge record tells, went after the
/// client's MODSEQ (`since`).
pub fn vanished_earlier(
    since: &Since,
    known: &Ranges,
    present: &[u32],
    uid_next: u32,
    floor: u32,
) -> Ranges {
    let Some(below_next) = uid_next.checked_sub(1).filter(|&m| m >= floor) else {
        return Vec::new();
    };
    let window = vec![(floor, below_next)];
    let candidates = match since {
        Since::Exactly(gone) => intersect(gone, &window),
        Since::AllMissing => window,
    };
    without(&intersect(&candidates, known), present)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ranges: &[(u32, u32)]) -> SequenceSet {
        to_set(&ranges.to_vec()).unwrap()
    }

    #[test]
    fn exact_record_intersected_with_what_the_client_knew() {
        let since = Since::Exactly(vec![(2, 3), (7, 9)]);
        let known = vec![(1, 8)];
        assert_eq!(
            vanished_earlier(&since, &known, &[1, 4, 5, 6, 10], 11, 1),
            [(2, 3), (7, 8)]
        );
        // Never a UID still present (expunged after the snapshot, reported live later).
        assert_eq!(
            vanished_earlier(&since, &known, &[1, 2, 3, 4, 5, 6, 10], 11, 1),
            [(7, 8)]
        );
    }

    #[test]
    fn a_forgotten_modseq_reports_every_missing_uid_of_the_known_set() {
        // RFC 7162 section 3.2.5.2's first example, scaled down: UIDs divisible by 3 remain.
        let present: Vec<u32> = (1..=30).filter(|u| u % 3 == 0).collect();
        let got = vanished_earlier(&Since::AllMissing, &vec![(1, 29)], &present, 31, 1);
        assert_eq!(got[..3], [(1, 2), (4, 5), (7, 8)]);
        assert_eq!(got.last(), Some(&(28, 29)));
        assert_eq!(got.len(), 10);
    }

    #[test]
    fn sequence_match_data_raises_the_floor_until_the_first_mismatch() {
        let present: Vec<u32> = (1..=30).filter(|u| u % 3 == 0).collect(); // seq 4 is UID 12
        let floor = seq_match_floor(
            &set(&[(2, 2), (4, 4), (5, 5)]),
            &set(&[(6, 6), (12, 12), (14, 14)]),
            &present,
        );
        assert_eq!(floor, 13);
        let got = vanished_earlier(&Since::AllMissing, &vec![(1, 29)], &present, 31, floor);
        assert_eq!(got[0], (13, 14));
        assert_eq!(
            seq_match_floor(&set(&[(1, 1)]), &set(&[(2, 2)]), &present),
            1
        );
    }

    #[test]
    fn empty_and_edge_cases() {
        assert!(vanished_earlier(&Since::AllMissing, &vec![(1, 10)], &[], 1, 1).is_empty());
        assert_eq!(
            vanished_earlier(
                &Since::AllMissing,
                &vec![(1, u32::MAX)],
                &[u32::MAX - 1],
                u32::MAX,
                1
            ),
            [(1, u32::MAX - 2)]
        );
        assert_eq!(without(&vec![(5, 5)], &[5]), Vec::<(u32, u32)>::new());
    }
}
