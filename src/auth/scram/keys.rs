//! Stored SCRAM-SHA-256 credentials (RFC 5802 section 3) and their text form in the users
//! file (RFC 5803 section 3): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`,
//! each binary value in base64.

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::{digest, hmac, pbkdf2};

/// The fewest iterations RFC 7677 section 4 allows for SCRAM-SHA-256.
pub const MIN_ITERATIONS: u32 = 4096;

/// The prefix of the RFC 5803 representation.
const SCHEME: &str = "SCRAM-SHA-256";

/// Salt length for new keys, in bytes.
const SALT_LEN: usize = 16;

/// What the server keeps for one user: enough to check a proof and to sign, never enough to
/// log in as the user elsewhere (the password's salted hash itself is not kept).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for ScramKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramKeys")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Why a password cannot get SCRAM keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// SASLprep (RFC 4013) refuses the password: it holds prohibited or unassigned characters.
    #[error("the password is not valid for SCRAM (SASLprep refuses it)")]
    Prohibited,
    #[error("the password is not UTF-8")]
    NotUtf8,
}

impl ScramKeys {
    /// Keys for `password` with a fresh random salt.
    ///
    /// # Errors
    /// [`KeysError`] when SASLprep refuses the password; `getrandom` failures panic, as
    /// `password::hash_password` does.
    pub fn derive(password: &[u8], iterations: u32) -> Result<ScramKeys, KeysError> {
        let mut salt = vec![0u8; SALT_LEN];
        getrandom::fill(&mut salt).expect("the system random number generator is unavailable");
        ScramKeys::derive_with_salt(password, salt, iterations)
    }

    /// Keys for `password`, `salt` and `iterations` (at least 1; callers enforce the minimum).
    ///
    /// # Errors
    /// [`KeysError`] when the password is not UTF-8 or SASLprep refuses it.
    pub fn derive_with_salt(
        password: &[u8],
        salt: Vec<u8>,
        iterations: u32,
    ) -> Result<ScramKeys, KeysError> {
        let password = std::str::from_utf8(password).map_err(|_| KeysError::NotUtf8)?;
        let prepared = stringprep::saslprep(password).map_err(|_| KeysError::Prohibited)?;
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN),
            &salt,
            prepared.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, b"Client Key");
        Ok(ScramKeys {
            iterations,
            salt,
            stored_key: sha256(&client_key),
            server_key: hmac_sha256(&salted, b"Server Key"),
        })
    }

    /// Keys for a user who has none (unknown, or no stored SCRAM keys): the salt is derived
    /// from the name with a per-process secret, so asking twice gives the same salt as a real
    /// user's would, and the keys are random, so no proof matches.
    pub fn fake(username: &str, iterations: u32) -> ScramKeys {
        static SECRET: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
        let secret = SECRET.get_or_init(|| {
            let mut s = [0u8; 32];
            getrandom::fill(&mut s).expect("the system random number generator is unavailable");
            s
        });
        let salt = hmac_sha256(secret, username.as_bytes())[..SALT_LEN].to_vec();
        let mut stored_key = [0u8; 32];
        let mut server_key = [0u8; 32];
        getrandom::fill(&mut stored_key)
            .expect("the system random number generator is unavailable");
        getrandom::fill(&mut server_key)
            .expect("the system random number generator is unavailable");
        ScramKeys {
            iterations: iterations.max(MIN_ITERATIONS),
            salt,
            stored_key,
            server_key,
        }
    }

    /// Parses the RFC 5803 form; `None` when it is not SCRAM-SHA-256 or not well formed.
    pub fn parse(text: &str) -> Option<ScramKeys> {
        let rest = text.strip_prefix(SCHEME)?.strip_prefix('$')?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let iterations: u32 = iterations.parse().ok()?;
        let salt = B64.decode(salt).ok()?;
        if iterations == 0 || salt.is_empty() {
            return None;
        }
        Some(ScramKeys {
            iterations,
            salt,
            stored_key: B64.decode(stored).ok()?.try_into().ok()?,
            server_key: B64.decode(server).ok()?.try_into().ok()?,
        })
    }

    /// The RFC 5803 form, for the users file.
    pub fn to_rfc5803(&self) -> String {
        format!(
            "{SCHEME}${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    tag.as_ref().try_into().expect("HMAC-SHA-256 is 32 bytes")
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    digest::digest(&digest::SHA256, data)
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5803_form_round_trips_and_rejects_junk() {
        let keys = ScramKeys::derive(b"pencil", MIN_ITERATIONS).unwrap();
        let text = keys.to_rfc5803();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        assert_eq!(ScramKeys::parse(&text), Some(keys));
        for bad in [
            "",
            "SCRAM-SHA-1$4096:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-256$x:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-256$0:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-256$4096:!!$AAAA:AAAA",
        ] {
            assert_eq!(ScramKeys::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn saslprep_maps_and_refuses() {
        let salt = b"salt".to_vec();
        // U+00A0 (non-ASCII space) maps to a space (RFC 4013 section 2.1).
        assert_eq!(
            ScramKeys::derive_with_salt("a\u{a0}b".as_bytes(), salt.clone(), 4096),
            ScramKeys::derive_with_salt(b"a b", salt.clone(), 4096)
        );
        assert_eq!(
            ScramKeys::derive_with_salt("a\u{7}b".as_bytes(), salt.clone(), 4096),
            Err(KeysError::Prohibited)
        );
        assert_eq!(
            ScramKeys::derive_with_salt(b"\xff", salt, 4096),
            Err(KeysError::NotUtf8)
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let keys = ScramKeys::derive(b"pencil", MIN_ITERATIONS).unwrap();
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&B64.encode(keys.stored_key)), "{shown}");
    }
}
