//! A durable state machine: in-memory state rebuilt from the latest snapshot plus the
//! transactions logged after it, with writes split so an actor can commit off its thread.
//!
//! Files in the store's directory:
//! - `snapshot`: one log frame holding `{ generation, state }`, replaced atomically.
//! - `log.<generation>`: frames, each one *transaction* (`Vec<Record>`) applied after that
//!   snapshot. A transaction is the unit of atomicity: a multi-message APPEND, or a RENAME
//!   that moves a whole hierarchy, is all there or not at all after a crash.
//!
//! Writing is three steps so the mailbox actor never blocks its thread and can group
//! commits: [`Store::stage`] applies a transaction to the state and encodes it (on the
//! actor), [`Store::begin_commit`] hands the encoded bytes and the log file to a
//! [`Commit`], whose [`Commit::run`] writes and fsyncs once for everything staged (on a
//! blocking task), and [`Store::finish_commit`] takes the log file back. While a commit
//! runs, readers must not be shown the staged state (the actor defers them).
//!
//! Compaction: after `compact_after` transactions the commit also writes a snapshot of
//! generation `g + 1` (temp, fsync, rename, dir fsync), starts `log.<g+1>` and removes
//! `log.<g>`. A crash anywhere in between leaves either the old snapshot with its full log
//! or the new snapshot (whose log may be missing: empty), so recovery is always "latest
//! valid snapshot + its log". Damage (not a crash) is handled too: a damaged snapshot is kept
//! aside and the newest log replayed, a damaged log record skipped; the caller then lists
//! again what the lost parts named (`store::recovery`, docs/storage.md).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::durable_fs::{self, TEMP_PREFIX};
use super::log::{self, Truncation};
use crate::telemetry::metrics::{timed_fsync, FsyncKind};

/// State that a journal persists: rebuilt by applying records in order.
pub trait Durable: Serialize + DeserializeOwned + Clone + Send + 'static {
    type Record: Serialize + DeserializeOwned + Send + 'static;

    /// Applies one record. Must not panic whatever the record says: records come from
    /// disk, and a checksum only proves they are what was written.
    fn apply(&mut self, record: &Self::Record);

    /// Called before the log is replayed at open, so the state may note what the replay
    /// did (see [`ReplayedExpunges`](super::mailbox::ReplayedExpunges)).
    fn begin_replay(&mut self) {}

    /// Reads a snapshot written by an older version of this state's type (returns its
    /// generation and the state), when the type has changed since.
    fn from_older_snapshot(_bytes: &[u8]) -> Option<(u64, Self)> {
        None
    }
}

/// What went wrong in the store; the actor reports it as `MailboxError::Storage`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is corrupt at offset {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("cannot encode record: {0}")]
    Encode(#[from] postcard::Error),
    /// A commit is already running (the caller's bug; the actor never does this).
    #[error("a commit is already in progress")]
    Busy,
    /// A compaction failed half way (its snapshot is in place, the new log is not): the
    /// journal writes nothing more until it is opened again.
    #[error("the journal in {0} must be reopened after a failed compaction")]
    NeedsReopen(PathBuf),
}

