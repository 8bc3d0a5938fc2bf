//! The `command` rule: tag, command name, dispatch to the per-area parsers, and the commands
//! small enough to live here (RFC 9051 sections 6.1, 6.2, 6.3 and 6.4; RFC 2971 ID,
//! RFC 4978 COMPRESS, RFC 9208 QUOTA, RFC 6851 MOVE, RFC 4315 UID EXPUNGE).

use bytes::Bytes;

use super::cursor::{Cursor, PResult};
use super::decode_error;
use crate::decode::DecodeError;
use crate::limits::Limits;
use crate::types::{Atom, Command, CommandBody, Secret};

/// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`.
///
/// Leading spaces before the tag are skipped (clients.md section 10).
///
/// # Errors
/// When the message does not match the grammar, or breaks a limit; the error carries the tag
/// when one could be read.
pub(crate) fn command(msg: &Bytes, limits: &Limits) -> Result<Command, DecodeError> {
    let mut c = Cursor::new(msg, limits);
    while c.eat(b' ') {}
    let tag = c.tag().map_err(|e| decode_error(None, e))?;
    let body = c
        .sp_after("tag")
        .and_then(|()| command_body(&mut c))
        .and_then(|body| c.finish().map(|()| body))
        .map_err(|e| decode_error(Some(tag.clone()), e))?;
    Ok(Command { tag, body })
}

/// The command name and its arguments, up to (not including) the final CRLF.
pub(crate) fn command_body(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let name = c.word();
    if name.is_empty() {
        return Err(c.error("expected command name"));
    }
    // Command names are case-insensitive (Thunderbird sends `select`, `UID fetch`).
    let upper = if name.len() <= 16 {
        name.to_ascii_uppercase()
    } else {
        Vec::new()
    };
    Ok(match upper.as_slice() {
        b"CAPABILITY" => CommandBody::Capability,
        b"NOOP" => CommandBody::Noop,
        b"LOGOUT" => CommandBody::Logout,
        b"ID" => id(c)?,
        b"STARTTLS" => CommandBody::StartTls,
        b"AUTHENTICATE" => authenticate(c)?,
        b"LOGIN" => login(c)?,
        b"ENABLE" => enable(c)?,
        b"SELECT" => {
            let (mailbox, params) = super::mailbox::select(c)?;
            CommandBody::Select { mailbox, params }
        }
        b"EXAMINE" => {
            let (mailbox, params) = super::mailbox::select(c)?;
            CommandBody::Examine { mailbox, params }
        }
        b"CREATE" => super::mailbox::create(c)?,
        b"DELETE" => CommandBody::Delete {
            mailbox: one_mailbox(c)?,
        },
        b"RENAME" => {
            c.sp_after("RENAME")?;
            let from = c.mailbox()?;
            c.sp_after("mailbox name")?;
            let to = c.mailbox()?;
            CommandBody::Rename { from, to }
        }
        b"SUBSCRIBE" => CommandBody::Subscribe {
            mailbox: one_mailbox(c)?,
        },
        b"UNSUBSCRIBE" => CommandBody::Unsubscribe {
            mailbox: one_mailbox(c)?,
        },
        b"LIST" => super::mailbox::list(c)?,
        b"LSUB" => super::mailbox::lsub(c)?,
        b"NAMESPACE" => CommandBody::Namespace,
        b"STATUS" => super::mailbox::status(c)?,
        b"APPEND" => super::mailbox::append(c)?,
        b"IDLE" => CommandBody::Idle,
        b"NOTIFY" => super::notify::notify(c)?,
        b"COMPRESS" => {
            c.sp_after("COMPRESS")?;
            CommandBody::Compress {
                algorithm: atom(c)?,
            }
        }
        b"GETQUOTA" => {
            c.sp_after("GETQUOTA")?;
            CommandBody::GetQuota {
                root: c.astring()?.into_owned(),
            }
        }
        b"GETQUOTAROOT" => CommandBody::GetQuotaRoot {
            mailbox: one_mailbox(c)?,
        },
        b"SETQUOTA" => setquota(c)?,
        b"GETMETADATA" => super::metadata::getmetadata(c)?,
        b"SETMETADATA" => super::metadata::setmetadata(c)?,
        b"CHECK" => CommandBody::Check,
        b"CLOSE" => CommandBody::Close,
        b"UNSELECT" => CommandBody::Unselect,
        b"UNAUTHENTICATE" => CommandBody::Unauthenticate,
        b"CANCELUPDATE" => cancel_update(c)?,
        b"EXPUNGE" => CommandBody::Expunge,
        b"SEARCH" => CommandBody::Search(super::search::search(c, false)?),
        b"SORT" => CommandBody::Sort(super::sort::sort(c, false)?),
        b"THREAD" => CommandBody::Thread(super::sort::thread(c, false)?),
        b"FETCH" => super::fetch::fetch(c, false)?,
        b"STORE" => super::fetch::store(c, false)?,
        b"COPY" => copy_or_move(c, false, false)?,
        b"MOVE" => copy_or_move(c, false, true)?,
        b"UID" => uid(c)?,
        _ => return Err(c.error("unknown command")),
    })
}

