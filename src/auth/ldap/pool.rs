//! A bounded pool of connections to the LDAP server.
//!
//! At most `pool_size` connections exist; a request waits (up to the request timeout) for
//! one. A connection remembers whom it is bound as, because binding is what both uses need:
//! a password check binds as the user, a search needs the service account. Rather than
//! rebinding after every user bind, the next search rebinds when the connection is not the
//! service account's any more. A connection that failed in any way is dropped, never reused.

use std::sync::{Arc, Mutex, MutexGuard};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::settings::LdapSettings;
use super::Unavailable;

/// Whom a connection is bound as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Nobody yet (a new connection), or an anonymous bind.
    Anonymous,
    /// The configured service account.
    Service,
    /// A user, after a password check.
    User,
}

#[derive(Debug)]
struct Conn {
    ldap: Ldap,
    bound: Bound,
}

/// The connections shared by all logins.
#[derive(Debug)]
pub struct Pool {
    settings: Arc<LdapSettings>,
    permits: Semaphore,
    /// A std mutex: held for a push or a pop, never across an `.await`.
    idle: Mutex<Vec<Conn>>,
}

/// One connection, taken from the pool until dropped.
#[derive(Debug)]
pub struct Lease<'a> {
    pool: &'a Pool,
    /// `None` once the connection is known to be broken: it is then not returned.
    conn: Option<Conn>,
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    pub fn new(settings: Arc<LdapSettings>) -> Pool {
        Pool {
            permits: Semaphore::new(settings.pool_size),
            settings,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection, or a new one.
    ///
    /// # Errors
    /// [`Unavailable`] when no connection frees up within the request timeout, or the server
    /// cannot be reached (TCP, TLS or StartTLS) within the connect timeout.
    pub async fn get(&self) -> Result<Lease<'_>, Unavailable> {
        let permit = tokio::time::timeout(self.settings.timeout, self.permits.acquire())
            .await
            .map_err(|_| Unavailable("every LDAP connection is busy".into()))?
            .map_err(|_| Unavailable("the LDAP pool is closed".into()))?;
        let reused = {
            let mut idle = self.lock();
            std::iter::from_fn(|| idle.pop()).find_map(|mut c| (!c.ldap.is_closed()).then_some(c))
        };
        let conn = match reused {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        Ok(Lease {
            pool: self,
            conn: Some(conn),
            _permit: permit,
        })
    }

    async fn connect(&self) -> Result<Conn, Unavailable> {
        let s = &self.settings;
        let mut options = LdapConnSettings::new()
            .set_conn_timeout(s.connect_timeout)
            .set_starttls(s.starttls);
        if let Some(tls) = &s.tls {
            options = options.set_config(Arc::clone(tls));
        }
        let (conn, ldap) = LdapConnAsync::with_settings(options, &s.url)
            .await
            .map_err(|e| Unavailable(format!("cannot connect to {}: {e}", s.url)))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection closed");
            }
        });
        Ok(Conn {
            ldap,
            bound: Bound::Anonymous,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Conn>> {
        // Pushes and pops leave the vector consistent whatever panics.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }
}

impl Lease<'_> {
    /// The connection, with the request timeout set for its next operation.
    ///
    /// # Errors
    /// [`Unavailable`] after [`Lease::discard`].
    pub fn ldap(&mut self) -> Result<&mut Ldap, Unavailable> {
        let timeout = self.pool.settings.timeout;
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Unavailable("the LDAP connection was closed".into()))?;
        conn.ldap.with_timeout(timeout);
        Ok(&mut conn.ldap)
    }

    pub fn pool_settings(&self) -> &LdapSettings {
        &self.pool.settings
    }

    pub fn bound(&self) -> Bound {
        self.conn.as_ref().map_or(Bound::Anonymous, |c| c.bound)
    }

    pub fn set_bound(&mut self, bound: Bound) {
        if let Some(conn) = &mut self.conn {
            conn.bound = bound;
        }
    }

    /// Marks the connection broken: it is closed instead of going back to the pool.
    pub fn discard(&mut self) {
        self.conn = None;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.lock().push(conn);
        }
    }
}
