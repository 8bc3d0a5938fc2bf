//! The client end of a node link: one lazily opened connection, requests multiplexed by id.
//!
//! With TLS the connection presents this node's certificate and checks the listener's against
//! the cluster CA and the host part of the address dialed (the owner's advertised address).
//!
//! A connection has two tasks: the writer drains a queue of frames into the socket, the reader
//! matches responses to waiting requests by id and hands pushes to the push handler. Whichever
//! notices a failure first shuts the connection down; that fails every waiting request with
//! `Closed` and calls the disconnect handler once. The next request opens a new connection.
//! Requests are never retried here: they need not be idempotent (an APPEND is not). Writes
//! whose answer is lost are sent again a layer up, under a request key the owner honours
//! (`mailbox/retry.rs`).
//!
//! With a keepalive set, a connection that has been quiet for one interval sends a
//! [`Frame::Ping`], and one that has heard nothing for two is shut down as if it broke: a peer
//! that hangs (SIGSTOP, a stalled host) keeps its TCP connection open, and without this its
//! sessions here would hear nothing until a request timed out (issue 19 finding 4).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

use super::codec::{self, Frame};
use super::{identity, LinkError, LinkSecurity, LocalNode};

/// Called for each `Push { stream, payload }`, on the connection's reader task: must not block.
pub type PushHandler = Arc<dyn Fn(u64, Vec<u8>) + Send + Sync>;
/// Called once each time an established connection breaks.
pub type DisconnectHandler = Arc<dyn Fn() + Send + Sync>;

/// Default bound on a request, from sending to its answer (connecting included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on opening the connection (TCP, and the TLS handshake), within the request's own
/// bound.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Frames queued for the writer; a full queue makes `request` wait (backpressure).
const QUEUE: usize = 256;

type Reply = oneshot::Sender<Result<Vec<u8>, LinkError>>;

/// A link to one peer node. Clones share the connection, handlers and request ids.
#[derive(Clone)]
pub struct LinkClient {
    inner: Arc<Inner>,
}

struct Inner {
    local: LocalNode,
    address: String,
    timeout_ms: AtomicU64,
    /// 0: no keepalive.
    keepalive_ms: AtomicU64,
    /// Until when (ms after `created`) requests fail at once: the peer was found hung (its
    /// link went silent, or a connection to it could not be opened within the keepalive).
    /// A hung owner's lease runs out meanwhile; failing fast lets callers look again in Redis
    /// instead of waiting on a connection that cannot succeed.
    suspect_until_ms: Arc<AtomicU64>,
    created: tokio::time::Instant,
    next_id: AtomicU64,
    /// The current connection; the async mutex makes concurrent first requests share one
    /// connection attempt instead of racing to open several.
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
    handlers: Arc<Handlers>,
}

#[derive(Default)]
struct Handlers {
    push: RwLock<Option<PushHandler>>,
    disconnect: RwLock<Option<DisconnectHandler>>,
}

