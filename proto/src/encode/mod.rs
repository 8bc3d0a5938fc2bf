//! Writing responses (server side) and commands (client side).
//!
//! Output is a list of chunks: small pieces are gathered into one buffer, while large literals
//! are kept as their own `Bytes` so a message body is never copied into the write buffer.
//!
//! Modules: `wire` (numbers, strings, lists, dates shared by both writers), `response` and
//! `fetch` (the server's responses), `command`, `search` and `sort` (the client's commands; `sort` also writes THREAD
//! responses' thread lists).

mod command;
mod fetch;
mod response;
mod search;
mod sort;
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
    done: Vec<Part>,
    buf: BytesMut,
}

/// A piece of an [`Output`]: bytes, or a hole the caller fills with that many octets (the
/// body of a [`FetchValue::Streamed`](crate::types::FetchValue::Streamed)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Data(Bytes),
    Hole(u64),
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
            self.end_chunk();
            self.done.push(Part::Data(bytes.clone()));
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Leaves a hole of `len` octets for the caller to fill (see [`Output::into_parts`]).
    pub fn put_hole(&mut self, len: u64) {
        self.end_chunk();
        self.done.push(Part::Hole(len));
    }

    fn end_chunk(&mut self) {
        if !self.buf.is_empty() {
            self.done.push(Part::Data(self.buf.split().freeze()));
        }
    }

    /// Octets written so far, holes not counted.
    pub fn len(&self) -> usize {
        let done: usize = self
            .done
            .iter()
            .map(|p| match p {
                Part::Data(b) => b.len(),
                Part::Hole(_) => 0,
            })
            .sum();
        done + self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty() && self.buf.is_empty()
    }

    /// The pieces to write, in order, holes included.
    pub fn into_parts(mut self) -> Vec<Part> {
        self.end_chunk();
        self.done
    }

    /// The chunks to write, in order, for output without holes (a hole, which only a
    /// [`FetchValue::Streamed`](crate::types::FetchValue::Streamed) makes, is left out).
    pub fn into_chunks(self) -> Vec<Bytes> {
        self.into_parts()
            .into_iter()
            .filter_map(|p| match p {
                Part::Data(b) => Some(b),
                Part::Hole(_) => None,
            })
            .collect()
    }

    /// Everything as one contiguous buffer (tests, small responses; holes left out).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for p in &self.done {
            if let Part::Data(c) = p {
                v.extend_from_slice(c);
            }
        }
        v.extend_from_slice(&self.buf);
        v
    }
}
