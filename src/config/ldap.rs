//! The `[auth.ldap]` table and `auth.directory`: where users and passwords come from.
//!
//! Only the shape and the checks that need no files live here; reading the password file and
//! the CA is [`LdapSettings::load`](crate::auth::ldap::settings::LdapSettings::load)'s job.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The source of users (`auth.directory`).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryKind {
    /// The users file (`auth.users_file`), edited with `roost user`.
    #[default]
    File,
    /// An LDAP server (`[auth.ldap]`).
    Ldap,
}

/// An LDAP user directory. Two modes: with `bind_dn_template` the server binds as the user's
/// DN built from the name; with `base` it binds as `bind_dn`, searches `base` with `filter`,
/// and binds as the DN found. `%u` stands for the login name, escaped (RFC 4514 in a DN,
/// RFC 4515 in a filter).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port` (TLS from the first byte).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Direct bind mode: the user's DN, such as `uid=%u,ou=people,dc=example,dc=org`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_dn_template: Option<String>,
    /// Search mode: where users are searched for (subtree), such as `ou=people,dc=example,dc=org`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Search mode: the filter that finds exactly one user entry.
    pub filter: String,
    /// The service account that searches (required in search mode; in direct bind mode it
    /// is used, when set, to look users up for LMTP and `preauth_user`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_dn: Option<String>,
    /// A file holding the service account's password (one line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_password_file: Option<PathBuf>,
    /// PEM CA certificates the LDAP server's certificate must chain to. Default: the system's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    pub starttls: bool,
    /// Connections to the LDAP server at most (each runs one request at a time).
    pub pool_size: usize,
    /// How long opening a connection (TCP and TLS) may take.
    pub connect_timeout_ms: u64,
    /// How long one bind or search may take.
    pub timeout_ms: u64,
}

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig {
            url: None,
            bind_dn_template: None,
            base: None,
            filter: "(&(objectClass=inetOrgPerson)(uid=%u))".into(),
            bind_dn: None,
            bind_password_file: None,
            ca_file: None,
            starttls: false,
            pool_size: 4,
            connect_timeout_ms: 3000,
            timeout_ms: 5000,
        }
    }
}

impl LdapConfig {
    /// Whether the settings fit together (checked only with `auth.directory = "ldap"`).
    ///
    /// # Errors
    /// What is wrong, naming the setting to change.
    pub fn validate(&self) -> Result<(), String> {
        let Some(url) = &self.url else {
            return Err("auth.ldap.url is required with auth.directory = \"ldap\"".into());
        };
        let tls = match url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()) {
            Some(s) if s == "ldaps" => true,
            Some(s) if s == "ldap" => false,
            _ => {
                return Err(format!(
                    "auth.ldap.url {url:?} must start with ldap:// or ldaps://"
                ))
            }
        };
        if tls && self.starttls {
            return Err("auth.ldap.starttls is for ldap:// urls; ldaps:// is TLS already".into());
        }
        if self.ca_file.is_some() && !tls && !self.starttls {
            return Err(
                "auth.ldap.ca_file is set but the connection is plain: use an ldaps:// url or \
                 auth.ldap.starttls = true"
                    .into(),
            );
        }
        match (&self.bind_dn_template, &self.base) {
            (Some(_), Some(_)) => {
                return Err(
                    "set auth.ldap.bind_dn_template (direct bind) or auth.ldap.base \
                            (search and bind), not both"
                        .into(),
                )
            }
            (None, None) => {
                return Err(
                    "auth.ldap needs bind_dn_template (direct bind) or base (search \
                            and bind)"
                        .into(),
                )
            }
            (Some(template), None) if !template.contains("%u") => {
                return Err("auth.ldap.bind_dn_template must contain %u (the user name)".into())
            }
            (None, Some(_)) if !self.filter.contains("%u") => {
                return Err("auth.ldap.filter must contain %u (the user name)".into())
            }
            (None, Some(_)) if self.bind_dn.is_none() => {
                return Err("auth.ldap.base (search mode) needs auth.ldap.bind_dn and \
                            auth.ldap.bind_password_file"
                    .into())
            }
            _ => {}
        }
        if self.bind_dn.is_some() != self.bind_password_file.is_some() {
            return Err("auth.ldap.bind_dn and auth.ldap.bind_password_file go together".into());
        }
        if self.pool_size == 0 || self.connect_timeout_ms == 0 || self.timeout_ms == 0 {
            return Err(
                "auth.ldap.pool_size, connect_timeout_ms and timeout_ms must be positive".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct() -> LdapConfig {
        LdapConfig {
            url: Some("ldap://127.0.0.1:389".into()),
            bind_dn_template: Some("uid=%u,dc=example".into()),
            ..LdapConfig::default()
        }
    }

    #[test]
    fn each_mistake_names_its_setting() {
        assert_eq!(direct().validate(), Ok(()));
        type Breaks = fn(&mut LdapConfig);
        let cases: [(&str, Breaks); 8] = [
            ("auth.ldap.url", |c| c.url = None),
            ("auth.ldap.url", |c| c.url = Some("http://x".into())),
            ("auth.ldap.starttls", |c| {
                c.url = Some("ldaps://x".into());
                c.starttls = true;
            }),
            ("auth.ldap.ca_file", |c| c.ca_file = Some("ca.pem".into())),
            ("not both", |c| c.base = Some("dc=example".into())),
            ("must contain %u", |c| {
                c.bind_dn_template = Some("uid=alice".into());
            }),
            ("auth.ldap.bind_dn", |c| {
                c.bind_dn_template = None;
                c.base = Some("dc=example".into());
            }),
            ("auth.ldap.pool_size", |c| c.pool_size = 0),
        ];
        for (named, break_it) in cases {
            let mut c = direct();
            break_it(&mut c);
            let e = c.validate().unwrap_err();
            assert!(e.contains(named), "{named}: {e}");
        }
    }
}
