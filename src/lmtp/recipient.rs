//! From an envelope recipient (`bob+lists@example.org`) to the user and folder it delivers to.

use crate::auth::{AuthError, Authenticator};
use crate::config::LmtpConfig;

/// A recipient that names a user of this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address as the client gave it (for `Delivered-To:`).
    pub address: String,
    /// The user name in the users file.
    pub user: String,
    /// The `+detail` part, when the address had one.
    pub detail: Option<String>,
}

/// Why a recipient is refused at `RCPT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `550 5.1.1`: no such user here.
    Unknown,
    /// `550 5.1.2`: a domain this server does not take mail for.
    Domain(String),
    /// `451 4.3.0`: the user database cannot be read now; the MTA tries again.
    Unavailable,
}

/// Resolves `address` against the users file. A user may be stored under the full address
/// (`bob@example.org`) or the local part (`bob`); the `+detail` is split off either way.
pub async fn resolve(
    address: &str,
    config: &LmtpConfig,
    auth: &Authenticator,
) -> Result<Recipient, Refused> {
    let (local, domain) = match address.rsplit_once('@') {
        Some((l, d)) => (l, Some(d.to_ascii_lowercase())),
        None => (address, None),
    };
    if let Some(domain) = &domain {
        if !config.domains.is_empty()
            && !config
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
        {
            return Err(Refused::Domain(domain.clone()));
        }
    }
    let (base, detail) = match config.detail_separator.as_deref() {
        Some(sep) if !sep.is_empty() => match local.split_once(sep) {
            Some((b, d)) => (b, Some(d.to_owned())),
            None => (local, None),
        },
        _ => (local, None),
    };
    let mut candidates = Vec::new();
    if let Some(domain) = &domain {
        candidates.push(format!("{base}@{domain}"));
    }
    candidates.push(base.to_owned());
    for user in candidates {
        match auth.preauthenticated(&user).await {
            Ok(proof) => {
                return Ok(Recipient {
                    address: address.to_owned(),
                    user: proof.user().to_owned(),
                    detail,
                })
            }
            Err(AuthError::Unavailable(_)) => return Err(Refused::Unavailable),
            Err(_) => {}
        }
    }
    Err(Refused::Unknown)
}
