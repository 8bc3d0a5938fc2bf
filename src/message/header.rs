//! Header blocks as raw bytes: where a header ends, its fields with their offsets, unfolding,
//! and the RFC 2045 `type/subtype; name=value` grammar shared by Content-Type and
//! Content-Disposition.
//!
//! Everything works on the stored octets so that ENVELOPE and BODYSTRUCTURE can hand 8-bit
//! header bytes to the writer unchanged and `HEADER.FIELDS` can return the lines verbatim.
//! Both CRLF and bare LF line ends are accepted; only a LF ends a line.
//!
//! RFC 2231 parameters (`filename*0*=utf-8''...`) are kept as written, one pair per
//! section, rather than merged: BODYSTRUCTURE shows the header's own parameters and clients
//! that understand RFC 2231 reassemble them.

use std::ops::Range;

/// Where a header block starting at `start` ends within `raw[..end]`: `(header_end,
/// has_blank_line)`. The header includes its terminating blank line; without one (a part
/// that is all header, or a truncated message) it runs to `end` and the body is empty.
///
/// As in Dovecot, only an empty line ends the header: a line without a colon is a broken
/// field, not the start of the body.
pub(crate) fn header_end(raw: &[u8], start: usize, end: usize) -> (usize, bool) {
    let mut pos = start;
    while pos < end {
        let line_end = line_end(raw, pos, end);
        let line = &raw[pos..line_end];
        if line == b"\n" || line == b"\r\n" {
            return (line_end, true);
        }
        pos = line_end;
    }
    (end, false)
}

/// The end of the line starting at `pos` (just past its LF, or `end`).
pub(crate) fn line_end(raw: &[u8], pos: usize, end: usize) -> usize {
    match raw[pos..end].iter().position(|&b| b == b'\n') {
        Some(i) => pos + i + 1,
        None => end,
    }
}

/// One header field as stored.
#[derive(Debug, Clone)]
pub(crate) struct Field<'a> {
    /// The field name, trimmed (obsolete syntax allows blanks before the colon).
    pub name: &'a [u8],
    /// Everything after the colon up to (not including) the final line end, still folded.
    pub value: &'a [u8],
    /// The whole field including continuation lines and the final line end, relative to the
    /// block that was scanned.
    pub span: Range<usize>,
}

/// The fields of a header block (`block` is the header without needing its blank line).
/// Lines without a colon are skipped; the blank line ends the iteration.
pub(crate) fn fields(block: &[u8]) -> Fields<'_> {
    Fields { block, pos: 0 }
}

pub(crate) struct Fields<'a> {
    block: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let block = self.block;
        while self.pos < block.len() {
            let start = self.pos;
            let first_end = line_end(block, start, block.len());
            let first = &block[start..first_end];
            if first == b"\n" || first == b"\r\n" {
                self.pos = block.len();
                return None;
            }
            // Gather continuation lines (those starting with a blank).
            let mut end = first_end;
            while end < block.len() && matches!(block[end], b' ' | b'\t') {
                end = line_end(block, end, block.len());
            }
            self.pos = end;
            let Some(colon) = first.iter().position(|&b| b == b':') else {
                continue;
            };
            let name = trim(&block[start..start + colon]);
            if name.is_empty() || name.iter().any(|&b| b <= b' ' || b >= 0x7f) {
                continue;
            }
            let value = strip_eol(&block[start + colon + 1..end]);
            return Some(Field {
                name,
                value,
                span: start..end,
            });
        }
        None
    }
}

fn strip_eol(v: &[u8]) -> &[u8] {
    let v = v.strip_suffix(b"\n").unwrap_or(v);
    v.strip_suffix(b"\r").unwrap_or(v)
}

/// The first field called `name` (ASCII case-insensitive).
pub(crate) fn first<'a>(block: &'a [u8], name: &str) -> Option<Field<'a>> {
    fields(block).find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
}

/// Removes folding (CR and LF that precede a blank; stray CR/LF too) and surrounding blanks,
/// keeping every other byte, 8-bit ones included (RFC 5322 section 2.2.3).
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    let out: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    trim(&out).to_vec()
}

pub(crate) fn trim(v: &[u8]) -> &[u8] {
    let is_blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = v.iter().position(|b| !is_blank(b)).unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(start, |i| i + 1);
    &v[start..end]
}

/// A parsed `type/subtype; params` (Content-Type) or `kind; params` (Content-Disposition)
/// value, case kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Structured {
    pub main: Vec<u8>,
    /// Empty for Content-Disposition.
    pub sub: Vec<u8>,
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

/// RFC 2045 `tspecials` plus blanks: what ends a token.
fn is_token_end(b: u8) -> bool {
    b <= b' ' || b >= 0x7f || b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// A cursor over an unfolded structured value, skipping RFC 5322 comments.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_cfws(&mut self) {
        loop {
            while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.peek() != Some(b'(') {
                return;
            }
            let mut depth = 0usize;
            while let Some(b) = self.peek() {
                self.pos += 1;
                match b {
                    b'\\' => self.pos += 1,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            self.pos = self.pos.min(self.s.len());
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_cfws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn token(&mut self) -> &'a [u8] {
        self.skip_cfws();
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_token_end(b)) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A quoted string without its quotes and escapes; the cursor is on the opening quote.
    fn quoted(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.pos += 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.pos += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        out
    }

    /// A parameter value: quoted string, or everything up to `;` (lenient about the blanks
    /// and 8-bit bytes real mailers put in unquoted file names).
    fn value(&mut self) -> Vec<u8> {
        self.skip_cfws();
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b';' && b != b'(') {
            self.pos += 1;
        }
        trim(&self.s[start..self.pos]).to_vec()
    }

    /// Skips to just past the next `;` (error recovery), returning whether one was found.
    fn skip_past_semicolon(&mut self) -> bool {
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b';' {
                return true;
            }
        }
        false
    }
}

