//! One mailbox's durable state: the records of its log, how they apply, and the plans
//! that turn APPEND, STORE and EXPUNGE requests into records.
//!
//! Records name flags by their text (`\Seen`, `$Forwarded`), not by keyword-table bit, so
//! a log stays readable without knowing the table it was written against; the table is
//! itself rebuilt by applying records in order. Plans only *read* the state: the actor
//! stages their records, which applies them through [`Durable::apply`], the same code
//! recovery replays, so the live state and the recovered state cannot drift apart.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use roost_proto::StoreAction;
use serde::{Deserialize, Serialize};

use super::journal::{self, Durable, RecoveryReport, Store, StoreError, StoreMetrics};
use super::quota::Usage;
use super::recovery;
use super::requests::{Outcome, RecentRequests, RequestKey};
use super::types::{BlobId, FlagSet, MessageEntry, PlanError};
use super::vanished::Vanished;
use super::writers::WriterEpochs;

/// The system flags a mailbox stores, with their bits. `\Recent` is not stored: it is a
/// per-session notion the actor computes.
pub const SYSTEM_FLAGS: [(&str, u64); 5] = [
    ("\\Answered", FlagSet::ANSWERED),
    ("\\Flagged", FlagSet::FLAGGED),
    ("\\Deleted", FlagSet::DELETED),
    ("\\Seen", FlagSet::SEEN),
    ("\\Draft", FlagSet::DRAFT),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxRecord {
    /// An append written before save dates were kept: the message's save date is its
    /// INTERNALDATE. (A newtype variant encodes exactly as the struct variant it replaced.)
    Append(Appended),
    /// New complete flag lists of the changed messages.
    Flags {
        mod_seq: u64,
        changes: Vec<(u32, Vec<String>)>,
    },
    /// Sorted UIDs.
    Expunge { mod_seq: u64, uids: Vec<u32> },
    /// An append with the time it was saved into this mailbox (RFC 8514 SAVEDATE).
    AppendSaved { message: Appended, saved: i64 },
    /// A write forwarded by another node under `key` (in the same transaction as the write's
    /// own records), and what it produced: a repeat of the key is answered with it.
    Request { key: RequestKey, outcome: Outcome },
    /// In a cluster, written before the first transaction of each owner (Mailbox actor) of
    /// the mailbox: the epoch of the lease it writes under. Along one log the epochs never
    /// go down; one that does means a former owner wrote after a newer one (two writers),
    /// which replay reports ([`WriterEpochs`], docs/clustering.md).
    Writer { epoch: u64 },
}

/// One message added by APPEND, COPY, MOVE or delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub uid: u32,
    pub mod_seq: u64,
    pub blob: BlobId,
    pub internal_date: i64,
    pub size: u32,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StoredState", from = "StoredState")]
pub struct MailboxState {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub highest_mod_seq: u64,
    /// Keyword `i` is bit `FlagSet::keyword_bit(i)`. Only grows: sessions hold copies of
    /// it, so an index must keep its meaning while the mailbox lives.
    pub keywords: Vec<String>,
    /// Sorted by UID.
    pub entries: Vec<MessageEntry>,
    /// Expunged UIDs with the MODSEQ of their expunge (QRESYNC's `VANISHED`).
    pub vanished: Vanished,
    /// The latest writes forwarded under a request key, and their outcomes.
    pub requests: RecentRequests,
    /// The owners' epochs seen in the log since the snapshot (not persisted).
    pub writers: WriterEpochs,
    /// What the log replayed at open expunged (not persisted).
    pub replayed: ReplayedExpunges,
}

/// The message files freed by the expunges a log replay met, collected only while the log is
/// replayed at open: an acknowledged expunge's files that a crash left behind (between the
/// commit and their removal) are removed by recovery, not listed again (issue 19). Not part
/// of the mailbox's content, like [`WriterEpochs`].
#[derive(Debug, Clone, Default)]
pub struct ReplayedExpunges {
    /// `None` outside a replay.
    pub freed: Option<Vec<BlobId>>,
}

impl PartialEq for ReplayedExpunges {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ReplayedExpunges {}

/// A snapshot's layout. Each version only adds fields at the end, so an older snapshot
/// fails to decode as a newer layout (it ends too soon) instead of decoding wrongly, and
/// [`Durable::from_older_snapshot`] reads it as the layout it was written in.
#[derive(Clone, Serialize, Deserialize)]
struct StoredState {
    head: StoredHead,
    entries: Vec<StoredEntry>,
    /// Since version 2.
    vanished: Vanished,
    /// Since version 3: the save date of each of `entries`.
    saved: Vec<i64>,
    /// Since version 4: the latest keyed writes.
    requests: RecentRequests,
}

/// The fields every snapshot version starts with. (A nested struct encodes as its fields in
/// line, so this grouping does not change the bytes.)
#[derive(Clone, Serialize, Deserialize)]
struct StoredHead {
    uid_validity: u32,
    uid_next: u32,
    highest_mod_seq: u64,
    keywords: Vec<String>,
}

/// A [`MessageEntry`] as snapshots store it: the save date is kept apart, at the end.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub(crate) struct StoredEntry {
    uid: u32,
    mod_seq: u64,
    flags: FlagSet,
    internal_date: i64,
    size: u32,
    blob: BlobId,
}

impl From<&MessageEntry> for StoredEntry {
    fn from(e: &MessageEntry) -> Self {
        StoredEntry {
            uid: e.uid,
            mod_seq: e.mod_seq,
            flags: e.flags,
            internal_date: e.internal_date,
            size: e.size,
            blob: e.blob,
        }
    }
}

impl StoredEntry {
    fn with_saved(self, saved: i64) -> MessageEntry {
        MessageEntry {
            uid: self.uid,
            mod_seq: self.mod_seq,
            flags: self.flags,
            internal_date: self.internal_date,
            size: self.size,
            blob: self.blob,
            saved,
        }
    }
}

impl From<MailboxState> for StoredState {
    fn from(state: MailboxState) -> Self {
        StoredState {
            head: StoredHead {
                uid_validity: state.uid_validity,
                uid_next: state.uid_next,
                highest_mod_seq: state.highest_mod_seq,
                keywords: state.keywords,
            },
            saved: state.entries.iter().map(|e| e.saved).collect(),
            entries: state.entries.iter().map(StoredEntry::from).collect(),
            vanished: state.vanished,
            requests: state.requests,
        }
    }
}

impl From<StoredState> for MailboxState {
    fn from(stored: StoredState) -> Self {
        // A save date missing for an entry (never written so) falls back to INTERNALDATE.
        let saved = stored
            .saved
            .iter()
            .copied()
            .map(Some)
            .chain(std::iter::repeat(None));
        let head = stored.head;
        MailboxState {
            uid_validity: head.uid_validity,
            uid_next: head.uid_next,
            highest_mod_seq: head.highest_mod_seq,
            keywords: head.keywords,
            entries: stored
                .entries
                .into_iter()
                .zip(saved)
                .map(|(e, saved)| e.with_saved(saved.unwrap_or(e.internal_date)))
                .collect(),
            vanished: stored.vanished,
            requests: stored.requests,
            writers: WriterEpochs::default(),
            replayed: ReplayedExpunges::default(),
        }
    }
}

/// Version 3 snapshots: no request keys.
#[derive(Deserialize)]
struct StoredStateV3 {
    head: StoredHead,
    entries: Vec<StoredEntry>,
    vanished: Vanished,
    saved: Vec<i64>,
}

impl From<StoredStateV3> for StoredState {
    fn from(v3: StoredStateV3) -> Self {
        StoredState {
            head: v3.head,
            entries: v3.entries,
            vanished: v3.vanished,
            saved: v3.saved,
            requests: RecentRequests::default(),
        }
    }
}

/// Version 2 snapshots: no save dates (messages take their INTERNALDATE).
#[derive(Deserialize)]
struct StoredStateV2 {
    head: StoredHead,
    entries: Vec<StoredEntry>,
    vanished: Vanished,
}

/// Version 1 snapshots: no expunge record either (the expunges before them are forgotten).
#[derive(Deserialize)]
struct StoredStateV1 {
    head: StoredHead,
    entries: Vec<StoredEntry>,
}

impl From<StoredStateV2> for StoredState {
    fn from(v2: StoredStateV2) -> Self {
        StoredState {
            head: v2.head,
            entries: v2.entries,
            vanished: v2.vanished,
            saved: Vec::new(),
            requests: RecentRequests::default(),
        }
    }
}

impl From<StoredStateV1> for StoredState {
    fn from(v1: StoredStateV1) -> Self {
        StoredState {
            vanished: Vanished::forgetting_up_to(v1.head.highest_mod_seq),
            head: v1.head,
            entries: v1.entries,
            saved: Vec::new(),
            requests: RecentRequests::default(),
        }
    }
}

/// Seconds since the Unix epoch now: the save date of what is appended now.
fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl MailboxState {
    /// What the mailbox holds, for quota (RFC 9208 STORAGE and MESSAGE).
    pub fn usage(&self) -> Usage {
        Usage::of_sizes(self.entries.iter().map(|e| e.size))
    }

    /// What the `\Deleted` messages hold (STATUS DELETED and DELETED-STORAGE).
    pub fn deleted_usage(&self) -> Usage {
        Usage::of_sizes(
            self.entries
                .iter()
                .filter(|e| e.flags.contains(FlagSet::DELETED))
                .map(|e| e.size),
        )
    }

    pub fn new(uid_validity: u32) -> Self {
        MailboxState {
            uid_validity,
            uid_next: 1,
            // MODSEQ values are positive (RFC 7162 section 3.1.1); changes start at 2.
            highest_mod_seq: 1,
            keywords: Vec::new(),
            entries: Vec::new(),
            vanished: Vanished::default(),
            requests: RecentRequests::default(),
            writers: WriterEpochs::default(),
            replayed: ReplayedExpunges::default(),
        }
    }

    pub fn find(&self, uid: u32) -> Option<&MessageEntry> {
        self.entries
            .binary_search_by_key(&uid, |e| e.uid)
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The UID of the message that uses each of `blobs`, if any.
    pub fn uids_of_blobs(&self, blobs: &[BlobId]) -> Vec<Option<u32>> {
        let mut found = vec![None; blobs.len()];
        let mut left = blobs.len();
        for entry in &self.entries {
            if left == 0 {
                break;
            }
            if let Some(i) = blobs.iter().position(|b| *b == entry.blob) {
                if found[i].is_none() {
                    found[i] = Some(entry.uid);
                    left -= 1;
                }
            }
        }
        found
    }

    /// Those of `blobs` that no message of the mailbox uses.
    pub fn unreferenced(&self, blobs: Vec<BlobId>) -> Vec<BlobId> {
        let mut unused: HashSet<BlobId> = blobs.into_iter().collect();
        for entry in &self.entries {
            if unused.is_empty() {
                break;
            }
            unused.remove(&entry.blob);
        }
        unused.into_iter().collect()
    }

    /// Flag names of `flags` against this mailbox's keyword table.
    #[cfg(test)]
    pub fn flag_names(&self, flags: FlagSet) -> Vec<String> {
        flag_names(&self.keywords, flags)
    }

    /// Bytes this state occupies in memory (entries dominate: 48 bytes each).
    #[cfg(test)]
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.entries.capacity() * std::mem::size_of::<MessageEntry>()
            + self.keywords.capacity() * std::mem::size_of::<String>()
            + self.keywords.iter().map(String::capacity).sum::<usize>()
    }

    /// Bits of `names`, adding unknown keywords to the table while there is room.
    fn bits_adding(&mut self, names: &[String]) -> FlagSet {
        let mut bits = 0;
        for name in names {
            if let Some(bit) = system_bit(name) {
                bits |= bit;
            } else if !name.starts_with('\\') {
                let index = keyword_index(&self.keywords, name).or_else(|| {
                    (self.keywords.len() < FlagSet::MAX_KEYWORDS).then(|| {
                        self.keywords.push(name.clone());
                        self.keywords.len() - 1
                    })
                });
                if let Some(i) = index {
                    bits |= FlagSet::keyword_bit(i);
                }
            }
        }
        FlagSet(bits)
    }

    fn bump(&mut self, mod_seq: u64) {
        self.highest_mod_seq = self.highest_mod_seq.max(mod_seq);
    }

    fn next_mod_seq(&self) -> u64 {
        self.highest_mod_seq + 1
    }
}

fn system_bit(name: &str) -> Option<u64> {
    SYSTEM_FLAGS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, bit)| bit)
}

