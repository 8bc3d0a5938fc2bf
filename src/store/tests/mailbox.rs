//! Mailbox state: append, flags, expunge, recovery, orphan blobs, hard-link copies, size.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use roost_proto::StoreAction;

use crate::store::blobs::{self, BlobWrite};
use crate::store::journal::RecoveryReport;
use crate::store::mailbox::{open_mailbox, ExpungeSelect, MailboxState, NewEntry, StoredEntry};
use crate::store::recovery::Reconcile;
use crate::store::{BlobId, FlagSet, PlanError, Store, StoreMetrics};

fn open(dir: &Path) -> Store<MailboxState> {
    open_with(dir, 1000, &|| true).0
}

/// A `.meta` stand-in: the message size.
pub(super) fn stub_meta(raw: &bytes::Bytes) -> Vec<u8> {
    raw.len().to_le_bytes().to_vec()
}

pub(super) fn open_with(
    dir: &Path,
    compact_after: u64,
    may_change: &dyn Fn() -> bool,
) -> (Store<MailboxState>, RecoveryReport) {
    let how = Reconcile {
        may_change,
        parse_meta: &stub_meta,
        drop_missing: false,
    };
    open_mailbox(
        dir,
        77,
        compact_after,
        Arc::new(StoreMetrics::default()),
        &how,
    )
    .unwrap()
}

fn entry(blob: u128, flags: &[&str]) -> NewEntry {
    NewEntry {
        blob: BlobId(blob),
        size: 100,
        internal_date: 1_700_000_000,
        flags: flags.iter().map(|f| f.to_string()).collect(),
    }
}

fn append(store: &mut Store<MailboxState>, items: Vec<NewEntry>) {
    let records = store.state().plan_append(items).unwrap();
    store.stage(records).unwrap();
    store.commit().unwrap();
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn append_assigns_uids_and_modseq_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    append(
        &mut store,
        vec![entry(1, &["\\Seen"]), entry(2, &["$Forwarded"])],
    );
    append(&mut store, vec![entry(3, &["$forwarded", "Work"])]);
    let state = store.state().clone();
    assert_eq!(state.uid_next, 4);
    assert_eq!(state.highest_mod_seq, 3);
    assert_eq!(state.keywords, ["$Forwarded", "Work"]);
    assert_eq!(state.entries[0].flags, FlagSet(FlagSet::SEEN));
    assert_eq!(state.entries[1].mod_seq, 2);
    assert_eq!(
        state.flag_names(state.entries[2].flags),
        ["$Forwarded", "Work"]
    );
    drop(store);
    assert_eq!(open(dir.path()).state(), &state);
}

#[test]
fn store_flags_add_remove_replace_and_unchangedsince() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    append(
        &mut store,
        vec![entry(1, &[]), entry(2, &[]), entry(3, &["\\Seen"])],
    );
    let plan = store
        .state()
        .plan_store(&[1, 2, 3, 9], StoreAction::Add, &names(&["\\Seen"]), None)
        .unwrap();
    assert_eq!(plan.matched, [1, 2, 3]);
    assert_eq!(plan.changed, [1, 2]);
    store.stage(plan.records).unwrap();
    store.commit().unwrap();
    assert_eq!(store.state().find(1).unwrap().mod_seq, 3);
    assert_eq!(store.state().find(3).unwrap().mod_seq, 2);

    // UNCHANGEDSINCE 2: messages 1 and 2 (MODSEQ 3) fail, 3 passes.
    let plan = store
        .state()
        .plan_store(
            &[1, 2, 3],
            StoreAction::Replace,
            &names(&["\\Flagged"]),
            Some(2),
        )
        .unwrap();
    assert_eq!(plan.modified, [1, 2]);
    assert_eq!(plan.changed, [3]);
    store.stage(plan.records).unwrap();
    let plan = store
        .state()
        .plan_store(&[1], StoreAction::Remove, &names(&["\\Seen", "Nope"]), None)
        .unwrap();
    store.stage(plan.records).unwrap();
    store.commit().unwrap();
    let state = store.state().clone();
    assert_eq!(state.find(3).unwrap().flags, FlagSet(FlagSet::FLAGGED));
    assert_eq!(state.find(1).unwrap().flags, FlagSet(0));
    assert_eq!(state.highest_mod_seq, 5);
    assert!(
        state.keywords.is_empty(),
        "removing an unknown keyword adds nothing"
    );
    drop(store);
    assert_eq!(open(dir.path()).state(), &state);
}

