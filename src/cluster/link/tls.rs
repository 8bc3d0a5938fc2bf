//! Mutual TLS for node links: the node's certificate and key, the cluster CA, and the rustls
//! configurations built from them, rebuilt when the files change.
//!
//! Both ends present a certificate signed by the cluster CA and verify the other's against it:
//! the listener requires a client certificate ([`WebPkiClientVerifier`]); the dialer checks the
//! listener's chain and that it is valid for the host part of the address it dialed. A valid
//! chain only says "a node of this cluster"; *which* node is checked after the `Hello` by
//! [`identity`](super::identity).
//!
//! Every node certificate therefore serves both roles: its extended key usages, if any, must
//! include both `serverAuth` and `clientAuth`. [`LinkTls::load`] checks this node's own
//! certificate the way its peers will (chain, both usages, the node id and the advertised
//! host as names), so a certificate the cluster would refuse is reported at start, naming the
//! file, instead of as refused connections later.
//!
//! TLS 1.3 only (both ends are Roost), ring provider only. The three files are reloaded
//! together when any of them changes (polled like the IMAP certificate, `net::tls::watch`);
//! connections already open keep the configuration they were opened with.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{VerifierBuilderError, WebPkiClientVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{ServerName, UnixTime};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::identity;
use crate::net::tls::{self as net_tls, Reload, TlsError, TlsFiles, Watched};

#[cfg(test)]
mod tests;

/// `[cluster.link_tls]`: this node's certificate and key, and the cluster CA.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTlsConfig {
    /// PEM certificate chain of this node, leaf first. Its DNS names must include the node id,
    /// and its names the host of the advertised address.
    pub cert: PathBuf,
    /// PEM private key of that certificate.
    pub key: PathBuf,
    /// PEM certificate(s) of the cluster CA that signs every node's certificate.
    pub ca: PathBuf,
    /// How often the three files are checked for changes.
    #[serde(default = "default_reload_interval_secs")]
    pub reload_interval_secs: u64,
}

fn default_reload_interval_secs() -> u64 {
    30
}

/// Why the link's TLS files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkTlsError {
    /// A file is unreadable, not PEM, or holds no usable certificate or key.
    #[error(transparent)]
    Files(#[from] TlsError),
    #[error("the cluster CA in {path} cannot verify node certificates: {source}")]
    Ca {
        path: PathBuf,
        source: VerifierBuilderError,
    },
    /// This node's own certificate would be refused by its peers.
    #[error(
        "the node link certificate in {cert} would be refused by the other nodes as {role}: \
         {reason}"
    )]
    Refused {
        cert: PathBuf,
        /// "a listener for <host>" or "a client for node <id>".
        role: String,
        reason: String,
    },
    #[error("cannot build the node link TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The names this node's certificate must be valid for.
#[derive(Debug, Clone)]
struct OwnNames {
    /// The node id, checked by every listener this node connects to.
    node: ServerName<'static>,
    /// The host part of the advertised address, checked by every node that dials this one.
    advertised: ServerName<'static>,
}

/// The current client and server configurations, and the files they come from.
pub struct LinkTls {
    config: LinkTlsConfig,
    names: OwnNames,
    current: RwLock<Configs>,
    watched: Watched,
}

#[derive(Clone)]
struct Configs {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

impl std::fmt::Debug for LinkTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkTls")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LinkTls {
    /// Reads the files and checks this node's certificate as its peers will: signed by the CA,
    /// usable by a listener and a client, valid for `node` (the id announced in `Hello`) and
    /// for the host part of `advertised_address` (what other nodes dial).
    ///
    /// # Errors
    /// A [`LinkTlsError`] naming the file involved; a node id or host no certificate could
    /// carry is `Refused` too.
    pub fn load(
        config: &LinkTlsConfig,
        node: &str,
        advertised_address: &str,
    ) -> Result<Arc<LinkTls>, LinkTlsError> {
        let names = OwnNames {
            node: identity::node_name(node)
                .map_err(|e| new_refused(config, format!("a client for node {node}"), e))?,
            advertised: identity::host_name(advertised_address).map_err(|e| {
                new_refused(config, format!("a listener at {advertised_address}"), e)
            })?,
        };
        let watched = Watched::new(vec![
            config.cert.clone(),
            config.key.clone(),
            config.ca.clone(),
        ]);
        let current = build(config, &names)?;
        Ok(Arc::new(LinkTls {
            config: config.clone(),
            names,
            current: RwLock::new(current),
            watched,
        }))
    }

