//! How to reach Redis: the URL, plus the CA and the credentials given as settings of their own.
//!
//! `rediss://` URLs use TLS (rustls with the ring provider, like everything in Roost). By
//! default the server's certificate is checked against the system's trust store; with
//! `cluster.redis_ca` against that CA only (a private CA, as a Kubernetes operator or a
//! managed Redis hands out).
//!
//! Redis ACL users (`AUTH username password`) can be given in the URL
//! (`rediss://roost:secret@redis:6380`) or, so that the password need not sit in a config
//! file or an environment variable, as `cluster.redis_username` plus
//! `cluster.redis_password_file` (a file as a Kubernetes Secret is mounted). The password file
//! is read when the node connects; the password is never logged, and messages show the URL
//! with its password replaced by `***`.

use std::path::{Path, PathBuf};

use ::redis::{Client, ConnectionInfo, IntoConnectionInfo, TlsCertificates};

use crate::config::{redact_url, ClusterConfig};

/// The Redis settings of `[cluster]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisAccess {
    url: String,
    ca: Option<PathBuf>,
    username: Option<String>,
    password_file: Option<PathBuf>,
}

/// Why the Redis settings cannot be used. Never holds the password.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cluster.redis_url is not a valid redis url: {0}")]
    InvalidUrl(String),
    #[error(
        "cluster.redis_ca is set but cluster.redis_url does not use TLS; use a rediss:// url \
         (or remove cluster.redis_ca)"
    )]
    CaWithoutTls,
    #[error(
        "cluster.redis_username is set without cluster.redis_password_file; an ACL user \
         needs both"
    )]
    UsernameWithoutPassword,
    #[error(
        "redis credentials are given twice: cluster.redis_url has a user name or password, and \
         cluster.redis_username or cluster.redis_password_file is set too; use one or the other"
    )]
    CredentialsTwice,
    #[error("cannot read the redis password file {path}: {source}")]
    PasswordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the redis password file {0} is empty")]
    EmptyPassword(PathBuf),
    #[error("cannot read the redis CA file {path}: {source}")]
    CaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot use the redis TLS settings: {0}")]
    Tls(String),
}

impl RedisAccess {
    /// The settings of `cluster`, or `None` when no Redis is configured (single-node mode).
    pub fn from_config(cluster: &ClusterConfig) -> Option<RedisAccess> {
        Some(RedisAccess {
            url: cluster.redis_url.clone()?,
            ca: cluster.redis_ca.clone(),
            username: cluster.redis_username.clone(),
            password_file: cluster.redis_password_file.clone(),
        })
    }

    /// Just a URL, credentials (if any) inside it.
    #[cfg(test)]
    pub fn url(url: impl Into<String>) -> RedisAccess {
        RedisAccess {
            url: url.into(),
            ca: None,
            username: None,
            password_file: None,
        }
    }

    /// The URL with its password replaced by `***`, plus the user from the settings, for
    /// messages.
    pub fn shown(&self) -> String {
        let url = redact_url(&self.url);
        match &self.username {
            Some(user) => format!("{url} (as user {user})"),
            None => url,
        }
    }

    /// Checks that the settings fit together, without reading any file (configuration
    /// validation: `roost check-config` runs where the files may not be).
    ///
    /// # Errors
    /// An [`AccessError`] naming the settings involved.
    pub fn check(&self) -> Result<ConnectionInfo, AccessError> {
        let info = self
            .url
            .as_str()
            .into_connection_info()
            // The error names the problem, never the URL (it may hold a password).
            .map_err(|e| AccessError::InvalidUrl(e.to_string()))?;
        let tls = matches!(info.addr(), ::redis::ConnectionAddr::TcpTls { .. });
        if self.ca.is_some() && !tls {
            return Err(AccessError::CaWithoutTls);
        }
        if self.username.is_some() && self.password_file.is_none() {
            return Err(AccessError::UsernameWithoutPassword);
        }
        let settings = info.redis_settings();
        let in_url = settings.username().is_some() || settings.password().is_some();
        if in_url && (self.username.is_some() || self.password_file.is_some()) {
            return Err(AccessError::CredentialsTwice);
        }
        Ok(info)
    }

    /// A client with the credentials and CA read from their files.
    ///
    /// # Errors
    /// As [`check`](Self::check), or when a file cannot be read.
    pub fn client(&self) -> Result<Client, AccessError> {
        let mut info = self.check()?;
        if let Some(path) = &self.password_file {
            let mut settings = info
                .redis_settings()
                .clone()
                .set_password(read_password(path)?);
            if let Some(user) = &self.username {
                settings = settings.set_username(user);
            }
            info = info.set_redis_settings(settings);
        }
        let Some(ca) = &self.ca else {
            return Client::open(info).map_err(|e| AccessError::Tls(e.to_string()));
        };
        let root_cert = std::fs::read(ca).map_err(|source| AccessError::CaFile {
            path: ca.clone(),
            source,
        })?;
        let certificates = TlsCertificates {
            client_tls: None,
            root_cert: Some(root_cert),
        };
        Client::build_with_tls(info, certificates)
            .map_err(|e| AccessError::Tls(format!("cluster.redis_ca {}: {e}", ca.display())))
    }
}

/// The password: the file's content without a final line break (`echo` adds one; the
/// kubelet writes Secret values as they are).
fn read_password(path: &Path) -> Result<String, AccessError> {
    let text = std::fs::read_to_string(path).map_err(|source| AccessError::PasswordFile {
        path: path.to_owned(),
        source,
    })?;
    let password = text.strip_suffix('\n').unwrap_or(&text);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(AccessError::EmptyPassword(path.to_owned()));
    }
    Ok(password.to_owned())
}
