//! FETCH and STORE (and their UID forms): fetch items and macros, body sections, partials,
//! BINARY (RFC 9051 section 6.4.5), CHANGEDSINCE/VANISHED and UNCHANGEDSINCE (RFC 7162).

use super::cursor::{Cursor, PResult};
use crate::types::{
    CommandBody, FetchAttribute, FetchItems, FetchModifiers, Partial, Section, SectionText,
    StoreAction,
};

/// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
/// "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]`.
pub(crate) fn fetch(c: &mut Cursor<'_>, uid: bool) -> PResult<CommandBody> {
    c.sp_after("FETCH")?;
    let set = c.sequence_set()?;
    c.sp_after("sequence set")?;
    let items = if c.peek() == Some(b'(') {
        FetchItems::List(c.paren_list("fetch items", false, fetch_att)?)
    } else if c.keyword("ALL") {
        FetchItems::All
    } else if c.keyword("FAST") {
        FetchItems::Fast
    } else if c.keyword("FULL") {
        FetchItems::Full
    } else {
        FetchItems::List(vec![fetch_att(c)?])
    };
    let mut modifiers = FetchModifiers::default();
    if c.eat(b' ') {
        c.paren_list("fetch modifiers", false, |c| {
            if c.keyword("CHANGEDSINCE") {
                c.sp_after("CHANGEDSINCE")?;
                modifiers.changed_since = Some(c.number64()?);
            } else if c.keyword("VANISHED") {
                modifiers.vanished = true;
            } else {
                return Err(c.error("unknown fetch modifier"));
            }
            Ok(())
        })?;
        // RFC 7162 section 3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE.
        if modifiers.vanished && !uid {
            return Err(c.error("VANISHED is only allowed with UID FETCH"));
        }
        if modifiers.vanished && modifiers.changed_since.is_none() {
            return Err(c.error("VANISHED needs CHANGEDSINCE"));
        }
    }
    Ok(CommandBody::Fetch {
        uid,
        set,
        items,
        modifiers,
    })
}

/// One `fetch-att`, including the IMAP4rev1 `RFC822*` items and the extension items.
pub(crate) fn fetch_att(c: &mut Cursor<'_>) -> PResult<FetchAttribute> {
    use FetchAttribute as A;
    let w = c.word();
    let upper = if w.len() <= 16 {
        w.to_ascii_uppercase()
    } else {
        Vec::new()
    };
    Ok(match upper.as_slice() {
        b"ENVELOPE" => A::Envelope,
        b"FLAGS" => A::Flags,
        b"INTERNALDATE" => A::InternalDate,
        b"SAVEDATE" => A::SaveDate,
        b"RFC822.SIZE" => A::Rfc822Size,
        b"RFC822.HEADER" => A::Rfc822Header,
        b"RFC822.TEXT" => A::Rfc822Text,
        b"RFC822" => A::Rfc822,
        b"BODYSTRUCTURE" => A::BodyStructure,
        b"UID" => A::Uid,
        b"MODSEQ" => A::ModSeq,
        b"EMAILID" => A::EmailId,
        b"THREADID" => A::ThreadId,
        b"PREVIEW" => A::Preview {
            lazy: preview_lazy(c)?,
        },
        b"BODY" if c.peek() != Some(b'[') => A::Body,
        b"BODY" | b"BODY.PEEK" => {
            let section = section(c)?;
            A::BodySection {
                peek: upper.len() > 4,
                section,
                partial: partial(c)?,
            }
        }
        b"BINARY" | b"BINARY.PEEK" => {
            let part = section_binary(c)?;
            A::Binary {
                peek: upper.len() > 6,
                part,
                partial: partial(c)?,
            }
        }
        b"BINARY.SIZE" => A::BinarySize {
            part: section_binary(c)?,
        },
        _ => return Err(c.error("unknown fetch item")),
    })
}

/// `section = "[" [section-spec] "]"`, with
/// `section-spec = section-msgtext / (section-part ["." section-text])`.
fn section(c: &mut Cursor<'_>) -> PResult<Section> {
    c.expect(b'[', "expected \"[\" to open section")?;
    let mut part = Vec::new();
    let mut text = None;
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        part = section_part(c)?;
        if c.eat(b'.') {
            text = Some(section_text(c, true)?);
        }
    } else if c.peek() != Some(b']') {
        text = Some(section_text(c, false)?);
    }
    c.expect(b']', "expected \"]\" to close section")?;
    Ok(Section { part, text })
}