/// Keywords compare case-insensitively; the table keeps the first spelling.
fn keyword_index(table: &[String], name: &str) -> Option<usize> {
    table.iter().position(|k| k.eq_ignore_ascii_case(name))
}

pub fn flag_names(keywords: &[String], flags: FlagSet) -> Vec<String> {
    let system = SYSTEM_FLAGS
        .iter()
        .filter(|(_, bit)| flags.contains(*bit))
        .map(|(name, _)| (*name).to_string());
    let keywords = keywords
        .iter()
        .enumerate()
        .filter(|(i, _)| flags.contains(FlagSet::keyword_bit(*i)))
        .map(|(_, k)| k.clone());
    system.chain(keywords).collect()
}

impl MailboxState {
    fn append(&mut self, message: &Appended, saved: i64) {
        // UIDs only grow; a record that says otherwise is ignored, not trusted.
        if message.uid < self.uid_next {
            return;
        }
        let flags = self.bits_adding(&message.flags);
        self.entries.push(MessageEntry {
            uid: message.uid,
            mod_seq: message.mod_seq,
            flags,
            internal_date: message.internal_date,
            size: message.size,
            blob: message.blob,
            saved,
        });
        self.uid_next = message.uid.saturating_add(1);
        self.bump(message.mod_seq);
    }
}

