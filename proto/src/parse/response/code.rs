//! `resp-text` and `resp-text-code` (RFC 9051 section 7.1, RFC 4315, RFC 7162, RFC 8474):
//! the optional bracketed code and the human text of status responses and continuations.

use super::{atoms, lossy, object_id, text, utf8};
use crate::parse::cursor::{Cursor, PResult};
use crate::types::{Atom, Code, MetadataCode};

/// Codes without arguments, by name. The writer holds the reverse table; a name lookup on
/// `Code` itself would let both share one.
const BARE_CODES: [(&str, Code); 31] = [
    ("ALERT", Code::Alert),
    ("ALREADYEXISTS", Code::AlreadyExists),
    ("AUTHENTICATIONFAILED", Code::AuthenticationFailed),
    ("AUTHORIZATIONFAILED", Code::AuthorizationFailed),
    ("CANNOT", Code::Cannot),
    ("CLIENTBUG", Code::ClientBug),
    ("CLOSED", Code::Closed),
    ("CONTACTADMIN", Code::ContactAdmin),
    ("CORRUPTION", Code::Corruption),
    ("EXPIRED", Code::Expired),
    ("EXPUNGEISSUED", Code::ExpungeIssued),
    ("HASCHILDREN", Code::HasChildren),
    ("INUSE", Code::InUse),
    ("LIMIT", Code::Limit),
    ("NONEXISTENT", Code::NonExistent),
    ("NOPERM", Code::NoPerm),
    ("OVERQUOTA", Code::OverQuota),
    ("PARSE", Code::Parse),
    ("PRIVACYREQUIRED", Code::PrivacyRequired),
    ("READ-ONLY", Code::ReadOnly),
    ("READ-WRITE", Code::ReadWrite),
    ("SERVERBUG", Code::ServerBug),
    ("TRYCREATE", Code::TryCreate),
    ("UIDNOTSTICKY", Code::UidNotSticky),
    ("UNAVAILABLE", Code::Unavailable),
    ("UNKNOWN-CTE", Code::UnknownCte),
    ("TOOBIG", Code::TooBig),
    ("USEATTR", Code::UseAttr),
    ("COMPRESSIONACTIVE", Code::CompressionActive),
    ("NOMODSEQ", Code::NoModSeq),
    ("NOTIFICATIONOVERFLOW", Code::NotificationOverflow),
];

/// `resp-text = ["[" resp-text-code "]" SP] [text]`, up to the line end.
///
/// Exactly one SP after the code is removed; the writer leaves it out when the text is
/// empty (`* OK [UIDVALIDITY 1]`). A status response is never lost to its code: a known code
/// whose arguments do not match its grammar (RFC 9051's own `[UIDVALIDITY 9877410381]` and
/// `[BADCHARSET UTF-8]`) is kept as [`Code::Other`] with its raw text, and a bracket that is
/// no code at all (`[` with no `]`, `[]`) is part of the text.
pub(super) fn resp_text(c: &mut Cursor<'_>) -> PResult<(Option<Code>, String)> {
    let code = if c.peek() == Some(b'[') {
        let start = c.checkpoint();
        c.eat(b'[');
        let after_bracket = c.checkpoint();
        let mut code = bracketed(c, resp_text_code);
        if code.is_none() {
            c.restore(after_bracket);
            code = bracketed(c, other_code);
        }
        if code.is_none() {
            c.restore(start);
        }
        code
    } else {
        None
    };
    Ok((code, lossy(text(c))))
}

/// Runs `parse` and then expects `]` and an optional SP; `None` if any of it fails.
fn bracketed(c: &mut Cursor<'_>, parse: fn(&mut Cursor<'_>) -> PResult<Code>) -> Option<Code> {
    let code = parse(c).ok()?;
    c.eat(b']').then(|| {
        c.eat(b' ');
        code
    })
}

