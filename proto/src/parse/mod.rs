//! Recursive-descent parsing of one complete command or response. Functions carry the names
//! of the ABNF rules of RFC 9051 section 9 they implement.
//!
//! The fragmenter ([`fragment`]) hands over one complete command as frozen bytes; the parser
//! walks it with a [`cursor::Cursor`] and builds the typed [`Command`]. Every error carries the
//! tag when one was read, so the server can answer `tag BAD reason`.

pub(crate) mod command;
pub(crate) mod cursor;
pub(crate) mod fetch;
pub(crate) mod fragment;
pub(crate) mod mailbox;
pub(crate) mod metadata;
pub(crate) mod notify;
pub(crate) mod response;
pub(crate) mod search;
pub(crate) mod sort;

use bytes::Bytes;

use crate::decode::{DecodeError, DecodeErrorKind};
use crate::limits::Limits;
use crate::types::{Command, Tag};

use self::cursor::{ParseError, ParseErrorKind};

/// Turns a cursor error into the decoder's error for `tag`.
pub(crate) fn decode_error(tag: Option<Tag>, e: ParseError) -> DecodeError {
    DecodeError {
        tag,
        kind: match e.kind {
            ParseErrorKind::Syntax => DecodeErrorKind::Syntax,
            ParseErrorKind::TooComplex => DecodeErrorKind::TooComplex,
        },
        reason: e.reason.into_owned(),
    }
}

/// Parses one complete command (all its lines and literals, final CRLF included).
pub(crate) fn parse_command(msg: Bytes, limits: &Limits) -> Result<Command, DecodeError> {
    command::command(&msg, limits)
}
