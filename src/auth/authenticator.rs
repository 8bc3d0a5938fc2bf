//! Checks a user name and password and hands out the [`LoginVerified`] proof a session needs
//! to open an account.
//!
//! An attempt goes through four gates, cheapest first:
//! 1. The [`Throttle`] charges it as a failure to the address and the name, or refuses it at
//!    once when their budget is spent: a refused attempt costs no hashing at all.
//! 2. The users file is read for the stored hash (off the async threads: it may touch disk).
//!    With an LDAP [`Directory`] steps 2 and 4 are a bind to the LDAP server instead, and the
//!    cache keys on the directory's URL in place of the stored hash (TTL-only invalidation).
//! 3. The [`AuthCache`] of recent successes may vouch for the password without argon2.
//! 4. Otherwise one argon2id verification runs, when the [`VerifyQueue`] gives it a slot:
//!    argon2 takes tens of milliseconds of CPU and 19 MiB, so at most one per CPU runs,
//!    addresses in good [`Standing`] first and the rest round-robin by address.
//!
//! "No such user" and "wrong password" must be indistinguishable, in the answer and in time:
//! an unknown name is verified against [`DUMMY_HASH`], so both cost one argon2 run. A right
//! password takes its throttle charge back; a wrong one keeps it and is answered after the
//! throttle's delay (an async timer: a throttled client holds no thread).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use roost_proto::Secret;

use crate::auth::cache::{AuthCache, CachePolicy};
use crate::auth::directory::Directory;
use crate::auth::ldap::LdapDirectory;
use crate::auth::oauth::fetch::FetchError;
use crate::auth::oauth::{BearerCredentials, OAuthSettings, TokenError, TokenVerifier};
use crate::auth::password::{self, DUMMY_HASH};
use crate::auth::scram::ScramKeys;
use crate::auth::throttle::{Admitted, Refused, Standing, Throttle, ThrottlePolicy};
use crate::auth::userdb::{Unavailable, UserDb};
use crate::auth::verify_queue::{Lane, VerifyQueue};
use crate::telemetry::metrics;

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
    /// Too many recent failures: refused without checking the password (`NO [UNAVAILABLE]`).
    #[error("too many failed logins")]
    Throttled(Refused),
    /// The users database cannot be read at all (`NO [UNAVAILABLE]`); the text is for the log.
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

/// Why an authenticator could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The users file or the LDAP settings.
    #[error("users: {0}")]
    Directory(String),
    #[error("OAuth: {0}")]
    OAuth(#[from] FetchError),
}

/// Everything the authenticator can be tuned by (from the `[auth]` config table).
#[derive(Clone, Debug)]
pub struct AuthPolicy {
    pub throttle: ThrottlePolicy,
    pub cache: CachePolicy,
}

/// The login checker shared by all sessions (wrap it in an `Arc`).
#[derive(Debug)]
pub struct Authenticator {
    directory: Directory,
    throttle: Throttle,
    queue: Arc<VerifyQueue>,
    cache: AuthCache,
    /// Checks OAuth bearer tokens, when `[auth.oauth]` is enabled.
    oauth: Option<TokenVerifier>,
    /// How many argon2 verifications ran, so tests can check that every path runs exactly one.
    #[cfg(test)]
    verifications: Arc<std::sync::atomic::AtomicUsize>,
}

impl Authenticator {
    /// An authenticator over the users file at `users_file`; the file is read on first use
    /// and re-read whenever it changes.
    pub fn new(users_file: PathBuf, policy: AuthPolicy) -> Authenticator {
        Authenticator::with_db(Arc::new(UserDb::new(users_file)), policy)
    }

    /// The authenticator `config` describes (`auth.directory`, `[auth.oauth]` and the
    /// `[auth]` policy).
    ///
    /// # Errors
    /// As [`Directory::from_config`] and [`Authenticator::with_oauth`].
    pub fn from_config(config: &crate::config::Config) -> Result<Authenticator, SetupError> {
        let directory = Directory::from_config(config).map_err(SetupError::Directory)?;
        Ok(
            Authenticator::with_directory(directory, config.auth.policy())
                .with_oauth(&config.auth.oauth)?,
        )
    }

