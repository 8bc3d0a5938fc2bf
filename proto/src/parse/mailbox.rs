//! Mailbox commands with structured arguments: SELECT/EXAMINE parameters (RFC 7162), CREATE
//! with `USE` (RFC 6154), LIST in its extended forms (RFC 5258, RFC 5819), LSUB, STATUS and
//! APPEND with MULTIAPPEND (RFC 3502), literal8 (RFC 3516) and `UTF8` (RFC 6855).

use super::command::atom;
use super::cursor::{Cursor, PResult};
use crate::types::{
    AppendMessage, CommandBody, ListCommand, ListReturnOption, ListSelectOption, MailboxName,
    QResync, SelectParams, StatusItem,
};

/// `select = "SELECT" SP mailbox [SP "(" select-param *(SP select-param) ")"]` with the
/// CONDSTORE and QRESYNC parameters of RFC 7162 sections 3.1.8 and 3.2.5. EXAMINE is the same.
pub(crate) fn select(c: &mut Cursor<'_>) -> PResult<(MailboxName, SelectParams)> {
    c.sp_after("command name")?;
    let mailbox = c.mailbox()?;
    let mut params = SelectParams::default();
    if c.eat(b' ') {
        c.paren_list("select parameters", false, |c| {
            if c.keyword("CONDSTORE") {
                params.condstore = true;
                Ok(())
            } else if c.keyword("QRESYNC") {
                c.sp_after("QRESYNC")?;
                params.qresync = Some(qresync(c)?);
                Ok(())
            } else {
                Err(c.error("unknown select parameter"))
            }
        })?;
    }
    Ok((mailbox, params))
}

/// `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`.
fn qresync(c: &mut Cursor<'_>) -> PResult<QResync> {
    c.expect(b'(', "expected \"(\" after QRESYNC")?;
    c.enter()?;
    let uid_validity = c.nz_number()?;
    c.sp_after("UIDVALIDITY")?;
    let mod_seq = c.nz_number64()?;
    let mut known_uids = None;
    let mut seq_match = None;
    if c.eat(b' ') {
        if c.peek() != Some(b'(') {
            known_uids = Some(c.sequence_set()?);
            if c.eat(b' ') {
                seq_match = Some(seq_match_data(c)?);
            }
        } else {
            seq_match = Some(seq_match_data(c)?);
        }
    }
    c.expect(b')', "expected \")\" to close QRESYNC parameters")?;
    c.leave();
    Ok(QResync {
        uid_validity,
        mod_seq,
        known_uids,
        seq_match,
    })
}

/// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
fn seq_match_data(
    c: &mut Cursor<'_>,
) -> PResult<(crate::types::SequenceSet, crate::types::SequenceSet)> {
    c.expect(b'(', "expected \"(\" to open sequence match data")?;
    let seqs = c.sequence_set()?;
    c.sp_after("known sequence set")?;
    let uids = c.sequence_set()?;
    c.expect(b')', "expected \")\" to close sequence match data")?;
    Ok((seqs, uids))
}

/// `create = "CREATE" SP mailbox [SP "(" create-param ")"]` with
/// `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"` (RFC 6154 section 3).
pub(crate) fn create(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("CREATE")?;
    let mailbox = c.mailbox()?;
    let mut special_use = Vec::new();
    if c.eat(b' ') {
        c.paren_list("create parameters", false, |c| {
            c.expect_keyword("USE")?;
            c.sp_after("USE")?;
            special_use = c.paren_list("special-use attributes", true, |c| {
                c.expect(b'\\', "expected special-use attribute")?;
                atom(c)
            })?;
            Ok(())
        })?;
    }
    Ok(CommandBody::Create {
        mailbox,
        special_use,
    })
}

/// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`
/// (RFC 9051, RFC 5258 section 6, RFC 5819, RFC 6154).
pub(crate) fn list(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("LIST")?;
    let mut selection = Vec::new();
    if c.peek() == Some(b'(') {
        selection = c.paren_list("selection options", true, list_select_opt)?;
        let has_base = selection.iter().any(|o| {
            matches!(
                o,
                ListSelectOption::Subscribed | ListSelectOption::SpecialUse
            )
        });
        if selection.contains(&ListSelectOption::RecursiveMatch) && !has_base {
            return Err(c.error("RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE"));
        }
        c.sp_after("selection options")?;
    }
    let reference = c.mailbox()?;
    c.sp_after("reference name")?;
    let patterns = if c.peek() == Some(b'(') {
        c.paren_list("patterns", false, |c| {
            c.list_mailbox().map(|p| p.into_owned())
        })?
    } else {
        vec![c.list_mailbox()?.into_owned()]
    };
    let mut returns = Vec::new();
    if c.eat(b' ') {
        c.expect_keyword("RETURN")?;
        c.sp_after("RETURN")?;
        returns = c.paren_list("return options", true, list_return_opt)?;
    }
    Ok(CommandBody::List(ListCommand {
        selection,
        reference,
        patterns,
        returns,
    }))
}

