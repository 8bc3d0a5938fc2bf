//! `roost fsck --user NAME`: checks one account's files offline and repairs what it can,
//! saying what it did. It runs the same recovery a node runs when it opens the account and
//! each mailbox (docs/storage.md, "Recovery invariants": nothing is deleted, unlisted
//! messages are re-added, strays quarantined), then reads every message's files: a damaged
//! `.meta` is written again from the message, a message file that is missing or of the
//! wrong size is reported (and, with `--expunge-missing`, expunged when it is missing).
//!
//! One writer per data directory: fsck takes the data directory's lock, so it refuses while
//! a node (or `roost imap`) runs on it, and it refuses in a cluster, where nodes do not hold
//! that lock.

use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::control::lock::{DataDirLock, Holder};
use crate::message::MessageMeta;
use crate::store::account::{self, open_account};
use crate::store::journal::RecoveryReport;
use crate::store::mailbox::open_mailbox;
use crate::store::recovery::Reconcile;
use crate::store::{blobs, MessageEntry, StoreMetrics};

/// What `roost fsck` asks for besides the check.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsckOptions {
    /// Expunge entries whose message file is missing (a node keeps them: FETCH fails for
    /// them alone).
    pub expunge_missing: bool,
}

/// What fsck found and did, line by line, and in sum.
#[derive(Debug, Default)]
pub struct FsckReport {
    pub lines: Vec<String>,
    pub mailboxes: usize,
    pub messages: usize,
    /// Problems found (each also a line).
    pub problems: usize,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.problems == 0
    }

    fn recovery(&mut self, what: &str, report: &RecoveryReport) {
        if !report.is_clean() {
            self.problems += 1;
            self.lines.push(format!("{what}: {report}"));
        }
    }
}

