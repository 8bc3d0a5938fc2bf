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
use super::requests::RequestKey;
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

/// The blob ids of the messages of a keyed APPEND (issue 19 finding 5): the same for every
/// attempt under one key, so a repeat finds the files of an earlier attempt, whether a next
/// owner's recovery listed them (the repeat is answered with their UIDs) or not (it writes
/// the same octets under the same names again). Keys are random, so these never meet ids of
/// other writes.
pub fn keyed_blob_ids(key: RequestKey, count: usize) -> Vec<BlobId> {
    (0..count as u128)
        .map(|i| BlobId(key.0.wrapping_add(i)))
        .collect()
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
/// Any I/O error (a full disk included); the files this call renamed into place are removed
/// again first, so a refused APPEND leaves nothing that recovery would list as a message;
/// but only when `may_remove` (the fence) still allows: a writer that lost the account
/// meanwhile (paused past its lease) must not delete files a new owner's recovery may have
/// listed already (issue 19 finding 1; they are then re-listed, never lost).
pub fn write_blobs(
    mailbox_dir: &Path,
    blobs: &[BlobWrite<'_>],
    may_remove: &dyn Fn() -> bool,
) -> io::Result<()> {
    let dir = blobs_dir(mailbox_dir);
    durable_fs::create_dir_durable(&dir)?;
    let written = (|| {
        for blob in blobs {
            let name = file_name(blob.id);
            durable_fs::write_file_unsynced_dir(&dir, &name, &[blob.data])?;
            // Parsed again from the message if a crash damages it (it has a checksum):
            // one fsync less per message.
            durable_fs::write_rebuildable_file(
                &dir,
                &format!("{name}{META_SUFFIX}"),
                &[blob.meta],
            )?;
        }
        durable_fs::sync_dir(&dir)
    })();
    if written.is_err() && may_remove() {
        let ids: Vec<BlobId> = blobs.iter().map(|b| b.id).collect();
        let _ = remove_blobs(mailbox_dir, &ids);
    }
    written
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
    remove_blobs_while(mailbox_dir, ids, &|| true).map(|_| ())
}

/// As [`remove_blobs`], asking `may_remove` (the account's fence) right before each blob and
/// stopping at the first refusal. Returns how many were removed. Blocking.
///
/// # Errors
/// I/O errors other than a file already gone.
pub fn remove_blobs_while(
    mailbox_dir: &Path,
    ids: &[BlobId],
    may_remove: &dyn Fn() -> bool,
) -> io::Result<usize> {
    let mut removed = 0;
    for &id in ids {
        if !may_remove() {
            break;
        }
        for path in [blob_path(mailbox_dir, id), meta_path(mailbox_dir, id)] {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        removed += 1;
    }
    durable_fs::sync_dir(&blobs_dir(mailbox_dir))?;
    Ok(removed)
}

/// What the blobs directory holds, by kind, from one listing (no per-file `stat`).
#[derive(Debug, Default)]
pub struct BlobScan {
    /// Ids with a message file.
    pub blobs: HashSet<BlobId>,
    /// Ids with a `.meta` file.
    pub metas: HashSet<BlobId>,
    /// Temporary files: writes a crash interrupted before the rename, never acknowledged.
    pub temps: Vec<PathBuf>,
    /// Anything else: names no Roost version writes.
    pub unknown: Vec<PathBuf>,
}

/// Lists the blobs directory of a mailbox (a missing directory is empty). Blocking.
///
/// # Errors
/// I/O errors listing.
pub fn scan(mailbox_dir: &Path) -> io::Result<BlobScan> {
    let mut scan = BlobScan::default();
    let entries = match fs::read_dir(blobs_dir(mailbox_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(scan),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX) {
            scan.temps.push(entry.path());
            continue;
        }
        let (stem, is_meta) = match name.strip_suffix(META_SUFFIX) {
            Some(stem) => (stem, true),
            None => (name.as_ref(), false),
        };
        match (stem.len(), u128::from_str_radix(stem, 16)) {
            (32, Ok(id)) if is_meta => scan.metas.insert(BlobId(id)),
            (32, Ok(id)) => scan.blobs.insert(BlobId(id)),
            _ => {
                scan.unknown.push(entry.path());
                false
            }
        };
    }
    Ok(scan)
}

/// Where a mailbox keeps files recovery could not place: never deleted by Roost.
pub fn quarantine_dir(mailbox_dir: &Path) -> PathBuf {
    mailbox_dir.join("quarantine")
}

/// Moves `path` into the mailbox's quarantine directory (same filesystem: a rename), under
/// its own name or, if that is taken, with a numeric suffix. Returns the new path. Blocking.
///
/// # Errors
/// I/O errors.
pub fn quarantine(mailbox_dir: &Path, path: &Path) -> io::Result<PathBuf> {
    let dir = quarantine_dir(mailbox_dir);
    durable_fs::create_dir_durable(&dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let to = (0u32..)
        .map(|k| match k {
            0 => dir.join(name.as_ref()),
            k => dir.join(format!("{name}.{k}")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(name.as_ref()));
    fs::rename(path, &to)?;
    durable_fs::sync_dir(&dir)?;
    if let Some(parent) = path.parent() {
        durable_fs::sync_dir(parent)?;
    }
    Ok(to)
}

/// Writes the metadata file of a blob that has none (a crash between the two renames, or a
/// damaged one set aside). Blocking.
///
/// # Errors
/// I/O errors.
pub fn write_meta(mailbox_dir: &Path, id: BlobId, meta: &[u8]) -> io::Result<()> {
    let name = format!("{}{META_SUFFIX}", file_name(id));
    durable_fs::write_file_atomic(&blobs_dir(mailbox_dir), &name, &[meta])
}
