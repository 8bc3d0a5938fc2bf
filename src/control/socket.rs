//! The node's side of the control socket: takes `roost imap` sessions from local processes.
//!
//! A connection says `IMAP <user>\n`; the node answers `OK\n` and runs a pre-authenticated
//! session for that user over the socket, or `ERR <reason>\n` and closes. Only processes of
//! the same Unix user as the node (or root) are served: the socket file is 0600 in a 0700
//! directory, and the peer's credentials are checked as well.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::net::listener::run_session;
use crate::net::stream::Stream;
use crate::session::ConnectionInfo;
use crate::shared::Shared;

/// The longest request line (`IMAP ` and a user name).
const MAX_REQUEST: usize = 1024;
/// How long a connecting process may take to name its user.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "another roost process already serves the control socket {0}: a node with the same \
         node_id runs on this host (give each node its own node_id or control_socket)"
    )]
    InUse(PathBuf),
    #[error("cannot create the control socket {path} (setting `control_socket`): {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The bound socket; its file is removed when this is dropped.
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl ControlSocket {
    /// Binds `path`, replacing a stale socket file that no process answers on.
    ///
    /// # Errors
    /// [`ControlError::InUse`] when a live process serves `path`; `Bind` for I/O failures
    /// (including a path longer than a Unix socket address allows).
    pub async fn bind(path: &Path) -> Result<ControlSocket, ControlError> {
        let bind_error = |source| ControlError::Bind {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(bind_error)?;
        }
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(ControlError::InUse(path.to_owned()));
            }
            // Left by a process that died: nobody answers on it.
            std::fs::remove_file(path).map_err(bind_error)?;
        }
        let listener = UnixListener::bind(path).map_err(bind_error)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(bind_error)?;
        Ok(ControlSocket {
            listener,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves sessions until `stop` turns true and, after that, until the last session it
    /// started has ended (a `roost imap` that serves others stays until they are done).
    pub async fn serve(self, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
        let (active_tx, mut active) = watch::channel(0usize);
        let active_tx = Arc::new(active_tx);
        loop {
            if *stop.borrow() && *active.borrow() == 0 {
                return;
            }
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        active_tx.send_modify(|n| *n += 1);
                        let (shared, done) = (shared.clone(), active_tx.clone());
                        actix_rt::spawn(async move {
                            handle(stream, shared).await;
                            done.send_modify(|n| *n -= 1);
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                changed = stop.changed() => if changed.is_err() {
                    return;
                },
                _ = active.changed() => {}
            }
        }
    }
}

/// Whether the connecting process may act for users of this node.
fn same_user(stream: &UnixStream) -> bool {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    stream
        .peer_cred()
        .is_ok_and(|cred| cred.uid() == me || cred.uid() == 0)
}

async fn handle(mut stream: UnixStream, shared: Arc<Shared>) {
    if !same_user(&stream) {
        tracing::warn!("control socket: refused a process of another Unix user");
        let _ = refuse(&mut stream, "not allowed: another Unix user").await;
        return;
    }
    let Ok(Some(line)) = tokio::time::timeout(REQUEST_TIMEOUT, request_line(&mut stream))
        .await
        .unwrap_or(Ok(None))
    else {
        return;
    };
    let text = String::from_utf8_lossy(&line);
    let Some(user) = text.trim_end().strip_prefix("IMAP ") else {
        let _ = refuse(&mut stream, "expected IMAP <user>").await;
        return;
    };
    let proof = match shared.auth.preauthenticated(user).await {
        Ok(proof) => proof,
        Err(e) => {
            let _ = refuse(&mut stream, &format!("{user}: {e}")).await;
            return;
        }
    };
    if stream.write_all(b"OK\n").await.is_err() {
        return;
    }
    tracing::info!(user = %proof.user(), "control socket: session handed over by roost imap");
    let info = ConnectionInfo::local(shared.next_session_id());
    // The request line was read byte by byte: the session's first byte is still unread.
    run_session(Stream::Unix(stream), info, Some(proof), None, shared, None).await;
}

async fn refuse(stream: &mut UnixStream, reason: &str) -> std::io::Result<()> {
    let reason = reason.replace(['\r', '\n'], " ");
    stream.write_all(format!("ERR {reason}\n").as_bytes()).await
}

/// Reads up to the first `\n` one byte at a time, so nothing after it is consumed.
/// `None` when the peer closed first or sent more than [`MAX_REQUEST`] bytes.
async fn request_line(stream: &mut UnixStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    while line.len() < MAX_REQUEST {
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 {
            return Ok(None);
        }
        if byte[0] == b'\n' {
            return Ok(Some(line));
        }
        line.push(byte[0]);
    }
    Ok(None)
}
