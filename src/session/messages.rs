//! Messages between the I/O task, the Session actor and the Supervisor.
//!
//! The I/O task sends what the client said ([`ClientInput`]) and waits for a [`Reply`] that
//! tells it how to read next; everything the session writes goes through the [`Outbox`] in
//! order, so untagged data pushed at any time and tagged completions never overtake each other.

use std::time::Duration;

use actix::Message;
use bytes::Bytes;
use roost_proto::decode::{IdleLine, SaslLine};
use roost_proto::{Command, DecodeError};

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
    /// A line of the AUTHENTICATE exchange.
    Sasl(SaslLine),
    /// The line that ended IDLE.
    Idle(IdleLine),
    /// The STARTTLS handshake completed.
    TlsEstablished {
        /// The negotiated protocol version, e.g. `TLSv1_3`.
        version: Option<&'static str>,
    },
    /// No input for the inactivity timeout the last [`Reply`] gave.
    InactivityTimeout,
}

/// What the I/O task does after handing input to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub read: ReadMode,
    /// Close the connection after this long without input; `None` while idling (RFC 9051
    /// section 5.4 forbids an autologout timer during IDLE).
    pub timeout: Option<Duration>,
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
    /// Flush, send TLS close_notify, close the socket.
    Close,
}

/// The session's end of the write queue. Bounded: a client that does not read cannot make
/// the server buffer without limit; when the queue is full the connection is dropped.
#[derive(Clone)]
pub struct Outbox {
    tx: tokio::sync::mpsc::Sender<Outgoing>,
}

/// The queue is full or the I/O task is gone: the connection must end.
#[derive(Debug)]
pub struct OutboxClosed;

impl Outbox {
    /// Items the queue holds before a non-reading client is disconnected.
    pub const CAPACITY: usize = 256;

    pub fn new() -> (Outbox, tokio::sync::mpsc::Receiver<Outgoing>) {
        let (tx, rx) = tokio::sync::mpsc::channel(Self::CAPACITY);
        (Outbox { tx }, rx)
    }

    pub fn send(&self, item: Outgoing) -> Result<(), OutboxClosed> {
        self.tx.try_send(item).map_err(|_| OutboxClosed)
    }

    /// Queues bulk output (FETCH of many bodies), waiting while the queue is full: the client
    /// reading slowly slows the producer down instead of failing it.
    pub async fn send_wait(&self, item: Outgoing) -> Result<(), OutboxClosed> {
        self.tx.send(item).await.map_err(|_| OutboxClosed)
    }
}
