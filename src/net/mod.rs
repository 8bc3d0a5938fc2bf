//! Listeners and the per-connection I/O task: TLS, framing, literal continuations, STARTTLS,
//! COMPRESS=DEFLATE; and the HTTP endpoint for metrics and health probes.

pub mod address_group;
pub mod channel_binding;
pub mod conn;
pub mod deflate;
pub mod http;
pub mod limiter;
pub mod listener;
pub mod stream;
pub mod tls;