impl Durable for MailboxState {
    type Record = MailboxRecord;

    fn begin_replay(&mut self) {
        self.replayed.freed = Some(Vec::new());
    }

    fn from_older_snapshot(bytes: &[u8]) -> Option<(u64, Self)> {
        let older = journal::decode_snapshot_as::<StoredStateV3>(bytes)
            .map(|(g, s)| (g, StoredState::from(s)))
            .or_else(|| {
                journal::decode_snapshot_as::<StoredStateV2>(bytes)
                    .map(|(g, s)| (g, StoredState::from(s)))
            })
            .or_else(|| {
                journal::decode_snapshot_as::<StoredStateV1>(bytes)
                    .map(|(g, s)| (g, StoredState::from(s)))
            });
        older.map(|(g, s)| (g, s.into()))
    }

    fn apply(&mut self, record: &MailboxRecord) {
        match record {
            MailboxRecord::Append(message) => self.append(message, message.internal_date),
            MailboxRecord::AppendSaved { message, saved } => self.append(message, *saved),
            MailboxRecord::Flags { mod_seq, changes } => {
                for (uid, names) in changes {
                    let flags = self.bits_adding(names);
                    if let Ok(i) = self.entries.binary_search_by_key(uid, |e| e.uid) {
                        self.entries[i].flags = flags;
                        self.entries[i].mod_seq = *mod_seq;
                    }
                }
                self.bump(*mod_seq);
            }
            MailboxRecord::Expunge { mod_seq, uids } => {
                let mut sorted;
                let uids = if uids.is_sorted() {
                    uids
                } else {
                    sorted = uids.clone();
                    sorted.sort_unstable();
                    &sorted
                };
                if let Some(freed) = &mut self.replayed.freed {
                    freed.extend(
                        uids.iter()
                            .filter_map(|uid| {
                                self.entries.binary_search_by_key(uid, |e| e.uid).ok()
                            })
                            .map(|i| self.entries[i].blob),
                    );
                }
                let gone = remove_entries(&mut self.entries, uids);
                self.vanished.record(*mod_seq, &gone);
                self.bump(*mod_seq);
            }
            MailboxRecord::Request { key, outcome } => {
                self.requests.record(*key, outcome.clone());
            }
            MailboxRecord::Writer { epoch } => self.writers.saw(*epoch),
        }
    }
}

