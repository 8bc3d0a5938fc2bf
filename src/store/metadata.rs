//! METADATA entries (RFC 5464) of one account: its server entries (mailbox `""`) and the
//! entries of each mailbox, kept in the account's durable state.
//!
//! Mailbox entries are keyed by the mailbox's immutable id, so they follow a RENAME, go with
//! a DELETE (one record), and a mailbox created again under an old name (a new id) starts
//! with none. Entry names are stored in lower case: they are case-insensitive (section 3.2).
//! `/private/...` and `/shared/...` are different names, so they never collide.
//!
//! Every limit is checked here, against the whole command, before its one record is
//! written, so a SETMETADATA changes all of its entries or none (section 4.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::types::MailboxId;

/// Whose entries: the server's (mailbox `""`) or one mailbox's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MetadataOwner {
    Server,
    Mailbox(MailboxId),
}

/// Bounds on what one account may store (`[metadata]` in the configuration). RFC 5464
/// section 4.1 asks for at least 1024-octet values and 10 entries per mailbox and server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataLimits {
    /// Largest value, in octets (`[METADATA MAXSIZE n]` beyond it).
    pub max_value: u64,
    /// Most entries of the server or of one mailbox (`[METADATA TOOMANY]` beyond it).
    pub max_entries: usize,
    /// Most octets of names and values in the whole account (`[OVERQUOTA]` beyond it). It
    /// also bounds what one GETMETADATA can answer.
    pub max_total: u64,
}

impl Default for MetadataLimits {
    fn default() -> Self {
        MetadataLimits {
            max_value: 64 * 1024,
            max_entries: 100,
            max_total: 1024 * 1024,
        }
    }
}

/// Why a SETMETADATA was refused; nothing of it was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MetadataRefusal {
    #[error("a value is larger than {0} octets")]
    MaxSize(u64),
    #[error("too many entries")]
    TooMany,
    #[error("the account's entries would exceed {0} octets")]
    OverQuota(u64),
}

/// One change of a SETMETADATA: the lower-case entry name and its new value (`None` removes).
pub type MetadataChange = (String, Option<Vec<u8>>);

/// `DEPTH` of GETMETADATA (RFC 5464 section 4.2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryDepth {
    #[default]
    Zero,
    One,
    Infinity,
}

/// What a GETMETADATA asks of one owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataQuery {
    /// Lower-case entry names (or the scope roots `/private`, `/shared`), in request order.
    pub entries: Vec<String>,
    pub depth: QueryDepth,
    /// `MAXSIZE`: longer values are left out and the longest of them is reported.
    pub max_size: Option<u64>,
}

impl MetadataQuery {
    /// Whether `name` is one of the requested entries or, by depth, below one of them.
    pub fn matches(&self, name: &str) -> bool {
        self.entries.iter().any(|q| {
            let Some(rest) = name.strip_prefix(q.as_str()) else {
                return false;
            };
            match rest.strip_prefix('/') {
                None => rest.is_empty(),
                Some(below) => match self.depth {
                    QueryDepth::Zero => false,
                    QueryDepth::One => !below.contains('/'),
                    QueryDepth::Infinity => true,
                },
            }
        })
    }
}

/// The answer to a [`MetadataQuery`]: the matching entries, and the size of
/// the longest value MAXSIZE left out (`[METADATA LONGENTRIES n]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataFound {
    pub values: Vec<(String, Vec<u8>)>,
    pub longest_skipped: Option<u64>,
}

impl MetadataFound {
    /// Adds one matching entry, or counts it as too long for `max_size`.
    pub fn offer(&mut self, name: &str, value: &[u8], max_size: Option<u64>) {
        let len = value.len() as u64;
        if max_size.is_some_and(|max| len > max) {
            self.longest_skipped = Some(self.longest_skipped.map_or(len, |l| l.max(len)));
        } else {
            self.values.push((name.to_string(), value.to_vec()));
        }
    }
}