fn list_select_opt(c: &mut Cursor<'_>) -> PResult<ListSelectOption> {
    if c.keyword("SUBSCRIBED") {
        Ok(ListSelectOption::Subscribed)
    } else if c.keyword("REMOTE") {
        Ok(ListSelectOption::Remote)
    } else if c.keyword("RECURSIVEMATCH") {
        Ok(ListSelectOption::RecursiveMatch)
    } else if c.keyword("SPECIAL-USE") {
        Ok(ListSelectOption::SpecialUse)
    } else {
        Err(c.error("unknown LIST selection option"))
    }
}

fn list_return_opt(c: &mut Cursor<'_>) -> PResult<ListReturnOption> {
    if c.keyword("SUBSCRIBED") {
        Ok(ListReturnOption::Subscribed)
    } else if c.keyword("CHILDREN") {
        Ok(ListReturnOption::Children)
    } else if c.keyword("SPECIAL-USE") {
        Ok(ListReturnOption::SpecialUse)
    } else if c.keyword("STATUS") {
        c.sp_after("STATUS")?;
        Ok(ListReturnOption::Status(status_atts(c)?))
    } else {
        Err(c.error("unknown LIST return option"))
    }
}

/// RFC 3501: `lsub = "LSUB" SP mailbox SP list-mailbox`.
pub(crate) fn lsub(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("LSUB")?;
    let reference = c.mailbox()?;
    c.sp_after("reference name")?;
    let pattern = c.list_mailbox()?.into_owned();
    Ok(CommandBody::Lsub { reference, pattern })
}

/// `"(" status-att *(SP status-att) ")"`.
fn status_atts(c: &mut Cursor<'_>) -> PResult<Vec<StatusItem>> {
    c.paren_list("status items", false, |c| {
        let w = c.word();
        std::str::from_utf8(w)
            .ok()
            .and_then(StatusItem::from_name)
            .ok_or_else(|| c.error("unknown status item"))
    })
}

/// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
pub(crate) fn status(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("STATUS")?;
    let mailbox = c.mailbox()?;
    c.sp_after("mailbox name")?;
    let items = status_atts(c)?;
    Ok(CommandBody::Status { mailbox, items })
}

/// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502), with
/// `append-message = [SP flag-list] [SP date-time] SP append-data` and
/// `append-data = literal / literal8 / "UTF8" SP "(" literal8 ")"`.
pub(crate) fn append(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("APPEND")?;
    let mailbox = c.mailbox()?;
    let mut messages = Vec::new();
    // Each message starts with SP; the command ends at the CRLF after the last literal.
    while c.eat(b' ') {
        let mut flags = Vec::new();
        if c.peek() == Some(b'(') {
            flags = c.flag_list()?;
            c.sp_after("flag list")?;
        }
        let mut date = None;
        if c.peek() == Some(b'"') {
            date = Some(c.date_time()?);
            c.sp_after("date-time")?;
        }
        let utf8 = c.keyword("UTF8");
        let (data, binary) = if utf8 {
            c.sp_after("UTF8")?;
            c.expect(b'(', "expected \"(\" after UTF8")?;
            if c.peek() != Some(b'~') {
                return Err(c.error("expected literal8 after UTF8 ("));
            }
            let d = c.literal_bytes()?;
            c.expect(b')', "expected \")\" after UTF8 literal")?;
            d
        } else {
            match c.peek() {
                Some(b'{' | b'~') => c.literal_bytes()?,
                _ => return Err(c.error("expected message literal")),
            }
        };
        messages.push(AppendMessage {
            flags,
            date,
            data,
            binary,
            utf8,
        });
    }
    if messages.is_empty() {
        return Err(c.error("expected SP after mailbox name"));
    }
    Ok(CommandBody::Append { mailbox, messages })
}
