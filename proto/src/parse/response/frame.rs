//! Cuts the server's byte stream into complete responses before anything is parsed.
//!
//! A response is a line, plus each literal its lines announce at their end and the line that
//! continues after it (RFC 9051 section 4.3). Only the *first* line decides whether literals
//! are possible at all: a status response or a continuation request ends in `text`, which may
//! legitimately end in `{5}` (`A1 BAD expected {5}`), so such lines are never read as
//! announcing a literal.
//!
//! The framer remembers how far it has searched, so feeding one byte at a time costs linear
//! time. When input goes over the [`Limits`] it reports an error once and then drops the rest
//! of the offending response as it arrives, so a hostile server cannot make the client buffer.

use bytes::{Buf, BytesMut};

use crate::limits::Limits;
use crate::parse::cursor::literal_at_end;
use crate::response::{ResponseError, ResponseErrorKind};

/// What is being dropped after a limit was hit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Discard {
    #[default]
    Nothing,
    /// The data of an over-size literal, then the rest of its line.
    Literal(u64),
    /// The rest of an over-long line.
    ToLineEnd,
}

/// Where the framer is within the current response.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    /// Offset of the start of the current line.
    line_start: usize,
    /// Offset up to which the current line has been searched for LF.
    scanned: usize,
    /// End offset of the announced literal still arriving.
    literal_end: Option<usize>,
    literals: usize,
    discard: Discard,
}

impl Framer {
    /// Returns the length of the complete response at the start of `buf`, or `None` when more
    /// input is needed. Consumes only input that is being discarded after a refusal, and the
    /// part of a response that it refuses.
    pub(crate) fn next(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<usize>, ResponseError> {
        if !self.skip_discarded(buf) {
            return Ok(None);
        }
        loop {
            if let Some(end) = self.literal_end {
                if buf.len() < end {
                    return Ok(None);
                }
                self.literal_end = None;
                self.line_start = end;
                self.scanned = end;
            }
            let unsearched = buf.get(self.scanned..).unwrap_or_default();
            let Some(lf) = unsearched.iter().position(|&b| b == b'\n') else {
                self.scanned = buf.len();
                if buf.len() - self.line_start > limits.max_line {
                    let err =
                        ResponseError::new(ResponseErrorKind::LineTooLong, "line too long", buf);
                    buf.clear();
                    *self = Framer {
                        discard: Discard::ToLineEnd,
                        ..Framer::default()
                    };
                    return Err(err);
                }
                return Ok(None);
            };
            let lf = self.scanned + lf;
            let line = buf.get(self.line_start..lf).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let literal = if self.line_start == 0 && !may_announce_literals(line) {
                None
            } else {
                literal_at_end(line)
            };
            if line.len() > limits.max_line {
                let (kind, length) = (ResponseErrorKind::LineTooLong, literal.map(|l| l.length));
                return Err(self.refuse(buf, lf, length, kind, "line too long"));
            }
            let Some(literal) = literal else {
                *self = Framer::default();
                return Ok(Some(lf + 1));
            };
            self.literals += 1;
            let end = usize::try_from(literal.length)
                .ok()
                .and_then(|n| n.checked_add(lf + 1))
                .filter(|&end| end as u64 <= limits.max_command);
            let refused = if literal.length > limits.max_literal {
                Some("literal too big")
            } else if self.literals > limits.max_literals {
                Some("too many literals")
            } else if end.is_none() {
                Some("response too big")
            } else {
                None
            };
            if let Some(reason) = refused {
                let kind = ResponseErrorKind::TooBig;
                return Err(self.refuse(buf, lf, Some(literal.length), kind, reason));
            }
            self.literal_end = end;
        }
    }

    /// Drops discarded input; returns whether framing may go on.
    fn skip_discarded(&mut self, buf: &mut BytesMut) -> bool {
        loop {
            match self.discard {
                Discard::Nothing => return true,
                Discard::Literal(n) => {
                    let here = usize::try_from(n).unwrap_or(usize::MAX).min(buf.len());
                    buf.advance(here);
                    let left = n - here as u64;
                    if left > 0 {
                        self.discard = Discard::Literal(left);
                        return false;
                    }
                    self.discard = Discard::ToLineEnd;
                }
                Discard::ToLineEnd => match buf.iter().position(|&b| b == b'\n') {
                    Some(lf) => {
                        buf.advance(lf + 1);
                        self.discard = Discard::Nothing;
                    }
                    None => {
                        buf.clear();
                        return false;
                    }
                },
            }
        }
    }

    /// Refuses the response whose current line ends at `lf`: drops what has arrived and
    /// arranges for the literal it announces (if any) and the rest of its line to be dropped.
    fn refuse(
        &mut self,
        buf: &mut BytesMut,
        lf: usize,
        literal: Option<u64>,
        kind: ResponseErrorKind,
        reason: &'static str,
    ) -> ResponseError {
        let err = ResponseError::new(kind, reason, buf);
        buf.advance(lf + 1);
        *self = Framer::default();
        if let Some(n) = literal {
            self.discard = Discard::Literal(n);
        }
        err
    }
}

/// Whether the first line of a response may announce literals: not for a continuation
/// request or a status response, whose `text` may end in anything.
fn may_announce_literals(first_line: &[u8]) -> bool {
    if first_line.first() == Some(&b'+') {
        return false;
    }
    let mut words = first_line.splitn(3, |&b| b == b' ');
    let _tag = words.next();
    let word = words.next().unwrap_or_default();
    !["OK", "NO", "BAD", "PREAUTH", "BYE"]
        .iter()
        .any(|s| s.as_bytes().eq_ignore_ascii_case(word))
}
