//! NOTIFY (RFC 5465): the session's side of the account feed.
//!
//! `NOTIFY SET` compiles what the client asked for ([`spec`]), starts watching the account
//! (on its owner node, here or over the node link) into a bounded [`inbox`], and answers the
//! initial `STATUS` lines when asked. News is written whenever the client may be told: at
//! once while idling or between commands, and before every tagged completion; for the
//! selected mailbox, the changes NOTIFY asked for go out between commands as well
//! (SELECTED-DELAYED holds expunges back for a command that allows them).

mod inbox;
mod spec;

use std::collections::{BTreeSet, HashSet};

use actix::prelude::*;
use roost_proto::{
    Atom, Code, Data, ListData, ListExtended, NotifyCommand, NotifyEvent, Response, Status,
    StatusItem, StatusKind, Tag,
};

use self::inbox::{Inbox, MessageNews};
use self::spec::{Events, Spec};
use super::mailbox::{atom, status_values};
use super::messages::{ReadMode, Reply};
use super::names::{mailbox_error, DELIMITER};
use super::{run, Pending, Session};
use crate::mailbox::feed::{AccountEvent, MessageChanges, Watcher};
use crate::mailbox::{MailboxError, MailboxStatus, Watch};
use crate::store::MailboxInfo;

/// The events this server reports (`[BADEVENT (...)]` lists them).
const SUPPORTED: [&str; 5] = [
    "MessageNew",
    "MessageExpunge",
    "FlagChange",
    "MailboxName",
    "SubscriptionChange",
];

/// A session's NOTIFY in force.
pub(super) struct Notifier {
    spec: Spec,
    inbox: Inbox,
    /// Ends the watch when NOTIFY does (`None` after NOTIFY NONE).
    _watch: Option<Watch>,
    /// The account's subscriptions, kept current from the feed (SUBSCRIBED).
    subscriptions: HashSet<String>,
    /// The account's mailbox names, kept current from the feed (`\HasChildren`).
    mailboxes: BTreeSet<String>,
}

impl Notifier {
    /// NOTIFY NONE (also what an overflow leaves, RFC 5465 section 5.8): no events at all,
    /// not even the selected mailbox's during IDLE.
    fn none() -> Notifier {
        Notifier {
            spec: Spec::new(&[], |_| None),
            inbox: Inbox::new(1),
            _watch: None,
            subscriptions: HashSet::new(),
            mailboxes: BTreeSet::new(),
        }
    }

    /// The selected mailbox's events NOTIFY asked for; `None` when NOTIFY leaves the selected
    /// mailbox out (its news then waits for a command's completion).
    pub fn selected(&self) -> Option<&spec::SelectedSpec> {
        self.spec.selected.as_ref()
    }
}

/// News is waiting in the session's inbox.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct NotifyWake;

