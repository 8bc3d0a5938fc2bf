//! The MIME tree computed once at APPEND: each part's header and body offsets, its content
//! fields, and for MESSAGE/RFC822 parts the encapsulated message, so that ENVELOPE,
//! BODYSTRUCTURE and every `BODY[section]` come from the stored octets without reparsing.
//!
//! Parsing follows RFC 2045/2046 and, where mail is broken, what Dovecot does: only an empty
//! line ends a header; a boundary line is `--boundary` (then `--` for the last one) followed by
//! nothing but blanks; a part ends before the line end that precedes the next boundary line; a
//! multipart with no parts gets one empty TEXT/PLAIN child. Nesting and part counts are capped
//! so a hostile message cannot make the tree (or the `.meta` file) unbounded.

use serde::{Deserialize, Serialize};

use super::envelope::Env;
use super::header::{self, Structured};

/// Deeper parts are kept as opaque leaves.
const MAX_DEPTH: usize = 64;
/// Parts beyond this many are not split out: the rest of their multipart stays in the last one.
const MAX_PARTS: usize = 10_000;

/// A byte range of the stored message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        // Messages are far below 4 GiB (the APPEND limit); saturating keeps a pathological
        // caller from wrapping around.
        let c = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span {
            start: c(start),
            end: c(end.max(start)),
        }
    }

    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// The range as `usize`, for slicing with `get` (never trusted to be in bounds: a `.meta`
    /// may be paired with the wrong blob).
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end.max(self.start) as usize
    }
}

/// `body-fld-param`: attribute/value pairs in header order.
pub(crate) type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// A part's MIME fields as written in its header (case kept); `None` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Content {
    /// Type and subtype after defaulting (TEXT/PLAIN, or MESSAGE/RFC822 in a digest).
    pub media_type: Vec<u8>,
    pub subtype: Vec<u8>,
    pub params: Params,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    /// Content-Transfer-Encoding token; `None` means 7BIT.
    pub encoding: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<(Vec<u8>, Params)>,
    pub language: Vec<Vec<u8>>,
    pub location: Option<Vec<u8>>,
}

impl Content {
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type.as_bytes())
            && self.subtype.eq_ignore_ascii_case(subtype.as_bytes())
    }

    pub fn is_type(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type.as_bytes())
    }

    pub fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether the transfer encoding leaves the octets as they are (what MESSAGE/RFC822 and
    /// MULTIPART need before we look inside them, RFC 2046 sections 5.1 and 5.2.1).
    pub fn is_identity_encoding(&self) -> bool {
        self.encoding.as_deref().is_none_or(|e| {
            [&b"7bit"[..], b"8bit", b"binary"]
                .iter()
                .any(|k| e.eq_ignore_ascii_case(k))
        })
    }
}

/// One MIME part (the message itself is the root part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Part {
    /// The header including its blank line (empty for a synthetic part).
    pub header: Span,
    pub body: Span,
    /// Lines in the body: LF count, plus one for a last line without a line end.
    pub lines: u32,
    pub content: Content,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Kind {
    Leaf,
    Multi(Vec<Part>),
    /// MESSAGE/RFC822 or MESSAGE/GLOBAL: the encapsulated message (its root part) and envelope.
    Message(Box<Part>, Box<Env>),
}

impl Part {
    /// The sub-parts that `part.N` numbers (RFC 9051 section 6.4.5): a multipart's children,
    /// or for an encapsulated message what that message's own part numbers refer to.
    pub fn children(&self) -> &[Part] {
        match &self.kind {
            Kind::Leaf => &[],
            Kind::Multi(parts) => parts,
            Kind::Message(inner, _) => inner.numbered(),
        }
    }

    /// A message's numbered parts: its children if it is multipart, else itself as part 1.
    pub fn numbered(&self) -> &[Part] {
        match &self.kind {
            Kind::Multi(parts) => parts,
            _ => std::slice::from_ref(self),
        }
    }

    /// Every part of the tree, depth first (encapsulated messages included).
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Part)) {
        f(self);
        match &self.kind {
            Kind::Leaf => {}
            Kind::Multi(parts) => parts.iter().for_each(|p| p.walk(f)),
            Kind::Message(inner, _) => inner.walk(f),
        }
    }
}