#[test]
fn keywords_beyond_the_table_are_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let many: Vec<String> = (0..FlagSet::MAX_KEYWORDS)
        .map(|i| format!("k{i}"))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    append(&mut store, vec![entry(1, &refs)]);
    assert_eq!(store.state().keywords.len(), FlagSet::MAX_KEYWORDS);
    let err = store
        .state()
        .plan_store(&[1], StoreAction::Add, &names(&["one-more"]), None)
        .unwrap_err();
    assert!(matches!(err, PlanError::Limit(_)));
    assert!(matches!(
        store.state().plan_append(vec![entry(2, &["one-more"])]),
        Err(PlanError::Limit(_))
    ));
    // Known keywords (any case) still work.
    assert!(store.state().plan_append(vec![entry(2, &["K3"])]).is_ok());
}

#[test]
fn expunge_variants_and_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    append(
        &mut store,
        (1..=5)
            .map(|i| entry(i, if i % 2 == 1 { &["\\Deleted"] } else { &[] }))
            .collect(),
    );
    // UID EXPUNGE 1:2 → only 1 (2 is not \Deleted).
    let plan = store
        .state()
        .plan_expunge(ExpungeSelect::DeletedAmong(&[1, 2]));
    assert_eq!(plan.uids, [1]);
    assert_eq!(plan.freed_blobs, [BlobId(1)]);
    store.stage(plan.records).unwrap();
    let plan = store.state().plan_expunge(ExpungeSelect::AllDeleted);
    assert_eq!(plan.uids, [3, 5]);
    store.stage(plan.records).unwrap();
    let plan = store.state().plan_expunge(ExpungeSelect::Exactly(&[4, 40]));
    assert_eq!(plan.uids, [4]);
    store.stage(plan.records).unwrap();
    assert!(store
        .state()
        .plan_expunge(ExpungeSelect::AllDeleted)
        .records
        .is_empty());
    store.commit().unwrap();
    let state = store.state().clone();
    assert_eq!(state.entries.iter().map(|e| e.uid).collect::<Vec<_>>(), [2]);
    assert_eq!(state.uid_next, 6);
    drop(store);
    assert_eq!(open(dir.path()).state(), &state);
}

#[test]
fn a_blob_shared_inside_one_mailbox_is_freed_only_with_its_last_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    append(&mut store, vec![entry(7, &["\\Deleted"]), entry(7, &[])]);
    let plan = store.state().plan_expunge(ExpungeSelect::AllDeleted);
    assert_eq!(plan.uids, [1]);
    assert!(plan.freed_blobs.is_empty());
}

fn write_blob(dir: &Path, id: u128, data: &[u8]) {
    blobs::write_blobs(
        dir,
        &[BlobWrite {
            id: BlobId(id),
            data,
            meta: b"meta",
        }],
        &|| true,
    )
    .unwrap();
}

/// Issue 19, finding 1: files another owner may have written are left alone when the fence
/// says this node may no longer delete.
#[test]
fn recovery_deletes_nothing_when_the_fence_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    append(&mut store, vec![entry(1, &[])]);
    drop(store);
    write_blob(dir.path(), 2, b"written by the new owner");
    let (_, report) = open_with(dir.path(), 1000, &|| false);
    assert!(report.removed.is_empty(), "{report}");
    assert!(blobs::blob_path(dir.path(), BlobId(2)).exists());
}