/// Parses `type/subtype *(; param)`; `None` when there is no valid `type/subtype`, which
/// RFC 2045 section 5.2 says to treat like a missing Content-Type.
pub(crate) fn content_type(value: &[u8]) -> Option<Structured> {
    let s = unfold(value);
    let mut c = Cursor { s: &s, pos: 0 };
    let main = c.token().to_vec();
    if main.is_empty() || !c.eat(b'/') {
        return None;
    }
    let sub = c.token().to_vec();
    if sub.is_empty() {
        return None;
    }
    let params = params(&mut c);
    Some(Structured { main, sub, params })
}

/// Parses `disposition-type *(; param)` (RFC 2183).
pub(crate) fn disposition(value: &[u8]) -> Option<Structured> {
    let s = unfold(value);
    let mut c = Cursor { s: &s, pos: 0 };
    let main = c.token().to_vec();
    if main.is_empty() {
        return None;
    }
    let params = params(&mut c);
    Some(Structured {
        main,
        sub: Vec::new(),
        params,
    })
}

fn params(c: &mut Cursor<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        c.skip_cfws();
        if c.peek().is_none() {
            return out;
        }
        // Tolerate a missing `;` between parameters as well as stray `;;`.
        c.eat(b';');
        let name = c.token().to_vec();
        if name.is_empty() || !c.eat(b'=') {
            if !c.skip_past_semicolon() {
                return out;
            }
            continue;
        }
        let value = c.value();
        out.push((name, value));
    }
}

/// The comma- or blank-separated tokens of Content-Language (RFC 3282).
pub(crate) fn language(value: &[u8]) -> Vec<Vec<u8>> {
    let s = unfold(value);
    let mut c = Cursor { s: &s, pos: 0 };
    let mut out = Vec::new();
    loop {
        c.skip_cfws();
        if c.peek().is_none() {
            return out;
        }
        let t = c.token();
        if t.is_empty() {
            c.pos += 1;
        } else {
            out.push(t.to_vec());
        }
    }
}

/// A single token-ish value (Content-Transfer-Encoding) with comments and blanks removed.
pub(crate) fn token_value(value: &[u8]) -> Vec<u8> {
    let s = unfold(value);
    let mut c = Cursor { s: &s, pos: 0 };
    c.token().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_end_finds_the_blank_line_with_crlf_or_lf() {
        let m = b"A: 1\r\nB: 2\r\n\r\nbody";
        assert_eq!(header_end(m, 0, m.len()), (14, true));
        let m = b"A: 1\nB: 2\n\nbody";
        assert_eq!(header_end(m, 0, m.len()), (11, true));
        let m = b"A: 1\r\nno blank";
        assert_eq!(header_end(m, 0, m.len()), (m.len(), false));
        let m = b"\r\nbody";
        assert_eq!(header_end(m, 0, m.len()), (2, true));
    }

    #[test]
    fn fields_gather_continuations_and_skip_broken_lines() {
        let block = b"Subject: a\r\n b\r\nbroken line\r\nTo : x\r\n\r\n";
        let f: Vec<_> = fields(block).collect();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, b"Subject");
        assert_eq!(f[0].value, b" a\r\n b");
        assert_eq!(&block[f[0].span.clone()], b"Subject: a\r\n b\r\n");
        assert_eq!(f[1].name, b"To");
        assert_eq!(unfold(f[0].value), b"a b");
    }

    #[test]
    fn content_type_params_keep_case_and_unquote() {
        let ct = content_type(b" Text/Plain; charset=\"UTF-8\" (c); Format=flowed").unwrap();
        assert_eq!(ct.main, b"Text");
        assert_eq!(ct.sub, b"Plain");
        assert_eq!(
            ct.params,
            vec![
                (b"charset".to_vec(), b"UTF-8".to_vec()),
                (b"Format".to_vec(), b"flowed".to_vec())
            ]
        );
        assert!(content_type(b"text").is_none());
        assert!(content_type(b"").is_none());
        let ct = content_type(b"multipart/mixed;\r\n\tboundary=\"a\\\"b\";;x").unwrap();
        assert_eq!(ct.params, vec![(b"boundary".to_vec(), b"a\"b".to_vec())]);
    }

    #[test]
    fn disposition_and_language() {
        let d = disposition(b"attachment; filename=my file.pdf").unwrap();
        assert_eq!(d.main, b"attachment");
        assert_eq!(
            d.params,
            vec![(b"filename".to_vec(), b"my file.pdf".to_vec())]
        );
        assert_eq!(
            language(b"en, de (German)"),
            vec![b"en".to_vec(), b"de".to_vec()]
        );
        assert_eq!(token_value(b" Base64 (yes)\r\n"), b"Base64");
    }
}
