//! Nodes of one cluster must share one mail storage (issue 19, finding 3): a node whose
//! `data_dir` is another volume (or a wiped one) would serve empty mailboxes with new
//! UIDVALIDITYs after an account moved to it. The shared storage carries an id in
//! `<data_dir>/cluster-storage-id`, and Redis records the id of the storage the cluster
//! uses; a node whose storage has another id, or none while the cluster has one, does not
//! join.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::redis::{random_instance, RedisDirectory};
use super::DirectoryError;
use crate::store::durable_fs;

pub const STORAGE_ID_FILE: &str = "cluster-storage-id";

/// How long a node whose storage has no id yet waits for the first node to write it.
const FIRST_WRITE_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "data_dir {path} is not the mail storage this cluster uses: its storage id is \
         {ours:?}, redis records {cluster:?} (every node must mount the same shared data_dir; \
         a different or wiped volume must not join)"
    )]
    Mismatch {
        path: PathBuf,
        ours: Option<String>,
        cluster: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Redis(#[from] DirectoryError),
}

/// Checks (and on the cluster's first start records) that `data_dir` is the cluster's
/// shared storage.
///
/// # Errors
/// [`StorageError::Mismatch`] for another storage; I/O and Redis failures.
pub async fn check(directory: &RedisDirectory, data_dir: &Path) -> Result<(), StorageError> {
    let file = data_dir.join(STORAGE_ID_FILE);
    let read = || {
        std::fs::read_to_string(&file)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let mismatch = |ours: Option<String>, cluster: String| StorageError::Mismatch {
        path: data_dir.to_path_buf(),
        ours,
        cluster,
    };
    if let Some(ours) = read() {
        // Also re-records it in a Redis that lost its data.
        let cluster = directory.record_storage(&ours).await?;
        return if cluster == ours {
            Ok(())
        } else {
            Err(mismatch(Some(ours), cluster))
        };
    }
    let fresh = random_instance();
    let cluster = directory.record_storage(&fresh).await?;
    if cluster == fresh {
        std::fs::create_dir_all(data_dir)
            .and_then(|()| {
                durable_fs::write_file_atomic(data_dir, STORAGE_ID_FILE, &[fresh.as_bytes()])
            })
            .map_err(|source| StorageError::Write {
                path: file.clone(),
                source,
            })?;
        return Ok(());
    }
    // Another node recorded its storage first; on the same storage its file appears soon.
    let deadline = Instant::now() + FIRST_WRITE_WAIT;
    loop {
        match read() {
            Some(ours) if ours == cluster => return Ok(()),
            Some(ours) => return Err(mismatch(Some(ours), cluster)),
            None if Instant::now() > deadline => return Err(mismatch(None, cluster)),
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