/// A crash between an expunge's commit and the removal of its files: the next open removes
/// them (while the fence allows) instead of listing the expunged messages again.
#[test]
fn files_an_acknowledged_expunge_left_behind_are_removed_not_listed_again() {
    let dir = tempfile::tempdir().unwrap();
    // Compacting after every commit but the last: one expunge is in the snapshot, one in
    // the log; only the logged one can be told apart from lost mail.
    let (mut store, _) = open_with(dir.path(), 2, &|| true);
    for id in 1..=4 {
        write_blob(dir.path(), id, b"message");
    }
    append(
        &mut store,
        (1..=4).map(|i| entry(i, &["\\Deleted"])).collect(),
    );
    let plan = store.state().plan_expunge(ExpungeSelect::Exactly(&[1]));
    store.stage(plan.records).unwrap();
    store.commit().unwrap();
    let plan = store.state().plan_expunge(ExpungeSelect::Exactly(&[2, 3]));
    store.stage(plan.records).unwrap();
    store.commit().unwrap();
    drop(store);
    // The fence refuses: nothing is removed, nothing listed.
    let (store, report) = open_with(dir.path(), 1000, &|| false);
    assert!(report.removed.is_empty(), "{report}");
    assert_eq!(store.state().entries.len(), 1);
    drop(store);
    assert!(blobs::blob_path(dir.path(), BlobId(2)).exists());
    let (store, report) = open_with(dir.path(), 1000, &|| true);
    let kept: Vec<u128> = store.state().entries.iter().map(|e| e.blob.0).collect();
    assert_eq!(kept, [4, 1], "{report}");
    assert_eq!(report.relisted, 1, "{report}");
    assert_eq!(report.removed.len(), 2, "{report}");
    for id in [2, 3] {
        assert!(!blobs::blob_path(dir.path(), BlobId(id)).exists());
        assert!(!blobs::meta_path(dir.path(), BlobId(id)).exists());
    }
}

#[test]
fn recovery_relists_unlisted_blobs_quarantines_strays_and_removes_only_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    write_blob(dir.path(), 1, b"kept");
    append(&mut store, vec![entry(1, &[])]);
    // A blob whose record is lost (or never became durable): listed again, not deleted.
    write_blob(dir.path(), 2, b"unlisted");
    // One without its .meta too: the metadata is rebuilt from the octets.
    write_blob(dir.path(), 3, b"no meta");
    fs::remove_file(blobs::meta_path(dir.path(), BlobId(3))).unwrap();
    // A .meta whose message is gone, and a name Roost never writes: quarantined.
    fs::write(blobs::meta_path(dir.path(), BlobId(4)), b"meta").unwrap();
    fs::write(blobs::blobs_dir(dir.path()).join("notes.txt"), b"?").unwrap();
    fs::write(blobs::blobs_dir(dir.path()).join(".tmp.0000"), b"half").unwrap();
    // A directory with a message's name: not a message, quarantined too.
    fs::create_dir(blobs::blob_path(dir.path(), BlobId(5))).unwrap();
    drop(store);
    let (store, report) = open_with(dir.path(), 1000, &|| true);
    assert_eq!(report.removed.len(), 1, "{report}");
    assert_eq!(report.relisted, 2, "{report}");
    assert_eq!(report.quarantined.len(), 3, "{report}");
    let state = store.state();
    assert_eq!(state.entries.len(), 3);
    // New UIDs skip as many as were re-added: lost records may have handed those out.
    let readded: Vec<(u32, u128)> = state.entries[1..]
        .iter()
        .map(|e| (e.uid, e.blob.0))
        .collect();
    assert!(readded.iter().all(|&(uid, _)| uid >= 4), "{readded:?}");
    assert_eq!(state.flag_names(state.entries[1].flags), ["$Recovered"]);
    assert_eq!(
        state
            .entries
            .iter()
            .find(|e| e.blob == BlobId(3))
            .unwrap()
            .size,
        7
    );
    assert_eq!(
        fs::read(blobs::meta_path(dir.path(), BlobId(3))).unwrap(),
        stub_meta(&bytes::Bytes::from_static(b"no meta"))
    );
    assert!(blobs::quarantine_dir(dir.path()).join("notes.txt").exists());
    drop(store);
    let (store, report) = open_with(dir.path(), 1000, &|| true);
    assert!(report.is_clean(), "{report}");
    assert_eq!(store.state().entries.len(), 3);
}

#[test]
fn copy_hard_links_blobs_and_each_mailbox_removes_only_its_own_link() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    write_blob(&a, 5, b"message");
    let present = blobs::link_blobs(&a, &b, &[BlobId(5), BlobId(6)]).unwrap();
    assert_eq!(present, [true, false], "a missing source is skipped");
    // Linking again (the same blob copied twice) is fine.
    assert_eq!(blobs::link_blobs(&a, &b, &[BlobId(5)]).unwrap(), [true]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(blobs::blob_path(&b, BlobId(5))).unwrap();
        assert_eq!(meta.nlink(), 2);
    }
    blobs::remove_blobs(&a, &[BlobId(5)]).unwrap();
    assert_eq!(
        fs::read(blobs::blob_path(&b, BlobId(5))).unwrap(),
        b"message"
    );
    assert_eq!(fs::read(blobs::meta_path(&b, BlobId(5))).unwrap(), b"meta");
}

