//! The text SEARCH compares against: header values with RFC 2047 encoded-words decoded, text
//! parts with transfer encoding and charset removed, all case-folded, plus the search strings
//! themselves decoded from the command's CHARSET.

use bytes::Bytes;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::html::html_to_text;
use mail_parser::parsers::MessageStream;
use mail_parser::HeaderValue;

use super::super::address;
use super::super::binary::Cte;
use super::super::header::{self, unfold};
use super::super::meta::{Kind, Part, Span};
use super::super::section::slice;

/// Case folding for matching: ASCII lowercase, then Unicode lowercase, plus the few simple
/// case foldings that differ from lowercasing (final sigma, long s, ...). Full folding
/// (`ß` = `ss`) is not done: RFC 9051 only asks for the ASCII range.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            c if c.is_ascii() => out.push(c),
            'ς' => out.push('σ'),
            'ſ' => out.push('s'),
            'ϐ' => out.push('β'),
            'ϑ' => out.push('θ'),
            'ϕ' => out.push('φ'),
            'ϖ' => out.push('π'),
            'ϰ' => out.push('κ'),
            'ϱ' => out.push('ρ'),
            'ϵ' => out.push('ε'),
            'ẛ' => out.push('ṡ'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Decodes `bytes` from `charset` (`None`: UTF-8). `None` when the charset is unknown.
pub(crate) fn decode_charset(bytes: &[u8], charset: Option<&[u8]>) -> Option<String> {
    match charset {
        None => Some(String::from_utf8_lossy(bytes).into_owned()),
        Some(c)
            if c.eq_ignore_ascii_case(b"utf-8")
                || c.eq_ignore_ascii_case(b"utf8")
                || c.eq_ignore_ascii_case(b"us-ascii") =>
        {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        Some(c) => charset_decoder(c).map(|decode| decode(bytes)),
    }
}

/// Raw 8-bit header bytes as text: UTF-8 (RFC 6532) when valid, else the Windows-1252
/// superset of Latin-1 that unlabelled 8-bit headers are nearly always in.
fn decode_8bit(v: Vec<u8>) -> String {
    String::from_utf8(v).unwrap_or_else(|e| {
        let bytes = e.into_bytes();
        match charset_decoder(b"windows-1252") {
            Some(decode) => decode(&bytes),
            None => String::from_utf8_lossy(&bytes).into_owned(),
        }
    })
}

/// A header value as text: unfolded, encoded-words decoded (RFC 2047), other 8-bit bytes
/// read as UTF-8 or else Windows-1252.
pub(crate) fn decode_header_value(value: &[u8]) -> String {
    let mut v = unfold(value);
    if !v.windows(2).any(|w| w == b"=?") {
        return decode_8bit(v);
    }
    // mail-parser's unstructured-field reader stops at a line end not followed by a blank.
    v.push(b'\n');
    match MessageStream::new(&v).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        _ => String::new(),
    }
}

/// One header field, name lowercased, value decoded and folded.
pub(crate) struct HeaderText {
    pub name: Vec<u8>,
    pub value: String,
}

/// Address fields, whose value is also searched as ENVELOPE parses it.
const ADDRESS_FIELDS: [&[u8]; 6] = [b"from", b"sender", b"reply-to", b"to", b"cc", b"bcc"];

pub(crate) fn header_texts(block: &[u8]) -> Vec<HeaderText> {
    header::fields(block)
        .map(|f| {
            let name = f.name.to_ascii_lowercase();
            let mut value = decode_header_value(f.value);
            if ADDRESS_FIELDS.contains(&name.as_slice()) {
                // The same parser as ENVELOPE: `<user (comment)@ (comment) domain.org>` is
                // found as `user@domain.org`, as the client sees it.
                value.push('\n');
                value.push_str(&parsed_addresses(f.value));
            }
            HeaderText {
                name,
                value: fold(&value),
            }
        })
        .collect()
}

/// An address list as ENVELOPE reads it: `name <mailbox@host>, ...`.
fn parsed_addresses(value: &[u8]) -> String {
    let mut out = String::new();
    for a in address::parse_list(value) {
        let (Some(mailbox), Some(host)) = (&a.mailbox, &a.host) else {
            continue; // a group marker
        };
        if !out.is_empty() {
            out.push_str(", ");
        }
        if let Some(name) = &a.name {
            out.push_str(&decode_header_value(name));
            out.push(' ');
        }
        out.push('<');
        out.push_str(&String::from_utf8_lossy(mailbox));
        out.push('@');
        out.push_str(&String::from_utf8_lossy(host));
        out.push('>');
    }
    out
}

/// `name: value` lines of a part's header, values decoded and folded.
fn push_header_text(out: &mut String, raw: &[u8], header: Span) {
    for f in raw
        .get(header.range())
        .map(header::fields)
        .into_iter()
        .flatten()
    {
        out.push_str(&fold(&String::from_utf8_lossy(f.name)));
        out.push_str(": ");
        out.push_str(&fold(&decode_header_value(f.value)));
        out.push('\n');
    }
}

/// The folded text of every text part under `root` (decoded), and of the headers of its
/// MIME parts and encapsulated messages, which are part of the outer message's body (RFC
/// 9051 section 6.4.4: `TEXT resume.pdf` finds the attachment named so). One string, parts
/// separated by a line end so that a match cannot straddle two parts.
pub(crate) fn body_text(raw: &Bytes, root: &Part) -> String {
    let mut out = String::new();
    root.walk(&mut |p| {
        // Every part but the root has its header in the body (an encapsulated message's
        // own header is the header of its root part, which the walk visits too).
        if !std::ptr::eq(p, root) {
            push_header_text(&mut out, raw, p.header);
        }
        if let Some(text) = part_text(raw, p) {
            out.push_str(&fold(&text));
            out.push('\n');
        }
    });
    out
}

/// The readable text of a leaf `text/*` part: transfer encoding and charset removed, HTML
/// turned into plain text; `None` for other parts.
pub(crate) fn part_text(raw: &Bytes, p: &Part) -> Option<String> {
    if !matches!(p.kind, Kind::Leaf) || !p.content.is_type("text") {
        return None;
    }
    let data = slice(raw, p.body)?;
    // An unknown transfer encoding is read as it is.
    let data = Cte::of(&p.content).map_or(data.clone(), |cte| cte.decode(&data));
    let text = decode_charset(&data, p.content.param("charset"))
        .unwrap_or_else(|| String::from_utf8_lossy(&data).into_owned());
    Some(if p.content.is("text", "html") {
        html_to_text(&text)
    } else {
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_ascii_and_unicode() {
        assert_eq!(fold("HeLLo ÄÖÜ ΣΑΣ ς"), "hello äöü σασ σ");
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(
            decode_header_value(b" =?utf-8?q?J=C3=B6rg?= =?ISO-8859-1?B?U2No9m4=?="),
            "JörgSchön"
        );
        assert_eq!(decode_header_value(b" plain\r\n text"), "plain text");
        assert_eq!(decode_header_value(b"8-bit J\xc3\xb6rg"), "8-bit Jörg");
        assert_eq!(decode_header_value(b"Latin-1 Zo\xeb"), "Latin-1 Zoë");
    }

    #[test]
    fn charsets() {
        assert_eq!(
            decode_charset(b"caf\xe9", Some(b"ISO-8859-1")).as_deref(),
            Some("café")
        );
        assert_eq!(decode_charset(b"x", Some(b"X-NONSENSE")), None);
        assert_eq!(decode_charset(b"x", None).as_deref(), Some("x"));
    }
}
