//! Durable storage: accounts, mailbox logs, message blobs, recovery, compaction.
//!
//! Layout under `<data_dir>/accounts/<account>/` (`<account>` from [`account::account_dir_name`]):
//! - `snapshot`, `log.<generation>`: the account journal: the mailbox list (id, name,
//!   UIDVALIDITY, special-use) and subscriptions.
//! - `mailboxes/<mailbox-id>/snapshot`, `log.<generation>`: the mailbox journal: append,
//!   flags and expunge records, each with its MODSEQ; UIDNEXT and HIGHESTMODSEQ follow.
//! - `mailboxes/<mailbox-id>/blobs/<blob-id>` and `<blob-id>.meta`: the message octets and
//!   the metadata parsed once at append; immutable, written temp → fsync → rename before the
//!   log record that points at them. COPY hard-links them into the destination mailbox.
//!
//! Everything here is synchronous, blocking I/O: the actors in `crate::mailbox` call it on
//! blocking tasks. Only a mailbox's owner (its `Mailbox` actor) writes its files.
//!
//! Modules: [`log`] frames and checks records; [`journal`] turns a record type into a
//! durable state machine with snapshots and group-commit-friendly writes; [`mailbox`] and
//! [`account`] are the two state machines; [`blobs`] and [`durable_fs`] handle files.

pub mod account;
pub mod blobs;
pub mod durable_fs;
pub mod journal;
pub mod log;
pub mod mailbox;
pub mod metadata;
pub mod quota;
pub mod recent;
pub mod recovery;
pub mod requests;
pub mod types;
pub mod vanished;
pub mod writers;

pub use journal::{Store, StoreError, StoreMetrics};
pub use types::*;

#[cfg(test)]
mod tests;
