//! Delivering one message to one recipient: through the account's single writer (its owner
//! node in a cluster), durable before the `250`, like an APPEND.

use bytes::{BufMut, Bytes, BytesMut};

use super::dedupe::{message_id, Dedupe};
use super::recipient::Recipient;
use super::reply::Reply;
use crate::config::LmtpConfig;
use crate::mailbox::{MailboxError, MailboxHandle, NewMessage};
use crate::shared::Shared;
use crate::telemetry::metrics;

/// Delivers `message` (as received) to `rcpt`, with `Return-Path:` and `Delivered-To:` added.
pub async fn deliver(
    shared: &Shared,
    config: &LmtpConfig,
    dedupe: &Dedupe,
    rcpt: &Recipient,
    sender: &str,
    message: &Bytes,
) -> Reply {
    let id = message_id(message);
    if let Some(id) = &id {
        if dedupe.seen(&rcpt.address, id) {
            metrics::lmtp_delivery("duplicate");
            return Reply::new(
                250,
                "2.0.0",
                format!("<{}> already delivered {id}", rcpt.address),
            );
        }
    }
    match append(shared, config, rcpt, sender, message).await {
        Ok((folder, uid)) => {
            if let Some(id) = &id {
                dedupe.record(&rcpt.address, id);
            }
            metrics::lmtp_delivery("delivered");
            tracing::info!(user = %rcpt.user, folder = %folder, uid, "delivered");
            Reply::new(
                250,
                "2.0.0",
                format!("<{}> delivered to {folder} as UID {uid}", rcpt.address),
            )
        }
        Err(e) => {
            let reply = failure(&e);
            metrics::lmtp_delivery(if reply.code >= 500 {
                "refused"
            } else {
                "temporary"
            });
            tracing::warn!(user = %rcpt.user, error = %e, "delivery failed");
            reply
        }
    }
}

async fn append(
    shared: &Shared,
    config: &LmtpConfig,
    rcpt: &Recipient,
    sender: &str,
    message: &Bytes,
) -> Result<(String, u32), MailboxError> {
    let account = shared.registry.account(&rcpt.user).await?;
    let folder = match (&rcpt.detail, config.detail_to_folder) {
        (Some(detail), true) => {
            let view = account.view().await?;
            view.mailboxes
                .iter()
                .find(|m| m.name == *detail)
                .map_or_else(|| "INBOX".to_owned(), |m| m.name.clone())
        }
        _ => "INBOX".to_owned(),
    };
    let handle = account.open(&folder).await?;
    if let Some(id) = message_id(message) {
        if let Some(uid) = already_stored(&handle, &id).await? {
            // A retry after an answer that was lost (the owner node died after the commit):
            // the copy is there, and a second would be a duplicate.
            return Ok((folder, uid));
        }
    }
    let data = with_trace_headers(sender, &rcpt.address, message);
    let appended = handle
        .append(vec![NewMessage {
            data,
            flags: Vec::new(),
            internal_date: None,
        }])
        .await?;
    let uid = appended.uids.first().copied().unwrap_or(0);
    Ok((folder, uid))
}

/// How many of a mailbox's newest messages a delivery looks through for the same
/// Message-ID. Retries come soon after the lost answer, so the copy would be among them.
const RECENT_TO_CHECK: usize = 64;

/// The UID of a message with this Message-ID among the newest of the mailbox, if any.
async fn already_stored(handle: &MailboxHandle, id: &str) -> Result<Option<u32>, MailboxError> {
    let status = handle.status().await?;
    let first = status
        .uid_next
        .saturating_sub(RECENT_TO_CHECK as u32 * 4)
        .max(1);
    let (entries, _) = handle.entries((first..status.uid_next).collect()).await?;
    let newest: Vec<_> = entries
        .iter()
        .rev()
        .take(RECENT_TO_CHECK)
        .copied()
        .collect();
    let (handle, id) = (handle.clone(), id.trim().as_bytes().to_vec());
    tokio::task::spawn_blocking(move || {
        newest.into_iter().find_map(|entry| {
            let meta = handle.load_meta(entry.blob).ok()?;
            (meta.message_id()?.trim_ascii() == id.as_slice()).then_some(entry.uid)
        })
    })
    .await
    .map_err(|e| MailboxError::Storage(format!("duplicate check failed: {e}")))
}

/// `Return-Path:` (RFC 5321 section 4.4, added at final delivery) and `Delivered-To:`.
fn with_trace_headers(sender: &str, recipient: &str, message: &Bytes) -> Bytes {
    let header = format!("Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n");
    let mut data = BytesMut::with_capacity(header.len() + message.len());
    data.put_slice(header.as_bytes());
    data.put_slice(message);
    data.freeze()
}

/// The reply for a failed delivery: temporary (the MTA keeps the message and retries)
/// unless retrying cannot help.
fn failure(e: &MailboxError) -> Reply {
    match e {
        MailboxError::TooBig => Reply::new(552, "5.3.4", "message too big for the mailbox"),
        MailboxError::Limit(why) => Reply::new(452, "4.2.2", why.clone()),
        // RFC 3463 X.2.2 "mailbox full"; permanent, as Dovecot answers by default: an MTA
        // that retries for days only delays the bounce the sender needs.
        MailboxError::OverQuota(why) => Reply::new(552, "5.2.2", format!("mailbox full: {why}")),
        MailboxError::DiskFull(_) => {
            Reply::new(452, "4.3.1", "insufficient storage, try again later")
        }
        MailboxError::Storage(_) => {
            Reply::new(451, "4.3.0", "temporary storage failure, try again later")
        }
        MailboxError::Unavailable(why) | MailboxError::Gone(why) => Reply::new(
            451,
            "4.4.0",
            format!("mailbox temporarily unavailable: {why}"),
        ),
        MailboxError::NonExistent(_)
        | MailboxError::AlreadyExists(_)
        | MailboxError::Cannot(_)
        | MailboxError::HasChildren(_)
        | MailboxError::Metadata(_) => Reply::new(451, "4.3.0", format!("cannot deliver now: {e}")),
    }
}
