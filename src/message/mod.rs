//! Messages as IMAP sees them: the metadata parsed once at APPEND (ENVELOPE, BODYSTRUCTURE,
//! part offsets), section extraction for `BODY[...]` and `BINARY[...]`, and SEARCH.
//!
//! Everything here is synchronous and CPU/disk bound: callers run it on a blocking task.
//!
//! Files: `header` (header blocks, structured MIME fields), `address` (RFC 5322 address lists),
//! `meta` (the MIME tree with offsets), `envelope`, `bodystructure`, `section` (`BODY[...]`),
//! `binary` (`BINARY[...]`, transfer decoding), `search/` (SEARCH), `sort/` (SORT), `thread/` (THREAD).
//!
//! The `.meta` format is this module's own serde structs (not the proto types), behind a
//! version byte: what is stored is the parsed header values and offsets, and ENVELOPE and
//! BODYSTRUCTURE are built from them when asked for, so the wire types can change without
//! touching stored files.
//!
//! Not yet used by the session (its FETCH/SEARCH wiring lands later), hence `dead_code` is
//! allowed where `main.rs` declares the module.

mod address;
mod binary;
mod bodystructure;
mod envelope;
mod header;
pub mod line_ends;
mod meta;
pub mod order_facts;
mod preview;
mod search;
mod section;
pub mod sort;
pub mod thread;

pub(crate) use binary::{Cte, StreamDecoder};
pub use section::SectionSource;

#[cfg(test)]
mod tests;

use bytes::Bytes;
use roost_proto::{BodyStructure, Envelope, SearchKey, Section};
use serde::{Deserialize, Serialize};

use crate::store::{BlobId, MessageEntry};

/// What is computed once at append and stored beside the blob (`<blob>.meta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    env: envelope::Env,
    root: meta::Part,
    /// RFC 8970 PREVIEW text; `None` for messages stored before previews were kept.
    preview: Option<String>,
}

/// A `.meta` file of version 1 (before [`MessageMeta::preview`]).
#[derive(Deserialize)]
struct MessageMetaV1 {
    env: envelope::Env,
    root: meta::Part,
}

/// First byte of a `.meta` file; bump when the stored structs change (and keep reading the
/// older ones). Version 3 is version 2 with a CRC32 of the payload after it: a `.meta` is
/// written without its own fsync (it can always be parsed again from the message, which is
/// synced), so a crash may leave it empty or partly written, and the checksum tells.
const META_VERSION: u8 = 3;

/// The last version without a checksum.
const META_VERSION_UNCHECKED: u8 = 2;

impl MessageMeta {
    /// Parses a message. Never fails: malformed input yields a best-effort structure (a
    /// message that is not MIME at all is one `TEXT/PLAIN` part).
    pub fn parse(raw: &[u8]) -> MessageMeta {
        MessageMeta::parse_bytes(&Bytes::copy_from_slice(raw))
    }

    /// [`parse`](Self::parse) of a message already in a `Bytes` (not copied).
    pub fn parse_bytes(raw: &Bytes) -> MessageMeta {
        let (root, env) = meta::parse_message(raw, 0, raw.len());
        let preview = preview::preview(raw, &root);
        MessageMeta {
            env,
            root,
            preview: Some(preview),
        }
    }

    /// The PREVIEW text (RFC 8970): empty when the message has no readable text, and for
    /// messages stored before previews were kept (RFC 8970 section 3.2 lets a preview change
    /// later; it never claims text that is not there).
    pub fn preview(&self) -> &str {
        self.preview.as_deref().unwrap_or_default()
    }

    /// The Message-ID header's value, unfolded, as stored.
    pub fn message_id(&self) -> Option<&[u8]> {
        self.env.message_id.as_deref()
    }

    pub fn envelope(&self) -> Envelope {
        self.env.to_envelope()
    }

    /// BODYSTRUCTURE (with extension data); `BODY` is the same without it (the writer drops it).
    pub fn body_structure(&self) -> BodyStructure {
        bodystructure::body_structure(&self.root)
    }

    /// Encodes for the `.meta` file: the version byte, postcard, and the payload's CRC32
    /// (little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![META_VERSION];
        // Serialising plain structs into a Vec cannot fail.
        out.extend(postcard::to_stdvec(self).unwrap_or_default());
        let crc = crc32fast::hash(&out[1..]);
        out.extend(crc.to_le_bytes());
        out
    }

    /// # Errors
    /// When the bytes are not a `.meta` file of this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<MessageMeta, MetaError> {
        fn whole<T: serde::de::DeserializeOwned>(rest: &[u8]) -> Result<T, MetaError> {
            let (value, trailing) = postcard::take_from_bytes::<T>(rest)
                .map_err(|e| MetaError::Corrupt(e.to_string()))?;
            if trailing.is_empty() {
                Ok(value)
            } else {
                Err(MetaError::Corrupt(format!(
                    "{} trailing bytes",
                    trailing.len()
                )))
            }
        }
        match bytes.split_first() {
            Some((&META_VERSION, rest)) => {
                let Some((payload, crc)) = rest.split_last_chunk::<4>() else {
                    return Err(MetaError::Corrupt("too short".into()));
                };
                if crc32fast::hash(payload) != u32::from_le_bytes(*crc) {
                    return Err(MetaError::Corrupt("checksum mismatch".into()));
                }
                whole(payload)
            }
            Some((&META_VERSION_UNCHECKED, rest)) => whole(rest),
            Some((1, rest)) => whole::<MessageMetaV1>(rest).map(|v1| MessageMeta {
                env: v1.env,
                root: v1.root,
                preview: None,
            }),
            Some((v, _)) => Err(MetaError::Corrupt(format!("unknown version {v}"))),
            None => Err(MetaError::Corrupt("empty".into())),
        }
    }

    #[cfg(test)] // the FETCH path decodes part by part (`binary_source`)
    /// The decoded length of `BINARY[part]` (`BINARY.SIZE`, RFC 9051 section 6.4.5).
    ///
    /// # Errors
    /// As [`binary`].
    fn binary_size(&self, raw: &Bytes, part: &[u32]) -> Result<u32, BinaryError> {
        binary::binary_size(raw, &self.root, part)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    #[error("metadata is corrupt: {0}")]
    Corrupt(String),
}

