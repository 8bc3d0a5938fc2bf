//! Messages as IMAP sees them: the metadata parsed once at APPEND (ENVELOPE, BODYSTRUCTURE,
//! part offsets), section extraction for `BODY[...]` and `BINARY[...]`, and SEARCH.
//!
//! Everything here is synchronous and CPU/disk bound: callers run it on a blocking task.

use bytes::Bytes;
use roost_proto::{BodyStructure, Envelope, SearchKey, Section};
use serde::{Deserialize, Serialize};

use crate::store::{BlobId, MessageEntry};

/// What is computed once at append and stored beside the blob (`<blob>.meta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    _todo: (),
}

impl MessageMeta {
    /// Parses a message. Never fails: malformed input yields a best-effort structure (a
    /// message that is not MIME at all is one `TEXT/PLAIN` part).
    pub fn parse(raw: &[u8]) -> MessageMeta {
        let _ = raw;
        todo!()
    }

    pub fn envelope(&self) -> Envelope {
        todo!()
    }

    /// BODYSTRUCTURE (with extension data); `BODY` is the same without it (the writer drops it).
    pub fn body_structure(&self) -> BodyStructure {
        todo!()
    }

    /// Encodes for the `.meta` file.
    pub fn to_bytes(&self) -> Vec<u8> {
        todo!()
    }

    /// # Errors
    /// When the bytes are not a `.meta` file of this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<MessageMeta, MetaError> {
        let _ = bytes;
        todo!()
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
    let _ = (raw, meta, section);
    todo!()
}

/// Applies `<offset.length>` to section data (RFC 9051 section 6.4.5).
pub fn partial(data: Bytes, offset: u32, length: u32) -> Bytes {
    let _ = (data, offset, length);
    todo!()
}

/// `BINARY[part]`: the part's content with its Content-Transfer-Encoding removed.
///
/// # Errors
/// `UnknownCte` for an encoding we cannot decode (`[UNKNOWN-CTE]`), `NoSuchPart`.
pub fn binary(raw: &Bytes, meta: &MessageMeta, part: &[u32]) -> Result<Bytes, BinaryError> {
    let _ = (raw, meta, part);
    todo!()
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
    let _ = (criteria, candidates, env);
    todo!()
}
