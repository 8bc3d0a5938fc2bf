//! The per-connection I/O task: reads bytes, decodes them as the session asked (a command,
//! a SASL line, IDLE's `DONE`), hands them to the Session actor, and writes what the session
//! queues. It also performs the STARTTLS upgrade, COMPRESS=DEFLATE (`deflate.rs`) and the
//! clean close (TLS close_notify).
//!
//! It never interprets a command: the session's [`Reply`] says how to read next.

use std::time::Duration;

use actix::Addr;
use bytes::{Bytes, BytesMut};
use roost_proto::{CommandDecoder, Decoded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsAcceptor;

use super::deflate::{Compression, Deflater};
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
/// Compressed output is written in pieces of this size (the buffer exists only while writing).
const DEFLATE_OUT: usize = 16 * 1024;

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
    /// COMPRESS=DEFLATE is on: `read_buf` holds inflated bytes, and output is deflated.
    compression: Option<Compression>,
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
            compression: None,
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

    /// Every step but the wait for input runs boxed: a task is as large as its largest
    /// state, and a command's exchange or a write (a session request with the command in it,
    /// write timeouts, the deflater's loop) would otherwise make every waiting connection's
    /// task that large (5.5 KiB measured; docs/performance.md, "idle memory").
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
                ReadMode::Close => return Box::pin(self.finish()).await,
                ReadMode::StartTls => Some(Box::pin(self.start_tls()).await?),
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
                        // Flushed: the client sends nothing more until it has the `+`.
                        let prompt = Bytes::from_static(b"+ Ready for literal data\r\n");
                        Box::pin(self.write_chunks(&[prompt], true)).await?;
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
                reply = Box::pin(self.exchange(input)).await?;
                continue;
            }
            match self.wait_for_input(reply.deadline).await? {
                Wait::Input => {}
                Wait::Closed => return Box::pin(self.finish()).await,
                Wait::Eof => return Ok(()),
                Wait::TimedOut => {
                    reply = Box::pin(self.exchange(ClientInput::InactivityTimeout)).await?;
                }
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
                // On a close, the session's reply (if any) would say the same.
                item = self.outbox.recv() => if !self.apply(item).await? {
                    break None;
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
            if self.inflate_pending()? {
                return Ok(Wait::Input);
            }
            let deflater_held = self
                .compression
                .as_ref()
                .is_some_and(|c| c.deflater.holds_state());
            // Between commands (and all through IDLE) a connection keeps only a small buffer:
            // most of a node's connections wait, and 4 KiB each adds up (docs/performance.md).
            // A command that does not fit grows it as it arrives.
            shrink_if_empty(&mut self.read_buf);
            let buf = match &mut self.compression {
                Some(c) => c.inflater.input_buffer(&mut self.read_buf),
                None => &mut self.read_buf,
            };
            shrink_if_empty(buf);
            buf.reserve(if buf.is_empty() {
                IDLE_READ
            } else {
                READ_CHUNK
            });
            tokio::select! {
                biased;
                item = self.outbox.recv() => if !Box::pin(self.apply(item)).await? {
                    return Ok(Wait::Closed);
                },
                read = self.stream.read_buf(buf) => {
                    let n = read?;
                    metrics::bytes_received(n);
                    if n == 0 {
                        return Ok(Wait::Eof);
                    }
                    self.inflate_pending()?;
                    return Ok(Wait::Input);
                }
                _ = sleep_until(deadline) => return Ok(Wait::TimedOut),
                // A quiet compressed connection gives its deflater back (deflate.rs).
                _ = sleep_if(deflater_held, Deflater::RELEASE_AFTER) => {
                    if let Some(c) = &mut self.compression {
                        c.deflater.release();
                    }
                }
            }
        }
    }

    /// Under compression, inflates what the client sent into the read buffer (one read's
    /// worth at a time); `true` when that produced input.
    fn inflate_pending(&mut self) -> Result<bool, ConnError> {
        let Some(compression) = &mut self.compression else {
            return Ok(false);
        };
        if !compression.inflater.has_pending() {
            return Ok(false);
        }
        Ok(compression
            .inflater
            .inflate(&mut self.read_buf, READ_CHUNK)?
            > 0)
    }

    /// Writes everything the session has queued so far (without waiting for more), then
    /// flushes: the caller is about to wait for the client or close.
    async fn write_queued(&mut self) -> Result<(), ConnError> {
        while let Some(item) = self.outbox.try_recv() {
            // A close is acted on by the caller, once its reply says so.
            self.apply(Some(item)).await?;
        }
        self.flush_output().await
    }

    /// Acts on one item from the outbox: writes data (flushing when nothing else is queued,
    /// so a client is never left waiting on bytes held back), switches compression on or
    /// off. `false` when the session has closed the connection.
    async fn apply(&mut self, item: Option<Outgoing>) -> Result<bool, ConnError> {
        match item {
            Some(Outgoing::Data(chunks)) => {
                let flush = self.outbox.is_empty();
                let result = self.write_chunks(&chunks, flush).await;
                // Counted as written even on failure, so producers waiting for room wake up.
                self.outbox.written(chunks.iter().map(Bytes::len).sum());
                result?;
            }
            Some(Outgoing::StartCompression) => self.start_compression().await?,
            Some(Outgoing::EndCompression) => self.end_compression().await?,
            Some(Outgoing::Close) | None => return Ok(false),
        }
        Ok(true)
    }

    /// Writes `chunks` (deflated under COMPRESS) and, if `flush`, makes sure the client has
    /// all of it. The write timeout runs from the last progress, not from the start: a client
    /// that reads a large answer slowly is served as long as it reads.
    async fn write_chunks(&mut self, chunks: &[Bytes], flush: bool) -> Result<(), ConnError> {
        let limit = self.write_timeout;
        match &mut self.compression {
            None => {
                for chunk in chunks {
                    write_all(&mut self.stream, chunk, limit).await?;
                }
            }
            Some(compression) => {
                // Output goes out in DEFLATE_OUT pieces as it is produced: a large body streams
                // through the deflater, and a client that stops reading stops it here.
                let deflater = &mut compression.deflater;
                let mut out = Vec::with_capacity(DEFLATE_OUT);
                for chunk in chunks {
                    let mut rest: &[u8] = chunk;
                    while !rest.is_empty() {
                        let taken = deflater.compress(rest, &mut out)?;
                        rest = &rest[taken..];
                        if out.len() == out.capacity() {
                            write_all(&mut self.stream, &out, limit).await?;
                            out.clear();
                        } else if taken == 0 {
                            // zlib always progresses with input and output room; never spin.
                            return Err(std::io::Error::other("deflate made no progress").into());
                        }
                    }
                }
                if flush {
                    while !deflater.sync_flush(&mut out)? {
                        write_all(&mut self.stream, &out, limit).await?;
                        out.clear();
                    }
                }
                write_all(&mut self.stream, &out, limit).await?;
            }
        }
        if flush {
            self.flush_stream().await?;
        }
        Ok(())
    }

    /// Makes sure everything written so far reaches the client (a sync flush under COMPRESS).
    async fn flush_output(&mut self) -> Result<(), ConnError> {
        self.write_chunks(&[], true).await
    }

    async fn flush_stream(&mut self) -> Result<(), ConnError> {
        let limit = self.write_timeout;
        timeout(limit, self.stream.flush())
            .await
            .map_err(|_| ConnError::WriteTimeout(limit))??;
        Ok(())
    }

    /// RFC 4978 section 3: the tagged OK (already written) was the last plain output, and
    /// the client compresses everything after the COMPRESS command; bytes it sent early are
    /// compressed too.
    async fn start_compression(&mut self) -> Result<(), ConnError> {
        self.flush_stream().await?;
        if self.compression.is_none() {
            let already_read = std::mem::take(&mut self.read_buf);
            self.compression = Some(Compression::start(already_read));
            tracing::debug!("COMPRESS=DEFLATE active");
        }
        Ok(())
    }

    /// RFC 8437 section 3: after UNAUTHENTICATE's OK the server ends its compression layer
    /// (a final block, so the client's inflater sees where it ends); the client's ends after
    /// the command's CRLF.
    async fn end_compression(&mut self) -> Result<(), ConnError> {
        let Some(mut compression) = self.compression.take() else {
            return Ok(());
        };
        let limit = self.write_timeout;
        let mut out = Vec::with_capacity(DEFLATE_OUT);
        while !compression.deflater.finish(&mut out)? {
            write_all(&mut self.stream, &out, limit).await?;
            out.clear();
        }
        write_all(&mut self.stream, &out, limit).await?;
        self.flush_stream().await?;
        compression.inflater.into_plain(&mut self.read_buf);
        tracing::debug!("COMPRESS=DEFLATE ended");
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
        if self.compression.is_some() {
            // Not reachable through the session's states (STARTTLS is refused once logged
            // in, and UNAUTHENTICATE ends compression); TLS under DEFLATE would invert RFC
            // 4978's layer order.
            return Err(ConnError::Handshake("STARTTLS under COMPRESS".into()));
        }
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
        // Boxed: the handshake's state (a whole rustls connection) would otherwise take room
        // in every connection's task for its whole life (docs/performance.md, idle memory).
        let tls = Box::pin(timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)))
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

/// Gives back a grown buffer that holds nothing.
fn shrink_if_empty(buf: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() > IDLE_READ {
        *buf = BytesMut::new();
    }
}

async fn sleep_if(armed: bool, period: Duration) {
    if armed {
        tokio::time::sleep(period).await;
    } else {
        std::future::pending().await
    }
}

/// Writes all of `bytes`, each write allowed `limit` to make progress.
async fn write_all(stream: &mut Stream, bytes: &[u8], limit: Duration) -> Result<(), ConnError> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = timeout(limit, stream.write(rest))
            .await
            .map_err(|_| ConnError::WriteTimeout(limit))??;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
        }
        rest = &rest[n..];
        metrics::bytes_sent(n);
    }
    Ok(())
}
