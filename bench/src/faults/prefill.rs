//! Filling every account's INBOX before the first round (`--prefill N`), so the faults hit
//! mailboxes of real size: a new owner then opens a large mailbox, and sessions re-SELECT
//! one. The messages are ordinary acknowledged APPENDs in the [`Ledger`] (markers
//! `p<account>-<n>`), checked after every round like the writers' own.

use std::time::Duration;

use bytes::Bytes;

use super::ledger::Ledger;
use super::writer::message;
use crate::client::Conn;
use crate::workload::{append, appended_uids};

/// Messages per MULTIAPPEND.
const BATCH: usize = 500;

/// Appends `messages` messages to each account's INBOX through `addr` and records them as
/// acknowledged, then marks them compared so the first check reads their markers only (a
/// cold check still compares every body).
///
/// # Errors
/// When a login or an APPEND fails, or an APPEND's answer lacks its UIDs.
pub async fn prefill(
    addr: &str,
    password: &dyn Fn(usize) -> String,
    ledger: &mut Ledger,
    messages: u64,
) -> anyhow::Result<()> {
    for account in 0..ledger.accounts.len() {
        let user = format!("user{}", account + 1);
        let mut c = Conn::connect(addr, Duration::from_secs(120)).await?;
        c.login(&user, &password(account + 1)).await?;
        let mut n = 0;
        while n < messages {
            let batch: Vec<(String, u64)> = (n..messages.min(n + BATCH as u64))
                .map(|k| (format!("p{account}-{k}"), k))
                .collect();
            let reply = append(
                &mut c,
                "INBOX",
                batch
                    .iter()
                    .map(|(marker, seq)| (vec![], Bytes::from(message(marker, *seq))))
                    .collect(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{user}: prefill APPEND: {e}"))?;
            let validity = reply
                .find_code(|c| match c {
                    roost_proto::Code::AppendUid { uid_validity, .. } => Some(*uid_validity),
                    _ => None,
                })
                .unwrap_or(0);
            let uids = appended_uids(&reply);
            anyhow::ensure!(
                uids.len() == batch.len(),
                "{user}: prefill APPEND of {} answered {} UIDs",
                batch.len(),
                uids.len()
            );
            for ((marker, seq), uid) in batch.iter().zip(uids) {
                ledger.acked(account, marker, *seq, uid, validity);
            }
            n += batch.len() as u64;
        }
        let a = &mut ledger.accounts[account];
        a.checked_upto = a.by_uid.keys().copied().max().unwrap_or(0);
        eprintln!("faults: {user}: prefilled {messages} messages");
    }
    Ok(())
}
