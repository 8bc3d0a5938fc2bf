//! An LDAP server as the user directory: passwords are checked by binding as the user.
//!
//! Two modes ([`Mode`]): a direct bind as the DN a template makes of the name, or a search
//! with a service account for the user's entry followed by a bind as the DN found. Names are
//! escaped into DNs and filters ([`query`]), so no name can widen a search or pick another
//! entry. An empty password is refused before any bind: LDAP treats a bind with a DN and no
//! password as an unauthenticated bind that "succeeds" (RFC 4513 section 5.1.2).
//!
//! The server being unreachable, slow or busy is [`Unavailable`], never a wrong password, so
//! the authenticator answers `NO [UNAVAILABLE]` and charges no failure to the client.
//!
//! Modules: [`settings`] (the loaded `[auth.ldap]` table), [`pool`] (bounded connections),
//! [`query`] (escaping).

pub mod pool;
pub mod query;
pub mod settings;

use std::sync::Arc;

use ldap3::Scope;

use pool::{Bound, Lease, Pool};
pub use settings::{LdapSettings, Mode};

/// Result codes (RFC 4511 appendix A.1).
const RC_SUCCESS: u32 = 0;
/// "No" to a lookup by DN: no such entry (32), or a DN the name made invalid (34).
const RC_NOT_FOUND: [u32; 2] = [32, 34];
/// The server cannot answer now, rather than "no": busy (51), unavailable (52), other (80).
const RC_UNAVAILABLE: [u32; 3] = [51, 52, 80];

/// The LDAP server cannot be used now; the text is for the log (it holds no password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LDAP directory unavailable: {0}")]
pub struct Unavailable(pub String);

/// The LDAP user directory shared by all sessions.
#[derive(Debug)]
pub struct LdapDirectory {
    pool: Pool,
    /// Stands in for the stored hash in the login cache (see [`LdapDirectory::cache_key`]).
    cache_key: String,
}

impl LdapDirectory {
    pub fn new(settings: LdapSettings) -> LdapDirectory {
        let cache_key = format!("ldap:{}", settings.url);
        LdapDirectory {
            pool: Pool::new(Arc::new(settings)),
            cache_key,
        }
    }

    /// What the login cache keys a success on in place of a stored hash. The password hash
    /// in LDAP cannot be read (and should not be), so a cached login stays valid until the
    /// cache's TTL runs out, even if the password changed in LDAP meanwhile.
    pub fn cache_key(&self) -> &str {
        &self.cache_key
    }

    /// Whether `password` is `user`'s password: `Ok(false)` for an unknown user, a wrong or
    /// empty password.
    ///
    /// # Errors
    /// [`Unavailable`] when the server cannot be reached or does not answer in time.
    pub async fn verify(&self, user: &str, password: &[u8]) -> Result<bool, Unavailable> {
        // A DN with no password is an anonymous bind that succeeds: refuse it here. A password
        // that is not UTF-8 cannot be an LDAP simple-bind password either.
        let Ok(password) = std::str::from_utf8(password) else {
            return Ok(false);
        };
        // An empty name could make an empty DN: an anonymous bind again, or an error.
        if password.is_empty() || user.is_empty() {
            return Ok(false);
        }
        let mut lease = self.pool.get().await?;
        let dn = match &self.pool.settings().mode {
            Mode::Direct { template } => query::user_dn(template, user),
            Mode::Search { base, filter } => {
                match find_user(&mut lease, base, &query::user_filter(filter, user)).await? {
                    Some(dn) => dn,
                    None => return Ok(false),
                }
            }
        };
        bind(&mut lease, &dn, password, Bound::User).await
    }

    /// Whether `user` exists, for logins that need no password (LMTP recipients,
    /// `preauth_user`, `roost imap --user`): in search mode the search that finds exactly one
    /// entry, in direct mode a read of the DN the template makes (as the service account when
    /// one is set, else anonymously).
    ///
    /// # Errors
    /// [`Unavailable`] as for [`LdapDirectory::verify`].
    pub async fn exists(&self, user: &str) -> Result<bool, Unavailable> {
        if user.is_empty() {
            return Ok(false);
        }
        let mut lease = self.pool.get().await?;
        match &self.pool.settings().mode {
            Mode::Search { base, filter } => {
                let filter = query::user_filter(filter, user);
                Ok(find_user(&mut lease, base, &filter).await?.is_some())
            }
            Mode::Direct { template } => {
                let dn = query::user_dn(template, user);
                as_service(&mut lease).await?;
                let result = lease
                    .ldap()?
                    .search(&dn, Scope::Base, "(objectClass=*)", ["1.1"])
                    .await;
                match result {
                    Ok(found) if found.1.rc == RC_SUCCESS => Ok(found.0.len() == 1),
                    Ok(found) if RC_NOT_FOUND.contains(&found.1.rc) => Ok(false),
                    Ok(found) => Err(Unavailable(format!(
                        "looking up {dn:?} failed: {}",
                        found.1
                    ))),
                    Err(e) => Err(broken(&mut lease, e)),
                }
            }
        }
    }
}

