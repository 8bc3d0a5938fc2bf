//! NOTIFY (RFC 5465): which mailboxes a client watches and which events it wants to hear of.

use super::core::{Atom, MailboxName};
use super::fetch::FetchAttribute;

/// `notify = "NOTIFY" SP (notify-set / notify-none)` (RFC 5465 section 8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyCommand {
    /// `NOTIFY NONE`: no events at all.
    None,
    /// `NOTIFY SET [STATUS] event-groups`: replaces the events of interest.
    Set {
        /// `STATUS`: send the watched mailboxes' STATUS before the tagged OK.
        status: bool,
        groups: Vec<EventGroup>,
    },
}

/// `event-group = "(" filter-mailboxes SP events ")"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventGroup {
    pub filter: MailboxFilter,
    /// Empty for `NONE`.
    pub events: Vec<NotifyEvent>,
}

/// `filter-mailboxes` (RFC 5465 section 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxFilter {
    Selected,
    SelectedDelayed,
    Inboxes,
    Personal,
    Subscribed,
    /// `SUBTREE one-or-more-mailbox`: the mailboxes and everything below them.
    Subtree(Vec<MailboxName>),
    /// `MAILBOXES one-or-more-mailbox`: exactly these names, no wildcards.
    Mailboxes(Vec<MailboxName>),
}

impl MailboxFilter {
    /// SELECTED or SELECTED-DELAYED: the filters that name the selected mailbox.
    pub fn is_selected(&self) -> bool {
        matches!(
            self,
            MailboxFilter::Selected | MailboxFilter::SelectedDelayed
        )
    }
}

/// `event` (RFC 5465 section 8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyEvent {
    /// `MessageNew [(fetch-att ...)]`; the list only with SELECTED / SELECTED-DELAYED.
    MessageNew(Vec<FetchAttribute>),
    MessageExpunge,
    FlagChange,
    AnnotationChange,
    MailboxName,
    SubscriptionChange,
    MailboxMetadataChange,
    ServerMetadataChange,
    /// `event-ext = atom`: an event this crate does not know.
    Other(Atom),
}

impl NotifyEvent {
    /// The event's name as RFC 5465 spells it (for `[BADEVENT (...)]`).
    pub fn name(&self) -> &str {
        match self {
            NotifyEvent::MessageNew(_) => "MessageNew",
            NotifyEvent::MessageExpunge => "MessageExpunge",
            NotifyEvent::FlagChange => "FlagChange",
            NotifyEvent::AnnotationChange => "AnnotationChange",
            NotifyEvent::MailboxName => "MailboxName",
            NotifyEvent::SubscriptionChange => "SubscriptionChange",
            NotifyEvent::MailboxMetadataChange => "MailboxMetadataChange",
            NotifyEvent::ServerMetadataChange => "ServerMetadataChange",
            NotifyEvent::Other(atom) => atom.as_str(),
        }
    }

    /// A `message-event`: about messages of a mailbox rather than the mailbox itself.
    pub fn is_message_event(&self) -> bool {
        matches!(
            self,
            NotifyEvent::MessageNew(_)
                | NotifyEvent::MessageExpunge
                | NotifyEvent::FlagChange
                | NotifyEvent::AnnotationChange
        )
    }
}
