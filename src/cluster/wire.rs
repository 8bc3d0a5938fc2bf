//! What travels on a node link between a session's node and the account's owner: one
//! [`WireRequest`] per call, answered with a `Result<Answer, MailboxError>`; mailbox changes
//! pushed as [`MailboxEvent`](crate::mailbox::MailboxEvent)s. Encoded with postcard; the link
//! adds framing.
//!
//! The operations themselves are the ones the local actors take
//! ([`AccountOp`], [`MailboxOp`]), carried unchanged.

use serde::{Deserialize, Serialize};

use crate::mailbox::request::{AccountOp, Answer, MailboxOp};
use crate::mailbox::{MailboxAddress, MailboxError};
use crate::store::requests::RequestKey;

/// The request and the trace context of the command it serves.
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
        mailbox: MailboxAddress,
        op: MailboxOp,
    },
    /// Attach a session; changes are pushed on `stream` until Detach or the link breaks.
    Attach {
        user: String,
        mailbox: MailboxAddress,
        stream: u64,
        read_only: bool,
    },
    /// Ends a remote attachment (the session left the mailbox).
    Detach {
        stream: u64,
    },
    /// Watch the account's changes (NOTIFY); they are pushed on `stream` as
    /// [`AccountEvent`](crate::mailbox::feed::AccountEvent)s until Unwatch or the link breaks.
    Watch {
        user: String,
        stream: u64,
    },
    Unwatch {
        stream: u64,
    },
    /// COPY or MOVE from `source` into the account's mailbox named `destination`; `key`
    /// names it across repeats (see `mailbox/once.rs`).
    Copy {
        user: String,
        source: MailboxAddress,
        destination: String,
        uids: Vec<u32>,
        is_move: bool,
        key: Option<RequestKey>,
    },
}

impl WireRequest {
    /// A short name for spans and logs (`account.create`, `mailbox.append`).
    pub fn name(&self) -> &'static str {
        match self {
            WireRequest::Account { op, .. } => op.name(),
            WireRequest::Mailbox { op, .. } => op.name(),
            WireRequest::Attach { .. } => "mailbox.attach",
            WireRequest::Detach { .. } => "mailbox.detach",
            WireRequest::Copy { .. } => "mailbox.copy",
            WireRequest::Watch { .. } => "account.watch",
            WireRequest::Unwatch { .. } => "account.unwatch",
        }
    }
}

pub type WireResult = Result<Answer, MailboxError>;

/// Encodes a payload.
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
    use crate::store::MailboxId;

    #[test]
    fn a_mailbox_request_names_the_mailbox_by_id_and_uidvalidity() {
        let request = WireRequest::Mailbox {
            user: "alice".into(),
            mailbox: MailboxAddress {
                id: MailboxId(7),
                uid_validity: 99,
                name: "Work".into(),
            },
            op: MailboxOp::Status,
        };
        let WireRequest::Mailbox { mailbox, .. } = decode(&encode(&request)).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!((mailbox.id, mailbox.uid_validity), (MailboxId(7), 99));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<WireRequest>(&[0xff, 0xff, 0xff]).is_err());
    }
}
