//! SEARCH and UID SEARCH: return options, CHARSET and every `search-key` of RFC 9051 and
//! RFC 3501, plus MODSEQ (RFC 7162 section 3.1.5) and EMAILID/THREADID (RFC 8474 section 6).
//!
//! Search keys nest through parentheses, `NOT` and `OR`; every level counts against
//! [`crate::Limits::max_depth`] so `NOT NOT NOT ...` cannot exhaust the stack.

use super::command::atom;
use super::cursor::{Cursor, PResult};
use crate::types::{EntryType, PartialRange, SearchCommand, SearchKey, SearchReturn};

/// `search = "SEARCH" [search-return-opts] SP search-program`.
pub(crate) fn search(c: &mut Cursor<'_>, uid: bool) -> PResult<SearchCommand> {
    c.sp_after("SEARCH")?;
    let returns = return_opts(c)?;
    let mut charset = None;
    if c.keyword("CHARSET") {
        c.sp_after("CHARSET")?;
        charset = Some(charset_name(c)?);
        c.sp_after("charset")?;
    }
    Ok(SearchCommand {
        uid,
        returns,
        charset,
        criteria: search_program(c)?,
    })
}

/// `[search-return-opts SP]`: `RETURN (...)` and the space after it, when present.
pub(crate) fn return_opts(c: &mut Cursor<'_>) -> PResult<Option<Vec<SearchReturn>>> {
    if !c.keyword("RETURN") {
        return Ok(None);
    }
    c.sp_after("RETURN")?;
    let returns = c.paren_list("search return options", true, search_return_opt)?;
    c.sp_after("return options")?;
    Ok(Some(returns))
}

/// `charset = atom / quoted`.
pub(crate) fn charset_name(c: &mut Cursor<'_>) -> PResult<String> {
    let cs = match c.peek() {
        Some(b'"') => c.quoted()?.into_owned(),
        _ => c.atom()?.as_bytes().to_vec(),
    };
    String::from_utf8(cs).map_err(|_| c.error("invalid charset name"))
}

/// `search-key *(SP search-key)`.
pub(crate) fn search_program(c: &mut Cursor<'_>) -> PResult<Vec<SearchKey>> {
    let mut criteria = vec![search_key(c)?];
    while c.eat(b' ') {
        criteria.push(search_key(c)?);
    }
    Ok(criteria)
}

/// `search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"`, and RFC 5267's
/// `"CONTEXT" / "UPDATE" / "PARTIAL" SP partial-range`.
fn search_return_opt(c: &mut Cursor<'_>) -> PResult<SearchReturn> {
    let w = c.word();
    Ok(match w.to_ascii_uppercase().as_slice() {
        b"MIN" => SearchReturn::Min,
        b"MAX" => SearchReturn::Max,
        b"ALL" => SearchReturn::All,
        b"COUNT" => SearchReturn::Count,
        b"SAVE" => SearchReturn::Save,
        b"CONTEXT" => SearchReturn::Context,
        b"UPDATE" => SearchReturn::Update,
        b"PARTIAL" => {
            c.sp_after("PARTIAL")?;
            let first = c.nz_number()?;
            c.expect(b':', "expected \":\" in partial range")?;
            SearchReturn::Partial(PartialRange {
                first,
                last: c.nz_number()?,
            })
        }
        _ => return Err(c.error("unknown search return option")),
    })
}

fn sp_string(c: &mut Cursor<'_>, after: &'static str) -> PResult<Vec<u8>> {
    c.sp_after(after)?;
    Ok(c.astring()?.into_owned())
}

/// One `search-key`.
pub(crate) fn search_key(c: &mut Cursor<'_>) -> PResult<SearchKey> {
    c.enter()?;
    let key = search_key_inner(c);
    c.leave();
    key
}

