//! The `[auth.oauth]` settings table.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where OAuth tokens come from and how they are checked. Off by default: OAUTHBEARER and
/// XOAUTH2 are advertised only when `enabled` is set.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthSettings {
    pub enabled: bool,
    /// The `iss` claim every token must carry, exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Accepted `aud` values (the OAuth client ids of the mail apps); a token must name one.
    pub audiences: Vec<String>,
    /// A JWK set (RFC 7517) on disk, re-read at each refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<PathBuf>,
    /// The provider's `jwks_uri`; `https://` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// Extra PEM CA certificates trusted for `jwks_url`, besides the system's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_ca_file: Option<PathBuf>,
    /// How often the key set is fetched again.
    pub jwks_refresh_secs: u64,
    /// A token signed with a key the set does not hold makes the set be fetched again at
    /// once, but at most this often.
    pub jwks_min_refetch_secs: u64,
    /// The claim that names the user, matched exactly against the users file.
    pub user_claim: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway_secs: u64,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        OAuthSettings {
            enabled: false,
            issuer: None,
            audiences: Vec::new(),
            jwks_file: None,
            jwks_url: None,
            jwks_ca_file: None,
            jwks_refresh_secs: 3600,
            jwks_min_refetch_secs: 60,
            user_claim: "email".into(),
            leeway_secs: 60,
        }
    }
}

impl OAuthSettings {
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.jwks_refresh_secs)
    }

    pub fn min_refetch(&self) -> Duration {
        Duration::from_secs(self.jwks_min_refetch_secs)
    }

    /// Checks an enabled table is complete and consistent.
    ///
    /// # Errors
    /// A message naming the setting at fault.
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if self.issuer.as_deref().unwrap_or("").is_empty() {
            return Err("auth.oauth.issuer is required when auth.oauth.enabled is set".into());
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err("auth.oauth.audiences must list at least one non-empty audience".into());
        }
        match (&self.jwks_file, &self.jwks_url) {
            (Some(_), None) => {}
            (None, Some(url)) if url.starts_with("https://") => {}
            (None, Some(_)) => return Err("auth.oauth.jwks_url must be an https:// URL".into()),
            _ => {
                return Err(
                    "set exactly one of auth.oauth.jwks_file and auth.oauth.jwks_url".into(),
                )
            }
        }
        if self.user_claim.is_empty() {
            return Err("auth.oauth.user_claim must name a claim".into());
        }
        if self.jwks_refresh_secs == 0 {
            return Err("auth.oauth.jwks_refresh_secs must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> OAuthSettings {
        OAuthSettings {
            enabled: true,
            issuer: Some("https://issuer.example".into()),
            audiences: vec!["mail".into()],
            jwks_file: Some("/etc/roost/jwks.json".into()),
            ..OAuthSettings::default()
        }
    }

    #[test]
    fn disabled_needs_nothing_and_enabled_needs_issuer_audience_and_one_key_source() {
        assert_eq!(OAuthSettings::default().validate(), Ok(()));
        assert_eq!(enabled().validate(), Ok(()));
        let broken = [
            OAuthSettings {
                issuer: None,
                ..enabled()
            },
            OAuthSettings {
                audiences: vec![],
                ..enabled()
            },
            OAuthSettings {
                jwks_file: None,
                ..enabled()
            },
            OAuthSettings {
                jwks_url: Some("https://idp.example/keys".into()),
                ..enabled()
            },
            OAuthSettings {
                jwks_file: None,
                jwks_url: Some("http://idp.example/keys".into()),
                ..enabled()
            },
            OAuthSettings {
                user_claim: String::new(),
                ..enabled()
            },
            OAuthSettings {
                jwks_refresh_secs: 0,
                ..enabled()
            },
        ];
        for settings in broken {
            assert!(settings.validate().is_err(), "{settings:?}");
        }
    }
}
