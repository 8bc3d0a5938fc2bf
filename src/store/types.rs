//! Values the store persists and the mailbox actor serves.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A mailbox's immutable identity: survives RENAME, names its directory, and is the
/// MAILBOXID of RFC 8474 (written as `M` + 16 hex digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailboxId(pub u64);

impl fmt::Display for MailboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "M{:016x}", self.0)
    }
}

/// A message blob's identity: its file name, and the EMAILID of RFC 8474 (`E` + 32 hex
/// digits). COPY and MOVE keep it, as RFC 8474 requires of EMAILID.
///
/// Aligned to 8 rather than u128's 16, so that a [`MessageEntry`] (the per-message cost of
/// an open mailbox) carries no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(C, packed(8))]
pub struct BlobId(pub u128);

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.0;
        write!(f, "E{id:032x}")
    }
}

/// RFC 6154 special-use attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpecialUse {
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
}

impl SpecialUse {
    /// The attribute name without its backslash (`Drafts`).
    pub fn name(self) -> &'static str {
        match self {
            SpecialUse::All => "All",
            SpecialUse::Archive => "Archive",
            SpecialUse::Drafts => "Drafts",
            SpecialUse::Flagged => "Flagged",
            SpecialUse::Junk => "Junk",
            SpecialUse::Sent => "Sent",
            SpecialUse::Trash => "Trash",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::All,
            Self::Archive,
            Self::Drafts,
            Self::Flagged,
            Self::Junk,
            Self::Sent,
            Self::Trash,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// One mailbox of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxInfo {
    pub id: MailboxId,
    /// Full hierarchical name in UTF-8, `/`-separated; `INBOX` is always spelled so.
    pub name: String,
    pub uid_validity: u32,
    pub special_use: Option<SpecialUse>,
}

/// The five system flags as bits, plus keyword bits indexing the mailbox's keyword table
/// (bits 5..64: up to 59 distinct keywords per mailbox).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlagSet(pub u64);

impl FlagSet {
    pub const ANSWERED: u64 = 1;
    pub const FLAGGED: u64 = 1 << 1;
    pub const DELETED: u64 = 1 << 2;
    pub const SEEN: u64 = 1 << 3;
    pub const DRAFT: u64 = 1 << 4;
    /// Bit of keyword number `i` of the mailbox's keyword table.
    pub const fn keyword_bit(i: usize) -> u64 {
        1 << (5 + i)
    }
    pub const MAX_KEYWORDS: usize = 59;

    pub fn contains(self, bits: u64) -> bool {
        self.0 & bits == bits
    }
}

/// What the mailbox actor knows about one message: ~56 bytes, so a 100,000-message
/// mailbox costs about 5.6 MB while open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEntry {
    pub uid: u32,
    pub mod_seq: u64,
    pub flags: FlagSet,
    /// INTERNALDATE, seconds since the Unix epoch (UTC).
    pub internal_date: i64,
    /// RFC822.SIZE in octets.
    pub size: u32,
    pub blob: BlobId,
    /// When the message was saved into this mailbox (RFC 8514 SAVEDATE), seconds since the
    /// Unix epoch. Messages stored before Roost kept it have their INTERNALDATE here.
    pub saved: i64,
}

/// Why a planned change was refused before anything was written; the mailbox layer maps
/// each to the `MailboxError` of the same name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no mailbox named {0}")]
    NonExistent(String),
    #[error("mailbox {0} already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    Cannot(String),
    #[error("{0}")]
    Limit(String),
    /// DELETE of a mailbox with inferior names (RFC 9051 section 6.3.5 lets a server refuse it).
    #[error("{0} has children; delete them first")]
    HasChildren(String),
    /// A SETMETADATA over a limit (RFC 5464 section 4.3).
    #[error("{0}")]
    Metadata(super::metadata::MetadataRefusal),
}