#[test]
fn a_hundred_thousand_messages_cost_under_100_bytes_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    for chunk in 0..100u128 {
        let items = (0..1000)
            .map(|i| entry(chunk * 1000 + i, &["\\Seen", "$Label1"]))
            .collect();
        let records = store.state().plan_append(items).unwrap();
        store.stage(records).unwrap();
    }
    store.commit().unwrap();
    drop(store);
    let store = open(dir.path());
    let state = store.state();
    assert_eq!(state.entries.len(), 100_000);
    let per_message = state.memory_bytes() as f64 / 100_000.0;
    println!("100,000-message mailbox: {per_message:.2} bytes/message in memory");
    assert_eq!(std::mem::size_of::<crate::store::MessageEntry>(), 56);
    assert!(per_message < 58.0, "{per_message}");
    let live: HashSet<BlobId> = state.entries.iter().map(|e| e.blob).collect();
    assert_eq!(live.len(), 100_000);
}

#[test]
fn copies_into_a_full_keyword_table_leave_off_the_keywords_that_do_not_fit() {
    use crate::store::journal::Durable;
    use crate::store::mailbox::{MailboxState, NewEntry};
    let mut state = MailboxState::new(1);
    let full: Vec<String> = (0..FlagSet::MAX_KEYWORDS)
        .map(|i| format!("k{i}"))
        .collect();
    let first = NewEntry {
        blob: BlobId(1),
        size: 1,
        internal_date: 0,
        flags: full.clone(),
    };
    for record in state.plan_append(vec![first]).unwrap() {
        state.apply(&record);
    }
    let copy = NewEntry {
        blob: BlobId(2),
        size: 1,
        internal_date: 0,
        flags: vec!["\\Seen".into(), "k3".into(), "extra".into()],
    };
    assert!(
        state.plan_append(vec![copy.clone()]).is_err(),
        "APPEND is refused"
    );
    for record in state.plan_copy_in(vec![copy]).unwrap() {
        state.apply(&record);
    }
    assert_eq!(state.flag_names(state.entries[1].flags), ["\\Seen", "k3"]);
}

#[test]
fn expunged_uids_keep_their_modseq_through_compaction_and_reopen() {
    use crate::store::vanished::Since;
    let dir = tempfile::tempdir().unwrap();
    // Compacts after every transaction: the record must live in the snapshot.
    let open_compacting = |dir: &Path| open_with(dir, 1, &|| true).0;
    let mut store = open_compacting(dir.path());
    append(
        &mut store,
        (1..=6).map(|i| entry(i, &["\\Deleted"])).collect(),
    );
    let before = store.state().highest_mod_seq;
    for uids in [&[2u32, 3][..], &[5]] {
        let plan = store.state().plan_expunge(ExpungeSelect::Exactly(uids));
        store.stage(plan.records).unwrap();
        store.commit().unwrap();
    }
    let after_first = before + 1;
    drop(store);
    let store = open_compacting(dir.path());
    assert!(fs::read_dir(dir.path())
        .unwrap()
        .any(|e| e.unwrap().file_name() == "snapshot"));
    let vanished = &store.state().vanished;
    assert_eq!(vanished.since(before), Since::Exactly(vec![(2, 3), (5, 5)]));
    assert_eq!(vanished.since(after_first), Since::Exactly(vec![(5, 5)]));
}

/// The entries of `state` as snapshots of versions 1 and 2 stored them (no save date).
fn old_entries(state: &MailboxState) -> Vec<StoredEntry> {
    state.entries.iter().map(StoredEntry::from).collect()
}

/// Replaces the store in `dir` by a snapshot of `state` in an older layout and an empty log.
pub(super) fn write_old_snapshot(dir: &Path, state: impl serde::Serialize) {
    #[derive(serde::Serialize)]
    struct File<T> {
        generation: u64,
        state: T,
    }
    let mut bytes = Vec::new();
    crate::store::log::encode(
        &File {
            generation: 0,
            state,
        },
        &mut bytes,
    )
    .unwrap();
    fs::write(dir.join("snapshot"), bytes).unwrap();
    fs::write(dir.join("log.0"), b"").unwrap();
}

