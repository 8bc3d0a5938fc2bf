//! Streaming command decoder: bytes in, complete commands out.
//!
//! The connection appends whatever it reads to a `BytesMut` and calls
//! [`CommandDecoder::decode`] until it returns [`Decoded::Incomplete`]. The decoder first cuts
//! the input into one complete command (its lines and the literals between them, RFC 9051
//! section 4.3) without interpreting it, so literal data can never be read as a command, then
//! parses that command. While a command is incomplete it keeps only what it must; input over
//! [`Limits`] is discarded as it arrives, never buffered.

use bytes::BytesMut;

use crate::limits::Limits;
use crate::types::{Atom, Secret, Tag};

/// What one call to [`CommandDecoder::decode`] produced.
#[derive(Debug)]
pub enum Decoded {
    /// More bytes are needed.
    Incomplete,
    /// The client announced a synchronizing literal `{N}` (or `~{N}`) within the limits and
    /// waits for a continuation request. Send `+ ...` (or refuse with
    /// [`CommandDecoder::refuse_literal`]) and keep feeding. `command` is the command name
    /// as sent, so the connection can refuse literals a command must not receive (a LOGIN
    /// password where plaintext login is disabled) before the client sends them.
    LiteralAnnounced {
        tag: Option<Tag>,
        command: Option<Atom>,
        length: u64,
    },
    /// A complete command.
    Command(crate::types::Command),
    /// The command was refused; its input has been consumed or is being discarded.
    Error(DecodeError),
}

/// A command that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The tag, when one was read: the answer is `tag BAD reason`, else `* BAD reason`.
    pub tag: Option<Tag>,
    pub kind: DecodeErrorKind,
    /// A short reason a person understands, e.g. `"expected SP after mailbox name"`.
    pub reason: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// Why a command was refused; the server maps each to its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The command does not match the grammar: `BAD`.
    Syntax,
    /// The command line exceeds [`Limits::max_line`]: `BAD`; the line was discarded.
    LineTooLong,
    /// A literal exceeds [`Limits::max_literal`] (or LITERAL-'s 4096 for `{N+}` when only
    /// LITERAL- is offered): `NO [TOOBIG]` for APPEND, `BAD [TOOBIG]` otherwise.
    LiteralTooBig { length: u64 },
    /// Nesting, sequence set or literal count over the limits: `BAD`.
    TooComplex,
}

/// How `{N+}` literals are treated: LITERAL+ accepts any size up to the limit, LITERAL-
/// (RFC 7888 section 4) only up to [`Limits::max_literal_minus`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NonSyncLiterals {
    #[default]
    LiteralPlus,
    LiteralMinus,
}

/// A line of the client's AUTHENTICATE exchange (RFC 9051 section 6.2.2).
#[derive(Debug, PartialEq, Eq)]
pub enum SaslLine {
    Incomplete,
    /// The base64-decoded response.
    Response(Secret<Vec<u8>>),
    /// `*`: the client cancels the exchange.
    Cancel,
    Bad(String),
}

/// What a client sent while in IDLE (RFC 9051 section 6.3.13).
#[derive(Debug, PartialEq, Eq)]
pub enum IdleLine {
    Incomplete,
    /// `DONE` (any case): IDLE ends; bytes after it stay in the buffer for the next command.
    Done,
    /// Anything else: the server answers `BAD` and ends IDLE.
    Bad(String),
}

/// The streaming command decoder. One per connection.
#[derive(Debug)]
pub struct CommandDecoder {
    limits: Limits,
    non_sync: NonSyncLiterals,
    state: crate::parse::fragment::FragmentState,
}

impl CommandDecoder {
    pub fn new(limits: Limits) -> Self {
        CommandDecoder {
            limits,
            non_sync: NonSyncLiterals::default(),
            state: Default::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces the limits from the next command on (e.g. larger literals once the client
    /// has logged in). Call between commands: a command in progress keeps the old ones'
    /// decisions it has already made.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub fn set_non_sync_literals(&mut self, mode: NonSyncLiterals) {
        self.non_sync = mode;
    }

    /// Decodes the next command, or reports why it cannot yet.
    ///
    /// Consumes from `buf` what it has dealt with. Stray empty lines between commands are
    /// skipped (iOS sends them).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Decoded {
        crate::parse::fragment::decode(&mut self.state, &self.limits, self.non_sync, buf)
    }

    /// Abandons the command whose synchronizing literal was just announced, because the
    /// connection refused it (it will send `tag NO`/`BAD` itself). The client sends no literal
    /// data after a refusal, so decoding resumes with the next line.
    pub fn refuse_literal(&mut self) {
        self.state.refuse();
    }

    /// Reads one AUTHENTICATE response line.
    pub fn decode_sasl_line(&mut self, buf: &mut BytesMut) -> SaslLine {
        crate::parse::fragment::decode_sasl_line(&mut self.state, &self.limits, buf)
    }

    /// Reads the line that ends IDLE.
    pub fn decode_idle_line(&mut self, buf: &mut BytesMut) -> IdleLine {
        crate::parse::fragment::decode_idle_line(&mut self.state, &self.limits, buf)
    }
}
