//! The `[metadata]` table: what METADATA (RFC 5464) entries one account may store, and the
//! server's read-only `/shared/admin` entry.

use serde::{Deserialize, Serialize};

use crate::store::metadata::MetadataLimits;

/// RFC 5464 section 4.1: a server accepts values of at least 1024 octets and at least 10
/// entries per mailbox and for the server.
const MIN_VALUE: u64 = 1024;
const MIN_ENTRIES: usize = 10;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataConfig {
    /// Largest entry value in octets; SETMETADATA beyond it is `NO [METADATA MAXSIZE n]`.
    pub max_value_size: u64,
    /// Most entries of one mailbox, and of the server, per account; more is
    /// `NO [METADATA TOOMANY]`.
    pub max_entries: usize,
    /// Most octets of entry names and values in one account, all mailboxes and the server
    /// together; more is `NO [OVERQUOTA]`. It also bounds what one GETMETADATA answers.
    pub max_account_size: u64,
    /// The server entry `/shared/admin`: a URI to reach the administrator (`mailto:` or
    /// `tel:`), read-only for clients. Unset: the entry does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        let limits = MetadataLimits::default();
        MetadataConfig {
            max_value_size: limits.max_value,
            max_entries: limits.max_entries,
            max_account_size: limits.max_total,
            admin: None,
        }
    }
}

impl MetadataConfig {
    pub fn limits(&self) -> MetadataLimits {
        MetadataLimits {
            max_value: self.max_value_size,
            max_entries: self.max_entries,
            max_total: self.max_account_size,
        }
    }

    /// # Errors
    /// A message naming the setting that is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_value_size < MIN_VALUE {
            return Err(format!(
                "metadata.max_value_size must be at least {MIN_VALUE} (RFC 5464 section 4.1)"
            ));
        }
        if self.max_entries < MIN_ENTRIES {
            return Err(format!(
                "metadata.max_entries must be at least {MIN_ENTRIES} (RFC 5464 section 4.1)"
            ));
        }
        if self.max_account_size < self.max_value_size {
            return Err(
                "metadata.max_account_size must be at least metadata.max_value_size".into(),
            );
        }
        if let Some(admin) = &self.admin {
            let scheme = admin.split_once(':').map(|(s, _)| s).unwrap_or_default();
            if scheme.is_empty()
                || !scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                || admin.bytes().any(|b| b.is_ascii_control())
            {
                return Err(
                    "metadata.admin must be a URI such as mailto:postmaster@example.com".into(),
                );
            }
        }
        Ok(())
    }
}