/// `atom [SP 1*<any TEXT-CHAR except "]">]`: any code, kept as its name and raw text.
fn other_code(c: &mut Cursor<'_>) -> PResult<Code> {
    let name = c.atom()?;
    let atom = Atom::new(name).map_err(|_| c.error("invalid response code"))?;
    let text = c
        .eat(b' ')
        .then(|| lossy(c.take_while(|b| !matches!(b, b']' | b'\r' | b'\n'))));
    Ok(Code::Other(atom, text))
}

/// `resp-text-code` for the codes Roost knows, after the `[` and up to (not including) the
/// `]`. Fails on any other code, which [`other_code`] then reads.
fn resp_text_code(c: &mut Cursor<'_>) -> PResult<Code> {
    let name = c.atom()?;
    if let Some((_, code)) = BARE_CODES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return Ok(code.clone());
    }
    let upper = name.to_ascii_uppercase();
    Ok(match upper.as_str() {
        "APPENDUID" => {
            c.sp_after("APPENDUID")?;
            let uid_validity = c.number()?;
            c.sp_after("UIDVALIDITY value")?;
            Code::AppendUid {
                uid_validity,
                uids: c.sequence_set()?,
            }
        }
        "COPYUID" => {
            c.sp_after("COPYUID")?;
            let uid_validity = c.number()?;
            c.sp_after("UIDVALIDITY value")?;
            let source = c.sequence_set()?;
            c.sp_after("source UIDs")?;
            Code::CopyUid {
                uid_validity,
                source,
                destination: c.sequence_set()?,
            }
        }
        "BADCHARSET" => {
            let mut charsets = Vec::new();
            if c.eat(b' ') {
                charsets = c.paren_list("charset list", false, |c| {
                    let s = c.astring()?.into_owned();
                    utf8(c, s, "charset")
                })?;
            }
            Code::BadCharset(charsets)
        }
        "CAPABILITY" => Code::Capability(atoms(c)?),
        "BADEVENT" => {
            c.sp_after("BADEVENT")?;
            Code::BadEvent(c.paren_list("event names", false, |c| {
                let a = c.atom()?;
                Atom::new(a).map_err(|_| c.error("expected event name"))
            })?)
        }
        "PERMANENTFLAGS" => {
            c.sp_after("PERMANENTFLAGS")?;
            Code::PermanentFlags(c.paren_list("flag list", true, Cursor::flag_perm)?)
        }
        "UIDNEXT" => {
            c.sp_after("UIDNEXT")?;
            Code::UidNext(c.number()?)
        }
        "UIDVALIDITY" => {
            c.sp_after("UIDVALIDITY")?;
            Code::UidValidity(c.number()?)
        }
        "HIGHESTMODSEQ" => {
            c.sp_after("HIGHESTMODSEQ")?;
            Code::HighestModSeq(c.number64()?)
        }
        "MODIFIED" => {
            c.sp_after("MODIFIED")?;
            Code::Modified(c.sequence_set()?)
        }
        "MAILBOXID" => {
            c.sp_after("MAILBOXID")?;
            Code::MailboxId(object_id(c)?)
        }
        "METADATA" => {
            c.sp_after("METADATA")?;
            Code::Metadata(if c.keyword("LONGENTRIES") {
                c.sp_after("LONGENTRIES")?;
                MetadataCode::LongEntries(c.number64()?)
            } else if c.keyword("MAXSIZE") {
                c.sp_after("MAXSIZE")?;
                MetadataCode::MaxSize(c.number64()?)
            } else if c.keyword("TOOMANY") {
                MetadataCode::TooMany
            } else if c.keyword("NOPRIVATE") {
                MetadataCode::NoPrivate
            } else {
                return Err(c.error("unknown METADATA response code"));
            })
        }
        "NOUPDATE" => {
            c.sp_after("NOUPDATE")?;
            let tag = c.quoted()?.into_owned();
            Code::NoUpdate(String::from_utf8(tag).map_err(|_| c.error("a tag is ASCII"))?)
        }
        _ => {
            // Not a code Roost knows: read it again from its name as `Code::Other`.
            return Err(c.error("unknown response code"));
        }
    })
}