/// `section-part = nz-number *("." nz-number)`; stops before a `.` that starts a
/// section-text.
fn section_part(c: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    let mut part = vec![c.nz_number()?];
    while c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.eat(b'.');
        part.push(c.nz_number()?);
    }
    Ok(part)
}

/// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`;
/// `section-text = section-msgtext / "MIME"` (after a part number).
fn section_text(c: &mut Cursor<'_>, after_part: bool) -> PResult<SectionText> {
    let w = c.word().to_ascii_uppercase();
    Ok(match w.as_slice() {
        b"HEADER" => SectionText::Header,
        b"TEXT" => SectionText::Text,
        b"MIME" if after_part => SectionText::Mime,
        b"HEADER.FIELDS" => {
            c.sp_after("HEADER.FIELDS")?;
            SectionText::HeaderFields(header_list(c)?)
        }
        b"HEADER.FIELDS.NOT" => {
            c.sp_after("HEADER.FIELDS.NOT")?;
            SectionText::HeaderFieldsNot(header_list(c)?)
        }
        _ => return Err(c.error("unknown section text")),
    })
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`.
fn header_list(c: &mut Cursor<'_>) -> PResult<Vec<Vec<u8>>> {
    c.paren_list("header list", false, |c| Ok(c.astring()?.into_owned()))
}

/// `section-binary = "[" [section-part] "]"`.
fn section_binary(c: &mut Cursor<'_>) -> PResult<Vec<u32>> {
    c.expect(b'[', "expected \"[\" to open section")?;
    let part = if c.peek() == Some(b']') {
        Vec::new()
    } else {
        section_part(c)?
    };
    c.expect(b']', "expected \"]\" to close section")?;
    Ok(part)
}

/// `partial = "<" number64 "." nz-number64 ">"`, held as 32-bit (message sizes are).
fn partial(c: &mut Cursor<'_>) -> PResult<Option<Partial>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let offset = c.number()?;
    c.expect(b'.', "expected \".\" in partial")?;
    let length = c.nz_number()?;
    c.expect(b'>', "expected \">\" to close partial")?;
    Ok(Some(Partial { offset, length }))
}

/// `store = "STORE" SP sequence-set [SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"]
/// SP store-att-flags`, with
/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`.
pub(crate) fn store(c: &mut Cursor<'_>, uid: bool) -> PResult<CommandBody> {
    c.sp_after("STORE")?;
    let set = c.sequence_set()?;
    c.sp_after("sequence set")?;
    let mut unchanged_since = None;
    if c.peek() == Some(b'(') {
        c.paren_list("store modifiers", false, |c| {
            c.expect_keyword("UNCHANGEDSINCE")?;
            c.sp_after("UNCHANGEDSINCE")?;
            unchanged_since = Some(c.number64()?);
            Ok(())
        })?;
        c.sp_after("store modifiers")?;
    }
    let action = if c.eat(b'+') {
        StoreAction::Add
    } else if c.eat(b'-') {
        StoreAction::Remove
    } else {
        StoreAction::Replace
    };
    let silent = if c.keyword("FLAGS") {
        false
    } else if c.keyword("FLAGS.SILENT") {
        true
    } else {
        return Err(c.error("expected FLAGS, +FLAGS or -FLAGS"));
    };
    c.sp_after("FLAGS")?;
    let flags = if c.peek() == Some(b'(') {
        c.flag_list()?
    } else {
        let mut flags = vec![c.flag()?];
        while c.eat(b' ') {
            flags.push(c.flag()?);
        }
        flags
    };
    Ok(CommandBody::Store {
        uid,
        set,
        unchanged_since,
        action,
        silent,
        flags,
    })
}

/// RFC 8970 section 4's one modifier, ` (LAZY)`, after `PREVIEW`. A bare `PREVIEW` may be the
/// last item of a FETCH followed by its own modifiers (`FETCH 1 PREVIEW (CHANGEDSINCE 5)`),
/// so a parenthesis that does not open `LAZY` is left for them.
fn preview_lazy(c: &mut Cursor<'_>) -> PResult<bool> {
    if c.peek() != Some(b' ') || c.peek_at(1) != Some(b'(') {
        return Ok(false);
    }
    let before = c.checkpoint();
    c.sp_after("PREVIEW")?;
    c.expect(b'(', "expected \"(\" before PREVIEW modifiers")?;
    if !c.word().eq_ignore_ascii_case(b"LAZY") {
        c.restore(before);
        return Ok(false);
    }
    c.expect(b')', "expected \")\" after PREVIEW modifiers")?;
    Ok(true)
}
