//! mbox files (mboxrd and mboxo): messages after `From ` lines, `>From ` unquoted, flags from
//! the `Status:`, `X-Status:` and `X-Keywords:` headers mail programs keep, the internal date
//! from the `From ` line. Splitting and unquoting is mail-parser's mbox reader.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use mail_parser::mailbox::mbox::MessageIterator;
use roost_proto::{Atom, DateTime, Flag};

use super::local::{LocalFolder, Sourced};
use super::summary::Failure;
use super::{crlf, Message};

#[derive(Debug, thiserror::Error)]
pub enum MboxError {
    #[error("cannot read the mbox file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not an mbox file (it does not start with a \"From \" line)")]
    NotMbox(PathBuf),
}

/// Headers that are the mail program's bookkeeping, not part of the message: read for flags
/// (the first three) and left out of the copy, as Dovecot does.
const BOOKKEEPING: [&str; 6] = [
    "status",
    "x-status",
    "x-keywords",
    "x-uid",
    "x-imap",
    "x-imapbase",
];

/// The messages of the mbox file at `path`, to be imported into `folder`.
///
/// # Errors
/// When the file cannot be opened or is not an mbox file.
pub fn folder(path: &Path, folder: &str) -> Result<LocalFolder, MboxError> {
    let read = |source| MboxError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read)?;
    let mut start = [0u8; 5];
    let n = file.read(&mut start).map_err(read)?;
    if &start[..n] != b"From " {
        return Err(MboxError::NotMbox(path.to_owned()));
    }
    let file = File::open(path).map_err(read)?;
    let name = path.display().to_string();
    let messages = MessageIterator::new(BufReader::new(file))
        .enumerate()
        .map(move |(i, item)| {
            let source = format!("{name} message {}", i + 1);
            match item {
                Ok(m) => Ok(Sourced {
                    message: message(m.contents(), m.internal_date()),
                    source,
                }),
                Err(e) => Err(Failure {
                    source,
                    reason: e.to_string(),
                }),
            }
        });
    Ok(LocalFolder {
        name: folder.to_owned(),
        count: None,
        messages: Box::new(messages),
    })
}

fn message(contents: &[u8], from_line_date: u64) -> Message {
    // The empty line before the next `From ` line separates messages; it is not theirs.
    let contents = contents
        .strip_suffix(b"\r\n")
        .or_else(|| contents.strip_suffix(b"\n"))
        .filter(|c| c.ends_with(b"\n"))
        .unwrap_or(contents);
    let (header, body) = split_header(contents);
    let mut kept = Vec::with_capacity(contents.len());
    let mut flags = Vec::new();
    for field in fields(header) {
        let text = String::from_utf8_lossy(field);
        let Some((name, value)) = text.split_once(':') else {
            kept.extend_from_slice(field);
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if !BOOKKEEPING.contains(&name.as_str()) {
            kept.extend_from_slice(field);
            continue;
        }
        match name.as_str() {
            "status" | "x-status" => flags.extend(status_flags(value)),
            "x-keywords" => flags.extend(
                value
                    .split([',', ' ', '\t', '\r', '\n'])
                    .filter_map(|k| Atom::new(k).ok())
                    .map(Flag::Keyword),
            ),
            _ => {}
        }
    }
    flags.sort();
    flags.dedup();
    kept.extend_from_slice(body);
    Message {
        data: crlf(&kept),
        flags,
        internal_date: i64::try_from(from_line_date)
            .ok()
            .filter(|&t| t > 0)
            .map(DateTime::from_unix_timestamp),
    }
}

/// `R` read, `A` answered, `F` flagged, `T` draft, `D` deleted (`O`, old, has no flag).
fn status_flags(value: &str) -> impl Iterator<Item = Flag> + '_ {
    value.chars().filter_map(|c| match c {
        'R' => Some(Flag::Seen),
        'A' => Some(Flag::Answered),
        'F' => Some(Flag::Flagged),
        'T' => Some(Flag::Draft),
        'D' => Some(Flag::Deleted),
        _ => None,
    })
}

/// The header (up to and without the empty line) and the rest.
fn split_header(message: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line == b"\n" || line == b"\r\n" {
            return message.split_at(at);
        }
        at += line.len();
    }
    message.split_at(at)
}

/// Header fields with their continuation lines, each with its line ends.
fn fields(header: &[u8]) -> Vec<&[u8]> {
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let continues = matches!(line.first(), Some(b' ' | b'\t'));
        if !continues && at > start {
            fields.push(&header[start..at]);
            start = at;
        }
        at += line.len();
    }
    if at > start {
        fields.push(&header[start..at]);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(text: &[u8]) -> Vec<Message> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mbox");
        std::fs::write(&path, text).unwrap();
        folder(&path, "INBOX")
            .unwrap()
            .messages
            .map(|m| m.map(|s| s.message).map_err(|f| f.reason).unwrap())
            .collect()
    }

    #[test]
    fn messages_are_split_unquoted_and_flagged() {
        let got = import(
            b"From a@b Mon Jan  1 10:00:00 2024\nSubject: one\nStatus: RO\nX-Status: AF\nX-Keywords: $Work, later\n\nbody\n>From here\n>>From there\n\nFrom c@d Tue Jan  2 11:00:00 2024\nSubject: two\n\nsecond\n",
        );
        assert_eq!(got.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&got[0].data),
            "Subject: one\r\n\r\nbody\r\nFrom here\r\n>From there\r\n"
        );
        assert_eq!(
            got[0].flags,
            [
                Flag::Answered,
                Flag::Flagged,
                Flag::Seen,
                Flag::Keyword(Atom::new("$Work").unwrap()),
                Flag::Keyword(Atom::new("later").unwrap()),
            ]
        );
        assert_eq!(
            got[0].internal_date.map(|d| d.unix_timestamp()),
            Some(1_704_103_200)
        );
        assert_eq!(
            String::from_utf8_lossy(&got[1].data),
            "Subject: two\r\n\r\nsecond\r\n"
        );
        assert!(got[1].flags.is_empty());
    }

    #[test]
    fn a_file_with_crlf_line_ends_loses_only_the_separating_line() {
        let got = import(b"From a Mon Jan  1 10:00:00 2024\r\nSubject: a\r\n\r\nx\r\n\r\nFrom b Mon Jan  1 10:00:00 2024\r\nSubject: b\r\n\r\ny\r\n");
        assert_eq!(
            String::from_utf8_lossy(&got[0].data),
            "Subject: a\r\n\r\nx\r\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&got[1].data),
            "Subject: b\r\n\r\ny\r\n"
        );
    }

    #[test]
    fn a_file_that_is_not_an_mbox_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"Subject: x\n\nhello\n").unwrap();
        let err = folder(&path, "INBOX").err().unwrap().to_string();
        assert!(
            err.contains("notes.txt") && err.contains("not an mbox"),
            "{err}"
        );
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for junk in [
            &b"From "[..],
            b"From \n\n\n",
            b"From x\n>\n>>\n\xff\xfe\0\nStatus",
            b"From x y z w v u t s\n: \n \n\t\n",
            b"From x Mon Feb 31 99:99:99 99999\nSubject: a\n",
        ] {
            let _ = import(junk);
        }
    }
}
