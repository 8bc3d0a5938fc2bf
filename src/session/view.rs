//! One session's view of its selected mailbox: the message sequence numbers it has been told
//! about, and the changes it has not been told about yet.
//!
//! Sequence numbers are per session (RFC 9051 section 2.3.1.2): another session's EXPUNGE
//! only renumbers this one when this one is sent the EXPUNGE, which may happen only at the
//! moments section 7.5.1 allows. So the view keeps the UIDs it has announced, in order, and
//! queues what the mailbox actor reports until the session may pass it on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use roost_proto::SequenceSet;

use super::uid_list::UidList;
use crate::store::MessageEntry;

/// What the view has queued for the client.
#[derive(Debug, Default)]
pub struct Pending {
    /// Messages that arrived, by UID.
    pub appended: BTreeMap<u32, MessageEntry>,
    /// UIDs that are `\Recent` for this session among `appended`.
    pub recent: Vec<u32>,
    /// Flag changes to report, by UID (the newest wins).
    pub flags: BTreeMap<u32, MessageEntry>,
    /// UIDs whose news in `flags` replaced older news that was never sent.
    pub merged: BTreeSet<u32>,
    /// UIDs expunged by others.
    pub expunged: Vec<u32>,
}

/// A change this session made itself, whose news is still on its way.
#[derive(Debug, Clone, Copy)]
struct Reported {
    mod_seq: u64,
    /// For a `.SILENT` STORE, the message as the commit left it: the client was told nothing,
    /// so news older than its own change (another session's, still on its way) means a change
    /// it does not know of, and it is told this state, which includes both.
    silent: Option<MessageEntry>,
}

/// The updates to send now, computed by [`View::drain`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Updates {
    /// `* n EXPUNGE` in this order (each already renumbering the following ones).
    pub expunged_seqs: Vec<u32>,
    /// The expunged UIDs (for `VANISHED` once QRESYNC is enabled).
    pub expunged_uids: Vec<u32>,
    /// New `* n EXISTS`, if the count changed.
    pub exists: Option<u32>,
    /// New `* n RECENT`, if new recent messages arrived (IMAP4rev1).
    pub recent: Option<u32>,
    /// `* n FETCH (FLAGS ...)` for these (sequence number, entry).
    pub flags: Vec<(u32, MessageEntry)>,
}

#[derive(Debug)]
pub struct View {
    /// UIDs in sequence order: sequence number `n` is at index `n - 1`.
    uids: UidList,
    /// `\Recent` UIDs for this session, sorted.
    recent: Vec<u32>,
    pending: Pending,
    /// The keyword table of the latest entries received.
    pub keywords: Arc<[String]>,
    /// The UIDs saved by `SEARCH RETURN (SAVE)`, for `$`.
    pub saved_search: Option<Vec<u32>>,
    /// Flag changes this session already reported itself (its own STORE), by UID: the
    /// mailbox's event for the same change must not be reported a second time.
    self_reported: BTreeMap<u32, Reported>,
    /// The highest MODSEQ of the mailbox's news this session has taken in. News arrives in
    /// commit order, so every change up to it has been heard of.
    heard: u64,
    /// Messages a command's answer showed as of a MODSEQ above `heard`: news of them up to
    /// that MODSEQ is still on its way and must not be sent after the newer state. Kept only
    /// until that news is heard (an answer's read and the news race to the session).
    shown_ahead: BTreeMap<u32, u64>,
}

impl View {
    /// A view of a snapshot: its `entries`, taken when the mailbox's changes had reached
    /// `highest_mod_seq` (news of later changes is still to come).
    pub fn new(
        entries: &[MessageEntry],
        highest_mod_seq: u64,
        recent: Vec<u32>,
        keywords: Arc<[String]>,
    ) -> View {
        let mut recent = recent;
        recent.sort_unstable();
        View {
            uids: UidList::from_sorted(entries.iter().map(|e| e.uid)),
            recent,
            pending: Pending::default(),
            keywords,
            saved_search: None,
            self_reported: BTreeMap::new(),
            heard: entries
                .iter()
                .map(|e| e.mod_seq)
                .max()
                .unwrap_or(0)
                .max(highest_mod_seq),
            shown_ahead: BTreeMap::new(),
        }
    }

