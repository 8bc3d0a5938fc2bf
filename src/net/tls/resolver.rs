//! Loading the PEM pair, checking the key against the certificate, and swapping in a new
//! pair when the files change.

use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{Error as RustlsError, InconsistentKeys};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{provider, TlsError, TlsFiles};

/// The shortest polling period [`CertResolver::spawn_reloader`] accepts; shorter values
/// (including zero, which `tokio::time::interval` would panic on) are raised to it.
const MIN_RELOAD_PERIOD: Duration = Duration::from_millis(10);

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
    /// What the files looked like at the last load attempt, successful or not. Comparing
    /// against the last *attempt* (not the last success) means a broken pair is reported
    /// once, not on every poll, and is retried as soon as either file changes again.
    /// The mutex also keeps two reloads from interleaving.
    seen: Mutex<PairStamp>,
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
        // Stat before reading: if a file changes between the two, the next reload sees
        // a newer stamp than the one recorded here and reads it again.
        let stamp = PairStamp::of(files);
        let key = load_pair(files)?;
        Ok(Arc::new(CertResolver {
            files: files.clone(),
            current: RwLock::new(Arc::new(key)),
            seen: Mutex::new(stamp),
        }))
    }

    /// Re-reads the files if either one's identity, size or modification time changed
    /// since the last attempt, and swaps the new pair in for future handshakes.
    ///
    /// The paths are stat'ed afresh each time (following symlinks), so a symlink swapped
    /// to point at new files, as the kubelet does for Secret volumes, counts as a change.
    ///
    /// Returns `Ok(true)` if a new pair was swapped in and `Ok(false)` if nothing changed
    /// since the last attempt, including a failed one (see `seen`).
    ///
    /// # Errors
    ///
    /// As [`CertResolver::load`]. On error the previous pair stays in service; the caller
    /// should log the error.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = PairStamp::of(&self.files);
        if stamp == *seen {
            return Ok(false);
        }
        *seen = stamp;
        let key = load_pair(&self.files)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(true)
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
        let weak: Weak<CertResolver> = Arc::downgrade(self);
        let mut ticks = tokio::time::interval(every.max(MIN_RELOAD_PERIOD));
        // After a stall, poll once rather than in a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::spawn(async move {
            // The first tick fires at once, and the files were loaded just now.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(resolver) = weak.upgrade() else {
                    return;
                };
                let files = resolver.files.clone();
                // stat and read are blocking file I/O; keep them off the async workers.
                match tokio::task::spawn_blocking(move || resolver.reload()).await {
                    Ok(Ok(true)) => tracing::info!(
                        cert = %files.cert.display(),
                        key = %files.key.display(),
                        "TLS certificate files changed; new connections use the new certificate"
                    ),
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => tracing::error!(
                        %error,
                        "TLS certificate files changed but cannot be used; \
                         still serving the previous certificate"
                    ),
                    Err(error) => tracing::error!(
                        %error,
                        "TLS certificate reload task failed; still serving the previous certificate"
                    ),
                }
            }
        })
    }

    /// The pair new handshakes get.
    pub(super) fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Identity, size and modification time of one file, read through symlinks; `None` when
/// the path cannot be stat'ed (missing, or mid-swap), which is itself a state to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    /// Device and inode: a symlink swapped to a new file changes these even if the new
    /// file has the same size and a modification time within the filesystem's resolution.
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let meta = fs::metadata(path).ok()?;
        Some(FileStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PairStamp {
    cert: Option<FileStamp>,
    key: Option<FileStamp>,
}

impl PairStamp {
    fn of(files: &TlsFiles) -> PairStamp {
        PairStamp {
            cert: FileStamp::of(&files.cert),
            key: FileStamp::of(&files.key),
        }
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
pub(super) fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
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
fn load_pair(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
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
