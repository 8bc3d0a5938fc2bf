//! One definition of every account and mailbox operation. The same value goes to the local
//! actor or, serialised unchanged, to the node that owns the account, and is answered with
//! one [`Answer`]; handles turn that back into the operation's own result type.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::types::{
    AccountView, Appended, Attachment, Copied, ExpungeScope, Expunged, MailboxStatus, NewMessage,
    StoreFlags, StoreOutcome,
};
use super::usage::QuotaReport;
use super::MailboxError;
use crate::store::metadata::{MetadataChange, MetadataFound, MetadataQuery};
use crate::store::quota::Limits;
use crate::store::requests::{AccountOutcome, RequestKey};
use crate::store::vanished::Since;
use crate::store::{MailboxInfo, MessageEntry, SpecialUse};

/// What the Account actor does: the account-wide commands, serialised per account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AccountOp {
    /// Is the account loaded (and, asked of another node, owned by it)?
    Ready,
    View,
    /// CREATE (RFC 9051 section 6.3.4).
    Create {
        name: String,
        special_use: Option<SpecialUse>,
    },
    /// DELETE (section 6.3.5).
    Delete {
        name: String,
    },
    /// RENAME (section 6.3.6).
    Rename {
        from: String,
        to: String,
    },
    /// SUBSCRIBE / UNSUBSCRIBE.
    Subscribe {
        name: String,
        subscribe: bool,
    },
    /// The mailbox's current description (for a handle on another node).
    Open {
        name: String,
    },
    /// GETQUOTA / GETQUOTAROOT (RFC 9208): the account's limits and usage.
    Quota,
    /// SETQUOTA by an administrator: the account's limits from now on.
    SetQuota {
        limits: Limits,
    },
    /// GETMETADATA (RFC 5464 section 4.2); `mailbox` is `""` for the server's entries.
    GetMetadata {
        mailbox: String,
        query: MetadataQuery,
    },
    /// SETMETADATA (section 4.3): every change or none.
    SetMetadata {
        mailbox: String,
        changes: Vec<MetadataChange>,
    },
    /// `op` forwarded by another node under `key`, sent again unchanged when the answer was
    /// lost: a change already made under `key` is answered as it was (a repeated RENAME
    /// would say `NONEXISTENT`, a repeated CREATE `ALREADYEXISTS`), not made again. SETQUOTA
    /// and reads simply run (setting the same limits again changes nothing).
    Once {
        key: RequestKey,
        op: Box<AccountOp>,
    },
}

/// What a Mailbox actor does for a session that has the mailbox selected (or asks STATUS).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MailboxOp {
    Status,
    /// The current entries of these UIDs (missing ones are skipped), with the keyword table.
    Entries {
        uids: Vec<u32>,
    },
    Append {
        messages: Vec<NewMessage>,
    },
    Store(StoreFlags),
    Expunge(ExpungeScope),
    /// The UIDs expunged after a MODSEQ (QRESYNC's `VANISHED (EARLIER)`).
    VanishedSince {
        mod_seq: u64,
    },
    /// `op` forwarded by another node under `key`, which it sends again, unchanged, when it
    /// lost the answer: a write (APPEND, STORE, EXPUNGE) already carried out under `key` is
    /// answered as it was, not carried out again; one still running is waited for. Reads
    /// simply run.
    Once {
        key: RequestKey,
        op: Box<MailboxOp>,
    },
}

/// The answer to any operation.
#[derive(Debug, Serialize, Deserialize)]
pub enum Answer {
    Unit,
    View(AccountView),
    Info(MailboxInfo),
    Renamed(Vec<(String, String)>),
    Attached(Attachment),
    Status(MailboxStatus),
    Entries(Vec<MessageEntry>, Arc<[String]>),
    Appended(Appended),
    Stored(StoreOutcome),
    Expunged(Expunged),
    Copied(Copied),
    Vanished(Since),
    Quota(QuotaReport),
    Metadata(MetadataFound),
}