impl StoreError {
    pub fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
        move |source| StoreError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Counters shared by every store of a node (tests read them; metrics will too).
#[derive(Debug, Default)]
pub struct StoreMetrics {
    /// fsyncs of log files (one per commit batch).
    pub log_syncs: AtomicU64,
    /// Transactions written.
    pub transactions: AtomicU64,
    /// Snapshots written by compaction.
    pub snapshots: AtomicU64,
    /// Journals (logs or snapshots) found damaged on open, not merely torn.
    pub recovery_damaged: AtomicU64,
    /// Messages and mailboxes found on disk unlisted and listed again.
    pub recovery_relisted: AtomicU64,
    /// Files moved into a `quarantine/` directory.
    pub recovery_quarantined: AtomicU64,
    /// Entries found without their message file.
    pub recovery_missing: AtomicU64,
}

/// What recovery found and did; the caller logs it (`warn` unless [`is_clean`]).
///
/// [`is_clean`]: RecoveryReport::is_clean
#[derive(Debug, Default)]
pub struct RecoveryReport {
    pub dir: PathBuf,
    pub snapshot_generation: Option<u64>,
    pub transactions_replayed: u64,
    pub truncation: Option<Truncation>,
    /// The snapshot failed its checksum or did not decode: where it was kept, and why.
    pub snapshot_lost: Option<(PathBuf, String)>,
    /// Leftovers removed: stale logs of a generation a snapshot covers, temporary files
    /// (never renamed into place, so never acknowledged).
    pub removed: Vec<PathBuf>,
    /// Files that belong to nothing and cannot be made into anything, moved into
    /// `quarantine/` (never deleted).
    pub quarantined: Vec<PathBuf>,
    /// Things found on disk that the journal did not list, listed again: message blobs
    /// re-added with new UIDs, mailbox directories re-listed under `Recovered/`.
    pub relisted: u64,
    /// Entries whose message file is missing (kept: FETCH fails for them alone).
    pub missing_files: u64,
    /// Entries whose message file is missing, expunged by an explicit repair (`roost fsck`).
    pub dropped_entries: u64,
}

impl RecoveryReport {
    /// Nothing was cut or cleaned up: the last shutdown (or crash) left no trace.
    pub fn is_clean(&self) -> bool {
        self.truncation.is_none()
            && self.snapshot_lost.is_none()
            && self.removed.is_empty()
            && self.quarantined.is_empty()
            && self.relisted == 0
            && self.dropped_entries == 0
            && self.missing_files == 0
    }

    /// The journal itself was damaged (not merely a torn tail): records or the snapshot
    /// were lost, so what is on disk beyond it must be listed again.
    pub fn journal_damaged(&self) -> bool {
        self.snapshot_lost.is_some()
            || self
                .truncation
                .as_ref()
                .is_some_and(|t| matches!(t.error, log::LogError::Corrupt { .. }))
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "recovered {}: ", self.dir.display())?;
        match self.snapshot_generation {
            Some(g) => write!(f, "snapshot generation {g}")?,
            None => write!(f, "no snapshot")?,
        }
        write!(f, " + {} transactions", self.transactions_replayed)?;
        if let Some((kept, reason)) = &self.snapshot_lost {
            write!(
                f,
                "; damaged snapshot ({reason}) kept in {}",
                kept.display()
            )?;
        }
        if let Some(t) = &self.truncation {
            write!(f, "; {} (dropped {} bytes", t.error, t.dropped_bytes)?;
            if t.resynced_records > 0 {
                write!(f, ", {} records after it recovered", t.resynced_records)?;
            }
            if let Some(kept) = &t.kept_at {
                write!(f, ", kept in {}", kept.display())?;
            }
            write!(f, ")")?;
        }
        if !self.removed.is_empty() {
            write!(f, "; removed {} leftover files", self.removed.len())?;
        }
        if self.relisted > 0 {
            write!(
                f,
                "; listed {} unlisted items found on disk again",
                self.relisted
            )?;
        }
        if self.missing_files > 0 {
            write!(f, "; {} entries have no message file", self.missing_files)?;
        }
        if self.dropped_entries > 0 {
            write!(f, "; expunged {} of them", self.dropped_entries)?;
        }
        if !self.quarantined.is_empty() {
            write!(f, "; quarantined {} files", self.quarantined.len())?;
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct SnapshotFile<S> {
    generation: u64,
    state: S,
}

const SNAPSHOT: &str = "snapshot";

fn log_name(generation: u64) -> String {
    format!("log.{generation}")
}

/// Snapshots may be large (a mailbox of a million messages is ~40 MB).
const MAX_SNAPSHOT: u32 = u32::MAX;

/// The open log file of the current generation.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    generation: u64,
    file: File,
    transactions_in_log: u64,
    compact_after: u64,
    metrics: Arc<StoreMetrics>,
    /// A compaction failed after its snapshot was in place: writing on to this log would
    /// put records where recovery does not look.
    needs_reopen: bool,
}

/// A durable state plus its journal.
#[derive(Debug)]
pub struct Store<S: Durable> {
    state: S,
    /// `None` while a [`Commit`] holds it.
    journal: Option<Journal>,
    staged: Vec<u8>,
    staged_transactions: u64,
}

impl<S: Durable> Store<S> {
    /// Opens (creating if needed) the store in `dir`: loads the snapshot, or starts from
    /// `initial` when there is none, replays the log and repairs a torn or corrupt tail.
    /// Blocking.
    ///
    /// # Errors
    /// I/O errors, or a snapshot that fails its checksum (never silently replaced).
    pub fn open(
        dir: &Path,
        initial: S,
        compact_after: u64,
        metrics: Arc<StoreMetrics>,
    ) -> Result<(Store<S>, RecoveryReport), StoreError> {
        Self::open_while(dir, initial, compact_after, metrics, &|| true)
    }

