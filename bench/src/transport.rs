//! How the load generator reaches a server: plain TCP (the default) or implicit TLS, from one
//! or several loopback source addresses. Many thousands of connections to one address and
//! port would exhaust the ephemeral ports of a single source address (about 28,000 on Linux),
//! so the idle scenario spreads them over `127.0.0.1`, `127.0.0.2`, ...

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::Context as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// One connection's byte stream.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Opens connections: plain or TLS, round-robin over the source addresses.
#[derive(Default)]
pub struct Connector {
    tls: Option<(TlsConnector, ServerName<'static>)>,
    sources: Vec<IpAddr>,
    next: AtomicUsize,
}

impl Connector {
    /// Implicit TLS, trusting the certificates in `ca_file` and expecting `name` in the
    /// server's certificate.
    ///
    /// # Errors
    /// When the file holds no usable certificate or `name` is not a valid server name.
    pub fn tls(ca_file: &Path, name: &str) -> anyhow::Result<Connector> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca_file)
            .with_context(|| format!("read {}", ca_file.display()))?
        {
            roots.add(cert.context("parse the CA file")?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(name.to_owned()).context("TLS server name")?;
        Ok(Connector {
            tls: Some((TlsConnector::from(Arc::new(config)), name)),
            ..Connector::default()
        })
    }

    /// Connects from `127.0.0.1` .. `127.0.0.n` in turn (n = 0 or 1: the kernel's choice).
    pub fn with_loopback_sources(mut self, n: u8) -> Connector {
        self.sources = (1..=n)
            .filter(|_| n > 1)
            .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
            .collect();
        self
    }

    /// Connects to `addr` (and completes the TLS handshake when TLS is on).
    ///
    /// # Errors
    /// When the address does not resolve, the connection or the handshake fails.
    pub async fn connect(&self, addr: &str) -> io::Result<Transport> {
        let tcp = match self.sources.as_slice() {
            [] => TcpStream::connect(addr).await?,
            sources => {
                let to: SocketAddr = tokio::net::lookup_host(addr)
                    .await?
                    .next()
                    .ok_or_else(|| io::Error::other(format!("{addr} does not resolve")))?;
                let from = sources[self.next.fetch_add(1, Ordering::Relaxed) % sources.len()];
                let socket = TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(from, 0))?;
                socket.connect(to).await?
            }
        };
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Transport::Plain(tcp)),
            Some((connector, name)) => Ok(Transport::Tls(Box::new(
                connector.connect(name.clone(), tcp).await?,
            ))),
        }
    }
}

/// Raises this process's open-file limit to at least `wanted` (the hard limit too, which
/// needs root; otherwise as far as the hard limit allows). Returns the soft limit now in force.
pub fn raise_fd_limit(wanted: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur >= wanted {
            return lim.rlim_cur;
        }
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: lim.rlim_max.max(wanted),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return wanted;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
