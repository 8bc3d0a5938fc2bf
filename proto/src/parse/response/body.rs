//! ENVELOPE and BODY / BODYSTRUCTURE values of a FETCH response (RFC 9051 section 7.5.2).
//!
//! The shape of a single part is read from the data, not from its media type: after
//! `body-fld-octets` a number can only be `body-fld-lines` (text) and a `(` only the
//! envelope of an encapsulated message, since extension data starts with an `nstring`. So
//! BODY and BODYSTRUCTURE are one parser, and any part the writer can write reads back.
//! Extension slots that are absent (always, for BODY) keep their defaults; extension data
//! beyond `body-fld-loc` is skipped.

use std::borrow::Cow;

use super::skip_value;
use crate::parse::cursor::{Cursor, PResult};
use crate::types::{
    Address, BodyStructure, Disposition, Envelope, MultiPartExtension, NString, SingleKind,
    SinglePart, SinglePartExtension,
};

/// `envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
/// env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"`.
pub(super) fn envelope(c: &mut Cursor<'_>) -> PResult<Envelope> {
    c.expect(b'(', "expected \"(\" to open envelope")?;
    c.enter()?;
    let date = nstring(c)?;
    c.sp_after("envelope date")?;
    let subject = nstring(c)?;
    let mut lists: [Vec<Address>; 6] = Default::default();
    for list in &mut lists {
        c.sp_after("envelope field")?;
        *list = address_list(c)?;
    }
    c.sp_after("envelope addresses")?;
    let in_reply_to = nstring(c)?;
    c.sp_after("envelope in-reply-to")?;
    let message_id = nstring(c)?;
    c.expect(b')', "expected \")\" to close envelope")?;
    c.leave();
    let [from, sender, reply_to, to, cc, bcc] = lists;
    Ok(Envelope {
        date,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        in_reply_to,
        message_id,
    })
}

fn nstring(c: &mut Cursor<'_>) -> PResult<NString> {
    Ok(c.nstring()?.map(Cow::into_owned))
}

fn string(c: &mut Cursor<'_>) -> PResult<Vec<u8>> {
    Ok(c.string()?.into_owned())
}

/// `"(" 1*address ")" / nil`. Addresses follow each other without SP per the grammar; one SP
/// between them, and an empty list, are tolerated.
fn address_list(c: &mut Cursor<'_>) -> PResult<Vec<Address>> {
    if c.nil() {
        return Ok(Vec::new());
    }
    c.expect(b'(', "expected \"(\" or NIL for address list")?;
    c.enter()?;
    let mut addrs = Vec::new();
    while !c.eat(b')') {
        addrs.push(address(c)?);
        c.eat(b' ');
    }
    c.leave();
    Ok(addrs)
}

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`.
fn address(c: &mut Cursor<'_>) -> PResult<Address> {
    c.expect(b'(', "expected \"(\" to open address")?;
    let name = nstring(c)?;
    c.sp_after("address name")?;
    let adl = nstring(c)?;
    c.sp_after("address route")?;
    let mailbox = nstring(c)?;
    c.sp_after("address mailbox")?;
    let host = nstring(c)?;
    c.expect(b')', "expected \")\" to close address")?;
    Ok(Address {
        name,
        adl,
        mailbox,
        host,
    })
}

/// `body = "(" (body-type-1part / body-type-mpart) ")"`, with or without extension data.
pub(super) fn body(c: &mut Cursor<'_>) -> PResult<BodyStructure> {
    c.expect(b'(', "expected \"(\" to open body structure")?;
    c.enter()?;
    let b = if c.peek() == Some(b'(') {
        body_type_mpart(c)?
    } else {
        body_type_1part(c)?
    };
    c.expect(b')', "expected \")\" to close body structure")?;
    c.leave();
    Ok(b)
}

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`.
fn body_type_mpart(c: &mut Cursor<'_>) -> PResult<BodyStructure> {
    let mut parts = Vec::new();
    loop {
        parts.push(body(c)?);
        // Parts follow each other without SP; tolerate one anyway.
        if c.peek() == Some(b' ') && c.peek_at(1) == Some(b'(') {
            c.eat(b' ');
        }
        if c.peek() != Some(b'(') {
            break;
        }
    }
    c.sp_after("body parts")?;
    let subtype = string(c)?;
    let mut extension = MultiPartExtension::default();
    if c.eat(b' ') {
        extension.params = body_fld_param(c)?;
        (
            extension.disposition,
            extension.language,
            extension.location,
        ) = ext_tail(c)?;
    }
    Ok(BodyStructure::Multi {
        parts,
        subtype,
        extension,
    })
}

