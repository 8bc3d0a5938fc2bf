//! One LMTP connection: the RFC 2033 dialogue (RFC 5321 commands, LHLO instead of EHLO, one
//! reply per accepted recipient after the message), with PIPELINING, CHUNKING (BDAT),
//! SIZE, 8BITMIME, SMTPUTF8 and ENHANCEDSTATUSCODES.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::command::{self, Command, MailFrom, ParseError};
use super::deliver::deliver;
use super::recipient::{self, Refused};
use super::reply::Reply;
use super::spool::Spool;
use super::Lmtp;

/// Longest command line (RFC 5321 section 4.5.3.1.4 allows 512; some clients send more).
const MAX_COMMAND_LINE: usize = 4096;
/// Message lines are read in pieces of at most this much (a longer line is still accepted).
const DATA_PIECE: u64 = 64 * 1024;
/// Failed commands before the connection is closed.
const MAX_ERRORS: u32 = 20;

/// The transaction being built: `MAIL`, `RCPT`s, then the message.
#[derive(Default)]
struct Transaction {
    from: Option<MailFrom>,
    recipients: Vec<recipient::Recipient>,
    /// The message as received so far (on disk, not in memory).
    body: Option<Spool>,
    chunked: bool,
    too_big: bool,
    /// Why the message could not be kept (the spool file failed): every recipient gets 451.
    failed: Option<String>,
}

enum Read {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

/// Why the conversation ends early.
enum End {
    Closed,
    TimedOut,
}

pub async fn serve<S>(stream: S, lmtp: Arc<Lmtp>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (reader, mut writer) = tokio::io::split(stream);
    let mut input = BufReader::new(reader);
    let mut conversation = Conversation {
        lmtp: lmtp.clone(),
        tx: Transaction::default(),
        greeted: false,
        errors: 0,
        out: Vec::new(),
    };
    let host = &lmtp.shared.config.node_id;
    conversation.say(Reply::new(220, "2.0.0", format!("{host} Roost LMTP ready")));
    let ended = conversation.run(&mut input, &mut writer).await;
    if let Err(End::TimedOut) = ended {
        conversation.say(Reply::new(421, "4.4.2", "timeout, closing"));
    }
    let _ = writer.write_all(&conversation.out).await;
    let _ = writer.shutdown().await;
}

struct Conversation {
    lmtp: Arc<Lmtp>,
    tx: Transaction,
    greeted: bool,
    errors: u32,
    /// Replies not yet written: with PIPELINING they go out when the client's input runs dry.
    out: Vec<u8>,
}

impl Conversation {
    fn say(&mut self, reply: Reply) {
        self.out.extend_from_slice(reply.to_string().as_bytes());
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.lmtp.shared.config.lmtp.timeout_secs.max(1))
    }

