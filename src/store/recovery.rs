//! Reconciling a journal with the files on disk after it was opened: what a damaged log or
//! snapshot no longer lists is listed again, never deleted (docs/storage.md, "Recovery
//! invariants").
//!
//! - A mailbox: message files no entry names are re-added as new messages (new UIDs, the
//!   `$Recovered` keyword), except those an expunge in the replayed log freed (a crash
//!   between its commit and their removal): those are removed, and files that can be neither (a `.meta` that neither a message
//!   file nor an entry has, names Roost never writes) are moved into `quarantine/`. Entries
//!   whose message file is gone are counted and kept (FETCH fails for those alone) unless
//!   `drop_missing` says otherwise (`roost fsck --repair`). Temporary files are the one thing removed: they were never renamed into
//!   place, so nothing was acknowledged for them.
//! - An account: mailbox directories the list does not name are listed again as
//!   `Recovered/M<id>`; only directories a durable DELETE marked (`.deleted-<id>`) are removed.
//!
//! Every change waits for `may_change` (the account's fence, issue 19 finding 1): a former
//! owner that resumed after a pause must neither re-add what the new owner is writing nor
//! move it away.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::account::{self, AccountState};
use super::blobs;
use super::journal::{RecoveryReport, Store, StoreError};
use super::mailbox::{ExpungeSelect, MailboxState, NewEntry};
use super::types::{BlobId, MailboxId};

/// The keyword re-added messages carry, so a user can find (and a client can show) them.
pub const RECOVERED_KEYWORD: &str = "$Recovered";

/// The parent of mailboxes listed again from their directories.
pub const RECOVERED_PARENT: &str = "Recovered";

/// Prefix a deleted mailbox's directory is renamed to once its DELETE is durable, before
/// its files are removed: what recovery finds so named was deleted, not lost.
pub const DELETED_PREFIX: &str = ".deleted-";

/// How [`reconcile_mailbox`] may change things.
pub struct Reconcile<'a> {
    /// Asked before every change: the account's fence.
    pub may_change: &'a dyn Fn() -> bool,
    /// Parses message octets into the bytes of a `.meta` file.
    pub parse_meta: &'a dyn Fn(&bytes::Bytes) -> Vec<u8>,
    /// Expunge entries whose message file is gone (an explicit repair), rather than keep them.
    pub drop_missing: bool,
}

/// Makes a mailbox's entries and its blobs directory agree (see the module docs). Commits
/// what it stages. Blocking.
///
/// # Errors
/// I/O errors, or a store error committing.
pub fn reconcile_mailbox(
    store: &mut Store<MailboxState>,
    dir: &Path,
    report: &mut RecoveryReport,
    how: &Reconcile<'_>,
) -> Result<(), StoreError> {
    let may_change = how.may_change;
    let scan = blobs::scan(dir).map_err(StoreError::io("list blobs in", dir))?;
    for path in &scan.temps {
        if !may_change() {
            return Ok(());
        }
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(StoreError::io("remove", path)(e))
            }
            _ => report.removed.push(path.clone()),
        }
    }
    let gone: Vec<u32> = store
        .state()
        .entries
        .iter()
        .filter(|e| !scan.blobs.contains(&e.blob))
        .map(|e| e.uid)
        .collect();
    let live: HashSet<BlobId> = store.state().entries.iter().map(|e| e.blob).collect();
    let mut unlisted: Vec<BlobId> = scan.blobs.difference(&live).copied().collect();
    unlisted.sort_unstable();
    report.missing_files += gone.len() as u64;
    let drop = how.drop_missing && !gone.is_empty();
    if (drop || !unlisted.is_empty()) && !may_change() {
        return Ok(());
    }
    if drop {
        let plan = store.state().plan_expunge(ExpungeSelect::Exactly(&gone));
        store.stage(plan.records)?;
        report.dropped_entries += gone.len() as u64;
    }
    // The files of expunges the log holds are not lost mail: a crash came between the
    // expunge's commit and their removal. They are removed, not listed again.
    let freed: HashSet<BlobId> = store
        .state_mut_unlogged()
        .replayed
        .freed
        .take()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let (expunged, unlisted): (Vec<BlobId>, Vec<BlobId>) =
        unlisted.into_iter().partition(|id| freed.contains(id));
    if !expunged.is_empty() {
        let removed = blobs::remove_blobs_while(dir, &expunged, may_change)
            .map_err(StoreError::io("remove expunged messages in", dir))?;
        report.removed.extend(
            expunged[..removed]
                .iter()
                .map(|&id| blobs::blob_path(dir, id)),
        );
        if removed < expunged.len() {
            return Ok(());
        }
    }
    let mut found = Vec::with_capacity(unlisted.len());
    for id in unlisted {
        let path = blobs::blob_path(dir, id);
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            // Named like a message but not a file: nothing to list; kept for a person to see.
            let kept =
                blobs::quarantine(dir, &path).map_err(StoreError::io("quarantine", &path))?;
            report.quarantined.push(kept);
            continue;
        }
        let has_meta = scan.metas.contains(&id);
        found.push(relist_blob(dir, id, has_meta, how.parse_meta)?);
    }
    if !found.is_empty() {
        // Oldest first, so re-added messages keep their order of arrival.
        found.sort_by_key(|e| (e.internal_date, e.blob));
        let count = found.len() as u64;
        let records = store
            .state()
            .plan_recovered(found)
            .map_err(|e| StoreError::Corrupt {
                path: dir.to_path_buf(),
                offset: 0,
                reason: format!("cannot re-add unlisted messages: {e}"),
            })?;
        store.stage(records)?;
        report.relisted += count;
    }
    if store.has_staged() {
        store.commit()?;
    }
    // Listed after the expunge above, if any: a dropped entry's `.meta` is a stray too.
    let live: HashSet<BlobId> = store.state().entries.iter().map(|e| e.blob).collect();
    let strays = scan
        .metas
        .iter()
        .filter(|id| !scan.blobs.contains(id) && !live.contains(id))
        .map(|&id| blobs::meta_path(dir, id))
        .chain(scan.unknown.iter().cloned());
    for path in strays {
        if !may_change() {
            break;
        }
        let kept = blobs::quarantine(dir, &path).map_err(StoreError::io("quarantine", &path))?;
        report.quarantined.push(kept);
    }
    Ok(())
}

