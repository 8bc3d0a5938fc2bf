//! Checks a user name and password and hands out the [`LoginVerified`] proof a session needs
//! to open an account.
//!
//! Three properties matter here:
//! - Argon2 takes tens of milliseconds of CPU, so it runs on `spawn_blocking`, never on an
//!   actor or I/O thread. The users-file lookup (which may read the disk) runs there too.
//! - "No such user" and "wrong password" must be indistinguishable, in the answer and in
//!   time: an unknown name is verified against [`DUMMY_HASH`], so both cost one argon2 run.
//! - Failures are slowed by the [`Throttle`]; the sleep is an async timer, so a throttled
//!   client holds no thread.
//! - Each verification needs 19 MiB, so at most one per CPU runs at a time: a flood of
//!   logins queues instead of filling the blocking pool (512 threads, ~10 GiB).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use roost_proto::Secret;
use tokio::sync::Semaphore;

use crate::auth::password::{self, DUMMY_HASH};
use crate::auth::throttle::{Throttle, ThrottlePolicy};
use crate::auth::userdb::{Unavailable, UserDb};

/// Proof that a login succeeded. Only `auth` can build one (the field is private), so code
/// that opens an account by taking a `LoginVerified` cannot be reached without a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginVerified {
    user: String,
}

impl LoginVerified {
    /// The user who logged in, as stored in the users file.
    pub fn user(&self) -> &str {
        &self.user
    }
}

/// Why a login did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong password; deliberately the same error for both
    /// (`NO [AUTHENTICATIONFAILED]`).
    #[error("authentication failed")]
    Failed,
    /// The users database cannot be read at all (`NO [UNAVAILABLE]`); the text is for the log.
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

/// The login checker shared by all sessions (wrap it in an `Arc`).
#[derive(Debug)]
pub struct Authenticator {
    users: Arc<UserDb>,
    throttle: Throttle,
    /// One permit per concurrent argon2 run (see the module docs).
    verify_slots: Semaphore,
    /// How many argon2 verifications ran, so tests can check that every path runs exactly one.
    #[cfg(test)]
    verifications: Arc<std::sync::atomic::AtomicUsize>,
}

impl Authenticator {
    /// An authenticator over the users file at `users_file`; the file is read on first use
    /// and re-read whenever it changes.
    pub fn new(users_file: PathBuf, policy: ThrottlePolicy) -> Authenticator {
        Authenticator::with_db(Arc::new(UserDb::new(users_file)), policy)
    }