/// The state of a new store in `dir` after appending `items` (the store is closed again).
fn state_after(dir: &Path, items: Vec<NewEntry>) -> MailboxState {
    let mut store = open(dir);
    append(&mut store, items);
    store.state().clone()
}

/// The entries of `state` with the save date older versions imply: the INTERNALDATE.
fn saved_at_internal_date(state: &MailboxState) -> Vec<crate::store::MessageEntry> {
    let mut entries = state.entries.clone();
    for e in &mut entries {
        e.saved = e.internal_date;
    }
    entries
}

#[test]
fn a_snapshot_from_before_the_expunge_record_loads_with_older_expunges_forgotten() {
    use crate::store::vanished::Since;
    #[derive(serde::Serialize)]
    struct V1 {
        uid_validity: u32,
        uid_next: u32,
        highest_mod_seq: u64,
        keywords: Vec<String>,
        entries: Vec<StoredEntry>,
    }
    let dir = tempfile::tempdir().unwrap();
    let now = state_after(dir.path(), vec![entry(1, &[]), entry(2, &["\\Seen"])]);
    write_old_snapshot(
        dir.path(),
        V1 {
            uid_validity: now.uid_validity,
            uid_next: now.uid_next,
            highest_mod_seq: now.highest_mod_seq,
            keywords: now.keywords.clone(),
            entries: old_entries(&now),
        },
    );
    let store = open(dir.path());
    assert_eq!(store.state().entries, saved_at_internal_date(&now));
    assert_eq!(
        store.state().vanished.since(now.highest_mod_seq - 1),
        Since::AllMissing
    );
    assert_eq!(
        store.state().vanished.since(now.highest_mod_seq),
        Since::Exactly(vec![])
    );
}

#[test]
fn a_snapshot_from_before_save_dates_loads_with_internaldate_as_save_date() {
    #[derive(serde::Serialize)]
    struct V2 {
        uid_validity: u32,
        uid_next: u32,
        highest_mod_seq: u64,
        keywords: Vec<String>,
        entries: Vec<StoredEntry>,
        vanished: crate::store::vanished::Vanished,
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    append(
        &mut store,
        vec![entry(1, &[]), entry(2, &["$Work"]), entry(3, &[])],
    );
    let now = store.state().clone();
    drop(store);
    write_old_snapshot(
        dir.path(),
        V2 {
            uid_validity: now.uid_validity,
            uid_next: now.uid_next,
            highest_mod_seq: now.highest_mod_seq,
            keywords: now.keywords.clone(),
            entries: old_entries(&now),
            vanished: now.vanished.clone(),
        },
    );
    let store = open(dir.path());
    assert_eq!(store.state().entries, saved_at_internal_date(&now));
    assert_eq!(store.state().vanished, now.vanished);
}

/// RFC 8514 section 3: the save date is when the message came into this mailbox (not its
/// INTERNALDATE), and it stays the same through log replay and compaction.
#[test]
fn the_save_date_is_the_append_time_and_survives_replay_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut store = open(dir.path());
    append(&mut store, vec![entry(1, &[]), entry(2, &[])]);
    let saved: Vec<i64> = store.state().entries.iter().map(|e| e.saved).collect();
    assert!(
        saved.iter().all(|&s| s >= before && s <= before + 60),
        "{saved:?}"
    );
    assert!(store
        .state()
        .entries
        .iter()
        .all(|e| e.internal_date == 1_700_000_000));
    drop(store);
    let replayed = open(dir.path());
    assert_eq!(
        replayed
            .state()
            .entries
            .iter()
            .map(|e| e.saved)
            .collect::<Vec<_>>(),
        saved
    );
    drop(replayed);
    // compact_after 1: every commit writes a snapshot.
    let (mut store, _) = open_with(dir.path(), 1, &|| true);
    append(&mut store, vec![entry(3, &[])]);
    append(&mut store, vec![entry(4, &[])]);
    drop(store);
    let compacted = open(dir.path());
    let now: Vec<i64> = compacted.state().entries.iter().map(|e| e.saved).collect();
    assert_eq!(&now[..2], &saved[..]);
    assert_eq!(now.len(), 4);
}