impl Handlers {
    fn push(&self) -> Option<PushHandler> {
        self.push
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn disconnect(&self) -> Option<DisconnectHandler> {
        self.disconnect
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl LinkClient {
    /// A client for the node listening at `address` (`host:port`); connects on first use.
    pub fn new(local: LocalNode, address: String) -> LinkClient {
        LinkClient {
            inner: Arc::new(Inner {
                local,
                address,
                timeout_ms: AtomicU64::new(millis(DEFAULT_TIMEOUT)),
                keepalive_ms: AtomicU64::new(0),
                suspect_until_ms: Arc::new(AtomicU64::new(0)),
                created: tokio::time::Instant::now(),
                next_id: AtomicU64::new(1),
                conn: tokio::sync::Mutex::new(None),
                handlers: Arc::default(),
            }),
        }
    }

    /// Changes the bound on each request (default [`DEFAULT_TIMEOUT`]).
    #[cfg(test)]
    pub fn set_timeout(&self, timeout: Duration) {
        self.inner
            .timeout_ms
            .store(millis(timeout), Ordering::Relaxed);
    }

    /// Pings a quiet connection every `interval` and drops one that heard nothing for two;
    /// opening a connection is then also bounded by `interval`.
    pub fn set_keepalive(&self, interval: Duration) {
        self.inner
            .keepalive_ms
            .store(millis(interval), Ordering::Relaxed);
    }

    pub fn set_push_handler(&self, f: PushHandler) {
        *self
            .inner
            .handlers
            .push
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(f);
    }

    pub fn set_disconnect_handler(&self, f: DisconnectHandler) {
        *self
            .inner
            .handlers
            .disconnect
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(f);
    }

    /// Sends one request and waits for its answer.
    ///
    /// # Errors
    /// `Unreachable` when no connection could be opened, `Closed` when it broke before the
    /// answer, `Timeout` after the configured bound, `Remote` when the peer's handler failed.
    pub async fn request(&self, payload: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let timeout = Duration::from_millis(self.inner.timeout_ms.load(Ordering::Relaxed));
        tokio::time::timeout(timeout, self.send(payload))
            .await
            .unwrap_or(Err(LinkError::Timeout))
    }

    async fn send(&self, payload: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        if self.inner.is_suspect() {
            return Err(LinkError::Unreachable(format!(
                "{}: the node stopped answering moments ago",
                self.inner.address
            )));
        }
        let conn = self.connection().await?;
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        if !conn.register(id, reply) {
            return Err(LinkError::Closed);
        }
        // Forgets the request if it times out (this future is dropped) or fails to queue.
        let _pending = Forget { conn: &conn, id };
        conn.queue
            .send(Frame::Request { id, payload })
            .await
            .map_err(|_| LinkError::Closed)?;
        answer.await.unwrap_or(Err(LinkError::Closed))
    }

    /// The open connection, opening one if there is none or the last one broke.
    async fn connection(&self) -> Result<Arc<Conn>, LinkError> {
        let mut current = self.inner.conn.lock().await;
        if let Some(conn) = current.as_ref().filter(|c| !c.is_closed()) {
            return Ok(conn.clone());
        }
        let conn = Conn::open(&self.inner).await?;
        *current = Some(conn.clone());
        Ok(conn)
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        millis(self.created.elapsed())
    }

    fn is_suspect(&self) -> bool {
        self.now_ms() < self.suspect_until_ms.load(Ordering::Relaxed)
    }
}

/// Marks the peer suspect for two keepalive intervals from now.
fn suspect(until: &AtomicU64, created: tokio::time::Instant, keepalive: Duration) {
    until.store(millis(created.elapsed() + keepalive * 2), Ordering::Relaxed);
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The tasks hold the connection, not the client: end them with the last client.
        if let Some(conn) = self.conn.get_mut().take() {
            conn.shut_down(false);
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One established connection.
struct Conn {
    /// The address dialed, for logs.
    address: String,
    queue: mpsc::Sender<Frame>,
    /// Requests waiting for an answer; `None` once the connection is shut down, so nothing can
    /// register on a dead connection and wait forever.
    pending: Mutex<Option<HashMap<u64, Reply>>>,
    closed: watch::Sender<bool>,
    handlers: Arc<Handlers>,
    /// When a frame last arrived, in ms after `opened`.
    heard_ms: AtomicU64,
    opened: tokio::time::Instant,
    /// The client's suspect mark, set when the keepalive gives the peer up.
    suspect: (Arc<AtomicU64>, tokio::time::Instant),
}

/// A connected stream, plain or TLS.
trait LinkStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> LinkStream for T {}

/// Connects to `address` and secures the connection as `security` says.
async fn connect(address: &str, security: &LinkSecurity) -> Result<Box<dyn LinkStream>, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    // Requests are small and latency-bound (IDLE updates); do not wait to coalesce.
    let _ = stream.set_nodelay(true);
    match security {
        LinkSecurity::Plaintext => Ok(Box::new(stream)),
        LinkSecurity::Tls(tls) => {
            let name = identity::host_name(address).map_err(|e| e.to_string())?;
            let stream = tls.connector().connect(name, stream).await.map_err(|e| {
                tracing::warn!(%address, error = %e, "node link TLS handshake failed");
                format!("TLS handshake failed: {e}")
            })?;
            Ok(Box::new(stream))
        }
    }
}

impl Conn {
    async fn open(client: &Inner) -> Result<Arc<Conn>, LinkError> {
        let unreachable = |e: String| LinkError::Unreachable(format!("{}: {e}", client.address));
        let connecting = connect(&client.address, client.local.security());
        let keepalive = Duration::from_millis(client.keepalive_ms.load(Ordering::Relaxed));
        // A hung peer's kernel still accepts TCP connections; its TLS handshake never ends.
        let bound = match keepalive {
            Duration::ZERO => CONNECT_TIMEOUT,
            k => CONNECT_TIMEOUT.min(k),
        };
        let stream = match tokio::time::timeout(bound, connecting).await {
            Ok(connected) => connected.map_err(unreachable)?,
            Err(_) => {
                if keepalive > Duration::ZERO {
                    suspect(&client.suspect_until_ms, client.created, keepalive);
                }
                return Err(unreachable("connect timed out".into()));
            }
        };
        let (read, write) = tokio::io::split(stream);
        let (queue, queued) = mpsc::channel(QUEUE);
        let (closed, closed_rx) = watch::channel(false);
        let hello = Frame::Hello {
            node: client.local.id().to_owned(),
        };
        // Cannot fail: the queue is empty and its receiver alive.
        let _ = queue.try_send(hello);
        let conn = Arc::new(Conn {
            address: client.address.clone(),
            queue,
            pending: Mutex::new(Some(HashMap::new())),
            closed,
            handlers: client.handlers.clone(),
            heard_ms: AtomicU64::new(0),
            opened: tokio::time::Instant::now(),
            suspect: (client.suspect_until_ms.clone(), client.created),
        });
        let writer = conn.clone();
        let watch = closed_rx.clone();
        tokio::spawn(async move {
            if let Err(e) = codec::write_frames(write, queued, watch).await {
                tracing::debug!(error = %e, "node link write failed");
            }
            writer.shut_down(true);
        });
        if keepalive > Duration::ZERO {
            tokio::spawn(conn.clone().keepalive(keepalive, closed_rx.clone()));
        }
        tokio::spawn(conn.clone().read_loop(read, closed_rx));
        tracing::debug!(peer = %client.address, "node link connected");
        Ok(conn)
    }

    fn quiet_for(&self) -> Duration {
        let heard = Duration::from_millis(self.heard_ms.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(heard)
    }

    /// Pings when quiet for `interval`; shuts the connection down (notifying, as a break
    /// does) when nothing arrived for two.
    async fn keepalive(self: Arc<Self>, interval: Duration, mut closed: watch::Receiver<bool>) {
        // Checked twice per interval, so a dead peer is noticed within 2.5 intervals.
        let tick = interval / 2;
        loop {
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                () = codec::wait_true(&mut closed) => return,
            }
            let quiet = self.quiet_for();
            if quiet >= interval * 2 {
                tracing::warn!(peer = %self.address, quiet_ms = quiet.as_millis() as u64, "node link peer silent: closing the link");
                suspect(&self.suspect.0, self.suspect.1, interval);
                self.shut_down(true);
                return;
            }
            if quiet >= interval {
                let _ = self.queue.try_send(Frame::Ping);
            }
        }
    }

    async fn read_loop(
        self: Arc<Self>,
        mut read: impl AsyncRead + Unpin,
        mut closed: watch::Receiver<bool>,
    ) {
        loop {
            let frame = tokio::select! {
                frame = codec::read_frame(&mut read) => frame,
                () = codec::wait_true(&mut closed) => break,
            };
            if let Ok(Some(_)) = &frame {
                let at = millis(self.opened.elapsed());
                self.heard_ms.store(at, Ordering::Relaxed);
            }
            match frame {
                Ok(Some(Frame::Pong)) => {}
                Ok(Some(Frame::Response { id, payload })) => self.answer(id, Ok(payload)),
                Ok(Some(Frame::Failure { id, message })) => {
                    self.answer(id, Err(LinkError::Remote(message)));
                }
                Ok(Some(Frame::Push { stream, payload })) => {
                    if let Some(handler) = self.handlers.push() {
                        handler(stream, payload);
                    }
                }
                Ok(Some(other)) => {
                    tracing::warn!(frame = ?std::mem::discriminant(&other), "unexpected frame from node link server");
                    break;
                }
                Ok(None) => break,
                Err(e) if is_tls_refusal(&e) => {
                    // With TLS 1.3 a listener judges our certificate after our side of the
                    // handshake is done: its refusal arrives as an alert on the first read.
                    tracing::warn!(peer = %self.address, error = %e, "node link refused by the peer");
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "node link read failed");
                    break;
                }
            }
        }
        self.shut_down(true);
    }

    fn register(&self, id: u64, reply: Reply) -> bool {
        match self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(pending) => {
                pending.insert(id, reply);
                true
            }
            None => false,
        }
    }

    fn answer(&self, id: u64, result: Result<Vec<u8>, LinkError>) {
        let reply = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .and_then(|p| p.remove(&id));
        // No waiter: the request timed out meanwhile; the late answer is dropped.
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }

    fn is_closed(&self) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Ends the connection (both tasks stop) and fails waiting requests; idempotent. The
    /// disconnect handler is called by the first call only, and only if `notify`.
    fn shut_down(&self, notify: bool) {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(pending) = pending else {
            return;
        };
        self.closed.send_replace(true);
        for (_, reply) in pending {
            let _ = reply.send(Err(LinkError::Closed));
        }
        if notify {
            if let Some(handler) = self.handlers.disconnect() {
                handler();
            }
        }
    }
}

/// A TLS alert or error from the peer, rather than a plain disconnect.
fn is_tls_refusal(e: &codec::CodecError) -> bool {
    let codec::CodecError::Io(io) = e else {
        return false;
    };
    io.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

/// Removes a request's entry when its caller stops waiting.
struct Forget<'a> {
    conn: &'a Conn,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(pending) = self
            .conn
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            pending.remove(&self.id);
        }
    }
}
