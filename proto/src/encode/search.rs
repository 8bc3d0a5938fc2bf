//! SEARCH arguments for the command writer: return options, charset and search keys
//! (RFC 9051 section 6.4.4, RFC 7162 section 3.1.5, RFC 8474 section 6).

use super::wire::{self, Sink};
use crate::types::{EntryType, PartialRange, SearchCommand, SearchKey, SearchReturn};

/// `[UID] SEARCH [RETURN (...)] [CHARSET x] key *(SP key)`, after the tag.
pub(crate) fn search_command(s: &mut impl Sink, c: &SearchCommand) {
    uid_and_name(s, c.uid, b"SEARCH");
    return_opts(s, c.returns.as_deref());
    if let Some(cs) = &c.charset {
        s.put(b" CHARSET ");
        charset(s, cs);
    }
    search_program(s, &c.criteria);
}

/// `["UID" SP] name`.
pub(crate) fn uid_and_name(s: &mut impl Sink, uid: bool, name: &[u8]) {
    if uid {
        s.put(b"UID ");
    }
    s.put(name);
}

/// ` RETURN (...)` when given.
pub(crate) fn return_opts(s: &mut impl Sink, returns: Option<&[SearchReturn]>) {
    if let Some(returns) = returns {
        s.put(b" RETURN ");
        wire::paren_list(s, returns, |s, r| return_opt(s, *r));
    }
}

/// `charset = atom / quoted`: never a literal, which the parser would refuse.
pub(crate) fn charset(s: &mut impl Sink, cs: &str) {
    if !cs.is_empty() && cs.bytes().all(crate::types::is_atom_char) {
        s.put(cs.as_bytes());
    } else {
        wire::quoted_only(s, cs.as_bytes());
    }
}

/// `*(SP search-key)`.
pub(crate) fn search_program(s: &mut impl Sink, keys: &[SearchKey]) {
    for k in keys {
        wire::sp(s);
        search_key(s, k);
    }
}

fn return_opt(s: &mut impl Sink, r: SearchReturn) {
    match r {
        SearchReturn::Partial(range) => {
            s.put(b"PARTIAL ");
            partial_range(s, range);
        }
        r => s.put(return_name(r)),
    }
}

/// `partial-range = nz-number ":" nz-number`.
pub(crate) fn partial_range(s: &mut impl Sink, r: PartialRange) {
    wire::number(s, u64::from(r.first));
    s.put(b":");
    wire::number(s, u64::from(r.last));
}

fn return_name(r: SearchReturn) -> &'static [u8] {
    match r {
        SearchReturn::Min => b"MIN",
        SearchReturn::Max => b"MAX",
        SearchReturn::All => b"ALL",
        SearchReturn::Count => b"COUNT",
        SearchReturn::Save => b"SAVE",
        SearchReturn::Partial(_) => b"PARTIAL",
        SearchReturn::Context => b"CONTEXT",
        SearchReturn::Update => b"UPDATE",
    }
}

/// The keyword of a key that takes no argument, or `None`.
fn bare_key(k: &SearchKey) -> Option<&'static [u8]> {
    Some(match k {
        SearchKey::All => b"ALL",
        SearchKey::Answered => b"ANSWERED",
        SearchKey::Deleted => b"DELETED",
        SearchKey::Draft => b"DRAFT",
        SearchKey::Flagged => b"FLAGGED",
        SearchKey::New => b"NEW",
        SearchKey::Old => b"OLD",
        SearchKey::Recent => b"RECENT",
        SearchKey::Seen => b"SEEN",
        SearchKey::Unanswered => b"UNANSWERED",
        SearchKey::Undeleted => b"UNDELETED",
        SearchKey::Undraft => b"UNDRAFT",
        SearchKey::Unflagged => b"UNFLAGGED",
        SearchKey::Unseen => b"UNSEEN",
        SearchKey::SaveDateSupported => b"SAVEDATESUPPORTED",
        _ => return None,
    })
}

/// `NAME SP astring`.
fn with_string(s: &mut impl Sink, name: &[u8], v: &[u8]) {
    s.put(name);
    wire::sp(s);
    wire::astring(s, v);
}