/// Parses a whole message (or an encapsulated one) occupying `raw[start..end]`.
pub(crate) fn parse_message(raw: &[u8], start: usize, end: usize) -> (Part, Env) {
    let mut budget = MAX_PARTS;
    let part = parse_part(raw, start, end, false, 0, &mut budget);
    let env = Env::parse(raw.get(part.header.range()).unwrap_or_default());
    (part, env)
}

/// Parses the part in `raw[start..end]`; `in_digest` switches the default type to
/// MESSAGE/RFC822 (RFC 2046 section 5.1.5).
fn parse_part(
    raw: &[u8],
    start: usize,
    end: usize,
    in_digest: bool,
    depth: usize,
    budget: &mut usize,
) -> Part {
    let (header_end, _) = header::header_end(raw, start, end);
    let content = content(&raw[start..header_end], in_digest);
    let body = Span::new(header_end, end);
    let body_bytes = &raw[header_end..end];
    let lines = count_lines(body_bytes);
    // Containers are entered whatever their (illegal) transfer encoding claims, so the
    // structure stays one clients can parse; past the depth cap they get an empty child.
    let deeper = depth < MAX_DEPTH;
    let kind = if content.is_type("multipart") {
        let boundary = content.param("boundary").unwrap_or_default();
        let mut parts: Vec<Part> = if boundary.is_empty() || !deeper {
            Vec::new()
        } else {
            let digest = content.is("multipart", "digest");
            split_multipart(raw, header_end, end, boundary, budget)
                .into_iter()
                .map(|(s, e)| parse_part(raw, s, e, digest, depth + 1, budget))
                .collect()
        };
        if parts.is_empty() {
            parts.push(empty_text_part(end));
        }
        Kind::Multi(parts)
    } else if content.is("message", "rfc822") || content.is("message", "global") {
        let (inner, env) = if deeper {
            let inner = parse_part(raw, header_end, end, false, depth + 1, budget);
            let env = Env::parse(raw.get(inner.header.range()).unwrap_or_default());
            (inner, env)
        } else {
            (empty_text_part(header_end), Env::default())
        };
        Kind::Message(Box::new(inner), Box::new(env))
    } else {
        Kind::Leaf
    };
    Part {
        header: Span::new(start, header_end),
        body,
        lines,
        content,
        kind,
    }
}

/// What Dovecot reports for a multipart without parts: an empty TEXT/PLAIN, so the
/// BODYSTRUCTURE still has the `1*body` the grammar requires.
fn empty_text_part(at: usize) -> Part {
    Part {
        header: Span::new(at, at),
        body: Span::new(at, at),
        lines: 0,
        content: default_content(false),
        kind: Kind::Leaf,
    }
}

fn count_lines(body: &[u8]) -> u32 {
    let lf = body.iter().filter(|&&b| b == b'\n').count();
    let partial = usize::from(body.last().is_some_and(|&b| b != b'\n'));
    u32::try_from(lf + partial).unwrap_or(u32::MAX)
}

fn default_content(in_digest: bool) -> Content {
    if in_digest {
        Content {
            media_type: b"MESSAGE".to_vec(),
            subtype: b"RFC822".to_vec(),
            ..Content::default()
        }
    } else {
        Content {
            media_type: b"TEXT".to_vec(),
            subtype: b"PLAIN".to_vec(),
            params: vec![(b"CHARSET".to_vec(), b"US-ASCII".to_vec())],
            ..Content::default()
        }
    }
}

/// The MIME fields of one header block.
fn content(block: &[u8], in_digest: bool) -> Content {
    let field = |name: &str| header::first(block, name).map(|f| f.value);
    let text = |name: &str| field(name).map(header::unfold);
    let mut c = match field("Content-Type").and_then(header::content_type) {
        Some(Structured { main, sub, params }) => Content {
            media_type: main,
            subtype: sub,
            params,
            ..Content::default()
        },
        None => default_content(in_digest),
    };
    c.id = text("Content-ID");
    c.description = text("Content-Description");
    c.encoding = field("Content-Transfer-Encoding")
        .map(header::token_value)
        .filter(|e| !e.is_empty());
    c.md5 = text("Content-MD5");
    c.disposition = field("Content-Disposition")
        .and_then(header::disposition)
        .map(|d| (d.main, d.params));
    c.language = field("Content-Language")
        .map(header::language)
        .unwrap_or_default();
    // RFC 2557: a folded location is read with the folding blanks removed.
    c.location = field("Content-Location").map(|v| {
        v.iter()
            .copied()
            .filter(|b| !b" \t\r\n".contains(b))
            .collect()
    });
    c
}

