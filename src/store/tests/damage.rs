//! Damage: a flipped bit or a truncation anywhere in any log or snapshot never loses an
//! acknowledged message, and every one is readable after recovery (issue 19, finding 8).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use roost_proto::StoreAction;

use super::mailbox::stub_meta;
use crate::store::account::{self, open_account, AccountState};
use crate::store::blobs::{self, BlobWrite};
use crate::store::mailbox::{open_mailbox, ExpungeSelect, MailboxState, NewEntry};
use crate::store::recovery::Reconcile;
use crate::store::{BlobId, MailboxId, Store, StoreMetrics};

const NOW: u64 = 1_700_000_000;
/// Small, so every store has a snapshot and a log with records in it.
const COMPACT_AFTER: u64 = 4;

fn open_mbox(dir: &Path, uid_validity: u32) -> Store<MailboxState> {
    let how = Reconcile {
        may_change: &|| true,
        parse_meta: &stub_meta,
        drop_missing: false,
    };
    let metrics = Arc::new(StoreMetrics::default());
    open_mailbox(dir, uid_validity, COMPACT_AFTER, metrics, &how)
        .unwrap()
        .0
}

fn open_acct(dir: &Path) -> Store<AccountState> {
    open_account(dir, COMPACT_AFTER, Arc::new(StoreMetrics::default()), NOW)
        .unwrap()
        .0
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// What was acknowledged: per mailbox id, blob → octets of every message not expunged.
type Acknowledged = BTreeMap<MailboxId, HashMap<BlobId, Vec<u8>>>;

/// An account with 9 mailboxes (6 defaults, 3 created), 3 of them with mail: appends in
/// several transactions, flag changes and expunges, so each store has a snapshot and a log.
fn build(dir: &Path) -> Acknowledged {
    let mut acct = open_acct(dir);
    for name in ["Work", "Work/2024", "Lists"] {
        let (records, _) = acct.state().plan_create(name, None, NOW).unwrap();
        acct.stage(records).unwrap();
        acct.commit().unwrap();
    }
    let sub = acct.state().plan_subscription("Work", true).unwrap();
    acct.stage(sub).unwrap();
    acct.commit().unwrap();
    let mut acknowledged = Acknowledged::new();
    let mut next_blob = 1u128;
    for name in ["INBOX", "Work/2024", "Lists"] {
        let info = acct.state().by_name(name).unwrap().clone();
        let mbox_dir = account::mailbox_dir(dir, info.id);
        let mut store = open_mbox(&mbox_dir, info.uid_validity);
        let kept = acknowledged.entry(info.id).or_default();
        for txn in 0..7 {
            let mut items = Vec::new();
            for _ in 0..3 {
                let id = BlobId(next_blob);
                next_blob += 1;
                let octets = format!("Subject: {name} {id}\r\n\r\nbody {txn}\r\n").into_bytes();
                blobs::write_blobs(
                    &mbox_dir,
                    &[BlobWrite {
                        id,
                        data: &octets,
                        meta: &stub_meta(&bytes::Bytes::from(octets.clone())),
                    }],
                    &|| true,
                )
                .unwrap();
                items.push(NewEntry {
                    blob: id,
                    size: octets.len() as u32,
                    internal_date: 1_700_000_000,
                    flags: vec!["\\Seen".into()],
                });
                kept.insert(id, octets);
            }
            let records = store.state().plan_append(items).unwrap();
            store.stage(records).unwrap();
            store.commit().unwrap();
            if txn % 3 == 2 {
                // Expunge the oldest message: acknowledged gone, so it may come back.
                let first = store.state().entries[0];
                let plan = store
                    .state()
                    .plan_store(&[first.uid], StoreAction::Add, &["\\Deleted".into()], None)
                    .unwrap();
                store.stage(plan.records).unwrap();
                let expunge = store.state().plan_expunge(ExpungeSelect::AllDeleted);
                store.stage(expunge.records).unwrap();
                store.commit().unwrap();
                blobs::remove_blobs(&mbox_dir, &expunge.freed_blobs).unwrap();
                kept.remove(&first.blob);
            }
        }
    }
    // Every mailbox has its directory, as after its first SELECT.
    for info in &acct.state().mailboxes {
        open_mbox(&account::mailbox_dir(dir, info.id), info.uid_validity);
    }
    acknowledged
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every `snapshot` and `log.<n>` of the account and its mailboxes.
fn journal_files(account_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![account_dir.to_path_buf()];
    for entry in fs::read_dir(account::mailboxes_dir(account_dir)).unwrap() {
        dirs.push(entry.unwrap().path());
    }
    let mut files = Vec::new();
    for dir in dirs {
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let is_log = name
                .strip_prefix("log.")
                .is_some_and(|g| g.bytes().all(|b| b.is_ascii_digit()));
            if name == "snapshot" || is_log {
                files.push(dir.join(name));
            }
        }
    }
    files.sort();
    files
}

/// Opens the account and every mailbox it lists; returns per mailbox id its entries' blobs.
fn recover(dir: &Path) -> BTreeMap<MailboxId, Vec<BlobId>> {
    let acct = open_acct(dir);
    let mut found = BTreeMap::new();
    for info in &acct.state().mailboxes {
        let store = open_mbox(&account::mailbox_dir(dir, info.id), info.uid_validity);
        let blobs = store.state().entries.iter().map(|e| e.blob).collect();
        found.insert(info.id, blobs);
    }
    found
}

#[test]
fn a_flipped_bit_or_a_truncation_in_any_journal_never_loses_an_acknowledged_message() {
    let template = tempfile::tempdir().unwrap();
    let acknowledged = build(template.path());
    let files = journal_files(template.path());
    let snapshots = files.iter().filter(|f| f.ends_with("snapshot")).count();
    assert!(snapshots >= 4 && files.len() >= 8, "{files:?}");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..100u32 {
        let work = tempfile::tempdir().unwrap();
        copy_tree(template.path(), work.path());
        let rel = files[xorshift(&mut seed) as usize % files.len()]
            .strip_prefix(template.path())
            .unwrap()
            .to_path_buf();
        let target = work.path().join(&rel);
        let mut bytes = fs::read(&target).unwrap();
        let damage = if bytes.is_empty() || xorshift(&mut seed).is_multiple_of(3) {
            let keep = xorshift(&mut seed) as usize % (bytes.len() + 1);
            bytes.truncate(keep);
            format!("truncated to {keep}")
        } else {
            let at = xorshift(&mut seed) as usize % bytes.len();
            let bit = xorshift(&mut seed) % 8;
            bytes[at] ^= 1 << bit;
            format!("bit {bit} of byte {at} flipped")
        };
        fs::write(&target, &bytes).unwrap();
        let context = format!("round {round}: {} {damage}", rel.display());

        let found = recover(work.path());
        for (mailbox, messages) in &acknowledged {
            let listed = found
                .get(mailbox)
                .unwrap_or_else(|| panic!("{context}: mailbox {mailbox} not listed"));
            let mailbox_dir = account::mailbox_dir(work.path(), *mailbox);
            for (blob, octets) in messages {
                assert!(
                    listed.contains(blob),
                    "{context}: {blob} lost from {mailbox}"
                );
                let read = fs::read(blobs::blob_path(&mailbox_dir, *blob));
                assert_eq!(read.ok().as_ref(), Some(octets), "{context}: {blob}");
                assert!(blobs::meta_path(&mailbox_dir, *blob).exists(), "{context}");
            }
        }
        // Recovery is done once: opening again finds nothing more to do or to add.
        if round.is_multiple_of(5) {
            assert_eq!(
                recover(work.path()),
                found,
                "{context}: second recovery differs"
            );
        }
    }
}

/// The cases one by one: a mailbox log truncated to nothing, an account log
/// truncated to nothing, and both snapshots gone.
#[test]
fn logs_truncated_to_nothing_and_lost_snapshots_lose_no_message_or_mailbox() {
    let template = tempfile::tempdir().unwrap();
    let acknowledged = build(template.path());
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 3] = [
        ("every log emptied", |f| {
            if f.file_name().unwrap().to_string_lossy().starts_with("log.") {
                fs::write(f, b"").unwrap();
            }
        }),
        ("every snapshot removed", |f| {
            if f.ends_with("snapshot") {
                fs::remove_file(f).unwrap();
            }
        }),
        ("everything emptied", |f| fs::write(f, b"").unwrap()),
    ];
    for (what, damage) in damages {
        let work = tempfile::tempdir().unwrap();
        copy_tree(template.path(), work.path());
        for file in journal_files(work.path()) {
            damage(&file);
        }
        let found = recover(work.path());
        let acct = open_acct(work.path());
        for (mailbox, messages) in &acknowledged {
            let listed = &found[mailbox];
            assert!(
                messages.keys().all(|b| listed.contains(b)),
                "{what}: {mailbox}"
            );
            assert!(acct.state().by_id(*mailbox).is_some(), "{what}");
        }
        // Every mailbox directory is still listed (under Recovered/ when its name was lost).
        let dirs = fs::read_dir(account::mailboxes_dir(work.path()))
            .unwrap()
            .count();
        assert!(acct.state().mailboxes.len() >= dirs, "{what}");
    }
}