/// The DN of the one entry `filter` matches under `base`, searched as the service account.
/// No entry, or more than one (the filter does not identify users), is `None`.
async fn find_user(
    lease: &mut Lease<'_>,
    base: &str,
    filter: &str,
) -> Result<Option<String>, Unavailable> {
    as_service(lease).await?;
    let result = match lease
        .ldap()?
        .search(base, Scope::Subtree, filter, ["1.1"])
        .await
    {
        Ok(result) => result,
        Err(e) => return Err(broken(lease, e)),
    };
    let (entries, _) = result
        .success()
        .map_err(|e| Unavailable(format!("searching {base:?} failed: {e}")))?;
    match entries.len() {
        1 => entries
            .into_iter()
            .next()
            .and_then(entry_dn)
            .map(Some)
            .ok_or_else(|| Unavailable("the LDAP server sent a malformed search entry".into())),
        0 => Ok(None),
        n => {
            tracing::warn!(
                base,
                filter,
                entries = n,
                "auth.ldap.filter matches several entries; login refused"
            );
            Ok(None)
        }
    }
}

/// The DN of a search result entry (RFC 4511 section 4.5.2: `objectName`, the first element of
/// `SearchResultEntry`, application tag 4). `SearchEntry::construct` would panic on a malformed
/// entry; this reads only the DN and gives `None` instead.
fn entry_dn(entry: ldap3::ResultEntry) -> Option<String> {
    let mut parts = entry.0.match_id(4)?.expect_constructed()?.into_iter();
    String::from_utf8(parts.next()?.expect_primitive()?).ok()
}

/// Binds the connection as the service account, unless it already is. Without a service
/// account a connection left bound as a user is rebound anonymously.
async fn as_service(lease: &mut Lease<'_>) -> Result<(), Unavailable> {
    let service = lease.pool_settings().service.clone();
    match (service, lease.bound()) {
        (Some(_), Bound::Service) | (None, Bound::Anonymous) => Ok(()),
        (Some(account), _) => {
            let ok = bind(
                lease,
                &account.dn,
                account.password.expose(),
                Bound::Service,
            )
            .await?;
            if ok {
                Ok(())
            } else {
                Err(Unavailable(
                    "the service account (auth.ldap.bind_dn) cannot bind: check \
                     auth.ldap.bind_password_file"
                        .into(),
                ))
            }
        }
        (None, _) => bind(lease, "", "", Bound::Anonymous).await.and_then(|ok| {
            ok.then_some(())
                .ok_or_else(|| Unavailable("the LDAP server refuses anonymous binds".into()))
        }),
    }
}

/// A simple bind; `Ok(false)` when the server says no (wrong password, no such DN, account
/// locked). Until it succeeds the connection counts as bound as a user, so a bind cut short
/// (the client hung up) leaves a connection the next search rebinds.
async fn bind(
    lease: &mut Lease<'_>,
    dn: &str,
    password: &str,
    as_whom: Bound,
) -> Result<bool, Unavailable> {
    lease.set_bound(Bound::User);
    let result = match lease.ldap()?.simple_bind(dn, password).await {
        Ok(result) => result,
        Err(e) => return Err(broken(lease, e)),
    };
    match result.rc {
        RC_SUCCESS => {
            lease.set_bound(as_whom);
            Ok(true)
        }
        rc if RC_UNAVAILABLE.contains(&rc) => {
            lease.discard();
            Err(Unavailable(format!("bind refused: {result}")))
        }
        rc => {
            tracing::debug!(rc, "LDAP bind refused");
            Ok(false)
        }
    }
}

/// A request that failed below LDAP (connection lost, timeout): the connection is dropped.
fn broken(lease: &mut Lease<'_>, e: ldap3::LdapError) -> Unavailable {
    lease.discard();
    Unavailable(e.to_string())
}
