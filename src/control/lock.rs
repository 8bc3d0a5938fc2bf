//! The exclusive lock on a data directory (`<data_dir>/roost.lock`, `flock`).
//!
//! The kernel releases the lock when its holder exits, `kill -9` included, so there is never
//! a stale lock to clean up. The file names the holder, for the message the next process
//! prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Which kind of process holds the lock (written into the lock file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// `roost serve` without Redis.
    Serve,
    /// `roost imap` with no node running.
    Imap,
    /// `roost fsck`, which runs offline only.
    Fsck,
}

impl Holder {
    fn name(self) -> &'static str {
        match self {
            Holder::Serve => "roost serve",
            Holder::Imap => "roost imap",
            Holder::Fsck => "roost fsck",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data directory {dir} is in use by {holder}: only one process may write it \
         (run roost with another data_dir, or stop that process)"
    )]
    Held { dir: PathBuf, holder: String },
    #[error("cannot lock the data directory ({path}): {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// The lock file of a data directory.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("roost.lock")
    }

    /// Takes the lock without waiting.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when another process has it.
    pub fn acquire(data_dir: &Path, holder: Holder) -> Result<DataDirLock, LockError> {
        let path = Self::path(data_dir);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(err));
            }
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let holder = text.trim();
            return Err(LockError::Held {
                dir: data_dir.to_path_buf(),
                holder: if holder.is_empty() {
                    "another roost process".to_owned()
                } else {
                    holder.to_owned()
                },
            });
        }
        let about = format!("{} (pid {})\n", holder.name(), std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(about.as_bytes()))
            .map_err(io)?;
        Ok(DataDirLock { _file: file, path })
    }

    pub fn file(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), Holder::Serve).unwrap();
        let err = DataDirLock::acquire(dir.path(), Holder::Imap).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("roost serve (pid "), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        drop(first);
        DataDirLock::acquire(dir.path(), Holder::Imap).expect("free again once dropped");
    }
}
