//! Wiring of a running node: listeners, arbiters, supervisor, signals and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Arbiter};
use tokio::net::{TcpListener, UnixStream};
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::config::{Config, DirectoryKind, ListenerConfig, ListenerTls, Protocol};
use crate::control::socket::{ControlError, ControlSocket};
use crate::control::tunnel::{self, Route, TunnelError};
use crate::control::{DataDirLock, Holder, LockError};
use crate::net::http;
use crate::net::limiter::Limiter;
use crate::net::listener::{accept_loop, run_session, Accepting};
use crate::net::stream::Stream;
use crate::net::tls;
use crate::preflight::{self, DataDirProblem};
use crate::session::ConnectionInfo;
use crate::shared::Shared;
use crate::supervisor::{BeginShutdown, Supervisor};
use crate::telemetry;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("data directory {} (setting `data_dir`, flag `--data-dir`): {problem}", path.display())]
    DataDir {
        path: std::path::PathBuf,
        problem: DataDirProblem,
    },
    #[error(
        "{address} is configured twice: for {} and for {}; {}",
        first.service, second.service, second.remedy
    )]
    SameAddress {
        address: std::net::SocketAddr,
        first: ListenRole,
        second: ListenRole,
    },
    #[error("cannot listen on {address} for {}: {source}; {}", role.service, role.remedy)]
    Bind {
        address: std::net::SocketAddr,
        role: ListenRole,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("users: {0}")]
    Users(String),
    #[error("{0}")]
    Auth(#[from] crate::auth::authenticator::SetupError),
    #[error("cluster: {0}")]
    Cluster(#[from] crate::cluster::node::JoinError),
    #[error("signal handling: {0}")]
    Signal(std::io::Error),
    #[error("metrics: {0}")]
    Metrics(metrics_exporter_prometheus::BuildError),
    #[error("{0}")]
    Lock(#[from] LockError),
    #[error("{0}")]
    Control(#[from] ControlError),
    #[error("{0}")]
    Tunnel(#[from] TunnelError),
    #[error("cannot create the LMTP socket {path} (setting `lmtp.socket`): {source}")]
    LmtpSocket {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("stdout: {0}")]
    Stdout(std::io::Error),
    #[error("cannot create a socket pair for the in-process session: {0}")]
    SessionSocket(std::io::Error),
}

/// Creates the data directory if needed and proves it can be written (see
/// [`preflight::check_data_dir`]).
fn create_data_dir(config: &Config) -> Result<(), ServeError> {
    let fail = |problem| preflight::data_dir_error(&config.data_dir, problem);
    std::fs::create_dir_all(&config.data_dir).map_err(|e| fail(DataDirProblem::Create(e)))?;
    preflight::check_data_dir(&config.data_dir)
}

/// What a listening socket is for and which settings move it, for "address in use" errors.
#[derive(Debug, Clone, Copy)]
pub struct ListenRole {
    pub service: &'static str,
    pub remedy: &'static str,
}

impl ListenRole {
    pub const HTTP: ListenRole = ListenRole {
        service: "the HTTP endpoint (metrics, /healthz, /readyz)",
        remedy: "move it with `http.listen` (flag `--http-listen`, ROOST_HTTP_LISTEN) or turn \
                 it off with `http.enabled = false`",
    };

    pub const LINK: ListenRole = ListenRole {
        service: "node links",
        remedy: "move it with `cluster.link_listen` (flag `--link-listen`, ROOST_LINK_LISTEN)",
    };

    pub fn of(listener: &ListenerConfig) -> ListenRole {
        let remedy = match (listener.protocol, listener.tls) {
            (Protocol::Lmtp, _) => {
                "move it with the `address` of its `[[listeners]]` entry (flag `--lmtp-listen`, \
                 ROOST_LMTP_LISTEN)"
            }
            (Protocol::Imap, ListenerTls::Starttls) => {
                "move it with the `address` of its `[[listeners]]` entry (flag `--imap-listen`, \
                 ROOST_IMAP_LISTEN)"
            }
            (Protocol::Imap, ListenerTls::Implicit) => {
                "move it with the `address` of its `[[listeners]]` entry (flag `--imaps-listen`, \
                 ROOST_IMAPS_LISTEN)"
            }
            (Protocol::Imap, ListenerTls::None) => {
                "move it with the `address` of its `[[listeners]]` entry"
            }
        };
        let service = match (listener.protocol, listener.tls) {
            (Protocol::Lmtp, _) => "LMTP",
            (Protocol::Imap, ListenerTls::Starttls) => "IMAP (STARTTLS)",
            (Protocol::Imap, ListenerTls::Implicit) => "IMAPS (implicit TLS)",
            (Protocol::Imap, ListenerTls::None) => "IMAP (plain)",
        };
        ListenRole { service, remedy }
    }
}

/// A node alone (no Redis) is the only writer of its data directory: it holds the lock for
/// as long as it runs. Clustered nodes share the directory and are kept apart by leases.
fn lock_if_alone(config: &Config, holder: Holder) -> Result<Option<DataDirLock>, ServeError> {
    if config.cluster.redis_url.is_some() {
        return Ok(None);
    }
    Ok(Some(DataDirLock::acquire(&config.data_dir, holder)?))
}

/// Creates user `demo` when no user exists yet (`auth.create_demo_user`). Called once every
/// socket is bound, so the password is printed only by a start that works, and last.
fn create_demo_user(config: &Config) {
    if !config.auth.create_demo_user || config.auth.directory != DirectoryKind::File {
        return;
    }
    let users_file = config.users_file();
    if let Some(password) = crate::auth::ensure_demo_user(&users_file) {
        let shown = std::path::absolute(&users_file).unwrap_or(users_file);
        // Printed once, on the terminal of whoever started the server for the first time.
        eprintln!(
            "roost: created user 'demo' with password '{password}' in {} \
             (change it with `roost user passwd demo`)",
            shown.display()
        );
    }
}

/// Runs a node until SIGTERM or SIGINT, then drains and returns.
///
/// # Errors
/// When the data directory, users file, certificate or a listening socket cannot be set up.
pub fn serve(config: Config) -> Result<(), ServeError> {
    preflight::check(&config)?;
    create_data_dir(&config)?;
    let _lock = lock_if_alone(&config, Holder::Serve)?;
    // The users file is read at the first login, after the demo user may have been added.
    let auth = Authenticator::from_config(&config)?;
    let tls_files = tls::load_or_generate(config.tls.files.as_ref(), &config.data_dir)?;
    let system = actix_rt::System::new();
    system.block_on(async move {
        let resolver = tls::CertResolver::load(&tls_files)?;
        resolver.spawn_reloader(Duration::from_secs(config.tls.reload_interval_secs.max(1)));
        let acceptor = tls::acceptor(resolver)?;

        // The HTTP endpoint binds first: probes can answer (not ready) while the rest starts.
        let http = if config.http.enabled {
            let metrics = telemetry::metrics::install().map_err(ServeError::Metrics)?;
            let socket = bind(config.http.listen, ListenRole::HTTP).await?;
            let address = socket.local_addr().unwrap_or(config.http.listen);
            tracing::info!(%address, service = "http", "listening");
            Some((socket, metrics))
        } else {
            None
        };
        let mut listeners = Vec::new();
        for l in &config.listeners {
            let socket = bind(l.address, ListenRole::of(l)).await?;
            let address = socket.local_addr().unwrap_or(l.address);
            tracing::info!(%address, tls = ?l.tls, preauth = l.preauth_user.is_some(), protocol = ?l.protocol, "listening");
            listeners.push((socket, l.clone()));
        }
        let lmtp_socket = match &config.lmtp.socket {
            Some(path) => {
                let socket = crate::lmtp::bind_unix(path).map_err(|(path, source)| {
                    ServeError::LmtpSocket { path, source }
                })?;
                tracing::info!(path = %path.display(), "LMTP socket listening");
                Some(socket)
            }
            None => None,
        };
        let control = ControlSocket::bind(&config.control_socket()).await?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arbiters: Vec<Arbiter> = (0..workers).map(|_| Arbiter::new()).collect();
        let supervisor = Supervisor::new().start();
        let limiter = Limiter::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
            config.limits.max_unauthenticated_per_ip,
        );
        let drain_timeout = config.limits.drain_timeout();
        let shared = Arc::new(Shared::new(config, auth, supervisor.clone()));
        shared.auth.start_oauth();
        let accepting = Accepting::new(
            shared.clone(),
            arbiters.iter().map(Arbiter::handle).collect(),
            acceptor,
            limiter,
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let joined = crate::cluster::node::join(
            &shared.config,
            &shared.registry,
            supervisor.clone(),
            stop_rx.clone(),
        )
        .await
        .map_err(ServeError::Cluster)?;
        if let Some((socket, metrics)) = http {
            actix_rt::spawn(http::serve(
                socket,
                metrics,
                shared.clone(),
                stop_rx.clone(),
            ));
        }
        actix_rt::spawn(control.serve(shared.clone(), stop_rx.clone()));
        let lmtp = crate::lmtp::Lmtp::new(shared.clone());
        for (socket, l) in listeners {
            match l.protocol {
                Protocol::Imap => {
                    actix_rt::spawn(accept_loop(socket, l, accepting.clone(), stop_rx.clone()));
                }
                Protocol::Lmtp => {
                    actix_rt::spawn(crate::lmtp::accept_tcp(socket, lmtp.clone(), stop_rx.clone()));
                }
            }
        }
        if let Some(socket) = lmtp_socket {
            actix_rt::spawn(crate::lmtp::accept_unix(socket, lmtp, stop_rx.clone()));
        }
        create_demo_user(&shared.config);
        shared.begin_accepting();
        tracing::info!(node = %shared.config.node_id, workers, "roost is ready");

        wait_for_signal().await.map_err(ServeError::Signal)?;
        tracing::info!("signal received: draining");
        // Listeners stay open while draining: a client that connects now is greeted with
        // `* BYE` and reconnects elsewhere, instead of finding the port closed.
        shared.begin_draining();
        let left = supervisor
            .send(BeginShutdown {
                timeout: drain_timeout,
            })
            .await
            .unwrap_or(0);
        if left > 0 {
            tracing::warn!(
                sessions = left,
                "drain timeout passed; closing the remaining sessions"
            );
        } else {
            tracing::info!("all sessions closed");
        }
        // Hand the accounts this node owns to whichever node needs them next: their
        // sessions elsewhere get `[CLOSED]` and reattach.
        shared
            .registry
            .release_all("The node serving this mailbox is shutting down")
            .await;
        if let Some(joined) = joined {
            joined.directory.deregister().await;
        }
        let _ = stop_tx.send(true);
        for a in &arbiters {
            a.stop();
        }
        Ok(())
    })
}

async fn bind(address: std::net::SocketAddr, role: ListenRole) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind {
            address,
            role,
            source,
        })
}

async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// `roost imap --user NAME`: one pre-authenticated session over stdin and stdout, as run by
/// mutt's or mbsync's `Tunnel` over ssh. The session goes through the data directory's one
/// writer: the node running on this host, or this process once it holds the lock (then it
/// serves later `roost imap`s too, and exits when the last of their sessions ends).
///
/// # Errors
/// When the user does not exist, or no writer can be found or become one.
pub fn serve_stdio(config: Config, user: &str) -> Result<(), ServeError> {
    with_writer(config, user, |writer| async move {
        match writer {
            Writer::Node(stream) => tunnel::pipe(stream).await.map_err(ServeError::Stdout),
            Writer::Local(local) => {
                let stdio = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
                local.session(Stream::Stdio(stdio)).await;
                local.finish().await;
                Ok(())
            }
        }
    })
}

/// Runs `client` on a pre-authenticated IMAP session with `user`'s writer, found as
/// [`serve_stdio`] finds it: for programs that speak IMAP to the account themselves
/// (`roost import`). `client` gets one end of the session's socket; the session ends when
/// the client logs out or drops its end.
///
/// # Errors
/// As [`serve_stdio`]; what `client` returns is passed through as `Ok`.
pub fn with_writer_session<T, F, Fut>(
    config: Config,
    user: &str,
    client: F,
) -> Result<T, ServeError>
where
    F: FnOnce(UnixStream) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    with_writer(config, user, |writer| async move {
        match writer {
            Writer::Node(stream) => Ok(client(stream).await),
            Writer::Local(local) => {
                let (ours, theirs) = UnixStream::pair().map_err(ServeError::SessionSocket)?;
                let (_, result) = tokio::join!(local.session(Stream::Unix(theirs)), client(ours));
                local.finish().await;
                Ok(result)
            }
        }
    })
}

/// Finds `user`'s writer and runs `work` with it in an actix system (sessions are actors),
/// creating the data directory first when this process may become its writer (no cluster).
fn with_writer<T, Fut>(
    config: Config,
    user: &str,
    work: impl FnOnce(Writer) -> Fut,
) -> Result<T, ServeError>
where
    Fut: std::future::Future<Output = Result<T, ServeError>>,
{
    if config.cluster.redis_url.is_none() {
        create_data_dir(&config)?;
    }
    actix_rt::System::new().block_on(async move { work(find_writer(config, user).await?).await })
}

/// How long `roost imap` waits for a writer that holds the lock but does not answer yet.
const HANDOVER_WAIT: Duration = Duration::from_secs(10);

/// The data directory's writer, as a local process reaches it.
enum Writer {
    /// A running node (or another `roost imap`) accepted a session for the user.
    Node(UnixStream),
    /// Nobody serves the data directory: this process does, while it holds the lock.
    Local(LocalWriter),
}

async fn find_writer(config: Config, user: &str) -> Result<Writer, ServeError> {
    let lock_dir = config
        .cluster
        .redis_url
        .is_none()
        .then_some(config.data_dir.as_path());
    match tunnel::route(&config.control_socket(), user, lock_dir, HANDOVER_WAIT).await? {
        Route::Through(stream) => Ok(Writer::Node(stream)),
        Route::Alone(lock) => Ok(Writer::Local(LocalWriter::start(config, user, lock).await?)),
    }
}

/// This process as the data directory's writer: it holds the lock and serves the control
/// socket, so other `roost imap`s go through it while it runs.
struct LocalWriter {
    shared: Arc<Shared>,
    proof: crate::auth::LoginVerified,
    stop: watch::Sender<bool>,
    others: actix_rt::task::JoinHandle<()>,
    _lock: DataDirLock,
}

impl LocalWriter {
    async fn start(config: Config, user: &str, lock: DataDirLock) -> Result<Self, ServeError> {
        let auth = Authenticator::from_config(&config)?;
        let proof = auth
            .preauthenticated(user)
            .await
            .map_err(|e| ServeError::Users(format!("{user}: {e}")))?;
        let control = ControlSocket::bind(&config.control_socket()).await?;
        let supervisor = Supervisor::new().start();
        let shared = Arc::new(Shared::new(config, auth, supervisor));
        let (stop, stop_rx) = watch::channel(false);
        let others = actix_rt::spawn(control.serve(shared.clone(), stop_rx));
        Ok(LocalWriter {
            shared,
            proof,
            stop,
            others,
            _lock: lock,
        })
    }

    /// Runs the user's pre-authenticated session on `stream` until it ends.
    async fn session(&self, stream: Stream) {
        let info = ConnectionInfo::local(self.shared.next_session_id());
        run_session(
            stream,
            info,
            Some(self.proof.clone()),
            None,
            self.shared.clone(),
            None,
        )
        .await;
    }

    /// Sessions handed over by other `roost imap`s finish before the lock is let go.
    async fn finish(self) {
        let _ = self.stop.send(true);
        let _ = self.others.await;
    }
}
