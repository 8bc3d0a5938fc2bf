//! NOTIFY (RFC 5465 section 8), with the rules of sections 5 and 6.1 that make a command
//! BAD: MessageNew and MessageExpunge only together, FlagChange and AnnotationChange only
//! with both, one SELECTED / SELECTED-DELAYED group holding message events only, and
//! fetch attributes only for the selected mailbox. Events the server does not support are
//! parsed (they are a NO [BADEVENT], which is the server's decision, not the grammar's).

use super::cursor::{Cursor, PResult};
use crate::types::{
    CommandBody, EventGroup, MailboxFilter, MailboxName, NotifyCommand, NotifyEvent,
};

/// `notify = "NOTIFY" SP (notify-set / notify-none)`.
pub(crate) fn notify(c: &mut Cursor<'_>) -> PResult<CommandBody> {
    c.sp_after("NOTIFY")?;
    if c.keyword("NONE") {
        return Ok(CommandBody::Notify(NotifyCommand::None));
    }
    if !c.keyword("SET") {
        return Err(c.error("expected SET or NONE after NOTIFY"));
    }
    c.sp_after("SET")?;
    let status = c.keyword("STATUS");
    if status {
        c.sp_after("STATUS")?;
    }
    let mut groups = vec![event_group(c)?];
    while c.eat(b' ') {
        groups.push(event_group(c)?);
    }
    if groups.iter().filter(|g| g.filter.is_selected()).count() > 1 {
        return Err(c.error("only one SELECTED or SELECTED-DELAYED group is allowed"));
    }
    Ok(CommandBody::Notify(NotifyCommand::Set { status, groups }))
}

/// `event-group = "(" filter-mailboxes SP events ")"`.
fn event_group(c: &mut Cursor<'_>) -> PResult<EventGroup> {
    c.enter()?;
    c.expect(b'(', "expected ( to start an event group")?;
    let filter = filter_mailboxes(c)?;
    c.sp_after("filter-mailboxes")?;
    let events = if c.keyword("NONE") {
        Vec::new()
    } else {
        c.paren_list("events", false, event)?
    };
    c.expect(b')', "expected ) to end an event group")?;
    c.leave();
    check_events(c, &filter, &events)?;
    Ok(EventGroup { filter, events })
}

/// `filter-mailboxes` (case-insensitive keywords).
fn filter_mailboxes(c: &mut Cursor<'_>) -> PResult<MailboxFilter> {
    Ok(if c.keyword("SELECTED-DELAYED") {
        MailboxFilter::SelectedDelayed
    } else if c.keyword("SELECTED") {
        MailboxFilter::Selected
    } else if c.keyword("INBOXES") {
        MailboxFilter::Inboxes
    } else if c.keyword("PERSONAL") {
        MailboxFilter::Personal
    } else if c.keyword("SUBSCRIBED") {
        MailboxFilter::Subscribed
    } else if c.keyword("SUBTREE") {
        c.sp_after("SUBTREE")?;
        MailboxFilter::Subtree(one_or_more_mailbox(c)?)
    } else if c.keyword("MAILBOXES") {
        c.sp_after("MAILBOXES")?;
        MailboxFilter::Mailboxes(one_or_more_mailbox(c)?)
    } else {
        return Err(c.error(
            "expected SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE or MAILBOXES",
        ));
    })
}

/// `one-or-more-mailbox = mailbox / many-mailboxes`.
fn one_or_more_mailbox(c: &mut Cursor<'_>) -> PResult<Vec<MailboxName>> {
    if c.peek() == Some(b'(') {
        c.paren_list("mailboxes", false, Cursor::mailbox)
    } else {
        Ok(vec![c.mailbox()?])
    }
}

/// One `event`.
fn event(c: &mut Cursor<'_>) -> PResult<NotifyEvent> {
    let name = c.atom()?;
    Ok(match name.to_ascii_lowercase().as_str() {
        "messagenew" => {
            let attributes = if c.peek() == Some(b' ') && c.peek_at(1) == Some(b'(') {
                c.eat(b' ');
                c.paren_list("fetch attributes", false, super::fetch::fetch_att)?
            } else {
                Vec::new()
            };
            NotifyEvent::MessageNew(attributes)
        }
        "messageexpunge" => NotifyEvent::MessageExpunge,
        "flagchange" => NotifyEvent::FlagChange,
        "annotationchange" => NotifyEvent::AnnotationChange,
        "mailboxname" => NotifyEvent::MailboxName,
        "subscriptionchange" => NotifyEvent::SubscriptionChange,
        "mailboxmetadatachange" => NotifyEvent::MailboxMetadataChange,
        "servermetadatachange" => NotifyEvent::ServerMetadataChange,
        _ => NotifyEvent::Other(
            crate::types::Atom::new(name).map_err(|_| c.error("expected event name"))?,
        ),
    })
}

/// The rules of RFC 5465 sections 5, 6.1 and 8 whose breach is a BAD.
fn check_events(c: &Cursor<'_>, filter: &MailboxFilter, events: &[NotifyEvent]) -> PResult<()> {
    let has = |f: fn(&NotifyEvent) -> bool| events.iter().any(f);
    let new = has(|e| matches!(e, NotifyEvent::MessageNew(_)));
    let expunge = has(|e| matches!(e, NotifyEvent::MessageExpunge));
    if new != expunge {
        return Err(c.error("MessageNew and MessageExpunge must be given together"));
    }
    if has(|e| matches!(e, NotifyEvent::FlagChange | NotifyEvent::AnnotationChange)) && !new {
        return Err(c.error("FlagChange and AnnotationChange need MessageNew and MessageExpunge"));
    }
    if filter.is_selected() {
        if let Some(other) = events
            .iter()
            .find(|e| !e.is_message_event() && !matches!(e, NotifyEvent::Other(_)))
        {
            return Err(c.error(format!(
                "{} is not a message event: not allowed with SELECTED",
                other.name()
            )));
        }
    } else if has(|e| matches!(e, NotifyEvent::MessageNew(a) if !a.is_empty())) {
        return Err(c.error("fetch attributes of MessageNew are only allowed with SELECTED"));
    }
    Ok(())
}
