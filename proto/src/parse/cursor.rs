//! A cursor over one complete message, with one method per ABNF rule of RFC 9051 section 9.
//!
//! The fragmenter has already cut the input into a complete message (its lines and the literal
//! data between them), so nothing here ever waits for input: running out of bytes is a syntax
//! error. The cursor keeps the message as a frozen [`Bytes`] so literal data can be handed out
//! without copying (APPEND messages, `BODY[]` in responses).
//!
//! Every method either consumes what it matched and returns it, or returns a [`ParseError`]
//! that says in a few words what was expected. Nothing indexes out of bounds, every number is
//! checked for overflow, and nesting is counted against [`Limits::max_depth`] so hostile input
//! cannot exhaust the stack.
//!
//! Line ends: a bare LF is accepted wherever CRLF is (clients.md section 10), consistently with
//! the fragmenter, which cut the message at the same places.

use std::borrow::Cow;

use bytes::Bytes;

use crate::limits::Limits;
use crate::types::{
    is_astring_char, is_atom_char, is_list_char, is_tag_char, Flag, MailboxName, SeqBound,
    SeqRange, SequenceSet, Tag,
};

/// Why a message was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseErrorKind {
    /// Does not match the grammar.
    Syntax,
    /// Nesting or a sequence set over [`Limits`].
    TooComplex,
}

/// A parse failure: what was wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub kind: ParseErrorKind,
    /// Short, for a person: `"expected SP after mailbox name"`.
    pub reason: Cow<'static, str>,
    /// Offset into the message where the problem was seen.
    pub at: usize,
}

pub(crate) type PResult<T> = Result<T, ParseError>;

/// A literal's header: `{N}`, `{N+}` or `~{N}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LiteralHeader {
    pub length: u64,
    /// `{N+}`: the client did not wait for a continuation request.
    pub non_sync: bool,
    /// `~{N}`: literal8, may hold NUL.
    pub binary: bool,
}

/// Parses a literal announcement at the very end of `line` (without its CRLF):
/// `{N}`, `{N+}`, `~{N}` or `~{N+}`. A length that overflows `u64` is reported as `u64::MAX`
/// so the caller refuses it as too big.
pub(crate) fn literal_at_end(line: &[u8]) -> Option<LiteralHeader> {
    let inner = line.strip_suffix(b"}")?;
    let (inner, non_sync) = match inner.strip_suffix(b"+") {
        Some(i) => (i, true),
        None => (inner, false),
    };
    let digits_start = inner.iter().rposition(|b| !b.is_ascii_digit())?;
    let digits = inner.get(digits_start + 1..)?;
    if digits.is_empty() || inner.get(digits_start) != Some(&b'{') {
        return None;
    }
    let binary = digits_start > 0 && inner.get(digits_start - 1) == Some(&b'~');
    let length = digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    Some(LiteralHeader {
        length: length.unwrap_or(u64::MAX),
        non_sync,
        binary,
    })
}

/// A saved cursor position (see [`Cursor::checkpoint`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checkpoint {
    pos: usize,
    depth: usize,
}

/// Largest `number64` (RFC 9051 section 9: unsigned 63-bit).
const MAX_NUMBER64: u64 = i64::MAX as u64;

/// The cursor. See the module documentation.
pub(crate) struct Cursor<'a> {
    msg: &'a Bytes,
    pos: usize,
    depth: usize,
    max_depth: usize,
    max_set_ranges: usize,
}

// Some primitives exist for the response parser, which is built on this cursor too.
#[allow(dead_code)]
impl<'a> Cursor<'a> {
    pub fn new(msg: &'a Bytes, limits: &Limits) -> Self {
        Cursor {
            msg,
            pos: 0,
            depth: 0,
            max_depth: limits.max_depth,
            max_set_ranges: limits.max_set_ranges,
        }
    }

