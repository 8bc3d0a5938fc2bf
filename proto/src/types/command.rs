//! Typed client commands (RFC 9051 section 6 and the extensions Roost implements).
//!
//! Every value is owned: commands cross an actor mailbox. Large literals are `Bytes` so they
//! are not copied again after the decoder has collected them.

use bytes::Bytes;

use super::core::{Atom, DateTime, Flag, MailboxName, Secret, SequenceSet, Tag};
use super::fetch::{FetchItems, FetchModifiers};
use super::metadata::{EntryName, MetadataOptions, MetadataValue};
use super::notify::NotifyCommand;
use super::search::{SearchKey, SearchReturn};
use super::sort::{SortCommand, ThreadCommand};

/// One complete command: its tag and what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub tag: Tag,
    pub body: CommandBody,
}

/// What a command asks the server to do. Variant names follow the command names; the UID forms
/// are the same variants with `uid: true`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandBody {
    // --- any state (RFC 9051 section 6.1)
    Capability,
    Noop,
    Logout,
    /// RFC 2971.
    Id {
        /// `None` for `ID NIL`.
        params: Option<IdParams>,
    },

    // --- not authenticated (section 6.2)
    StartTls,
    Authenticate {
        mechanism: Atom,
        /// SASL-IR initial response, base64-decoded. `Some(empty)` for `=`.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    Login {
        username: Vec<u8>,
        password: Secret<Vec<u8>>,
    },

    // --- authenticated (section 6.3)
    Enable {
        capabilities: Vec<Atom>,
    },
    Select {
        mailbox: MailboxName,
        params: SelectParams,
    },
    Examine {
        mailbox: MailboxName,
        params: SelectParams,
    },
    Create {
        mailbox: MailboxName,
        /// `USE (\Drafts ...)` of RFC 6154 section 3, attribute names without the backslash.
        special_use: Vec<Atom>,
    },
    Delete {
        mailbox: MailboxName,
    },
    Rename {
        from: MailboxName,
        to: MailboxName,
    },
    Subscribe {
        mailbox: MailboxName,
    },
    Unsubscribe {
        mailbox: MailboxName,
    },
    List(ListCommand),
    /// IMAP4rev1 only (RFC 3501 section 6.3.9).
    Lsub {
        reference: MailboxName,
        pattern: Vec<u8>,
    },
    Namespace,
    Status {
        mailbox: MailboxName,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: MailboxName,
        /// One or more messages (MULTIAPPEND form allowed).
        messages: Vec<AppendMessage>,
    },
    Idle,
    /// RFC 5465.
    Notify(NotifyCommand),
    /// RFC 4978.
    Compress {
        algorithm: Atom,
    },
    /// RFC 9208.
    GetQuota {
        root: Vec<u8>,
    },
    GetQuotaRoot {
        mailbox: MailboxName,
    },
    SetQuota {
        root: Vec<u8>,
        /// `(resource-name limit)` pairs; empty removes all limits.
        limits: Vec<(Atom, u64)>,
    },
    /// RFC 5464 section 4.2; the empty mailbox name means the server's entries.
    GetMetadata {
        mailbox: MailboxName,
        options: MetadataOptions,
        /// One or more entry names (or the scope roots `/private`, `/shared`).
        entries: Vec<EntryName>,
    },
    /// RFC 5464 section 4.3: set each entry, or remove it when the value is `NIL`.
    SetMetadata {
        mailbox: MailboxName,
        entries: Vec<(EntryName, MetadataValue)>,
    },

    // --- selected (section 6.4)
    /// IMAP4rev1 only.
    Check,
    Close,
    Unselect,
    /// RFC 8437: back to Not Authenticated, every state but TLS reset.
    Unauthenticate,
    /// `CANCELUPDATE 1*(SP quoted)` (RFC 5267 section 4.3.5): the tags of searching commands
    /// whose updates stop.
    CancelUpdate {
        tags: Vec<String>,
    },
    Expunge,
    /// `UID EXPUNGE sequence-set` (RFC 9051 section 6.4.9 / RFC 4315).
    UidExpunge {
        uids: SequenceSet,
    },
    Search(SearchCommand),
    /// RFC 5256 (and RFC 5267 `RETURN`).
    Sort(SortCommand),
    /// RFC 5256.
    Thread(ThreadCommand),
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: FetchItems,
        modifiers: FetchModifiers,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        /// CONDSTORE `(UNCHANGEDSINCE n)`.
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        flags: Vec<Flag>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
}

