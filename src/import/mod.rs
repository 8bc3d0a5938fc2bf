//! `roost import`: copies existing mail (a Maildir, an mbox file, another IMAP server) into a
//! Roost account.
//!
//! Every write goes through the account's single writer: the importer is an IMAP client of a
//! pre-authenticated session that `roost imap` would get ([`crate::server::with_writer_session`]),
//! so a running node's IDLE clients see the new messages and no second process ever writes the
//! data directory. Imports are idempotent: each folder's messages are listed once
//! ([`fingerprint`]) and what is already there is skipped, so a second run (or the rest of an
//! interrupted one) copies only what is missing.

pub mod cli;
pub mod client;
pub mod fingerprint;
pub mod imap_source;
pub mod local;
pub mod maildir;
pub mod mbox;
pub mod progress;
pub mod summary;
pub mod writer;

use bytes::Bytes;
use roost_proto::{DateTime, Flag};

/// One message as it is appended.
#[derive(Debug, Clone)]
pub struct Message {
    /// The octets, with CRLF line ends.
    pub data: Bytes,
    pub flags: Vec<Flag>,
    /// `None` lets the server use the time of the append.
    pub internal_date: Option<DateTime>,
}

/// Turns bare LF line ends (as Maildir and mbox files store them) into CRLF, as IMAP
/// servers send messages; CRLF already there is kept.
pub fn crlf(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut previous = 0u8;
    for &b in data {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::crlf;

    #[test]
    fn bare_line_feeds_become_crlf_and_crlf_stays() {
        assert_eq!(crlf(b"a\nb\r\nc\n\n"), &b"a\r\nb\r\nc\r\n\r\n"[..]);
        assert_eq!(crlf(b""), &b""[..]);
    }
}
