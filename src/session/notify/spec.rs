//! What a NOTIFY SET asked for, compiled: which events the client wants for the selected
//! mailbox and for each other mailbox (RFC 5465 sections 5 and 6).

use std::collections::HashSet;

use roost_proto::{FetchAttribute, MailboxFilter, MailboxName, NotifyEvent};

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

/// Whether a group's filter (other than SELECTED, whose names are already decoded and
/// normalised UTF-8) covers the mailbox `name`.
fn covers(filter: &MailboxFilter, name: &str, subscriptions: &HashSet<String>) -> bool {
    let is = |n: &MailboxName| n.as_bytes() == name.as_bytes();
    match filter {
        MailboxFilter::Selected | MailboxFilter::SelectedDelayed => false,
        // Mail is delivered (LMTP) to INBOX only.
        MailboxFilter::Inboxes => name == INBOX,
        // One user, one personal namespace: every mailbox of the account.
        MailboxFilter::Personal => true,
        MailboxFilter::Subscribed => subscriptions.contains(name),
        MailboxFilter::Subtree(roots) => roots.iter().any(|root| {
            is(root)
                || name
                    .as_bytes()
                    .strip_prefix(root.as_bytes())
                    .is_some_and(|rest| rest.starts_with(b"/"))
        }),
        MailboxFilter::Mailboxes(names) => names.iter().any(is),
    }
}

/// A compiled `NOTIFY SET`.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `None`: no message events for the selected mailbox (SELECTED NONE, or no SELECTED).
    pub selected: Option<SelectedSpec>,
    /// The other groups, their names decoded and normalised.
    groups: Vec<(MailboxFilter, Events)>,
}

impl Spec {
    /// Compiles the groups; `name` decodes and normalises a mailbox name (names that are no
    /// valid name in the connection's encoding cannot exist, and are ignored as RFC 5465
    /// section 3.1 says for names of no existing mailbox).
    pub fn new(
        groups: &[roost_proto::EventGroup],
        name: impl Fn(&MailboxName) -> Option<String>,
    ) -> Spec {
        let mut spec = Spec {
            selected: None,
            groups: Vec::new(),
        };
        let names = |list: &[MailboxName]| {
            list.iter()
                .filter_map(&name)
                .map(|n| MailboxName::from_wire(n.as_bytes()))
                .collect()
        };
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
                MailboxFilter::Subtree(list) => MailboxFilter::Subtree(names(list)),
                MailboxFilter::Mailboxes(list) => MailboxFilter::Mailboxes(names(list)),
                other => other.clone(),
            };
            spec.groups.push((filter, events));
        }
        spec
    }

    /// The events wanted for the (not selected) mailbox `name`.
    pub fn events_for(&self, name: &str, subscriptions: &HashSet<String>) -> Events {
        let mut events = Events::default();
        for (filter, group) in &self.groups {
            if covers(filter, name, subscriptions) {
                events.merge(*group);
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_proto::EventGroup;

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
