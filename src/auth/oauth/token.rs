//! Checks a bearer token, a JWT (RFC 7519) signed by the identity provider, and names its
//! user.
//!
//! A token is accepted when its signature verifies with the provider key its `kid` names
//! (RS256/384/512, PS256/384/512, ES256/384 or EdDSA: never HMAC, whose "key" would be
//! public), its `iss` is the configured issuer, its `aud` names a configured audience, `exp`
//! has not passed and `nbf` has (both within the leeway), and it carries the user claim.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};

use super::fetch::{FetchError, JwksSource};
use super::jwks::{KeyError, KeyStore};
use super::OAuthSettings;

/// Signature algorithms accepted in a token's header.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why a token was refused. Every kind but [`TokenError::KeysUnavailable`] is the client's:
/// the session answers it with the RFC 7628 error and `NO [AUTHENTICATIONFAILED]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("signature algorithm not accepted")]
    Algorithm,
    #[error("signing key not in the key set")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("the user claim is missing")]
    NoUser,
    #[error("the token's user is not the user named in the exchange")]
    UserMismatch,
    #[error("the token's user has no account")]
    UnknownUser,
    /// The key set could never be read: not the client's fault (`NO [UNAVAILABLE]`).
    #[error("{0}")]
    KeysUnavailable(String),
}

impl TokenError {
    /// The `reason` label of `roost_auth_token_failures_total`.
    pub fn label(&self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::Algorithm => "algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::Signature => "signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::Issuer => "issuer",
            TokenError::Audience => "audience",
            TokenError::NoUser => "no_user",
            TokenError::UserMismatch => "user_mismatch",
            TokenError::UnknownUser => "unknown_user",
            TokenError::KeysUnavailable(_) => "keys_unavailable",
        }
    }

    /// Every label, for creating the series at zero.
    pub const LABELS: &'static [&'static str] = &[
        "malformed",
        "algorithm",
        "unknown_key",
        "signature",
        "expired",
        "not_yet_valid",
        "issuer",
        "audience",
        "no_user",
        "user_mismatch",
        "unknown_user",
        "keys_unavailable",
    ];
}

/// Checks tokens against one issuer's keys.
#[derive(Debug)]
pub struct TokenVerifier {
    keys: Arc<KeyStore>,
    issuer: String,
    audiences: Vec<String>,
    user_claim: String,
    leeway_secs: u64,
}

impl TokenVerifier {
    /// A verifier for validated `settings`; the key set is read by [`Self::start_key_refresh`]
    /// or at the first token.
    ///
    /// # Errors
    /// A bad `jwks_url` or `jwks_ca_file`.
    pub fn new(settings: &OAuthSettings) -> Result<TokenVerifier, FetchError> {
        let source = JwksSource::from_settings(settings)?;
        Ok(TokenVerifier {
            keys: KeyStore::new(source, settings.refresh_interval(), settings.min_refetch()),
            issuer: settings.issuer.clone().unwrap_or_default(),
            audiences: settings.audiences.clone(),
            user_claim: settings.user_claim.clone(),
            leeway_secs: settings.leeway_secs,
        })
    }

    /// Reads the key set now and keeps it fresh in the background (else this starts at the
    /// first token).
    pub fn start_key_refresh(&self) {
        self.keys.start_background();
    }

    /// The user `token` was issued for, from the user claim.
    ///
    /// # Errors
    /// Why the token is refused (never quoting it).
    pub async fn user(&self, token: &str) -> Result<String, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(TokenError::Algorithm);
        }
        let key = self
            .keys
            .key(header.kid.as_deref())
            .await
            .map_err(|e| match e {
                KeyError::Unknown => TokenError::UnknownKey,
                KeyError::Unavailable(why) => TokenError::KeysUnavailable(why),
            })?;
        if key.algorithm.is_some_and(|pinned| pinned != header.alg) {
            return Err(TokenError::Algorithm);
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key.decoding,
            &validation,
        )
        .map_err(|e| refusal(e.kind()))?;
        match data.claims.get(&self.user_claim) {
            Some(serde_json::Value::String(user)) if !user.is_empty() => Ok(user.clone()),
            _ => Err(TokenError::NoUser),
        }
    }
}

fn refusal(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenError::Algorithm,
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::Crypto(_) => TokenError::Signature,
        _ => TokenError::Malformed,
    }
}