impl AccountOp {
    /// A short name for spans and logs.
    pub fn name(&self) -> &'static str {
        match self {
            AccountOp::Ready => "account.ready",
            AccountOp::View => "account.view",
            AccountOp::Create { .. } => "account.create",
            AccountOp::Delete { .. } => "account.delete",
            AccountOp::Rename { .. } => "account.rename",
            AccountOp::Subscribe { .. } => "account.subscribe",
            AccountOp::Open { .. } => "account.open",
            AccountOp::Quota => "account.quota",
            AccountOp::SetQuota { .. } => "account.set_quota",
            AccountOp::GetMetadata { .. } => "account.getmetadata",
            AccountOp::SetMetadata { .. } => "account.setmetadata",
            AccountOp::Once { op, .. } => op.name(),
        }
    }

    /// Whether the operation changes the account (and so is sent again under a key when its
    /// answer is lost).
    pub fn is_write(&self) -> bool {
        match self {
            AccountOp::Create { .. }
            | AccountOp::Delete { .. }
            | AccountOp::Rename { .. }
            | AccountOp::Subscribe { .. }
            | AccountOp::SetQuota { .. }
            | AccountOp::SetMetadata { .. } => true,
            AccountOp::Ready
            | AccountOp::View
            | AccountOp::Open { .. }
            | AccountOp::Quota
            | AccountOp::GetMetadata { .. } => false,
            AccountOp::Once { op, .. } => op.is_write(),
        }
    }

    /// The answer to a repeat of this operation whose first run produced `outcome`.
    ///
    /// # Errors
    /// `Cannot` when the outcome is of another kind of operation (a reused key).
    pub fn answer_again(&self, outcome: AccountOutcome) -> Result<Answer, MailboxError> {
        match (self, outcome) {
            (AccountOp::Create { .. }, AccountOutcome::Created(info)) => Ok(Answer::Info(info)),
            (AccountOp::Rename { .. }, AccountOutcome::Renamed(pairs)) => {
                Ok(Answer::Renamed(pairs))
            }
            (
                AccountOp::Delete { .. }
                | AccountOp::Subscribe { .. }
                | AccountOp::SetMetadata { .. },
                AccountOutcome::Done,
            ) => Ok(Answer::Unit),
            (AccountOp::Once { op, .. }, outcome) => op.answer_again(outcome),
            _ => Err(MailboxError::Cannot(
                "the request key was used for another operation".into(),
            )),
        }
    }
}

impl MailboxOp {
    /// Whether the operation changes the mailbox (and so may be sent again under a key).
    pub fn is_write(&self) -> bool {
        match self {
            MailboxOp::Append { .. } | MailboxOp::Store(_) | MailboxOp::Expunge(_) => true,
            MailboxOp::Status | MailboxOp::Entries { .. } | MailboxOp::VanishedSince { .. } => {
                false
            }
            MailboxOp::Once { op, .. } => op.is_write(),
        }
    }

    /// A short name for spans and logs.
    pub fn name(&self) -> &'static str {
        match self {
            MailboxOp::Status => "mailbox.status",
            MailboxOp::Entries { .. } => "mailbox.entries",
            MailboxOp::Append { .. } => "mailbox.append",
            MailboxOp::Store(_) => "mailbox.store",
            MailboxOp::Expunge(_) => "mailbox.expunge",
            MailboxOp::VanishedSince { .. } => "mailbox.vanished",
            MailboxOp::Once { op, .. } => op.name(),
        }
    }
}

/// An answer of the wrong kind: an error rather than a panic.
pub(crate) fn unexpected(answer: Answer) -> MailboxError {
    MailboxError::Unavailable(format!(
        "unexpected answer to a mailbox operation: {answer:?}"
    ))
}

/// Unwraps the expected variant of an [`Answer`].
macro_rules! expect_answer {
    ($answer:expr, $pattern:pat => $out:expr) => {
        match $answer {
            $pattern => Ok($out),
            other => Err($crate::mailbox::request::unexpected(other)),
        }
    };
}
pub(crate) use expect_answer;