impl fmt::Display for FsckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "  {line}")?;
        }
        write!(
            f,
            "{} mailboxes, {} messages checked; {}",
            self.mailboxes,
            self.messages,
            match self.problems {
                0 => "no problems found".to_string(),
                n => format!("{n} problems found and handled as above; nothing was deleted"),
            }
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FsckError {
    #[error(
        "roost fsck works offline on a data directory no node shares; with cluster.redis_url \
         set, nodes do not lock the data directory, so fsck cannot tell that none runs"
    )]
    Clustered,
    #[error("{0} (stop it first: fsck runs offline)")]
    Locked(#[from] crate::control::lock::LockError),
    #[error("no account for user {user} ({dir} does not exist)")]
    NoAccount { user: String, dir: String },
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

/// Checks and repairs the account of `user`. Blocking.
///
/// # Errors
/// In a cluster, while the data directory is in use, without the account, or on a store
/// error that recovery cannot handle.
pub fn run(config: &Config, user: &str, options: FsckOptions) -> Result<FsckReport, FsckError> {
    if config.cluster.redis_url.is_some() {
        return Err(FsckError::Clustered);
    }
    let _lock = DataDirLock::acquire(&config.data_dir, Holder::Fsck)?;
    let dir = config
        .data_dir
        .join("accounts")
        .join(account::account_dir_name(user));
    if !dir.is_dir() {
        return Err(FsckError::NoAccount {
            user: user.to_owned(),
            dir: dir.display().to_string(),
        });
    }
    check_account(&dir, config.store.compact_after_transactions, options)
}

fn parse_meta(raw: &bytes::Bytes) -> Vec<u8> {
    MessageMeta::parse_bytes(raw).to_bytes()
}

/// The check itself, on an account directory the caller has to itself. Blocking.
///
/// # Errors
/// A store error that recovery cannot handle.
pub fn check_account(
    dir: &Path,
    compact_after: u64,
    options: FsckOptions,
) -> Result<FsckReport, FsckError> {
    let metrics = Arc::new(StoreMetrics::default());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut out = FsckReport::default();
    let (account, report) = open_account(dir, compact_after, metrics.clone(), now)?;
    out.recovery("account", &report);
    let how = Reconcile {
        may_change: &|| true,
        parse_meta: &parse_meta,
        drop_missing: options.expunge_missing,
    };
    let mut mailboxes = account.state().mailboxes.clone();
    mailboxes.sort_by(|a, b| a.name.cmp(&b.name));
    for info in &mailboxes {
        out.mailboxes += 1;
        let mailbox_dir = account::mailbox_dir(dir, info.id);
        if !mailbox_dir.is_dir() {
            continue; // never opened: nothing on disk to check
        }
        let (store, report) = open_mailbox(
            &mailbox_dir,
            info.uid_validity,
            compact_after,
            metrics.clone(),
            &how,
        )?;
        out.recovery(&info.name, &report);
        out.messages += store.state().entries.len();
        for entry in &store.state().entries {
            if let Some(problem) = check_message(&mailbox_dir, entry) {
                out.problems += 1;
                out.lines
                    .push(format!("{} UID {}: {problem}", info.name, entry.uid));
            }
        }
    }
    Ok(out)
}

/// One message's files: `None` when they are sound; what was wrong (and done) otherwise.
fn check_message(mailbox_dir: &Path, entry: &MessageEntry) -> Option<String> {
    let blob = blobs::blob_path(mailbox_dir, entry.blob);
    let raw = match fs::read(&blob) {
        Ok(raw) => raw,
        Err(e) => return Some(format!("message file {}: {e}", blob.display())),
    };
    if raw.len() as u64 != u64::from(entry.size) {
        return Some(format!(
            "message file {} has {} bytes, {} expected (FETCH fails for it)",
            blob.display(),
            raw.len(),
            entry.size
        ));
    }
    let meta = blobs::meta_path(mailbox_dir, entry.blob);
    let damage = match fs::read(&meta) {
        Ok(bytes) => MessageMeta::from_bytes(&bytes).err()?.to_string(),
        Err(e) => e.to_string(),
    };
    let rebuilt = parse_meta(&bytes::Bytes::from(raw));
    Some(match blobs::write_meta(mailbox_dir, entry.blob, &rebuilt) {
        Ok(()) => format!("metadata {damage}: written again from the message"),
        Err(e) => format!("metadata {damage}: cannot write it again: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::blobs::BlobWrite;
    use crate::store::mailbox::NewEntry;
    use crate::store::BlobId;

    /// An account whose INBOX holds two messages; returns the INBOX directory.
    fn account_with_two_messages(dir: &Path) -> std::path::PathBuf {
        let metrics = Arc::new(StoreMetrics::default());
        let (account, _) = open_account(dir, 100, metrics.clone(), 1_700_000_000).unwrap();
        let inbox = account.state().by_name("INBOX").unwrap().clone();
        let inbox_dir = account::mailbox_dir(dir, inbox.id);
        let how = Reconcile {
            may_change: &|| true,
            parse_meta: &parse_meta,
            drop_missing: false,
        };
        let (mut store, _) =
            open_mailbox(&inbox_dir, inbox.uid_validity, 100, metrics, &how).unwrap();
        let mut items = Vec::new();
        for id in [1u128, 2] {
            let raw = format!("Subject: {id}\r\n\r\nbody\r\n").into_bytes();
            let meta = parse_meta(&bytes::Bytes::from(raw.clone()));
            let write = BlobWrite {
                id: BlobId(id),
                data: &raw,
                meta: &meta,
            };
            blobs::write_blobs(&inbox_dir, &[write], &|| true).unwrap();
            items.push(NewEntry {
                blob: BlobId(id),
                size: raw.len() as u32,
                internal_date: 0,
                flags: Vec::new(),
            });
        }
        let records = store.state().plan_append(items).unwrap();
        store.stage(records).unwrap();
        store.commit().unwrap();
        inbox_dir
    }

    #[test]
    fn fsck_rewrites_damaged_metadata_reports_missing_files_and_expunges_them_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = account_with_two_messages(dir.path());
        fs::write(blobs::meta_path(&inbox, BlobId(1)), b"garbage").unwrap();
        fs::remove_file(blobs::blob_path(&inbox, BlobId(2))).unwrap();

        let checked = check_account(dir.path(), 100, FsckOptions::default()).unwrap();
        let said = checked.to_string();
        assert!(said.contains("INBOX UID 1: metadata"), "{said}");
        assert!(said.contains("written again from the message"), "{said}");
        assert!(said.contains("1 entries have no message file"), "{said}");
        assert!(said.contains("INBOX UID 2: message file"), "{said}");
        assert!(said.contains("2 messages checked"), "{said}");
        let meta = fs::read(blobs::meta_path(&inbox, BlobId(1))).unwrap();
        assert!(MessageMeta::from_bytes(&meta).is_ok());

        let options = FsckOptions {
            expunge_missing: true,
        };
        let repaired = check_account(dir.path(), 100, options).unwrap();
        assert!(
            repaired.to_string().contains("expunged 1 of them"),
            "{repaired}"
        );
        let again = check_account(dir.path(), 100, FsckOptions::default()).unwrap();
        assert!(again.is_clean(), "{again}");
        assert_eq!(again.messages, 1);
    }
}
