//! Recursive-descent parsing of one complete server response (RFC 9051 section 7 and the
//! extensions Roost implements), on the same [`Cursor`] as the command parser.
//!
//! Functions carry the ABNF rule names of RFC 9051 section 9 (`response_data`,
//! `resp_text`, `msg_att`, ...). The input has been framed by [`frame`] already, so running
//! out of bytes is a syntax error, never "incomplete".
//!
//! Where the grammar leaves room, the parser reads what the writer in [`crate::encode`]
//! writes and what real servers send: astrings wherever a string is allowed, unknown
//! extension items (LIST-EXTENDED, ESEARCH, NAMESPACE, body extensions) skipped, a bare LF
//! as a line end.

pub(crate) mod frame;

mod body;
mod code;
mod data;
mod fetch;

#[cfg(test)]
mod tests;

use base64::Engine as _;

use super::cursor::{Cursor, PResult, ParseError};
use crate::types::{Continue, NameEncoding, Response, Status, StatusKind, Tag};

/// `response = *(continue-req / response-data) response-done`, one line (with its literals)
/// at a time. `sasl` says how to read a `+` line (see [`crate::response`]).
pub(crate) fn response(c: &mut Cursor<'_>, names: NameEncoding, sasl: bool) -> PResult<Response> {
    let resp = match c.peek() {
        Some(b'+') => Response::Continue(continue_req(c, sasl)?),
        Some(b'*') => {
            c.eat(b'*');
            c.sp_after("\"*\"")?;
            let resp = untagged(c, names)?;
            // Some servers leave a SP before CRLF (`* SEARCH `); it carries nothing.
            while c.eat(b' ') {}
            resp
        }
        _ => Response::Status(response_tagged(c)?),
    };
    // The cursor's own message talks about commands; say what went wrong here.
    c.finish().map_err(|e| ParseError {
        reason: "unexpected characters at end of response".into(),
        ..e
    })?;
    Ok(resp)
}

/// `continue-req = "+" SP (resp-text / base64) CRLF`. A missing SP before the line end is
/// tolerated: some servers send a bare `+`.
fn continue_req(c: &mut Cursor<'_>, sasl: bool) -> PResult<Continue> {
    c.expect(b'+', "expected \"+\"")?;
    c.eat(b' ');
    if sasl {
        let encoded = text(c);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| c.error("invalid base64 in SASL challenge"))?;
        return Ok(Continue::Base64(decoded));
    }
    let (code, text) = code::resp_text(c)?;
    Ok(Continue::Text { code, text })
}

/// `response-tagged = tag SP resp-cond-state CRLF`.
fn response_tagged(c: &mut Cursor<'_>) -> PResult<Status> {
    let tag: Tag = c.tag()?;
    c.sp_after("tag")?;
    let kind = match status_word(c) {
        Some(StatusWord::Kind(kind)) => kind,
        _ => return Err(c.error("expected OK, NO or BAD after tag")),
    };
    let (code, text) = status_text(c)?;
    Ok(Status::Tagged {
        tag,
        kind,
        code,
        text,
    })
}

enum StatusWord {
    Kind(StatusKind),
    PreAuth,
    Bye,
}

/// The word of a status response, consumed only when it is one.
fn status_word(c: &mut Cursor<'_>) -> Option<StatusWord> {
    let words = [
        ("OK", StatusWord::Kind(StatusKind::Ok)),
        ("NO", StatusWord::Kind(StatusKind::No)),
        ("BAD", StatusWord::Kind(StatusKind::Bad)),
        ("PREAUTH", StatusWord::PreAuth),
        ("BYE", StatusWord::Bye),
    ];
    words
        .into_iter()
        .find_map(|(w, s)| c.keyword(w).then_some(s))
}

/// `SP resp-text` after a status word; a line that ends right after the word has empty text.
fn status_text(c: &mut Cursor<'_>) -> PResult<(Option<crate::types::Code>, String)> {
    if c.eat(b' ') {
        code::resp_text(c)
    } else {
        Ok((None, String::new()))
    }
}

