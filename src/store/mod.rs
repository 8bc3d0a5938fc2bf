//! Durable storage: accounts, mailbox logs, message blobs, recovery, compaction.
//!
//! Layout under `<data_dir>/accounts/<account>/`:
//! - `account.log` (+ snapshot): the mailbox list (id, name, UIDVALIDITY, special-use) and
//!   subscriptions, as checksummed records.
//! - `mailboxes/<mailbox-id>/log` (+ snapshot): append / flags / expunge records, each with
//!   its MODSEQ; UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ follow from them.
//! - `mailboxes/<mailbox-id>/blobs/<blob-id>` and `<blob-id>.meta`: the message octets and
//!   the metadata parsed once at append; immutable, written temp → fsync → rename before the
//!   log record that points at them. COPY hard-links them into the destination mailbox.
//!
//! Only a mailbox's owner (its `mailbox::Mailbox` actor) writes its files.

pub mod types;

pub use types::*;