    fn data(&self) -> &'a [u8] {
        let msg: &'a Bytes = self.msg;
        msg.as_ref()
    }

    // --- position and raw bytes

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The current position and nesting, to go back to with [`Cursor::restore`] when one
    /// reading of the input fails and another is allowed (the response parser reads a
    /// malformed known response code as an unknown one).
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            pos: self.pos,
            depth: self.depth,
        }
    }

    pub fn restore(&mut self, cp: Checkpoint) {
        self.pos = cp.pos;
        self.depth = cp.depth;
    }

    /// Everything not yet consumed.
    pub fn rest(&self) -> &'a [u8] {
        self.data().get(self.pos..).unwrap_or_default()
    }

    pub fn is_at_end(&self) -> bool {
        self.pos >= self.data().len()
    }

    pub fn peek(&self) -> Option<u8> {
        self.data().get(self.pos).copied()
    }

    pub fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.data().get(self.pos.checked_add(ahead)?).copied()
    }

    /// Consumes `b` if it is next.
    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `b` or fails with `reason`.
    pub fn expect(&mut self, b: u8, reason: &'static str) -> PResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// Consumes bytes while `pred` holds and returns them (maybe empty).
    pub fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let n = rest.iter().position(|&b| !pred(b)).unwrap_or(rest.len());
        self.pos += n;
        rest.get(..n).unwrap_or_default()
    }

    /// Consumes `n` bytes, or fails if fewer are left.
    pub fn take(&mut self, n: usize, reason: &'static str) -> PResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.error(reason))?;
        let s = self
            .data()
            .get(self.pos..end)
            .ok_or_else(|| self.error(reason))?;
        self.pos = end;
        Ok(s)
    }

    /// A syntax error at the current position.
    pub fn error(&self, reason: impl Into<Cow<'static, str>>) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Syntax,
            reason: reason.into(),
            at: self.pos,
        }
    }

    fn too_complex(&self, reason: &'static str) -> ParseError {
        ParseError {
            kind: ParseErrorKind::TooComplex,
            reason: reason.into(),
            at: self.pos,
        }
    }

    // --- nesting

    /// Enters one level of nesting (a parenthesis, a NOT); fails over [`Limits::max_depth`].
    pub fn enter(&mut self) -> PResult<()> {
        if self.depth >= self.max_depth {
            return Err(self.too_complex("nested too deeply"));
        }
        self.depth += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `"(" item *(SP item) ")"`, or `"(" ")"` when `allow_empty`. Counts one level of nesting.
    pub fn paren_list<T>(
        &mut self,
        what: &'static str,
        allow_empty: bool,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        if !self.eat(b'(') {
            return Err(self.error(format!("expected \"(\" to open {what}")));
        }
        self.enter()?;
        let mut items = Vec::new();
        if self.eat(b')') {
            self.leave();
            if allow_empty {
                return Ok(items);
            }
            return Err(self.error(format!("{what} may not be empty")));
        }
        loop {
            items.push(item(self)?);
            if self.eat(b')') {
                break;
            }
            if !self.eat(b' ') {
                return Err(self.error(format!("expected SP or \")\" in {what}")));
            }
        }
        self.leave();
        Ok(items)
    }

    // --- separators

    /// `SP`: exactly one space.
    pub fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "expected SP")
    }

    /// `SP`, with the thing it follows named in the error.
    pub fn sp_after(&mut self, what: &str) -> PResult<()> {
        if self.eat(b' ') {
            Ok(())
        } else {
            Err(self.error(format!("expected SP after {what}")))
        }
    }

    /// `CRLF`, or a bare LF.
    pub fn crlf(&mut self) -> PResult<()> {
        let had_cr = self.eat(b'\r');
        if self.eat(b'\n') {
            Ok(())
        } else if had_cr {
            Err(self.error("expected LF after CR"))
        } else {
            Err(self.error("unexpected characters after command"))
        }
    }

    /// The final `CRLF` of a message, after which nothing may follow.
    pub fn finish(&mut self) -> PResult<()> {
        self.crlf()?;
        if self.is_at_end() {
            Ok(())
        } else {
            Err(self.error("unexpected characters after command"))
        }
    }

    // --- keywords

    /// A run of letters, digits, `.`, `-` and `_`: the shape of every IMAP keyword
    /// (`RFC822.SIZE`, `HEADER.FIELDS.NOT`, `DELETED-STORAGE`). May be empty.
    pub fn word(&mut self) -> &'a [u8] {
        self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    }

    /// Like [`Cursor::word`] but does not consume.
    pub fn peek_word(&self) -> &'a [u8] {
        let rest = self.rest();
        let n = rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
            .unwrap_or(rest.len());
        rest.get(..n).unwrap_or_default()
    }

    /// Consumes `kw` (case-insensitive) if the next word is exactly it.
    pub fn keyword(&mut self, kw: &str) -> bool {
        if self.peek_word().eq_ignore_ascii_case(kw.as_bytes()) {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    /// Consumes `kw` or fails with "expected KW".
    pub fn expect_keyword(&mut self, kw: &'static str) -> PResult<()> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(self.error(format!("expected {kw}")))
        }
    }

    /// `nil = "NIL"`: consumed if next.
    pub fn nil(&mut self) -> bool {
        self.keyword("NIL")
    }

    // --- numbers

    fn digits(&mut self, what: &'static str) -> PResult<&'a [u8]> {
        let d = self.take_while(|b| b.is_ascii_digit());
        if d.is_empty() {
            Err(self.error(format!("expected {what}")))
        } else {
            Ok(d)
        }
    }

    fn digits_value(&self, d: &[u8], max: u64, what: &'static str) -> PResult<u64> {
        d.iter()
            .try_fold(0u64, |n, &b| {
                n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            })
            .filter(|&n| n <= max)
            .ok_or_else(|| self.error(format!("{what} out of range")))
    }

    /// `number`: unsigned 32-bit.
    pub fn number(&mut self) -> PResult<u32> {
        let d = self.digits("number")?;
        let n = self.digits_value(d, u64::from(u32::MAX), "number")?;
        u32::try_from(n).map_err(|_| self.error("number out of range"))
    }

    /// `nz-number`: non-zero unsigned 32-bit.
    pub fn nz_number(&mut self) -> PResult<u32> {
        let n = self.number()?;
        if n == 0 {
            Err(self.error("expected non-zero number"))
        } else {
            Ok(n)
        }
    }

    /// `number64`: unsigned 63-bit.
    pub fn number64(&mut self) -> PResult<u64> {
        let d = self.digits("number")?;
        self.digits_value(d, MAX_NUMBER64, "number")
    }

    /// `nz-number64`.
    pub fn nz_number64(&mut self) -> PResult<u64> {
        let n = self.number64()?;
        if n == 0 {
            Err(self.error("expected non-zero number"))
        } else {
            Ok(n)
        }
    }

    // --- atoms and strings

    /// `atom = 1*ATOM-CHAR`.
    pub fn atom(&mut self) -> PResult<&'a str> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return Err(self.error("expected atom"));
        }
        // ATOM-CHAR is 7-bit, so this cannot fail; no unwrap all the same.
        std::str::from_utf8(a).map_err(|_| self.error("expected atom"))
    }

    /// `tag = 1*<any ASTRING-CHAR except "+">`.
    pub fn tag(&mut self) -> PResult<Tag> {
        let t = self.take_while(is_tag_char);
        let s = std::str::from_utf8(t).map_err(|_| self.error("invalid tag"))?;
        Tag::new(s).map_err(|_| self.error("expected tag"))
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`, with `\"` and `\\` unescaped. Borrowed when it
    /// holds no escape. 8-bit bytes are accepted as they are (UTF-8 for IMAP4rev2, and what
    /// IMAP4rev1 clients send in SEARCH with a CHARSET).
    pub fn quoted(&mut self) -> PResult<Cow<'a, [u8]>> {
        self.expect(b'"', "expected quoted string")?;
        let start = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n') => return Err(self.error("unterminated quoted string")),
                Some(0) => return Err(self.error("NUL in quoted string")),
                Some(b'"') => {
                    let raw = self.data().get(start..self.pos).unwrap_or_default();
                    self.pos += 1;
                    return Ok(match owned {
                        Some(v) => Cow::Owned(v),
                        None => Cow::Borrowed(raw),
                    });
                }
                Some(b'\\') => {
                    let escaped = match self.peek_at(1) {
                        Some(c @ (b'"' | b'\\')) => c,
                        _ => return Err(self.error("invalid escape in quoted string")),
                    };
                    let v = owned.get_or_insert_with(|| {
                        self.data()
                            .get(start..self.pos)
                            .unwrap_or_default()
                            .to_vec()
                    });
                    v.push(escaped);
                    self.pos += 2;
                }
                Some(c) => {
                    if let Some(v) = owned.as_mut() {
                        v.push(c);
                    }
                    self.pos += 1;
                }
            }
        }
    }

    /// A literal's header `{N}` / `{N+}` / `~{N}` and its line end, without the data.
    pub fn literal_header(&mut self) -> PResult<LiteralHeader> {
        let binary = self.eat(b'~');
        self.expect(b'{', "expected literal")?;
        let length = self.number64()?;
        let non_sync = self.eat(b'+');
        self.expect(b'}', "expected \"}\" in literal")?;
        self.eat(b'\r');
        self.expect(b'\n', "expected CRLF after literal length")?;
        Ok(LiteralHeader {
            length,
            non_sync,
            binary,
        })
    }

    fn literal_span(&mut self, allow_binary: bool) -> PResult<(usize, usize, LiteralHeader)> {
        let h = self.literal_header()?;
        if h.binary && !allow_binary {
            return Err(self.error("literal8 not allowed here"));
        }
        let n = usize::try_from(h.length).map_err(|_| self.error("literal too long"))?;
        let start = self.pos;
        self.take(n, "literal data cut short")?;
        Ok((start, self.pos, h))
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`: the data, borrowed from the message.
    pub fn literal(&mut self) -> PResult<&'a [u8]> {
        let (s, e, _) = self.literal_span(false)?;
        Ok(self.data().get(s..e).unwrap_or_default())
    }

    /// `literal` or `literal8` as a zero-copy slice of the message, and whether it was
    /// `literal8`.
    pub fn literal_bytes(&mut self) -> PResult<(Bytes, bool)> {
        let (s, e, h) = self.literal_span(true)?;
        Ok((self.msg.slice(s..e), h.binary))
    }

    /// `string = quoted / literal`.
    pub fn string(&mut self) -> PResult<Cow<'a, [u8]>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal().map(Cow::Borrowed),
            _ => Err(self.error("expected string")),
        }
    }

    /// `string` as `Bytes`: literals are sliced without copying.
    pub fn string_bytes(&mut self) -> PResult<Bytes> {
        match self.peek() {
            Some(b'{') => Ok(self.literal_bytes()?.0),
            _ => Ok(Bytes::from(self.string()?.into_owned())),
        }
    }

    /// `nstring = string / nil`.
    pub fn nstring(&mut self) -> PResult<Option<Cow<'a, [u8]>>> {
        if self.nil() {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    pub fn astring(&mut self) -> PResult<Cow<'a, [u8]>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let a = self.take_while(is_astring_char);
                if a.is_empty() {
                    Err(self.error("expected string"))
                } else {
                    Ok(Cow::Borrowed(a))
                }
            }
        }
    }

    /// `list-mailbox = 1*list-char / string`.
    pub fn list_mailbox(&mut self) -> PResult<Cow<'a, [u8]>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let a = self.take_while(is_list_char);
                if a.is_empty() {
                    Err(self.error("expected mailbox pattern"))
                } else {
                    Ok(Cow::Borrowed(a))
                }
            }
        }
    }

    /// `mailbox = "INBOX" / astring`, INBOX in any case normalised.
    pub fn mailbox(&mut self) -> PResult<MailboxName> {
        let start = self.pos;
        // Keep the precise reason ("unterminated quoted string") once a name has begun.
        let name = self
            .astring()
            .map_err(|e| {
                if e.at == start {
                    ParseError {
                        reason: "expected mailbox name".into(),
                        ..e
                    }
                } else {
                    e
                }
            })?
            .into_owned();
        Ok(MailboxName::from_wire(name))
    }

    // --- flags

    /// `flag`: `\Seen`-style system flags, `\Atom` extensions and keywords.
    pub fn flag(&mut self) -> PResult<Flag> {
        let start = self.pos;
        self.eat(b'\\');
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return Err(self.error("expected flag"));
        }
        let text = self.data().get(start..self.pos).unwrap_or_default();
        let text = std::str::from_utf8(text).map_err(|_| self.error("invalid flag"))?;
        Flag::parse(text).map_err(|_| self.error("invalid flag"))
    }

    /// `flag-perm = flag / "\*"`.
    pub fn flag_perm(&mut self) -> PResult<Flag> {
        if self.peek() == Some(b'\\') && self.peek_at(1) == Some(b'*') {
            self.pos += 2;
            return Ok(Flag::Wildcard);
        }
        self.flag()
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`.
    pub fn flag_list(&mut self) -> PResult<Vec<Flag>> {
        self.paren_list("flag list", true, Self::flag)
    }

    // --- sequence sets

    fn seq_number(&mut self) -> PResult<SeqBound> {
        if self.eat(b'*') {
            Ok(SeqBound::Star)
        } else {
            match self.peek() {
                Some(b'0'..=b'9') => self.nz_number().map(SeqBound::Value),
                _ => Err(self.error("expected sequence number or \"*\"")),
            }
        }
    }

    /// `sequence-set`, including `$` (RFC 9051 section 6.4.4.1), bounded by
    /// [`Limits::max_set_ranges`].
    pub fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        loop {
            if ranges.len() >= self.max_set_ranges {
                return Err(self.too_complex("too many ranges in sequence set"));
            }
            let start = self.seq_number()?;
            let end = if self.eat(b':') {
                self.seq_number()?
            } else {
                start
            };
            ranges.push(SeqRange { start, end });
            if !self.eat(b',') {
                break;
            }
        }
        Ok(SequenceSet::Ranges(ranges))
    }
}

mod date;
#[cfg(test)]
mod tests;