/// Logs written before save dates hold `Append` records; they replay with INTERNALDATE as
/// the save date, beside newer records in the same log.
#[test]
fn an_append_record_from_before_save_dates_replays() {
    use crate::store::mailbox::{Appended, MailboxRecord};
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store
        .stage(vec![MailboxRecord::Append(Appended {
            uid: 1,
            mod_seq: 2,
            blob: BlobId(1),
            internal_date: 1_600_000_000,
            size: 10,
            flags: vec![],
        })])
        .unwrap();
    store.commit().unwrap();
    append(&mut store, vec![entry(2, &[])]);
    drop(store);
    let store = open(dir.path());
    let entries = &store.state().entries;
    assert_eq!(entries[0].saved, 1_600_000_000);
    assert!(entries[1].saved > 1_700_000_000);
}

/// Issue 19 finding 5: the key of a forwarded write is logged with it and kept through log
/// replay and compaction, so any later owner can answer a repeat of it.
#[test]
fn request_keys_survive_replay_and_compaction() {
    use crate::store::mailbox::MailboxRecord;
    use crate::store::requests::{Outcome, RequestKey};
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open_with(dir.path(), 3, &|| true);
    for n in 1..=5u32 {
        let mut records = store
            .state()
            .plan_append(vec![entry(u128::from(n), &[])])
            .unwrap();
        records.push(MailboxRecord::Request {
            key: RequestKey(u128::from(n) << 64),
            outcome: Outcome::appended(&[n]),
        });
        store.stage(records).unwrap();
        store.commit().unwrap();
    }
    let expect = |store: &Store<MailboxState>| {
        for n in 1..=5u32 {
            let outcome = store
                .state()
                .requests
                .outcome(RequestKey(u128::from(n) << 64));
            assert_eq!(outcome.and_then(|o| o.appended_uids()), Some(vec![n]));
        }
        assert_eq!(store.state().requests.outcome(RequestKey(7)), None);
    };
    expect(&store);
    drop(store);
    // Compacted after 3 transactions: the snapshot carries three keys, the log two.
    assert!(dir.path().join("snapshot").exists());
    let (store, _) = open_with(dir.path(), 3, &|| true);
    expect(&store);
}

#[test]
fn a_snapshot_from_before_request_keys_loads_with_none() {
    #[derive(serde::Serialize)]
    struct V3 {
        uid_validity: u32,
        uid_next: u32,
        highest_mod_seq: u64,
        keywords: Vec<String>,
        entries: Vec<StoredEntry>,
        vanished: crate::store::vanished::Vanished,
        saved: Vec<i64>,
    }
    let dir = tempfile::tempdir().unwrap();
    let now = state_after(dir.path(), vec![entry(1, &[]), entry(2, &["$Work"])]);
    write_old_snapshot(
        dir.path(),
        V3 {
            uid_validity: now.uid_validity,
            uid_next: now.uid_next,
            highest_mod_seq: now.highest_mod_seq,
            keywords: now.keywords.clone(),
            entries: old_entries(&now),
            vanished: now.vanished.clone(),
            saved: now.entries.iter().map(|e| e.saved).collect(),
        },
    );
    let store = open(dir.path());
    assert_eq!(store.state().entries, now.entries);
    assert!(store.state().requests.is_empty());
}

/// A compaction that fails after the batch's log write does not turn the batch into an
/// error: its changes are durable, and answering NO would invite a duplicate (issue 19
/// finding 5).
#[test]
fn a_failed_compaction_does_not_fail_the_commit_it_follows() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open_with(dir.path(), 2, &|| true);
    append(&mut store, vec![entry(1, &[])]);
    // The snapshot cannot be renamed into place over a non-empty directory.
    fs::create_dir_all(dir.path().join("snapshot").join("in-the-way")).unwrap();
    let records = store.state().plan_append(vec![entry(2, &[])]).unwrap();
    store.stage(records).unwrap();
    store.commit().expect("the log write succeeded");
    append(&mut store, vec![entry(3, &[])]);
    drop(store);
    fs::remove_dir_all(dir.path().join("snapshot")).unwrap();
    let store = open(dir.path());
    let uids: Vec<u32> = store.state().entries.iter().map(|e| e.uid).collect();
    assert_eq!(uids, [1, 2, 3]);
}