impl CommandBody {
    /// The command's name as a client writes it, for logs and metrics (`"UID FETCH"`).
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Capability => "CAPABILITY",
            CommandBody::Noop => "NOOP",
            CommandBody::Logout => "LOGOUT",
            CommandBody::Id { .. } => "ID",
            CommandBody::StartTls => "STARTTLS",
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Login { .. } => "LOGIN",
            CommandBody::Enable { .. } => "ENABLE",
            CommandBody::Select { .. } => "SELECT",
            CommandBody::Examine { .. } => "EXAMINE",
            CommandBody::Create { .. } => "CREATE",
            CommandBody::Delete { .. } => "DELETE",
            CommandBody::Rename { .. } => "RENAME",
            CommandBody::Subscribe { .. } => "SUBSCRIBE",
            CommandBody::Unsubscribe { .. } => "UNSUBSCRIBE",
            CommandBody::List(_) => "LIST",
            CommandBody::Lsub { .. } => "LSUB",
            CommandBody::Namespace => "NAMESPACE",
            CommandBody::Status { .. } => "STATUS",
            CommandBody::Append { .. } => "APPEND",
            CommandBody::Idle => "IDLE",
            CommandBody::Notify(_) => "NOTIFY",
            CommandBody::Compress { .. } => "COMPRESS",
            CommandBody::GetQuota { .. } => "GETQUOTA",
            CommandBody::GetQuotaRoot { .. } => "GETQUOTAROOT",
            CommandBody::SetQuota { .. } => "SETQUOTA",
            CommandBody::GetMetadata { .. } => "GETMETADATA",
            CommandBody::SetMetadata { .. } => "SETMETADATA",
            CommandBody::Check => "CHECK",
            CommandBody::Close => "CLOSE",
            CommandBody::Unselect => "UNSELECT",
            CommandBody::Unauthenticate => "UNAUTHENTICATE",
            CommandBody::CancelUpdate { .. } => "CANCELUPDATE",
            CommandBody::Expunge => "EXPUNGE",
            CommandBody::UidExpunge { .. } => "UID EXPUNGE",
            CommandBody::Search(s) if s.uid => "UID SEARCH",
            CommandBody::Search(_) => "SEARCH",
            CommandBody::Sort(s) if s.uid => "UID SORT",
            CommandBody::Sort(_) => "SORT",
            CommandBody::Thread(t) if t.uid => "UID THREAD",
            CommandBody::Thread(_) => "THREAD",
            CommandBody::Fetch { uid: true, .. } => "UID FETCH",
            CommandBody::Fetch { .. } => "FETCH",
            CommandBody::Store { uid: true, .. } => "UID STORE",
            CommandBody::Store { .. } => "STORE",
            CommandBody::Copy { uid: true, .. } => "UID COPY",
            CommandBody::Copy { .. } => "COPY",
            CommandBody::Move { uid: true, .. } => "UID MOVE",
            CommandBody::Move { .. } => "MOVE",
        }
    }
}

/// `(field value)` pairs of the ID command; a value may be `NIL`.
pub type IdParams = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Parameters of SELECT and EXAMINE (RFC 7162 sections 3.1.8 and 3.2.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectParams {
    /// `(CONDSTORE)`.
    pub condstore: bool,
    /// `(QRESYNC (uidvalidity modseq [known-uids [seq-match]]))`.
    pub qresync: Option<QResync>,
}

/// The QRESYNC select parameter (RFC 7162 section 3.2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QResync {
    pub uid_validity: u32,
    pub mod_seq: u64,
    pub known_uids: Option<SequenceSet>,
    /// `(known-sequence-set known-uid-set)`.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST in its basic and extended forms (RFC 9051 section 6.3.9, RFC 5258, RFC 5819, RFC 6154).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCommand {
    /// `list-select-opts`; empty when none were given.
    pub selection: Vec<ListSelectOption>,
    pub reference: MailboxName,
    /// One or more `list-mailbox` patterns as wire bytes (may contain `*` and `%`).
    pub patterns: Vec<Vec<u8>>,
    /// `RETURN (...)`; empty when absent.
    pub returns: Vec<ListReturnOption>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListSelectOption {
    Subscribed,
    Remote,
    RecursiveMatch,
    SpecialUse,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListReturnOption {
    Subscribed,
    Children,
    SpecialUse,
    /// `STATUS (items)`, RFC 5819.
    Status(Vec<StatusItem>),
}

/// `status-att` (RFC 9051 section 6.3.11, RFC 7162, RFC 8474, RFC 9208).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusItem {
    Messages,
    UidNext,
    UidValidity,
    Unseen,
    Deleted,
    Size,
    /// IMAP4rev1 only.
    Recent,
    HighestModSeq,
    MailboxId,
    /// RFC 9208 section 4.3.
    DeletedStorage,
    /// RFC 7889 section 3.1: the largest message APPEND takes into the mailbox.
    AppendLimit,
}

impl StatusItem {
    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::Recent => "RECENT",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::MailboxId => "MAILBOXID",
            StatusItem::DeletedStorage => "DELETED-STORAGE",
            StatusItem::AppendLimit => "APPENDLIMIT",
        }
    }

    /// Every STATUS item, in the order RFC 9051 and its extensions list them.
    pub const ALL: [StatusItem; 11] = [
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Deleted,
        StatusItem::Size,
        StatusItem::Recent,
        StatusItem::HighestModSeq,
        StatusItem::MailboxId,
        StatusItem::DeletedStorage,
        StatusItem::AppendLimit,
    ];

    /// Looks up an item by name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(name))
    }
}

/// One message of an APPEND command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<Flag>,
    pub date: Option<DateTime>,
    /// The message octets.
    pub data: Bytes,
    /// Sent as `literal8` (`~{N}`): may contain NUL (RFC 9051 section 6.3.12).
    pub binary: bool,
    /// Sent inside `UTF8 (...)` (RFC 6855); recorded so the server can answer correctly.
    pub utf8: bool,
}

/// SEARCH / UID SEARCH (RFC 9051 section 6.4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchCommand {
    pub uid: bool,
    /// `RETURN (...)`. `None`: no RETURN given (IMAP4rev1 answers `* SEARCH`, IMAP4rev2
    /// `* ESEARCH` with ALL). `Some(vec![])`: `RETURN ()`, which means `ALL`.
    pub returns: Option<Vec<SearchReturn>>,
    pub charset: Option<String>,
    /// The criteria, all of which must match (an implicit AND). Never empty.
    pub criteria: Vec<SearchKey>,
}

/// The flag operation of STORE (`store-att-flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAction {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}