    /// As [`Store::open`], asking `may_change` (the account's fence) right before each
    /// change to the files: a log repair, a damaged snapshot kept aside, each leftover
    /// removed (issue 19 finding 1).
    ///
    /// # Errors
    /// As [`Store::open`], or a change `may_change` refused.
    pub fn open_while(
        dir: &Path,
        initial: S,
        compact_after: u64,
        metrics: Arc<StoreMetrics>,
        may_change: &dyn Fn() -> bool,
    ) -> Result<(Store<S>, RecoveryReport), StoreError> {
        let fenced = || {
            StoreError::io("change", dir)(io::Error::other(
                "this node may no longer write the account",
            ))
        };
        durable_fs::create_dir_durable(dir).map_err(StoreError::io("create", dir))?;
        let mut report = RecoveryReport {
            dir: dir.to_path_buf(),
            ..RecoveryReport::default()
        };
        let (generation, mut state) = match read_snapshot::<S>(dir) {
            Ok(Some(snap)) => {
                report.snapshot_generation = Some(snap.generation);
                (snap.generation, snap.state)
            }
            Ok(None) => (latest_log_generation(dir)?, initial),
            // Never fatal and never silently replaced: the damaged file is kept aside, and
            // the state is rebuilt from the newest log plus what the caller finds on disk
            // (blobs, mailbox directories): see docs/storage.md, "Recovery invariants".
            Err(StoreError::Corrupt { reason, .. }) => {
                if !may_change() {
                    return Err(fenced());
                }
                let kept = keep_aside(dir, SNAPSHOT)?;
                report.snapshot_lost = Some((kept, reason));
                (latest_log_generation(dir)?, initial)
            }
            Err(e) => return Err(e),
        };
        let log_path = dir.join(log_name(generation));
        let (transactions, truncation) =
            log::read_and_repair::<Vec<S::Record>>(&log_path, may_change)
                .map_err(StoreError::io("read", &log_path))?;
        state.begin_replay();
        for txn in &transactions {
            for record in txn {
                state.apply(record);
            }
        }
        report.transactions_replayed = transactions.len() as u64;
        report.truncation = truncation;
        // Without a snapshot, older logs are the only other history: kept, not removed.
        report.removed = remove_leftovers(
            dir,
            generation,
            report.snapshot_generation.is_some(),
            may_change,
        )?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(StoreError::io("open", &log_path))?;
        let journal = Journal {
            dir: dir.to_path_buf(),
            generation,
            file,
            transactions_in_log: transactions.len() as u64,
            compact_after: compact_after.max(1),
            metrics,
            needs_reopen: false,
        };
        let store = Store {
            state,
            journal: Some(journal),
            staged: Vec::new(),
            staged_transactions: 0,
        };
        Ok((store, report))
    }

