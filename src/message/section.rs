//! `BODY[section]<partial>` (RFC 9051 section 6.4.5): resolving a part path in the stored
//! tree and slicing the stored octets, so no section needs the message reparsed.
//!
//! Slices come from `Bytes::slice` (no copy); only `HEADER.FIELDS(.NOT)` builds new bytes.
//! Offsets are checked against the octets every time: a `.meta` paired with the wrong blob
//! gives `None`, never a panic.

use bytes::{Bytes, BytesMut};
use roost_proto::{Section, SectionText};

use super::header;
use super::meta::{Kind, Part, Span};

/// The part `path` names (RFC 9051 section 6.4.5 part numbering); the root for an empty path.
pub(crate) fn resolve<'a>(root: &'a Part, path: &[u32]) -> Option<&'a Part> {
    let mut cur = root;
    let mut children = root.numbered();
    for &n in path {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        cur = children.get(i)?;
        children = cur.children();
    }
    Some(cur)
}

/// The header and body of the message a HEADER/TEXT specifier refers to: the message itself
/// for an empty path, else the message encapsulated in a MESSAGE/RFC822 part.
fn message_at<'a>(root: &'a Part, path: &[u32]) -> Option<&'a Part> {
    if path.is_empty() {
        return Some(root);
    }
    match &resolve(root, path)?.kind {
        Kind::Message(inner, _) => Some(inner),
        _ => None,
    }
}

pub(crate) fn slice(raw: &Bytes, span: Span) -> Option<Bytes> {
    let r = span.range();
    (r.end <= raw.len()).then(|| raw.slice(r))
}

pub(crate) fn section(raw: &Bytes, root: &Part, sec: &Section) -> Option<Bytes> {
    let path = sec.part.as_slice();
    match &sec.text {
        None if path.is_empty() => Some(raw.clone()),
        None => slice(raw, resolve(root, path)?.body),
        // MIME needs a part number; `[MIME]` alone is not valid.
        Some(SectionText::Mime) if path.is_empty() => None,
        Some(SectionText::Mime) => slice(raw, resolve(root, path)?.header),
        Some(SectionText::Header) => slice(raw, message_at(root, path)?.header),
        Some(SectionText::Text) => slice(raw, message_at(root, path)?.body),
        Some(SectionText::HeaderFields(names)) => {
            header_subset(raw, message_at(root, path)?.header, names, true)
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            header_subset(raw, message_at(root, path)?.header, names, false)
        }
    }
}

/// Where a section's octets are in the stored message of `size` octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionSource {
    /// These octets of the message, as stored: sent straight from the blob.
    Range(std::ops::Range<usize>),
    /// Built from the message (HEADER.FIELDS and HEADER.FIELDS.NOT): see [`section`].
    Derived,
    /// No such part: the section is empty.
    Missing,
}

pub(crate) fn section_source(root: &Part, size: usize, sec: &Section) -> SectionSource {
    let path = sec.part.as_slice();
    let span = match &sec.text {
        None if path.is_empty() => return SectionSource::Range(0..size),
        None => resolve(root, path).map(|p| p.body),
        Some(SectionText::Mime) if path.is_empty() => None,
        Some(SectionText::Mime) => resolve(root, path).map(|p| p.header),
        Some(SectionText::Header) => message_at(root, path).map(|p| p.header),
        Some(SectionText::Text) => message_at(root, path).map(|p| p.body),
        Some(SectionText::HeaderFields(_) | SectionText::HeaderFieldsNot(_)) => {
            return SectionSource::Derived
        }
    };
    match span.map(|s| s.range()) {
        Some(r) if r.end <= size => SectionSource::Range(r),
        _ => SectionSource::Missing,
    }
}

/// `<offset.length>` applied to a range of octets.
pub(crate) fn partial_range(
    range: std::ops::Range<usize>,
    offset: u32,
    length: u32,
) -> std::ops::Range<usize> {
    let start = range.start.saturating_add(offset as usize).min(range.end);
    let end = start.saturating_add(length as usize).min(range.end);
    start..end
}

/// The fields whose name is (`keep == true`) or is not in `names`, in message order, as
/// stored, then the header's blank line if it has one (RFC 9051 section 6.4.5: "the blank
/// line is included in all header fetches, except in the case of a message that has no body
/// and no blank line").
fn header_subset(raw: &Bytes, span: Span, names: &[Vec<u8>], keep: bool) -> Option<Bytes> {
    let block = raw.get(span.range())?;
    let mut out = BytesMut::new();
    for f in header::fields(block) {
        let listed = names.iter().any(|n| n.eq_ignore_ascii_case(f.name));
        if listed == keep {
            out.extend_from_slice(&block[f.span]);
        }
    }
    out.extend_from_slice(blank_line(block));
    Some(out.freeze())
}

/// The header's terminating blank line as stored (CRLF or LF), or nothing.
fn blank_line(block: &[u8]) -> &[u8] {
    let Some(before) = block.strip_suffix(b"\n") else {
        return b"";
    };
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    match &block[start..] {
        line @ (b"\n" | b"\r\n") => line,
        _ => b"",
    }
}

pub(crate) fn partial(data: Bytes, offset: u32, length: u32) -> Bytes {
    let start = (offset as usize).min(data.len());
    let end = start.saturating_add(length as usize).min(data.len());
    data.slice(start..end)
}
