//! The record log: length-prefixed, CRC32-checksummed frames, each holding one
//! postcard-encoded value, with the encoder and the verifying reader side by side.
//!
//! Frame layout (little-endian):
//!
//! ```text
//! +-------------+----------------------------+-----------------------+
//! | len: u32    | crc32(len bytes ++ payload) | payload: len bytes   |
//! +-------------+----------------------------+-----------------------+
//! ```
//!
//! The checksum covers the length too, so a flipped length bit is caught rather than
//! misread as a frame boundary. A frame that runs past the end of the file, or whose
//! checksum fails as the very last frame, is a *torn tail*: the write was interrupted
//! (`kill -9`, power loss) and was never acknowledged, so dropping it loses nothing that
//! got an `OK`. A bad frame with good data after it is *corruption*: the reader skips it and
//! resynchronises on the next good frame (records name messages by UID, so a later record
//! still applies, or is ignored, without the lost one), and recovery keeps a copy of the file.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

const HEADER: usize = 8;

/// The largest payload a log frame may have; anything larger is treated as corruption
/// (a garbage length must not make the reader allocate gigabytes).
pub const MAX_RECORD: u32 = 16 << 20;

/// Why the reader stopped before the end of the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The last frame is incomplete or fails its checksum: an interrupted write.
    #[error("torn record at offset {offset}")]
    TornTail { offset: u64 },
    /// A frame in the middle of the log is damaged or undecodable.
    #[error("corrupt record at offset {offset}: {reason}")]
    Corrupt { offset: u64, reason: &'static str },
}

impl LogError {
    pub fn offset(&self) -> u64 {
        match self {
            LogError::TornTail { offset } | LogError::Corrupt { offset, .. } => *offset,
        }
    }
}

/// Appends `value` as one frame to `out`.
///
/// # Errors
/// When postcard cannot encode the value (only for types it does not support).
pub fn encode<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    let mut buf = postcard::to_extend(value, std::mem::take(out))?;
    let len = (buf.len() - start - HEADER) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    let crc = checksum(&buf[start..start + 4], &buf[start + HEADER..]);
    buf[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
    *out = buf;
    Ok(())
}

fn checksum(len: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(len);
    hasher.update(payload);
    hasher.finalize()
}

/// What [`decode_all`] found.
#[derive(Debug)]
pub struct Decoded<T> {
    pub records: Vec<T>,
    /// Length of the prefix made of good frames.
    pub good_len: u64,
    /// Why decoding stopped early, if it did.
    pub error: Option<LogError>,
}

/// Decodes frames until the end of `bytes` or the first bad frame. Never panics.
pub fn decode_all<T: DeserializeOwned>(bytes: &[u8], max_record: u32) -> Decoded<T> {
    let mut records = Vec::new();
    let mut pos = 0usize;
    let error = loop {
        match decode_one(&bytes[pos..], max_record) {
            Ok(None) => break None,
            Ok(Some((value, used))) => {
                records.push(value);
                pos += used;
            }
            Err(Bad::Torn) => break Some(LogError::TornTail { offset: pos as u64 }),
            Err(Bad::Corrupt(reason)) => {
                break Some(LogError::Corrupt {
                    offset: pos as u64,
                    reason,
                })
            }
        }
    };
    Decoded {
        records,
        good_len: pos as u64,
        error,
    }
}

