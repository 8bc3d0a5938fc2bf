//! Noticing that a set of files changed, and a task that reloads whatever was built from them.
//!
//! Shared by the IMAP certificate ([`CertResolver`](super::CertResolver)) and the node link's
//! mutual-TLS files (`cluster::link::tls`): both poll modification times rather than use inotify,
//! because the kubelet updates Secret volumes by swapping a symlink, which a poll of the
//! followed path sees and a watch on the old file does not.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// The shortest polling period [`spawn_reloader`] accepts; shorter values (including zero,
/// which `tokio::time::interval` would panic on) are raised to it.
const MIN_RELOAD_PERIOD: Duration = Duration::from_millis(10);

/// A set of files and what they looked like at the last load attempt.
pub(crate) struct Watched {
    paths: Vec<PathBuf>,
    /// Stamps at the last load attempt, successful or not. Comparing against the last
    /// *attempt* (not the last success) means a broken set is reported once, not on every
    /// poll, and is retried as soon as any file changes again. The mutex also keeps two
    /// reloads from interleaving.
    seen: Mutex<Vec<Option<FileStamp>>>,
}

impl Watched {
    /// Records the files as they are now. Call it *before* the first read: if a file changes
    /// between the two, the next poll sees a newer stamp than the one recorded and reads again.
    pub fn new(paths: Vec<PathBuf>) -> Watched {
        let seen = stamps(&paths);
        Watched {
            paths,
            seen: Mutex::new(seen),
        }
    }

    /// Runs `load` if any file's identity, size or modification time changed since the last
    /// attempt. The paths are stat'ed afresh each time, following symlinks, so a swapped
    /// symlink counts as a change.
    ///
    /// Returns `Ok(true)` when `load` ran and succeeded, `Ok(false)` when nothing changed
    /// (including after a failed attempt on the same files).
    ///
    /// # Errors
    /// Whatever `load` returns; the caller keeps what it had.
    pub fn reload_if_changed<E>(&self, load: impl FnOnce() -> Result<(), E>) -> Result<bool, E> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let now = stamps(&self.paths);
        if now == *seen {
            return Ok(false);
        }
        *seen = now;
        load().map(|()| true)
    }

    /// The files, for log lines.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        names.join(", ")
    }
}

/// Something rebuilt from files when they change.
pub(crate) trait Reload: Send + Sync + 'static {
    type Error: fmt::Display + Send + 'static;

    /// What is reloaded, for log lines ("TLS certificate", "node link TLS").
    const WHAT: &'static str;

    /// Re-reads the files if they changed; `Ok(true)` when the new contents are in use.
    ///
    /// # Errors
    /// When the files changed but cannot be used; the previous contents stay in use.
    fn reload(&self) -> Result<bool, Self::Error>;

    /// The files watched, for log lines.
    fn watched(&self) -> &Watched;
}

/// Starts a task that calls [`Reload::reload`] every `every` (at least 10 ms) and logs the
/// outcome: `info` when new files are in use, `error` when they changed but cannot be used.
///
/// The task holds only a weak reference, so it ends by itself once `target` is dropped; abort
/// the returned handle to stop it sooner.
///
/// # Panics
/// Like `tokio::spawn`, if called outside a Tokio runtime.
pub(crate) fn spawn_reloader<R: Reload>(target: &Arc<R>, every: Duration) -> JoinHandle<()> {
    let weak: Weak<R> = Arc::downgrade(target);
    let mut ticks = tokio::time::interval(every.max(MIN_RELOAD_PERIOD));
    // After a stall, poll once rather than in a burst.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let what = R::WHAT;
    tokio::spawn(async move {
        // The first tick fires at once, and the files were loaded just now.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(target) = weak.upgrade() else {
                return;
            };
            let files = target.watched().describe();
            // stat and read are blocking file I/O; keep them off the async workers.
            match tokio::task::spawn_blocking(move || target.reload()).await {
                Ok(Ok(true)) => tracing::info!(
                    %files,
                    "{what} files changed; new connections use them"
                ),
                Ok(Ok(false)) => {}
                Ok(Err(error)) => tracing::error!(
                    %files,
                    %error,
                    "{what} files changed but cannot be used; still using the previous ones"
                ),
                Err(error) => tracing::error!(
                    %error,
                    "{what} reload task failed; still using the previous files"
                ),
            }
        }
    })
}

fn stamps(paths: &[PathBuf]) -> Vec<Option<FileStamp>> {
    paths.iter().map(|p| FileStamp::of(p)).collect()
}

/// Identity, size and modification time of one file, read through symlinks; `None` when
/// the path cannot be stat'ed (missing, or mid-swap), which is itself a state to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    /// Device and inode: a symlink swapped to a new file changes these even if the new
    /// file has the same size and a modification time within the filesystem's resolution.
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let meta = fs::metadata(path).ok()?;
        Some(FileStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
        })
    }
}
