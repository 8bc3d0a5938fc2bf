//! Writing responses (server side) and commands (client side).
//!
//! Output is a list of chunks: small pieces are gathered into one buffer, while large literals
//! are kept as their own `Bytes` so a message body is never copied into the write buffer.
//!
//! Modules: `wire` (numbers, strings, lists, dates shared by both writers), `response` and
//! `fetch` (the server's responses), `command` and `search` (the client's commands).

mod command;
mod fetch;
mod response;
mod search;
mod wire;

#[cfg(test)]
mod command_tests;
#[cfg(test)]
mod response_tests;

pub use command::{command_to_vec, write_command, CommandFragment, LiteralMode};
pub use response::{response_to_vec, write_response};

use bytes::{Bytes, BytesMut};

use crate::types::NameEncoding;

/// How the connection is set up, which changes how some values are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeContext {
    /// How mailbox names are written: modified UTF-7 for IMAP4rev1, UTF-8 once IMAP4rev2 or
    /// `UTF8=ACCEPT` is enabled.
    pub names: NameEncoding,
    /// `UTF8=ACCEPT` or IMAP4rev2 enabled: 8-bit UTF-8 may go in quoted strings.
    pub utf8_quoted: bool,
}

/// Literals at least this long are kept as separate chunks rather than copied.
pub const ZERO_COPY_THRESHOLD: usize = 1024;

/// Bytes ready for the socket, in order.
#[derive(Debug, Default)]
pub struct Output {
    done: Vec<Bytes>,
    buf: BytesMut,
}

impl Output {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes to the current chunk.
    pub fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends literal data, without copying it when it is large.
    pub fn put_bytes(&mut self, bytes: &Bytes) {
        if bytes.len() >= ZERO_COPY_THRESHOLD {
            if !self.buf.is_empty() {
                self.done.push(self.buf.split().freeze());
            }
            self.done.push(bytes.clone());
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Octets written so far.
    pub fn len(&self) -> usize {
        self.done.iter().map(Bytes::len).sum::<usize>() + self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty() && self.buf.is_empty()
    }

    /// The chunks to write, in order.
    pub fn into_chunks(mut self) -> Vec<Bytes> {
        if !self.buf.is_empty() {
            self.done.push(self.buf.split().freeze());
        }
        self.done
    }

    /// Everything as one contiguous buffer (tests, small responses).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v =
            Vec::with_capacity(self.done.iter().map(Bytes::len).sum::<usize>() + self.buf.len());
        for c in &self.done {
            v.extend_from_slice(c);
        }
        v.extend_from_slice(&self.buf);
        v
    }
}