enum Bad {
    Torn,
    Corrupt(&'static str),
}

/// One frame at the start of `rest`: `Ok(None)` at a clean end.
fn decode_one<T: DeserializeOwned>(rest: &[u8], max: u32) -> Result<Option<(T, usize)>, Bad> {
    if rest.is_empty() {
        return Ok(None);
    }
    if rest.len() < HEADER {
        return Err(Bad::Torn);
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > max {
        return Err(Bad::Corrupt("record length over the limit"));
    }
    let end = HEADER + len as usize;
    if rest.len() < end {
        return Err(Bad::Torn);
    }
    let payload = &rest[HEADER..end];
    if checksum(&rest[..4], payload) != crc {
        // Only the final frame can be a write that never finished.
        return Err(if rest.len() == end {
            Bad::Torn
        } else {
            Bad::Corrupt("checksum mismatch")
        });
    }
    match postcard::take_from_bytes::<T>(payload) {
        Ok((value, [])) => Ok(Some((value, end))),
        Ok(_) => Err(Bad::Corrupt("trailing bytes in record")),
        Err(_) => Err(Bad::Corrupt("undecodable record")),
    }
}

/// What recovery did to a damaged log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The first problem found.
    pub error: LogError,
    /// Bytes no good frame covers (damaged frames, and a torn tail).
    pub dropped_bytes: u64,
    /// Good frames found again *after* damage, by scanning for the next frame whose checksum
    /// holds: only a damaged frame is lost, not everything behind it.
    pub resynced_records: u64,
    /// Where the whole original file was kept, when it held damage (not merely a torn tail).
    pub kept_at: Option<PathBuf>,
}

/// Every good frame of `bytes`: after a bad frame the reader resynchronises on the next
/// offset where a whole frame passes its checksum and decodes (a false match needs a 32-bit
/// checksum collision on top of a valid encoding). Returns the records, the bytes skipped,
/// the first error, and how many records were found behind it.
pub fn decode_resync<T: DeserializeOwned>(bytes: &[u8], max_record: u32) -> Resynced<T> {
    let mut out = Resynced {
        records: Vec::new(),
        skipped: 0,
        first_error: None,
        after_damage: 0,
    };
    let mut pos = 0usize;
    while pos < bytes.len() {
        let decoded = decode_all::<T>(&bytes[pos..], max_record);
        if out.first_error.is_some() {
            out.after_damage += decoded.records.len() as u64;
        }
        out.records.extend(decoded.records);
        pos += decoded.good_len as usize;
        let Some(error) = decoded.error else { break };
        if out.first_error.is_none() {
            out.first_error = Some(match error {
                LogError::TornTail { .. } => LogError::TornTail { offset: pos as u64 },
                LogError::Corrupt { reason, .. } => LogError::Corrupt {
                    offset: pos as u64,
                    reason,
                },
            });
        }
        let next = (pos + 1..bytes.len())
            .find(|&at| matches!(decode_one::<T>(&bytes[at..], max_record), Ok(Some(_))))
            .unwrap_or(bytes.len());
        out.skipped += (next - pos) as u64;
        pos = next;
    }
    // A torn tail only when nothing good followed the first bad frame.
    if let (Some(LogError::TornTail { offset }), true) = (&out.first_error, out.after_damage > 0) {
        out.first_error = Some(LogError::Corrupt {
            offset: *offset,
            reason: "damaged record with good records after it",
        });
    }
    out
}

/// What [`decode_resync`] found.
#[derive(Debug)]
pub struct Resynced<T> {
    pub records: Vec<T>,
    pub skipped: u64,
    pub first_error: Option<LogError>,
    pub after_damage: u64,
}

/// Reads the good records of the log at `path` without changing it (a missing file is an
/// empty log): for readers that are not the store's writer.
///
/// # Errors
/// I/O errors reading the file.
pub fn read_good<T: DeserializeOwned>(path: &Path) -> io::Result<Vec<T>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(decode_resync::<T>(&bytes, MAX_RECORD).records),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Reads every good record of the log at `path` (a missing file is an empty log), skipping
/// damaged frames (see [`decode_resync`]). When anything was skipped, the file is rewritten
/// to hold exactly the good frames (temp, fsync, rename), so the next append starts on a
/// frame boundary; for damage other than a torn tail the original file is first kept
/// beside it (`<name>.corrupt-<offset>`) for inspection.
///
/// `may_change` (the account's fence) is asked right before anything is written: a former
/// owner resuming after a pause must not rewrite a log the new owner appends to.
///
/// # Errors
/// I/O errors reading, saving or rewriting the file, or a repair `may_change` refused.
pub fn read_and_repair<T: DeserializeOwned + Serialize>(
    path: &Path,
    may_change: &dyn Fn() -> bool,
) -> io::Result<(Vec<T>, Option<Truncation>)> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => {
            file.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(e),
    }
    let decoded = decode_resync::<T>(&bytes, MAX_RECORD);
    let Some(error) = decoded.first_error else {
        return Ok((decoded.records, None));
    };
    if !may_change() {
        return Err(io::Error::other(
            "this node may no longer write the account, so it does not repair its log",
        ));
    }
    let kept_at = if let LogError::Corrupt { offset, .. } = error {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".corrupt-{offset}"));
        let kept = path.with_file_name(name);
        let mut file = File::create(&kept)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        Some(kept)
    } else {
        None
    };
    let mut good = Vec::with_capacity(bytes.len());
    for record in &decoded.records {
        encode(record, &mut good).map_err(|e| io::Error::other(e.to_string()))?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    super::durable_fs::write_file_atomic(dir, &name, &[&good])?;
    Ok((
        decoded.records,
        Some(Truncation {
            error,
            dropped_bytes: decoded.skipped,
            resynced_records: decoded.after_damage,
            kept_at,
        }),
    ))
}
