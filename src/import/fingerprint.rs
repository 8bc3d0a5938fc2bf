//! What identifies a message for "is it already there": its size and the header fields a
//! copy keeps (`Message-ID`, `Date`, `From`, `Subject`).
//!
//! The destination's side is read with one `UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER.FIELDS
//! (...)])` per folder, so checking 100,000 messages is one listing, not 100,000 searches. The
//! same function reads the fields from a source message's header and from the server's
//! answer, so the two agree byte for byte however the server folds or orders the lines.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use mail_parser::MessageParser;

/// The header fields compared, as a `HEADER.FIELDS` list asks for them.
pub const FIELDS: [&str; 4] = ["MESSAGE-ID", "DATE", "FROM", "SUBJECT"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    size: u64,
    fields: u64,
}

impl Fingerprint {
    /// From the message's size in octets (as appended, CRLF line ends) and any part of it
    /// holding the header fields (the whole message, its header, or a `HEADER.FIELDS` answer).
    pub fn new(size: u64, header: &[u8]) -> Fingerprint {
        let end = header_end(header);
        let mut hasher = DefaultHasher::new();
        if let Some(parsed) = MessageParser::new().parse_headers(&header[..end]) {
            for name in FIELDS {
                // Folding and surrounding blanks differ between copies; the words do not.
                let value = parsed.header_raw(name).unwrap_or_default();
                value
                    .split_whitespace()
                    .for_each(|word| word.hash(&mut hasher));
                0u8.hash(&mut hasher);
            }
        }
        Fingerprint {
            size,
            fields: hasher.finish(),
        }
    }

    /// Of a whole message.
    pub fn of_message(data: &[u8]) -> Fingerprint {
        Fingerprint::new(data.len() as u64, data)
    }
}

/// Where the header ends (after the empty line), or the whole input when it has no body.
fn header_end(data: &[u8]) -> usize {
    let crlf = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = data.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(data.len()),
    }
}

/// The messages a folder already has, counted by fingerprint: a source holding the same
/// message twice gets two copies, and a second run adds neither.
#[derive(Debug, Default)]
pub struct Present(HashMap<Fingerprint, u32>);

impl Present {
    pub fn add(&mut self, fingerprint: Fingerprint) {
        *self.0.entry(fingerprint).or_default() += 1;
    }

    /// Whether a copy of the message is there; takes that copy out of the count.
    pub fn take(&mut self, fingerprint: &Fingerprint) -> bool {
        match self.0.get_mut(fingerprint) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    pub fn len(&self) -> usize {
        self.0.values().map(|&n| n as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"Received: x\r\nMessage-ID: <a@b>\r\nSubject: hello\r\n  world\r\nFrom: a@b\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n";

    #[test]
    fn the_fields_answer_and_the_whole_message_agree() {
        let answer = b"Message-ID: <a@b>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: a@b\r\nSubject: hello\r\n  world\r\n\r\n";
        let size = MESSAGE.len() as u64;
        assert_eq!(
            Fingerprint::new(size, answer),
            Fingerprint::of_message(MESSAGE)
        );
    }

    #[test]
    fn a_different_subject_or_size_is_another_message() {
        let other = String::from_utf8_lossy(MESSAGE).replace("hello", "hallo");
        assert_ne!(
            Fingerprint::of_message(other.as_bytes()),
            Fingerprint::of_message(MESSAGE)
        );
        assert_ne!(
            Fingerprint::new(1, MESSAGE),
            Fingerprint::of_message(MESSAGE)
        );
    }

    #[test]
    fn copies_are_counted() {
        let mut present = Present::default();
        let f = Fingerprint::of_message(MESSAGE);
        present.add(f);
        assert!(present.take(&f));
        assert!(!present.take(&f));
    }

    #[test]
    fn garbage_does_not_panic() {
        for junk in [&b""[..], b"\r\n", b"\0\xff\xfe:", b":\r\n\r\n", b"X"] {
            let _ = Fingerprint::of_message(junk);
        }
    }
}
