//! What a NOTIFY SET asked for, compiled: which events the client wants for the selected
//! mailbox and for each other mailbox (RFC 5465 sections 5 and 6).

use std::collections::HashSet;

use roost_proto::{FetchAttribute, MailboxFilter, NotifyEvent};

use crate::store::account::INBOX;

/// Events of interest for one mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Events {
    /// MessageNew and MessageExpunge (always given together).
    pub messages: bool,
    pub flags: bool,
    pub names: bool,
    pub subscriptions: bool,
}

impl Events {
    fn of(events: &[NotifyEvent]) -> Events {
        let has = |f: fn(&NotifyEvent) -> bool| events.iter().any(f);
        Events {
            messages: has(|e| matches!(e, NotifyEvent::MessageNew(_))),
            flags: has(|e| matches!(e, NotifyEvent::FlagChange)),
            names: has(|e| matches!(e, NotifyEvent::MailboxName)),
            subscriptions: has(|e| matches!(e, NotifyEvent::SubscriptionChange)),
        }
    }

    fn merge(&mut self, other: Events) {
        self.messages |= other.messages;
        self.flags |= other.flags;
        self.names |= other.names;
        self.subscriptions |= other.subscriptions;
    }
}

/// SELECTED or SELECTED-DELAYED.
#[derive(Debug, Clone)]
pub struct SelectedSpec {
    /// SELECTED-DELAYED: expunges wait for a command that allows them.
    pub delayed: bool,
    pub events: Events,
    /// MessageNew's fetch attributes: a FETCH of each new message after EXISTS.
    pub fetch: Vec<FetchAttribute>,
}

/// Which other mailboxes a group covers; names already decoded and normalised.
#[derive(Debug, Clone)]
enum Filter {
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

impl Filter {
    fn matches(&self, name: &str, subscriptions: &HashSet<String>) -> bool {
        match self {
            // Mail is delivered (LMTP) to INBOX only.
            Filter::Inboxes => name == INBOX,
            // One user, one personal namespace: every mailbox of the account.
            Filter::Personal => true,
            Filter::Subscribed => subscriptions.contains(name),
            Filter::Subtree(roots) => roots.iter().any(|root| {
                name == root
                    || name
                        .strip_prefix(root.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }),
            Filter::Mailboxes(names) => names.iter().any(|n| n == name),
        }
    }
}

/// A compiled `NOTIFY SET`.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `None`: no message events for the selected mailbox (SELECTED NONE, or no SELECTED).
    pub selected: Option<SelectedSpec>,
    groups: Vec<(Filter, Events)>,
}

impl Spec {
    /// Compiles the groups; `name` decodes and normalises a mailbox name (names that are no
    /// valid name in the connection's encoding cannot exist, and are ignored as RFC 5465
    /// section 3.1 says for names of no existing mailbox).
    pub fn new(
        groups: &[roost_proto::EventGroup],
        name: impl Fn(&roost_proto::MailboxName) -> Option<String>,
    ) -> Spec {
        let mut spec = Spec {
            selected: None,
            groups: Vec::new(),
        };
        let names = |list: &[roost_proto::MailboxName]| list.iter().filter_map(&name).collect();
        for group in groups {
            let events = Events::of(&group.events);
            let filter = match &group.filter {
                MailboxFilter::Selected | MailboxFilter::SelectedDelayed => {
                    let fetch = group
                        .events
                        .iter()
                        .find_map(|e| match e {
                            NotifyEvent::MessageNew(attributes) => Some(attributes.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    spec.selected = events.messages.then(|| SelectedSpec {
                        delayed: group.filter == MailboxFilter::SelectedDelayed,
                        events,
                        fetch,
                    });
                    continue;
                }
                MailboxFilter::Inboxes => Filter::Inboxes,
                MailboxFilter::Personal => Filter::Personal,
                MailboxFilter::Subscribed => Filter::Subscribed,
                MailboxFilter::Subtree(list) => Filter::Subtree(names(list)),
                MailboxFilter::Mailboxes(list) => Filter::Mailboxes(names(list)),
            };
            spec.groups.push((filter, events));
        }
        spec
    }

    /// The events wanted for the (not selected) mailbox `name`.
    pub fn events_for(&self, name: &str, subscriptions: &HashSet<String>) -> Events {
        let mut events = Events::default();
        for (filter, group) in &self.groups {
            if filter.matches(name, subscriptions) {
                events.merge(*group);
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_proto::{EventGroup, MailboxName};

    fn group(filter: MailboxFilter, events: Vec<NotifyEvent>) -> EventGroup {
        EventGroup { filter, events }
    }

    fn decode(n: &MailboxName) -> Option<String> {
        String::from_utf8(n.as_bytes().to_vec()).ok()
    }

    #[test]
    fn subtree_covers_the_mailbox_and_what_is_below_it_only() {
        let lists = MailboxName::from_wire(b"Lists");
        let spec = Spec::new(
            &[group(
                MailboxFilter::Subtree(vec![lists]),
                vec![NotifyEvent::MessageNew(vec![]), NotifyEvent::MessageExpunge],
            )],
            decode,
        );
        let none = HashSet::new();
        assert!(spec.events_for("Lists", &none).messages);
        assert!(spec.events_for("Lists/Lemonade", &none).messages);
        assert!(!spec.events_for("ListsX", &none).messages);
        assert!(!spec.events_for("INBOX", &none).messages);
    }

    #[test]
    fn groups_add_up_and_selected_none_means_no_selected_events() {
        let spec = Spec::new(
            &[
                group(MailboxFilter::Selected, vec![]),
                group(
                    MailboxFilter::Mailboxes(vec![MailboxName::from_wire(b"INBOX")]),
                    vec![NotifyEvent::MessageNew(vec![]), NotifyEvent::MessageExpunge],
                ),
                group(
                    MailboxFilter::Personal,
                    vec![NotifyEvent::SubscriptionChange],
                ),
            ],
            decode,
        );
        assert!(spec.selected.is_none());
        let inbox = spec.events_for("INBOX", &HashSet::new());
        assert!(inbox.messages && inbox.subscriptions && !inbox.flags);
        let other = spec.events_for("Work", &HashSet::new());
        assert!(!other.messages && other.subscriptions);
    }
}
