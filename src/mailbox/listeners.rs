//! Sessions attached to a mailbox: who gets each [`MailboxEvent`], and `\Recent`.
//!
//! `\Recent` (IMAP4rev1 only) means "this session is the first to be told about the
//! message" (RFC 3501 section 2.3.2). Messages no read-write session has been told about
//! yet are the UIDs at or above `unclaimed_from`: the first read-write session to attach
//! claims them all, and a new message is recent for exactly one attached read-write
//! session (the longest attached), or, with none attached, stays unclaimed for the next.
//! Read-only (EXAMINE) sessions see unclaimed messages as recent without claiming them.
//! `unclaimed_from` is saved by the actor in the mailbox's `recent` file
//! ([`crate::store::recent`]), so an idle mailbox reloaded or a restarted node keeps it.

use std::sync::Arc;

use actix::Recipient;

use super::{Change, MailboxEvent};
use crate::store::mailbox::MailboxState;
use crate::store::{MailboxId, MessageEntry};

static NEXT_ATTACHMENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

struct Listener {
    id: u64,
    recipient: Recipient<MailboxEvent>,
    read_write: bool,
}

pub(super) struct Listeners {
    mailbox: MailboxId,
    list: Vec<Listener>,
    unclaimed_from: u32,
}

impl Listeners {
    pub fn new(mailbox: MailboxId) -> Self {
        Listeners {
            mailbox,
            list: Vec::new(),
            unclaimed_from: u32::MAX,
        }
    }

    /// After loading: recent from the saved mark, or nothing when none was saved.
    pub fn loaded(&mut self, state: &MailboxState, saved: Option<u32>) {
        self.unclaimed_from = saved
            .filter(|&from| from <= state.uid_next)
            .unwrap_or(state.uid_next);
    }

    /// The first UID no read-write session has been told of (what the actor saves).
    pub fn unclaimed_from(&self) -> u32 {
        self.unclaimed_from
    }

    /// Registers a session; returns its attachment id and the UIDs recent for it.
    pub fn attach(
        &mut self,
        recipient: Recipient<MailboxEvent>,
        read_only: bool,
        state: &MailboxState,
    ) -> (u64, Vec<u32>) {
        let recent = self.unclaimed(state).map(|e| e.uid).collect();
        if !read_only {
            self.unclaimed_from = state.uid_next;
        }
        // Unique in the process, not just in this actor: a session that selects the mailbox
        // again, after this actor stopped and another started, must not take an event of
        // its old attachment for one of its new.
        let id = NEXT_ATTACHMENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.list.push(Listener {
            id,
            recipient,
            read_write: !read_only,
        });
        (id, recent)
    }

    pub fn detach(&mut self, id: u64) {
        self.list.retain(|l| l.id != id);
    }

    fn unclaimed<'a>(&self, state: &'a MailboxState) -> impl Iterator<Item = &'a MessageEntry> {
        let start = state
            .entries
            .partition_point(|e| e.uid < self.unclaimed_from);
        state.entries[start..].iter()
    }

    /// STATUS RECENT: messages no read-write session has been told about.
    pub fn unclaimed_count(&self, state: &MailboxState) -> u32 {
        self.unclaimed(state).count() as u32
    }

    /// Drops sessions that are gone; true when none is left.
    pub fn is_empty(&mut self) -> bool {
        self.list.retain(|l| l.recipient.connected());
        self.list.is_empty()
    }

    fn send(&mut self, event: impl Fn(&Listener) -> Change) {
        let mailbox = self.mailbox;
        self.list.retain(|l| {
            let alive = l.recipient.connected();
            if alive {
                l.recipient.do_send(MailboxEvent {
                    mailbox,
                    attachment: l.id,
                    change: event(l),
                });
            }
            alive
        });
    }

    /// Tells every session about new messages, giving `\Recent` to one read-write session.
    pub fn appended(&mut self, entries: Vec<MessageEntry>, keywords: Arc<[String]>, uid_next: u32) {
        let uids: Vec<u32> = entries.iter().map(|e| e.uid).collect();
        self.list.retain(|l| l.recipient.connected());
        let claimer = self.list.iter().find(|l| l.read_write).map(|l| l.id);
        if claimer.is_some() {
            self.unclaimed_from = uid_next;
        }
        self.send(|l| Change::Appended {
            entries: entries.clone(),
            keywords: keywords.clone(),
            recent: match claimer {
                Some(id) if id == l.id => uids.clone(),
                Some(_) => Vec::new(),
                None => uids.clone(),
            },
        });
    }

    pub fn flags(&mut self, entries: Vec<MessageEntry>, keywords: Arc<[String]>) {
        self.send(|_| Change::Flags {
            entries: entries.clone(),
            keywords: keywords.clone(),
        });
    }

    pub fn expunged(&mut self, uids: Vec<u32>) {
        self.send(|_| Change::Expunged { uids: uids.clone() });
    }

    /// Tells every session the mailbox is gone for them and forgets them all.
    pub fn close_all(&mut self, reason: &str) {
        self.send(|_| Change::Closed {
            reason: reason.to_string(),
        });
        self.list.clear();
    }
}
