//! roost-proto: the IMAP4rev2 wire protocol (RFC 9051) for the Roost server.
//!
//! This crate turns client bytes into typed [`Command`]s and typed [`Response`]s into server
//! bytes. It does no I/O and knows no async runtime: the connection layer feeds it bytes and
//! writes out what it returns, which is what lets tests and the fuzzer drive it directly.
//!
//! Modules:
//! - [`types`]: the typed values (commands, responses, envelope and body structure).
//! - [`decode`]: the streaming command decoder. It splits input into complete commands
//!   (lines plus literals), reports synchronizing literals so the connection can send `+`,
//!   enforces [`Limits`], and hands complete commands to the parser.
//! - `parse` (private): the recursive-descent parser over one complete command, with
//!   functions named after the ABNF rules of RFC 9051 section 9.
//! - [`encode`]: the response writer (server side) and command writer (client side).
//! - [`response`]: the streaming response decoder (client side: tests, the load generator).
//! - [`utf7`]: modified UTF-7 mailbox names for IMAP4rev1 clients (RFC 3501 section 5.1.3).
//! - [`fuzzing`]: entry points for the fuzz targets.

pub mod decode;
pub mod encode;
pub mod fuzzing;
pub mod limits;
mod parse;
pub mod response;
pub mod types;
pub mod utf7;

pub use decode::{CommandDecoder, DecodeError, DecodeErrorKind, Decoded};
pub use limits::Limits;
pub use types::*;