    /// Rebuilds the configurations if any of the three files changed since the last attempt.
    /// `Ok(true)` when new connections now use the new files.
    ///
    /// # Errors
    /// As [`LinkTls::load`]; the previous configuration stays in use.
    pub fn reload(&self) -> Result<bool, LinkTlsError> {
        self.watched.reload_if_changed(|| {
            let configs = build(&self.config, &self.names)?;
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = configs;
            Ok(())
        })
    }

    /// Polls the files every `reload_interval_secs` (see [`LinkTls::reload`]) until this value
    /// is dropped, logging each reload or failure.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn_reloader(self: &Arc<Self>) -> JoinHandle<()> {
        let every = Duration::from_secs(self.config.reload_interval_secs);
        net_tls::spawn_reloader(self, every)
    }

    /// Accepts with the current server configuration.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.configs().server)
    }

    /// Connects with the current client configuration.
    pub fn connector(&self) -> TlsConnector {
        TlsConnector::from(self.configs().client)
    }

    fn configs(&self) -> Configs {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Reload for LinkTls {
    type Error = LinkTlsError;
    const WHAT: &'static str = "node link TLS";

    fn reload(&self) -> Result<bool, LinkTlsError> {
        LinkTls::reload(self)
    }

    fn watched(&self) -> &Watched {
        &self.watched
    }
}

/// TLS 1.3 only: both ends are Roost.
const VERSIONS: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// Reads the three files and builds both configurations, after checking this node's own
/// certificate against the verifiers its peers use.
fn build(config: &LinkTlsConfig, names: &OwnNames) -> Result<Configs, LinkTlsError> {
    let files = TlsFiles {
        cert: config.cert.clone(),
        key: config.key.clone(),
    };
    let key = Arc::new(net_tls::load_pair(&files)?);
    let roots = Arc::new(root_store(&config.ca)?);
    let provider = net_tls::provider();
    let ca_error = |source| LinkTlsError::Ca {
        path: config.ca.clone(),
        source,
    };
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(ca_error)?;
    // What dialers run (the client configuration below builds the same), to check our own
    // certificate with.
    let server_verifier =
        WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(ca_error)?;
    check_own(config, names, &key, &*client_verifier, &*server_verifier)?;

    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(VERSIONS)?
        .with_client_cert_verifier(client_verifier)
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(key.clone())));
    let client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(VERSIONS)?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
    Ok(Configs {
        server: Arc::new(server),
        client: Arc::new(client),
    })
}

/// Every certificate in the CA file, as trust anchors.
fn root_store(ca: &std::path::Path) -> Result<RootCertStore, LinkTlsError> {
    let mut roots = RootCertStore::empty();
    for cert in net_tls::read_certs(ca)? {
        roots.add(cert).map_err(|source| TlsError::BadCertificate {
            path: ca.to_path_buf(),
            source,
        })?;
    }
    Ok(roots)
}

/// Verifies this node's certificate with the verifiers its peers run: as a client presenting
/// it for node id `names.node`, and as a listener dialed at `names.advertised`.
fn check_own(
    config: &LinkTlsConfig,
    names: &OwnNames,
    key: &CertifiedKey,
    as_client: &dyn ClientCertVerifier,
    as_listener: &dyn ServerCertVerifier,
) -> Result<(), LinkTlsError> {
    let (leaf, intermediates) = key
        .cert
        .split_first()
        .expect("load_pair refuses a file without certificates");
    let now = UnixTime::now();
    let client_role = format!("a client for node {}", names.node.to_str());
    as_client
        .verify_client_cert(leaf, intermediates, now)
        .map_err(|e| new_refused(config, client_role.clone(), e))?;
    identity::check_name(leaf, &names.node).map_err(|e| new_refused(config, client_role, e))?;
    let listener_role = format!("a listener for {}", names.advertised.to_str());
    as_listener
        .verify_server_cert(leaf, intermediates, &names.advertised, &[], now)
        .map_err(|e| new_refused(config, listener_role, e))?;
    Ok(())
}

fn new_refused(
    config: &LinkTlsConfig,
    role: String,
    reason: impl std::fmt::Display,
) -> LinkTlsError {
    LinkTlsError::Refused {
        cert: config.cert.clone(),
        role,
        reason: reason.to_string(),
    }
}