    async fn run<R, W>(&mut self, input: &mut BufReader<R>, out: &mut W) -> Result<(), End>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        loop {
            if input.buffer().is_empty() && !self.out.is_empty() {
                out.write_all(&self.out).await.map_err(|_| End::Closed)?;
                out.flush().await.map_err(|_| End::Closed)?;
                self.out.clear();
            }
            let line = match tokio::time::timeout(self.timeout(), read_line(input)).await {
                Err(_) => return Err(End::TimedOut),
                Ok(Read::Closed) => return Err(End::Closed),
                Ok(Read::TooLong) => {
                    self.error(Reply::new(500, "5.5.2", "line too long"))?;
                    continue;
                }
                Ok(Read::Line(line)) => line,
            };
            match command::parse(&line) {
                Ok(Command::Quit) => {
                    self.say(Reply::new(221, "2.0.0", "bye"));
                    return Ok(());
                }
                Ok(command) => self.command(command, input, out).await?,
                Err(ParseError::Unknown) => {
                    self.error(Reply::new(500, "5.5.1", "unknown command"))?;
                }
                Err(ParseError::Syntax(why)) => self.error(Reply::new(501, "5.5.4", why))?,
                Err(ParseError::Parameter(p)) => {
                    self.error(Reply::new(
                        555,
                        "5.5.4",
                        format!("unsupported parameter {p}"),
                    ))?;
                }
            }
        }
    }

    /// A refused command; after [`MAX_ERRORS`] the client is told goodbye.
    fn error(&mut self, reply: Reply) -> Result<(), End> {
        self.say(reply);
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.say(Reply::new(421, "4.7.0", "too many errors, closing"));
            return Err(End::Closed);
        }
        Ok(())
    }

    async fn command<R, W>(
        &mut self,
        command: Command,
        input: &mut BufReader<R>,
        out: &mut W,
    ) -> Result<(), End>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let max = self.lmtp.max_message_size;
        match command {
            Command::Lhlo(_) => {
                self.greeted = true;
                self.tx = Transaction::default();
                let host = self.lmtp.shared.config.node_id.clone();
                for line in [
                    host.as_str(),
                    "PIPELINING",
                    "ENHANCEDSTATUSCODES",
                    "8BITMIME",
                    "SMTPUTF8",
                    "CHUNKING",
                ] {
                    self.out
                        .extend_from_slice(format!("250-{line}\r\n").as_bytes());
                }
                self.out
                    .extend_from_slice(format!("250 SIZE {max}\r\n").as_bytes());
            }
            Command::SmtpHello => {
                self.error(Reply::new(500, "5.5.1", "this is LMTP: say LHLO"))?;
            }
            Command::Mail(from) => {
                if !self.greeted {
                    return self.error(Reply::new(503, "5.5.1", "say LHLO first"));
                }
                if self.tx.from.is_some() {
                    return self.error(Reply::new(503, "5.5.1", "a transaction is already open"));
                }
                if from.size.is_some_and(|size| size > max) {
                    return self.error(Reply::new(
                        552,
                        "5.3.4",
                        format!("message size exceeds the limit of {max} octets"),
                    ));
                }
                if from.body.as_deref() == Some("BINARYMIME") {
                    return self.error(Reply::new(555, "5.5.4", "BINARYMIME is not supported"));
                }
                self.tx.from = Some(from);
                self.say(Reply::new(250, "2.1.0", "sender ok"));
            }
            Command::Rcpt(address) => self.recipient(address).await?,
            Command::Data => {
                if let Some(refusal) = self.not_ready_for_data() {
                    return self.error(refusal);
                }
                self.say(Reply::new(354, "2.0.0", "go ahead, end with <CRLF>.<CRLF>"));
                out.write_all(&self.out).await.map_err(|_| End::Closed)?;
                out.flush().await.map_err(|_| End::Closed)?;
                self.out.clear();
                let timeout = self.timeout();
                let lmtp = self.lmtp.clone();
                read_data(input, &mut self.tx, &lmtp, timeout).await?;
                self.finish().await;
            }
            Command::Bdat { size, last } => {
                let refusal = self.not_ready_for_data().filter(|_| !self.tx.chunked);
                let timeout = self.timeout();
                let lmtp = self.lmtp.clone();
                // The chunk's octets follow the command whatever the answer: read them all.
                read_chunk(input, &mut self.tx, &lmtp, size, refusal.is_none(), timeout).await?;
                if let Some(refusal) = refusal {
                    return self.error(refusal);
                }
                self.tx.chunked = true;
                if last {
                    self.finish().await;
                } else {
                    self.say(Reply::new(250, "2.0.0", format!("{size} octets received")));
                }
            }
            Command::Rset => {
                self.tx = Transaction::default();
                self.say(Reply::new(250, "2.0.0", "ok"));
            }
            Command::Noop => self.say(Reply::new(250, "2.0.0", "ok")),
            Command::Vrfy => self.say(Reply::new(252, "2.5.2", "cannot verify, but will accept")),
            Command::Help => self.say(Reply::new(214, "2.0.0", "RFC 2033 LMTP")),
            Command::Quit => {}
        }
        Ok(())
    }

    async fn recipient(&mut self, address: String) -> Result<(), End> {
        if self.tx.from.is_none() {
            return self.error(Reply::new(503, "5.5.1", "MAIL first"));
        }
        if self.tx.chunked {
            return self.error(Reply::new(503, "5.5.1", "RCPT after BDAT"));
        }
        let config = &self.lmtp.shared.config.lmtp;
        if self.tx.recipients.len() >= config.max_recipients {
            self.say(Reply::new(452, "4.5.3", "too many recipients"));
            return Ok(());
        }
        match recipient::resolve(&address, config, &self.lmtp.shared.auth).await {
            Ok(rcpt) => {
                self.say(Reply::new(250, "2.1.5", format!("<{address}> ok")));
                self.tx.recipients.push(rcpt);
            }
            Err(Refused::Unknown) => {
                self.say(Reply::new(
                    550,
                    "5.1.1",
                    format!("<{address}> no such user"),
                ));
            }
            Err(Refused::Domain(domain)) => self.say(Reply::new(
                550,
                "5.1.2",
                format!("<{address}> mail for {domain} is not delivered here"),
            )),
            Err(Refused::Unavailable) => self.say(Reply::new(
                451,
                "4.3.0",
                format!("<{address}> user database unavailable, try again later"),
            )),
        }
        Ok(())
    }

    fn not_ready_for_data(&self) -> Option<Reply> {
        if self.tx.from.is_none() {
            Some(Reply::new(503, "5.5.1", "MAIL first"))
        } else if self.tx.recipients.is_empty() {
            Some(Reply::new(503, "5.5.1", "no valid recipients"))
        } else {
            None
        }
    }

    /// The message is complete: one reply per accepted recipient, in `RCPT` order, each sent
    /// only once that recipient's copy is durable.
    async fn finish(&mut self) {
        let tx = std::mem::take(&mut self.tx);
        // One trace per transaction: each recipient's append carries it to the owner node.
        let span = tracing::info_span!(
            "lmtp.transaction",
            otel.kind = "server",
            recipients = tx.recipients.len()
        );
        tracing::Instrument::instrument(self.deliver_all(tx), span).await;
    }

    async fn deliver_all(&mut self, tx: Transaction) {
        let max = self.lmtp.max_message_size;
        let replies = self.refusal_for_all(&tx, max);
        if let Some(reply) = replies {
            for _ in &tx.recipients {
                self.say(reply.clone());
            }
            return;
        }
        let size = tx.body.as_ref().map_or(0, Spool::len);
        // Memory only for the moments of delivery, within the node's budget.
        let _memory = self
            .lmtp
            .reserve(usize::try_from(size).unwrap_or(usize::MAX))
            .await;
        let message = match tx.body {
            Some(spool) => spool.into_bytes().await,
            None => Ok(Bytes::new()),
        };
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(error = %e, "cannot read back a spooled LMTP message");
                for _ in &tx.recipients {
                    self.say(Reply::new(
                        451,
                        "4.3.0",
                        "temporary storage failure, try again later",
                    ));
                }
                return;
            }
        };
        let sender = tx.from.map(|f| f.address).unwrap_or_default();
        let config = &self.lmtp.shared.config.lmtp;
        for rcpt in &tx.recipients {
            let reply = deliver(
                &self.lmtp.shared,
                config,
                &self.lmtp.dedupe,
                rcpt,
                &sender,
                &message,
            )
            .await;
            self.out.extend_from_slice(reply.to_string().as_bytes());
        }
    }

    /// The one reply every recipient gets when the message cannot be delivered at all.
    fn refusal_for_all(&self, tx: &Transaction, max: u64) -> Option<Reply> {
        if tx.too_big {
            return Some(Reply::new(
                552,
                "5.3.4",
                format!("message size exceeds the limit of {max} octets"),
            ));
        }
        tx.failed.as_ref().map(|why| {
            tracing::error!(error = %why, "cannot spool an LMTP message");
            Reply::new(451, "4.3.0", "temporary storage failure, try again later")
        })
    }
}