/// `NAME SP atom`.
fn with_atom(s: &mut impl Sink, name: &[u8], a: &[u8]) {
    s.put(name);
    wire::sp(s);
    s.put(a);
}

/// `NAME SP date`.
fn with_date(s: &mut impl Sink, name: &[u8], d: &crate::types::Date) {
    s.put(name);
    wire::sp(s);
    wire::date(s, d);
}

/// One `search-key`.
pub(crate) fn search_key(s: &mut impl Sink, k: &SearchKey) {
    if let Some(word) = bare_key(k) {
        s.put(word);
        return;
    }
    match k {
        SearchKey::Bcc(v) => with_string(s, b"BCC", v),
        SearchKey::Body(v) => with_string(s, b"BODY", v),
        SearchKey::Cc(v) => with_string(s, b"CC", v),
        SearchKey::From(v) => with_string(s, b"FROM", v),
        SearchKey::Subject(v) => with_string(s, b"SUBJECT", v),
        SearchKey::Text(v) => with_string(s, b"TEXT", v),
        SearchKey::To(v) => with_string(s, b"TO", v),
        SearchKey::Header(name, v) => {
            with_string(s, b"HEADER", name);
            wire::sp(s);
            wire::astring(s, v);
        }
        SearchKey::Before(d) => with_date(s, b"BEFORE", d),
        SearchKey::On(d) => with_date(s, b"ON", d),
        SearchKey::Since(d) => with_date(s, b"SINCE", d),
        SearchKey::SentBefore(d) => with_date(s, b"SENTBEFORE", d),
        SearchKey::SavedBefore(d) => with_date(s, b"SAVEDBEFORE", d),
        SearchKey::SavedOn(d) => with_date(s, b"SAVEDON", d),
        SearchKey::SavedSince(d) => with_date(s, b"SAVEDSINCE", d),
        SearchKey::SentOn(d) => with_date(s, b"SENTON", d),
        SearchKey::SentSince(d) => with_date(s, b"SENTSINCE", d),
        // `flag-keyword` is an atom, written as it is: `NIL` is a keyword like any other here.
        SearchKey::Keyword(a) => with_atom(s, b"KEYWORD", a.as_str().as_bytes()),
        SearchKey::Unkeyword(a) => with_atom(s, b"UNKEYWORD", a.as_str().as_bytes()),
        SearchKey::Larger(n) => wire::named_number(s, b"LARGER", *n),
        SearchKey::Smaller(n) => wire::named_number(s, b"SMALLER", *n),
        SearchKey::Older(n) => wire::named_number(s, b"OLDER", u64::from(*n)),
        SearchKey::Younger(n) => wire::named_number(s, b"YOUNGER", u64::from(*n)),
        SearchKey::Not(inner) => {
            s.put(b"NOT ");
            search_key(s, inner);
        }
        SearchKey::Or(a, b) => {
            s.put(b"OR ");
            search_key(s, a);
            wire::sp(s);
            search_key(s, b);
        }
        SearchKey::Uid(set) => {
            s.put(b"UID ");
            wire::sequence_set(s, set);
        }
        SearchKey::SequenceSet(set) => wire::sequence_set(s, set),
        SearchKey::And(keys) => wire::paren_list(s, keys, |s, k| search_key(s, k)),
        SearchKey::ModSeq { entry, mod_seq } => {
            s.put(b"MODSEQ ");
            if let Some((name, ty)) = entry {
                // entry-name is always a quoted string (RFC 7162 section 3.1.5).
                wire::quoted_only(s, name);
                wire::sp(s);
                s.put(match ty {
                    EntryType::Private => b"priv".as_slice(),
                    EntryType::Shared => b"shared",
                    EntryType::All => b"all",
                });
                wire::sp(s);
            }
            wire::number(s, *mod_seq);
        }
        SearchKey::EmailId(id) => {
            s.put(b"EMAILID ");
            wire::objectid(s, id.as_bytes());
        }
        SearchKey::ThreadId(id) => {
            s.put(b"THREADID ");
            wire::objectid(s, id.as_bytes());
        }
        // Argument-less keys were written by `bare_key`.
        _ => {}
    }
}
