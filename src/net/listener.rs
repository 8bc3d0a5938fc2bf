//! Accept loops: one per configured listener, spreading connections over the arbiters.
//!
//! Limits are checked here, before any session exists: a refused connection gets a
//! `* BYE` greeting (RFC 9051 section 3, transition 3) and is closed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ArbiterHandle};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::conn::{Connection, HANDSHAKE_TIMEOUT};
use super::limiter::{Limiter, Permit, Refusal};
use super::stream::Stream;
use crate::config::{ListenerConfig, ListenerTls};
use crate::session::messages::{Outbox, ReadMode, Reply, Stage};
use crate::session::{ConnectionInfo, Session};
use crate::shared::Shared;
use crate::telemetry::metrics::{self, RefuseReason};

/// Everything an accept loop needs.
#[derive(Clone)]
pub struct Accepting {
    pub shared: Arc<Shared>,
    pub arbiters: Arc<Vec<ArbiterHandle>>,
    pub tls: TlsAcceptor,
    pub limiter: Arc<Limiter>,
    next_arbiter: Arc<AtomicUsize>,
}

impl Accepting {
    pub fn new(
        shared: Arc<Shared>,
        arbiters: Vec<ArbiterHandle>,
        tls: TlsAcceptor,
        limiter: Arc<Limiter>,
    ) -> Self {
        Accepting {
            shared,
            arbiters: Arc::new(arbiters),
            tls,
            limiter,
            next_arbiter: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn pick_arbiter(&self) -> &ArbiterHandle {
        let i = self.next_arbiter.fetch_add(1, Ordering::Relaxed) % self.arbiters.len();
        &self.arbiters[i]
    }
}

/// Accepts until `stop` turns true.
pub async fn accept_loop(
    listener: TcpListener,
    config: ListenerConfig,
    accepting: Accepting,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => {
                backoff = Duration::from_millis(10);
                a
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, listener = %config.address, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let refused = &accepting.shared.config.limits.refused_networks;
        if refused.iter().any(|net| net.contains(&peer.ip())) {
            tracing::info!(%peer, "connection from a refused network");
            metrics::connection_refused(RefuseReason::RefusedNetwork);
            refuse_now(
                tcp,
                config.tls,
                "Connections from your address are not accepted",
            );
            continue;
        }
        let permit = match accepting.limiter.try_acquire(peer.ip()) {
            Ok(p) => p,
            Err(refusal) => {
                tracing::info!(%peer, reason = refusal.text(), "connection refused");
                metrics::connection_refused(match refusal {
                    Refusal::ServerFull => RefuseReason::ServerFull,
                    Refusal::AddressFull => RefuseReason::AddressFull,
                    Refusal::AddressUnauthenticatedFull => RefuseReason::AddressUnauthenticatedFull,
                });
                refuse_now(tcp, config.tls, refusal.text());
                continue;
            }
        };
        let std = match tcp.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hand connection to a worker");
                continue;
            }
        };
        let (accepting2, config2) = (accepting.clone(), config.clone());
        accepting.pick_arbiter().spawn(async move {
            match TcpStream::from_std(std) {
                Ok(tcp) => serve(tcp, peer, permit, config2, accepting2).await,
                Err(e) => tracing::warn!(error = %e, "cannot register connection on worker"),
            }
        });
    }
    tracing::info!(listener = %config.address, "stopped accepting");
}

/// Closes a connection refused by a limit without spending anything on it: a flood of
/// connections must not cost a TLS handshake or a held descriptor each. A plain connection
/// gets the `* BYE reason` greeting (transition 3) if the socket takes it without waiting;
/// an implicit-TLS one is closed before the handshake, so its client sees a reset, not a reason.
fn refuse_now(tcp: TcpStream, kind: ListenerTls, reason: &str) {
    if kind != ListenerTls::Implicit {
        let _ = tcp.try_write(format!("* BYE {reason}\r\n").as_bytes());
    }
    drop(tcp);
}

/// Greets with `* BYE reason` and closes (transition 3), after the TLS handshake on an
/// implicit-TLS listener: for refusals a real client should understand (draining).
async fn refuse(tcp: TcpStream, kind: ListenerTls, tls: TlsAcceptor, reason: &'static str) {
    let line = format!("* BYE {reason}\r\n");
    let result = async {
        match kind {
            ListenerTls::Implicit => {
                let mut s = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await??;
                s.write_all(line.as_bytes()).await?;
                s.shutdown().await
            }
            ListenerTls::Starttls | ListenerTls::None => {
                let mut tcp = tcp;
                tcp.write_all(line.as_bytes()).await?;
                tcp.shutdown().await
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), result).await;
}

/// Runs one accepted connection on the current arbiter.
async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    permit: Permit,
    config: ListenerConfig,
    accepting: Accepting,
) {
    let shared = accepting.shared.clone();
    if shared.is_draining() {
        metrics::connection_refused(RefuseReason::Draining);
        // Boxed: its TLS handshake would otherwise size every connection's task.
        return Box::pin(refuse(
            tcp,
            config.tls,
            accepting.tls.clone(),
            "Server is shutting down, try another node",
        ))
        .await;
    }
    let stream = match config.tls {
        ListenerTls::Implicit => {
            // Boxed, and gone once done: the connection's task then holds only the session.
            let handshake = Box::pin(tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                accepting.tls.accept(tcp),
            ));
            match handshake.await {
                Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        ListenerTls::Starttls | ListenerTls::None => Stream::Plain(tcp),
    };
    let preauth = match &config.preauth_user {
        Some(user) => match Box::pin(shared.auth.preauthenticated(user)).await {
            Ok(proof) => Some(proof),
            Err(e) => {
                tracing::error!(user, error = %e, "pre-authenticated listener names an unknown user");
                return;
            }
        },
        None => None,
    };
    metrics::connection_accepted(match config.tls {
        ListenerTls::Starttls => "starttls",
        ListenerTls::Implicit => "implicit",
        ListenerTls::None => "none",
    });
    let info = ConnectionInfo {
        id: shared.next_session_id(),
        peer: Some(peer),
        tls: stream.is_tls(),
        tls_version: stream.tls_version(),
        channel_bindings: stream.channel_bindings(),
        starttls_available: config.tls == ListenerTls::Starttls,
        connected: tokio::time::Instant::now(),
    };
    let starttls = info.starttls_available.then(|| accepting.tls.clone());
    drop((config, accepting));
    run_session(stream, info, preauth, starttls, shared, Some(permit)).await;
}

/// Starts a Session actor on the current arbiter and runs its I/O task until it closes.
/// `permit` is the connection's slot in the listener's limits, if it has one; it is freed
/// when the connection ends.
pub async fn run_session(
    stream: Stream,
    info: ConnectionInfo,
    preauth: Option<crate::auth::LoginVerified>,
    starttls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    permit: Option<Permit>,
) {
    // Built before the await, so nothing used only to set up (the limits) is kept in the
    // connection's task while it runs.
    let (connection, first) = {
        let limits = &shared.config.limits;
        let stage = if preauth.is_some() {
            Stage::LoggedIn
        } else {
            Stage::LoggingIn
        };
        let mut first = Reply::waiting(ReadMode::Command, stage, limits, info.connected);
        first.login_disabled =
            stage == Stage::LoggingIn && !info.login_allowed(&shared.config.auth);
        let (outbox, queue) = Outbox::new();
        let session = Session::new(info, shared.clone(), outbox, preauth).start();
        let connection = Connection::new(stream, limits, session, queue, starttls, permit);
        (connection, first)
    };
    drop(shared);
    connection.run(first).await;
}
