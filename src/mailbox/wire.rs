//! The node-link payloads for account and mailbox operations: what a session on one node
//! asks of the node that owns the account, encoded with postcard.
//!
//! Flags travel as their wire text (`\Seen`, `$Junk`), so the protocol crate stays free of
//! serde.

use bytes::Bytes;
use roost_proto::{Flag, StoreAction};
use serde::{Deserialize, Serialize};

use super::{
    AccountView, Appended, Attachment, Copied, MailboxError, MailboxStatus, NewMessage, StoreFlags,
    StoreOutcome,
};
use crate::store::{MailboxInfo, MessageEntry, SpecialUse};

/// What travels on the link: the request and the trace context of the command it serves.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireEnvelope {
    pub trace: crate::telemetry::propagation::TraceContext,
    pub request: WireRequest,
}

/// A request to the owner node.
#[derive(Debug, Serialize, Deserialize)]
pub enum WireRequest {
    Account {
        user: String,
        op: AccountOp,
    },
    Mailbox {
        user: String,
        mailbox: String,
        op: MailboxOp,
    },
    /// Ends a remote attachment (the session left the mailbox).
    Detach {
        stream: u64,
    },
}

impl WireRequest {
    /// A short name for spans and logs (`account.create`, `mailbox.append`).
    pub fn name(&self) -> &'static str {
        match self {
            WireRequest::Account { op, .. } => match op {
                AccountOp::Ready => "account.ready",
                AccountOp::View => "account.view",
                AccountOp::Create { .. } => "account.create",
                AccountOp::Delete { .. } => "account.delete",
                AccountOp::Rename { .. } => "account.rename",
                AccountOp::Subscribe { .. } => "account.subscribe",
                AccountOp::Open { .. } => "account.open",
            },
            WireRequest::Mailbox { op, .. } => match op {
                MailboxOp::Attach { .. } => "mailbox.attach",
                MailboxOp::Status => "mailbox.status",
                MailboxOp::Entries { .. } => "mailbox.entries",
                MailboxOp::Append { .. } => "mailbox.append",
                MailboxOp::Store { .. } => "mailbox.store",
                MailboxOp::Expunge { .. } => "mailbox.expunge",
                MailboxOp::Copy { .. } => "mailbox.copy",
            },
            WireRequest::Detach { .. } => "mailbox.detach",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum AccountOp {
    /// Is this node the owner, with the account loaded?
    Ready,
    View,
    Create {
        name: String,
        special_use: Option<SpecialUse>,
    },
    Delete {
        name: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Subscribe {
        name: String,
        subscribe: bool,
    },
    Open {
        name: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum MailboxOp {
    /// Attach; changes are pushed on `stream` until Detach or the link breaks.
    Attach {
        stream: u64,
        read_only: bool,
    },
    Status,
    Entries {
        uids: Vec<u32>,
    },
    Append {
        messages: Vec<WireMessage>,
    },
    Store {
        uids: Vec<u32>,
        action: WireAction,
        flags: Vec<String>,
        unchanged_since: Option<u64>,
    },
    Expunge {
        uids: Option<Vec<u32>>,
    },
    Copy {
        destination: String,
        uids: Vec<u32>,
        is_move: bool,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WireMessage {
    pub data: Bytes,
    pub flags: Vec<String>,
    pub internal_date: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum WireAction {
    Replace,
    Add,
    Remove,
}

/// The owner's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum WireValue {
    Unit,
    View(AccountView),
    Info(MailboxInfo),
    Renamed(Vec<(String, String)>),
    Attached(Attachment),
    Status(MailboxStatus),
    Entries(Vec<MessageEntry>, Vec<String>),
    Appended(Appended),
    Stored(StoreOutcome),
    Expunged(Vec<u32>),
    Copied(Copied),
}

pub type WireResult = Result<WireValue, MailboxError>;

fn flag_texts(flags: &[Flag]) -> Vec<String> {
    flags.iter().map(|f| f.as_text().into_owned()).collect()
}

fn parse_flags(texts: &[String]) -> Vec<Flag> {
    texts.iter().filter_map(|t| Flag::parse(t).ok()).collect()
}

impl From<NewMessage> for WireMessage {
    fn from(m: NewMessage) -> Self {
        WireMessage {
            data: m.data,
            flags: flag_texts(&m.flags),
            internal_date: m.internal_date,
        }
    }
}

impl From<WireMessage> for NewMessage {
    fn from(m: WireMessage) -> Self {
        NewMessage {
            data: m.data,
            flags: parse_flags(&m.flags),
            internal_date: m.internal_date,
        }
    }
}

impl MailboxOp {
    pub fn store(request: StoreFlags) -> MailboxOp {
        let action = match request.action {
            StoreAction::Replace => WireAction::Replace,
            StoreAction::Add => WireAction::Add,
            StoreAction::Remove => WireAction::Remove,
        };
        MailboxOp::Store {
            uids: request.uids,
            action,
            flags: flag_texts(&request.flags),
            unchanged_since: request.unchanged_since,
        }
    }
}

/// The STORE a `MailboxOp::Store` stands for.
pub fn store_flags(
    uids: Vec<u32>,
    action: WireAction,
    flags: &[String],
    unchanged_since: Option<u64>,
) -> StoreFlags {
    let action = match action {
        WireAction::Replace => StoreAction::Replace,
        WireAction::Add => StoreAction::Add,
        WireAction::Remove => StoreAction::Remove,
    };
    StoreFlags {
        uids,
        action,
        flags: parse_flags(flags),
        unchanged_since,
    }
}

/// Encodes a payload (postcard; the node link adds framing).
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).unwrap_or_default()
}

/// Decodes a payload; a malformed one reads as an error the caller reports.
///
/// # Errors
/// When the bytes are not a valid encoding of `T`.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, MailboxError> {
    postcard::from_bytes(bytes)
        .map_err(|e| MailboxError::Unavailable(format!("malformed node-link message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_with_flags_as_text() {
        let message = NewMessage {
            data: Bytes::from_static(b"Subject: x\r\n\r\nbody"),
            flags: vec![Flag::Seen, Flag::parse("$Junk").unwrap()],
            internal_date: Some(7),
        };
        let request = WireRequest::Mailbox {
            user: "alice".into(),
            mailbox: "INBOX".into(),
            op: MailboxOp::Append {
                messages: vec![message.clone().into()],
            },
        };
        let back: WireRequest = decode(&encode(&request)).unwrap();
        let WireRequest::Mailbox {
            op: MailboxOp::Append { messages },
            ..
        } = back
        else {
            panic!()
        };
        let back: NewMessage = messages.into_iter().next().unwrap().into();
        assert_eq!(back.flags, message.flags);
        assert_eq!(back.data, message.data);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<WireRequest>(&[0xff, 0xff, 0xff]).is_err());
    }
}
