//! Message blobs: the immutable octets of each message (`blobs/<hex>`) and its parsed
//! metadata (`blobs/<hex>.meta`), written durably before any log record names them.
//!
//! COPY hard-links both files into the destination mailbox, so a message's octets exist
//! once on disk however many mailboxes hold it; each mailbox removes only its own links.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::durable_fs::{self, TEMP_PREFIX};
use super::types::BlobId;

const META_SUFFIX: &str = ".meta";

pub fn blobs_dir(mailbox_dir: &Path) -> PathBuf {
    mailbox_dir.join("blobs")
}

fn file_name(id: BlobId) -> String {
    let id = id.0;
    format!("{id:032x}")
}

pub fn blob_path(mailbox_dir: &Path, id: BlobId) -> PathBuf {
    blobs_dir(mailbox_dir).join(file_name(id))
}

pub fn meta_path(mailbox_dir: &Path, id: BlobId) -> PathBuf {
    blobs_dir(mailbox_dir).join(format!("{}{META_SUFFIX}", file_name(id)))
}

/// A fresh random blob id: random rather than a hash so that two deliveries of the same
/// octets stay distinct messages (EMAILID identifies a message, not its content).
///
/// # Errors
/// When the OS random source fails.
pub fn new_blob_id() -> io::Result<BlobId> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(BlobId(u128::from_le_bytes(bytes)))
}

/// One blob to write: its octets and its encoded metadata.
pub struct BlobWrite<'a> {
    pub id: BlobId,
    pub data: &'a [u8],
    pub meta: &'a [u8],
}

/// Writes each blob and its metadata (temp, fsync, rename), then syncs the directory
/// once for all of them. Blocking.
///
/// # Errors
/// Any I/O error; files already renamed stay as orphans for recovery to sweep.
pub fn write_blobs(mailbox_dir: &Path, blobs: &[BlobWrite<'_>]) -> io::Result<()> {
    let dir = blobs_dir(mailbox_dir);
    durable_fs::create_dir_durable(&dir)?;
    for blob in blobs {
        let name = file_name(blob.id);
        durable_fs::write_file_unsynced_dir(&dir, &name, &[blob.data])?;
        durable_fs::write_file_unsynced_dir(&dir, &format!("{name}{META_SUFFIX}"), &[blob.meta])?;
    }
    durable_fs::sync_dir(&dir)
}

/// Hard-links the blobs (and metadata) of `ids` from one mailbox into another, falling
/// back to a copy where links are impossible. Returns, per id, whether the source still
/// existed (a concurrent EXPUNGE may have removed it: that message is skipped). A link
/// that already exists is fine: blobs never change. Blocking.
///
/// # Errors
/// I/O errors other than a missing source.
pub fn link_blobs(src_dir: &Path, dst_dir: &Path, ids: &[BlobId]) -> io::Result<Vec<bool>> {
    let dst = blobs_dir(dst_dir);
    durable_fs::create_dir_durable(&dst)?;
    let mut present = Vec::with_capacity(ids.len());
    for &id in ids {
        let linked = link_one(&blob_path(src_dir, id), &blob_path(dst_dir, id))?
            && link_one(&meta_path(src_dir, id), &meta_path(dst_dir, id))?;
        present.push(linked);
    }
    durable_fs::sync_dir(&dst)?;
    Ok(present)
}

fn link_one(from: &Path, to: &Path) -> io::Result<bool> {
    match fs::hard_link(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        // EXDEV and friends: a mailbox on another filesystem gets its own copy.
        Err(_) => {
            let (dir, name) = (
                to.parent().unwrap_or(Path::new(".")),
                to.file_name().unwrap_or_default().to_string_lossy(),
            );
            match fs::read(from) {
                Ok(bytes) => {
                    durable_fs::write_file_unsynced_dir(dir, &name, &[&bytes]).map(|()| true)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Removes the blobs (and metadata) of `ids`; missing files are fine. Blocking.
///
/// # Errors
/// I/O errors other than a missing file.
pub fn remove_blobs(mailbox_dir: &Path, ids: &[BlobId]) -> io::Result<()> {
    for &id in ids {
        for path in [blob_path(mailbox_dir, id), meta_path(mailbox_dir, id)] {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    durable_fs::sync_dir(&blobs_dir(mailbox_dir))
}

/// Deletes every file in the blobs directory that belongs to no live message: blobs
/// written before a crash kept their log record from being durable, blobs of expunged
/// messages whose removal a crash interrupted, and temporary files. Run only before the
/// mailbox accepts writes. Blocking.
///
/// `may_delete` is asked before each removal: in a cluster it is the account's fence, so a
/// former owner that resumed after a pause never deletes what the new owner wrote (issue 19,
/// finding 1); the sweep stops at the first refusal.
///
/// # Errors
/// I/O errors listing or removing.
pub fn sweep_orphans(
    mailbox_dir: &Path,
    live: &HashSet<BlobId>,
    may_delete: &dyn Fn() -> bool,
) -> io::Result<Vec<PathBuf>> {
    let dir = blobs_dir(mailbox_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stem = name.strip_suffix(META_SUFFIX).unwrap_or(&name);
        let is_live = !name.starts_with(TEMP_PREFIX)
            && stem.len() == 32
            && u128::from_str_radix(stem, 16).is_ok_and(|id| live.contains(&BlobId(id)));
        if !is_live {
            if !may_delete() {
                break;
            }
            let path = entry.path();
            fs::remove_file(&path)?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        durable_fs::sync_dir(&dir)?;
    }
    Ok(removed)
}