/// `BODY[section]` contents (RFC 9051 section 6.4.5), before any `<partial>`; `None` when the
/// part does not exist (the server answers with an empty string, as RFC 9051 allows).
pub fn section(raw: &Bytes, meta: &MessageMeta, section: &Section) -> Option<Bytes> {
    section::section(raw, &meta.root, section)
}

/// Where `section`'s octets are in the stored message of `size` octets. `meta` is needed for
/// every section but the whole message (`BODY[]`).
pub fn section_source(meta: Option<&MessageMeta>, size: usize, section: &Section) -> SectionSource {
    match meta {
        Some(meta) => section::section_source(&meta.root, size, section),
        None if section.part.is_empty() && section.text.is_none() => SectionSource::Range(0..size),
        None => SectionSource::Missing,
    }
}

/// Where `BINARY[part]`'s encoded octets are in the stored message of `size` octets, and
/// their Content-Transfer-Encoding.
///
/// # Errors
/// `NoSuchPart`, or `UnknownCte` for an encoding that cannot be removed.
pub(crate) fn binary_source(
    meta: &MessageMeta,
    size: usize,
    part: &[u32],
) -> Result<(std::ops::Range<usize>, Cte), BinaryError> {
    binary::binary_source(&meta.root, size, part)
}

/// Applies `<offset.length>` to a range of octets (RFC 9051 section 6.4.5).
pub fn partial_range(
    range: std::ops::Range<usize>,
    offset: u32,
    length: u32,
) -> std::ops::Range<usize> {
    section::partial_range(range, offset, length)
}

/// Applies `<offset.length>` to section data (RFC 9051 section 6.4.5).
pub fn partial(data: Bytes, offset: u32, length: u32) -> Bytes {
    section::partial(data, offset, length)
}

#[cfg(test)] // the FETCH path decodes part by part (`binary_source`)
/// `BINARY[part]`: the part's content with its Content-Transfer-Encoding removed.
///
/// # Errors
/// `UnknownCte` for an encoding we cannot decode (`[UNKNOWN-CTE]`), `NoSuchPart`.
pub fn binary(raw: &Bytes, meta: &MessageMeta, part: &[u32]) -> Result<Bytes, BinaryError> {
    binary::binary(raw, &meta.root, part)
}

#[cfg(test)] // the FETCH path decodes part by part (`binary_source`)
/// `BINARY.SIZE[part]`: the length [`binary`] returns.
///
/// # Errors
/// As [`binary`].
pub fn binary_size(raw: &Bytes, meta: &MessageMeta, part: &[u32]) -> Result<u32, BinaryError> {
    meta.binary_size(raw, part)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    #[error("unknown content-transfer-encoding {0}")]
    UnknownCte(String),
    #[error("no such part")]
    NoSuchPart,
}

/// One message as SEARCH sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub seq: u32,
    pub entry: &'a MessageEntry,
    /// `\Recent` for this session (IMAP4rev1).
    pub recent: bool,
}

/// What SEARCH needs besides the messages.
pub struct SearchEnv<'a> {
    /// The mailbox's keyword table (`FlagSet` keyword bits index it).
    pub keywords: &'a [String],
    /// The values `*` stands for.
    pub largest_seq: u32,
    pub largest_uid: u32,
    /// UIDs saved by `SEARCH RETURN (SAVE)`, for `$`; `None` when nothing was saved.
    pub saved: Option<&'a [u32]>,
    /// `CHARSET`; `None` means UTF-8 (US-ASCII is a subset).
    pub charset: Option<&'a str>,
    /// Loads a message's octets and metadata for header, body and text keys.
    pub load: &'a dyn Fn(BlobId) -> std::io::Result<(Bytes, MessageMeta)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// `NO [BADCHARSET (UTF-8 US-ASCII ...)]`
    #[error("unsupported charset {0}")]
    BadCharset(String),
    #[error("cannot read message: {0}")]
    Io(String),
}

/// Evaluates SEARCH criteria (all must match) over `candidates`; returns the matching
/// candidates' UIDs in order. String matching is case-insensitive substring on decoded text
/// (MIME encoded-words, transfer encodings and charsets decoded), as RFC 9051 section 6.4.4
/// describes.
///
/// # Errors
/// `BadCharset` for a CHARSET that cannot be decoded.
pub fn search(
    criteria: &[SearchKey],
    candidates: &[Candidate<'_>],
    env: &SearchEnv<'_>,
) -> Result<Vec<u32>, SearchError> {
    search::search(criteria, candidates, env)
}