fn search_key_inner(c: &mut Cursor<'_>) -> PResult<SearchKey> {
    use SearchKey as K;
    match c.peek() {
        Some(b'(') => {
            return c
                .paren_list("search key list", false, search_key)
                .map(K::And)
        }
        Some(b'0'..=b'9' | b'*' | b'$') => return c.sequence_set().map(K::SequenceSet),
        _ => {}
    }
    let w = c.word();
    // Keys are short; anything longer cannot match and is refused without copying it.
    let upper = if w.len() <= "SAVEDATESUPPORTED".len() {
        w.to_ascii_uppercase()
    } else {
        Vec::new()
    };
    Ok(match upper.as_slice() {
        b"ALL" => K::All,
        b"ANSWERED" => K::Answered,
        b"BCC" => K::Bcc(sp_string(c, "BCC")?),
        b"BEFORE" => K::Before(sp_date(c)?),
        b"BODY" => K::Body(sp_string(c, "BODY")?),
        b"CC" => K::Cc(sp_string(c, "CC")?),
        b"DELETED" => K::Deleted,
        b"DRAFT" => K::Draft,
        b"FLAGGED" => K::Flagged,
        b"FROM" => K::From(sp_string(c, "FROM")?),
        b"HEADER" => {
            let name = sp_string(c, "HEADER")?;
            let value = sp_string(c, "header field name")?;
            K::Header(name, value)
        }
        b"KEYWORD" => {
            c.sp_after("KEYWORD")?;
            K::Keyword(atom(c)?)
        }
        b"LARGER" => {
            c.sp_after("LARGER")?;
            K::Larger(c.number64()?)
        }
        b"NEW" => K::New,
        b"NOT" => {
            c.sp_after("NOT")?;
            K::Not(Box::new(search_key(c)?))
        }
        b"OLD" => K::Old,
        b"ON" => K::On(sp_date(c)?),
        b"OR" => {
            c.sp_after("OR")?;
            let a = search_key(c)?;
            c.sp_after("first OR key")?;
            let b = search_key(c)?;
            K::Or(Box::new(a), Box::new(b))
        }
        b"RECENT" => K::Recent,
        b"SEEN" => K::Seen,
        b"SAVEDBEFORE" => K::SavedBefore(sp_date(c)?),
        b"SAVEDON" => K::SavedOn(sp_date(c)?),
        b"SAVEDSINCE" => K::SavedSince(sp_date(c)?),
        b"SAVEDATESUPPORTED" => K::SaveDateSupported,
        b"SENTBEFORE" => K::SentBefore(sp_date(c)?),
        b"SENTON" => K::SentOn(sp_date(c)?),
        b"SENTSINCE" => K::SentSince(sp_date(c)?),
        b"SINCE" => K::Since(sp_date(c)?),
        b"SMALLER" => {
            c.sp_after("SMALLER")?;
            K::Smaller(c.number64()?)
        }
        b"SUBJECT" => K::Subject(sp_string(c, "SUBJECT")?),
        b"TEXT" => K::Text(sp_string(c, "TEXT")?),
        b"TO" => K::To(sp_string(c, "TO")?),
        b"UID" => {
            c.sp_after("UID")?;
            K::Uid(c.sequence_set()?)
        }
        b"UNANSWERED" => K::Unanswered,
        b"UNDELETED" => K::Undeleted,
        b"UNDRAFT" => K::Undraft,
        b"UNFLAGGED" => K::Unflagged,
        b"UNKEYWORD" => {
            c.sp_after("UNKEYWORD")?;
            K::Unkeyword(atom(c)?)
        }
        b"UNSEEN" => K::Unseen,
        b"MODSEQ" => modseq(c)?,
        b"OLDER" => {
            c.sp_after("OLDER")?;
            K::Older(c.nz_number()?)
        }
        b"YOUNGER" => {
            c.sp_after("YOUNGER")?;
            K::Younger(c.nz_number()?)
        }
        b"EMAILID" => K::EmailId(sp_objectid(c, "EMAILID")?),
        b"THREADID" => K::ThreadId(sp_objectid(c, "THREADID")?),
        _ => return Err(c.error("unknown search key")),
    })
}

fn sp_date(c: &mut Cursor<'_>) -> PResult<crate::types::Date> {
    c.sp_after("search key")?;
    c.date()
}

/// RFC 7162: `search-modsequence = "MODSEQ" [SP entry-name SP entry-type-req] SP
/// mod-sequence-valzer`, where `entry-name` is a quoted `"/flags/..."`.
fn modseq(c: &mut Cursor<'_>) -> PResult<SearchKey> {
    c.sp_after("MODSEQ")?;
    let mut entry = None;
    if c.peek() == Some(b'"') {
        let name = c.quoted()?.into_owned();
        if !name
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"/flags/"))
            || name.len() == 7
        {
            return Err(c.error("expected \"/flags/...\" entry name"));
        }
        c.sp_after("entry name")?;
        let kind = match c.word().to_ascii_lowercase().as_slice() {
            b"priv" => EntryType::Private,
            b"shared" => EntryType::Shared,
            b"all" => EntryType::All,
            _ => return Err(c.error("expected priv, shared or all")),
        };
        c.sp_after("entry type")?;
        entry = Some((name, kind));
    }
    Ok(SearchKey::ModSeq {
        entry,
        mod_seq: c.number64()?,
    })
}

/// RFC 8474: `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`.
fn sp_objectid(c: &mut Cursor<'_>, after: &'static str) -> PResult<String> {
    c.sp_after(after)?;
    let id = c.take_while(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if id.is_empty() || id.len() > 255 {
        return Err(c.error("expected object id"));
    }
    Ok(String::from_utf8_lossy(id).into_owned())
}
