//! Fencing: a node may write an account's files only while it holds the account's lease,
//! proven locally (the lease's deadline has not passed) and on the shared filesystem (no
//! newer owner has claimed the account since).
//!
//! The new owner writes its epoch into `<account>/fence` before its first write; an old
//! owner that was paused (SIGSTOP, a long GC-like stall, a partition) finds a higher epoch
//! there, or its own deadline passed, and refuses to write. The window between the check and
//! the write is not closed by this alone (that would need a lock the shared filesystem may
//! not offer); the lease deadline, checked first, keeps a former owner from reaching it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The file in an account's directory holding the epoch of its latest owner.
pub const FENCE_FILE: &str = "fence";

#[derive(Debug)]
pub struct Fence {
    epoch: u64,
    file: PathBuf,
    valid_until: Mutex<Instant>,
    lost: AtomicBool,
    /// The owner is letting go (drain, move, shutdown): no new writes, but while its lease
    /// holds it still removes the files its own refused writes and expunges left.
    handing_over: AtomicBool,
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fenced {
    #[error("the lease on this account was lost")]
    Lost,
    #[error("the lease on this account expired")]
    Expired,
    #[error("a newer owner (epoch {newer}) has taken this account over from epoch {ours}")]
    Superseded { ours: u64, newer: u64 },
}

impl Fence {
    pub fn new(account_dir: &Path, epoch: u64, valid_until: Instant) -> Fence {
        Fence {
            epoch,
            file: account_dir.join(FENCE_FILE),
            valid_until: Mutex::new(valid_until),
            lost: AtomicBool::new(false),
            handing_over: AtomicBool::new(false),
        }
    }

    /// Records this owner's epoch on the shared filesystem (durably) before its first write.
    ///
    /// # Errors
    /// When the file cannot be written; the account must then not be served.
    pub fn claim(&self) -> std::io::Result<()> {
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Read, compare and replace under an exclusive lock on `fence.lock`: two claims that
        // overlap (a stale one from a resumed former owner beside the new one) must not both
        // pass the comparison and leave the lower epoch in the file.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.file.with_extension("lock"))?;
        lock.lock()?;
        // Epochs never go backwards on the shared storage: a claim below the recorded one is
        // a stale lease (or a Redis that forgot), not an owner. (Equal: this same lease,
        // adopted again.)
        let recorded = read_epoch(&self.file);
        if recorded > self.epoch {
            return Err(std::io::Error::other(format!(
                "the fence records epoch {recorded}, above this claim's epoch {}",
                self.epoch
            )));
        }
        // Unique per claim: two claims in one process must not share a temporary file.
        static CLAIMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = CLAIMS.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .file
            .with_extension(format!("tmp.{}.{n}", std::process::id()));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(self.epoch.to_string().as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.file)?;
        if let Some(dir) = self.file.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// The epoch of the lease this fence guards.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The epoch recorded in `account_dir`'s fence file (0 when there is none yet).
    pub fn recorded(account_dir: &Path) -> u64 {
        read_epoch(&account_dir.join(FENCE_FILE))
    }

    pub fn extend(&self, until: Instant) {
        let mut v = self
            .valid_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if until > *v {
            *v = until;
        }
    }

    pub fn mark_lost(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst) || self.handing_over.load(Ordering::SeqCst)
    }

    pub fn mark_handing_over(&self) {
        self.handing_over.store(true, Ordering::SeqCst);
    }

    /// Whether this node may still remove files it wrote itself and that nothing lists
    /// (a refused APPEND's, an expunged message's): as [`Fence::check`], also while it hands
    /// the account over. Blocking.
    ///
    /// # Errors
    /// The reason changing files is no longer allowed.
    pub fn check_cleanup(&self) -> Result<(), Fenced> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Fenced::Lost);
        }
        self.check_lease()
    }

    /// Whether this node may write now. Blocking (reads the fence file): call it on the
    /// blocking task that is about to write.
    ///
    /// # Errors
    /// The reason writing is no longer allowed.
    pub fn check(&self) -> Result<(), Fenced> {
        if self.is_lost() {
            return Err(Fenced::Lost);
        }
        self.check_lease()
    }

    /// The lease's deadline and the epoch on the shared storage.
    fn check_lease(&self) -> Result<(), Fenced> {
        let until = *self
            .valid_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if Instant::now() >= until {
            return Err(Fenced::Expired);
        }
        let newer = read_epoch(&self.file);
        if newer > self.epoch {
            self.mark_lost();
            return Err(Fenced::Superseded {
                ours: self.epoch,
                newer,
            });
        }
        Ok(())
    }
}

/// The epoch in a fence file; 0 when it is missing or unreadable.
fn read_epoch(file: &Path) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_newer_claim_fences_the_older_owner() {
        let dir = tempfile::tempdir().unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        let old = Fence::new(dir.path(), 3, later);
        old.claim().unwrap();
        assert_eq!(old.check(), Ok(()));
        let new = Fence::new(dir.path(), 4, later);
        new.claim().unwrap();
        assert_eq!(old.check(), Err(Fenced::Superseded { ours: 3, newer: 4 }));
        assert!(old.is_lost());
        assert_eq!(new.check(), Ok(()));
    }

    #[test]
    fn an_expired_lease_refuses_writes_until_extended() {
        let dir = tempfile::tempdir().unwrap();
        let f = Fence::new(dir.path(), 1, Instant::now());
        assert_eq!(f.check(), Err(Fenced::Expired));
        f.extend(Instant::now() + Duration::from_secs(5));
        assert_eq!(f.check(), Ok(()));
        f.mark_lost();
        assert_eq!(f.check(), Err(Fenced::Lost));
    }

    #[test]
    fn a_claim_below_the_recorded_epoch_is_refused_and_concurrent_claims_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        Fence::new(dir.path(), 7, later).claim().unwrap();
        assert_eq!(Fence::recorded(dir.path()), 7);
        assert!(Fence::new(dir.path(), 6, later).claim().is_err());
        // The same lease adopted again is fine.
        Fence::new(dir.path(), 7, later).claim().unwrap();
        let claims: Vec<_> = (8..40)
            .map(|epoch| {
                let dir = dir.path().to_owned();
                std::thread::spawn(move || Fence::new(&dir, epoch, later).claim())
            })
            .collect();
        for claim in claims {
            // Each either wins or finds a newer epoch already recorded; never an I/O error
            // from a shared temporary file.
            if let Err(e) = claim.join().unwrap() {
                assert!(e.to_string().contains("above this claim's epoch"), "{e}");
            }
        }
        // Claims are serialized: the highest epoch is the one left, whatever the order.
        assert_eq!(Fence::recorded(dir.path()), 39);
    }
}
