//! Typed server responses (RFC 9051 section 7 and the extensions Roost implements).
//!
//! Mailbox names in responses are UTF-8 `String`s; the writer encodes them as modified UTF-7
//! or UTF-8 according to the connection's [`crate::encode::EncodeContext`].

use bytes::Bytes;

use super::body::{BodyStructure, Envelope};
use super::command::StatusItem;
use super::core::{Atom, DateTime, Flag, SequenceSet, Tag};
use super::fetch::{Partial, Section};
use super::metadata::{MetadataCode, MetadataEntries};
use super::search::PartialRange;
use super::sort::Thread;

/// Anything the server sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Status(Status),
    Data(Data),
    /// `continue-req = "+" SP (resp-text / base64) CRLF`.
    Continue(Continue),
}

/// Status responses (RFC 9051 section 7.1). The shapes make invalid responses unrepresentable:
/// a BYE or PREAUTH cannot carry a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// `tag OK/NO/BAD [code] text`: the completion of a command.
    Tagged {
        tag: Tag,
        kind: StatusKind,
        code: Option<Code>,
        text: String,
    },
    /// `* OK/NO/BAD [code] text`.
    Untagged {
        kind: StatusKind,
        code: Option<Code>,
        text: String,
    },
    /// `* PREAUTH [code] text`: greeting of a pre-authenticated connection.
    PreAuth { code: Option<Code>, text: String },
    /// `* BYE [code] text`: the server is closing the connection. Text is never empty.
    Bye { code: Option<Code>, text: String },
}

impl Status {
    pub fn tagged(tag: Tag, kind: StatusKind, code: Option<Code>, text: impl Into<String>) -> Self {
        Status::Tagged {
            tag,
            kind,
            code,
            text: text.into(),
        }
    }

    pub fn ok(tag: Tag, code: Option<Code>, text: impl Into<String>) -> Self {
        Self::tagged(tag, StatusKind::Ok, code, text)
    }

    pub fn no(tag: Tag, code: Option<Code>, text: impl Into<String>) -> Self {
        Self::tagged(tag, StatusKind::No, code, text)
    }

    pub fn bad(tag: Tag, code: Option<Code>, text: impl Into<String>) -> Self {
        Self::tagged(tag, StatusKind::Bad, code, text)
    }

    pub fn untagged(kind: StatusKind, code: Option<Code>, text: impl Into<String>) -> Self {
        Status::Untagged {
            kind,
            code,
            text: text.into(),
        }
    }