/// A message file no entry names, as a message to add: its size, its modification time as
/// INTERNALDATE (the original is lost with the record), and a rebuilt `.meta` if it has none.
fn relist_blob(
    dir: &Path,
    id: BlobId,
    has_meta: bool,
    parse_meta: &dyn Fn(&bytes::Bytes) -> Vec<u8>,
) -> Result<NewEntry, StoreError> {
    let path = blobs::blob_path(dir, id);
    let stat = fs::metadata(&path).map_err(StoreError::io("stat", &path))?;
    if !has_meta {
        let raw = fs::read(&path).map_err(StoreError::io("read", &path))?;
        blobs::write_meta(dir, id, &parse_meta(&bytes::Bytes::from(raw)))
            .map_err(StoreError::io("write metadata of", &path))?;
    }
    let internal_date = stat
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Ok(NewEntry {
        blob: id,
        size: u32::try_from(stat.len()).unwrap_or(u32::MAX),
        internal_date,
        flags: vec![RECOVERED_KEYWORD.to_string()],
    })
}

/// Lists again the mailbox directories of an account that its list does not name, as
/// `Recovered/M<id>` (the name is lost with the record; the messages, their UIDs and flags
/// are in the mailbox's own journal), and removes directories a durable DELETE marked.
/// Other names are left alone. Each change waits for `may_change` (the account's fence).
/// Commits what it stages. Blocking.
///
/// # Errors
/// I/O errors, or a store error committing.
pub fn reconcile_account(
    store: &mut Store<AccountState>,
    dir: &Path,
    report: &mut RecoveryReport,
    now: u64,
    may_change: &dyn Fn() -> bool,
) -> Result<(), StoreError> {
    let root = account::mailboxes_dir(dir);
    let entries = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io("list", &root)(e)),
    };
    let mut unlisted = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StoreError::io("list", &root))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(DELETED_PREFIX) {
            if !may_change() {
                continue;
            }
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(StoreError::io("remove", &path))?;
            report.removed.push(path);
        } else if let Some(id) = mailbox_id_of(&name) {
            if store.state().by_id(id).is_none() {
                unlisted.push(id);
            }
        }
    }
    if unlisted.is_empty() || !may_change() {
        return Ok(());
    }
    unlisted.sort_unstable();
    let records = store.state().plan_relist(&unlisted, now);
    store.stage(records)?;
    store.commit()?;
    report.relisted += unlisted.len() as u64;
    Ok(())
}

/// The id a mailbox directory is named for (16 lower-case hex digits).
fn mailbox_id_of(name: &str) -> Option<MailboxId> {
    (name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(name, 16).ok().map(MailboxId))
        .flatten()
}

/// Renames a deleted mailbox's directory to its [`DELETED_PREFIX`] name, so recovery
/// removes rather than re-lists it should a crash interrupt the removal. Blocking.
///
/// # Errors
/// I/O errors other than a missing directory (never opened: nothing to remove).
pub fn mark_deleted(account_dir: &Path, id: MailboxId) -> io::Result<Option<std::path::PathBuf>> {
    let from = account::mailbox_dir(account_dir, id);
    let to = account::mailboxes_dir(account_dir).join(format!("{DELETED_PREFIX}{:016x}", id.0));
    match fs::rename(&from, &to) {
        Ok(()) => {
            super::durable_fs::sync_dir(&account::mailboxes_dir(account_dir))?;
            Ok(Some(to))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
