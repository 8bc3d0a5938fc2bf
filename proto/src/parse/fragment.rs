//! Cuts the input stream into complete commands (lines and literals) and enforces limits.
//!
//! This runs before any parsing so that literal data is never read as a command: a line that
//! ends in `{N}`, `{N+}`, `~{N}` or `~{N+}` is followed by exactly N octets of data, whatever
//! they look like (RFC 9051 section 4.3). The command stays in the caller's `BytesMut` until it
//! is complete, with a scan position kept here so every byte is looked at once; it is then
//! split off and frozen, so the parser can hand out literal data without copying it.
//!
//! A command that breaks a limit is answered at once and the rest of it is discarded as it
//! arrives, never buffered: a line past [`Limits::max_line`] is dropped up to its LF, and the
//! data of a refused non-synchronizing literal is skipped octet by octet (bounded memory even
//! for a 4 GB announcement). A refused synchronizing literal needs no skipping: the client
//! waits for a `+` that never comes and gives the command up when it sees the `BAD`/`NO`.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use bytes::{Buf, BytesMut};

use super::cursor::{literal_at_end, LiteralHeader};
use crate::decode::{DecodeError, DecodeErrorKind, Decoded, IdleLine, NonSyncLiterals, SaslLine};
use crate::limits::Limits;
use crate::types::{is_atom_char, is_tag_char, Atom, Secret, Tag};

/// How many trailing bytes of a discarded line are kept to spot a literal announcement at its
/// end (`~{` + 20 digits + `+}`).
const TAIL: usize = 32;

/// Where the fragmenter is within the current command.
#[derive(Debug, Default)]
pub(crate) struct FragmentState {
    phase: Phase,
    /// Offset in the buffer up to which the current command has been scanned.
    scanned: usize,
    /// Offset in the buffer where the current line of the command starts.
    line_start: usize,
    /// Literals seen in the current command.
    literals: usize,
    /// Octets of the current command so far (lines and literals).
    total: u64,
    /// Octets to drop before anything else: a command whose synchronizing literal was refused.
    drop_first: usize,
}

#[derive(Debug, Default)]
enum Phase {
    /// Reading a line of the command.
    #[default]
    Line,
    /// Waiting until the buffer holds the literal data that ends at this offset.
    Literal { end: usize },
    /// Dropping input up to the next LF; `report` is returned once the LF is seen.
    DiscardLine {
        report: Option<DecodeError>,
        tail: Tail,
    },
    /// Dropping the data of a refused non-synchronizing literal, then the rest of the command.
    DiscardLiteral { remaining: u64 },
}

/// The last few bytes of a discarded line.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        let keep = data.len().min(TAIL);
        let data = data.get(data.len() - keep..).unwrap_or_default();
        self.bytes.extend_from_slice(data);
        let excess = self.bytes.len().saturating_sub(TAIL);
        self.bytes.drain(..excess);
    }

    /// The literal announced at the end of the line, if any.
    fn literal(&self) -> Option<LiteralHeader> {
        literal_at_end(self.bytes.strip_suffix(b"\r").unwrap_or(&self.bytes))
    }
}

impl FragmentState {
    /// The connection refused the synchronizing literal just announced: the client sends no
    /// data, so the command so far is dropped and decoding resumes with the next line.
    pub(crate) fn refuse(&mut self) {
        let drop = match self.phase {
            Phase::Literal { .. } => self.line_start,
            _ => 0,
        };
        *self = FragmentState {
            drop_first: drop,
            ..Default::default()
        };
    }

    fn reset(&mut self) {
        *self = FragmentState::default();
    }
}

/// The tag at the start of a command, if it has one: tag characters followed by SP or the
/// line end. Leading spaces are skipped, as the parser does.
pub(crate) fn tag_of(command: &[u8]) -> Option<Tag> {
    let start = command.iter().position(|&b| b != b' ')?;
    let rest = command.get(start..)?;
    let len = rest
        .iter()
        .position(|&b| !is_tag_char(b))
        .unwrap_or(rest.len());
    match rest.get(len) {
        None | Some(b' ' | b'\r' | b'\n') => {}
        Some(_) => return None,
    }
    let tag = std::str::from_utf8(rest.get(..len)?).ok()?;
    Tag::new(tag).ok()
}