    pub fn bye(code: Option<Code>, text: impl Into<String>) -> Self {
        Status::Bye {
            code,
            text: text.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusKind {
    Ok,
    No,
    Bad,
}

/// `resp-text-code` (RFC 9051 section 7.1 and extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    Alert,
    AlreadyExists,
    /// `APPENDUID uidvalidity uid-set` (RFC 4315).
    AppendUid {
        uid_validity: u32,
        uids: SequenceSet,
    },
    AuthenticationFailed,
    AuthorizationFailed,
    /// `BADCHARSET [(charsets)]`.
    BadCharset(Vec<String>),
    Cannot,
    Capability(Vec<Atom>),
    ClientBug,
    /// RFC 7162 / RFC 9051: the previously selected mailbox is now closed.
    Closed,
    ContactAdmin,
    /// `COPYUID uidvalidity source-uids dest-uids`.
    CopyUid {
        uid_validity: u32,
        source: SequenceSet,
        destination: SequenceSet,
    },
    Corruption,
    Expired,
    ExpungeIssued,
    HasChildren,
    InUse,
    Limit,
    NonExistent,
    NoPerm,
    OverQuota,
    Parse,
    PermanentFlags(Vec<Flag>),
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TryCreate,
    UidNext(u32),
    UidNotSticky,
    UidValidity(u32),
    Unavailable,
    UnknownCte,
    /// RFC 7888 / RFC 9051 section 7.1.
    TooBig,
    /// RFC 6154 `USEATTR`.
    UseAttr,
    /// RFC 4978 `COMPRESSIONACTIVE`.
    CompressionActive,
    /// RFC 7162.
    HighestModSeq(u64),
    NoModSeq,
    /// RFC 7162 `MODIFIED sequence-set`.
    Modified(SequenceSet),
    /// RFC 8474 `MAILBOXID (objectid)`.
    MailboxId(String),
    /// RFC 5267 `NOUPDATE "tag"`: the searching command with this tag gets no updates.
    NoUpdate(String),
    /// RFC 5464 `METADATA (LONGENTRIES n / MAXSIZE n / TOOMANY / NOPRIVATE)`.
    Metadata(MetadataCode),
    /// RFC 5465 `NOTIFICATIONOVERFLOW`: notifications stopped, as after `NOTIFY NONE`.
    NotificationOverflow,
    /// RFC 5465 `BADEVENT (event-name ...)`: the events the server supports.
    BadEvent(Vec<Atom>),
    /// Any other code: `atom [SP text]`.
    Other(Atom, Option<String>),
}

/// `continue-req`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Continue {
    /// `+ [code] text`: go ahead (literal, IDLE).
    Text { code: Option<Code>, text: String },
    /// `+ base64`: a SASL challenge (bytes before base64 encoding).
    Base64(Vec<u8>),
}

/// Untagged data responses (RFC 9051 sections 7.2–7.5 and extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    Capability(Vec<Atom>),
    Enabled(Vec<Atom>),
    /// `* LIST (attrs) delim name [extended items]`.
    List(ListData),
    /// IMAP4rev1 `* LSUB` (same shape as LIST).
    Lsub(ListData),
    Namespace {
        personal: Vec<NamespaceDesc>,
        other: Vec<NamespaceDesc>,
        shared: Vec<NamespaceDesc>,
    },
    Status {
        mailbox: String,
        items: Vec<StatusValue>,
    },
    Esearch(Esearch),
    /// IMAP4rev1 `* SEARCH n n n` with the optional CONDSTORE `(MODSEQ n)`.
    Search {
        ids: Vec<u32>,
        mod_seq: Option<u64>,
    },
    /// RFC 5256 `* SORT n n n`, with RFC 7162's `(MODSEQ n)` as for SEARCH.
    Sort {
        ids: Vec<u32>,
        mod_seq: Option<u64>,
    },
    /// RFC 5256 `* THREAD (..)(..)`.
    Thread(Vec<Thread>),
    Flags(Vec<Flag>),
    Exists(u32),
    /// IMAP4rev1 only.
    Recent(u32),
    Expunge(u32),
    /// RFC 7162 `* VANISHED [(EARLIER)] uids`.
    Vanished {
        earlier: bool,
        uids: SequenceSet,
    },
    Fetch {
        seq: u32,
        items: Vec<FetchValue>,
    },
    /// RFC 2971 `* ID (...)` or `* ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),
    /// RFC 9208 `* QUOTA root (resource usage limit ...)`.
    Quota {
        root: String,
        resources: Vec<QuotaResource>,
    },
    /// RFC 9208 `* QUOTAROOT mailbox root...`.
    QuotaRoot {
        mailbox: String,
        roots: Vec<String>,
    },
    /// RFC 5464 `* METADATA mailbox (entry value ...)` or `* METADATA mailbox entry ...`;
    /// the empty mailbox name means the server.
    Metadata {
        mailbox: String,
        entries: MetadataEntries,
    },
}

/// A LIST / LSUB response line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListData {
    /// `mbx-list-flags` without backslash mangling: `\HasChildren`, `\Sent`, ... as [`Atom`]s
    /// holding the name after the backslash (`HasChildren`).
    pub attributes: Vec<Atom>,
    /// `None` is written as `NIL` (flat namespace).
    pub delimiter: Option<char>,
    pub mailbox: String,
    /// `mbox-list-extended`: `CHILDINFO ("SUBSCRIBED")`, `OLDNAME ("name")`.
    pub extended: Vec<ListExtended>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListExtended {
    /// RFC 5258 `CHILDINFO (...)`, e.g. `["SUBSCRIBED"]`.
    ChildInfo(Vec<String>),
    /// RFC 9051 `OLDNAME (name)` after RENAME.
    OldName(String),
}

