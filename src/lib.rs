//! Roost: a clustered IMAP4rev2 mail access server.
//!
//! The `roost` binary (src/main.rs) is a thin command line over this library; tests and
//! benchmarks use the same types. The layout follows the architecture: `net` (listeners and
//! connection I/O) → `session` (the per-connection state machine) → `mailbox` (the one writer
//! of each open mailbox) → `store` (files on disk), with `cluster` deciding which node owns
//! an account and carrying requests between nodes.

pub mod auth;
pub mod cluster;
pub mod config;
pub mod control;
pub mod fsck;
pub mod import;
pub mod lmtp;
pub mod mailbox;
pub mod memory;
pub mod message;
pub mod net;
pub mod preflight;
pub mod server;
pub mod session;
pub mod shared;
pub mod store;
pub mod supervisor;
pub mod telemetry;
