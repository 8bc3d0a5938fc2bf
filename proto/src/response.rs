//! Streaming response decoder: the client side, used by tests and the load generator.
//!
//! The caller appends whatever it reads from the server to a `BytesMut` and calls
//! [`ResponseDecoder::decode`] until it returns `Ok(None)`. Like the command decoder, it first
//! cuts the input into one complete response (a line, each literal `{N}` / `~{N}` it announces,
//! and the rest of the line after each) without interpreting it, then parses that response
//! into the typed [`Response`] the server's writer started from, so a write followed by a
//! decode gives back the same value.
//!
//! Two things on the wire cannot be told apart from the bytes alone, so the caller says:
//! - how mailbox names are encoded ([`ResponseContext::names`], changed with
//!   [`ResponseDecoder::set_names`] after `ENABLE IMAP4rev2` or `UTF8=ACCEPT`);
//! - whether a `+` line is a SASL challenge ([`ResponseDecoder::expect_sasl`]): `+ YWJj` is
//!   valid base64 and valid text alike.
//!
//! Input over [`Limits`] (`max_line`, `max_literal`, `max_command`, `max_literals`,
//! `max_depth`) is refused with an error and then discarded as it arrives, never buffered.

use bytes::BytesMut;

use crate::limits::Limits;
use crate::parse::cursor::{Cursor, ParseError, ParseErrorKind};
use crate::parse::response::frame::Framer;
use crate::types::{NameEncoding, Response};

/// How the connection is set up, which changes how some responses are read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseContext {
    /// How mailbox names are encoded: modified UTF-7 for IMAP4rev1, UTF-8 once IMAP4rev2 or
    /// `UTF8=ACCEPT` is enabled. Names are decoded into the UTF-8 `String`s the types hold.
    pub names: NameEncoding,
    /// Bounds on line length, literal size, response size and nesting.
    pub limits: Limits,
}

/// A response the decoder refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseError {
    pub kind: ResponseErrorKind,
    /// A short reason a person understands, e.g. `"expected SP after mailbox name"`.
    pub reason: String,
    /// The start of the offending response's first line (lossy UTF-8, truncated), for logs.
    pub line: String,
}

/// Why a response was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseErrorKind {
    /// Does not match the grammar; the response has been consumed.
    Syntax,
    /// A line over [`Limits::max_line`]; the rest of it is discarded as it arrives.
    LineTooLong,
    /// A literal over [`Limits::max_literal`], too many literals, or a response over
    /// [`Limits::max_command`]; the rest of the response is discarded as it arrives.
    TooBig,
    /// Nesting or a sequence set over the limits; the response has been consumed.
    TooComplex,
}

/// Longest part of the offending line kept in a [`ResponseError`].
const ERROR_LINE_MAX: usize = 120;

impl ResponseError {
    pub(crate) fn new(kind: ResponseErrorKind, reason: impl Into<String>, msg: &[u8]) -> Self {
        let end = msg
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(msg.len())
            .min(ERROR_LINE_MAX);
        ResponseError {
            kind,
            reason: reason.into(),
            line: String::from_utf8_lossy(msg.get(..end).unwrap_or_default()).into_owned(),
        }
    }

    fn from_parse(e: ParseError, msg: &[u8]) -> Self {
        let kind = match e.kind {
            ParseErrorKind::Syntax => ResponseErrorKind::Syntax,
            ParseErrorKind::TooComplex => ResponseErrorKind::TooComplex,
        };
        Self::new(kind, format!("{} (at octet {})", e.reason, e.at), msg)
    }
}

impl std::fmt::Display for ResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in response {:?}", self.reason, self.line)
    }
}

impl std::error::Error for ResponseError {}

/// The streaming response decoder. One per connection.
#[derive(Debug)]
pub struct ResponseDecoder {
    ctx: ResponseContext,
    sasl: bool,
    framer: Framer,
}

impl ResponseDecoder {
    pub fn new(ctx: ResponseContext) -> Self {
        ResponseDecoder {
            ctx,
            sasl: false,
            framer: Framer::default(),
        }
    }

    pub fn context(&self) -> &ResponseContext {
        &self.ctx
    }

    /// Switches the mailbox name encoding, e.g. after `ENABLE IMAP4rev2` or `UTF8=ACCEPT`.
    pub fn set_names(&mut self, names: NameEncoding) {
        self.ctx.names = names;
    }

    /// Whether `+` lines are SASL challenges (`true` between `AUTHENTICATE` and its tagged
    /// completion): they then decode as [`crate::Continue::Base64`] (`+ ` alone is an empty
    /// challenge), otherwise as [`crate::Continue::Text`].
    pub fn expect_sasl(&mut self, sasl: bool) {
        self.sasl = sasl;
    }

    /// Decodes the next response, or returns `Ok(None)` when more bytes are needed.
    ///
    /// Consumes exactly the response it returns from `buf`.
    ///
    /// # Errors
    /// When a complete response does not match the grammar (it has been consumed, so the next
    /// call reads the response after it), or when input goes over the [`Limits`] (the excess is
    /// discarded as it arrives).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, ResponseError> {
        let Some(len) = self.framer.next(buf, &self.ctx.limits)? else {
            return Ok(None);
        };
        let msg = buf.split_to(len).freeze();
        let mut c = Cursor::new(&msg, &self.ctx.limits);
        crate::parse::response::response(&mut c, self.ctx.names, self.sasl)
            .map(Some)
            .map_err(|e| ResponseError::from_parse(e, &msg))
    }
}

impl Default for ResponseDecoder {
    fn default() -> Self {
        Self::new(ResponseContext::default())
    }
}