    pub(crate) fn with_db(users: Arc<UserDb>, policy: AuthPolicy) -> Authenticator {
        Authenticator::with_directory(Directory::UsersFile(users), policy)
    }

    pub fn with_directory(directory: Directory, policy: AuthPolicy) -> Authenticator {
        Authenticator {
            directory,
            throttle: Throttle::new(policy.throttle),
            queue: VerifyQueue::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            ),
            cache: AuthCache::new(policy.cache),
            oauth: None,
            #[cfg(test)]
            verifications: Default::default(),
        }
    }

    /// Accepts OAuth bearer tokens as `settings` say (nothing changes when they are off).
    ///
    /// # Errors
    /// A bad `jwks_url` or `jwks_ca_file`.
    pub fn with_oauth(mut self, settings: &OAuthSettings) -> Result<Authenticator, FetchError> {
        if settings.enabled {
            self.oauth = Some(TokenVerifier::new(settings)?);
        }
        Ok(self)
    }

    /// Starts reading the OAuth key set, if tokens are accepted (needs a Tokio runtime).
    pub fn start_oauth(&self) {
        if let Some(verifier) = &self.oauth {
            verifier.start_key_refresh();
        }
    }

    /// Whether users can have SCRAM keys: only the users file stores them.
    /// The users file, when it is the directory (it may also hold per-user quota limits).
    pub fn users_file(&self) -> Option<std::sync::Arc<crate::auth::userdb::UserDb>> {
        match &self.directory {
            Directory::UsersFile(users) => Some(users.clone()),
            Directory::Ldap(_) => None,
        }
    }

    pub fn keeps_scram_keys(&self) -> bool {
        matches!(self.directory, Directory::UsersFile(_))
    }

    /// Whether OAUTHBEARER and XOAUTH2 are accepted.
    pub fn oauth_enabled(&self) -> bool {
        self.oauth.is_some()
    }

    /// Proof for a session that is authenticated by how it connected, not by a password:
    /// `roost imap --user NAME` (run by ssh for an already authenticated user) and listeners
    /// configured with `preauth_user` (a trusted local socket).
    ///
    /// # Errors
    /// [`AuthError::Failed`] when the user does not exist; [`AuthError::Unavailable`] when the
    /// users file cannot be read or the LDAP server does not answer.
    pub async fn preauthenticated(&self, username: &str) -> Result<LoginVerified, AuthError> {
        match self.exists(username).await {
            Ok(true) => Ok(LoginVerified {
                user: username.to_owned(),
            }),
            Ok(false) => Err(AuthError::Failed),
            Err(e) => Err(e),
        }
    }

    /// Whether the directory has `username`.
    async fn exists(&self, username: &str) -> Result<bool, AuthError> {
        match &self.directory {
            Directory::UsersFile(_) => Ok(self.lookup(username).await?.is_some()),
            Directory::Ldap(ldap) => ldap
                .exists(username)
                .await
                .map_err(|crate::auth::ldap::Unavailable(why)| AuthError::Unavailable(why)),
        }
    }

    /// Checks `username` and `password` for a client at `peer`.
    ///
    /// On failure this waits for the throttle delay before returning, so the caller can send
    /// `NO` as soon as it gets the error. Dropping the future at any point leaves the attempt
    /// counted as a failure.
    ///
    /// # Errors
    /// [`AuthError::Failed`] for an unknown user or a wrong password (the same error, after
    /// the same work); [`AuthError::Throttled`] when the throttle refused to check it;
    /// [`AuthError::Unavailable`] if the users file was never readable or the verification
    /// task died.
    pub async fn login(
        &self,
        username: &str,
        password: &[u8],
        peer: IpAddr,
    ) -> Result<LoginVerified, AuthError> {
        metrics::auth_attempt();
        // Debug formatting escapes control characters, so a hostile name cannot forge log
        // lines; the length cap keeps one login from writing a megabyte of log.
        let user = log_name(username);
        let attempt = self.admit(peer, username)?;
        let verified = match &self.directory {
            Directory::UsersFile(_) => self.verify_file(username, password, peer, &attempt).await,
            Directory::Ldap(ldap) => self.verify_ldap(ldap, username, password).await,
        };
        let matches = match verified {
            Ok(matches) => matches,
            Err(e) => {
                attempt.withdrawn();
                return Err(e);
            }
        };
        if matches {
            attempt.succeeded();
            tracing::info!(user = ?user, %peer, "login succeeded");
            Ok(LoginVerified {
                user: username.to_owned(),
            })
        } else {
            // The name is logged so admins can see attacks; the password never is.
            Err(failed(attempt, user, peer, "login failed").await)
        }
    }
    /// Whether `password` is `username`'s in the users file (`false` for an unknown user,
    /// after the same work).
    async fn verify_file(
        &self,
        username: &str,
        password: &[u8],
        peer: IpAddr,
        attempt: &Admitted<'_>,
    ) -> Result<bool, AuthError> {
        let stored = self.lookup(username).await?;
        let matches = self
            .check(username, stored.as_deref(), password, peer, attempt)
            .await?;
        Ok(stored.is_some() && matches)
    }

    /// Whether `password` is `username`'s in LDAP: from the cache, or by a bind.
    async fn verify_ldap(
        &self,
        ldap: &LdapDirectory,
        username: &str,
        password: &[u8],
    ) -> Result<bool, AuthError> {
        if self.cache.contains(username, ldap.cache_key(), password) {
            metrics::auth_cache(true);
            return Ok(true);
        }
        metrics::auth_cache(false);
        match ldap.verify(username, password).await {
            Ok(true) => {
                self.cache.insert(username, ldap.cache_key(), password);
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(crate::auth::ldap::Unavailable(reason)) => {
                tracing::error!(%reason, "login refused: LDAP directory unavailable");
                Err(AuthError::Unavailable(reason))
            }
        }
    }

    /// The stored SCRAM-SHA-256 keys of `username`, or, for an unknown user or one without
    /// stored keys (LDAP users have none), fake ones with `fake_iterations` that no proof
    /// matches (so the exchange looks the same either way). Reads the users file on a
    /// blocking thread.
    ///
    /// # Errors
    /// [`AuthError::Unavailable`] as for [`Authenticator::login`].
    pub async fn scram_keys(
        &self,
        username: &str,
        fake_iterations: u32,
    ) -> Result<ScramKeys, AuthError> {
        let name = username.to_owned();
        let stored = match self.directory {
            Directory::UsersFile(_) => self.read(move |users| users.lookup_scram(&name)).await?,
            Directory::Ldap(_) => None,
        };
        Ok(stored
            .as_deref()
            .and_then(ScramKeys::parse)
            .unwrap_or_else(|| ScramKeys::fake(username, fake_iterations)))
    }

    /// A login checked by `check` (a SCRAM proof: cheap, so no argon2 queue), through the
    /// same throttle as [`Authenticator::login`]: refused before `check` runs when over
    /// budget, counted as a failure when `check` returns `None`.
    ///
    /// # Errors
    /// [`AuthError::Failed`] or [`AuthError::Throttled`].
    pub async fn verify_with<T>(
        &self,
        username: &str,
        peer: IpAddr,
        check: impl FnOnce() -> Option<T>,
    ) -> Result<(LoginVerified, T), AuthError> {
        metrics::auth_attempt();
        let attempt = self.admit(peer, username)?;
        match check() {
            Some(checked) => {
                attempt.succeeded();
                tracing::info!(user = ?log_name(username), %peer, "login succeeded");
                let proof = LoginVerified {
                    user: username.to_owned(),
                };
                Ok((proof, checked))
            }
            None => Err(failed(attempt, log_name(username), peer, "login failed").await),
        }
    }

    /// Checks a bearer token for a client at `peer`, like [`Authenticator::login`]: the
    /// throttle is charged first (under the user name the client claims, if any), a refused
    /// token waits for the throttle delay, and the token's user must exist in the directory.
    ///
    /// # Errors
    /// [`AuthError::Failed`] for any refused token (the reason goes to the log and to
    /// `roost_auth_token_failures_total`); [`AuthError::Throttled`];
    /// [`AuthError::Unavailable`] when the key set or the users file cannot be read.
    pub async fn login_bearer(
        &self,
        credentials: &BearerCredentials,
        peer: IpAddr,
    ) -> Result<LoginVerified, AuthError> {
        metrics::auth_attempt();
        let claimed = credentials.user.as_deref().unwrap_or("");
        let attempt = self.admit(peer, claimed)?;
        let mechanism = credentials.mechanism.name();
        let user = match &self.oauth {
            Some(verifier) => verifier.user(credentials.token.expose()).await,
            None => Err(TokenError::Malformed),
        };
        // The authzid (or XOAUTH2's user) may only repeat the token's user: no proxying.
        let user = user.and_then(|user| match &credentials.user {
            Some(claimed) if *claimed != user => Err(TokenError::UserMismatch),
            _ => Ok(user),
        });
        let user = match user {
            Ok(user) => user,
            Err(TokenError::KeysUnavailable(why)) => {
                attempt.withdrawn();
                tracing::error!(reason = %why, "token login refused: OAuth keys unavailable");
                return Err(AuthError::Unavailable(why));
            }
            Err(refused) => {
                metrics::auth_token_failed(refused.label());
                let reason = refused.to_string();
                tracing::info!(mechanism, %reason, "token refused");
                return Err(failed(attempt, log_name(claimed), peer, "token login failed").await);
            }
        };
        match self.exists(&user).await {
            Ok(true) => {
                attempt.succeeded();
                tracing::info!(user = ?log_name(&user), %peer, mechanism, "login succeeded");
                Ok(LoginVerified { user })
            }
            Ok(false) => {
                metrics::auth_token_failed(TokenError::UnknownUser.label());
                Err(failed(
                    attempt,
                    log_name(&user),
                    peer,
                    "token login failed: no such user",
                )
                .await)
            }
            Err(e) => {
                attempt.withdrawn();
                Err(e)
            }
        }
    }

    /// Charges an attempt to the throttle, or refuses it.
    fn admit(&self, peer: IpAddr, username: &str) -> Result<Admitted<'_>, AuthError> {
        self.throttle.admit(peer, username).map_err(|refused| {
            metrics::auth_refused(refused);
            let retry_after_s = refused.retry_after().as_secs();
            let user = log_name(username);
            tracing::info!(user = ?user, %peer, retry_after_s, "login refused: too many failures");
            AuthError::Throttled(refused)
        })
    }

    /// The stored hash of `username`, read on a blocking thread.
    async fn lookup(&self, username: &str) -> Result<Option<String>, AuthError> {
        let name = username.to_owned();
        self.read(move |users| users.lookup(&name)).await
    }

    /// Runs `f` over the users file on a blocking thread (it may touch the disk); `None`
    /// with an LDAP directory.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&UserDb) -> Result<Option<T>, Unavailable> + Send + 'static,
    ) -> Result<Option<T>, AuthError> {
        let Directory::UsersFile(users) = &self.directory else {
            return Ok(None);
        };
        let users = Arc::clone(users);
        match tokio::task::spawn_blocking(move || f(&users)).await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(Unavailable(reason))) => {
                tracing::error!(%reason, "login refused: users database unavailable");
                Err(AuthError::Unavailable(reason))
            }
            Err(join) => Err(task_failed(&join)),
        }
    }

    /// Whether `password` matches `stored`: from the cache, or by one argon2 verification
    /// (against the dummy hash for an unknown user, whose answer is then thrown away). A
    /// verified match goes into the cache; a cache hit does not renew its entry, so the TTL
    /// counts from the last argon2 verification.
    async fn check(
        &self,
        username: &str,
        stored: Option<&str>,
        password: &[u8],
        peer: IpAddr,
        attempt: &Admitted<'_>,
    ) -> Result<bool, AuthError> {
        if let Some(phc) = stored {
            if self.cache.contains(username, phc, password) {
                metrics::auth_cache(true);
                return Ok(true);
            }
        }
        metrics::auth_cache(false);
        let lane = match attempt.standing() {
            Standing::Trusted => Lane::Trusted,
            Standing::Clean => Lane::Clean,
            Standing::Suspect => Lane::Shared,
        };
        let slot = self.queue.acquire(peer, lane).await;
        metrics::auth_verification();
        let phc = stored.unwrap_or(DUMMY_HASH).to_owned();
        let secret = Secret::new(password.to_vec());
        #[cfg(test)]
        let runs = Arc::clone(&self.verifications);
        // The slot moves into the task: if the client hangs up meanwhile, the hash still
        // finishes, and the slot stays taken until it does.
        let verified = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            #[cfg(test)]
            let before = password::ARGON2_RUNS.with(std::cell::Cell::get);
            let matches = password::verify_password(&phc, secret.expose());
            #[cfg(test)]
            runs.fetch_add(
                password::ARGON2_RUNS.with(std::cell::Cell::get) - before,
                std::sync::atomic::Ordering::Relaxed,
            );
            matches
        })
        .await;
        let verified = verified.map_err(|join| task_failed(&join))?;
        if let (true, Some(phc)) = (verified, stored) {
            self.cache.insert(username, phc, password);
        }
        Ok(verified)
    }

    #[cfg(test)]
    fn argon2_runs(&self) -> usize {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Keeps a failed attempt's throttle charge and answers after its delay.
async fn failed(attempt: Admitted<'_>, user: &str, peer: IpAddr, what: &'static str) -> AuthError {
    let delay = attempt.failed();
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(user = ?user, %peer, delay_ms, "{what}");
    tokio::time::sleep(delay).await;
    AuthError::Failed
}

fn task_failed(join: &tokio::task::JoinError) -> AuthError {
    tracing::error!(error = %join, "password verification task failed");
    AuthError::Unavailable("password verification failed".into())
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
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

    fn no_delay() -> ThrottlePolicy {
        ThrottlePolicy {
            base_delay_ms: 0,
            max_delay_ms: 0,
            ..ThrottlePolicy::default()
        }
    }

    fn no_cache() -> CachePolicy {
        CachePolicy {
            size: 0,
            ttl: Duration::ZERO,
        }
    }

    fn write_users(path: &std::path::Path, password: &[u8]) {
        let mut file = UsersFile::default();
        file.add("alice", password::hash_password(password))
            .unwrap();
        file.save(path).unwrap();
    }

    /// A users file with `alice` / `wonderland` (re-read on every lookup), and an
    /// authenticator over it.
    fn setup_with(
        throttle: ThrottlePolicy,
        cache: CachePolicy,
    ) -> (tempfile::TempDir, Authenticator) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        write_users(&path, b"wonderland");
        let db = Arc::new(UserDb::with_check_interval(path, Duration::ZERO));
        (
            dir,
            Authenticator::with_db(db, AuthPolicy { throttle, cache }),
        )
    }

    fn setup(throttle: ThrottlePolicy) -> (tempfile::TempDir, Authenticator) {
        setup_with(throttle, no_cache())
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

    #[tokio::test]
    async fn attempts_over_the_budget_are_refused_without_hashing() {
        let (_dir, auth) = setup(ThrottlePolicy {
            max_failures: 2,
            ..no_delay()
        });
        auth.login("alice", b"x", PEER).await.unwrap_err();
        auth.login("bob", b"y", PEER).await.unwrap_err();
        for password in [&b"z"[..], b"wonderland"] {
            assert!(matches!(
                auth.login("alice", password, PEER).await,
                Err(AuthError::Throttled(Refused::Address { .. }))
            ));
        }
        assert_eq!(auth.argon2_runs(), 2);
        // Alice, from an address with no failures, still gets in.
        auth.login("alice", b"wonderland", OTHER).await.unwrap();
    }

    #[tokio::test]
    async fn an_attempt_abandoned_while_it_waits_counts_as_a_failure() {
        let (_dir, auth) = setup(ThrottlePolicy {
            max_failures: 1,
            ..no_delay()
        });
        // Hang up before the verification can finish.
        let abandoned =
            tokio::time::timeout(Duration::ZERO, auth.login("alice", b"guess", PEER)).await;
        assert!(abandoned.is_err());
        assert!(matches!(
            auth.login("alice", b"guess2", PEER).await,
            Err(AuthError::Throttled(_))
        ));
    }

    #[tokio::test]
    async fn a_cached_success_skips_argon2_until_the_password_changes() {
        let (dir, auth) = setup_with(
            no_delay(),
            CachePolicy {
                size: 100,
                ttl: Duration::from_secs(3600),
            },
        );
        auth.login("alice", b"wonderland", PEER).await.unwrap();
        auth.login("alice", b"wonderland", PEER).await.unwrap();
        assert_eq!(
            auth.argon2_runs(),
            1,
            "the second login came from the cache"
        );
        // A wrong password is never a cache hit.
        auth.login("alice", b"wonderlan", PEER).await.unwrap_err();
        assert_eq!(auth.argon2_runs(), 2);
        write_users(&dir.path().join("users"), b"looking-glass");
        assert_eq!(
            auth.login("alice", b"wonderland", PEER).await,
            Err(AuthError::Failed)
        );
        auth.login("alice", b"looking-glass", PEER).await.unwrap();
        assert_eq!(auth.argon2_runs(), 4);
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
        // A success is answered at once.
        let start = Instant::now();
        auth.login("alice", b"wonderland", PEER).await.unwrap();
        assert!(start.elapsed() < Duration::from_millis(300));
    }

    #[test]
    fn logged_names_are_capped_on_a_char_boundary() {
        assert_eq!(log_name("alice"), "alice");
        let long = "é".repeat(100);
        assert_eq!(log_name(&long), "é".repeat(64));
    }

    #[tokio::test]
    async fn missing_users_file_is_unavailable_and_costs_no_budget() {
        let dir = tempfile::tempdir().unwrap();
        let policy = AuthPolicy {
            throttle: ThrottlePolicy {
                max_failures: 1,
                ..no_delay()
            },
            cache: no_cache(),
        };
        let auth = Authenticator::new(dir.path().join("missing"), policy);
        for _ in 0..3 {
            assert!(matches!(
                auth.login("alice", b"pw", PEER).await,
                Err(AuthError::Unavailable(_))
            ));
        }
    }

    #[tokio::test]
    async fn a_scram_proof_goes_through_the_throttle_like_a_password() {
        let (_dir, auth) = setup(ThrottlePolicy {
            max_failures: 1,
            ..no_delay()
        });
        let failed = auth.verify_with("alice", PEER, || None::<()>).await;
        assert_eq!(failed.unwrap_err(), AuthError::Failed);
        // Over budget: refused before the proof is even looked at.
        let mut checked = false;
        let refused = auth
            .verify_with("alice", PEER, || {
                checked = true;
                Some(())
            })
            .await;
        assert!(matches!(refused, Err(AuthError::Throttled(_))));
        assert!(!checked);
        let (proof, value) = auth.verify_with("alice", OTHER, || Some(7)).await.unwrap();
        assert_eq!((proof.user(), value), ("alice", 7));
        assert_eq!(auth.argon2_runs(), 0);
    }

    #[tokio::test]
    async fn users_without_scram_keys_get_the_same_fake_salt_each_time() {
        let (_dir, auth) = setup(no_delay());
        // `write_users` stores no SCRAM keys for alice; nobody does not exist.
        for user in ["alice", "nobody"] {
            let a = auth.scram_keys(user, 4096).await.unwrap();
            let b = auth.scram_keys(user, 4096).await.unwrap();
            assert_eq!((a.salt.len(), a.iterations), (16, 4096));
            assert_eq!(a.salt, b.salt);
            assert_ne!(a.stored_key, b.stored_key, "fake keys match no proof");
        }
    }
}