    /// The highest MODSEQ whose news this view has taken in.
    pub fn heard(&self) -> u64 {
        self.heard
    }

    pub fn exists(&self) -> u32 {
        u32::try_from(self.uids.len()).unwrap_or(u32::MAX)
    }

    pub fn recent_count(&self) -> u32 {
        u32::try_from(self.recent.len()).unwrap_or(u32::MAX)
    }

    pub fn is_recent(&self, uid: u32) -> bool {
        self.recent.binary_search(&uid).is_ok()
    }

    pub fn uids(&self) -> &UidList {
        &self.uids
    }

    pub fn uid_of(&self, seq: u32) -> Option<u32> {
        self.uids.get(usize::try_from(seq).ok()?.checked_sub(1)?)
    }

    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids
            .position(uid)
            .and_then(|i| u32::try_from(i + 1).ok())
    }

    /// The highest UID in the view (what `*` means in a UID set), 0 when empty.
    pub fn max_uid(&self) -> u32 {
        self.uids.last().unwrap_or(0)
    }

    /// Resolves a message-sequence set to `(seq, uid)` pairs in ascending order. `$` is the
    /// saved search. Numbers beyond the view are ignored; RFC 9051 makes `n:*` with
    /// `n > *` mean `*:n`, which [`SeqRange::resolve`] handles. The ranges are merged first,
    /// so the work is bounded by the set's length plus the mailbox's, however the ranges
    /// overlap (`1:*,1:*,...`).
    pub fn resolve_seqs(&self, set: &SequenceSet) -> Vec<(u32, u32)> {
        match set {
            SequenceSet::Saved => self.saved_pairs(),
            SequenceSet::Ranges(ranges) => {
                let max = self.exists();
                if max == 0 {
                    return Vec::new();
                }
                merged(ranges, max)
                    .into_iter()
                    .flat_map(|(lo, hi)| lo.max(1)..=hi.min(max))
                    .filter_map(|s| Some((s, self.uid_of(s)?)))
                    .collect()
            }
        }
    }

    /// Resolves a UID set to `(seq, uid)` pairs of messages in the view. `*` is the highest
    /// UID in the view (so `n:*` always includes the last message, RFC 9051 section 6.4.8).
    pub fn resolve_uids(&self, set: &SequenceSet) -> Vec<(u32, u32)> {
        match set {
            SequenceSet::Saved => self.saved_pairs(),
            SequenceSet::Ranges(ranges) => {
                let mut out: Vec<(u32, u32)> = Vec::new();
                for (lo, hi) in merged(ranges, self.max_uid()) {
                    let start = self.uids.rank(lo);
                    let end = self.uids.rank(hi.saturating_add(1));
                    let end = if hi == u32::MAX { self.uids.len() } else { end };
                    for (i, uid) in (start..end).zip(self.uids.slice(start..end)) {
                        out.push((u32::try_from(i + 1).unwrap_or(u32::MAX), uid));
                    }
                }
                out
            }
        }
    }

    fn saved_pairs(&self) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = self
            .saved_search
            .iter()
            .flatten()
            .filter_map(|&uid| Some((self.seq_of(uid)?, uid)))
            .collect();
        out.sort_unstable();
        out
    }

    /// Queues messages another session (or this one) appended.
    pub fn queue_appended(
        &mut self,
        entries: &[MessageEntry],
        recent: &[u32],
        keywords: Arc<[String]>,
    ) {
        self.learn_keywords(keywords);
        for e in entries {
            if e.uid > self.max_uid() {
                self.pending.appended.insert(e.uid, *e);
            }
        }
        self.pending.recent.extend_from_slice(recent);
    }

    /// Takes a keyword table from news or an answer. Tables only grow (a keyword keeps its
    /// bit for good), and news and answers reach the session out of order: the longest
    /// table is the newest, and an older one would leave newer keywords without a name.
    pub fn learn_keywords(&mut self, keywords: Arc<[String]>) {
        if keywords.len() >= self.keywords.len() {
            self.keywords = keywords;
        }
    }

    /// Queues flag changes; older news for the same UID is replaced.
    pub fn queue_flags(&mut self, entries: &[MessageEntry], keywords: Arc<[String]>) {
        self.learn_keywords(keywords);
        for e in entries {
            let mut e = *e;
            if let Some(reported) = self.self_reported.get(&e.uid).copied() {
                if e.mod_seq == reported.mod_seq {
                    self.self_reported.remove(&e.uid);
                    continue;
                }
                if e.mod_seq < reported.mod_seq {
                    match reported.silent {
                        // Another change the client was not told of: tell it the message
                        // as the session's own commit left it.
                        Some(now) => e = now,
                        // The answer showed the message after this change already.
                        None => continue,
                    }
                } else {
                    // Newer news: the session's own change is behind it.
                    self.self_reported.remove(&e.uid);
                }
            }
            if let Some(&shown) = self.shown_ahead.get(&e.uid) {
                if e.mod_seq <= shown {
                    continue; // the client was shown a newer state already
                }
                self.shown_ahead.remove(&e.uid);
            }
            let e = &e;
            if let Some(pending) = self.pending.appended.get_mut(&e.uid) {
                *pending = *e; // not announced yet: it will be announced with these flags
                continue;
            }
            let newer = self
                .pending
                .flags
                .get(&e.uid)
                .is_none_or(|old| old.mod_seq < e.mod_seq);
            if newer && self.pending.flags.insert(e.uid, *e).is_some() {
                self.pending.merged.insert(e.uid);
            }
        }
    }

    /// The client was just shown `uid`'s flags as of `mod_seq` (a FETCH): older news of them
    /// need not be sent. Nothing is remembered for news still to come: sending it would only
    /// repeat what the client has (RFC 9051 allows that), and remembering would cost an entry
    /// per message fetched.
    pub fn shown_flags(&mut self, uid: u32, mod_seq: u64) {
        if mod_seq > self.heard {
            let shown = self.shown_ahead.entry(uid).or_default();
            *shown = (*shown).max(mod_seq);
        }
        if self
            .pending
            .flags
            .get(&uid)
            .is_some_and(|e| e.mod_seq <= mod_seq)
        {
            self.pending.flags.remove(&uid);
            self.pending.merged.remove(&uid);
        }
    }

    /// This session changed `uid`'s flags itself (its STORE), reaching `mod_seq`: the
    /// mailbox's news of that change must not be sent back to it, whether it arrived already
    /// or is still on its way (a `.SILENT` STORE asked not to hear of it). Called only for
    /// messages the STORE changed, so each entry is cleared when that news arrives.
    pub fn stored_flags(&mut self, uid: u32, mod_seq: u64) {
        let arrived = self
            .pending
            .flags
            .get(&uid)
            .is_some_and(|e| e.mod_seq == mod_seq);
        self.shown_flags(uid, mod_seq);
        if !arrived {
            let reported = Reported {
                mod_seq,
                silent: None,
            };
            self.self_reported.insert(uid, reported);
        }
    }

    /// A `.SILENT` STORE of this session changed the message, which the commit left as `now`;
    /// its own change has MODSEQ `own`. The client knows only its own change. When anything
    /// else may have changed the message since the client was last told (news of it is
    /// waiting, a later change is in `now`, or another STORE of the same commit changed it
    /// too: `contended`), the client is told the message as it is now, since a FETCH FLAGS
    /// replaces every flag the client holds. Otherwise the news of its own change is not sent
    /// back to it.
    pub fn stored_silently(&mut self, now: &MessageEntry, own: u64, contended: bool) {
        // News waiting that is not exactly the news of this session's own change.
        let other_news = self
            .pending
            .flags
            .get(&now.uid)
            .is_some_and(|e| e.mod_seq != own || self.pending.merged.contains(&now.uid));
        if other_news || contended || now.mod_seq != own {
            self.self_reported.remove(&now.uid);
            // News newer than the commit's answer holds the session's change too.
            let newer = self
                .pending
                .flags
                .get(&now.uid)
                .is_none_or(|waiting| waiting.mod_seq < now.mod_seq);
            if newer {
                self.pending.flags.insert(now.uid, *now);
            }
        } else if self.pending.flags.remove(&now.uid).is_none() {
            // Its own news is still on its way, and maybe older news of others with it.
            let reported = Reported {
                mod_seq: own,
                silent: Some(*now),
            };
            self.self_reported.insert(now.uid, reported);
        }
    }

    /// News up to `mod_seq` has been taken in (called after each change from the mailbox,
    /// never for a command's own answer).
    pub fn heard_up_to(&mut self, mod_seq: u64) {
        if mod_seq <= self.heard {
            return;
        }
        self.heard = mod_seq;
        if !self.shown_ahead.is_empty() {
            let heard = self.heard;
            self.shown_ahead.retain(|_, shown| *shown > heard);
        }
    }

    pub fn queue_expunged(&mut self, uids: &[u32]) {
        for &uid in uids {
            if self.pending.appended.remove(&uid).is_none() {
                self.pending.expunged.push(uid);
            }
            self.pending.flags.remove(&uid);
            self.pending.merged.remove(&uid);
        }
    }

    /// Takes the queued changes the client may be told now. With `expunges_allowed` false
    /// (during FETCH, STORE and SEARCH, RFC 9051 section 7.5.1), expunges stay queued.
    pub fn drain(&mut self, expunges_allowed: bool) -> Updates {
        let mut updates = Updates::default();
        if expunges_allowed {
            let mut uids = std::mem::take(&mut self.pending.expunged);
            uids.sort_unstable();
            uids.dedup();
            updates.expunged_uids = uids
                .iter()
                .copied()
                .filter(|&u| self.seq_of(u).is_some())
                .collect();
            updates.expunged_seqs = self.remove_uids(&updates.expunged_uids);
        }
        let appended = std::mem::take(&mut self.pending.appended);
        if !appended.is_empty() {
            let max = self.max_uid();
            self.uids
                .extend(appended.keys().copied().filter(|&u| u > max));
            updates.exists = Some(self.exists());
        }
        let fresh: Vec<u32> = std::mem::take(&mut self.pending.recent);
        if !fresh.is_empty() {
            self.recent
                .extend(fresh.into_iter().filter(|&u| self.uids.contains(u)));
            self.recent.sort_unstable();
            self.recent.dedup();
            updates.recent = Some(self.recent_count());
        } else if updates.exists.is_some() {
            updates.recent = Some(self.recent_count());
        }
        let flags = std::mem::take(&mut self.pending.flags);
        self.pending.merged.clear();
        for (uid, entry) in flags {
            // A message expunged but not yet reported keeps quiet about its flags.
            if let Some(seq) = self.seq_of(uid) {
                updates.flags.push((seq, entry));
            }
        }
        updates
    }

    /// Removes messages this session expunged itself, returning `* n EXPUNGE` numbers in the
    /// order to send them.
    pub fn expunge_now(&mut self, uids: &[u32]) -> Vec<u32> {
        let mut sorted: Vec<u32> = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for uid in &sorted {
            self.pending.flags.remove(uid);
            self.pending.merged.remove(uid);
        }
        self.remove_uids(&sorted)
    }

    /// Removes the messages of `sorted` (ascending UIDs) that are in the view, in one pass:
    /// O(n + k log n) for k of n messages. Returns their sequence numbers highest first, the
    /// order in which `* n EXPUNGE` responses keep every reported number valid.
    fn remove_uids(&mut self, sorted: &[u32]) -> Vec<u32> {
        let mut seqs: Vec<u32> = sorted.iter().filter_map(|&uid| self.seq_of(uid)).collect();
        if seqs.is_empty() {
            return seqs;
        }
        seqs.reverse();
        let gone = |uid: &u32| sorted.binary_search(uid).is_ok();
        self.uids.retain(|u| !gone(&u));
        self.recent.retain(|u| !gone(u));
        if let Some(saved) = &mut self.saved_search {
            saved.retain(|u| !gone(u));
        }
        for uid in sorted {
            self.self_reported.remove(uid);
        }
        seqs
    }
}