/// Flags travel as their wire text (`\Seen`, `$Junk`), so the protocol crate stays free of
/// serde.
pub(crate) mod flag_text {
    use roost_proto::Flag;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(flags: &[Flag], s: S) -> Result<S::Ok, S::Error> {
        let texts: Vec<String> = flags.iter().map(|f| f.as_text().into_owned()).collect();
        texts.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Flag>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|t| {
                Flag::parse(t).map_err(|_| serde::de::Error::custom(format!("bad flag {t:?}")))
            })
            .collect()
    }
}

/// STORE's `+FLAGS` / `-FLAGS` / `FLAGS` as one byte on the wire.
pub(crate) mod action_text {
    use roost_proto::StoreAction;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(action: &StoreAction, s: S) -> Result<S::Ok, S::Error> {
        let code: u8 = match action {
            StoreAction::Replace => 0,
            StoreAction::Add => 1,
            StoreAction::Remove => 2,
        };
        code.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StoreAction, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(StoreAction::Replace),
            1 => Ok(StoreAction::Add),
            2 => Ok(StoreAction::Remove),
            other => Err(serde::de::Error::custom(format!(
                "bad STORE action {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use roost_proto::{Flag, StoreAction};

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(value: &T) -> T {
        postcard::from_bytes(&postcard::to_stdvec(value).unwrap()).unwrap()
    }

    #[test]
    fn operations_round_trip_with_flags_as_text() {
        let message = NewMessage {
            data: Bytes::from_static(b"Subject: x\r\n\r\nbody"),
            flags: vec![Flag::Seen, Flag::parse("$Junk").unwrap()],
            internal_date: Some(7),
        };
        let MailboxOp::Append { messages } = round_trip(&MailboxOp::Append {
            messages: vec![message.clone()],
        }) else {
            panic!("wrong variant")
        };
        assert_eq!(messages[0].flags, message.flags);
        assert_eq!(messages[0].data, message.data);
        let store = StoreFlags {
            uids: vec![1, 5],
            action: StoreAction::Remove,
            flags: vec![Flag::Deleted],
            unchanged_since: Some(9),
        };
        let MailboxOp::Store(back) = round_trip(&MailboxOp::Store(store)) else {
            panic!("wrong variant")
        };
        assert_eq!(back.action, StoreAction::Remove);
        assert_eq!(back.flags, [Flag::Deleted]);
    }

    #[test]
    fn metadata_operations_and_answers_round_trip() {
        use crate::store::metadata::QueryDepth;
        let op = AccountOp::SetMetadata {
            mailbox: String::new(),
            changes: vec![
                ("/private/a".into(), Some(b"bin\0ary".to_vec())),
                ("/shared/b".into(), None),
            ],
        };
        let AccountOp::SetMetadata { mailbox, changes } = round_trip(&op) else {
            panic!("wrong variant")
        };
        assert_eq!(mailbox, "");
        assert_eq!(changes[0].1.as_deref(), Some(&b"bin\0ary"[..]));
        assert_eq!(changes[1].1, None);
        let query = MetadataQuery {
            entries: vec!["/private".into()],
            depth: QueryDepth::Infinity,
            max_size: Some(10),
        };
        let AccountOp::GetMetadata { query: back, .. } = round_trip(&AccountOp::GetMetadata {
            mailbox: "INBOX".into(),
            query: query.clone(),
        }) else {
            panic!("wrong variant")
        };
        assert_eq!(back, query);
        let found = MetadataFound {
            values: vec![("/private/a".into(), b"v".to_vec())],
            longest_skipped: Some(99),
        };
        let bytes = postcard::to_stdvec(&Answer::Metadata(found.clone())).unwrap();
        let Answer::Metadata(back) = postcard::from_bytes(&bytes).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(back, found);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(postcard::from_bytes::<MailboxOp>(&[0xff, 0xff, 0xff]).is_err());
    }
}
