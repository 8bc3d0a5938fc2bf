//! A minimal IMAP client over plain TCP built on roost-proto: commands are written with
//! [`roost_proto::encode::write_command`] and every server byte goes through
//! [`ResponseDecoder`], so a response that does not parse is caught and counted.
//!
//! The client tracks what the measurements need and nothing more: the capabilities (for
//! `LITERAL+`, `UIDPLUS`, `MULTIAPPEND`) and the selected mailbox's message count, kept up to
//! date from every `EXISTS` and `EXPUNGE` the server sends.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use bytes::BytesMut;
use roost_proto::encode::{command_to_vec, write_command, CommandFragment, LiteralMode};
use roost_proto::response::{ResponseContext, ResponseDecoder};
use roost_proto::{
    Code, Command, CommandBody, Data, FetchValue, MailboxName, Response, Secret, SelectParams,
    Status, StatusKind, Tag,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::transport::{Connector, Transport};

/// Why a command did not give the answer it should have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImapError {
    No(String),
    Bad(String),
    Parse(String),
    Unexpected(String),
    Io(String),
    Bye(String),
    Timeout,
}

impl fmt::Display for ImapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImapError::No(t) => write!(f, "NO {t}"),
            ImapError::Bad(t) => write!(f, "BAD {t}"),
            ImapError::Parse(t) => write!(f, "unparsable response: {t}"),
            ImapError::Unexpected(t) => write!(f, "wrong answer: {t}"),
            ImapError::Io(t) => write!(f, "connection: {t}"),
            ImapError::Bye(t) => write!(f, "BYE {t}"),
            ImapError::Timeout => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for ImapError {}

impl From<std::io::Error> for ImapError {
    fn from(e: std::io::Error) -> Self {
        ImapError::Io(e.to_string())
    }
}

/// A completed command: its untagged responses and the tagged `OK`.
#[derive(Debug, Default)]
pub struct Reply {
    pub untagged: Vec<Response>,
    pub code: Option<Code>,
}

impl Reply {
    /// The `FETCH` responses: sequence number and items.
    pub fn fetches(&self) -> impl Iterator<Item = (u32, &[FetchValue])> {
        self.untagged.iter().filter_map(|r| match r {
            Response::Data(Data::Fetch { seq, items }) => Some((*seq, items.as_slice())),
            _ => None,
        })
    }

    pub fn expunged(&self) -> usize {
        self.untagged
            .iter()
            .filter(|r| matches!(r, Response::Data(Data::Expunge(_))))
            .count()
    }

    /// A response code from the tagged OK or an untagged OK (`UIDVALIDITY` comes untagged).
    pub fn find_code<T>(&self, f: impl Fn(&Code) -> Option<T>) -> Option<T> {
        let untagged = self.untagged.iter().filter_map(|r| match r {
            Response::Status(Status::Untagged { code: Some(c), .. }) => Some(c),
            _ => None,
        });
        self.code.iter().chain(untagged).find_map(f)
    }
}

/// One IMAP connection.
pub struct Conn {
    stream: Transport,
    buf: BytesMut,
    decoder: ResponseDecoder,
    next_tag: u64,
    caps: HashSet<String>,
    /// How long any one command may take.
    pub timeout: Duration,
    /// Messages in the selected mailbox as this session knows it.
    pub exists: u32,
    /// The tag of an IDLE in progress.
    idle_tag: Option<Tag>,
}

impl Conn {
    /// Connects over plain TCP and reads the greeting, which must be `* OK`.
    ///
    /// # Errors
    /// As [`Conn::connect_via`].
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Conn, ImapError> {
        Self::connect_via(&Connector::default(), addr, timeout).await
    }