/// Each owner's epoch is in the log before its changes; replay finds an epoch that went
/// down (a former owner writing after a newer one), and a snapshot carries no epochs.
#[test]
fn writer_epochs_replay_in_order_and_a_lower_one_after_a_higher_is_reported() {
    use crate::store::mailbox::MailboxRecord;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    for epoch in [3, 3, 5] {
        store.stage(vec![MailboxRecord::Writer { epoch }]).unwrap();
        append(&mut store, vec![entry(u128::from(epoch) * 10, &[])]);
    }
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.state().writers.latest, 5);
    assert!(store.state().writers.regressions.is_empty());
    assert_eq!(store.state().entries.len(), 3);
    let mut store = store;
    store
        .stage(vec![MailboxRecord::Writer { epoch: 4 }])
        .unwrap();
    append(&mut store, vec![entry(99, &[])]);
    store
        .stage(vec![MailboxRecord::Writer { epoch: 6 }])
        .unwrap();
    store.commit().unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.state().writers.regressions, vec![(5, 4)]);
    assert_eq!(store.state().writers.latest, 6);
    drop(store);
    let (mut store, _) = open_with(dir.path(), 1, &|| true);
    append(&mut store, vec![entry(100, &[])]);
    drop(store);
    assert!(open(dir.path()).state().writers.regressions.is_empty());
}

/// Issue 19, finding 1 (found by `roost-bench faults`: a paused owner resumed, its APPEND's
/// `.meta` rename failed because the new owner's recovery had removed the temporary file,
/// and its cleanup deleted the message file the new owner had just listed): a failed write
/// removes the files it renamed into place only while the fence allows.
#[test]
fn a_failed_blob_write_removes_its_files_only_while_the_fence_allows() {
    let dir = tempfile::tempdir().unwrap();
    for (may_remove, stays) in [(false, true), (true, false)] {
        let id = BlobId(if may_remove { 7 } else { 8 });
        // A directory where the `.meta` goes: its rename fails after the octets are in place.
        fs::create_dir_all(blobs::meta_path(dir.path(), id).join("x")).unwrap();
        let written = blobs::write_blobs(
            dir.path(),
            &[BlobWrite {
                id,
                data: b"octets",
                meta: b"meta",
            }],
            &|| may_remove,
        );
        assert!(written.is_err());
        assert_eq!(blobs::blob_path(dir.path(), id).exists(), stays);
    }
}

#[test]
fn replayed_expunges_remove_exactly_their_uids_from_a_large_mailbox() {
    use crate::store::journal::Durable;
    use crate::store::mailbox::MailboxRecord;
    use crate::store::vanished::Since;
    let mut state = MailboxState::new(77);
    for k in 0..50 {
        let records = state
            .plan_append((0..100).map(|i| entry(k * 100 + i, &[])).collect())
            .unwrap();
        for r in &records {
            state.apply(r);
        }
    }
    let mut model: std::collections::BTreeSet<u32> = (1..=5000).collect();
    // First, last, a run, scattered, unsorted with repeats, absent, already gone, then all.
    let batches: Vec<Vec<u32>> = vec![
        vec![1],
        vec![5000],
        (100..200).collect(),
        (300..5000).step_by(97).collect(),
        vec![4000, 2, 4000, 3, 9999, 150],
        vec![1, 2, 3],
        (1..=5000).collect(),
    ];
    for uids in batches {
        let mod_seq = state.highest_mod_seq + 1;
        state.apply(&MailboxRecord::Expunge {
            mod_seq,
            uids: uids.clone(),
        });
        let mut removed: Vec<u32> = uids.iter().copied().filter(|u| model.remove(u)).collect();
        removed.sort_unstable();
        let left: Vec<u32> = state.entries.iter().map(|e| e.uid).collect();
        assert_eq!(left, model.iter().copied().collect::<Vec<_>>());
        assert_eq!(state.highest_mod_seq, mod_seq);
        match state.vanished.since(mod_seq - 1) {
            Since::Exactly(ranges) => {
                let told: Vec<u32> = ranges.iter().flat_map(|&(a, b)| a..=b).collect();
                assert_eq!(told, removed);
            }
            Since::AllMissing => panic!("the latest expunge is remembered"),
        }
    }
    assert!(state.entries.is_empty());
}
