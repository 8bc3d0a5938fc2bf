//! The per-connection I/O task: reads bytes, decodes them as the session asked (a command,
//! a SASL line, IDLE's `DONE`), hands them to the Session actor, and writes what the session
//! queues. It also performs the STARTTLS upgrade and the clean close (TLS close_notify).
//!
//! It never interprets a command: the session's [`Reply`] says how to read next.

use std::time::Duration;

use actix::Addr;
use bytes::{Bytes, BytesMut};
use roost_proto::{CommandDecoder, Decoded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsAcceptor;

use super::limiter::Permit;
use super::stream::Stream;
use crate::config::LimitsConfig;
use crate::session::messages::{
    ClientInput, Deadline, Disconnected, OutboxReader, Outgoing, ReadMode, Reply,
};
use crate::session::Session;
use crate::telemetry::metrics;

/// How long a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Read buffer growth step; the buffer is dropped back to nothing when idle and large.
const READ_CHUNK: usize = 4096;
/// What a connection reserves while no command is in progress.
const IDLE_READ: usize = 256;

/// Why the connection ended abnormally (logged at debug level: clients vanish all the time).
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the client read nothing for {0:?} while output waited: dropped")]
    WriteTimeout(Duration),
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

pub struct Connection {
    stream: Stream,
    read_buf: BytesMut,
    decoder: CommandDecoder,
    session: Addr<Session>,
    outbox: OutboxReader,
    /// How long a write may make no progress before the client is considered gone.
    write_timeout: Duration,
    /// Present when STARTTLS may be offered on this connection.
    starttls: Option<TlsAcceptor>,
    /// The decoder's limits once the client has logged in (it starts with the small ones).
    limits_authenticated: Option<roost_proto::Limits>,
    /// Octets of the command being decoded so far.
    command_octets: usize,
    /// The connection's slot in the listener's limits; told when the client logs in.
    permit: Option<Permit>,
}

impl Connection {
    pub fn new(
        stream: Stream,
        limits: &LimitsConfig,
        session: Addr<Session>,
        outbox: OutboxReader,
        starttls: Option<TlsAcceptor>,
        permit: Option<Permit>,
    ) -> Self {
        Connection {
            stream,
            read_buf: BytesMut::new(),
            decoder: CommandDecoder::new(limits.protocol_limits_unauthenticated()),
            limits_authenticated: Some(limits.protocol_limits()),
            write_timeout: Duration::from_secs(limits.write_timeout_secs),
            session,
            outbox,
            starttls,
            command_octets: 0,
            permit,
        }
    }

    /// Runs the connection until it closes. `first` is how to read before the session has
    /// said anything (the greeting is already queued in the outbox).
    pub async fn run(mut self, first: Reply) {
        match self.serve(first).await {
            Err(e @ ConnError::WriteTimeout(_)) => {
                metrics::write_timed_out();
                tracing::info!(error = %e, "connection ended");
            }
            Err(e) => tracing::debug!(error = %e, "connection ended"),
            Ok(()) => {}
        }
        self.session.do_send(Disconnected);
    }

    async fn serve(&mut self, mut reply: Reply) -> Result<(), ConnError> {
        loop {
            if reply.authenticated {
                if let Some(limits) = self.limits_authenticated.take() {
                    self.decoder.set_limits(limits);
                    if let Some(permit) = &mut self.permit {
                        permit.logged_in();
                    }
                }
            }
            let input = match reply.read {
                ReadMode::Close => return self.finish().await,
                ReadMode::StartTls => Some(self.start_tls().await?),
                ReadMode::Command => match self.decode_command() {
                    Decoded::Command(command) => Some(ClientInput::Command {
                        command,
                        octets: std::mem::take(&mut self.command_octets),
                    }),
                    Decoded::Error(error) => {
                        self.command_octets = 0;
                        Some(ClientInput::Invalid(error))
                    }
                    // The password would follow in the clear: refuse before the `+`.
                    Decoded::LiteralAnnounced { tag, command, .. }
                        if reply.login_disabled
                            && command
                                .as_ref()
                                .is_some_and(|c| c.as_str().eq_ignore_ascii_case("LOGIN")) =>
                    {
                        self.decoder.refuse_literal();
                        self.command_octets = 0;
                        Some(ClientInput::PlaintextLoginLiteral { tag })
                    }
                    Decoded::LiteralAnnounced { .. } => {
                        self.write_chunks(&[Bytes::from_static(b"+ Ready for literal data\r\n")])
                            .await?;
                        continue;
                    }
                    Decoded::Incomplete => None,
                },
                ReadMode::SaslLine => match self.decoder.decode_sasl_line(&mut self.read_buf) {
                    roost_proto::decode::SaslLine::Incomplete => None,
                    line => Some(ClientInput::Sasl(line)),
                },
                ReadMode::IdleDone => match self.decoder.decode_idle_line(&mut self.read_buf) {
                    roost_proto::decode::IdleLine::Incomplete => None,
                    line => Some(ClientInput::Idle(line)),
                },
            };
            if let Some(input) = input {
                reply = self.exchange(input).await?;
                continue;
            }
            match self.wait_for_input(reply.deadline).await? {
                Wait::Input => {}
                Wait::Closed => return self.finish().await,
                Wait::Eof => return Ok(()),
                Wait::TimedOut => reply = self.exchange(ClientInput::InactivityTimeout).await?,
            }
        }
    }

    /// Decodes from the read buffer, counting the octets the command in progress consumed
    /// (the decoder takes a command's line and literals from the buffer as they arrive).
    fn decode_command(&mut self) -> Decoded {
        let before = self.read_buf.len();
        let decoded = self.decoder.decode(&mut self.read_buf);
        self.command_octets += before.saturating_sub(self.read_buf.len());
        decoded
    }

    /// Sends input to the session and writes whatever it queues until it replies.
    async fn exchange(&mut self, input: ClientInput) -> Result<Reply, ConnError> {
        let request = self.session.send(input);
        tokio::pin!(request);
        let reply = loop {
            tokio::select! {
                biased;
                item = self.outbox.recv() => match item {
                    Some(Outgoing::Data(chunks)) => self.write_queued_chunks(&chunks).await?,
                    // The session has closed; its reply (if any) would say the same.
                    Some(Outgoing::Close) | None => break None,
                },
                reply = &mut request => break reply.ok(),
            }
        };
        self.write_queued().await?;
        Ok(reply.unwrap_or_else(Reply::close))
    }

    /// Waits for client bytes, queued output, or the deadline.
    async fn wait_for_input(&mut self, deadline: Option<Deadline>) -> Result<Wait, ConnError> {
        let deadline = deadline.map(|d| match d {
            Deadline::Inactivity(limit) => Instant::now() + limit,
            Deadline::At(at) => at,
        });
        loop {
            // Checked before reading, not only when nothing arrives: a client that keeps
            // sending (a huge literal being discarded) must not outlast its login deadline.
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Wait::TimedOut);
            }
            if self.read_buf.is_empty() {
                // Between commands (and all through IDLE) a connection keeps only a small
                // buffer: most of a node's connections wait, and 4 KiB each adds up
                // (docs/performance.md). A command that does not fit grows it as it arrives.
                if self.read_buf.capacity() > IDLE_READ {
                    self.read_buf = BytesMut::new();
                }
                self.read_buf.reserve(IDLE_READ);
            } else {
                self.read_buf.reserve(READ_CHUNK);
            }
            tokio::select! {
                biased;
                item = self.outbox.recv() => match item {
                    Some(Outgoing::Data(chunks)) => self.write_queued_chunks(&chunks).await?,
                    Some(Outgoing::Close) | None => return Ok(Wait::Closed),
                },
                read = self.stream.read_buf(&mut self.read_buf) => {
                    let n = read?;
                    metrics::bytes_received(n);
                    return Ok(if n == 0 { Wait::Eof } else { Wait::Input });
                }
                _ = sleep_until(deadline) => return Ok(Wait::TimedOut),
            }
        }
    }

    /// Writes everything the session has queued so far (without waiting for more).
    async fn write_queued(&mut self) -> Result<(), ConnError> {
        while let Some(item) = self.outbox.try_recv() {
            if let Outgoing::Data(chunks) = item {
                self.write_queued_chunks(&chunks).await?;
            }
        }
        Ok(())
    }

    /// Writes an item taken from the outbox and tells producers waiting for room.
    async fn write_queued_chunks(&mut self, chunks: &[Bytes]) -> Result<(), ConnError> {
        let result = self.write_chunks(chunks).await;
        self.outbox.written(chunks.iter().map(Bytes::len).sum());
        result
    }

    /// Writes and flushes `chunks`. The write timeout runs from the last progress, not from
    /// the start: a client that reads a large answer slowly is served as long as it reads.
    async fn write_chunks(&mut self, chunks: &[Bytes]) -> Result<(), ConnError> {
        let limit = self.write_timeout;
        for chunk in chunks {
            let mut rest: &[u8] = chunk;
            while !rest.is_empty() {
                let n = timeout(limit, self.stream.write(rest))
                    .await
                    .map_err(|_| ConnError::WriteTimeout(limit))??;
                if n == 0 {
                    return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
                }
                rest = &rest[n..];
                metrics::bytes_sent(n);
            }
        }
        timeout(limit, self.stream.flush())
            .await
            .map_err(|_| ConnError::WriteTimeout(limit))??;
        Ok(())
    }

    /// Flushes the outbox and closes cleanly (TLS close_notify, then FIN).
    async fn finish(&mut self) -> Result<(), ConnError> {
        self.write_queued().await?;
        let _ = timeout(Duration::from_secs(5), self.stream.shutdown()).await;
        Ok(())
    }

    /// RFC 9051 section 6.2.1: after the tagged OK, negotiate TLS. Anything the client sent
    /// after STARTTLS in plaintext is discarded, so it cannot be injected into the TLS session.
    async fn start_tls(&mut self) -> Result<ClientInput, ConnError> {
        self.write_queued().await?;
        self.read_buf.clear();
        self.command_octets = 0;
        let acceptor = self
            .starttls
            .take()
            .ok_or_else(|| ConnError::Handshake("STARTTLS not offered".into()))?;
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Upgrading) else {
            return Err(ConnError::Handshake(
                "STARTTLS on a stream that is not plain TCP".into(),
            ));
        };
        let tls = timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
            .await
            .map_err(|_| ConnError::Handshake("timed out".into()))?
            .map_err(|e| ConnError::Handshake(e.to_string()))?;
        self.stream = Stream::Tls(Box::new(tls));
        tracing::debug!(version = ?self.stream.tls_version(), "STARTTLS negotiated");
        Ok(ClientInput::TlsEstablished {
            version: self.stream.tls_version(),
            channel_bindings: self.stream.channel_bindings(),
        })
    }
}

enum Wait {
    Input,
    /// The session closed the connection.
    Closed,
    /// The client closed the connection.
    Eof,
    TimedOut,
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