impl Session {
    pub(super) fn handle_notify(
        &mut self,
        tag: Tag,
        command: NotifyCommand,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Reply> {
        let NotifyCommand::Set { status, groups } = command else {
            self.notify = Some(Notifier::none());
            self.write_status(Status::ok(tag, None, "NOTIFY NONE completed"));
            return super::ready(self.reply(ReadMode::Command));
        };
        let unsupported = groups
            .iter()
            .flat_map(|g| &g.events)
            .any(|e| !SUPPORTED.contains(&e.name()) || matches!(e, NotifyEvent::Other(_)));
        if unsupported {
            let code = Code::BadEvent(SUPPORTED.iter().map(|e| atom(e)).collect());
            self.write_status(Status::no(tag, Some(code), "unsupported NOTIFY event"));
            return super::ready(self.reply(ReadMode::Command));
        }
        let spec = Spec::new(&groups, |n| self.mailbox_name(n).ok());
        let inbox = Inbox::new(self.shared.config.limits.notify_backlog);
        let watcher = wake_on_news(inbox.clone(), ctx.address().recipient());
        let selected = self.state.selected().map(|m| m.handle.info().id);
        let (registry, user) = (self.shared.registry.clone(), self.user());
        let wanted = spec.clone();
        let work = async move {
            let account = registry.account(&user).await?;
            let watch = account.watch(watcher).await?;
            let view = account.view().await?;
            let subscriptions: HashSet<String> = view.subscriptions.into_iter().collect();
            let mailboxes: BTreeSet<String> =
                view.mailboxes.iter().map(|m| m.name.clone()).collect();
            let mut statuses = Vec::new();
            if status {
                for info in view.mailboxes {
                    let events = wanted.events_for(&info.name, &subscriptions);
                    if Some(info.id) == selected || !(events.messages || events.flags) {
                        continue;
                    }
                    // A mailbox deleted meanwhile has no status to report.
                    if let Ok(handle) = account.open(&info.name).await {
                        if let Ok(status) = handle.status().await {
                            statuses.push((info, events, status));
                        }
                    }
                }
            }
            Ok::<_, MailboxError>((watch, subscriptions, mailboxes, statuses))
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok((watch, subscriptions, mailboxes, statuses)) => {
                    for (info, events, status) in statuses {
                        let changes = MessageChanges {
                            new: events.messages,
                            expunged: events.messages,
                            flags: events.flags,
                        };
                        session.write_mailbox_status(&info, events, changes, &status);
                    }
                    session.notify = Some(Notifier {
                        spec,
                        inbox,
                        _watch: Some(watch),
                        subscriptions,
                        mailboxes,
                    });
                    session.write_status(Status::ok(tag, None, "NOTIFY completed"));
                }
                Err(e) => session.write_status(mailbox_error(tag, &e)),
            }
            ReadMode::Command
        })
    }

    /// The session's own CREATE, DELETE, RENAME or (UN)SUBSCRIBE succeeded: its news is not
    /// reported back to it (RFC 5465 section 5), but the subscription list stays current.
    pub(super) fn own_change(&mut self, event: AccountEvent) {
        let Some(notifier) = &mut self.notify else {
            return;
        };
        notifier.inbox.discard(&event);
        // Not reported, but the names and subscriptions it changed are kept.
        notifier.lists_for(event);
    }

    /// Whether untagged news may go out now: while idling, or between commands.
    fn may_notify_now(&self) -> bool {
        match self.pending {
            Pending::Idle { .. } => true,
            Pending::None => !self.busy && self.command.is_none(),
            Pending::Sasl { .. } => false,
        }
    }

    /// Writes the news waiting in the inbox (STATUS for other mailboxes, LIST for the
    /// mailbox list), or `[NOTIFICATIONOVERFLOW]` when it overflowed.
    pub(super) fn write_notifications(&mut self) {
        let Some(notifier) = &mut self.notify else {
            return;
        };
        let news = notifier.inbox.take();
        if news.overflowed {
            self.notify = Some(Notifier::none());
            self.write_status(Status::untagged(
                StatusKind::Ok,
                Some(Code::NotificationOverflow),
                "Too many changes to report; NOTIFY is off",
            ));
            return;
        }
        let mut lists = Vec::new();
        for event in news.names {
            lists.extend(notifier.lists_for(event));
        }
        let selected = self.state.selected().map(|m| m.handle.info().id);
        let mut statuses = Vec::new();
        for news in news.messages {
            if Some(news.mailbox) == selected {
                continue; // SELECTED governs the selected mailbox (RFC 5465 section 3.1)
            }
            let events = notifier
                .spec
                .events_for(&news.name, &notifier.subscriptions);
            statuses.push((news, events));
        }
        for list in lists {
            self.write(Response::Data(Data::List(list)));
        }
        for (news, events) in statuses {
            let MessageNews {
                mailbox,
                name,
                changes,
                status,
            } = news;
            let info = MailboxInfo {
                id: mailbox,
                name,
                uid_validity: status.uid_validity,
                special_use: None,
            };
            self.write_mailbox_status(&info, events, changes, &status);
        }
    }

    /// One untagged STATUS for the changes of `changes` that `events` asked for (RFC 5465
    /// sections 5.1 to 5.3); nothing when it asked for none of them.
    fn write_mailbox_status(
        &mut self,
        info: &MailboxInfo,
        events: Events,
        changes: MessageChanges,
        status: &MailboxStatus,
    ) {
        let messages = events.messages && (changes.new || changes.expunged);
        let flags = events.flags && changes.flags;
        if !messages && !flags {
            return;
        }
        let mut items = Vec::new();
        if messages {
            items.extend([StatusItem::Messages, StatusItem::UidNext]);
        }
        items.push(StatusItem::UidValidity);
        if flags {
            items.push(StatusItem::Unseen);
        }
        if self.condstore || self.qresync {
            items.push(StatusItem::HighestModSeq);
        }
        let values = status_values(&items, info, status, 0);
        self.write(Response::Data(Data::Status {
            mailbox: info.name.clone(),
            items: values,
        }));
    }

    /// News arrived: tell the client now if it may be told, as soon as it has room.
    fn notify_ready(&mut self, ctx: &mut Context<Self>) {
        if self.notify.is_none() || !self.may_notify_now() {
            return; // written before the next tagged completion
        }
        if self.out.has_room() {
            self.write_notifications();
            return;
        }
        self.after_room(ctx, |s| &mut s.notify_waits_for_room, Self::notify_ready);
    }

    /// Notes the UIDs a flush just told the client of with EXISTS, when NOTIFY wants a FETCH
    /// of new messages ([`Session::fetch_told_new`] sends it).
    pub(super) fn note_told_new(&mut self, uids: &[u32]) {
        let wants_fetch = self
            .notify
            .as_ref()
            .and_then(Notifier::selected)
            .is_some_and(|s| !s.fetch.is_empty());
        if wants_fetch {
            let own = std::mem::take(&mut self.notify_own_new);
            let others = uids.iter().filter(|uid| !own.contains(uid));
            self.notify_new.extend(others);
        }
        self.notify_own_new.clear();
    }

    /// Messages this connection put into its selected mailbox itself (APPEND, COPY, MOVE):
    /// NOTIFY's FETCH leaves them out (RFC 5465 section 5.2). Told with the command's EXISTS.
    pub(super) fn own_new_messages(&mut self, uids: Vec<u32>) {
        if self.notify.is_some() {
            self.notify_own_new.extend(uids);
        }
    }

    /// Sends NOTIFY's FETCH of the new messages told since the last one, numbered as the
    /// client now knows them; a batch too large for one go overflows NOTIFY.
    pub(super) fn fetch_told_new(&mut self, ctx: &mut Context<Self>) {
        if self.notify_new.is_empty() {
            return;
        }
        let uids = std::mem::take(&mut self.notify_new);
        let (Some(selected), Some(attrs)) = (
            self.state.selected(),
            self.notify
                .as_ref()
                .and_then(Notifier::selected)
                .map(|s| s.fetch.clone()),
        ) else {
            return;
        };
        let targets: Vec<(u32, u32)> = uids
            .into_iter()
            .filter_map(|uid| Some((selected.view.seq_of(uid)?, uid)))
            .collect();
        if !self.out.has_room() || !self.fetch_new_messages(ctx, &attrs, targets) {
            if let Some(notifier) = &self.notify {
                notifier.inbox.overflow();
            }
            self.write_notifications();
        }
    }

    /// After a change of the selected mailbox was queued in the view: push it now when
    /// NOTIFY asked for it (or, without NOTIFY, while idling as before).
    pub(super) fn push_selected(&mut self, ctx: &mut Context<Self>, kind: MessageChanges) {
        let Some(notifier) = &self.notify else {
            self.flush_while_idle(ctx);
            return;
        };
        let Some(selected) = notifier.selected() else {
            return; // SELECTED NONE: the news waits for a command's completion
        };
        let wanted = (kind.new || kind.expunged) && selected.events.messages
            || kind.flags && selected.events.flags;
        if !wanted {
            return;
        }
        if matches!(self.pending, Pending::Idle { .. }) {
            self.flush_while_idle(ctx);
        } else {
            self.push_selected_between_commands(ctx);
        }
    }

    /// Between commands: the selected mailbox's news now, or once the client has room.
    fn push_selected_between_commands(&mut self, ctx: &mut Context<Self>) {
        let Some(selected) = self.notify.as_ref().and_then(Notifier::selected) else {
            return;
        };
        let delayed = selected.delayed;
        if !self.may_notify_now() {
            return; // the command's completion tells it
        }
        if !self.out.has_room() {
            self.after_room(
                ctx,
                |s| &mut s.selected_waits_for_room,
                Self::push_selected_between_commands,
            );
            return;
        }
        // SELECTED-DELAYED: expunges wait for a command that allows them.
        self.expunges_allowed = !delayed;
        self.flush_updates();
        self.fetch_told_new(ctx);
    }
}