/// A set's ranges against `largest` (what `*` means), as sorted, disjoint, inclusive
/// `(low, high)` pairs.
pub(super) fn merged(ranges: &[roost_proto::SeqRange], largest: u32) -> Vec<(u32, u32)> {
    let mut resolved: Vec<(u32, u32)> = ranges.iter().map(|r| r.resolve(largest)).collect();
    resolved.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(resolved.len());
    for (lo, hi) in resolved {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BlobId, FlagSet};
    use roost_proto::{SeqBound, SeqRange};

    fn entry(uid: u32, mod_seq: u64) -> MessageEntry {
        MessageEntry {
            uid,
            mod_seq,
            flags: FlagSet::default(),
            internal_date: 0,
            size: 10,
            blob: BlobId(uid as u128),
            saved: 0,
        }
    }

    fn view(uids: &[u32]) -> View {
        let entries: Vec<_> = uids.iter().map(|&u| entry(u, 1)).collect();
        View::new(&entries, 0, vec![], Arc::from(Vec::<String>::new()))
    }

    fn set(ranges: &[(u32, Option<u32>)]) -> SequenceSet {
        SequenceSet::Ranges(
            ranges
                .iter()
                .map(|&(a, b)| SeqRange {
                    start: SeqBound::Value(a),
                    end: b.map_or(SeqBound::Star, SeqBound::Value),
                })
                .collect(),
        )
    }

    #[test]
    fn sequence_and_uid_sets_resolve_against_the_view() {
        let v = view(&[3, 5, 9, 12]);
        assert_eq!(v.resolve_seqs(&set(&[(2, Some(3))])), vec![(2, 5), (3, 9)]);
        assert_eq!(v.resolve_seqs(&set(&[(3, None)])), vec![(3, 9), (4, 12)]);
        // n:* with n beyond the last UID still names the last message (RFC 9051 6.4.8).
        assert_eq!(v.resolve_uids(&set(&[(100, None)])), vec![(4, 12)]);
        assert_eq!(v.resolve_uids(&set(&[(4, Some(9))])), vec![(2, 5), (3, 9)]);
        assert!(view(&[]).resolve_seqs(&set(&[(1, None)])).is_empty());
    }

    #[test]
    fn overlapping_ranges_cost_no_more_than_the_mailbox() {
        let v = view(&(1..=100_000).collect::<Vec<_>>());
        let many = set(&vec![(1, None); 16_000]);
        assert_eq!(v.resolve_seqs(&many).len(), 100_000);
        assert_eq!(v.resolve_uids(&many).len(), 100_000);
        let scattered = set(&[(5, Some(3)), (1, Some(2)), (4, Some(4)), (9, Some(9))]);
        assert_eq!(
            v.resolve_seqs(&scattered),
            vec![(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (9, 9)]
        );
    }

    #[test]
    fn expunging_half_of_a_large_view_reports_every_number_highest_first() {
        let mut v = view(&(1..=10_000).collect::<Vec<_>>());
        let odd: Vec<u32> = (1..=10_000).filter(|u| u % 2 == 1).collect();
        let seqs = v.expunge_now(&odd);
        assert_eq!(seqs.len(), 5_000);
        assert_eq!((seqs[0], seqs[4_999]), (9_999, 1));
        assert!(seqs.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(v.exists(), 5_000);
        assert_eq!(v.uid_of(1), Some(2));
    }

    #[test]
    fn expunges_wait_until_allowed_and_renumber_from_the_top() {
        let mut v = view(&[1, 2, 3, 4]);
        v.queue_expunged(&[2, 4]);
        assert!(v.drain(false).expunged_seqs.is_empty());
        assert_eq!(
            v.exists(),
            4,
            "sequence numbers unchanged while expunges are held back"
        );
        let u = v.drain(true);
        assert_eq!(u.expunged_seqs, vec![4, 2]);
        assert_eq!(v.uids().to_vec(), [1, 3]);
    }

    #[test]
    fn appended_then_expunged_before_announcement_is_never_announced() {
        let mut v = view(&[1]);
        v.queue_appended(&[entry(2, 2)], &[], Arc::from(Vec::<String>::new()));
        v.queue_expunged(&[2]);
        let u = v.drain(true);
        assert_eq!(u, Updates::default());
    }

    #[test]
    fn flags_news_keeps_the_newest_and_skips_what_was_reported() {
        let mut v = view(&[1, 2]);
        let kw: Arc<[String]> = Arc::from(Vec::<String>::new());
        v.queue_flags(&[entry(1, 5)], kw.clone());
        v.queue_flags(&[entry(1, 4)], kw.clone());
        v.queue_flags(&[entry(2, 6)], kw);
        v.stored_flags(2, 6);
        let u = v.drain(true);
        assert_eq!(u.flags, vec![(1, entry(1, 5))]);
    }

    #[test]
    fn fetched_and_unchanged_messages_leave_nothing_behind() {
        let mut v = view(&(1..=1000).collect::<Vec<_>>());
        let kw: Arc<[String]> = Arc::from(Vec::<String>::new());
        for uid in 1..=1000 {
            v.shown_flags(uid, 1); // FETCH 1:* (FLAGS), or a STORE that changed nothing
        }
        // The session's own change whose news arrived before its answer.
        v.queue_flags(&[entry(7, 9)], kw.clone());
        v.stored_flags(7, 9);
        assert!(v.self_reported.is_empty());
        assert_eq!(v.drain(true).flags, vec![]);
        // News still on its way is held back once, then forgotten.
        v.stored_flags(8, 10);
        v.queue_flags(&[entry(8, 10)], kw);
        assert!(v.self_reported.is_empty());
        assert_eq!(v.drain(true).flags, vec![]);
    }

    #[test]
    fn a_change_committed_beside_the_sessions_own_silent_store_is_still_told() {
        // This session's STORE gave UID 5 MODSEQ 10; another session's, in the same group
        // commit, gave it 11. The news carries the message as it is after both (11).
        let mut v = view(&[5]);
        let kw: Arc<[String]> = Arc::from(Vec::<String>::new());
        v.stored_flags(5, 10);
        v.queue_flags(&[entry(5, 11)], kw);
        assert_eq!(v.drain(true).flags, vec![(1, entry(5, 11))]);
        assert!(v.self_reported.is_empty());
    }

    #[test]
    fn a_silent_store_that_lands_on_other_news_tells_the_message_as_it_is_now() {
        let kw: Arc<[String]> = Arc::from(Vec::<String>::new());
        // Another session's change (MODSEQ 8) is waiting when this session's silent STORE
        // (MODSEQ 9) completes: the client is told the message as of 9, not the older 8,
        // which would take back its own change.
        let mut v = view(&[5]);
        v.queue_flags(&[entry(5, 8)], kw.clone());
        v.stored_silently(&entry(5, 9), 9, false);
        v.queue_flags(&[entry(5, 9)], kw.clone()); // the news of its own change
        assert_eq!(v.drain(true).flags, vec![(1, entry(5, 9))]);
        // Two STOREs in one commit (the other first): both news carry MODSEQ 9, so the
        // session cannot tell its own apart; it is told once, whenever the news arrives.
        let mut v = view(&[5]);
        v.stored_silently(&entry(5, 9), 9, true);
        v.queue_flags(&[entry(5, 9)], kw.clone());
        v.queue_flags(&[entry(5, 9)], kw.clone());
        assert_eq!(v.drain(true).flags, vec![(1, entry(5, 9))]);
        // Alone: the news of its own change is not sent back, whether it arrives before the
        // answer (as the mailbox sends it) or after.
        let mut v = view(&[5]);
        v.stored_silently(&entry(5, 9), 9, false);
        v.queue_flags(&[entry(5, 9)], kw.clone());
        assert_eq!(v.drain(true).flags, vec![]);
        let mut v = view(&[5]);
        v.queue_flags(&[entry(5, 9)], kw.clone());
        v.stored_silently(&entry(5, 9), 9, false);
        assert_eq!(v.drain(true).flags, vec![]);
        // Another session's older news still on its way when the answer came: the client is
        // told the message as the session's own commit left it (never the older state).
        let mut v = view(&[5]);
        v.stored_silently(&entry(5, 9), 9, false);
        v.queue_flags(&[entry(5, 8)], kw.clone());
        v.queue_flags(&[entry(5, 9)], kw.clone());
        assert_eq!(v.drain(true).flags, vec![(1, entry(5, 9))]);
        assert!(v.self_reported.is_empty());
        // Its own news arrived on top of another session's older news: still told.
        let mut v = view(&[5]);
        v.queue_flags(&[entry(5, 8)], kw.clone());
        v.queue_flags(&[entry(5, 9)], kw.clone());
        v.stored_silently(&entry(5, 9), 9, false);
        assert_eq!(v.drain(true).flags, vec![(1, entry(5, 9))]);
        // Its own news and then a later change of another session (MODSEQ 10) arrived
        // before the answer: the client is told the later state, which holds both changes,
        // not the state its own commit left (roost-bench check: a flag another session
        // added was never told).
        let mut v = view(&[5]);
        v.queue_flags(&[entry(5, 9)], kw.clone());
        v.queue_flags(&[entry(5, 10)], kw);
        v.stored_silently(&entry(5, 9), 9, false);
        assert_eq!(v.drain(true).flags, vec![(1, entry(5, 10))]);
    }

    #[test]
    fn news_older_than_what_an_answer_showed_is_not_sent_after_it() {
        let kw: Arc<[String]> = Arc::from(Vec::<String>::new());
        let mut v = view(&[5, 6]);
        // A FETCH answer showed UID 5 as of MODSEQ 9 while the news of 8 and 9 was on its way.
        v.shown_flags(5, 9);
        v.queue_flags(&[entry(5, 8), entry(6, 8)], kw.clone());
        v.heard_up_to(8);
        assert_eq!(v.drain(true).flags, vec![(2, entry(6, 8))]);
        v.queue_flags(&[entry(5, 9)], kw.clone());
        v.heard_up_to(9);
        assert!(v.shown_ahead.is_empty());
        assert_eq!(v.drain(true).flags, vec![]);
        // Later news is told as usual.
        v.queue_flags(&[entry(5, 10)], kw);
        v.heard_up_to(10);
        assert_eq!(v.drain(true).flags, vec![(1, entry(5, 10))]);
    }

    #[test]
    fn an_older_keyword_table_never_replaces_a_newer_one() {
        let mut v = view(&[5]);
        let newer: Arc<[String]> = Arc::from(vec!["$Work".to_owned(), "Junk".to_owned()]);
        let older: Arc<[String]> = Arc::from(vec!["$Work".to_owned()]);
        v.queue_flags(&[entry(5, 9)], newer.clone());
        v.learn_keywords(older); // a STORE answer read before Junk existed
        assert_eq!(v.keywords, newer);
    }

    #[test]
    fn new_messages_raise_exists_and_recent() {
        let mut v = view(&[1]);
        v.queue_appended(
            &[entry(2, 2), entry(3, 3)],
            &[3],
            Arc::from(Vec::<String>::new()),
        );
        let u = v.drain(true);
        assert_eq!((u.exists, u.recent), (Some(3), Some(1)));
        assert!(v.is_recent(3));
    }
}
