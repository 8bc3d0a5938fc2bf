//! Argon2id password hashes stored as PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
//!
//! Hashing uses the argon2 crate's defaults (Argon2id, m=19 MiB, t=2, p=1: the OWASP
//! baseline). Verification takes its parameters from the stored string, so hashes made with
//! other parameters keep working after the defaults change.

use std::sync::{Mutex, PoisonError};

use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The hash of 32 random bytes that were thrown away, with the same parameters as
/// [`hash_password`] produces. Unknown users are verified against it so that "no such user"
/// costs one argon2 run, like "wrong password" does, and the two cannot be told apart by time.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$5Q198Jwikp8O90x0j8RgMA$QgYWcOtqCNg5/lPZjUsUZTB/b4jN2QlekthzqrpmVYM";

/// Hashes `password` with Argon2id and a fresh random salt, returning the PHC string.
///
/// # Panics
/// Only if the operating system's random number generator fails, which leaves no safe way to
/// make a salt. Password length cannot cause it: argon2 accepts up to 4 GiB.
pub fn hash_password(password: &[u8]) -> String {
    Argon2::default()
        .hash_password(password)
        .expect("argon2 hashing failed: the system random number generator is unavailable")
        .to_string()
}

/// Checks `password` against a PHC string. Any failure, including a string that does not
/// parse or names an unsupported algorithm, is a plain `false`: the caller only needs to know
/// whether to let the user in.
pub fn verify_password(phc: &str, password: &[u8]) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => {
            #[cfg(test)]
            ARGON2_RUNS.with(|n| n.set(n.get() + 1));
            verify_with_pooled_memory(&hash, password).unwrap_or(false)
        }
        Err(_) => false,
    }
}

/// Argon2 working memory (19 MiB per verification with the defaults) kept between
/// verifications instead of being allocated and freed each time: freed blocks that size end up
/// in glibc's per-thread arenas and stay resident, and mapping and zeroing a fresh block costs
/// time. Verifications are already limited to a few at once (`VerifyQueue`), so this holds at
/// most that many blocks.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `f` on `count` argon2 blocks taken from [`MEMORY`], and puts them back afterwards.
/// Reused blocks are not cleared: argon2 writes every block before it reads it.
fn with_pooled_blocks<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let mut blocks = MEMORY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop()
        .unwrap_or_default();
    blocks.resize(count, Block::default());
    let result = f(&mut blocks);
    MEMORY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(blocks);
    result
}

/// Recomputes `hash` for `password` with the stored parameters and compares the outputs in
/// constant time (as the argon2 crate's own `verify_password` does). `None`: the stored
/// string names something argon2 cannot compute.
fn verify_with_pooled_memory(hash: &PasswordHash, password: &[u8]) -> Option<bool> {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return None;
    };
    let algorithm = Algorithm::new(hash.algorithm.as_str()).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(hash).ok()?;
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    with_pooled_blocks(blocks, |memory| {
        argon2.hash_password_into_with_memory(password, salt, &mut out, memory)
    })
    .ok()?;
    let computed = Output::new(&out).ok()?;
    Some(*expected == computed)
}

#[cfg(test)]
thread_local! {
    /// How many argon2 verifications this thread ran, so tests can check that each login
    /// path runs exactly one.
    pub(crate) static ARGON2_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether `phc` parses as a PHC string; used to reject broken users-file lines up front.
pub(crate) fn is_valid_phc(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify_round_trips() {
        let phc = hash_password(b"correct horse");
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(verify_password(&phc, b"correct horse"));
    }

    #[test]
    fn reused_memory_of_another_size_still_verifies() {
        // Dirty pooled blocks from a larger run, then a smaller one, then larger again: each
        // must match the hash argon2 computed with its own fresh memory.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).expect("valid parameters"),
        )
        .hash_password(b"small")
        .expect("hash")
        .to_string();
        let default = hash_password(b"default");
        for _ in 0..2 {
            assert!(verify_password(&default, b"default"));
            assert!(verify_password(&small, b"small"));
            assert!(!verify_password(&small, b"smalL"));
        }
    }

    #[test]
    fn wrong_password_is_rejected() {
        let phc = hash_password(b"correct horse");
        assert!(!verify_password(&phc, b"correct horsf"));
        assert!(!verify_password(&phc, b""));
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_salt() {
        assert_ne!(hash_password(b"pw"), hash_password(b"pw"));
    }

    #[test]
    fn unparsable_phc_is_a_clean_false() {
        for bad in [
            "",
            "$",
            "plaintext",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=x,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
            "$bcrypt$v=19$m=19456,t=2,p=1$U2FsdFNhbHRTYWx0U2FsdA$oZtTs2r2dPQIiyNBZvBb0j9Y0O7DAKqI3wpNYJAUzbA",
            "$argon2id$v=19$m=19456,t=2,p=1$U2FsdFNhbHRTYWx0U2FsdA$!!!",
        ] {
            assert!(!verify_password(bad, b"pw"), "{bad:?}");
        }
    }

    #[test]
    fn dummy_hash_has_the_default_parameters() {
        // If the defaults change, the dummy must change with them or the two login paths
        // take different times.
        let real = hash_password(b"x");
        let params = |s: &str| s.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(&real), params(DUMMY_HASH));
        assert!(is_valid_phc(DUMMY_HASH));
        assert!(!verify_password(DUMMY_HASH, b""));
    }
}
