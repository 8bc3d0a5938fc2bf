//! The server's shared, self-refreshing view of the users file.
//!
//! `roost user add` edits the file while the server runs; lookups notice the change by the
//! file's modification time, size and inode (a save renames a new file into place, so the
//! inode changes even when time and size do not). The check costs one `stat` and is made at
//! most once per [`CHECK_INTERVAL`], on lookup, so an idle server does no work at all.
//!
//! A file that disappears or stops parsing does not log everybody out: the last good copy
//! stays in use and a warning is logged once per change.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::auth::users::UsersFile;
use crate::store::quota::Limits;

/// How often lookups may look at the file's metadata.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What identifies one version of the file on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        }
    }
}

/// The users database could not be read at all (never loaded successfully).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("users database unavailable: {0}")]
pub struct Unavailable(pub String);

/// One user's stored secrets.
#[derive(Debug)]
struct Stored {
    phc: String,
    scram: Option<String>,
    quota: Option<Limits>,
}

#[derive(Debug, Default)]
struct State {
    /// The last good copy: name to PHC string and RFC 5803 SCRAM keys. `None` until a
    /// load succeeds.
    users: Option<Arc<HashMap<String, Stored>>>,
    /// When the metadata was last looked at.
    checked: Option<Instant>,
    /// The version last tried, good or bad (`None` when the file was missing), so a broken
    /// file is parsed and warned about once, not once per second.
    seen: Option<Option<Stamp>>,
    /// Why the last attempt failed, for [`Unavailable`] while there is no good copy.
    last_error: Option<String>,
}

/// Users shared by all sessions (`Arc<UserDb>`); safe to use from any thread.
#[derive(Debug)]
pub struct UserDb {
    path: PathBuf,
    check_interval: Duration,
    /// A std mutex: it is held only for a `stat` and, rarely, reading a small file, and never
    /// across an `.await`. Callers run on blocking threads (see `Authenticator`).
    state: Mutex<State>,
}

impl UserDb {
    /// A database over `path`. Nothing is read until the first lookup.
    pub fn new(path: PathBuf) -> UserDb {
        UserDb::with_check_interval(path, CHECK_INTERVAL)
    }

    pub(crate) fn with_check_interval(path: PathBuf, check_interval: Duration) -> UserDb {
        UserDb {
            path,
            check_interval,
            state: Mutex::new(State::default()),
        }
    }

    /// The stored PHC string for `name`, reloading the file first if it changed.
    /// This may touch the disk: call it from a blocking context.
    ///
    /// # Errors
    /// [`Unavailable`] if the file has never been read successfully.
    pub fn lookup(&self, name: &str) -> Result<Option<String>, Unavailable> {
        Ok(self.snapshot()?.get(name).map(|u| u.phc.clone()))
    }

    /// The stored SCRAM-SHA-256 keys (RFC 5803 form) for `name`, if the user has them.
    ///
    /// # Errors
    /// [`Unavailable`] as for [`UserDb::lookup`].
    pub fn lookup_scram(&self, name: &str) -> Result<Option<String>, Unavailable> {
        Ok(self.snapshot()?.get(name).and_then(|u| u.scram.clone()))
    }

    /// The user's own quota limits (`quota-*` fields), if the file gives any.
    ///
    /// # Errors
    /// [`Unavailable`] as for [`UserDb::lookup`].
    pub fn lookup_quota(&self, name: &str) -> Result<Option<Limits>, Unavailable> {
        Ok(self.snapshot()?.get(name).and_then(|u| u.quota))
    }

    /// How many users the current copy has.
    ///
    /// # Errors
    /// [`Unavailable`] as for [`UserDb::lookup`].
    #[cfg(test)]
    pub fn user_count(&self) -> Result<usize, Unavailable> {
        Ok(self.snapshot()?.len())
    }