/// `"CANCELUPDATE" 1*(SP quoted)` (RFC 5267 section 5).
fn cancel_update(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("CANCELUPDATE")?;
    let mut tags = vec![quoted_tag(c)?];
    while c.eat(b' ') {
        tags.push(quoted_tag(c)?);
    }
    Ok(CommandBody::CancelUpdate { tags })
}

fn quoted_tag(c: &mut Cursor<'_>) -> PResult<String> {
    let tag = c.quoted()?.into_owned();
    String::from_utf8(tag).map_err(|_| c.error("a tag is ASCII"))
}

/// `uid = "UID" SP (copy / move / fetch / search / sort / thread / store / uid-expunge)`.
fn uid(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("UID")?;
    if c.keyword("FETCH") {
        super::fetch::fetch(c, true)
    } else if c.keyword("STORE") {
        super::fetch::store(c, true)
    } else if c.keyword("SEARCH") {
        Ok(CommandBody::Search(super::search::search(c, true)?))
    } else if c.keyword("SORT") {
        Ok(CommandBody::Sort(super::sort::sort(c, true)?))
    } else if c.keyword("THREAD") {
        Ok(CommandBody::Thread(super::sort::thread(c, true)?))
    } else if c.keyword("COPY") {
        copy_or_move(c, true, false)
    } else if c.keyword("MOVE") {
        copy_or_move(c, true, true)
    } else if c.keyword("EXPUNGE") {
        c.sp_after("UID EXPUNGE")?;
        Ok(CommandBody::UidExpunge {
            uids: c.sequence_set()?,
        })
    } else {
        Err(c.error("expected FETCH, STORE, SEARCH, SORT, THREAD, COPY, MOVE or EXPUNGE after UID"))
    }
}

/// `copy = "COPY" SP sequence-set SP mailbox`, and `move` of RFC 6851 the same way.
fn copy_or_move(c: &mut Cursor<'_>, uid: bool, is_move: bool) -> PResult<CommandBody> {
    c.sp_after(if is_move { "MOVE" } else { "COPY" })?;
    let set = c.sequence_set()?;
    c.sp_after("sequence set")?;
    let mailbox = c.mailbox()?;
    Ok(if is_move {
        CommandBody::Move { uid, set, mailbox }
    } else {
        CommandBody::Copy { uid, set, mailbox }
    })
}

/// `SP mailbox`, the whole argument of several commands.
fn one_mailbox(c: &mut Cursor<'_>) -> PResult<crate::types::MailboxName> {
    c.sp_after("command name")?;
    c.mailbox()
}

/// An atom as a checked [`Atom`].
pub(crate) fn atom(c: &mut Cursor<'_>) -> PResult<Atom> {
    let a = c.atom()?;
    Atom::new(a).map_err(|_| c.error("expected atom"))
}

/// `login = "LOGIN" SP userid SP password`.
fn login(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("LOGIN")?;
    let username = c.astring()?.into_owned();
    c.sp_after("user name")?;
    let password = Secret::new(c.astring()?.into_owned());
    Ok(CommandBody::Login { username, password })
}

/// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]`, with
/// `initial-resp = (base64 / "=")` (RFC 4959, RFC 9051 section 6.2.2).
fn authenticate(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("AUTHENTICATE")?;
    let mechanism = atom(c)?;
    let initial_response = if c.eat(b' ') {
        if c.eat(b'=') {
            Some(Secret::new(Vec::new()))
        } else {
            let b64 =
                c.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if b64.is_empty() {
                return Err(c.error("expected base64 initial response"));
            }
            let data = super::fragment::sasl_base64(b64)
                .ok_or_else(|| c.error("invalid base64 in initial response"))?;
            Some(Secret::new(data))
        }
    } else {
        None
    };
    Ok(CommandBody::Authenticate {
        mechanism,
        initial_response,
    })
}

/// `enable = "ENABLE" 1*(SP capability)`.
fn enable(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    let mut capabilities = Vec::new();
    c.sp_after("ENABLE")?;
    loop {
        capabilities.push(atom(c)?);
        if !c.eat(b' ') {
            break;
        }
    }
    Ok(CommandBody::Enable { capabilities })
}

/// RFC 2971: `id = "ID" SP id-params-list`,
/// `id-params-list = "(" #(string SP nstring) ")" / nil`.
fn id(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("ID")?;
    if c.nil() {
        return Ok(CommandBody::Id { params: None });
    }
    let params = c.paren_list("ID parameters", true, |c| {
        let key = c.string()?.into_owned();
        c.sp_after("ID field name")?;
        let value = c.nstring()?.map(|v| v.into_owned());
        Ok((key, value))
    })?;
    Ok(CommandBody::Id {
        params: Some(params),
    })
}

/// RFC 9208: `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`.
fn setquota(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("SETQUOTA")?;
    let root = c.astring()?.into_owned();
    c.sp_after("quota root")?;
    let limits = c.paren_list("quota limits", true, |c| {
        let name = atom(c)?;
        c.sp_after("resource name")?;
        Ok((name, c.number64()?))
    })?;
    Ok(CommandBody::SetQuota { root, limits })
}

#[cfg(test)]
mod tests;
