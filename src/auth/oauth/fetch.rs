//! Reads a JWK set from where `[auth.oauth]` says: a file, or an HTTPS URL fetched with
//! hyper over tokio-rustls (both already serve Roost; no second TLS stack or HTTP client).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use super::OAuthSettings;

/// A key set larger than this is refused (real ones are a few KiB).
const MAX_BODY: usize = 1024 * 1024;
/// How long one fetch may take, connection and TLS handshake included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a key set could not be read. The text names the source, never a token.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("auth.oauth.jwks_url: {0}")]
    Url(String),
    #[error("auth.oauth.jwks_ca_file {}: {reason}", path.display())]
    Ca { path: PathBuf, reason: String },
    #[error("fetching {url}: {reason}")]
    Http { url: String, reason: String },
    #[error("fetching {url}: no answer within {}s", TIMEOUT.as_secs())]
    Timeout { url: String },
}

/// Where the key set comes from.
#[derive(Clone)]
pub enum JwksSource {
    File(PathBuf),
    Https {
        url: String,
        uri: Uri,
        tls: Arc<rustls::ClientConfig>,
    },
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "File({})", path.display()),
            JwksSource::Https { url, .. } => write!(f, "Https({url})"),
        }
    }
}

impl JwksSource {
    /// The source `settings` name (validated: exactly one of file and URL).
    ///
    /// # Errors
    /// A URL that is not `https://host[:port]/path`, or a CA file without certificates.
    pub fn from_settings(settings: &OAuthSettings) -> Result<JwksSource, FetchError> {
        if let Some(path) = &settings.jwks_file {
            return Ok(JwksSource::File(path.clone()));
        }
        let url = settings.jwks_url.clone().unwrap_or_default();
        let uri: Uri = url.parse().map_err(|e| FetchError::Url(format!("{e}")))?;
        if uri.scheme_str() != Some("https") || uri.host().is_none() {
            return Err(FetchError::Url(
                "an https:// URL with a host is required".into(),
            ));
        }
        let tls = client_config(settings.jwks_ca_file.as_ref())?;
        Ok(JwksSource::Https { url, uri, tls })
    }

    /// The key set's bytes.
    ///
    /// # Errors
    /// The file cannot be read, or the server cannot be reached, does not answer `2xx` in
    /// time, or sends more than 1 MiB.
    pub async fn fetch(&self) -> Result<Bytes, FetchError> {
        match self {
            JwksSource::File(path) => {
                tokio::fs::read(path)
                    .await
                    .map(Bytes::from)
                    .map_err(|source| FetchError::Read {
                        path: path.clone(),
                        source,
                    })
            }
            JwksSource::Https { url, uri, tls } => {
                match tokio::time::timeout(TIMEOUT, get(uri, Arc::clone(tls))).await {
                    Ok(result) => result.map_err(|reason| FetchError::Http {
                        url: url.clone(),
                        reason,
                    }),
                    Err(_) => Err(FetchError::Timeout { url: url.clone() }),
                }
            }
        }
    }
}

/// The system's trust anchors plus those in `ca_file`; ring, TLS 1.2 and 1.3, ALPN http/1.1.
fn client_config(ca_file: Option<&PathBuf>) -> Result<Arc<rustls::ClientConfig>, FetchError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        let ca = |reason: String| FetchError::Ca {
            path: path.clone(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| ca(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca("no certificate in the file".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| ca(e.to_string()))?;
        }
    }
    let mut config = (*crate::net::tls::client_config(roots)
        .map_err(|e| FetchError::Url(e.to_string()))?)
    .clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One HTTP/1.1 `GET` over a fresh TLS connection; the body of a `2xx` answer.
async fn get(uri: &Uri, tls: Arc<rustls::ClientConfig>) -> Result<Bytes, String> {
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(443);
    // IPv6 literals keep their brackets in the URI, not in the TLS server name.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_owned()).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect((bare, port))
        .await
        .map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    // The connection task ends when `sender` is dropped or the server closes.
    tokio::spawn(connection);
    let authority = uri
        .authority()
        .map_or(host, hyper::http::uri::Authority::as_str);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("roost/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP status {}", response.status()));
    }
    Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|e| e.to_string())
}
