//! Messages between the I/O task, the Session actor and the Supervisor.
//!
//! The I/O task sends what the client said ([`ClientInput`]) and waits for a [`Reply`] that
//! tells it how to read next; everything the session writes goes through the [`Outbox`] in
//! order, so untagged data pushed at any time and tagged completions never overtake each other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::Message;
use bytes::Bytes;
use roost_proto::decode::{IdleLine, SaslLine};
use roost_proto::{Command, DecodeError};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::LimitsConfig;

/// Input from the client, decoded by the I/O task.
#[derive(Message)]
#[rtype(result = "Reply")]
pub enum ClientInput {
    Command {
        command: Command,
        /// Its size on the wire, literals included (for the command's trace span).
        octets: usize,
    },
    /// A command that could not be decoded (answered with BAD).
    Invalid(DecodeError),
    /// A LOGIN announced a synchronizing literal where plaintext login is disabled
    /// ([`Reply::login_disabled`]); the literal was refused and the command dropped.
    PlaintextLoginLiteral { tag: Option<roost_proto::Tag> },
    /// A line of the AUTHENTICATE exchange.
    Sasl(SaslLine),
    /// The line that ended IDLE.
    Idle(IdleLine),
    /// The STARTTLS handshake completed.
    TlsEstablished {
        /// The negotiated protocol version, e.g. `TLSv1_3`.
        version: Option<&'static str>,
        /// What SCRAM-SHA-256-PLUS binds to on the new TLS layer.
        channel_bindings: Option<crate::net::channel_binding::ChannelBindings>,
    },
    /// No input before the deadline the last [`Reply`] gave.
    InactivityTimeout,
}

/// What the I/O task does after handing input to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub read: ReadMode,
    /// When to give up waiting for input; `None` while idling (RFC 9051 section 5.4 forbids
    /// an autologout timer during IDLE).
    pub deadline: Option<Deadline>,
    /// The client has logged in: the decoder takes full-size literals from now on.
    pub authenticated: bool,
    /// LOGIN is refused on this connection (LOGINDISABLED): a LOGIN's synchronizing literal
    /// is refused before the `+` continuation, so the client never sends the password.
    pub login_disabled: bool,
}

/// How long the I/O task waits for the client's next input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// This long without input (restarted by each command).
    Inactivity(Duration),
    /// Until this moment, whatever arrives meanwhile: the login deadline, counted from
    /// connect, so trickling bytes cannot keep an unauthenticated connection.
    At(Instant),
}

/// Where a session is, as far as waiting for input goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    LoggingIn,
    LoggedIn,
    Idling,
}

impl Reply {
    /// Flush what is queued and close.
    pub fn close() -> Reply {
        Reply {
            read: ReadMode::Close,
            deadline: None,
            authenticated: false,
            login_disabled: false,
        }
    }

    /// Read with `read` and the deadline of `stage`.
    pub fn waiting(
        read: ReadMode,
        stage: Stage,
        limits: &LimitsConfig,
        connected: Instant,
    ) -> Reply {
        let deadline = match stage {
            Stage::Idling => None,
            Stage::LoggingIn => Some(Deadline::At(
                connected + Duration::from_secs(limits.timeout_unauthenticated_secs),
            )),
            Stage::LoggedIn => Some(Deadline::Inactivity(Duration::from_secs(
                limits.timeout_authenticated_secs,
            ))),
        };
        Reply {
            read,
            deadline,
            authenticated: stage != Stage::LoggingIn,
            login_disabled: false,
        }
    }
}

/// How the I/O task interprets the next input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    Command,
    /// A base64 line of the AUTHENTICATE exchange.
    SaslLine,
    /// `DONE`.
    IdleDone,
    /// Flush the outbox, then start TLS on the connection (buffered plaintext is discarded).
    StartTls,
    /// Flush the outbox and close.
    Close,
}

/// The client closed the connection, or the I/O task failed: the session ends.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnected;

/// The server is shutting down: write `* BYE` and close once the command in flight finishes.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Shutdown;

/// What the session hands the I/O task to write.
#[derive(Debug)]
pub enum Outgoing {
    Data(Vec<Bytes>),
    /// COMPRESS=DEFLATE (RFC 4978) starts here, in both directions: what was queued before
    /// (the tagged OK) goes out plain, everything after compressed.
    StartCompression,
    /// Compression ends here (RFC 8437 UNAUTHENTICATE): the stream so far is ended with a
    /// final block, and what follows, in both directions, is plain again.
    EndCompression,
    /// Flush, send TLS close_notify, close the socket.
    Close,
}

impl Outgoing {
    /// The octets this item puts on the wire.
    fn octets(&self) -> usize {
        match self {
            Outgoing::Data(chunks) => chunks.iter().map(Bytes::len).sum(),
            Outgoing::StartCompression | Outgoing::EndCompression | Outgoing::Close => 0,
        }
    }
}

