//! The server end of node links: accepts connections and answers their requests concurrently.
//!
//! With TLS, a connection first completes the handshake (the client's certificate verified
//! against the cluster CA). Then the client's `Hello` names its node id; with TLS its
//! certificate must be valid for that id, else the connection is closed before any request is
//! read. Then it carries requests. Every request runs in its own task (answers may leave out of
//! order); at most [`MAX_IN_FLIGHT`] per connection, beyond which reading pauses, so a flood
//! from one peer backs up in its own TCP window instead of in this node's memory. The
//! connection's [`Pusher`] shares the outgoing queue.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

use super::codec::{self, Frame};
use super::identity::{self, IdentityError};
use super::LinkSecurity;

/// Requests of one connection being handled at once.
pub const MAX_IN_FLIGHT: usize = 1024;
/// Outgoing frames (answers and pushes) queued per connection. A push into a full queue fails:
/// the peer is not keeping up.
const QUEUE: usize = 1024;
/// How long a new connection may take for its TLS handshake, and then to say `Hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `serve` waits for its connections to wind down after the stop signal.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What a node does with the requests of its peers.
pub trait LinkService: Send + Sync + 'static {
    /// Answers one request. The future must not borrow `peer`: clone what it needs.
    fn handle(
        &self,
        peer: &PeerConn,
        payload: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;

    /// The connection ended (after its last request was read; answers may still be in flight).
    /// Called once per connection that said `Hello`.
    fn closed(&self, peer: &PeerConn);
}

/// One accepted connection, as the service sees it.
#[derive(Clone)]
pub struct PeerConn {
    /// Unique per connection within this `serve` call.
    pub id: u64,
    /// The node id the peer announced in its `Hello`.
    pub node: String,
    pub pusher: Pusher,
}

/// Sends pushes to one peer connection. Cheap to clone; outlives the connection harmlessly.
#[derive(Clone)]
pub struct Pusher {
    queue: mpsc::Sender<Frame>,
    closed: Arc<watch::Sender<bool>>,
}

impl Pusher {
    /// Queues a push without waiting. False when the queue is full or the connection is gone:
    /// the caller then treats the peer as gone (it reconnects and resynchronises).
    pub fn push(&self, stream: u64, payload: Vec<u8>) -> bool {
        self.queue.try_send(Frame::Push { stream, payload }).is_ok()
    }

    /// Closes the connection (for example a peer that fell behind); its client sees the link
    /// break and calls its disconnect handler.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }
}

/// Accepts node links on `listener`, secured as `security` says, until `stop` turns true (or
/// its sender is dropped), then closes every connection and returns once they ended (or after
/// a few seconds).
pub async fn serve(
    listener: TcpListener,
    security: LinkSecurity,
    service: Arc<dyn LinkService>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut next_id = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => {
                    let _ = stream.set_nodelay(true);
                    next_id += 1;
                    let accepted = Accepted { stream, from, id: next_id };
                    connections.spawn(secure(accepted, security.clone(), service.clone(), stop.clone()));
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "node link accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = codec::wait_true(&mut stop) => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!("node link connections did not end in time; aborting them");
    }
}

/// A TCP connection just accepted.
struct Accepted {
    stream: TcpStream,
    from: std::net::SocketAddr,
    /// Unique per connection within one `serve` call.
    id: u64,
}

/// Secures one accepted connection as configured, then serves it. A TLS handshake that fails
/// (no client certificate, one the cluster CA did not sign, a peer speaking plain TCP) ends
/// the connection with a WARN: on a link port, that is someone who should not be there.
async fn secure(
    accepted: Accepted,
    security: LinkSecurity,
    service: Arc<dyn LinkService>,
    stop: watch::Receiver<bool>,
) {
    let Accepted { stream, from, id } = accepted;
    let tls = match security {
        LinkSecurity::Plaintext => {
            return serve_connection(stream, id, |_| Ok(()), service, stop).await;
        }
        LinkSecurity::Tls(tls) => tls,
    };
    let stream = match tokio::time::timeout(HELLO_TIMEOUT, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::warn!(%from, error = %e, "node link TLS handshake failed; connection refused");
            return;
        }
        Err(_) => {
            tracing::warn!(%from, "node link TLS handshake timed out; connection refused");
            return;
        }
    };
    let certificate = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .cloned();
    let admit = move |node: &str| identity::check_peer(certificate.as_ref(), node);
    serve_connection(stream, id, admit, service, stop).await;
}

/// Serves one connection until the peer leaves, a protocol error, `Pusher::close` or `stop`.
/// Generic over the stream (TCP or TLS). `admit` decides whether the node id the `Hello`
/// announces may use this connection; if not, it is closed before any request is read.
async fn serve_connection<S>(
    stream: S,
    id: u64,
    admit: impl FnOnce(&str) -> Result<(), IdentityError>,
    service: Arc<dyn LinkService>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut read, write) = tokio::io::split(stream);
    let hello = tokio::time::timeout(HELLO_TIMEOUT, codec::read_frame(&mut read)).await;
    let node = match hello {
        Ok(Ok(Some(Frame::Hello { node }))) => node,
        _ => {
            tracing::debug!(id, "node link connection without a valid Hello; closed");
            return;
        }
    };
    if let Err(e) = admit(&node) {
        tracing::warn!(
            id,
            claimed = %node,
            error = %e,
            "node link peer's certificate does not prove the node id it claims; connection refused"
        );
        return;
    }
    let (queue, queued) = mpsc::channel(QUEUE);
    let (closed, closed_rx) = watch::channel(false);
    let closed = Arc::new(closed);
    let peer = PeerConn {
        id,
        node,
        pusher: Pusher {
            queue,
            closed: closed.clone(),
        },
    };
    tracing::debug!(id, node = %peer.node, "node link accepted");
    let writer_closed = closed.clone();
    let writer = tokio::spawn(async move {
        if let Err(e) = codec::write_frames(write, queued, closed_rx).await {
            tracing::debug!(error = %e, "node link write failed");
        }
        writer_closed.send_replace(true);
    });
    let mut closed_rx = closed.subscribe();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let frame = tokio::select! {
            frame = codec::read_frame(&mut read) => frame,
            () = codec::wait_true(&mut closed_rx) => break,
            () = codec::wait_true(&mut stop) => break,
        };
        let (request, payload) = match frame {
            Ok(Some(Frame::Request { id, payload })) => (id, payload),
            Ok(Some(Frame::Ping)) => {
                // A full queue already tells the client this node is alive.
                let _ = peer.pusher.queue.try_send(Frame::Pong);
                continue;
            }
            Ok(None) => break,
            Ok(Some(_)) => {
                tracing::warn!(node = %peer.node, "unexpected frame on node link; closing");
                break;
            }
            Err(e) => {
                tracing::warn!(node = %peer.node, error = %e, "bad node link frame; closing");
                break;
            }
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let answer = service.handle(&peer, payload);
        let queue = peer.pusher.queue.clone();
        tokio::spawn(async move {
            // Run the handler as its own task so a panic in it becomes a `Failure` answer
            // instead of leaving the requester waiting for its timeout.
            let frame = match tokio::spawn(answer).await {
                Ok(payload) => Frame::Response {
                    id: request,
                    payload,
                },
                Err(e) => Frame::Failure {
                    id: request,
                    message: format!("request handler failed: {e}"),
                },
            };
            let _ = queue.send(frame).await;
            drop(permit);
        });
    }
    closed.send_replace(true);
    service.closed(&peer);
    let _ = writer.await;
    tracing::debug!(id, node = %peer.node, "node link ended");
}
