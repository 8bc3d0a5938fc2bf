//! `roost imap --user NAME`: finds the writer of the data directory and hands it the session.
//!
//! The writer is the node running on this host (reached through its control socket) or,
//! with no node running and no cluster configured, this process itself once it holds the
//! data directory's lock. Nothing else is ever allowed to write.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::lock::{DataDirLock, Holder, LockError};

/// Where the session goes.
pub enum Route {
    /// A running node (or another `roost imap`) accepted it: pipe stdin/stdout through.
    Through(UnixStream),
    /// Nobody serves the data directory: this process is its writer while it holds the lock.
    Alone(DataDirLock),
}

#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("the roost node refused the session: {0}")]
    Refused(String),
    #[error(
        "no roost node answers on the control socket {socket}: in a cluster, `roost imap` goes \
         through the node running on this host (start `roost serve` with the same node_id and \
         data_dir, or point `control_socket` at its socket)"
    )]
    NoNode { socket: PathBuf },
    #[error("{0} (and its control socket {1} does not answer)")]
    Locked(LockError, PathBuf),
    #[error("{0}")]
    Lock(LockError),
    #[error("user names cannot contain line breaks")]
    BadUser,
}

/// Finds the route, retrying for up to `wait` while another process holds the lock but does
/// not answer yet (starting, or finishing its last sessions). `lock_dir` is the data directory
/// when this process may become the writer (no cluster), `None` in a cluster.
///
/// # Errors
/// When the node refuses the user, or no writer can be found or become one in time.
pub async fn route(
    socket: &Path,
    user: &str,
    lock_dir: Option<&Path>,
    wait: Duration,
) -> Result<Route, TunnelError> {
    if user.contains(['\r', '\n']) {
        return Err(TunnelError::BadUser);
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match hand_over(socket, user).await {
            Handover::Accepted(stream) => return Ok(Route::Through(stream)),
            Handover::Refused(why) => return Err(TunnelError::Refused(why)),
            Handover::Absent => {}
        }
        let late = tokio::time::Instant::now() >= deadline;
        match lock_dir {
            Some(dir) => match DataDirLock::acquire(dir, Holder::Imap) {
                Ok(lock) => return Ok(Route::Alone(lock)),
                Err(e @ LockError::Held { .. }) if late => {
                    return Err(TunnelError::Locked(e, socket.to_owned()))
                }
                Err(LockError::Held { .. }) => {}
                Err(e) => return Err(TunnelError::Lock(e)),
            },
            None if late => {
                return Err(TunnelError::NoNode {
                    socket: socket.to_owned(),
                })
            }
            None => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

enum Handover {
    Accepted(UnixStream),
    Refused(String),
    /// Nobody listens, or the listener closed before answering (it is winding down).
    Absent,
}

async fn hand_over(socket: &Path, user: &str) -> Handover {
    let Ok(mut stream) = UnixStream::connect(socket).await else {
        return Handover::Absent;
    };
    if stream
        .write_all(format!("IMAP {user}\n").as_bytes())
        .await
        .is_err()
    {
        return Handover::Absent;
    }
    // The answer is one short line; read it byte by byte so no IMAP byte is consumed.
    let mut answer = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        match stream.read(&mut byte).await {
            Ok(1) if byte[0] == b'\n' => break,
            Ok(1) if answer.len() < 1024 => answer.push(byte[0]),
            _ => return Handover::Absent,
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    match answer.strip_prefix("ERR ") {
        None if answer == "OK" => Handover::Accepted(stream),
        None => Handover::Refused(format!("unexpected answer {answer:?}")),
        Some(why) => Handover::Refused(why.to_owned()),
    }
}

/// Copies stdin to the node and the node's output to stdout until the node closes the
/// session (after `LOGOUT`, or once stdin has ended and the node has seen it).
///
/// Stdin is read on a plain thread: a read blocked on a terminal or ssh channel must not keep
/// the process alive once the node has closed the session.
///
/// # Errors
/// When the socket cannot be set up or stdout cannot be written.
pub async fn pipe(stream: UnixStream) -> std::io::Result<()> {
    let from_node = stream.into_std()?;
    from_node.set_nonblocking(false)?;
    let mut to_node = from_node.try_clone()?;
    std::thread::spawn(move || {
        let _ = relay(&mut std::io::stdin().lock(), &mut to_node);
        // The node sees end of input and ends the session.
        let _ = to_node.shutdown(std::net::Shutdown::Write);
    });
    tokio::task::spawn_blocking(move || {
        let mut from_node = from_node;
        let mut stdout = std::io::stdout().lock();
        relay(&mut from_node, &mut stdout)
    })
    .await?
}

/// Copies until end of input, passing on each read at once. (`std::io::copy` would splice
/// between the pipe and the socket, and a splice can sit on bytes that have arrived.)
fn relay(from: &mut impl std::io::Read, to: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}
