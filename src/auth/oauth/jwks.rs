//! The identity provider's signing keys (a JWK set, RFC 7517), looked up by `kid`.
//!
//! The set is read when the server starts (or at the first bearer login), then again every `jwks_refresh_secs` by a
//! background task, and at once when a token names a key the set lacks (the provider rotated
//! its keys), but no more often than `jwks_min_refetch_secs`, so tokens with made-up `kid`s
//! cannot make Roost hammer the provider. A failed fetch keeps the keys it had.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::fetch::JwksSource;

/// One verification key.
pub struct Key {
    pub decoding: DecodingKey,
    /// The `alg` the set pins this key to, if it does.
    pub algorithm: Option<Algorithm>,
}

/// The keys of one fetched set.
#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<Key>>,
    /// The key of a set that holds exactly one: tokens without `kid` may use it.
    only: Option<Arc<Key>>,
    /// A set was read successfully at least once.
    loaded: bool,
}

/// Why no key is available for a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The set does not hold the key the token names (or the token names none).
    #[error("no key for this token in the key set")]
    Unknown,
    /// The set has never been read: the provider or the file is unreachable.
    #[error("the key set is unavailable: {0}")]
    Unavailable(String),
}

/// The keys, and how to fetch them again.
pub struct KeyStore {
    source: JwksSource,
    refresh: Duration,
    min_refetch: Duration,
    keys: RwLock<Arc<Keys>>,
    /// Serialises fetches; holds when the last one finished, and its error if it failed.
    last_fetch: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
    /// Fetches finished so far: a caller that waited for another's fetch uses its outcome.
    fetches: AtomicU64,
    background: OnceLock<()>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    pub fn new(source: JwksSource, refresh: Duration, min_refetch: Duration) -> Arc<KeyStore> {
        Arc::new(KeyStore {
            source,
            refresh,
            min_refetch,
            keys: RwLock::default(),
            last_fetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            background: OnceLock::new(),
        })
    }

    /// The key named `kid` (or the set's only key, for a token without `kid`), fetching the
    /// set first when it was never read or lacks `kid`.
    ///
    /// # Errors
    /// [`KeyError::Unknown`] when the set lacks the key even after a refetch (or a refetch is
    /// not allowed yet); [`KeyError::Unavailable`] when no set could ever be read.
    pub async fn key(self: &Arc<Self>, kid: Option<&str>) -> Result<Arc<Key>, KeyError> {
        self.start_background();
        if let Some(key) = self.find(kid) {
            return Ok(key);
        }
        if kid.is_none() && self.current().loaded {
            return Err(KeyError::Unknown);
        }
        let outcome = self.refresh(self.min_refetch).await;
        if let Some(key) = self.find(kid) {
            return Ok(key);
        }
        match outcome {
            Err(reason) if !self.current().loaded => Err(KeyError::Unavailable(reason)),
            _ => Err(KeyError::Unknown),
        }
    }

    fn current(&self) -> Arc<Keys> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn find(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        let keys = self.current();
        match kid {
            Some(kid) => keys.by_kid.get(kid).cloned(),
            None => keys.only.clone(),
        }
    }

    /// Fetches the set unless the last fetch finished less than `not_within` ago (then
    /// returns that fetch's outcome: failures are rate-limited too). Concurrent callers wait
    /// for one fetch.
    async fn refresh(&self, not_within: Duration) -> Result<(), String> {
        let seen = self.fetches.load(Ordering::Acquire);
        let mut last = self.last_fetch.lock().await;
        if let Some((at, outcome)) = &*last {
            if at.elapsed() < not_within || self.fetches.load(Ordering::Acquire) != seen {
                return outcome.clone().map_or(Ok(()), Err);
            }
        }
        let outcome = match self.source.fetch().await {
            Ok(bytes) => parse_set(&bytes).map_err(|reason| format!("{:?}: {reason}", self.source)),
            Err(e) => Err(e.to_string()),
        };
        let error = match outcome {
            Ok(keys) => {
                tracing::info!(source = ?self.source, keys = keys.by_kid.len(), "OAuth key set loaded");
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "OAuth key set not refreshed; keeping the keys it had");
                Some(e.to_string())
            }
        };
        *last = Some((Instant::now(), error.clone()));
        self.fetches.fetch_add(1, Ordering::Release);
        error.map_or(Ok(()), Err)
    }

    /// Starts the background refresh, once: a fetch now (unless one just happened), then
    /// one every interval, on the runtime of the first caller (the server calls this at
    /// start, so a bad source shows in the log before the first login). The task holds only
    /// a weak reference, so it ends with the store.
    pub fn start_background(self: &Arc<Self>) {
        self.background.get_or_init(|| {
            let store: Weak<KeyStore> = Arc::downgrade(self);
            let every = self.refresh;
            tokio::spawn(async move {
                loop {
                    let Some(strong) = store.upgrade() else {
                        return;
                    };
                    // Whatever the outcome, `refresh` logs it and keeps the old keys on failure.
                    let _ = strong.refresh(every / 2).await;
                    drop(strong);
                    tokio::time::sleep(every).await;
                }
            });
        });
    }
}

/// The signing keys of a JWK set document. Keys Roost cannot use (encryption keys, unknown
/// types or algorithms, HMAC secrets) are skipped, so one odd key does not lose the others.
fn parse_set(bytes: &[u8]) -> Result<Keys, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(bytes).map_err(|e| format!("not a JWK set: {e}"))?;
    let usable: Vec<(Option<String>, Key)> = set
        .keys
        .into_iter()
        .filter_map(|value| usable_key(serde_json::from_value(value).ok()?))
        .collect();
    let only = match usable.as_slice() {
        [(_, key)] => Some(Arc::new(Key {
            decoding: key.decoding.clone(),
            algorithm: key.algorithm,
        })),
        _ => None,
    };
    let by_kid = usable
        .into_iter()
        .filter_map(|(kid, key)| Some((kid?, Arc::new(key))))
        .collect();
    Ok(Keys {
        by_kid,
        only,
        loaded: true,
    })
}

fn usable_key(jwk: Jwk) -> Option<(Option<String>, Key)> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match jwk.common.key_algorithm {
        Some(a) => Some(Algorithm::from_str(&a.to_string()).ok()?),
        None => None,
    };
    if matches!(
        algorithm,
        Some(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    ) {
        return None;
    }
    if matches!(
        jwk.algorithm,
        jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
    ) {
        return None;
    }
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some((
        jwk.common.key_id,
        Key {
            decoding,
            algorithm,
        },
    ))
}

#[cfg(test)]
mod tests;
