//! Mailbox and Account actors: the one authoritative copy of each open mailbox and of each
//! account's mailbox list, reached through cloneable handles.
//!
//! A `Mailbox` actor owns one mailbox's store: it orders APPEND, STORE, EXPUNGE, COPY and
//! MOVE, assigns UIDs and MODSEQs, writes the log with group commit (one fsync for every
//! write that arrived while the previous fsync ran), answers only once the change is durable,
//! and then sends a [`MailboxEvent`] to every attached session. An `Account` actor serialises
//! CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE. The [`Registry`] finds or starts them.
//!
//! Sessions only see [`AccountHandle`] and [`MailboxHandle`], which is what lets a handle
//! point at another node once the cluster arrives.

use std::path::PathBuf;
use std::sync::Arc;

use actix::{Message, Recipient};
use bytes::Bytes;
use roost_proto::{Flag, StoreAction};

use crate::store::{BlobId, MailboxId, MailboxInfo, MessageEntry, SpecialUse};

/// Why a mailbox operation failed; the session maps each to its response code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    /// `[NONEXISTENT]`
    #[error("no mailbox named {0}")]
    NonExistent(String),
    /// `[ALREADYEXISTS]`
    #[error("mailbox {0} already exists")]
    AlreadyExists(String),
    /// `[CANNOT]`, e.g. deleting INBOX, renaming into itself, invalid name.
    #[error("{0}")]
    Cannot(String),
    /// `[LIMIT]`, e.g. more than 59 keywords in one mailbox.
    #[error("{0}")]
    Limit(String),
    /// `[TOOBIG]`
    #[error("message too big")]
    TooBig,
    /// `[UNAVAILABLE]`: the mailbox moved or its owner is gone; try again.
    #[error("mailbox unavailable: {0}")]
    Unavailable(String),
    /// `[SERVERBUG]`/`[CORRUPTION]`: an I/O or consistency failure, logged with details.
    #[error("storage error: {0}")]
    Storage(String),
}

/// Finds or starts the Account and Mailbox actors of this node.
pub struct Registry {
    _private: (),
}

impl Registry {
    /// Mail lives under `<data_dir>/accounts/`.
    pub fn new(data_dir: PathBuf) -> Arc<Registry> {
        let _ = data_dir;
        todo!("mailbox::Registry::new")
    }

    /// The account's handle; a new account gets INBOX, Drafts, Sent, Trash, Junk and
    /// Archive with their special-use attributes.
    ///
    /// # Errors
    /// `Storage` when the account's files cannot be read or created.
    pub async fn account(&self, user: &str) -> Result<AccountHandle, MailboxError> {
        let _ = user;
        todo!("mailbox::Registry::account")
    }
}

/// An account's mailbox list and subscriptions, as of one moment.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub mailboxes: Vec<MailboxInfo>,
    /// Subscribed names; may name mailboxes that do not exist (RFC 9051 section 6.3.7).
    pub subscriptions: Vec<String>,
}

/// A handle to an account's Account actor. Cheap to clone.
#[derive(Clone)]
pub struct AccountHandle {
    _private: (),
}

impl AccountHandle {
    pub async fn view(&self) -> Result<AccountView, MailboxError> {
        todo!()
    }

    /// CREATE: creates missing parents too (RFC 9051 section 6.3.4). Durable when it returns.
    pub async fn create(
        &self,
        name: String,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo, MailboxError> {
        let _ = (name, special_use);
        todo!()
    }

    /// DELETE (section 6.3.5): refuses INBOX; a mailbox with children keeps existing as
    /// `\Noselect` only if it has inferior names (here: refused with `Cannot` "has children").
    /// Attached sessions receive [`Change::Closed`].
    pub async fn delete(&self, name: String) -> Result<(), MailboxError> {
        let _ = name;
        todo!()
    }

    /// RENAME (section 6.3.6): children move along; renaming INBOX moves its messages into a
    /// new mailbox and leaves INBOX empty. Returns the `(old, new)` names of everything renamed.
    pub async fn rename(
        &self,
        from: String,
        to: String,
    ) -> Result<Vec<(String, String)>, MailboxError> {
        let _ = (from, to);
        todo!()
    }

    pub async fn subscribe(&self, name: String) -> Result<(), MailboxError> {
        let _ = name;
        todo!()
    }

    pub async fn unsubscribe(&self, name: String) -> Result<(), MailboxError> {
        let _ = name;
        todo!()
    }

    /// The handle of the mailbox with this name (starting its actor if needed).
    pub async fn open(&self, name: &str) -> Result<MailboxHandle, MailboxError> {
        let _ = name;
        todo!()
    }
}

/// A handle to a Mailbox actor. Cheap to clone.
#[derive(Clone)]
pub struct MailboxHandle {
    _private: (),
}

/// Everything a session needs to start a view of the mailbox (SELECT/EXAMINE).
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxStatus {
    pub messages: u32,
    pub uid_next: u32,
    pub uid_validity: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of RFC822.SIZE.
    pub size: u64,
    pub highest_mod_seq: u64,
    /// Messages no session has seen yet as `\Recent` (IMAP4rev1).
    pub recent: u32,
}

/// What a session attached with: its view starts from `snapshot`; `recent` are the UIDs
/// that are `\Recent` for this session (IMAP4rev1; claimed by the first read-write session).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: u64,
    pub snapshot: Snapshot,
    pub recent: Vec<u32>,
}

