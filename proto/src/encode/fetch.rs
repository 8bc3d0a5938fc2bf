//! FETCH response items (RFC 9051 section 7.5.2): message attributes, ENVELOPE, BODY and
//! BODYSTRUCTURE, and the section specifiers shared with the command writer.
//!
//! Clients read BODYSTRUCTURE by position (K-9 looks for the disposition at a fixed index), so
//! every extension slot is written, as `NIL` when empty. `BODY` is the same structure with no
//! extension data at any depth.

use super::wire::{self, Sink};
use crate::types::{
    Address, BodyStructure, Disposition, Envelope, FetchValue, Section, SectionText, SingleKind,
    SinglePart, StreamedItem,
};

/// One `msg-att` item.
pub(crate) fn fetch_value(s: &mut impl Sink, v: &FetchValue) {
    match v {
        FetchValue::Flags(flags) => {
            s.put(b"FLAGS ");
            wire::flag_list(s, flags);
        }
        FetchValue::InternalDate(dt) => {
            s.put(b"INTERNALDATE ");
            wire::date_time(s, dt);
        }
        FetchValue::SaveDate(dt) => {
            s.put(b"SAVEDATE ");
            match dt {
                Some(dt) => wire::date_time(s, dt),
                None => s.put(b"NIL"),
            }
        }
        FetchValue::Rfc822Size(n) => wire::named_number(s, b"RFC822.SIZE", *n),
        FetchValue::Envelope(env) => {
            s.put(b"ENVELOPE ");
            envelope(s, env);
        }
        FetchValue::Body(b) => {
            s.put(b"BODY ");
            body(s, b, false);
        }
        FetchValue::BodyStructure(b) => {
            s.put(b"BODYSTRUCTURE ");
            body(s, b, true);
        }
        FetchValue::BodySection {
            section: sec,
            origin,
            data,
        } => {
            s.put(b"BODY");
            section(s, sec);
            origin_marker(s, *origin);
            wire::sp(s);
            wire::nliteral(s, data.as_ref(), false);
        }
        FetchValue::Binary { part, origin, data } => {
            s.put(b"BINARY");
            section_binary(s, part);
            origin_marker(s, *origin);
            wire::sp(s);
            // literal8 only when it is needed: a NUL cannot go in a plain literal, and
            // RFC 9051 section 7.5.2 asks for a string otherwise.
            let binary = data.as_ref().is_some_and(|d| d.contains(&0));
            wire::nliteral(s, data.as_ref(), binary);
        }
        FetchValue::BinarySize { part, size } => {
            s.put(b"BINARY.SIZE");
            section_binary(s, part);
            wire::sp(s);
            wire::number(s, *size);
        }
        FetchValue::Uid(n) => wire::named_number(s, b"UID", u64::from(*n)),
        FetchValue::ModSeq(n) => {
            s.put(b"MODSEQ (");
            wire::number(s, *n);
            s.put(b")");
        }
        FetchValue::EmailId(id) => {
            s.put(b"EMAILID ");
            wire::object_id(s, Some(id));
        }
        FetchValue::ThreadId(id) => {
            s.put(b"THREADID ");
            wire::object_id(s, id.as_ref());
        }
        FetchValue::Preview(text) => {
            s.put(b"PREVIEW ");
            wire::nstring(s, text.as_deref().map(str::as_bytes));
        }
        FetchValue::Rfc822(d) => message_data(s, b"RFC822 ", d.as_ref()),
        FetchValue::Rfc822Header(d) => message_data(s, b"RFC822.HEADER ", d.as_ref()),
        FetchValue::Rfc822Text(d) => message_data(s, b"RFC822.TEXT ", d.as_ref()),
        FetchValue::Streamed { item, len } => {
            match item {
                StreamedItem::Body {
                    section: sec,
                    origin,
                } => {
                    s.put(b"BODY");
                    section(s, sec);
                    origin_marker(s, *origin);
                    wire::sp(s);
                }
                StreamedItem::Rfc822 => s.put(b"RFC822 "),
                StreamedItem::Rfc822Header => s.put(b"RFC822.HEADER "),
                StreamedItem::Rfc822Text => s.put(b"RFC822.TEXT "),
                StreamedItem::Binary { part, origin, .. } => {
                    s.put(b"BINARY");
                    section_binary(s, part);
                    origin_marker(s, *origin);
                    wire::sp(s);
                }
            }
            let literal8 = matches!(item, StreamedItem::Binary { literal8: true, .. });
            s.hole(*len, literal8);
        }
    }
}

fn message_data(s: &mut impl Sink, name: &[u8], data: Option<&bytes::Bytes>) {
    s.put(name);
    wire::nliteral(s, data, false);
}

fn origin_marker(s: &mut impl Sink, origin: Option<u32>) {
    if let Some(o) = origin {
        s.put(b"<");
        wire::number(s, u64::from(o));
        s.put(b">");
    }
}

fn part_path(s: &mut impl Sink, part: &[u32]) {
    for (i, p) in part.iter().enumerate() {
        if i > 0 {
            s.put(b".");
        }
        wire::number(s, u64::from(*p));
    }
}

