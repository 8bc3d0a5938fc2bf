//! The IMAP client both ends of an import speak: typed commands out through roost-proto's
//! command writer, every server byte in through its response decoder.
//!
//! It runs one command at a time and hands each untagged response to the caller as it
//! arrives, so a `FETCH` of 100,000 messages is never collected in memory.

use std::collections::HashSet;

use bytes::BytesMut;
use roost_proto::encode::{write_command, CommandFragment, LiteralMode};
use roost_proto::response::{ResponseContext, ResponseDecoder, ResponseError};
use roost_proto::{
    Code, Command, CommandBody, Data, FetchAttribute, FetchItems, FetchModifiers, FetchValue,
    Limits, MailboxName, Response, SelectParams, SequenceSet, Status, StatusKind, Tag,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Any byte stream an IMAP session runs over (Unix socket, TCP, TLS).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{command} was refused: {kind:?} {text}")]
    Refused {
        command: &'static str,
        kind: StatusKind,
        /// Boxed: most refusals have none, and a code can be large.
        code: Option<Box<Code>>,
        text: String,
    },
    #[error("the server closed the session: {0}")]
    Bye(String),
    #[error("the server greeted with {0}")]
    Greeting(String),
    #[error("unreadable server response: {0}")]
    Response(#[from] ResponseError),
    #[error("the server answered out of turn: {0}")]
    OutOfTurn(String),
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The response code of a refusal (`ALREADYEXISTS`, `TOOBIG`, ...).
    pub fn code(&self) -> Option<&Code> {
        match self {
            ClientError::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// How the server opened the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    /// `* OK`: log in first.
    Ok,
    /// `* PREAUTH`: already logged in (Roost's control socket).
    PreAuth,
}

/// Message bodies from another server can be large; the decoder's limits are for servers
/// guarding against clients, not the other way round.
fn client_limits() -> Limits {
    Limits {
        max_literal: 1 << 30,
        max_command: 2 << 30,
        ..Limits::default()
    }
}

pub struct ImapClient {
    io: Box<dyn Io>,
    buf: BytesMut,
    decoder: ResponseDecoder,
    next_tag: u64,
    capabilities: HashSet<String>,
}

impl ImapClient {
    /// Reads the greeting.
    ///
    /// # Errors
    /// When the connection fails or the greeting is a `BYE`.
    pub async fn open(io: Box<dyn Io>) -> Result<(ImapClient, Greeting), ClientError> {
        let mut client = ImapClient {
            io,
            buf: BytesMut::with_capacity(64 * 1024),
            decoder: ResponseDecoder::new(ResponseContext {
                limits: client_limits(),
                ..ResponseContext::default()
            }),
            next_tag: 0,
            capabilities: HashSet::new(),
        };
        let greeting = match client.read().await? {
            Response::Status(Status::Untagged {
                kind: StatusKind::Ok,
                ..
            }) => Greeting::Ok,
            Response::Status(Status::PreAuth { .. }) => Greeting::PreAuth,
            other => return Err(ClientError::Greeting(format!("{other:?}"))),
        };
        Ok((client, greeting))
    }

    /// Asks for the capabilities (after login they may differ from the greeting's).
    ///
    /// # Errors
    /// As [`ImapClient::run`].
    pub async fn refresh_capabilities(&mut self) -> Result<(), ClientError> {
        self.run(CommandBody::Capability, |_| {}).await.map(|_| ())
    }

    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.contains(&capability.to_ascii_uppercase())
    }

    /// Sends a command and passes each untagged response to `untagged` until the tagged
    /// completion; returns the completion's response code.
    ///
    /// # Errors
    /// `NO`/`BAD` as [`ClientError::Refused`], a `BYE` (except after `LOGOUT`), unreadable
    /// responses and I/O failures.
    pub async fn run(
        &mut self,
        body: CommandBody,
        mut untagged: impl FnMut(Response),
    ) -> Result<Option<Code>, ClientError> {
        self.next_tag += 1;
        let tag = Tag::new(format!("i{}", self.next_tag)).expect("i<number> is a valid tag");
        let command = body.name();
        let logout = matches!(body, CommandBody::Logout);
        let mode = if self.has("LITERAL+") {
            LiteralMode::NonSync
        } else {
            LiteralMode::Sync
        };
        let cmd = Command {
            tag: tag.clone(),
            body,
        };
        let fragments = write_command(&cmd, mode);
        let mut pending = fragments.iter().peekable();
        while let Some(fragment) = pending.next() {
            let bytes = match fragment {
                CommandFragment::Line(line) => line.as_slice(),
                CommandFragment::Literal(data) => data.as_ref(),
            };
            self.io.write_all(bytes).await?;
            let announces_literal = matches!(fragment, CommandFragment::Line(_))
                && matches!(pending.peek(), Some(CommandFragment::Literal(_)));
            if announces_literal && mode == LiteralMode::Sync {
                self.io.flush().await?;
                // Either `+ go ahead` or the command's (failed) completion.
                if let Some(done) = self
                    .until(&tag, command, logout, true, &mut untagged)
                    .await?
                {
                    return Ok(done);
                }
            }
        }
        self.io.flush().await?;
        Ok(self
            .until(&tag, command, logout, false, &mut untagged)
            .await?
            .flatten())
    }

    /// Reads until the completion of `tag` (`Some(code)`) or, when `continuation` is set, a
    /// `+` (`None`).
    async fn until(
        &mut self,
        tag: &Tag,
        command: &'static str,
        logout: bool,
        continuation: bool,
        untagged: &mut impl FnMut(Response),
    ) -> Result<Option<Option<Code>>, ClientError> {
        loop {
            match self.read().await? {
                Response::Continue(_) if continuation => return Ok(None),
                Response::Status(status @ Status::Tagged { .. }) => {
                    return completion(tag, command, status).map(Some);
                }
                Response::Status(Status::Bye { text, .. }) if !logout => {
                    return Err(ClientError::Bye(text))
                }
                other => untagged(other),
            }
        }
    }

    /// The next response, noting capabilities as they are announced.
    async fn read(&mut self) -> Result<Response, ClientError> {
        loop {
            if let Some(response) = self.decoder.decode(&mut self.buf)? {
                self.note_capabilities(&response);
                return Ok(response);
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(ClientError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
        }
    }

    fn note_capabilities(&mut self, response: &Response) {
        let announced = match response {
            Response::Data(Data::Capability(c)) => c,
            Response::Status(
                Status::Tagged { code, .. }
                | Status::Untagged { code, .. }
                | Status::PreAuth { code, .. },
            ) => match code {
                Some(Code::Capability(c)) => c,
                _ => return,
            },
            _ => return,
        };
        self.capabilities = announced
            .iter()
            .map(|a| a.as_str().to_ascii_uppercase())
            .collect();
    }

    /// `EXAMINE name` (read-only, flags stay as they are); returns the message count.
    ///
    /// # Errors
    /// As [`ImapClient::run`].
    pub async fn examine(&mut self, name: &MailboxName) -> Result<u32, ClientError> {
        let mut exists = 0;
        self.run(
            CommandBody::Examine {
                mailbox: name.clone(),
                params: SelectParams::default(),
            },
            |r| {
                if let Response::Data(Data::Exists(n)) = r {
                    exists = n;
                }
            },
        )
        .await?;
        Ok(exists)
    }

    /// `UID FETCH set (items)` on the selected mailbox; `each` gets every message's items.
    ///
    /// # Errors
    /// As [`ImapClient::run`].
    pub async fn uid_fetch(
        &mut self,
        set: SequenceSet,
        items: Vec<FetchAttribute>,
        mut each: impl FnMut(Vec<FetchValue>),
    ) -> Result<(), ClientError> {
        let body = CommandBody::Fetch {
            uid: true,
            set,
            items: FetchItems::List(items),
            modifiers: FetchModifiers::default(),
        };
        self.run(body, |r| {
            if let Response::Data(Data::Fetch { items, .. }) = r {
                each(items);
            }
        })
        .await
        .map(|_| ())
    }

    /// `LOGOUT`, ignoring a connection the server closes first.
    pub async fn logout(mut self) {
        let _ = self.run(CommandBody::Logout, |_| {}).await;
    }
}

/// The outcome of the command tagged `expected`, from its tagged status.
fn completion(
    expected: &Tag,
    command: &'static str,
    status: Status,
) -> Result<Option<Code>, ClientError> {
    let Status::Tagged {
        tag,
        kind,
        code,
        text,
    } = status
    else {
        return Err(ClientError::OutOfTurn(format!("{status:?}")));
    };
    match kind {
        _ if &tag != expected => Err(ClientError::OutOfTurn(format!("completion of {tag}"))),
        StatusKind::Ok => Ok(code),
        kind => Err(ClientError::Refused {
            command,
            kind,
            code: code.map(Box::new),
            text,
        }),
    }
}

/// `1:*`: every message.
pub fn all_messages() -> SequenceSet {
    SequenceSet::Ranges(vec![roost_proto::SeqRange {
        start: roost_proto::SeqBound::Value(1),
        end: roost_proto::SeqBound::Star,
    }])
}

/// `BODY.PEEK[HEADER.FIELDS (...)]` for the fields a [`Fingerprint`](super::fingerprint) reads.
pub fn fingerprint_fields() -> FetchAttribute {
    FetchAttribute::BodySection {
        peek: true,
        section: roost_proto::Section {
            part: Vec::new(),
            text: Some(roost_proto::SectionText::HeaderFields(
                super::fingerprint::FIELDS
                    .iter()
                    .map(|f| f.as_bytes().to_vec())
                    .collect(),
            )),
        },
        partial: None,
    }
}

/// The data of the first `BODY[...]` item of a FETCH response.
pub fn section_data(items: &[FetchValue]) -> Option<&bytes::Bytes> {
    items.iter().find_map(|item| match item {
        FetchValue::BodySection { data, .. } => data.as_ref(),
        _ => None,
    })
}
