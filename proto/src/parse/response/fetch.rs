//! `msg-att` of a FETCH response (RFC 9051 section 7.5.2, RFC 3501, RFC 7162, RFC 8474), and
//! the section specifiers the server echoes back.

use bytes::Bytes;

use super::{body, object_id};
use crate::parse::cursor::{Cursor, PResult};
use crate::types::{FetchValue, Section, SectionText};

/// `msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic /
/// msg-att-static)) ")"`. An empty list is tolerated so every value the writer can write
/// reads back.
pub(super) fn msg_att(c: &mut Cursor<'_>) -> PResult<Vec<FetchValue>> {
    c.paren_list("message attributes", true, msg_att_item)
}

fn msg_att_item(c: &mut Cursor<'_>) -> PResult<FetchValue> {
    let name = c.word().to_ascii_uppercase();
    // BODY[...] and BINARY[...] go straight on to the section; everything else has SP.
    let sectioned =
        matches!(name.as_slice(), b"BODY" | b"BINARY" | b"BINARY.SIZE") && c.peek() == Some(b'[');
    if !sectioned {
        if name.is_empty() {
            return Err(c.error("expected message attribute"));
        }
        c.sp_after("message attribute name")?;
    }
    Ok(match name.as_slice() {
        b"FLAGS" => FetchValue::Flags(c.paren_list("flag list", true, Cursor::flag_perm)?),
        b"INTERNALDATE" => FetchValue::InternalDate(c.date_time()?),
        b"SAVEDATE" => FetchValue::SaveDate(if c.nil() { None } else { Some(c.date_time()?) }),
        b"RFC822.SIZE" => FetchValue::Rfc822Size(c.number64()?),
        b"ENVELOPE" => FetchValue::Envelope(Box::new(body::envelope(c)?)),
        b"BODYSTRUCTURE" => FetchValue::BodyStructure(Box::new(body::body(c)?)),
        b"BODY" if !sectioned => FetchValue::Body(Box::new(body::body(c)?)),
        b"BODY" => {
            let section = section(c)?;
            let origin = origin(c)?;
            c.sp_after("section")?;
            FetchValue::BodySection {
                section,
                origin,
                data: nstring_data(c)?,
            }
        }
        b"BINARY" if sectioned => {
            let part = section_binary(c)?;
            let origin = origin(c)?;
            c.sp_after("section")?;
            FetchValue::Binary {
                part,
                origin,
                data: nstring_data(c)?,
            }
        }
        b"BINARY.SIZE" if sectioned => {
            let part = section_binary(c)?;
            c.sp_after("section")?;
            FetchValue::BinarySize {
                part,
                size: c.number64()?,
            }
        }
        b"UID" => FetchValue::Uid(c.number()?),
        b"MODSEQ" => {
            c.expect(b'(', "expected \"(\" before MODSEQ value")?;
            let n = c.number64()?;
            c.expect(b')', "expected \")\" after MODSEQ value")?;
            FetchValue::ModSeq(n)
        }
        b"EMAILID" => FetchValue::EmailId(object_id(c)?),
        b"THREADID" if c.nil() => FetchValue::ThreadId(None),
        b"THREADID" => FetchValue::ThreadId(Some(object_id(c)?)),
        b"PREVIEW" => FetchValue::Preview(
            nstring_data(c)?.map(|text| String::from_utf8_lossy(&text).into_owned()),
        ),
        b"RFC822" => FetchValue::Rfc822(nstring_data(c)?),
        b"RFC822.HEADER" => FetchValue::Rfc822Header(nstring_data(c)?),
        b"RFC822.TEXT" => FetchValue::Rfc822Text(nstring_data(c)?),
        _ => return Err(c.error("unknown message attribute")),
    })
}

/// Message data: `nstring`, or `literal8` for BINARY. Literals are sliced from the response
/// without copying.
fn nstring_data(c: &mut Cursor<'_>) -> PResult<Option<Bytes>> {
    if c.nil() {
        return Ok(None);
    }
    match c.peek() {
        Some(b'{' | b'~') => Ok(Some(c.literal_bytes()?.0)),
        _ => Ok(Some(Bytes::from(c.quoted()?.into_owned()))),
    }
}

/// `"<" number ">"` after a section, when a partial was requested.
fn origin(c: &mut Cursor<'_>) -> PResult<Option<u32>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let n = c.number()?;
    c.expect(b'>', "expected \">\" after origin octet")?;
    Ok(Some(n))
}

/// `section-part = nz-number *("." nz-number)`, stopping before a `.` that introduces
/// `section-text`. Empty when no part is given.
fn section_part(c: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    let mut part = Vec::new();
    while matches!(c.peek(), Some(b'0'..=b'9')) {
        part.push(c.number()?);
        if c.peek() == Some(b'.') && matches!(c.peek_at(1), Some(b'0'..=b'9')) {
            c.eat(b'.');
        } else {
            break;
        }
    }
    Ok(part)
}

/// `section = "[" [section-spec] "]"` with `section-spec = section-msgtext /
/// (section-part ["." section-text])`.
fn section(c: &mut Cursor<'_>) -> PResult<Section> {
    c.expect(b'[', "expected \"[\" to open section")?;
    let part = section_part(c)?;
    let has_text = if part.is_empty() {
        c.peek() != Some(b']')
    } else {
        c.eat(b'.')
    };
    let text = if has_text {
        Some(section_text(c, !part.is_empty())?)
    } else {
        None
    };
    c.expect(b']', "expected \"]\" to close section")?;
    Ok(Section { part, text })
}

/// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`, plus
/// `"MIME"` after a part number (`section-text`). Header names are kept as written.
fn section_text(c: &mut Cursor<'_>, after_part: bool) -> PResult<SectionText> {
    let word = c.word().to_ascii_uppercase();
    let header_list = |c: &mut Cursor<'_>| {
        c.sp_after("HEADER.FIELDS")?;
        c.paren_list("header list", false, |c| Ok(c.astring()?.into_owned()))
    };
    Ok(match word.as_slice() {
        b"HEADER" => SectionText::Header,
        b"TEXT" => SectionText::Text,
        b"MIME" if after_part => SectionText::Mime,
        b"HEADER.FIELDS" => SectionText::HeaderFields(header_list(c)?),
        b"HEADER.FIELDS.NOT" => SectionText::HeaderFieldsNot(header_list(c)?),
        _ => return Err(c.error("unknown section text")),
    })
}

/// `section-binary = "[" [section-part] "]"`.
fn section_binary(c: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    c.expect(b'[', "expected \"[\" to open section")?;
    let part = section_part(c)?;
    c.expect(b']', "expected \"]\" to close section")?;
    Ok(part)
}