/// `section = "[" [section-spec] "]"`, written back exactly as the client asked for it
/// (Apple Mail drops data whose `HEADER.FIELDS` list differs from its request).
pub(crate) fn section(s: &mut impl Sink, sec: &Section) {
    s.put(b"[");
    part_path(s, &sec.part);
    if let Some(t) = &sec.text {
        if !sec.part.is_empty() {
            s.put(b".");
        }
        match t {
            SectionText::Header => s.put(b"HEADER"),
            SectionText::HeaderFields(names) => header_list(s, b"HEADER.FIELDS ", names),
            SectionText::HeaderFieldsNot(names) => header_list(s, b"HEADER.FIELDS.NOT ", names),
            SectionText::Text => s.put(b"TEXT"),
            SectionText::Mime => s.put(b"MIME"),
        }
    }
    s.put(b"]");
}

fn header_list(s: &mut impl Sink, word: &[u8], names: &[Vec<u8>]) {
    s.put(word);
    wire::paren_list(s, names, |s, n| wire::astring(s, n));
}

/// `section-binary = "[" [section-part] "]"`.
pub(crate) fn section_binary(s: &mut impl Sink, part: &[u32]) {
    s.put(b"[");
    part_path(s, part);
    s.put(b"]");
}

/// `envelope` (RFC 9051 section 7.5.2).
fn envelope(s: &mut impl Sink, e: &Envelope) {
    s.put(b"(");
    wire::nstring(s, e.date.as_deref());
    wire::sp(s);
    wire::nstring(s, e.subject.as_deref());
    for addrs in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        wire::sp(s);
        address_list(s, addrs);
    }
    wire::sp(s);
    wire::nstring(s, e.in_reply_to.as_deref());
    wire::sp(s);
    wire::nstring(s, e.message_id.as_deref());
    s.put(b")");
}

/// `"(" 1*address ")" / nil`: addresses follow each other without SP, per the ABNF.
fn address_list(s: &mut impl Sink, addrs: &[Address]) {
    if addrs.is_empty() {
        s.put(b"NIL");
        return;
    }
    s.put(b"(");
    for a in addrs {
        s.put(b"(");
        wire::nstring(s, a.name.as_deref());
        wire::sp(s);
        wire::nstring(s, a.adl.as_deref());
        wire::sp(s);
        wire::nstring(s, a.mailbox.as_deref());
        wire::sp(s);
        wire::nstring(s, a.host.as_deref());
        s.put(b")");
    }
    s.put(b")");
}

/// `body`; `extended` selects BODYSTRUCTURE (with extension data) over BODY.
fn body(s: &mut impl Sink, b: &BodyStructure, extended: bool) {
    s.put(b"(");
    match b {
        BodyStructure::Single {
            body: part,
            extension,
        } => {
            single_part(s, part, extended);
            if extended {
                wire::sp(s);
                wire::nstring(s, extension.md5.as_deref());
                extension_tail(
                    s,
                    extension.disposition.as_ref(),
                    &extension.language,
                    extension.location.as_deref(),
                );
            }
        }
        BodyStructure::Multi {
            parts,
            subtype,
            extension,
        } => {
            // `1*body`: child parts are not separated by SP.
            for p in parts {
                body(s, p, extended);
            }
            wire::sp(s);
            wire::string(s, subtype);
            if extended {
                wire::sp(s);
                params(s, &extension.params);
                extension_tail(
                    s,
                    extension.disposition.as_ref(),
                    &extension.language,
                    extension.location.as_deref(),
                );
            }
        }
    }
    s.put(b")");
}

/// `body-type-basic / body-type-msg / body-type-text` without the extension data.
fn single_part(s: &mut impl Sink, p: &SinglePart, extended: bool) {
    wire::string(s, &p.media_type);
    wire::sp(s);
    wire::string(s, &p.subtype);
    wire::sp(s);
    params(s, &p.params);
    wire::sp(s);
    wire::nstring(s, p.id.as_deref());
    wire::sp(s);
    wire::nstring(s, p.description.as_deref());
    wire::sp(s);
    wire::string(s, &p.encoding);
    wire::sp(s);
    wire::number(s, u64::from(p.octets));
    match &p.kind {
        SingleKind::Basic => {}
        SingleKind::Text { lines } => {
            wire::sp(s);
            wire::number(s, u64::from(*lines));
        }
        SingleKind::Message {
            envelope: env,
            body: inner,
            lines,
        } => {
            wire::sp(s);
            envelope(s, env);
            wire::sp(s);
            body(s, inner, extended);
            wire::sp(s);
            wire::number(s, u64::from(*lines));
        }
    }
}

/// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc`, common to both extension kinds.
fn extension_tail(
    s: &mut impl Sink,
    disposition: Option<&Disposition>,
    language: &[Vec<u8>],
    location: Option<&[u8]>,
) {
    wire::sp(s);
    match disposition {
        Some(d) => {
            s.put(b"(");
            wire::string(s, &d.kind);
            wire::sp(s);
            params(s, &d.params);
            s.put(b")");
        }
        None => s.put(b"NIL"),
    }
    wire::sp(s);
    // `body-fld-lang = nstring / "(" string *(SP string) ")"`: one language as a string,
    // as servers traditionally write it.
    match language {
        [] => s.put(b"NIL"),
        [one] => wire::string(s, one),
        many => wire::paren_list(s, many, |s, l| wire::string(s, l)),
    }
    wire::sp(s);
    wire::nstring(s, location);
}

/// `body-fld-param`: `("NAME" "value" ...)` or `NIL`.
fn params(s: &mut impl Sink, p: &[(Vec<u8>, Vec<u8>)]) {
    wire::nil_or_list(s, p, |s, (k, v)| {
        wire::string(s, k);
        wire::sp(s);
        wire::string(s, v);
    });
}