    fn snapshot(&self) -> Result<Arc<HashMap<String, Stored>>, Unavailable> {
        let mut state = self.lock();
        let now = Instant::now();
        let due = state
            .checked
            .is_none_or(|at| now.duration_since(at) >= self.check_interval);
        if due {
            state.checked = Some(now);
            self.refresh(&mut state);
        }
        state.users.clone().ok_or_else(|| {
            Unavailable(
                state
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "not loaded".into()),
            )
        })
    }

    /// Reloads the file if its stamp differs from the last one tried.
    fn refresh(&self, state: &mut State) {
        let stamp = match fs::metadata(&self.path) {
            Ok(meta) => Some(Stamp::of(&meta)),
            Err(_) => None,
        };
        if state.seen == Some(stamp) {
            return;
        }
        state.seen = Some(stamp);
        match UsersFile::load(&self.path) {
            Ok(file) => {
                let users: HashMap<String, Stored> = file
                    .list()
                    .filter_map(|name| {
                        let stored = Stored {
                            phc: file.get(name)?.to_owned(),
                            scram: file.scram(name).map(str::to_owned),
                            quota: file.quota(name),
                        };
                        Some((name.to_owned(), stored))
                    })
                    .collect();
                tracing::info!(path = %self.path.display(), users = users.len(), "users file loaded");
                state.users = Some(Arc::new(users));
                state.last_error = None;
            }
            Err(e) => {
                let kept = state.users.is_some();
                tracing::warn!(error = %e, keeping_last_good_copy = kept, "users file not loaded");
                state.last_error = Some(e.to_string());
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent (every field is
        // replaced whole), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::DUMMY_HASH;

    fn write(path: &std::path::Path, text: &str) {
        // Through `save`'s rename, as `roost user` does, so the inode changes.
        let tmp = path.with_extension("new");
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, path).unwrap();
    }

    fn line(name: &str) -> String {
        format!("{name}:{DUMMY_HASH}\n")
    }

    #[test]
    fn missing_file_is_unavailable_until_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let db = UserDb::with_check_interval(path.clone(), Duration::ZERO);
        assert!(db.lookup("alice").is_err());
        write(&path, &line("alice"));
        assert_eq!(db.lookup("alice").unwrap().as_deref(), Some(DUMMY_HASH));
        assert_eq!(db.lookup("bob").unwrap(), None);
    }

    #[test]
    fn reloads_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        write(&path, &line("alice"));
        let db = UserDb::with_check_interval(path.clone(), Duration::ZERO);
        assert_eq!(db.user_count().unwrap(), 1);
        write(&path, &(line("alice") + &line("bob")));
        assert!(db.lookup("bob").unwrap().is_some());
        write(&path, &line("bob"));
        assert_eq!(db.lookup("alice").unwrap(), None);
    }

    #[test]
    fn checks_at_most_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        write(&path, &line("alice"));
        let db = UserDb::with_check_interval(path.clone(), Duration::from_secs(3600));
        assert_eq!(db.user_count().unwrap(), 1);
        write(&path, &(line("alice") + &line("bob")));
        // Within the interval the old copy is served without looking at the disk.
        assert_eq!(db.lookup("bob").unwrap(), None);
    }

    #[test]
    fn broken_or_missing_file_keeps_the_last_good_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        write(&path, &line("alice"));
        let db = UserDb::with_check_interval(path.clone(), Duration::ZERO);
        assert!(db.lookup("alice").unwrap().is_some());

        write(&path, "alice has no colon\n");
        assert!(db.lookup("alice").unwrap().is_some());

        fs::remove_file(&path).unwrap();
        assert!(db.lookup("alice").unwrap().is_some());

        write(&path, &line("bob"));
        assert_eq!(db.lookup("alice").unwrap(), None);
        assert!(db.lookup("bob").unwrap().is_some());
    }

    #[test]
    fn broken_file_without_good_copy_is_unavailable_with_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        write(&path, "garbage\n");
        let db = UserDb::new(path);
        let Unavailable(reason) = db.lookup("alice").unwrap_err();
        assert!(reason.contains("line 1"), "{reason}");
    }
}
