//! TLS server configuration: PEM certificate and key, reloaded when the files change.
//!
//! Roost serves one certificate chain for every connection (implicit TLS on port 993 and
//! STARTTLS alike). The chain and key come from two PEM files named in the configuration
//! ([`TlsFiles`]); when none are configured, [`load_or_generate`] creates a self-signed pair
//! under the data directory so a fresh install can speak TLS at once.
//!
//! [`CertResolver`] hands rustls the current pair for each handshake and swaps in a new one
//! when the files change, which is how cert-manager rotates certificates on Kubernetes: it
//! rewrites a Secret, the kubelet swaps a symlink, and [`CertResolver::spawn_reloader`]
//! notices on its next poll. Connections already established keep the certificate they
//! were opened with; only new handshakes see the new one.
//!
//! Only the `ring` crypto provider is used, always passed explicitly, so no process-wide
//! default provider has to be installed and `aws-lc-rs` is never pulled in.
//!
//! Layout: `generate.rs` makes the self-signed pair, `resolver.rs` loads and checks the
//! files, `watch.rs` notices when files change and reloads (also used by the node link's
//! mutual TLS), and this file builds the rustls configurations.

mod generate;
mod resolver;
#[cfg(test)]
mod tests;
mod watch;

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::ring;
use rustls::ServerConfig;
use serde::{Deserialize, Serialize};

pub use generate::load_or_generate;
pub use resolver::CertResolver;
pub(crate) use resolver::{load_pair, read_certs};
pub(crate) use watch::{spawn_reloader, Reload, Watched};

/// The ALPN protocol ID for IMAP, as listed in IANA's TLS ALPN Protocol IDs registry (RFC 7301).
///
/// Advertising it means a client that offers ALPN but not `imap` (a browser offering
/// only `h2`, say) is refused during the handshake, which closes the cross-protocol
/// ALPACA attacks where a TLS connection meant for another service lands here.
/// Clients that offer no ALPN at all, which is most IMAP clients, are unaffected.
pub const ALPN_IMAP: &[u8] = b"imap";

/// The certificate chain and private key files, as named in the `[tls]` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM file holding the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM file holding the private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
}

/// Why the TLS files could not be used. Each variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read, or its metadata could not be read.
    #[error("cannot read TLS file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file is not well-formed PEM.
    #[error("TLS file {path} is not valid PEM: {source}")]
    Pem {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    #[error("no CERTIFICATE block in {path}; expected a PEM certificate chain, leaf first")]
    NoCertificate { path: PathBuf },
    /// The key file holds no private key block.
    #[error(
        "no private key block in {path}; expected a PEM PRIVATE KEY (PKCS#8), \
         RSA PRIVATE KEY or EC PRIVATE KEY"
    )]
    NoPrivateKey { path: PathBuf },
    /// The key file holds a key rustls cannot use (unsupported algorithm or bad encoding).
    #[error("private key in {path} is not usable: {source}")]
    BadKey {
        path: PathBuf,
        source: rustls::Error,
    },
    /// The certificate is not a parseable X.509 certificate.
    #[error("certificate in {path} is not usable: {source}")]
    BadCertificate {
        path: PathBuf,
        source: rustls::Error,
    },
    /// The private key does not belong to the leaf certificate.
    #[error("private key in {key} does not match the certificate in {cert}")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    /// Only one of the generated pair exists in the data directory.
    #[error(
        "found {present} but not {missing}; restore {missing}, or remove {present} \
         to have a new self-signed pair generated"
    )]
    Incomplete { present: PathBuf, missing: PathBuf },
    /// A generated file or its directory could not be written.
    #[error("cannot write TLS file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// rcgen failed to generate the self-signed certificate.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration itself (not tied to a file).
    #[error("cannot build the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The ring provider, the only one Roost builds with.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// TLS 1.3 first, then 1.2 for older clients (some mail clients still lack 1.3).
const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Builds the server configuration: TLS 1.2 and 1.3, ring, ALPN `imap`, no client
/// certificates, and the certificate taken from `resolver` at each handshake.
///
/// # Errors
///
/// [`TlsError::Rustls`] if rustls rejects the protocol versions for the provider; with
/// the ring provider this does not happen, but it is reported rather than assumed.
pub fn server_config(resolver: Arc<CertResolver>) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![ALPN_IMAP.to_vec()];
    Ok(Arc::new(config))
}

/// A Tokio acceptor over [`server_config`], shared by the implicit-TLS listener and
/// STARTTLS. It is cheap to clone.
///
/// # Errors
///
/// As [`server_config`].
pub fn acceptor(resolver: Arc<CertResolver>) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    Ok(tokio_rustls::TlsAcceptor::from(server_config(resolver)?))
}

/// A client configuration that trusts exactly the certificates in `cert_pem_path`: for tests
/// that connect to a Roost server with real certificate verification, and for `roost import
/// imap --ca-file`.
///
/// Point it at the generated `cert.pem` (a self-signed certificate is its own trust
/// anchor), or at a bundle holding several.
///
/// # Errors
///
/// [`TlsError::Read`], [`TlsError::Pem`] or [`TlsError::NoCertificate`] if the file does
/// not hold certificates; [`TlsError::BadCertificate`] if one cannot be a trust anchor.
pub fn client_config_trusting(
    cert_pem_path: &std::path::Path,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in resolver::read_certs(cert_pem_path)? {
        roots.add(cert).map_err(|source| TlsError::BadCertificate {
            path: cert_pem_path.to_path_buf(),
            source,
        })?;
    }
    client_config(roots)
}

/// A client configuration trusting `roots`: the ring provider, TLS 1.2 and 1.3, and ALPN
/// `imap` as a well-behaved IMAP client offers it.
///
/// # Errors
///
/// [`TlsError::Rustls`] if rustls rejects the protocol versions (not with ring).
pub fn client_config(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_IMAP.to_vec()];
    Ok(Arc::new(config))
}
