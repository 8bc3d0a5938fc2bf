//! One writer per data directory, for every process that writes mail.
//!
//! A node without Redis holds an exclusive [`lock`] on its data directory; a second
//! `roost serve` is refused. Every node, clustered or not, also serves a local control
//! [`socket`]: `roost imap --user NAME` hands its session to the running node through it, so
//! the session goes through that node's single writer and, in a cluster, its ownership of the
//! account. With no node running, `roost imap` takes the lock itself and serves the control
//! socket for as long as it runs, so a second `roost imap` goes through the first one
//! ([`tunnel`]).

pub mod lock;
pub mod socket;
pub mod tunnel;

pub use lock::{DataDirLock, Holder, LockError};