/// One command line, without its line end. A longer line is skipped up to its end.
async fn read_line<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> Read {
    let mut line = Vec::new();
    let limit = MAX_COMMAND_LINE as u64 + 2;
    match (&mut *input).take(limit).read_until(b'\n', &mut line).await {
        Ok(0) | Err(_) => return Read::Closed,
        Ok(_) => {}
    }
    if !line.ends_with(b"\n") {
        // Skip the rest of the overlong line.
        loop {
            line.clear();
            match (&mut *input).take(limit).read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return Read::Closed,
                Ok(_) if line.ends_with(b"\n") => return Read::TooLong,
                Ok(_) => {}
            }
        }
    }
    line.pop();
    if line.ends_with(b"\r") {
        line.pop();
    }
    Read::Line(line)
}

/// Adds a piece of the message to the transaction's spool file; past the size limit the
/// spool is dropped and the transaction only remembers it was too big.
async fn keep(tx: &mut Transaction, lmtp: &Lmtp, piece: &[u8]) {
    if tx.too_big || tx.failed.is_some() {
        return;
    }
    let size = tx.body.as_ref().map_or(0, Spool::len);
    if size + piece.len() as u64 > lmtp.max_message_size {
        tx.too_big = true;
        tx.body = None;
        return;
    }
    if tx.body.is_none() {
        match Spool::create(&lmtp.spool_dir).await {
            Ok(spool) => tx.body = Some(spool),
            Err(e) => {
                tx.failed = Some(format!("{}: {e}", lmtp.spool_dir.display()));
                return;
            }
        }
    }
    if let Some(spool) = &mut tx.body {
        if let Err(e) = spool.write(piece).await {
            tx.failed = Some(e.to_string());
            tx.body = None;
        }
    }
}

