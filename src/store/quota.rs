//! Quota (RFC 9208) as the store knows it: what an account or mailbox holds ([`Usage`]), the
//! limits on it ([`Limits`]), and the limits an administrator set with SETQUOTA, kept in the
//! account's `quota` file.
//!
//! The file holds an override, not the usage: usage is always counted from the mailbox
//! logs (see `crate::mailbox::usage`), so there is nothing that a crash could leave out of
//! step with the mail itself.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::durable_fs;

const FILE: &str = "quota";

/// What some mailboxes hold: the resources STORAGE and MESSAGE of RFC 9208 section 5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub messages: u64,
    /// Sum of RFC822.SIZE in octets.
    pub bytes: u64,
}

impl Usage {
    pub fn of_sizes(sizes: impl IntoIterator<Item = u32>) -> Usage {
        sizes.into_iter().fold(Usage::default(), |mut u, size| {
            u.messages += 1;
            u.bytes += u64::from(size);
            u
        })
    }

    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            messages: self.messages + other.messages,
            bytes: self.bytes + other.bytes,
        }
    }

    pub fn minus(self, other: Usage) -> Usage {
        Usage {
            messages: self.messages.saturating_sub(other.messages),
            bytes: self.bytes.saturating_sub(other.bytes),
        }
    }

    /// STORAGE usage: units of 1024 octets, rounded up (RFC 9208 section 5.1).
    pub fn storage_kib(self) -> u64 {
        self.bytes.div_ceil(1024)
    }
}

/// Limits of one quota root; `None` is no limit on that resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// STORAGE, in units of 1024 octets.
    pub storage_kib: Option<u64>,
    /// MESSAGE: number of messages.
    pub messages: Option<u64>,
}

/// Which limit a change would pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    Storage { limit_kib: u64 },
    Messages { limit: u64 },
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exceeded::Storage { limit_kib } => {
                write!(f, "the account's storage quota of {limit_kib} KiB")
            }
            Exceeded::Messages { limit } => write!(f, "the account's quota of {limit} messages"),
        }
    }
}

impl Limits {
    pub fn is_unlimited(self) -> bool {
        self.storage_kib.is_none() && self.messages.is_none()
    }

    /// Whether `usage` is within the limits. Storage compares octets with the limit in
    /// octets, so the last message may not pass the limit by a fraction of a KiB.
    ///
    /// # Errors
    /// The first limit `usage` passes.
    pub fn check(self, usage: Usage) -> Result<(), Exceeded> {
        if let Some(limit_kib) = self.storage_kib {
            if usage.bytes > limit_kib.saturating_mul(1024) {
                return Err(Exceeded::Storage { limit_kib });
            }
        }
        if let Some(limit) = self.messages {
            if usage.messages > limit {
                return Err(Exceeded::Messages { limit });
            }
        }
        Ok(())
    }

    /// Octets that may still be added under the storage limit (`None`: no storage limit).
    pub fn storage_left(self, usage: Usage) -> Option<u64> {
        self.storage_kib
            .map(|kib| kib.saturating_mul(1024).saturating_sub(usage.bytes))
    }
}

/// The limits an administrator set for the account (SETQUOTA), if any.
///
/// # Errors
/// I/O errors other than "no such file", and a file that does not decode.
pub fn read_override(account_dir: &Path) -> io::Result<Option<Limits>> {
    let bytes = match std::fs::read(account_dir.join(FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    postcard::from_bytes::<Limits>(&bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("quota file: {e}")))
}

/// Saves (or with `None`, removes) the administrator's limits durably. Blocking.
///
/// # Errors
/// Any I/O error; the previous file stays in place.
pub fn write_override(account_dir: &Path, limits: Option<Limits>) -> io::Result<()> {
    match limits {
        Some(limits) => {
            let bytes = postcard::to_allocvec(&limits).map_err(io::Error::other)?;
            durable_fs::write_file_atomic(account_dir, FILE, &[&bytes])
        }
        None => match std::fs::remove_file(account_dir.join(FILE)) {
            Ok(()) => durable_fs::sync_dir(account_dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_compare_octets_and_count() {
        let limits = Limits {
            storage_kib: Some(2),
            messages: Some(3),
        };
        let usage = |messages, bytes| Usage { messages, bytes };
        assert_eq!(limits.check(usage(3, 2048)), Ok(()));
        assert_eq!(
            limits.check(usage(3, 2049)),
            Err(Exceeded::Storage { limit_kib: 2 })
        );
        assert_eq!(
            limits.check(usage(4, 10)),
            Err(Exceeded::Messages { limit: 3 })
        );
        assert_eq!(Limits::default().check(usage(u64::MAX, u64::MAX)), Ok(()));
        assert_eq!(usage(1, 1025).storage_kib(), 2);
        assert_eq!(limits.storage_left(usage(0, 2000)), Some(48));
    }

    #[test]
    fn the_override_file_round_trips_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_override(dir.path()).unwrap(), None);
        let limits = Limits {
            storage_kib: Some(512),
            messages: None,
        };
        write_override(dir.path(), Some(limits)).unwrap();
        assert_eq!(read_override(dir.path()).unwrap(), Some(limits));
        write_override(dir.path(), None).unwrap();
        assert_eq!(read_override(dir.path()).unwrap(), None);
        write_override(dir.path(), None).unwrap();
        std::fs::write(dir.path().join(FILE), b"\xff\xff\xff").unwrap();
        assert!(read_override(dir.path()).is_err());
    }
}