    /// The durable state in `dir` as a reader sees it, changing nothing (no repair, no
    /// leftovers removed): for counting what a store holds while its writer may run.
    /// A compaction between reading the snapshot and its log is noticed (the snapshot
    /// changed) and the read starts over. Blocking.
    ///
    /// # Errors
    /// I/O errors, or a snapshot that fails its checksum.
    pub fn read_only(dir: &Path, initial: S) -> Result<S, StoreError> {
        let snapshot = dir.join(SNAPSHOT);
        let stamp = || {
            fs::metadata(&snapshot).ok().map(|m| {
                (
                    m.len(),
                    m.modified().ok(),
                    std::os::unix::fs::MetadataExt::ino(&m),
                )
            })
        };
        let mut attempts = 0;
        loop {
            let before = stamp();
            let (generation, mut state) = match read_snapshot::<S>(dir)? {
                Some(snap) => (snap.generation, snap.state),
                None => (latest_log_generation(dir)?, initial.clone()),
            };
            let log_path = dir.join(log_name(generation));
            let transactions = log::read_good::<Vec<S::Record>>(&log_path)
                .map_err(StoreError::io("read", &log_path))?;
            attempts += 1;
            if stamp() != before && attempts < 5 {
                continue;
            }
            for record in transactions.iter().flatten() {
                state.apply(record);
            }
            return Ok(state);
        }
    }

    /// Adds what recovery did to the node's counters (`roost_store_recovery_total`).
    pub fn count_recovery(&self, report: &RecoveryReport) {
        let Some(j) = &self.journal else { return };
        let m = &j.metrics;
        m.recovery_damaged
            .fetch_add(u64::from(report.journal_damaged()), Ordering::Relaxed);
        m.recovery_relisted
            .fetch_add(report.relisted, Ordering::Relaxed);
        m.recovery_quarantined
            .fetch_add(report.quarantined.len() as u64, Ordering::Relaxed);
        m.recovery_missing
            .fetch_add(report.missing_files, Ordering::Relaxed);
    }

    /// The state, including staged (not yet durable) transactions.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Mutable access for bookkeeping that is not persisted through records (e.g.
    /// shrinking buffers); persisted changes must go through [`stage`](Self::stage).
    pub fn state_mut_unlogged(&mut self) -> &mut S {
        &mut self.state
    }

    /// Applies a transaction to the state and queues its encoding for the next commit.
    /// An empty transaction is ignored.
    ///
    /// # Errors
    /// `Encode` (the state is untouched then).
    pub fn stage(&mut self, txn: Vec<S::Record>) -> Result<(), StoreError> {
        if txn.is_empty() {
            return Ok(());
        }
        log::encode(&txn, &mut self.staged)?;
        for record in &txn {
            self.state.apply(record);
        }
        self.staged_transactions += 1;
        Ok(())
    }

    pub fn has_staged(&self) -> bool {
        self.staged_transactions > 0
    }

    /// Takes everything staged and the log file into a [`Commit`] to run on a blocking
    /// task. When compaction is due, the commit carries a copy of the state too (a
    /// memcpy here rather than an encode, to keep the actor thread short).
    ///
    /// # Errors
    /// `Busy` when a commit is already out.
    pub fn begin_commit(&mut self) -> Result<Commit<S>, StoreError> {
        let journal = self.journal.take().ok_or(StoreError::Busy)?;
        let transactions = std::mem::take(&mut self.staged_transactions);
        let compact = (journal.transactions_in_log + transactions >= journal.compact_after)
            .then(|| self.state.clone());
        Ok(Commit {
            journal,
            bytes: std::mem::take(&mut self.staged),
            transactions,
            compact,
        })
    }

    /// Takes the log file back after [`Commit::run`].
    pub fn finish_commit(&mut self, done: Committed) -> Result<(), StoreError> {
        self.journal = Some(done.journal);
        done.result
    }

    /// Stages nothing new; commits what is staged, on this thread (tests, recovery and the
    /// account actor's blocking tasks).
    ///
    /// # Errors
    /// As [`Commit::run`].
    pub fn commit(&mut self) -> Result<(), StoreError> {
        self.commit_while(&|| true)
    }

