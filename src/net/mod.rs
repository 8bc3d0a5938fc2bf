//! Listeners and the per-connection I/O task: TLS, framing, literal continuations, STARTTLS.

pub mod conn;
pub mod limiter;
pub mod listener;
pub mod stream;
pub mod tls;
