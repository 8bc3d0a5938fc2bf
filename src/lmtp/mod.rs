//! Mail delivery over LMTP (RFC 2033): an MTA such as Postfix hands each incoming message
//! to Roost, which stores every recipient's copy through that account's single writer (its
//! owner node in a cluster) and answers each recipient once its copy is durable.
//!
//! - `command.rs`: command lines; `reply.rs`: replies with enhanced status codes.
//! - `session.rs`: the dialogue, PIPELINING, DATA and BDAT.
//! - `recipient.rs`: address → user (`+detail`, domains); `deliver.rs`: the append;
//!   `dedupe.rs`: a retried message is not delivered twice.

mod command;
mod dedupe;
mod deliver;
mod recipient;
mod reply;
mod session;
mod spool;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::shared::Shared;

/// Message octets all LMTP deliveries of a node may hold in memory at once (messages are
/// received into spool files and read back only to be stored); a delivery that would go past
/// it waits.
const MEMORY_BUDGET: usize = 256 << 20;

/// What every LMTP connection of a node shares.
pub struct Lmtp {
    shared: Arc<Shared>,
    dedupe: dedupe::Dedupe,
    max_message_size: u64,
    memory: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    /// Where messages wait while they are received (`<data_dir>/tmp/lmtp`).
    spool_dir: PathBuf,
}

impl Lmtp {
    pub fn new(shared: Arc<Shared>) -> Arc<Lmtp> {
        let config = &shared.config.lmtp;
        let window = Duration::from_secs(config.duplicate_window_secs);
        let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let max_message_size = crate::mailbox::Options::default()
            .max_message_size
            .min(MEMORY_BUDGET) as u64;
        let spool_dir = shared.config.data_dir.join("tmp").join("lmtp");
        Arc::new(Lmtp {
            spool_dir,
            shared,
            dedupe: dedupe::Dedupe::new(window),
            max_message_size,
            memory: Arc::new(Semaphore::new(MEMORY_BUDGET)),
            connections,
        })
    }

    /// Room for `octets` more message octets, waiting while the node holds too many.
    async fn reserve(&self, octets: usize) -> OwnedSemaphorePermit {
        let n = u32::try_from(octets).unwrap_or(u32::MAX);
        self.memory
            .clone()
            .acquire_many_owned(n)
            .await
            .expect("the semaphore is never closed")
    }

    /// Runs one connection, or refuses it (`421`) when the node has too many.
    async fn connection<S>(self: Arc<Self>, mut stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let Ok(_slot) = self.connections.clone().try_acquire_owned() else {
            use tokio::io::AsyncWriteExt;
            let _ = stream
                .write_all(b"421 4.3.2 too many connections, try again later\r\n")
                .await;
            return;
        };
        session::serve(stream, self).await;
    }
}

/// Accepts LMTP connections on `listener` until `stop`.
pub async fn accept_tcp(listener: TcpListener, lmtp: Arc<Lmtp>, stop: watch::Receiver<bool>) {
    let listener = &listener;
    accept_loop(
        move || async move { listener.accept().await.map(|(s, _)| s) },
        lmtp,
        stop,
    )
    .await;
}

/// Accepts LMTP connections on the Unix socket until `stop`.
pub async fn accept_unix(listener: UnixListener, lmtp: Arc<Lmtp>, stop: watch::Receiver<bool>) {
    let listener = &listener;
    accept_loop(
        move || async move { listener.accept().await.map(|(s, _)| s) },
        lmtp,
        stop,
    )
    .await;
}

async fn accept_loop<S, F, A>(mut accept: F, lmtp: Arc<Lmtp>, mut stop: watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
    F: FnMut() -> A,
    A: std::future::Future<Output = std::io::Result<S>>,
{
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            accepted = accept() => accepted,
        };
        match accepted {
            Ok(stream) => {
                actix_rt::spawn(lmtp.clone().connection(stream));
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "LMTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Binds the LMTP Unix socket (replacing a stale file), mode 0660 so the MTA's group can
/// reach it.
///
/// # Errors
/// When the socket cannot be created.
pub fn bind_unix(path: &Path) -> Result<UnixListener, (PathBuf, std::io::Error)> {
    let fail = |e| (path.to_owned(), e);
    if path.exists() {
        std::fs::remove_file(path).map_err(fail)?;
    }
    let listener = UnixListener::bind(path).map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(fail)?;
    Ok(listener)
}
