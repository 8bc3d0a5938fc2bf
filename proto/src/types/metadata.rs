//! METADATA (RFC 5464): checked entry names, GETMETADATA options, and the values of the
//! METADATA response and response codes.

use std::fmt;

use bytes::Bytes;

/// The longest entry name accepted, in octets. RFC 5464 sets no limit; this one keeps a
/// single name from filling a command line or a stored record.
pub const MAX_ENTRY_NAME: usize = 1024;

/// An entry name (RFC 5464 section 3.2): `/private/...` or `/shared/...`, ASCII without
/// control characters, `*` or `%`, no empty component, no trailing `/`, at least two
/// components, and at least four under `/private/vendor` or `/shared/vendor`.
///
/// Entry names are case-insensitive; the name keeps the case it was sent in and
/// [`EntryName::key`] gives the lower-case form that compares.
///
/// ```abnf
/// entry = astring   ; slash-separated path to entry, MUST NOT contain "*" or "%"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntryName(String);

/// The scope an entry name starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryScope {
    Private,
    Shared,
}

impl EntryName {
    /// Checks an entry name.
    ///
    /// # Errors
    /// The reason the name breaks RFC 5464 section 3.2.
    pub fn new(name: &[u8]) -> Result<EntryName, &'static str> {
        Self::check(name, false)
    }

    /// Like [`EntryName::new`], but `/private` and `/shared` alone are also accepted: the
    /// roots of the two scopes, which GETMETADATA with DEPTH may walk.
    ///
    /// # Errors
    /// As [`EntryName::new`].
    pub fn new_or_root(name: &[u8]) -> Result<EntryName, &'static str> {
        Self::check(name, true)
    }

    fn check(name: &[u8], root_ok: bool) -> Result<EntryName, &'static str> {
        if name.len() > MAX_ENTRY_NAME {
            return Err("entry name too long");
        }
        if name.iter().any(|b| !(0x20..0x7f).contains(b)) {
            return Err("entry names are ASCII without control characters");
        }
        if name.iter().any(|&b| b == b'*' || b == b'%') {
            return Err("entry names may not contain \"*\" or \"%\"");
        }
        let Some(rest) = name.strip_prefix(b"/") else {
            return Err("entry names start with /private or /shared");
        };
        if name.ends_with(b"/") {
            return Err("entry names may not end with \"/\"");
        }
        if name.windows(2).any(|w| w == b"//") {
            return Err("entry names may not contain \"//\"");
        }
        let components: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
        let scope = components[0];
        if !scope.eq_ignore_ascii_case(b"private") && !scope.eq_ignore_ascii_case(b"shared") {
            return Err("entry names start with /private or /shared");
        }
        let is_vendor = components
            .get(1)
            .is_some_and(|c| c.eq_ignore_ascii_case(b"vendor"));
        if components.len() == 1 && !root_ok {
            return Err("entry names have at least two components");
        }
        if is_vendor && components.len() < 4 {
            return Err("vendor entry names are /private/vendor/<vendor-token>/...");
        }
        // Checked ASCII above.
        Ok(EntryName(String::from_utf8_lossy(name).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-case form: entry names are case-insensitive (RFC 5464 section 3.2).
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn scope(&self) -> EntryScope {
        if self.0[1..].to_ascii_lowercase().starts_with("private") {
            EntryScope::Private
        } else {
            EntryScope::Shared
        }
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `scope-opt = "DEPTH" SP ("0" / "1" / "infinity")` (RFC 5464 section 4.2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Depth {
    /// Only the entry itself (also when DEPTH is not given).
    #[default]
    Zero,
    /// The entry and its children.
    One,
    /// The entry and everything below it.
    Infinity,
}

/// `getmetadata-options` (RFC 5464 sections 4.2.1 and 4.2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetadataOptions {
    /// `MAXSIZE n`: values longer than this are left out and counted in
    /// `[METADATA LONGENTRIES n]`.
    pub max_size: Option<u64>,
    pub depth: Depth,
}

/// An entry's value in SETMETADATA and in the METADATA response: `None` is `NIL` (no
/// value: SETMETADATA removes the entry). Values holding NUL travel as `literal8`.
pub type MetadataValue = Option<Bytes>;

/// The entries of a `* METADATA mailbox ...` response (RFC 5464 section 4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataEntries {
    /// `entry-values`: the answer to GETMETADATA.
    Values(Vec<(EntryName, MetadataValue)>),
    /// `entry-list`: the unsolicited form naming entries that changed.
    Names(Vec<EntryName>),
}

/// The `METADATA` response codes (RFC 5464 section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataCode {
    /// `LONGENTRIES n`: the largest value GETMETADATA's MAXSIZE left out.
    LongEntries(u64),
    /// `MAXSIZE n`: the largest value SETMETADATA accepts.
    MaxSize(u64),
    /// `TOOMANY`: no room for another entry.
    TooMany,
    /// `NOPRIVATE`: private entries are not supported there.
    NoPrivate,
}
