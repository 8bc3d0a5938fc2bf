//! Users, password hashes, SASL mechanisms and login throttling.
//!
//! The session calls [`Authenticator::login`] with the name and password from `LOGIN` or from
//! a finished [`SaslExchange`], and opens the account only with the [`LoginVerified`] proof it
//! returns. Users live in a plain file (see [`users`]) that `roost user` ([`cli`]) edits and
//! the server re-reads when it changes ([`userdb`]).
//!
//! Modules:
//! - [`password`]: argon2id hashing and verification.
//! - [`users`]: the users file format, atomic saves.
//! - [`userdb`]: the shared, self-reloading copy the server reads.
//! - [`sasl`]: the PLAIN and LOGIN mechanisms.
//! - [`oauth`]: the OAUTHBEARER and XOAUTH2 mechanisms and their JWT checks.
//! - [`scram`]: SCRAM-SHA-256 and SCRAM-SHA-256-PLUS.
//! - [`throttle`]: failure budgets charged before verification, and delays after failures.
//! - [`verify_queue`]: fair shares of the argon2 capacity.
//! - [`cache`]: recent successful logins, so repeated logins skip argon2.
//! - [`directory`]: the users file or an LDAP server, as `auth.directory` says.
//! - [`ldap`]: the LDAP user directory (bind as the user, or search and bind).
//! - [`authenticator`]: ties them together.
//! - [`cli`]: the `roost user` subcommands.

pub mod authenticator;
pub mod cache;
pub mod cli;
pub mod directory;
pub mod ldap;
pub mod oauth;
pub mod password;
pub mod sasl;
pub mod scram;
pub mod throttle;
pub mod userdb;
pub mod users;
pub mod verify_queue;

use std::path::Path;

pub use authenticator::{AuthError, AuthPolicy, Authenticator, LoginVerified};
#[cfg(test)]
use users::UsersError;
pub use users::UsersFile;

/// The name of the user [`ensure_demo_user`] creates.
pub const DEMO_USER: &str = "demo";

/// How many users the file at `path` has; a missing file has none.
///
/// # Errors
/// The file exists but cannot be read or parsed.
#[cfg(test)]
pub fn user_count(path: &Path) -> Result<usize, UsersError> {
    Ok(UsersFile::load_or_empty(path)?.len())
}

/// If the users file is missing or has no user, creates user `demo` with a random
/// 16-character password and returns that password so the server can print it once.
///
/// Returns `None` when users already exist, and also when the file cannot be read or
/// written (logged as an error): a broken file is never overwritten.
pub fn ensure_demo_user(path: &Path) -> Option<String> {
    let mut file = match UsersFile::load_or_empty(path) {
        Ok(file) if file.is_empty() => file,
        Ok(_) => return None,
        Err(e) => {
            tracing::error!(error = %e, "cannot check for users; no demo user created");
            return None;
        }
    };
    let password = match random_password(16) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "no random numbers; no demo user created");
            return None;
        }
    };
    let added = file
        .add(DEMO_USER, password::hash_password(password.as_bytes()))
        .and_then(|()| file.save(path));
    match added {
        Ok(()) => {
            tracing::info!(path = %path.display(), user = DEMO_USER, "demo user created");
            Some(password)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot create the demo user");
            None
        }
    }
}

/// A random password of `len` characters from an alphabet without look-alikes (no `0O1lI`),
/// so it can be read off a terminal and typed.
fn random_password(len: usize) -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // Rejection sampling: bytes at or above the largest multiple of the alphabet size would
    // make the first letters likelier than the rest.
    let limit = 256 - 256 % ALPHABET.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for &b in &buf {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_passwords_are_long_and_different() {
        let a = random_password(16).unwrap();
        let b = random_password(16).unwrap();
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c)));
    }

    #[test]
    fn demo_user_is_created_once_with_a_working_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        assert_eq!(user_count(&path).unwrap(), 0);
        let pw = ensure_demo_user(&path).unwrap();
        assert_eq!(pw.len(), 16);
        let file = UsersFile::load(&path).unwrap();
        assert_eq!(file.list().collect::<Vec<_>>(), [DEMO_USER]);
        assert!(password::verify_password(
            file.get(DEMO_USER).unwrap(),
            pw.as_bytes()
        ));
        assert_eq!(ensure_demo_user(&path), None);
        assert_eq!(user_count(&path).unwrap(), 1);
    }

    #[test]
    fn demo_user_goes_into_a_file_with_only_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "# no users yet\n").unwrap();
        assert!(ensure_demo_user(&path).is_some());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# no users yet\ndemo:$argon2id$"),
            "{text}"
        );
    }

    #[test]
    fn broken_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "garbage\n").unwrap();
        assert_eq!(ensure_demo_user(&path), None);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage\n");
        assert!(user_count(&path).is_err());
    }
}
