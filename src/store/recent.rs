//! Where `\Recent` starts in a mailbox (IMAP4rev1): the first UID no read-write session has
//! been told of yet, kept in the mailbox's `recent` file so it survives the mailbox actor
//! going idle and a restart.
//!
//! The file is advisory: it is written after the fact (never inside a commit), so a crash
//! may lose the last claims and report those messages as recent once more, which beats
//! reporting nothing as recent after every restart.

use std::io;
use std::path::Path;

use super::durable_fs;

const FILE: &str = "recent";

/// The saved first unclaimed UID, if any was saved and is readable.
pub fn read_mark(mailbox_dir: &Path) -> Option<u32> {
    let bytes = std::fs::read(mailbox_dir.join(FILE)).ok()?;
    Some(u32::from_le_bytes(bytes.as_slice().try_into().ok()?))
}

/// Saves the first unclaimed UID (temporary file, fsync, rename). Blocking.
///
/// # Errors
/// Any I/O error; the previous mark stays in place.
pub fn write_mark(mailbox_dir: &Path, first_unclaimed: u32) -> io::Result<()> {
    durable_fs::write_file_unsynced_dir(mailbox_dir, FILE, &[&first_unclaimed.to_le_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_reads_back_and_garbage_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_mark(dir.path()), None);
        write_mark(dir.path(), 4242).unwrap();
        assert_eq!(read_mark(dir.path()), Some(4242));
        std::fs::write(dir.path().join(FILE), b"xy").unwrap();
        assert_eq!(read_mark(dir.path()), None);
    }
}