impl Notifier {
    /// The LIST lines for a mailbox-list change that the client asked for (RFC 5465
    /// sections 5.4 and 5.5): the mailbox, and for CREATE and DELETE its parent, whose
    /// children changed. Keeps the names and subscriptions current either way.
    fn lists_for(&mut self, event: AccountEvent) -> Vec<ListData> {
        let mut lines = Vec::new();
        match event {
            AccountEvent::Created { name } => {
                self.mailboxes.insert(name.clone());
                self.push_name_lines(&mut lines, &name, Vec::new(), Vec::new());
            }
            AccountEvent::Deleted { name } => {
                self.mailboxes.remove(&name);
                let nonexistent = vec![atom("NonExistent")];
                self.push_name_lines(&mut lines, &name, nonexistent, Vec::new());
            }
            AccountEvent::Renamed { from, to } => {
                let moved: Vec<String> = self
                    .mailboxes
                    .iter()
                    .filter(|n| *n == &from || n.starts_with(&format!("{from}/")))
                    .cloned()
                    .collect();
                for old in moved {
                    self.mailboxes.remove(&old);
                    self.mailboxes.insert(format!("{to}{}", &old[from.len()..]));
                }
                let wanted = self.wants_names(&from) || self.wants_names(&to);
                if wanted {
                    let old_name = vec![ListExtended::OldName(from)];
                    lines.push(self.list_line(&to, Vec::new(), old_name));
                }
            }
            AccountEvent::Subscription { name, subscribed } => {
                let wanted =
                    |n: &Notifier| n.spec.events_for(&name, &n.subscriptions).subscriptions;
                let before = wanted(self);
                if subscribed {
                    self.subscriptions.insert(name.clone());
                } else {
                    self.subscriptions.remove(&name);
                }
                if before || wanted(self) {
                    lines.push(self.list_line(&name, Vec::new(), Vec::new()));
                }
            }
            AccountEvent::Messages { .. } | AccountEvent::Lost => {}
        }
        lines
    }