/// Every entry of an account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    owners: BTreeMap<MetadataOwner, BTreeMap<String, Vec<u8>>>,
}

fn bytes_of(entries: &BTreeMap<String, Vec<u8>>) -> u64 {
    entries
        .iter()
        .map(|(name, value)| (name.len() + value.len()) as u64)
        .sum()
}

impl Metadata {
    /// Applies a SETMETADATA's changes (in order: a later change of a name wins).
    pub fn apply(&mut self, owner: MetadataOwner, changes: &[MetadataChange]) {
        let entries = self.owners.entry(owner).or_default();
        for (name, value) in changes {
            match value {
                Some(v) => {
                    entries.insert(name.clone(), v.clone());
                }
                None => {
                    entries.remove(name);
                }
            }
        }
        if entries.is_empty() {
            self.owners.remove(&owner);
        }
    }

    /// Forgets a deleted mailbox's entries.
    pub fn remove_owner(&mut self, owner: MetadataOwner) {
        self.owners.remove(&owner);
    }

    /// The entries of `owner`, by lower-case name.
    pub fn entries(&self, owner: MetadataOwner) -> Option<&BTreeMap<String, Vec<u8>>> {
        self.owners.get(&owner)
    }

    /// The entries of `owner` as the changes that would set them elsewhere.
    pub fn copy_of(&self, owner: MetadataOwner) -> Option<Vec<MetadataChange>> {
        let entries = self.owners.get(&owner)?;
        Some(
            entries
                .iter()
                .map(|(name, value)| (name.clone(), Some(value.clone())))
                .collect(),
        )
    }

    /// Octets of names and values in the whole account.
    pub fn total_bytes(&self) -> u64 {
        self.owners.values().map(bytes_of).sum()
    }

    /// Checks a SETMETADATA against `limits`. A command that only removes, or that does not
    /// grow a count or size already past a (since lowered) limit, always passes.
    ///
    /// # Errors
    /// The first limit the command breaks.
    pub fn check(
        &self,
        owner: MetadataOwner,
        changes: &[MetadataChange],
        limits: &MetadataLimits,
    ) -> Result<(), MetadataRefusal> {
        if changes.iter().any(|(_, v)| {
            v.as_ref()
                .is_some_and(|v| v.len() as u64 > limits.max_value)
        }) {
            return Err(MetadataRefusal::MaxSize(limits.max_value));
        }
        let before = self.owners.get(&owner).cloned().unwrap_or_default();
        let mut after = before.clone();
        for (name, value) in changes {
            match value {
                Some(v) => after.insert(name.clone(), v.clone()),
                None => after.remove(name),
            };
        }
        if after.len() > limits.max_entries && after.len() > before.len() {
            return Err(MetadataRefusal::TooMany);
        }
        let (old, new) = (bytes_of(&before), bytes_of(&after));
        let total = self.total_bytes() - old + new;
        if total > limits.max_total && new > old {
            return Err(MetadataRefusal::OverQuota(limits.max_total));
        }
        Ok(())
    }

    /// The entries of `owner` that `query` asks for: each requested name, then what lies
    /// below it in name order, in the order the names were requested (as RFC 5464's
    /// examples answer), each entry once.
    pub fn find(&self, owner: MetadataOwner, query: &MetadataQuery) -> MetadataFound {
        let mut found = MetadataFound::default();
        let Some(entries) = self.owners.get(&owner) else {
            return found;
        };
        let mut seen = std::collections::HashSet::new();
        for q in &query.entries {
            let below = format!("{q}/");
            let exact = entries.get_key_value(q.as_str());
            let children = entries
                .range::<str, _>((
                    std::ops::Bound::Included(below.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(name, _)| name.starts_with(&below))
                .filter(|(name, _)| query.matches(name));
            for (name, value) in exact.into_iter().chain(children) {
                if seen.insert(name.as_str()) {
                    found.offer(name, value, query.max_size);
                }
            }
        }
        found
    }
}