    /// As [`Store::commit`], with [`Commit::run_while`]'s guard on compaction.
    ///
    /// # Errors
    /// As [`Commit::run`].
    pub fn commit_while(&mut self, may_change: &dyn Fn() -> bool) -> Result<(), StoreError> {
        let commit = self.begin_commit()?;
        let done = commit.run_while(may_change);
        self.finish_commit(done)
    }
}

/// A batch of staged transactions on its way to disk.
pub struct Commit<S> {
    journal: Journal,
    bytes: Vec<u8>,
    transactions: u64,
    compact: Option<S>,
}

/// The outcome of [`Commit::run`]; give it back to [`Store::finish_commit`].
pub struct Committed {
    journal: Journal,
    result: Result<(), StoreError>,
}

impl<S: Durable> Commit<S> {
    /// Writes all staged transactions and fsyncs the log once (group commit), then
    /// compacts if due. Blocking.
    pub fn run(self) -> Committed {
        self.run_while(&|| true)
    }

    /// As [`Commit::run`], asking `may_change` (the account's fence) again right before a
    /// compaction writes the snapshot and right before it removes the old log: a former
    /// owner that paused during the fsync must not replace the log the new owner appends
    /// to (issue 19 finding 1). A refused compaction is left to a later commit.
    pub fn run_while(mut self, may_change: &dyn Fn() -> bool) -> Committed {
        let result = self.write(may_change);
        Committed {
            journal: self.journal,
            result,
        }
    }

    fn write(&mut self, may_change: &dyn Fn() -> bool) -> Result<(), StoreError> {
        let j = &mut self.journal;
        if j.needs_reopen {
            return Err(StoreError::NeedsReopen(j.dir.clone()));
        }
        if !self.bytes.is_empty() {
            let path = j.dir.join(log_name(j.generation));
            let before = j.file.metadata().map(|m| m.len());
            let written = j
                .file
                .write_all(&self.bytes)
                .and_then(|()| timed_fsync(FsyncKind::Log, || j.file.sync_data()));
            if let Err(e) = written {
                // A full disk may have taken part of the batch: cut it off again, so the log
                // ends on a frame boundary and a refused change leaves nothing behind.
                if let Ok(len) = before {
                    let _ = j.file.set_len(len).and_then(|()| j.file.sync_data());
                }
                return Err(StoreError::io("append to", &path)(e));
            }
            j.transactions_in_log += self.transactions;
            j.metrics.log_syncs.fetch_add(1, Ordering::Relaxed);
            j.metrics
                .transactions
                .fetch_add(self.transactions, Ordering::Relaxed);
        }
        // The batch is durable now: whatever happens to the compaction, its writes stand
        // and are answered as done (a NO for a stored change invites a duplicate, issue 19
        // finding 5). A failed or fenced compaction is tried again at the next commit.
        if let Some(state) = self.compact.take() {
            if !may_change() {
                return Ok(());
            }
            if let Err(e) = compact(j, state, may_change) {
                tracing::warn!(dir = %j.dir.display(), error = %e, "cannot compact the journal");
            }
        }
        Ok(())
    }
}

fn compact<S: Durable>(
    j: &mut Journal,
    state: S,
    may_change: &dyn Fn() -> bool,
) -> Result<(), StoreError> {
    let next = j.generation + 1;
    let mut bytes = Vec::new();
    log::encode(
        &SnapshotFile {
            generation: next,
            state,
        },
        &mut bytes,
    )?;
    durable_fs::write_file_atomic(&j.dir, SNAPSHOT, &[&bytes])
        .map_err(StoreError::io("write snapshot in", &j.dir))?;
    // From here on the new snapshot is the truth; a missing new log reads as empty. Until
    // the new log is in place (and its name durable), nothing more may be written.
    j.needs_reopen = true;
    let new_path = j.dir.join(log_name(next));
    // Written sequentially from offset 0, so a plain (non-append) handle is equivalent.
    j.file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&new_path)
        .map_err(StoreError::io("create", &new_path))?;
    let old_path = j.dir.join(log_name(j.generation));
    j.generation = next;
    j.transactions_in_log = 0;
    j.metrics.snapshots.fetch_add(1, Ordering::Relaxed);
    // A stale log left behind is removed at the next open (the snapshot covers it); a
    // former owner that lost the fence meanwhile leaves it (issue 19 finding 1).
    if may_change() {
        if let Err(e) = fs::remove_file(&old_path) {
            tracing::warn!(path = %old_path.display(), error = %e, "cannot remove the compacted log");
        }
    }
    durable_fs::sync_dir(&j.dir).map_err(StoreError::io("sync", &j.dir))?;
    j.needs_reopen = false;
    Ok(())
}

fn read_snapshot<S: Durable>(dir: &Path) -> Result<Option<SnapshotFile<S>>, StoreError> {
    let path = dir.join(SNAPSHOT);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", &path)(e)),
    };
    let mut decoded = log::decode_all::<SnapshotFile<S>>(&bytes, MAX_SNAPSHOT);
    // The snapshot is renamed into place whole, so any damage is real corruption.
    let corrupt = |offset, reason: &str| StoreError::Corrupt {
        path: path.clone(),
        offset,
        reason: reason.to_string(),
    };
    if let Some(err) = decoded.error {
        // Its checksum held but it does not decode: a format this version replaced?
        if let Some((generation, state)) = S::from_older_snapshot(&bytes) {
            return Ok(Some(SnapshotFile { generation, state }));
        }
        return Err(corrupt(err.offset(), &err.to_string()));
    }
    match (decoded.records.pop(), decoded.records.is_empty()) {
        (Some(snap), true) => Ok(Some(snap)),
        (None, _) => Err(corrupt(0, "empty snapshot")),
        (Some(_), false) => Err(corrupt(0, "more than one snapshot frame")),
    }
}