    fn wants_names(&self, name: &str) -> bool {
        self.spec.events_for(name, &self.subscriptions).names
    }

    /// CREATE or DELETE of `name`: its LIST line, then its parent's (whose children changed).
    fn push_name_lines(
        &self,
        lines: &mut Vec<ListData>,
        name: &str,
        attributes: Vec<Atom>,
        extended: Vec<ListExtended>,
    ) {
        if self.wants_names(name) {
            lines.push(self.list_line(name, attributes, extended));
        }
        if let Some((parent, _)) = name.rsplit_once('/') {
            if self.mailboxes.contains(parent) && self.wants_names(parent) {
                lines.push(self.list_line(parent, Vec::new(), Vec::new()));
            }
        }
    }

    /// A LIST line with the attributes RFC 5465 section 5.4 asks for: `\Subscribed`, and
    /// `\HasChildren` or `\HasNoChildren` for an existing mailbox.
    fn list_line(
        &self,
        name: &str,
        mut attributes: Vec<Atom>,
        extended: Vec<ListExtended>,
    ) -> ListData {
        if !self.mailboxes.contains(name) {
            if !attributes.iter().any(|a| a.as_str() == "NonExistent") {
                attributes.push(atom("NonExistent"));
            }
        } else {
            let below = format!("{name}/");
            let children = self
                .mailboxes
                .range(below.clone()..)
                .next()
                .is_some_and(|n| n.starts_with(&below));
            attributes.push(atom(if children {
                "HasChildren"
            } else {
                "HasNoChildren"
            }));
        }
        if self.subscriptions.contains(name) {
            attributes.push(atom("Subscribed"));
        }
        ListData {
            attributes,
            delimiter: Some(DELIMITER),
            mailbox: name.to_owned(),
            extended,
        }
    }
}

/// The feed's watcher for one session: news into its inbox, and a wake-up when the inbox
/// was empty. Ends when the session is gone.
fn wake_on_news(inbox: Inbox, session: Recipient<NotifyWake>) -> Watcher {
    std::sync::Arc::new(move |event: &AccountEvent| {
        if !session.connected() {
            return false;
        }
        if inbox.push(event) {
            session.do_send(NotifyWake);
        }
        true
    })
}

impl Handler<NotifyWake> for Session {
    type Result = ();

    fn handle(&mut self, _: NotifyWake, ctx: &mut Context<Self>) {
        self.notify_ready(ctx);
    }
}