/// Removes the entries of `uids` (sorted) from `entries` (sorted by UID, as UIDs only
/// grow) and returns the UIDs that were there, in order. Each is found by binary search and
/// only the entries after the first one removed move: an expunge costs O(k log n) plus that
/// move, not a pass over every entry. Replaying a log of expunges (a new owner's first open
/// after a failover) did such a pass per record: seconds on a 50,000-message mailbox.
fn remove_entries(entries: &mut Vec<MessageEntry>, uids: &[u32]) -> Vec<u32> {
    let mut at: Vec<usize> = uids
        .iter()
        .filter_map(|uid| entries.binary_search_by_key(uid, |e| e.uid).ok())
        .collect();
    at.dedup();
    let gone: Vec<u32> = at.iter().map(|&i| entries[i].uid).collect();
    let Some(&first) = at.first() else {
        return gone;
    };
    let mut write = first;
    for (k, &i) in at.iter().enumerate() {
        let next = at.get(k + 1).copied().unwrap_or(entries.len());
        entries.copy_within(i + 1..next, write);
        write += next - i - 1;
    }
    entries.truncate(write);
    gone
}

/// A message to add (APPEND, or the destination side of COPY/MOVE).
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub blob: BlobId,
    pub size: u32,
    pub internal_date: i64,
    /// Canonical names: system flags as in [`SYSTEM_FLAGS`], keywords as atoms.
    pub flags: Vec<String>,
}