/// The command name that follows the tag at the start of `command` (`LOGIN` in
/// `a LOGIN {5}`), as the client spelled it; `None` when there is none.
pub(crate) fn command_name_of(command: &[u8]) -> Option<Atom> {
    let start = command.iter().position(|&b| b != b' ')?;
    let rest = command.get(start..)?;
    let after_tag = rest.iter().position(|&b| !is_tag_char(b))?;
    let rest = rest.get(after_tag..)?.strip_prefix(b" ")?;
    let len = rest
        .iter()
        .position(|&b| !is_atom_char(b))
        .unwrap_or(rest.len());
    Atom::new(std::str::from_utf8(rest.get(..len)?).ok()?).ok()
}

fn error(tag: Option<Tag>, kind: DecodeErrorKind, reason: impl Into<String>) -> DecodeError {
    DecodeError {
        tag,
        kind,
        reason: reason.into(),
    }
}

fn find_lf(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == b'\n')
}

/// Drops the command so far (everything before `upto`) and answers `err`. If the dropped line
/// announced a non-synchronizing literal, its data and the rest of the command are discarded
/// as they arrive.
fn drop_command(
    state: &mut FragmentState,
    buf: &mut BytesMut,
    upto: usize,
    literal: Option<LiteralHeader>,
    err: DecodeError,
) -> Decoded {
    buf.advance(upto.min(buf.len()));
    state.reset();
    if let Some(h) = literal.filter(|h| h.non_sync) {
        state.phase = Phase::DiscardLiteral {
            remaining: h.length,
        };
    }
    Decoded::Error(err)
}

pub(crate) fn decode(
    state: &mut FragmentState,
    limits: &Limits,
    non_sync: NonSyncLiterals,
    buf: &mut BytesMut,
) -> Decoded {
    if state.drop_first > 0 {
        buf.advance(state.drop_first.min(buf.len()));
        state.drop_first = 0;
    }
    // The caller owns the buffer; if it consumed from it behind our back, start over rather
    // than index past its end.
    if state.scanned > buf.len() || state.line_start > state.scanned {
        state.reset();
    }
    let max_line = limits.max_line;
    loop {
        match &mut state.phase {
            Phase::Line => {
                let from = state.scanned;
                let Some(i) = buf.get(from..).and_then(find_lf) else {
                    state.scanned = buf.len();
                    // One extra octet for the CR before the LF.
                    if buf.len() - state.line_start > max_line.saturating_add(1) {
                        let err = error(
                            tag_of(buf),
                            DecodeErrorKind::LineTooLong,
                            "command line too long",
                        );
                        let mut tail = Tail::default();
                        tail.push(buf);
                        buf.clear();
                        state.reset();
                        state.phase = Phase::DiscardLine {
                            report: Some(err),
                            tail,
                        };
                        continue;
                    }
                    return Decoded::Incomplete;
                };
                let lf = from + i;
                let next = lf + 1;
                let line_all = buf.get(state.line_start..lf).unwrap_or_default();
                let line = line_all.strip_suffix(b"\r").unwrap_or(line_all);
                let literal = literal_at_end(line);
                // Blank lines between commands: iOS sends stray CRLFs (clients.md section 4).
                if state.line_start == 0 && line.iter().all(|&b| b == b' ' || b == b'\t') {
                    buf.advance(next);
                    state.reset();
                    continue;
                }
                if line.len() > max_line {
                    let err = error(
                        tag_of(buf),
                        DecodeErrorKind::LineTooLong,
                        "command line too long",
                    );
                    return drop_command(state, buf, next, literal, err);
                }
                state.total = state.total.saturating_add((next - state.line_start) as u64);
                if state.total > limits.max_command {
                    let err = error(tag_of(buf), DecodeErrorKind::TooComplex, "command too long");
                    return drop_command(state, buf, next, literal, err);
                }
                let Some(h) = literal else {
                    // The command is complete.
                    let msg = buf.split_to(next).freeze();
                    state.reset();
                    return match super::parse_command(msg, limits) {
                        Ok(c) => Decoded::Command(c),
                        Err(e) => Decoded::Error(e),
                    };
                };
                let tag = tag_of(buf);
                state.literals += 1;
                let refusal = if tag.is_none() {
                    Some((DecodeErrorKind::Syntax, "missing or invalid tag"))
                } else if state.literals > limits.max_literals {
                    Some((DecodeErrorKind::TooComplex, "too many literals in command"))
                } else if h.length > limits.max_literal
                    || (h.non_sync
                        && non_sync == NonSyncLiterals::LiteralMinus
                        && h.length > limits.max_literal_minus)
                    || state.total.saturating_add(h.length) > limits.max_command
                {
                    Some((
                        DecodeErrorKind::LiteralTooBig { length: h.length },
                        "literal too big",
                    ))
                } else {
                    None
                };
                let end = usize::try_from(h.length)
                    .ok()
                    .and_then(|n| next.checked_add(n));
                let (refusal, end) = match (refusal, end) {
                    (None, Some(end)) => (None, end),
                    (None, None) => (
                        Some((
                            DecodeErrorKind::LiteralTooBig { length: h.length },
                            "literal too big",
                        )),
                        0,
                    ),
                    (r, _) => (r, 0),
                };
                if let Some((kind, reason)) = refusal {
                    return drop_command(state, buf, next, Some(h), error(tag, kind, reason));
                }
                state.total = state.total.saturating_add(h.length);
                state.line_start = next;
                state.scanned = next;
                state.phase = Phase::Literal { end };
                if !h.non_sync {
                    return Decoded::LiteralAnnounced {
                        tag,
                        command: command_name_of(buf),
                        length: h.length,
                    };
                }
            }
            Phase::Literal { end } => {
                let end = *end;
                if buf.len() < end {
                    return Decoded::Incomplete;
                }
                state.line_start = end;
                state.scanned = end;
                state.phase = Phase::Line;
            }
            Phase::DiscardLine { report, tail } => {
                let Some(i) = find_lf(buf) else {
                    tail.push(buf);
                    buf.clear();
                    return Decoded::Incomplete;
                };
                tail.push(buf.get(..i).unwrap_or_default());
                buf.advance(i + 1);
                let literal = tail.literal();
                let report = report.take();
                state.reset();
                if let Some(h) = literal.filter(|h| h.non_sync) {
                    state.phase = Phase::DiscardLiteral {
                        remaining: h.length,
                    };
                }
                if let Some(err) = report {
                    return Decoded::Error(err);
                }
            }
            Phase::DiscardLiteral { remaining } => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                buf.advance(n);
                *remaining -= n as u64;
                if *remaining > 0 {
                    return Decoded::Incomplete;
                }
                state.phase = Phase::DiscardLine {
                    report: None,
                    tail: Tail::default(),
                };
            }
        }
    }
}

