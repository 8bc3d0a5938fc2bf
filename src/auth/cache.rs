//! Recent successful logins, so a client that logs in again and again (many connections,
//! frequent reconnects) does not cost an argon2 verification each time, as Dovecot's
//! `auth_cache_size`.
//!
//! The cache never holds a password, nor anything that can be tested offline: an entry is an
//! HMAC-SHA-256, under a key drawn at random when the process starts, of the user name, the
//! stored password hash the login was verified against, and the password. A hit therefore
//! needs the same name, the same password, and the same stored hash: changing a password
//! (or removing the user) in the users file makes the old entry miss at once. Entries expire
//! after the TTL; when the cache is full the oldest entry goes.
//!
//! Only the [`Throttle`](super::throttle::Throttle) decides whether an attempt is checked at
//! all; the cache is consulted after it, so it cannot serve as a fast password oracle.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ring::hmac;

/// Cache settings (keys of the `[auth]` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    /// Users remembered at most; 0 turns the cache off.
    pub size: usize,
    pub ttl: Duration,
}

#[derive(Debug)]
struct Entry {
    tag: hmac::Tag,
    at: Instant,
}

/// The successful-login cache shared by all sessions.
#[derive(Debug)]
pub struct AuthCache {
    /// `None` when the cache is off (size 0, or no random key could be drawn).
    key: Option<hmac::Key>,
    policy: CachePolicy,
    /// A std mutex: every critical section is a map operation and one HMAC, never an `.await`.
    entries: Mutex<HashMap<String, Entry>>,
}

impl AuthCache {
    pub fn new(policy: CachePolicy) -> AuthCache {
        let key = (policy.size > 0).then(random_key).flatten();
        AuthCache {
            key,
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `user` logged in recently with `password` against the stored hash `phc`.
    pub fn contains(&self, user: &str, phc: &str, password: &[u8]) -> bool {
        let Some(key) = &self.key else {
            return false;
        };
        let mut entries = self.lock();
        let Some(entry) = entries.get(user) else {
            return false;
        };
        if entry.at.elapsed() >= self.policy.ttl {
            entries.remove(user);
            return false;
        }
        // `verify` compares in constant time.
        hmac::verify(key, &message(user, phc, password), entry.tag.as_ref()).is_ok()
    }

    /// Remembers that `user` logged in with `password` against the stored hash `phc`.
    pub fn insert(&self, user: &str, phc: &str, password: &[u8]) {
        let Some(key) = &self.key else {
            return;
        };
        let tag = hmac::sign(key, &message(user, phc, password));
        let mut entries = self.lock();
        if !entries.contains_key(user) && entries.len() >= self.policy.size {
            let ttl = self.policy.ttl;
            entries.retain(|_, e| e.at.elapsed() < ttl);
            if entries.len() >= self.policy.size {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.at)
                    .map(|(name, _)| name.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(
            user.to_owned(),
            Entry {
                tag,
                at: Instant::now(),
            },
        );
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Every critical section leaves the map consistent before anything can panic.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The HMAC input: each field prefixed with its length, so no two different triples give
/// the same bytes.
fn message(user: &str, phc: &str, password: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + user.len() + phc.len() + password.len());
    for field in [user.as_bytes(), phc.as_bytes(), password] {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

fn random_key() -> Option<hmac::Key> {
    let mut secret = [0u8; 32];
    match getrandom::fill(&mut secret) {
        Ok(()) => Some(hmac::Key::new(hmac::HMAC_SHA256, &secret)),
        Err(e) => {
            tracing::error!(error = %e, "no random numbers: the login cache is off");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(size: usize, ttl: Duration) -> AuthCache {
        AuthCache::new(CachePolicy { size, ttl })
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_hit_needs_the_same_name_password_and_stored_hash() {
        let c = cache(10, HOUR);
        assert!(!c.contains("alice", "$h1", b"pw"));
        c.insert("alice", "$h1", b"pw");
        assert!(c.contains("alice", "$h1", b"pw"));
        assert!(!c.contains("alice", "$h1", b"pw2"));
        assert!(!c.contains("alice", "$h2", b"pw"), "password changed");
        assert!(!c.contains("bob", "$h1", b"pw"));
        // Length prefixes: moving bytes between fields does not collide.
        c.insert("ab", "c", b"");
        assert!(!c.contains("a", "bc", b""));
    }

    #[test]
    fn entries_expire_and_the_cache_stays_bounded() {
        let c = cache(10, Duration::ZERO);
        c.insert("alice", "$h", b"pw");
        assert!(!c.contains("alice", "$h", b"pw"));
        let c = cache(3, HOUR);
        for i in 0..100 {
            c.insert(&format!("u{i}"), "$h", b"pw");
            assert!(c.lock().len() <= 3);
        }
        assert!(c.contains("u99", "$h", b"pw"));
        assert!(!c.contains("u0", "$h", b"pw"));
    }

    #[test]
    fn size_zero_turns_it_off_and_nothing_holds_the_password() {
        let c = cache(0, HOUR);
        c.insert("alice", "$h", b"pw");
        assert!(!c.contains("alice", "$h", b"pw"));
        let c = cache(10, HOUR);
        c.insert("alice", "$h", b"hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