/// Keywords of `names` that `table` lacks, de-duplicated case-insensitively.
fn new_keywords<'a>(table: &[String], names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut added: Vec<String> = Vec::new();
    for name in names {
        if !name.starts_with('\\')
            && keyword_index(table, name).is_none()
            && keyword_index(&added, name).is_none()
        {
            added.push(name.clone());
        }
    }
    added
}

fn check_keyword_room(table: &[String], added: &[String]) -> Result<(), PlanError> {
    if table.len() + added.len() > FlagSet::MAX_KEYWORDS {
        return Err(PlanError::Limit(format!(
            "too many keywords in this mailbox (at most {})",
            FlagSet::MAX_KEYWORDS
        )));
    }
    Ok(())
}

/// What a STORE will do.
#[derive(Debug, Default)]
pub struct StorePlan {
    pub records: Vec<MailboxRecord>,
    /// Matched UIDs, changed or not (the reply reports them all).
    pub matched: Vec<u32>,
    /// UIDs whose flags change.
    pub changed: Vec<u32>,
    /// UIDs that failed UNCHANGEDSINCE.
    pub modified: Vec<u32>,
}

/// Which messages an EXPUNGE removes.
#[derive(Debug, Clone, Copy)]
pub enum ExpungeSelect<'a> {
    /// EXPUNGE, CLOSE: every `\Deleted` message.
    AllDeleted,
    /// UID EXPUNGE: those of the UIDs that are `\Deleted` (RFC 9051 section 6.4.9).
    DeletedAmong(&'a [u32]),
    /// The source side of MOVE: exactly these, whatever their flags.
    Exactly(&'a [u32]),
}

#[derive(Debug, Default)]
pub struct ExpungePlan {
    pub records: Vec<MailboxRecord>,
    pub uids: Vec<u32>,
    /// Blobs no remaining message references; delete once the record is durable.
    pub freed_blobs: Vec<BlobId>,
}

impl MailboxState {
    /// Assigns UIDs and one MODSEQ to the new messages.
    ///
    /// # Errors
    /// `Limit` when the keywords would overflow the table or the UIDs run out.
    pub fn plan_append(&self, items: Vec<NewEntry>) -> Result<Vec<MailboxRecord>, PlanError> {
        self.plan_append_from(items, self.uid_next)
    }

    fn plan_append_from(
        &self,
        items: Vec<NewEntry>,
        first_uid: u32,
    ) -> Result<Vec<MailboxRecord>, PlanError> {
        let added = new_keywords(&self.keywords, items.iter().flat_map(|i| &i.flags));
        check_keyword_room(&self.keywords, &added)?;
        let last = u64::from(first_uid) + items.len() as u64;
        if last > u64::from(u32::MAX) {
            return Err(PlanError::Limit("no UIDs left in this mailbox".into()));
        }
        let mod_seq = self.next_mod_seq();
        let saved = now_seconds();
        Ok(items
            .into_iter()
            .zip(first_uid..)
            .map(|(item, uid)| MailboxRecord::AppendSaved {
                message: Appended {
                    uid,
                    mod_seq,
                    blob: item.blob,
                    internal_date: item.internal_date,
                    size: item.size,
                    flags: item.flags,
                },
                saved,
            })
            .collect())
    }

    /// The destination side of COPY and MOVE: like [`Self::plan_append`], but keywords that
    /// do not fit the table any more are left off instead of refusing the whole copy (RFC
    /// 9051 section 6.4.7 says flags SHOULD be preserved; the messages themselves must be).
    ///
    /// # Errors
    /// `Limit` when the UIDs run out.
    pub fn plan_copy_in(&self, mut items: Vec<NewEntry>) -> Result<Vec<MailboxRecord>, PlanError> {
        self.drop_keywords_without_room(&mut items);
        self.plan_append(items)
    }

    /// Recovery re-adding message files the damaged journal no longer lists (see
    /// `store::recovery`): like [`Self::plan_copy_in`], but the UIDs start `items.len()`
    /// above UIDNEXT. The lost records may have given up to that many UIDs (one per file
    /// they appended) that clients saw; skipping them keeps a UID from naming two messages.
    ///
    /// # Errors
    /// `Limit` when the UIDs run out.
    pub fn plan_recovered(
        &self,
        mut items: Vec<NewEntry>,
    ) -> Result<Vec<MailboxRecord>, PlanError> {
        self.drop_keywords_without_room(&mut items);
        let skip = u32::try_from(items.len()).unwrap_or(u32::MAX);
        self.plan_append_from(items, self.uid_next.saturating_add(skip))
    }

    fn drop_keywords_without_room(&self, items: &mut [NewEntry]) {
        let added = new_keywords(&self.keywords, items.iter().flat_map(|i| &i.flags));
        let room = FlagSet::MAX_KEYWORDS.saturating_sub(self.keywords.len());
        if added.len() > room {
            let dropped = &added[room..];
            for item in items {
                item.flags.retain(|f| keyword_index(dropped, f).is_none());
            }
        }
    }

    /// STORE (RFC 9051 section 6.4.6) with UNCHANGEDSINCE (RFC 7162 section 3.1.3):
    /// messages whose MODSEQ is above it are reported as modified and left alone. All
    /// changed messages share one new MODSEQ.
    ///
    /// # Errors
    /// `Limit` when new keywords do not fit the table.
    pub fn plan_store(
        &self,
        uids: &[u32],
        action: StoreAction,
        names: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<StorePlan, PlanError> {
        let added = match action {
            StoreAction::Remove => Vec::new(),
            StoreAction::Add | StoreAction::Replace => new_keywords(&self.keywords, names),
        };
        check_keyword_room(&self.keywords, &added)?;
        let mut table = self.keywords.clone();
        table.extend(added);
        let bits = names.iter().fold(0u64, |acc, name| {
            acc | system_bit(name)
                .or_else(|| keyword_index(&table, name).map(FlagSet::keyword_bit))
                .unwrap_or(0)
        });
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        uids.dedup();
        let mut plan = StorePlan::default();
        let mut changes = Vec::new();
        for entry in uids.iter().filter_map(|&uid| self.find(uid)) {
            if unchanged_since.is_some_and(|since| entry.mod_seq > since) {
                plan.modified.push(entry.uid);
                continue;
            }
            let old = entry.flags.0;
            let new = match action {
                StoreAction::Replace => bits,
                StoreAction::Add => old | bits,
                StoreAction::Remove => old & !bits,
            };
            plan.matched.push(entry.uid);
            if new != old {
                plan.changed.push(entry.uid);
                changes.push((entry.uid, flag_names(&table, FlagSet(new))));
            }
        }
        if !changes.is_empty() {
            plan.records.push(MailboxRecord::Flags {
                mod_seq: self.next_mod_seq(),
                changes,
            });
        }
        Ok(plan)
    }

    pub fn plan_expunge(&self, select: ExpungeSelect<'_>) -> ExpungePlan {
        let deleted = |e: &&MessageEntry| e.flags.contains(FlagSet::DELETED);
        let doomed: Vec<&MessageEntry> = match select {
            ExpungeSelect::AllDeleted => self.entries.iter().filter(deleted).collect(),
            ExpungeSelect::DeletedAmong(uids) => {
                self.lookup(uids).into_iter().filter(deleted).collect()
            }
            ExpungeSelect::Exactly(uids) => self.lookup(uids),
        };
        if doomed.is_empty() {
            return ExpungePlan::default();
        }
        let uids: Vec<u32> = doomed.iter().map(|e| e.uid).collect();
        // A blob may be shared by several messages of this mailbox (COPY into itself).
        let mut freed: HashSet<BlobId> = doomed.iter().map(|e| e.blob).collect();
        for entry in &self.entries {
            if uids.binary_search(&entry.uid).is_err() {
                freed.remove(&entry.blob);
            }
        }
        ExpungePlan {
            records: vec![MailboxRecord::Expunge {
                mod_seq: self.next_mod_seq(),
                uids: uids.clone(),
            }],
            uids,
            freed_blobs: freed.into_iter().collect(),
        }
    }

    /// Existing entries of `uids`, in UID order, without duplicates.
    pub fn lookup(&self, uids: &[u32]) -> Vec<&MessageEntry> {
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        uids.dedup();
        uids.iter().filter_map(|&uid| self.find(uid)).collect()
    }
}

/// What the mailbox in `dir` holds, read without opening it for writing (see
/// [`Store::read_only`]). Blocking.
///
/// # Errors
/// As [`Store::read_only`].
pub fn read_usage(dir: &Path) -> Result<Usage, StoreError> {
    Ok(Store::read_only(dir, MailboxState::new(0))?.usage())
}

/// Opens a mailbox's store and makes it agree with the files on disk (see
/// [`recovery::reconcile_mailbox`]): nothing is deleted but temporary files, and nothing
/// changes unless `how.may_change` allows (the account's fence, issue 19 finding 1).
/// Blocking.
///
/// # Errors
/// As [`Store::open`], plus I/O errors reconciling.
pub fn open_mailbox(
    dir: &Path,
    uid_validity: u32,
    compact_after: u64,
    metrics: Arc<StoreMetrics>,
    how: &recovery::Reconcile<'_>,
) -> Result<(Store<MailboxState>, RecoveryReport), StoreError> {
    let (mut store, mut report) = Store::open_while(
        dir,
        MailboxState::new(uid_validity),
        compact_after,
        metrics,
        how.may_change,
    )?;
    recovery::reconcile_mailbox(&mut store, dir, &mut report, how)?;
    store.count_recovery(&report);
    // The account is authoritative for UIDVALIDITY (it changes when INBOX is renamed).
    let state = store.state_mut_unlogged();
    state.uid_validity = uid_validity;
    // Replay grew the vector by doubling; an open mailbox should cost 48 bytes a message.
    state.entries.shrink_to_fit();
    Ok((store, report))
}