/// `"*" SP` has been read: a status response (`resp-cond-state`, `resp-cond-bye`,
/// `resp-cond-auth`) or `response-data`.
fn untagged(c: &mut Cursor<'_>, names: NameEncoding) -> PResult<Response> {
    let status = match status_word(c) {
        Some(word) => word,
        None => return data::response_data(c, names).map(Response::Data),
    };
    let (code, text) = status_text(c)?;
    Ok(Response::Status(match status {
        StatusWord::Kind(kind) => Status::Untagged { kind, code, text },
        StatusWord::PreAuth => Status::PreAuth { code, text },
        StatusWord::Bye => Status::Bye { code, text },
    }))
}

// --- helpers shared by the response modules

/// `text = 1*TEXT-CHAR`: everything up to the line end (maybe empty).
fn text<'a>(c: &mut Cursor<'a>) -> &'a [u8] {
    c.take_while(|b| b != b'\r' && b != b'\n')
}

/// Human-readable bytes as a `String`: `text` is UTF-8 in IMAP4rev2 and 7-bit in IMAP4rev1,
/// and a stray 8-bit byte from some server is no reason to lose the response.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Bytes that must be UTF-8 (quota roots, object ids, charset names).
fn utf8(c: &Cursor<'_>, bytes: Vec<u8>, what: &'static str) -> PResult<String> {
    String::from_utf8(bytes).map_err(|_| c.error(format!("{what} is not UTF-8")))
}

/// `mailbox` (an astring) decoded from the connection's name encoding into UTF-8.
fn mailbox(c: &mut Cursor<'_>, names: NameEncoding) -> PResult<String> {
    let wire = c.astring().map_err(|_| c.error("expected mailbox name"))?;
    let decoded = match names {
        NameEncoding::ModifiedUtf7 => crate::utf7::decode(&wire).ok(),
        NameEncoding::Utf8 => std::str::from_utf8(&wire).ok().map(str::to_owned),
    };
    decoded.ok_or_else(|| c.error("mailbox name not in the connection's encoding"))
}

/// `astring` as an owned UTF-8 `String`.
fn astring_utf8(c: &mut Cursor<'_>, what: &'static str) -> PResult<String> {
    let s = c.astring()?.into_owned();
    utf8(c, s, what)
}

/// `"(" objectid ")"` (RFC 8474 section 4); the writer uses an astring for the id.
fn object_id(c: &mut Cursor<'_>) -> PResult<String> {
    c.expect(b'(', "expected \"(\" before object id")?;
    let id = astring_utf8(c, "object id")?;
    c.expect(b')', "expected \")\" after object id")?;
    Ok(id)
}

/// Skips one `tagged-ext-val` (RFC 9051 section 9) or `body-extension`: a number, atom,
/// sequence set, string, or parenthesised list of those. Used for extension data the types
/// do not hold, so a server that sends more than Roost knows stays readable.
fn skip_value(c: &mut Cursor<'_>) -> PResult<()> {
    match c.peek() {
        Some(b'(') => c.paren_list("extension data", true, skip_value).map(drop),
        Some(b'"') => c.quoted().map(drop),
        Some(b'{' | b'~') => c.literal_bytes().map(drop),
        _ => {
            let token =
                c.take_while(|b| b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'"' | b'{'));
            if token.is_empty() {
                Err(c.error("expected extension value"))
            } else {
                Ok(())
            }
        }
    }
}

/// Consumes an SP that introduces one more item of a list that runs to the line end; an
/// SP right before the line end is left alone, to be dropped by [`response`].
fn sp_before_item(c: &mut Cursor<'_>) -> bool {
    c.peek() == Some(b' ') && !matches!(c.peek_at(1), None | Some(b'\r' | b'\n')) && c.eat(b' ')
}

/// `*(SP atom)`: capability names (CAPABILITY, ENABLED, and the CAPABILITY code).
fn atoms(c: &mut Cursor<'_>) -> PResult<Vec<crate::types::Atom>> {
    let mut out = Vec::new();
    while sp_before_item(c) {
        let a = c.atom()?;
        out.push(crate::types::Atom::new(a).map_err(|_| c.error("expected atom"))?);
    }
    Ok(out)
}