/// The `(start, end)` of each body part of the multipart body in `raw[start..end]`.
fn split_multipart(
    raw: &[u8],
    start: usize,
    end: usize,
    boundary: &[u8],
    budget: &mut usize,
) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    // Start of the current part's content, once the first boundary has been seen.
    let mut current: Option<usize> = None;
    let mut pos = start;
    while pos < end {
        let next_line = header::line_end(raw, pos, end);
        if let Some(closing) = boundary_line(&raw[pos..next_line], boundary) {
            if let Some(s) = current {
                if *budget == 0 {
                    // Out of parts: whatever follows stays inside this last one.
                    break;
                }
                *budget -= 1;
                parts.push((s, before_line_end(raw, s, pos)));
            }
            if closing {
                return parts;
            }
            current = Some(next_line);
        }
        pos = next_line;
    }
    // No closing delimiter (truncated mail, or the part budget ran out): the last part runs
    // to the end.
    if let Some(s) = current {
        *budget = budget.saturating_sub(1);
        parts.push((s, end));
    }
    parts
}

/// `Some(closing)` when `line` is a delimiter line for `boundary` (RFC 2046 section 5.1.1:
/// `--boundary` or `--boundary--`, then only transport padding).
fn boundary_line(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (closing, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    rest.iter()
        .all(|b| b" \t\r\n".contains(b))
        .then_some(closing)
}

/// The end of a part whose delimiter line starts at `delim`: the CRLF (or LF) before the
/// delimiter belongs to the delimiter, not to the part (RFC 2046 section 5.1.1).
fn before_line_end(raw: &[u8], part_start: usize, delim: usize) -> usize {
    let mut e = delim;
    if e > part_start && raw[e - 1] == b'\n' {
        e -= 1;
        if e > part_start && raw[e - 1] == b'\r' {
            e -= 1;
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_lines() {
        assert_eq!(boundary_line(b"--abc\r\n", b"abc"), Some(false));
        assert_eq!(boundary_line(b"--abc--\r\n", b"abc"), Some(true));
        assert_eq!(boundary_line(b"--abc  \n", b"abc"), Some(false));
        assert_eq!(boundary_line(b"--abc", b"abc"), Some(false));
        assert_eq!(boundary_line(b"--abcd\r\n", b"abc"), None);
        assert_eq!(boundary_line(b"-abc\r\n", b"abc"), None);
    }

    #[test]
    fn parts_end_before_the_line_end_preceding_the_delimiter() {
        let m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>\r\n\r\n--b--\r\nepilogue";
        let (p, _) = parse_message(m, 0, m.len());
        let Kind::Multi(parts) = &p.kind else {
            panic!("not multipart")
        };
        assert_eq!(parts.len(), 2);
        assert_eq!(&m[parts[0].body.range()], b"one");
        assert_eq!(&m[parts[0].header.range()], b"\r\n");
        assert_eq!(&m[parts[1].body.range()], b"<p>\r\n");
        assert_eq!(parts[1].lines, 1);
        assert!(parts[1].content.is("text", "html"));
    }

    #[test]
    fn multipart_without_parts_gets_an_empty_text_part() {
        let m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\nno delimiters here\r\n";
        let (p, _) = parse_message(m, 0, m.len());
        assert_eq!(p.children().len(), 1);
        assert_eq!(p.children()[0].body.len(), 0);
        let m = b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n";
        assert_eq!(parse_message(m, 0, m.len()).0.children().len(), 1);
    }

    #[test]
    fn lines_count_a_final_partial_line() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\r\nb\r\n"), 2);
        assert_eq!(count_lines(b"a\nb"), 2);
    }

    #[test]
    fn deep_nesting_is_capped() {
        let mut m = Vec::new();
        for _ in 0..200 {
            m.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        m.extend_from_slice(b"Subject: deep\r\n\r\nbody\r\n");
        let (p, _) = parse_message(&m, 0, m.len());
        let mut depth = 0;
        p.walk(&mut |_| depth += 1);
        // Parts at depths 0..=MAX_DEPTH, and the empty stand-in for what lies deeper.
        assert_eq!(depth, MAX_DEPTH + 2);
    }
}
