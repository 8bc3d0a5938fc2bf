//! The values that pass between sessions, handles and the actors of accounts and mailboxes
//! (and, serialised, between nodes).

use std::sync::Arc;

use actix::Message;
use bytes::Bytes;
use roost_proto::{Flag, StoreAction};
use serde::{Deserialize, Serialize};

use crate::store::{MailboxId, MailboxInfo, MessageEntry};

/// An account's mailbox list and subscriptions, as of one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountView {
    pub mailboxes: Vec<MailboxInfo>,
    /// Subscribed names; may name mailboxes that do not exist (RFC 9051 section 6.3.7).
    pub subscriptions: Vec<String>,
}

/// Everything a session needs to start a view of the mailbox (SELECT/EXAMINE).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub info: MailboxInfo,
    pub uid_next: u32,
    pub highest_mod_seq: u64,
    /// The mailbox's keyword table: keyword `i` is bit `FlagSet::keyword_bit(i)`.
    pub keywords: Arc<[String]>,
    /// Every message, in UID order.
    pub entries: Vec<MessageEntry>,
}

/// Counts for STATUS (RFC 9051 section 6.3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxStatus {
    pub messages: u32,
    pub uid_next: u32,
    pub uid_validity: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of the RFC822.SIZE of the `\Deleted` messages (STATUS DELETED-STORAGE).
    pub deleted_size: u64,
    /// Sum of RFC822.SIZE.
    pub size: u64,
    pub highest_mod_seq: u64,
    /// Messages no session has seen yet as `\Recent` (IMAP4rev1).
    pub recent: u32,
}

/// What a session attached with: its view starts from `snapshot`; `recent` are the UIDs
/// that are `\Recent` for this session (IMAP4rev1; claimed by the first read-write session).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub id: u64,
    pub snapshot: Snapshot,
    pub recent: Vec<u32>,
}

/// One message of an APPEND.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewMessage {
    pub data: Bytes,
    #[serde(with = "super::request::flag_text")]
    pub flags: Vec<Flag>,
    /// INTERNALDATE (Unix seconds); `None` = now.
    pub internal_date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub uid_validity: u32,
    /// The new UIDs, in the order the messages were given.
    pub uids: Vec<u32>,
}

/// What an EXPUNGE removed, and the MODSEQ it did so at (QRESYNC reports it, RFC 7162
/// section 3.2.7); `mod_seq` is 0 when nothing was expunged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expunged {
    pub uids: Vec<u32>,
    pub mod_seq: u64,
}

/// STORE as the mailbox sees it: UIDs already resolved by the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreFlags {
    pub uids: Vec<u32>,
    #[serde(with = "super::request::action_text")]
    pub action: StoreAction,
    #[serde(with = "super::request::flag_text")]
    pub flags: Vec<Flag>,
    /// CONDSTORE UNCHANGEDSINCE.
    pub unchanged_since: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoreOutcome {
    /// Messages whose flags changed (new flags and MODSEQ), plus those that matched but were
    /// already as requested (unchanged MODSEQ), so `.SILENT`-less STORE can report them.
    pub entries: Vec<MessageEntry>,
    /// UIDs that failed the UNCHANGEDSINCE test (`[MODIFIED ...]`).
    pub modified: Vec<u32>,
    pub keywords: Arc<[String]>,
    /// UIDs whose flags this STORE changed (attached sessions are told of exactly these).
    pub changed: Vec<u32>,
    /// The MODSEQ this STORE gave them. `entries` show the messages as they are after the
    /// commit, which may include another session's change committed in the same batch.
    pub mod_seq: u64,
    /// Of `changed`, the UIDs another STORE of the same commit changed too. The news of both
    /// changes carries the same entry, so a session cannot tell its own from the other's.
    pub contended: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    pub uid_validity: u32,
    pub source_uids: Vec<u32>,
    pub destination_uids: Vec<u32>,
}

/// Which messages an EXPUNGE removes (owned form of the store's `ExpungeSelect`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ExpungeScope {
    /// EXPUNGE: every `\Deleted` message.
    AllDeleted,
    /// UID EXPUNGE: those of these UIDs that are `\Deleted`.
    DeletedAmong(Vec<u32>),
    /// MOVE: exactly these UIDs.
    Exactly(Vec<u32>),
}

/// Every entry of a mailbox (sorted by UID) and the keyword table they use, shared.
pub type SharedIndex = (Arc<[MessageEntry]>, Arc<[String]>);

/// A change to a mailbox, sent to every attached session after it is durable.
#[derive(Message, Debug, Clone, Serialize, Deserialize)]
#[rtype(result = "()")]
pub struct MailboxEvent {
    pub mailbox: MailboxId,
    /// The attachment the event is for ([`Attachment::id`]): a session that left the mailbox
    /// and selected it again ignores late events of its earlier attachment, which its new
    /// snapshot already reflects.
    pub attachment: u64,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Change {
    /// New messages (UID order); `recent` are the UIDs that are `\Recent` for the receiver.
    Appended {
        entries: Vec<MessageEntry>,
        keywords: Arc<[String]>,
        recent: Vec<u32>,
    },
    /// New flags / MODSEQ.
    Flags {
        entries: Vec<MessageEntry>,
        keywords: Arc<[String]>,
    },
    Expunged {
        uids: Vec<u32>,
    },
    /// The mailbox was deleted, renamed, or (cluster) moved away: the session must send
    /// `* OK [CLOSED]` / `* BYE` as RFC 9051 says and leave the Selected state.
    Closed {
        reason: String,
    },
}