/// One connection's write queue, shared by both ends of its outbox.
///
/// A mutex-guarded deque rather than a tokio channel: the channel keeps a block of 32 slots
/// and two cache-padded halves allocated for the connection's whole life (about 1.3 KiB),
/// while an idle connection's queue is empty (docs/performance.md, "idle memory").
#[derive(Default)]
struct Backlog {
    queue: std::sync::Mutex<Queue>,
    /// Octets queued and not yet written.
    octets: AtomicUsize,
    /// `Outbox` values alive; at zero the reader sees the end of the queue.
    senders: AtomicUsize,
    /// Woken when an item is queued or the last sender goes (one reader: a permit is kept).
    queued: Notify,
    /// Woken whenever the I/O task has written something.
    written: Notify,
}

#[derive(Default)]
struct Queue {
    items: std::collections::VecDeque<Outgoing>,
    /// The reader is gone.
    closed: bool,
}

impl Backlog {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Each change is one push or pop: a panic cannot leave the queue half done.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The session's end of the write queue.
///
/// The queue has no limit on the number of responses: a command or an update may produce any
/// number of them, and every one reaches the client in order. Memory is bounded in octets
/// instead: producers of bulk output (FETCH bodies, long result lists, other sessions' news
/// for an idling client) wait with [`Outbox::send_wait`] or [`Outbox::has_room`] while more
/// than [`Outbox::HIGH_WATER`] octets wait for a client that reads slowly. A client that stops
/// reading altogether is dropped by the I/O task after its write timeout.
pub struct Outbox {
    backlog: Arc<Backlog>,
}

/// The I/O task's end of the write queue.
pub struct OutboxReader {
    backlog: Arc<Backlog>,
}

/// The I/O task is gone: the connection has ended.
#[derive(Debug)]
pub struct OutboxClosed;

impl Outbox {
    /// Octets queued beyond which bulk producers wait for the client to read.
    pub const HIGH_WATER: usize = 256 * 1024;

    pub fn new() -> (Outbox, OutboxReader) {
        let backlog = Arc::new(Backlog {
            senders: AtomicUsize::new(1),
            ..Backlog::default()
        });
        (
            Outbox {
                backlog: backlog.clone(),
            },
            OutboxReader { backlog },
        )
    }

    /// Queues an item at once. For output whose size does not grow with the mailbox or the
    /// message (status lines, a command's own results); bulk output uses [`Self::send_wait`].
    pub fn send(&self, item: Outgoing) -> Result<(), OutboxClosed> {
        let octets = item.octets();
        {
            let mut queue = self.backlog.queue();
            if queue.closed {
                return Err(OutboxClosed);
            }
            self.backlog.octets.fetch_add(octets, Ordering::AcqRel);
            queue.items.push_back(item);
        }
        self.backlog.queued.notify_one();
        Ok(())
    }

    /// Queues bulk output, first waiting until the client has read enough that the backlog is
    /// under [`Self::HIGH_WATER`]: a client that reads slowly slows its producer down.
    pub async fn send_wait(&self, item: Outgoing) -> Result<(), OutboxClosed> {
        self.room().await?;
        self.send(item)
    }

    /// Whether bulk output may be queued now without waiting.
    pub fn has_room(&self) -> bool {
        self.backlog.octets.load(Ordering::Acquire) <= Self::HIGH_WATER
    }

    /// Waits until bulk output may be queued (or the connection is gone).
    pub async fn room(&self) -> Result<(), OutboxClosed> {
        loop {
            let written = self.backlog.written.notified();
            tokio::pin!(written);
            // Register before checking, so a wake-up between the check and the wait is kept.
            written.as_mut().enable();
            if self.backlog.queue().closed {
                return Err(OutboxClosed);
            }
            if self.has_room() {
                return Ok(());
            }
            written.await;
        }
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.backlog.senders.fetch_add(1, Ordering::AcqRel);
        Outbox {
            backlog: self.backlog.clone(),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.backlog.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.backlog.queued.notify_one();
        }
    }
}

/// An emptied queue keeps at most this many slots (a large answer's queue is given back).
const QUEUE_KEPT: usize = 8;

impl OutboxReader {
    pub async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            if let Some(item) = self.try_recv() {
                return Some(item);
            }
            if self.backlog.senders.load(Ordering::Acquire) == 0 {
                // A last item may have been queued just before the last sender went.
                return self.try_recv();
            }
            self.backlog.queued.notified().await;
        }
    }

    pub fn try_recv(&mut self) -> Option<Outgoing> {
        let mut queue = self.backlog.queue();
        let item = queue.items.pop_front();
        if queue.items.is_empty() && queue.items.capacity() > QUEUE_KEPT {
            queue.items = std::collections::VecDeque::new();
        }
        item
    }

    /// Nothing is queued right now: the I/O task is about to wait, so it must flush.
    pub fn is_empty(&self) -> bool {
        self.backlog.queue().items.is_empty()
    }

    /// Records that `octets` of a received item reached the socket (or were given up), waking
    /// producers that wait for room.
    pub fn written(&self, octets: usize) {
        self.backlog.octets.fetch_sub(octets, Ordering::AcqRel);
        self.backlog.written.notify_waiters();
    }
}

impl Drop for OutboxReader {
    fn drop(&mut self) {
        // Producers waiting for room must learn that nobody will ever read; what is queued
        // is dropped now, not with the last sender.
        let dropped = {
            let mut queue = self.backlog.queue();
            queue.closed = true;
            std::mem::take(&mut queue.items)
        };
        drop(dropped);
        self.backlog.written.notify_waiters();
    }
}
