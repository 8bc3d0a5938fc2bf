//! Filesystem steps that make a file durable: write to a temporary name, fsync, rename,
//! fsync the directory, in the order POSIX needs for the new name to survive a crash.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::telemetry::metrics::{timed_fsync, FsyncKind};

/// Prefix of temporary files; recovery deletes any it finds (a crash before the rename).
pub const TEMP_PREFIX: &str = ".tmp.";

/// Makes a directory's entries (new, renamed or removed names) durable.
///
/// # Errors
/// When the directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = File::open(dir)?;
    timed_fsync(FsyncKind::Dir, || dir.sync_all())
}

/// Writes `parts` as `dir/name` through a temporary file, fsyncs it and renames it into
/// place, without syncing the directory: callers that write several files sync it once.
///
/// # Errors
/// Any I/O error; the temporary file is removed on failure.
pub fn write_file_unsynced_dir(dir: &Path, name: &str, parts: &[&[u8]]) -> io::Result<()> {
    write_through_temp(dir, name, parts, true)
}

/// As [`write_file_unsynced_dir`] but without the file's fsync either: for files that carry
/// their own checksum and can be rebuilt from a synced one (a message's `.meta`), so that
/// a crash leaving one empty or half written costs a re-parse, not data.
///
/// # Errors
/// Any I/O error; the temporary file is removed on failure.
pub fn write_rebuildable_file(dir: &Path, name: &str, parts: &[&[u8]]) -> io::Result<()> {
    write_through_temp(dir, name, parts, false)
}

fn write_through_temp(dir: &Path, name: &str, parts: &[&[u8]], fsync: bool) -> io::Result<()> {
    let temp = dir.join(format!("{TEMP_PREFIX}{name}"));
    let result = (|| {
        let mut file = File::create(&temp)?;
        for part in parts {
            file.write_all(part)?;
        }
        if fsync {
            timed_fsync(FsyncKind::File, || file.sync_all())?;
        }
        fs::rename(&temp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// [`write_file_unsynced_dir`] followed by a directory sync: `dir/name` is durable.
///
/// # Errors
/// Any I/O error.
pub fn write_file_atomic(dir: &Path, name: &str, parts: &[&[u8]]) -> io::Result<()> {
    write_file_unsynced_dir(dir, name, parts)?;
    sync_dir(dir)
}

/// Creates `dir` and its parents, syncing each newly created level's parent so the
/// directory itself survives a crash.
///
/// # Errors
/// Any I/O error.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_durable(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}