/// Decodes a snapshot file's frame as generation and a `T` (an older form of a state).
pub(crate) fn decode_snapshot_as<T: DeserializeOwned>(bytes: &[u8]) -> Option<(u64, T)> {
    let mut decoded = log::decode_all::<SnapshotFile<T>>(bytes, MAX_SNAPSHOT);
    match (
        decoded.error,
        decoded.records.pop(),
        decoded.records.is_empty(),
    ) {
        (None, Some(snap), true) => Some((snap.generation, snap.state)),
        _ => None,
    }
}

/// The highest `log.<n>` in `dir` (0 when there is none): the current log of a store whose
/// snapshot is missing (compaction writes the snapshot before it starts a new log, so a
/// newer log without a snapshot means the snapshot was lost).
fn latest_log_generation(dir: &Path) -> Result<u64, StoreError> {
    let mut latest = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        // A mailbox never opened has no directory: an empty store (readers see this).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io("list", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(StoreError::io("list", dir))?;
        let name = entry.file_name();
        if let Some(g) = name
            .to_str()
            .and_then(|n| n.strip_prefix("log."))
            .and_then(|n| n.parse::<u64>().ok())
        {
            latest = latest.max(g);
        }
    }
    Ok(latest)
}

/// Renames `dir/name` to the first free `name.corrupt-<k>` and syncs the directory.
pub(crate) fn keep_aside(dir: &Path, name: &str) -> Result<PathBuf, StoreError> {
    let from = dir.join(name);
    let to = (0u32..)
        .map(|k| dir.join(format!("{name}.corrupt-{k}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("{name}.corrupt")));
    fs::rename(&from, &to).map_err(StoreError::io("keep aside", &from))?;
    durable_fs::sync_dir(dir).map_err(StoreError::io("sync", dir))?;
    Ok(to)
}

/// Removes temporary files a crash left behind and, when a snapshot covers them, logs of
/// other generations.
fn remove_leftovers(
    dir: &Path,
    generation: u64,
    snapshot_present: bool,
    may_change: &dyn Fn() -> bool,
) -> Result<Vec<PathBuf>, StoreError> {
    let current = log_name(generation);
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io("list", dir))? {
        let entry = entry.map_err(StoreError::io("list", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale_log = snapshot_present
            && name.starts_with("log.")
            && name != current
            && name[4..].bytes().all(|b| b.is_ascii_digit());
        if (stale_log || name.starts_with(TEMP_PREFIX)) && may_change() {
            let path = entry.path();
            fs::remove_file(&path).map_err(StoreError::io("remove", &path))?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        durable_fs::sync_dir(dir).map_err(StoreError::io("sync", dir))?;
    }
    Ok(removed)
}
