//! Journals: durability across reopen, group commit, compaction, recovery equivalence.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::journal::{Durable, RecoveryReport, Store, StoreMetrics};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Sums {
    values: Vec<u32>,
}

impl Durable for Sums {
    type Record = u32;
    fn apply(&mut self, record: &u32) {
        self.values.push(*record);
    }
}

fn open(dir: &Path, compact_after: u64) -> (Store<Sums>, RecoveryReport, Arc<StoreMetrics>) {
    let metrics = Arc::new(StoreMetrics::default());
    let (store, report) =
        Store::open(dir, Sums::default(), compact_after, metrics.clone()).unwrap();
    (store, report, metrics)
}

fn write(store: &mut Store<Sums>, range: std::ops::Range<u32>) {
    for v in range {
        store.stage(vec![v, v + 1000]).unwrap();
        store.commit().unwrap();
    }
}

fn log_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("log."))
        .collect();
    names.sort();
    names
}

#[test]
fn committed_transactions_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, report, _) = open(dir.path(), 1000);
    assert!(report.is_clean());
    write(&mut store, 0..5);
    let expected = store.state().clone();
    drop(store);
    let (store, report, _) = open(dir.path(), 1000);
    assert_eq!(store.state(), &expected);
    assert_eq!(report.transactions_replayed, 5);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn staged_transactions_share_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, metrics) = open(dir.path(), 1000);
    for v in 0..10 {
        store.stage(vec![v]).unwrap();
    }
    store.stage(Vec::new()).unwrap(); // empty: nothing to write
    store.commit().unwrap();
    assert_eq!(metrics.log_syncs.load(Ordering::Relaxed), 1);
    assert_eq!(metrics.transactions.load(Ordering::Relaxed), 10);
    // Nothing staged: a commit writes nothing.
    store.commit().unwrap();
    assert_eq!(metrics.log_syncs.load(Ordering::Relaxed), 1);
}

#[test]
fn staged_but_uncommitted_transactions_are_lost_on_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, _) = open(dir.path(), 1000);
    write(&mut store, 0..2);
    store.stage(vec![99]).unwrap();
    assert!(store.state().values.contains(&99));
    drop(store);
    let (store, _, _) = open(dir.path(), 1000);
    assert!(!store.state().values.contains(&99));
}

#[test]
fn compaction_keeps_one_generation_and_recovers_the_same_state() {
    let compacted = tempfile::tempdir().unwrap();
    let plain = tempfile::tempdir().unwrap();
    let (mut a, _, metrics) = open(compacted.path(), 3);
    let (mut b, _, _) = open(plain.path(), u64::MAX);
    write(&mut a, 0..10);
    write(&mut b, 0..10);
    assert_eq!(metrics.snapshots.load(Ordering::Relaxed), 3);
    assert_eq!(log_files(compacted.path()), ["log.3"]);
    assert!(compacted.path().join("snapshot").exists());
    drop(a);
    let (a, report, _) = open(compacted.path(), 3);
    let (b2, _, _) = open(plain.path(), u64::MAX);
    assert_eq!(a.state(), b.state());
    assert_eq!(a.state(), b2.state());
    assert_eq!(report.snapshot_generation, Some(3));
    assert_eq!(report.transactions_replayed, 1);
}

#[test]
fn a_crash_during_compaction_leaves_a_recoverable_store() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, _) = open(dir.path(), 4);
    write(&mut store, 0..6);
    let expected = store.state().clone();
    drop(store);
    // Leftovers of an interrupted compaction: an old log and a temporary snapshot.
    fs::write(dir.path().join("log.0"), b"stale").unwrap();
    fs::write(dir.path().join(".tmp.snapshot"), b"half").unwrap();
    let (store, report, _) = open(dir.path(), 4);
    assert_eq!(store.state(), &expected);
    assert_eq!(report.removed.len(), 2, "{report}");
    assert_eq!(log_files(dir.path()), ["log.1"]);
}

#[test]
fn torn_tail_is_dropped_reported_and_the_log_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, _) = open(dir.path(), 1000);
    write(&mut store, 0..3);
    let expected = store.state().clone();
    drop(store);
    let log = dir.path().join("log.0");
    let mut file = OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(&[42, 0, 0, 0, 1, 2]).unwrap();
    drop(file);

    let (mut store, report, _) = open(dir.path(), 1000);
    assert_eq!(store.state(), &expected);
    assert!(report.truncation.is_some());
    assert!(report.to_string().contains("torn record"), "{report}");
    write(&mut store, 3..4);
    let expected = store.state().clone();
    drop(store);
    let (store, report, _) = open(dir.path(), 1000);
    assert_eq!(store.state(), &expected);
    assert!(report.is_clean());
}

#[test]
fn a_corrupt_snapshot_is_kept_aside_and_the_newest_log_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, _) = open(dir.path(), 2);
    write(&mut store, 0..3);
    drop(store);
    let snap = dir.path().join("snapshot");
    let mut bytes = fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&snap, &bytes).unwrap();
    let (mut store, report, _) = open(dir.path(), 1000);
    assert!(report.journal_damaged(), "{report}");
    assert!(report.to_string().contains("damaged snapshot"), "{report}");
    assert_eq!(
        fs::read(dir.path().join("snapshot.corrupt-0")).unwrap(),
        bytes
    );
    // The snapshot's transactions are gone from the journal (callers re-list what is on
    // disk); the newest log's are replayed, and the store goes on in that generation.
    assert_eq!(store.state().values, [2, 1002]);
    write(&mut store, 7..8);
    drop(store);
    let (store, report, _) = open(dir.path(), 1000);
    assert_eq!(store.state().values, [2, 1002, 7, 1007]);
    assert!(report.is_clean(), "{report}");
}

/// A former owner's view of the fence: it may no longer change anything.
fn fenced() -> bool {
    false
}

#[test]
fn a_fenced_commit_does_not_compact() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, metrics) = open(dir.path(), 2);
    store.stage(vec![1]).unwrap();
    store.commit_while(&fenced).unwrap();
    store.stage(vec![2]).unwrap();
    store.commit_while(&fenced).unwrap();
    assert_eq!(metrics.snapshots.load(Ordering::Relaxed), 0);
    assert!(!dir.path().join("snapshot").exists());
    assert_eq!(log_files(dir.path()), ["log.0"]);
    // Once allowed, the compaction that was due happens.
    store.stage(vec![3]).unwrap();
    store.commit().unwrap();
    assert_eq!(log_files(dir.path()), ["log.1"]);
}

#[test]
fn a_fenced_open_removes_and_rewrites_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, _) = open(dir.path(), 4);
    write(&mut store, 0..6);
    drop(store);
    // What a new owner might be in the middle of: its next log generation, and a record
    // it is appending.
    fs::write(dir.path().join("log.0"), b"stale").unwrap();
    let current = dir.path().join("log.1");
    let mut file = OpenOptions::new().append(true).open(&current).unwrap();
    file.write_all(&[42, 0, 0, 0, 1, 2]).unwrap();
    drop(file);
    let before = fs::read(&current).unwrap();
    let metrics = Arc::new(StoreMetrics::default());
    let opened = Store::open_while(dir.path(), Sums::default(), 4, metrics, &fenced);
    assert!(
        opened.is_err(),
        "a torn tail is not repaired without the fence"
    );
    assert_eq!(fs::read(&current).unwrap(), before);
    assert!(dir.path().join("log.0").exists());
}