/// The message after `DATA`: dot-unstuffed, up to the line `.`; line ends made CRLF.
async fn read_data<R: AsyncRead + Unpin>(
    input: &mut BufReader<R>,
    tx: &mut Transaction,
    lmtp: &Lmtp,
    timeout: Duration,
) -> Result<(), End> {
    let mut line = Vec::new();
    let mut at_line_start = true;
    loop {
        line.clear();
        let mut piece_reader = (&mut *input).take(DATA_PIECE);
        let read = piece_reader.read_until(b'\n', &mut line);
        match tokio::time::timeout(timeout, read).await {
            Err(_) => return Err(End::TimedOut),
            Ok(Ok(0) | Err(_)) => return Err(End::Closed),
            Ok(Ok(_)) => {}
        }
        let complete = line.ends_with(b"\n");
        if at_line_start && line == b".\r\n" {
            return Ok(());
        }
        let mut piece: &[u8] = &line;
        if at_line_start && piece.starts_with(b".") {
            piece = &piece[1..];
        }
        if complete && !piece.ends_with(b"\r\n") {
            // A bare LF ends a line in the stored message as CRLF, as IMAP requires.
            keep(tx, lmtp, &piece[..piece.len() - 1]).await;
            keep(tx, lmtp, b"\r\n").await;
        } else {
            keep(tx, lmtp, piece).await;
        }
        at_line_start = complete;
    }
}

/// The `size` octets of one BDAT chunk, kept when `keep_it`.
async fn read_chunk<R: AsyncRead + Unpin>(
    input: &mut BufReader<R>,
    tx: &mut Transaction,
    lmtp: &Lmtp,
    size: u64,
    keep_it: bool,
    timeout: Duration,
) -> Result<(), End> {
    let mut left = size;
    let mut buf = vec![0u8; DATA_PIECE as usize];
    while left > 0 {
        let want = left.min(DATA_PIECE) as usize;
        let read = input.read(&mut buf[..want]);
        let n = match tokio::time::timeout(timeout, read).await {
            Err(_) => return Err(End::TimedOut),
            Ok(Ok(0) | Err(_)) => return Err(End::Closed),
            Ok(Ok(n)) => n,
        };
        if keep_it {
            keep(tx, lmtp, &buf[..n]).await;
        }
        left -= n as u64;
    }
    Ok(())
}
