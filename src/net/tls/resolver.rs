//! Loading the PEM pair, checking the key against the certificate, and swapping in a new
//! pair when the files change.

use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{Error as RustlsError, InconsistentKeys};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::task::JoinHandle;

use super::watch::{self, Reload, Watched};
use super::{provider, TlsError, TlsFiles};

/// Serves the current certificate to rustls and reloads it when its files change.
///
/// The pair sits behind a std `RwLock`: rustls asks for it once per handshake and only
/// clones an `Arc` under the read lock, and a swap happens at most once per poll, so the
/// lock is never contended long enough to justify an extra dependency such as arc-swap.
/// The lock is never held across a call that can panic, so poisoning cannot occur; it is
/// nonetheless tolerated rather than unwrapped.
pub struct CertResolver {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    /// The two files and what they looked like at the last load attempt.
    watched: Watched,
}

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl CertResolver {
    /// Reads and checks the pair named by `files`.
    ///
    /// # Errors
    ///
    /// Any [`TlsError`] that names a file: unreadable, not PEM, no certificate, no key,
    /// unusable key or certificate, or a key that does not match the certificate.
    pub fn load(files: &TlsFiles) -> Result<Arc<CertResolver>, TlsError> {
        let watched = Watched::new(vec![files.cert.clone(), files.key.clone()]);
        let key = load_pair(files)?;
        publish_end_point(&key);
        Ok(Arc::new(CertResolver {
            files: files.clone(),
            current: RwLock::new(Arc::new(key)),
            watched,
        }))
    }

    /// Re-reads the files if either one's identity, size or modification time changed
    /// since the last attempt, and swaps the new pair in for future handshakes.
    ///
    /// The paths are stat'ed afresh each time (following symlinks), so a symlink swapped
    /// to point at new files, as the kubelet does for Secret volumes, counts as a change.
    ///
    /// Returns `Ok(true)` if a new pair was swapped in and `Ok(false)` if nothing changed
    /// since the last attempt, including a failed one.
    ///
    /// # Errors
    ///
    /// As [`CertResolver::load`]. On error the previous pair stays in service; the caller
    /// should log the error.
    pub fn reload(&self) -> Result<bool, TlsError> {
        self.watched.reload_if_changed(|| {
            let key = load_pair(&self.files)?;
            publish_end_point(&key);
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
            Ok(())
        })
    }

    /// Starts a task that calls [`CertResolver::reload`] every `every` (at least 10 ms)
    /// and logs the outcome: `info` when a new certificate is in use, `error` when the
    /// files changed but could not be used.
    ///
    /// The task holds only a weak reference, so it ends by itself once the resolver (and
    /// every server configuration using it) is dropped; abort the returned handle to stop
    /// it sooner.
    ///
    /// # Panics
    ///
    /// Like `tokio::spawn`, if called outside a Tokio runtime.
    pub fn spawn_reloader(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        watch::spawn_reloader(self, every)
    }

    /// The pair new handshakes get.
    pub(super) fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Reload for CertResolver {
    type Error = TlsError;
    const WHAT: &'static str = "TLS certificate";

    fn reload(&self) -> Result<bool, TlsError> {
        CertResolver::reload(self)
    }

    fn watched(&self) -> &Watched {
        &self.watched
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Tells SCRAM's `tls-server-end-point` binding which certificate new handshakes get.
fn publish_end_point(key: &CertifiedKey) {
    if let Some(leaf) = key.cert.first() {
        crate::net::channel_binding::publish_server_certificate(leaf);
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Every `CERTIFICATE` block in `path`, in order; other blocks are skipped, so a file
/// holding both the chain and the key works.
pub(crate) fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key block in `path`, whatever its kind.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    match PrivateKeyDer::pem_slice_iter(&pem).next() {
        Some(Ok(key)) => Ok(key),
        Some(Err(source)) => Err(TlsError::Pem {
            path: path.to_path_buf(),
            source,
        }),
        None => Err(TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        }),
    }
}

/// Reads both files and checks that the key belongs to the leaf certificate, so a pair
/// caught half-rotated (new certificate, old key) is refused rather than served: rustls
/// would otherwise fail every handshake with it.
pub(crate) fn load_pair(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let chain = read_certs(&files.cert)?;
    let key = read_key(&files.key)?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|source| TlsError::BadKey {
            path: files.key.clone(),
            source,
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // `Unknown` means the key type cannot report its public key; rustls's own
        // `CertifiedKey::from_der` accepts that too. Ring keys always can.
        Ok(()) | Err(RustlsError::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(RustlsError::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::KeyMismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            })
        }
        // Anything else comes from parsing the leaf certificate.
        Err(source) => Err(TlsError::BadCertificate {
            path: files.cert.clone(),
            source,
        }),
    }
}