/// Takes one line from `buf` (without its CRLF), or says why not: `Err(true)` when the line
/// is too long (what there is was dropped and the rest will be), `Err(false)` when incomplete.
fn take_line(
    state: &mut FragmentState,
    limits: &Limits,
    buf: &mut BytesMut,
) -> Result<Vec<u8>, bool> {
    match find_lf(buf) {
        Some(i) => {
            let line = buf.split_to(i + 1);
            let line = line.get(..i).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > limits.max_line {
                return Err(true);
            }
            Ok(line.to_vec())
        }
        None if buf.len() > limits.max_line.saturating_add(1) => {
            buf.clear();
            state.reset();
            state.phase = Phase::DiscardLine {
                report: None,
                tail: Tail::default(),
            };
            Err(true)
        }
        None => Err(false),
    }
}

/// Base64 as SASL sends it; missing padding is tolerated.
const SASL_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes SASL base64 (`AUTHENTICATE` initial response and continuation lines).
pub(crate) fn sasl_base64(data: &[u8]) -> Option<Vec<u8>> {
    SASL_BASE64.decode(data).ok()
}

pub(crate) fn decode_sasl_line(
    state: &mut FragmentState,
    limits: &Limits,
    buf: &mut BytesMut,
) -> SaslLine {
    match take_line(state, limits, buf) {
        Err(false) => SaslLine::Incomplete,
        Err(true) => SaslLine::Bad("line too long".into()),
        Ok(line) if line == b"*" => SaslLine::Cancel,
        Ok(line) => match sasl_base64(&line) {
            Some(v) => SaslLine::Response(Secret::new(v)),
            None => SaslLine::Bad("invalid base64".into()),
        },
    }
}

pub(crate) fn decode_idle_line(
    state: &mut FragmentState,
    limits: &Limits,
    buf: &mut BytesMut,
) -> IdleLine {
    loop {
        return match take_line(state, limits, buf) {
            Err(false) => IdleLine::Incomplete,
            Err(true) => IdleLine::Bad("expected DONE".into()),
            // Stray empty lines, as between commands.
            Ok(line) if line.is_empty() => continue,
            Ok(line) if line.eq_ignore_ascii_case(b"DONE") => IdleLine::Done,
            Ok(_) => IdleLine::Bad("expected DONE".into()),
        };
    }
}

#[cfg(test)]
mod tests;