/// One namespace: `(prefix delimiter)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceDesc {
    pub prefix: String,
    pub delimiter: Option<char>,
}

/// One `status-att-val`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusValue {
    /// A numeric item (every item except MAILBOXID).
    Number(StatusItem, u64),
    MailboxId(String),
}

/// `esearch-response` (RFC 9051 section 7.3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Esearch {
    /// `(TAG "tag")`: the command this answers.
    pub correlator: Option<Tag>,
    pub uid: bool,
    pub items: Vec<EsearchItem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EsearchItem {
    Min(u32),
    Max(u32),
    All(SequenceSet),
    Count(u32),
    /// RFC 7162 `MODSEQ n`.
    ModSeq(u64),
    /// RFC 5267 `PARTIAL (first:last results)`; `None` is written `NIL` (no results there).
    Partial {
        range: PartialRange,
        results: Option<SequenceSet>,
    },
    /// RFC 5267 `ADDTO (position set ...)`: insert each set at its position (0: anywhere, in
    /// mailbox order).
    AddTo(Vec<(u32, SequenceSet)>),
    /// RFC 5267 `REMOVEFROM (position set ...)`.
    RemoveFrom(Vec<(u32, SequenceSet)>),
}

/// `msg-att` items of a FETCH response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchValue {
    Flags(Vec<Flag>),
    InternalDate(DateTime),
    /// RFC 8514 `SAVEDATE (date-time / nil)`.
    SaveDate(Option<DateTime>),
    Rfc822Size(u64),
    Envelope(Box<Envelope>),
    /// `BODY` (no extension data).
    Body(Box<BodyStructure>),
    BodyStructure(Box<BodyStructure>),
    /// `BODY[section]<origin> nstring`; the section is echoed as requested.
    BodySection {
        section: Section,
        /// The `<origin>` when a partial was requested.
        origin: Option<u32>,
        data: Option<Bytes>,
    },
    /// `BINARY[part]<origin> literal8-or-nstring`.
    Binary {
        part: Vec<u32>,
        origin: Option<u32>,
        data: Option<Bytes>,
    },
    BinarySize {
        part: Vec<u32>,
        size: u64,
    },
    Uid(u32),
    ModSeq(u64),
    EmailId(String),
    /// `None` is written as `THREADID NIL`.
    ThreadId(Option<String>),
    /// RFC 8970: `None` (NIL) only in answer to `PREVIEW (LAZY)`.
    Preview(Option<String>),
    /// IMAP4rev1.
    Rfc822(Option<Bytes>),
    Rfc822Header(Option<Bytes>),
    Rfc822Text(Option<Bytes>),
    /// A body item whose `len` octets the server sends from its store (server side only):
    /// the encoder writes the item's name and the literal's `{len}`, and leaves a hole of
    /// `len` octets in its [`Output`](crate::encode::Output) that the caller fills (see
    /// [`Output::into_parts`](crate::encode::Output::into_parts)), so a large message is
    /// never held in memory to be sent. On the wire it is the item's ordinary form.
    Streamed {
        item: StreamedItem,
        len: u64,
    },
}

/// Which body item a [`FetchValue::Streamed`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamedItem {
    /// `BODY[section]<origin>`.
    Body {
        section: Section,
        origin: Option<u32>,
    },
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    /// `BINARY[part]<origin>`; `literal8` when the octets hold a NUL (`~{N}`).
    Binary {
        part: Vec<u32>,
        origin: Option<u32>,
        literal8: bool,
    },
}

impl FetchValue {
    /// The `BODY[...]` response for a requested partial: origin is echoed only when a partial
    /// was asked for (RFC 9051 section 7.5.2).
    pub fn body_section(section: Section, partial: Option<Partial>, data: Option<Bytes>) -> Self {
        FetchValue::BodySection {
            section,
            origin: partial.map(|p| p.offset),
            data,
        }
    }
}

/// One resource of a QUOTA response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaResource {
    /// `STORAGE`, `MESSAGE`, `MAILBOX`, `ANNOTATION-STORAGE`.
    pub name: Atom,
    pub usage: u64,
    pub limit: u64,
}