    pub(crate) fn with_db(users: Arc<UserDb>, policy: ThrottlePolicy) -> Authenticator {
        Authenticator {
            users,
            throttle: Throttle::new(policy),
            verify_slots: Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            ),
            #[cfg(test)]
            verifications: Default::default(),
        }
    }

    /// Proof for a session that is authenticated by how it connected, not by a password:
    /// `roost imap --user NAME` (run by ssh for an already authenticated user) and listeners
    /// configured with `preauth_user` (a trusted local socket).
    ///
    /// # Errors
    /// [`AuthError::Failed`] when the user does not exist; [`AuthError::Unavailable`] when the
    /// users file cannot be read.
    pub fn preauthenticated(&self, username: &str) -> Result<LoginVerified, AuthError> {
        match self.users.lookup(username) {
            Ok(Some(_)) => Ok(LoginVerified {
                user: username.to_owned(),
            }),
            Ok(None) => Err(AuthError::Failed),
            Err(Unavailable(why)) => Err(AuthError::Unavailable(why)),
        }
    }

    /// Checks `username` and `password` for a client at `peer`.
    ///
    /// On failure this waits for the throttle delay before returning, so the caller can send
    /// `NO` as soon as it gets the error.
    ///
    /// # Errors
    /// [`AuthError::Failed`] for an unknown user or a wrong password (the same error, after
    /// the same work); [`AuthError::Unavailable`] if the users file was never readable or the
    /// verification task died.
    pub async fn login(
        &self,
        username: &str,
        password: &[u8],
        peer: IpAddr,
    ) -> Result<LoginVerified, AuthError> {
        let users = Arc::clone(&self.users);
        let name = username.to_owned();
        let secret = Secret::new(password.to_vec());
        #[cfg(test)]
        let runs = Arc::clone(&self.verifications);
        // The semaphore is never closed, so acquiring only waits.
        let permit = self.verify_slots.acquire().await;
        let verified = tokio::task::spawn_blocking(move || -> Result<bool, Unavailable> {
            let stored = users.lookup(&name)?;
            #[cfg(test)]
            let before = password::ARGON2_RUNS.with(std::cell::Cell::get);
            // Unknown users are verified against the dummy hash, and the result thrown away,
            // so the work done does not depend on whether the name exists.
            let phc = stored.as_deref().unwrap_or(DUMMY_HASH);
            let matches = password::verify_password(phc, secret.expose());
            #[cfg(test)]
            runs.fetch_add(
                password::ARGON2_RUNS.with(std::cell::Cell::get) - before,
                std::sync::atomic::Ordering::Relaxed,
            );
            Ok(matches && stored.is_some())
        })
        .await;
        drop(permit);
        // Debug formatting escapes control characters, so a hostile name cannot forge log
        // lines; the length cap keeps one login from writing a megabyte of log.
        let user = log_name(username);
        match verified {
            Ok(Ok(true)) => {
                self.throttle.record_success(username);
                tracing::info!(user = ?user, %peer, "login succeeded");
                Ok(LoginVerified {
                    user: username.to_owned(),
                })
            }
            Ok(Ok(false)) => {
                let delay = self.throttle.record_failure(peer, username);
                // The name is logged so admins can see attacks; the password never is.
                let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                tracing::info!(user = ?user, %peer, delay_ms, "login failed");
                tokio::time::sleep(delay).await;
                Err(AuthError::Failed)
            }
            Ok(Err(Unavailable(reason))) => {
                tracing::error!(%reason, "login refused: users database unavailable");
                Err(AuthError::Unavailable(reason))
            }
            Err(join) => {
                tracing::error!(error = %join, "password verification task failed");
                Err(AuthError::Unavailable(
                    "password verification failed".into(),
                ))
            }
        }
    }

    #[cfg(test)]
    fn argon2_runs(&self) -> usize {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// At most the first 64 characters of a client-supplied name, for logging.
fn log_name(name: &str) -> &str {
    match name.char_indices().nth(64) {
        Some((end, _)) => &name[..end],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::auth::users::UsersFile;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    fn no_delay() -> ThrottlePolicy {
        ThrottlePolicy {
            base_delay_ms: 0,
            max_delay_ms: 0,
            ..ThrottlePolicy::default()
        }
    }

    /// A users file with `alice` / `wonderland`, and an authenticator over it.
    fn setup(policy: ThrottlePolicy) -> (tempfile::TempDir, Authenticator) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let mut file = UsersFile::default();
        file.add("alice", password::hash_password(b"wonderland"))
            .unwrap();
        file.save(&path).unwrap();
        (dir, Authenticator::new(path, policy))
    }

    #[tokio::test]
    async fn right_password_gives_a_proof_naming_the_user() {
        let (_dir, auth) = setup(no_delay());
        let proof = auth.login("alice", b"wonderland", PEER).await.unwrap();
        assert_eq!(proof.user(), "alice");
    }

    #[tokio::test]
    async fn unknown_user_and_wrong_password_fail_alike() {
        let (_dir, auth) = setup(no_delay());
        assert_eq!(
            auth.login("alice", b"wrong", PEER).await,
            Err(AuthError::Failed)
        );
        assert_eq!(
            auth.login("bob", b"wonderland", PEER).await,
            Err(AuthError::Failed)
        );
        // Names are case-sensitive.
        assert_eq!(
            auth.login("Alice", b"wonderland", PEER).await,
            Err(AuthError::Failed)
        );
        // Hostile names reach the dummy verification and fail like any other.
        let hostile = format!("a:b\0c{}", "x".repeat(100_000));
        assert_eq!(
            auth.login(&hostile, b"", PEER).await,
            Err(AuthError::Failed)
        );
    }

    #[tokio::test]
    async fn every_path_runs_exactly_one_argon2_verification() {
        let (_dir, auth) = setup(no_delay());
        auth.login("alice", b"wonderland", PEER).await.unwrap();
        assert_eq!(auth.argon2_runs(), 1);
        auth.login("alice", b"wrong", PEER).await.unwrap_err();
        assert_eq!(auth.argon2_runs(), 2);
        auth.login("nobody", b"wrong", PEER).await.unwrap_err();
        assert_eq!(auth.argon2_runs(), 3);
    }

    /// The fastest of a few failing logins: the minimum filters out scheduling noise.
    async fn fastest(auth: &Authenticator, name: &str) -> Duration {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            auth.login(name, b"wrong", PEER).await.unwrap_err();
            best = best.min(start.elapsed());
        }
        best
    }

    #[tokio::test]
    async fn unknown_user_takes_as_long_as_a_wrong_password() {
        let (_dir, auth) = setup(no_delay());
        // The factor is broad because CI machines are busy; skipping argon2 would make the
        // unknown path about a thousand times faster, so it still catches that.
        let known = fastest(&auth, "alice").await;
        let unknown = fastest(&auth, "nobody").await;
        let ratio = known.as_secs_f64() / unknown.as_secs_f64();
        assert!(
            (0.25..4.0).contains(&ratio),
            "known {known:?} vs unknown {unknown:?}"
        );
    }

    #[tokio::test]
    async fn failures_wait_for_the_throttle_delay() {
        let (_dir, auth) = setup(ThrottlePolicy {
            base_delay_ms: 300,
            max_delay_ms: 300,
            ..ThrottlePolicy::default()
        });
        auth.login("alice", b"wrong", PEER).await.unwrap_err();
        let start = Instant::now();
        auth.login("alice", b"wrong", PEER).await.unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(300));
        // Success forgets the name's failures but not the address's.
        auth.login("alice", b"wonderland", PEER).await.unwrap();
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(
            auth.throttle.current_delay(elsewhere, "alice"),
            Duration::ZERO
        );
        assert!(auth.throttle.current_delay(PEER, "carol") > Duration::ZERO);
    }

    #[test]
    fn logged_names_are_capped_on_a_char_boundary() {
        assert_eq!(log_name("alice"), "alice");
        let long = "é".repeat(100);
        assert_eq!(log_name(&long), "é".repeat(64));
    }

    #[tokio::test]
    async fn missing_users_file_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Authenticator::new(dir.path().join("missing"), no_delay());
        assert!(matches!(
            auth.login("alice", b"pw", PEER).await,
            Err(AuthError::Unavailable(_))
        ));
    }
}