/// One message of an APPEND.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub data: Bytes,
    pub flags: Vec<Flag>,
    /// INTERNALDATE (Unix seconds); `None` = now.
    pub internal_date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub uid_validity: u32,
    /// The new UIDs, in the order the messages were given.
    pub uids: Vec<u32>,
}

/// STORE as the mailbox sees it: UIDs already resolved by the session.
#[derive(Debug, Clone)]
pub struct StoreFlags {
    pub uids: Vec<u32>,
    pub action: StoreAction,
    pub flags: Vec<Flag>,
    /// CONDSTORE UNCHANGEDSINCE.
    pub unchanged_since: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct StoreOutcome {
    /// Messages whose flags changed (new flags and MODSEQ), plus those that matched but were
    /// already as requested (unchanged MODSEQ), so `.SILENT`-less STORE can report them.
    pub entries: Vec<MessageEntry>,
    /// UIDs that failed the UNCHANGEDSINCE test (`[MODIFIED ...]`).
    pub modified: Vec<u32>,
    pub keywords: Arc<[String]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub uid_validity: u32,
    pub source_uids: Vec<u32>,
    pub destination_uids: Vec<u32>,
}

impl MailboxHandle {
    pub fn info(&self) -> &MailboxInfo {
        todo!()
    }

    /// Attaches a session: it will receive every later change as a [`MailboxEvent`].
    /// `read_only` (EXAMINE) sessions do not claim `\Recent`.
    pub async fn attach(
        &self,
        listener: Recipient<MailboxEvent>,
        read_only: bool,
    ) -> Result<Attachment, MailboxError> {
        let _ = (listener, read_only);
        todo!()
    }

    pub fn detach(&self, attachment: u64) {
        let _ = attachment;
        todo!()
    }

    pub async fn status(&self) -> Result<MailboxStatus, MailboxError> {
        todo!()
    }

    /// The current entries of the given UIDs (missing ones are skipped), with the keyword table.
    pub async fn entries(
        &self,
        uids: Vec<u32>,
    ) -> Result<(Vec<MessageEntry>, Arc<[String]>), MailboxError> {
        let _ = uids;
        todo!()
    }

    /// APPEND: writes blobs and metadata, then one log commit for all messages.
    pub async fn append(&self, messages: Vec<NewMessage>) -> Result<Appended, MailboxError> {
        let _ = messages;
        todo!()
    }

    pub async fn store(&self, request: StoreFlags) -> Result<StoreOutcome, MailboxError> {
        let _ = request;
        todo!()
    }

    /// EXPUNGE (`None`: every `\Deleted` message) or UID EXPUNGE (only those UIDs that are
    /// also `\Deleted`). Returns the expunged UIDs.
    pub async fn expunge(&self, uids: Option<Vec<u32>>) -> Result<Vec<u32>, MailboxError> {
        let _ = uids;
        todo!()
    }

    /// COPY into `destination` (hard-linking blobs). UIDs that no longer exist are skipped.
    pub async fn copy_to(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
    ) -> Result<Copied, MailboxError> {
        let _ = (uids, destination);
        todo!()
    }

    /// MOVE: COPY, then expunge the sources.
    pub async fn move_to(
        &self,
        uids: Vec<u32>,
        destination: &MailboxHandle,
    ) -> Result<Copied, MailboxError> {
        let _ = (uids, destination);
        todo!()
    }

    /// Where the message octets of `blob` are; read them off the actor thread.
    pub fn blob_path(&self, blob: BlobId) -> PathBuf {
        let _ = blob;
        todo!()
    }

    /// The metadata parsed at append (blocking: call from a blocking task).
    pub fn load_meta(&self, blob: BlobId) -> Result<crate::message::MessageMeta, MailboxError> {
        let _ = blob;
        todo!()
    }
}

/// A change to a mailbox, sent to every attached session after it is durable.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct MailboxEvent {
    pub mailbox: MailboxId,
    pub change: Change,
}

#[derive(Debug, Clone)]
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
        highest_mod_seq: u64,
    },
    /// The mailbox was deleted, renamed, or (cluster) moved away: the session must send
    /// `* OK [CLOSED]` / `* BYE` as RFC 9051 says and leave the Selected state.
    Closed { reason: String },
}
