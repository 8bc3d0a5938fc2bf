//! GETMETADATA and SETMETADATA (RFC 5464 section 5), and the entry names and values the
//! METADATA response shares with them.

use bytes::Bytes;

use super::cursor::{Cursor, PResult};
use crate::types::{CommandBody, Depth, EntryName, MetadataOptions, MetadataValue};

/// `getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries`.
///
/// Also accepted, because RFC 5464's own examples write them: the options after the mailbox
/// (`GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment)`, section 4.2.1), and several
/// entries without parentheses (`GETMETADATA "INBOX" /private/comment /shared/comment`,
/// section 4.4.1).
pub(crate) fn getmetadata(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("GETMETADATA")?;
    let mut options = if c.peek() == Some(b'(') {
        let options = getmetadata_options(c)?;
        c.sp_after("GETMETADATA options")?;
        Some(options)
    } else {
        None
    };
    let mailbox = c.mailbox()?;
    c.sp_after("mailbox name")?;
    if options.is_none()
        && c.peek() == Some(b'(')
        && c.peek_at(1).is_some_and(|b| b.is_ascii_alphabetic())
    {
        options = Some(getmetadata_options(c)?);
        c.sp_after("GETMETADATA options")?;
    }
    let entries = if c.peek() == Some(b'(') {
        c.paren_list("entry list", false, entry_specifier)?
    } else {
        let mut entries = vec![entry_specifier(c)?];
        while c.eat(b' ') {
            entries.push(entry_specifier(c)?);
        }
        entries
    };
    Ok(CommandBody::GetMetadata {
        mailbox,
        options: options.unwrap_or_default(),
        entries,
    })
}

/// `getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"` with the two
/// options RFC 5464 defines, `maxsize-opt` and `scope-opt`.
fn getmetadata_options(c: &mut Cursor<'_>) -> PResult<MetadataOptions> {
    let mut options = MetadataOptions::default();
    c.paren_list("GETMETADATA options", false, |c| {
        if c.keyword("MAXSIZE") {
            c.sp_after("MAXSIZE")?;
            options.max_size = Some(c.number64()?);
        } else if c.keyword("DEPTH") {
            c.sp_after("DEPTH")?;
            options.depth = if c.keyword("infinity") {
                Depth::Infinity
            } else if c.eat(b'0') {
                Depth::Zero
            } else if c.eat(b'1') {
                Depth::One
            } else {
                return Err(c.error("DEPTH is 0, 1 or infinity"));
            };
        } else {
            return Err(c.error("unknown GETMETADATA option (MAXSIZE and DEPTH are known)"));
        }
        Ok(())
    })?;
    Ok(options)
}

/// An entry name to read: an entry, or the root of a scope (`/private`, `/shared`).
fn entry_specifier(c: &mut Cursor<'_>) -> PResult<EntryName> {
    let name = c.astring()?;
    EntryName::new_or_root(&name).map_err(|reason| c.error(reason))
}

/// `entry = astring`, checked by [`EntryName::new`].
pub(crate) fn entry(c: &mut Cursor<'_>) -> PResult<EntryName> {
    let name = c.astring()?;
    EntryName::new(&name).map_err(|reason| c.error(reason))
}

/// `setmetadata = "SETMETADATA" SP mailbox SP entry-values`.
pub(crate) fn setmetadata(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("SETMETADATA")?;
    let mailbox = c.mailbox()?;
    c.sp_after("mailbox name")?;
    let entries = entry_values(c)?;
    Ok(CommandBody::SetMetadata { mailbox, entries })
}

/// `entry-values = "(" entry-value *(SP entry-value) ")"`, `entry-value = entry SP value`.
pub(crate) fn entry_values(c: &mut Cursor<'_>) -> PResult<Vec<(EntryName, MetadataValue)>> {
    c.paren_list("entry values", false, |c| {
        let name = entry(c)?;
        c.sp_after("entry name")?;
        Ok((name, value(c)?))
    })
}

/// `value = nstring / literal8`.
pub(crate) fn value(c: &mut Cursor<'_>) -> PResult<MetadataValue> {
    if c.nil() {
        return Ok(None);
    }
    match c.peek() {
        Some(b'{' | b'~') => Ok(Some(c.literal_bytes()?.0)),
        Some(b'"') => Ok(Some(Bytes::from(c.quoted()?.into_owned()))),
        _ => Err(c.error("expected an entry value: a string, a literal8 or NIL")),
    }
}