    /// Connects through `connector` (plain or TLS, from which source address) and reads the
    /// greeting, which must be `* OK`.
    ///
    /// # Errors
    /// When the connection or the TLS handshake fails, or the greeting is not `OK`.
    pub async fn connect_via(
        connector: &Connector,
        addr: &str,
        timeout: Duration,
    ) -> Result<Conn, ImapError> {
        let connect = async {
            let stream = connector.connect(addr).await?;
            let mut conn = Conn {
                stream,
                buf: BytesMut::with_capacity(16 * 1024),
                decoder: ResponseDecoder::new(response_context()),
                next_tag: 0,
                caps: HashSet::new(),
                timeout,
                exists: 0,
                idle_tag: None,
            };
            match conn.read_response().await? {
                Response::Status(Status::Untagged {
                    kind: StatusKind::Ok,
                    ..
                }) => Ok(conn),
                other => Err(ImapError::Unexpected(format!("greeting {other:?}"))),
            }
        };
        tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| ImapError::Timeout)?
    }

    pub fn has_cap(&self, cap: &str) -> bool {
        self.caps.contains(&cap.to_ascii_uppercase())
    }

    /// Reads capabilities with `CAPABILITY` unless the server already announced them.
    ///
    /// # Errors
    /// As [`Conn::run`].
    pub async fn ensure_caps(&mut self) -> Result<(), ImapError> {
        if self.caps.is_empty() {
            self.run(CommandBody::Capability).await?;
        }
        Ok(())
    }

    /// `LOGIN user password`; the capabilities are re-read afterwards when the server did not
    /// include them in its answer.
    ///
    /// # Errors
    /// As [`Conn::run`].
    pub async fn login(&mut self, user: &str, password: &str) -> Result<Reply, ImapError> {
        self.caps.clear();
        self.run(CommandBody::Login {
            username: user.as_bytes().to_vec(),
            password: Secret::new(password.as_bytes().to_vec()),
        })
        .await
    }

    /// `SELECT mailbox`; checks the answer has `EXISTS` and `UIDVALIDITY`.
    ///
    /// # Errors
    /// As [`Conn::run`], and [`ImapError::Unexpected`] when required data is missing.
    pub async fn select(&mut self, mailbox: &str) -> Result<Reply, ImapError> {
        let reply = self
            .run(CommandBody::Select {
                mailbox: MailboxName::from_wire(mailbox),
                params: SelectParams::default(),
            })
            .await?;
        let has_exists = reply
            .untagged
            .iter()
            .any(|r| matches!(r, Response::Data(Data::Exists(_))));
        let has_validity = reply
            .find_code(|c| matches!(c, Code::UidValidity(_)).then_some(()))
            .is_some();
        if !has_exists || !has_validity {
            return Err(ImapError::Unexpected(
                "SELECT without EXISTS or UIDVALIDITY".into(),
            ));
        }
        Ok(reply)
    }

    /// Sends a command and collects everything up to its tagged completion.
    ///
    /// # Errors
    /// `NO` and `BAD` completions, responses that do not parse (after reading on to the
    /// completion, so the connection stays usable), a `BYE` (except for `LOGOUT`), I/O
    /// failures and the timeout.
    pub async fn run(&mut self, body: CommandBody) -> Result<Reply, ImapError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.run_inner(body))
            .await
            .map_err(|_| ImapError::Timeout)?
    }

    fn tag(&mut self) -> Tag {
        self.next_tag += 1;
        Tag::new(format!("b{}", self.next_tag)).expect("b<number> is a valid tag")
    }

    async fn run_inner(&mut self, body: CommandBody) -> Result<Reply, ImapError> {
        let logout = matches!(body, CommandBody::Logout);
        let cmd = Command {
            tag: self.tag(),
            body,
        };
        let mut reply = Reply::default();
        let mut parse_error = None;
        if self.has_cap("LITERAL+") {
            self.stream.write_all(&command_to_vec(&cmd)).await?;
        } else {
            let frags = write_command(&cmd, LiteralMode::Sync);
            for (i, frag) in frags.iter().enumerate() {
                match frag {
                    CommandFragment::Line(l) => self.stream.write_all(l).await?,
                    CommandFragment::Literal(d) => self.stream.write_all(d).await?,
                }
                let announces = matches!(frag, CommandFragment::Line(_))
                    && matches!(frags.get(i + 1), Some(CommandFragment::Literal(_)));
                if announces
                    && self
                        .collect_until(&cmd.tag, true, logout, &mut reply, &mut parse_error)
                        .await?
                {
                    // The server completed the command instead of asking for the literal.
                    return finish(reply, parse_error);
                }
            }
        }
        self.collect_until(&cmd.tag, false, logout, &mut reply, &mut parse_error)
            .await?;
        finish(reply, parse_error)
    }

    /// Reads responses into `reply` until the tagged completion of `tag` (returns true) or,
    /// when `continuation` is set, a `+` (returns false).
    async fn collect_until(
        &mut self,
        tag: &Tag,
        continuation: bool,
        logout: bool,
        reply: &mut Reply,
        parse_error: &mut Option<String>,
    ) -> Result<bool, ImapError> {
        loop {
            let response = match self.read_response().await {
                Ok(r) => r,
                Err(ImapError::Parse(e)) => {
                    parse_error.get_or_insert(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match response {
                Response::Continue(_) if continuation => return Ok(false),
                Response::Status(Status::Tagged {
                    tag: t,
                    kind,
                    code,
                    text,
                }) => {
                    if &t != tag {
                        return Err(ImapError::Unexpected(format!("completion of tag {t}")));
                    }
                    match kind {
                        StatusKind::Ok => {
                            reply.code = code;
                            return Ok(true);
                        }
                        StatusKind::No => return Err(ImapError::No(text)),
                        StatusKind::Bad => return Err(ImapError::Bad(text)),
                    }
                }
                Response::Status(Status::Bye { text, .. }) if !logout => {
                    return Err(ImapError::Bye(text))
                }
                other => reply.untagged.push(other),
            }
        }
    }

    /// Reads and decodes the next response, noting capabilities and message counts.
    async fn read_response(&mut self) -> Result<Response, ImapError> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(r)) => {
                    self.observe(&r);
                    return Ok(r);
                }
                Ok(None) => {}
                Err(e) => return Err(ImapError::Parse(e.to_string())),
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(ImapError::Io("connection closed by the server".into()));
            }
        }
    }

    fn observe(&mut self, r: &Response) {
        let caps = match r {
            Response::Data(Data::Capability(c)) => Some(c),
            Response::Status(
                Status::Tagged { code, .. }
                | Status::Untagged { code, .. }
                | Status::PreAuth { code, .. },
            ) => match code {
                Some(Code::Capability(c)) => Some(c),
                _ => None,
            },
            Response::Data(Data::Exists(n)) => {
                self.exists = *n;
                None
            }
            Response::Data(Data::Expunge(_)) => {
                self.exists = self.exists.saturating_sub(1);
                None
            }
            _ => None,
        };
        if let Some(c) = caps {
            self.caps = c.iter().map(|a| a.as_str().to_ascii_uppercase()).collect();
        }
    }

    /// Sends `IDLE` and waits for the server's `+`.
    ///
    /// # Errors
    /// As [`Conn::run`]; also when the server completes the command instead.
    pub async fn idle_start(&mut self) -> Result<(), ImapError> {
        let tag = self.tag();
        let line = command_to_vec(&Command {
            tag: tag.clone(),
            body: CommandBody::Idle,
        });
        let timeout = self.timeout;
        let start = async {
            self.stream.write_all(&line).await?;
            let (mut reply, mut parse_error) = (Reply::default(), None);
            if self
                .collect_until(&tag, true, false, &mut reply, &mut parse_error)
                .await?
            {
                return Err(ImapError::Unexpected("IDLE completed without +".into()));
            }
            Ok(())
        };
        tokio::time::timeout(timeout, start)
            .await
            .map_err(|_| ImapError::Timeout)??;
        self.idle_tag = Some(tag);
        Ok(())
    }

    /// During IDLE: the next response, or `None` when nothing came within `wait`.
    ///
    /// # Errors
    /// Parse and connection errors, and any tagged response (IDLE ends only with `DONE`).
    pub async fn idle_next(&mut self, wait: Duration) -> Result<Option<Response>, ImapError> {
        match tokio::time::timeout(wait, self.read_response()).await {
            Err(_) => Ok(None),
            Ok(Ok(Response::Status(Status::Bye { text, .. }))) => Err(ImapError::Bye(text)),
            Ok(Ok(r @ Response::Status(Status::Tagged { .. }))) => Err(ImapError::Unexpected(
                format!("tagged response during IDLE: {r:?}"),
            )),
            Ok(r) => r.map(Some),
        }
    }

    /// Ends IDLE with `DONE` and waits for the completion.
    ///
    /// # Errors
    /// As [`Conn::run`].
    pub async fn idle_done(&mut self) -> Result<Reply, ImapError> {
        let tag = self
            .idle_tag
            .take()
            .ok_or_else(|| ImapError::Unexpected("DONE without IDLE".into()))?;
        let timeout = self.timeout;
        let done = async {
            self.stream.write_all(b"DONE\r\n").await?;
            let (mut reply, mut parse_error) = (Reply::default(), None);
            self.collect_until(&tag, false, false, &mut reply, &mut parse_error)
                .await?;
            finish(reply, parse_error)
        };
        tokio::time::timeout(timeout, done)
            .await
            .map_err(|_| ImapError::Timeout)?
    }

    /// Whether the response is the `EXISTS` of a new message.
    pub fn is_exists(r: &Response) -> bool {
        matches!(r, Response::Data(Data::Exists(_)))
    }
}

fn finish(reply: Reply, parse_error: Option<String>) -> Result<Reply, ImapError> {
    match parse_error {
        Some(e) => Err(ImapError::Parse(e)),
        None => Ok(reply),
    }
}

/// What the load generator accepts from a server: a SEARCH, SORT or THREAD answer of a
/// 100,000-message mailbox is one line of several hundred kilobytes, and a THREAD of long
/// reply chains nests deeply.
fn response_context() -> ResponseContext {
    ResponseContext {
        limits: roost_proto::Limits {
            max_line: 16 << 20,
            max_depth: 1_000,
            ..roost_proto::Limits::default()
        },
        ..ResponseContext::default()
    }
}