/// `body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]`.
fn body_type_1part(c: &mut Cursor<'_>) -> PResult<BodyStructure> {
    let media_type = string(c)?;
    c.sp_after("media type")?;
    let subtype = string(c)?;
    c.sp_after("media subtype")?;
    let params = body_fld_param(c)?;
    c.sp_after("body parameters")?;
    let id = nstring(c)?;
    c.sp_after("body id")?;
    let description = nstring(c)?;
    c.sp_after("body description")?;
    let encoding = string(c)?;
    c.sp_after("body encoding")?;
    let octets = c.number()?;
    let kind = match (c.peek(), c.peek_at(1)) {
        (Some(b' '), Some(b'0'..=b'9')) => {
            c.sp()?;
            SingleKind::Text { lines: c.number()? }
        }
        (Some(b' '), Some(b'(')) => {
            c.sp()?;
            let envelope = Box::new(envelope(c)?);
            c.sp_after("encapsulated envelope")?;
            let body = Box::new(body(c)?);
            c.sp_after("encapsulated body")?;
            SingleKind::Message {
                envelope,
                body,
                lines: c.number()?,
            }
        }
        _ => SingleKind::Basic,
    };
    let mut extension = SinglePartExtension::default();
    if c.eat(b' ') {
        extension.md5 = nstring(c)?;
        (
            extension.disposition,
            extension.language,
            extension.location,
        ) = ext_tail(c)?;
    }
    Ok(BodyStructure::Single {
        body: SinglePart {
            media_type,
            subtype,
            params,
            id,
            description,
            encoding,
            octets,
            kind,
        },
        extension,
    })
}

/// `[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`, common to
/// both extension kinds; whatever is absent keeps its default.
fn ext_tail(c: &mut Cursor<'_>) -> PResult<(Option<Disposition>, Vec<Vec<u8>>, NString)> {
    let (mut disposition, mut language, mut location) = (None, Vec::new(), None);
    if c.eat(b' ') {
        disposition = body_fld_dsp(c)?;
        if c.eat(b' ') {
            language = body_fld_lang(c)?;
            if c.eat(b' ') {
                location = nstring(c)?;
                while c.eat(b' ') {
                    skip_value(c)?;
                }
            }
        }
    }
    Ok((disposition, language, location))
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`.
fn body_fld_param(c: &mut Cursor<'_>) -> PResult<Vec<(Vec<u8>, Vec<u8>)>> {
    if c.nil() {
        return Ok(Vec::new());
    }
    c.paren_list("body parameters", true, |c| {
        let name = string(c)?;
        c.sp_after("parameter name")?;
        Ok((name, string(c)?))
    })
}

/// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`.
fn body_fld_dsp(c: &mut Cursor<'_>) -> PResult<Option<Disposition>> {
    if c.nil() {
        return Ok(None);
    }
    c.expect(b'(', "expected \"(\" or NIL for disposition")?;
    let kind = string(c)?;
    c.sp_after("disposition")?;
    let params = body_fld_param(c)?;
    c.expect(b')', "expected \")\" to close disposition")?;
    Ok(Some(Disposition { kind, params }))
}

/// `body-fld-lang = nstring / "(" string *(SP string) ")"`.
fn body_fld_lang(c: &mut Cursor<'_>) -> PResult<Vec<Vec<u8>>> {
    if c.peek() == Some(b'(') {
        c.paren_list("language list", false, string)
    } else {
        Ok(nstring(c)?.into_iter().collect())
    }
}
