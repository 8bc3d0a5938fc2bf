//! Mailbox names as the session receives them, and mailbox errors as the client sees them.

use roost_proto::{Code, MailboxName, MetadataCode, Status, Tag};

use super::Session;
use crate::mailbox::MailboxError;
use crate::store::metadata::MetadataRefusal;

/// The hierarchy delimiter (RFC 9051 section 5.1.1). `/` is what clients handle best
/// (clients.md: Dovecot advises it; `^` troubles Thunderbird).
pub const DELIMITER: char = '/';

impl Session {
    /// The logged-in user (callers are past the state gate, so there is one).
    pub(super) fn user(&self) -> String {
        self.state
            .account()
            .map(|a| a.user.clone())
            .unwrap_or_default()
    }

    /// Decodes a name from the wire (modified UTF-7 or UTF-8, as this connection uses) into
    /// the UTF-8 name the store knows.
    ///
    /// # Errors
    /// [`InvalidName`] when the name is not valid in the connection's encoding.
    pub(super) fn mailbox_name(&self, name: &MailboxName) -> Result<String, InvalidName> {
        Ok(normalize(&self.decoded_name(name)?))
    }

    /// [`mailbox_name`](Self::mailbox_name) as the client wrote it, trailing delimiter kept
    /// (a LIST reference `Work/` differs from `Work`).
    pub(super) fn decoded_name(&self, name: &MailboxName) -> Result<String, InvalidName> {
        name.decode(self.name_encoding()).map_err(|_| InvalidName)
    }
}

/// A name that is not valid in the connection's encoding (modified UTF-7, or UTF-8 after
/// `ENABLE UTF8=ACCEPT`). It is well-formed IMAP, so the command is not `BAD`: it simply
/// names no mailbox that exists or could exist.
#[derive(Debug, Clone, Copy)]
pub struct InvalidName;

impl InvalidName {
    const WHY: &'static str =
        "the name is not valid in this connection's encoding (modified UTF-7, or UTF-8 after \
         ENABLE UTF8=ACCEPT)";

    /// For a command on an existing mailbox: there is none by that name.
    pub fn missing(tag: Tag) -> Status {
        Status::no(
            tag,
            Some(Code::NonExistent),
            format!("no such mailbox: {}", Self::WHY),
        )
    }

    /// For a name to be created or subscribed: it cannot be.
    pub fn refused(tag: Tag) -> Status {
        Status::no(
            tag,
            Some(Code::Cannot),
            format!("no mailbox can have this name: {}", Self::WHY),
        )
    }
}

/// Canonical form: `INBOX` in any case as the first component is `INBOX`, and a trailing
/// delimiter is dropped (Thunderbird appends one, clients.md).
pub fn normalize(name: &str) -> String {
    let trimmed = name
        .strip_suffix(DELIMITER)
        .filter(|s| !s.is_empty())
        .unwrap_or(name);
    let (first, rest) = match trimmed.split_once(DELIMITER) {
        Some((first, rest)) => (first, Some(rest)),
        None => (trimmed, None),
    };
    let first = if first.eq_ignore_ascii_case("INBOX") {
        "INBOX"
    } else {
        first
    };
    match rest {
        Some(rest) => format!("{first}{DELIMITER}{rest}"),
        None => first.to_owned(),
    }
}

/// Checks a name given to CREATE or as RENAME's target.
///
/// # Errors
/// A reason for `NO [CANNOT]`.
pub fn check_new_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("mailbox name is empty".into());
    }
    if name.split(DELIMITER).any(str::is_empty) {
        return Err(format!("mailbox name has an empty level: {name:?}"));
    }
    if name.contains(['*', '%']) {
        return Err("mailbox names may not contain the wildcards * or %".into());
    }
    if name.chars().any(char::is_control) {
        return Err("mailbox names may not contain control characters".into());
    }
    if name.len() > 1024 {
        return Err("mailbox name is longer than 1024 octets".into());
    }
    Ok(())
}

/// The tagged answer for a failed mailbox operation.
pub fn mailbox_error(tag: Tag, error: &MailboxError) -> Status {
    let code = match error {
        MailboxError::NonExistent(_) | MailboxError::Gone(_) => Code::NonExistent,
        MailboxError::AlreadyExists(_) => Code::AlreadyExists,
        MailboxError::Cannot(_) => Code::Cannot,
        MailboxError::Limit(_) => Code::Limit,
        MailboxError::HasChildren(_) => Code::HasChildren,
        MailboxError::TooBig => Code::TooBig,
        MailboxError::OverQuota(_) | MailboxError::DiskFull(_) => Code::OverQuota,
        MailboxError::Unavailable(_) => Code::Unavailable,
        MailboxError::Metadata(refusal) => metadata_code(*refusal),
        MailboxError::Storage(detail) => {
            tracing::error!(error = %detail, "storage failure");
            return Status::no(
                tag,
                Some(Code::ServerBug),
                "Internal storage error, the change was not made",
            );
        }
    };
    Status::no(tag, Some(code), error.to_string())
}

/// The code of a refused SETMETADATA (RFC 5464 section 4.3; the account's total has no
/// METADATA code of its own, and is over a quota).
fn metadata_code(refusal: MetadataRefusal) -> Code {
    match refusal {
        MetadataRefusal::MaxSize(n) => Code::Metadata(MetadataCode::MaxSize(n)),
        MetadataRefusal::TooMany => Code::Metadata(MetadataCode::TooMany),
        MetadataRefusal::OverQuota(_) => Code::OverQuota,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive_and_trailing_delimiters_go() {
        assert_eq!(normalize("inbox"), "INBOX");
        assert_eq!(normalize("Inbox/Sub/"), "INBOX/Sub");
        assert_eq!(normalize("Work/"), "Work");
        assert_eq!(normalize("/"), "/");
    }

    #[test]
    fn new_names_are_checked() {
        assert!(check_new_name("a/b").is_ok());
        assert!(check_new_name("a//b").is_err());
        assert!(check_new_name("a*").is_err());
        assert!(check_new_name("").is_err());
    }

    /// Issue 19, finding 8: a full disk is said so, not reported as a server bug.
    #[test]
    fn a_full_disk_is_overquota_with_a_clear_text() {
        let tag = || roost_proto::Tag::new("a").unwrap();
        for (errno, text) in [(28, "disk is full"), (122, "quota is used up")] {
            let e = std::io::Error::from_raw_os_error(errno);
            let status = mailbox_error(tag(), &MailboxError::from_io("write message", &e));
            let line = format!("{status:?}");
            assert!(line.contains("OverQuota") && line.contains(text), "{line}");
        }
        let other = std::io::Error::from_raw_os_error(5);
        let status = mailbox_error(tag(), &MailboxError::from_io("write message", &other));
        assert!(format!("{status:?}").contains("ServerBug"));
        // Through the store's error type too (a log append that hit the full disk).
        let store = crate::store::StoreError::Io {
            op: "append to",
            path: "log.0".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        assert!(matches!(
            MailboxError::from(store),
            MailboxError::DiskFull(_)
        ));
    }
}
