//! Listeners and the per-connection I/O task.

pub mod tls;
