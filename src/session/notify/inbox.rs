//! A session's waiting account news, bounded: the feed's watcher fills it from any thread
//! without blocking, the session empties it when the client may be told.
//!
//! News of a mailbox's messages is kept once per mailbox (the latest counts win, the kinds
//! of change add up), so however many changes a client that does not read misses, what
//! waits is at most one entry per mailbox plus the mailbox-list changes; past `limit`
//! entries the inbox overflows and NOTIFY ends (RFC 5465 section 5.8).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::mailbox::feed::{AccountEvent, MessageChanges};
use crate::mailbox::MailboxStatus;
use crate::store::MailboxId;

/// The latest news of one mailbox's messages.
#[derive(Debug, Clone)]
pub struct MessageNews {
    pub mailbox: MailboxId,
    pub name: String,
    pub changes: MessageChanges,
    pub status: MailboxStatus,
}

/// What the session takes out in one go.
#[derive(Debug, Default)]
pub struct News {
    /// Created, deleted, renamed and (un)subscribed mailboxes, in order.
    pub names: Vec<AccountEvent>,
    pub messages: Vec<MessageNews>,
    /// The inbox overflowed or the feed ended: NOTIFY stops.
    pub overflowed: bool,
}

#[derive(Debug)]
struct State {
    names: VecDeque<AccountEvent>,
    messages: Vec<MessageNews>,
    overflowed: bool,
    /// A wake-up is on its way to the session (sent once until it empties the inbox).
    woken: bool,
    limit: usize,
}

/// Shared between the feed's watcher and the session.
#[derive(Debug, Clone)]
pub struct Inbox(Arc<Mutex<State>>);

impl Inbox {
    pub fn new(limit: usize) -> Inbox {
        Inbox(Arc::new(Mutex::new(State {
            names: VecDeque::new(),
            messages: Vec::new(),
            overflowed: false,
            woken: false,
            limit,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes an event in; true when the session should be woken (the first news since it
    /// last emptied the inbox).
    pub fn push(&self, event: &AccountEvent) -> bool {
        let mut state = self.lock();
        if state.overflowed {
            return false;
        }
        match event {
            AccountEvent::Messages {
                mailbox,
                name,
                changes,
                status,
            } => {
                if let Some(news) = state.messages.iter_mut().find(|n| n.mailbox == *mailbox) {
                    news.changes.merge(*changes);
                    news.status = *status;
                    news.name.clone_from(name);
                } else {
                    state.messages.push(MessageNews {
                        mailbox: *mailbox,
                        name: name.clone(),
                        changes: *changes,
                        status: *status,
                    });
                }
            }
            AccountEvent::Lost => state.overflowed = true,
            other => {
                if let AccountEvent::Deleted { name } = other {
                    state.messages.retain(|n| &n.name != name);
                }
                state.names.push_back(other.clone());
            }
        }
        if state.names.len() + state.messages.len() > state.limit {
            state.overflowed = true;
            state.names.clear();
            state.messages.clear();
        }
        !std::mem::replace(&mut state.woken, true)
    }

    /// Forgets the first waiting mailbox-list change equal to `event` (one this session made
    /// itself, which RFC 5465 section 5 says not to report back).
    pub fn discard(&self, event: &AccountEvent) {
        let mut state = self.lock();
        if let Some(i) = state.names.iter().position(|e| e == event) {
            state.names.remove(i);
        }
    }

    /// Overflows now: the session could not deliver what NOTIFY asked for.
    pub fn overflow(&self) {
        let mut state = self.lock();
        state.overflowed = true;
        state.names.clear();
        state.messages.clear();
    }

    /// Empties the inbox; the next news wakes the session again.
    pub fn take(&self) -> News {
        let mut state = self.lock();
        state.woken = false;
        News {
            names: state.names.drain(..).collect(),
            messages: std::mem::take(&mut state.messages),
            overflowed: state.overflowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn news(mailbox: u64, messages: u32) -> AccountEvent {
        AccountEvent::Messages {
            mailbox: MailboxId(mailbox),
            name: format!("box{mailbox}"),
            changes: MessageChanges {
                new: true,
                ..MessageChanges::default()
            },
            status: MailboxStatus {
                messages,
                uid_next: messages + 1,
                uid_validity: 1,
                unseen: messages,
                deleted: 0,
                deleted_size: 0,
                size: 0,
                highest_mod_seq: 1,
                recent: 0,
            },
        }
    }

    #[test]
    fn news_of_one_mailbox_is_kept_once_with_the_latest_counts() {
        let inbox = Inbox::new(10);
        assert!(inbox.push(&news(1, 1)), "the first news wakes the session");
        for n in 2..10_000 {
            assert!(
                !inbox.push(&news(1, n)),
                "later news does not wake it again"
            );
        }
        let taken = inbox.take();
        assert_eq!(taken.messages.len(), 1);
        assert_eq!(taken.messages[0].status.messages, 9_999);
        assert!(!taken.overflowed);
        assert!(inbox.push(&news(2, 1)), "emptied: the next news wakes it");
    }

    #[test]
    fn more_mailboxes_than_the_limit_overflow_and_drop_everything() {
        let inbox = Inbox::new(3);
        for m in 0..4 {
            inbox.push(&news(m, 1));
        }
        let taken = inbox.take();
        assert!(taken.overflowed);
        assert!(taken.messages.is_empty());
        assert!(
            !inbox.push(&news(9, 1)),
            "an overflowed inbox takes nothing more"
        );
    }
}
