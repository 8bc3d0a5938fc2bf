//! The client-side command writer: typed [`Command`]s to wire bytes, for tests, property round
//! trips and the load generator.
//!
//! Output is split into [`CommandFragment`]s at every literal, because with a synchronizing
//! literal (`{N}`) the client must wait for the server's `+` before sending the data. Each
//! value is written in the canonical form of the RFC 9051 section 9 ABNF, so that parsing the
//! output yields the same typed value. Strings are quoted only when they are 7-bit: the writer
//! cannot know whether the server accepts UTF-8, and a literal is always understood.

use base64::Engine as _;
use bytes::Bytes;

use super::fetch::{section, section_binary};
use super::search::search_command;
use super::wire::{self, Sink};
use crate::types::{
    AppendMessage, Command, CommandBody, Depth, FetchAttribute, FetchItems, FetchModifiers,
    ListCommand, ListReturnOption, ListSelectOption, MailboxFilter, MailboxName, MetadataOptions,
    NotifyCommand, NotifyEvent, Partial, QResync, SelectParams, StatusItem, StoreAction,
};

/// A piece of a command as it goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandFragment {
    /// Protocol text. Ends in CRLF: either the command's end or a literal announcement
    /// (`{N}\r\n`), in which case a [`CommandFragment::Literal`] follows.
    Line(Vec<u8>),
    /// Literal data, sent after the announcement (and, for [`LiteralMode::Sync`], after `+`).
    Literal(Bytes),
}

/// How literals are announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LiteralMode {
    /// `{N}`: wait for a continuation request before sending the data.
    #[default]
    Sync,
    /// `{N+}` (LITERAL+ / LITERAL-, RFC 7888): send the data straight away.
    NonSync,
}

/// Writes a command as fragments, splitting at each literal.
pub fn write_command(cmd: &Command, literals: LiteralMode) -> Vec<CommandFragment> {
    let mut s = CommandSink {
        frags: Vec::new(),
        line: Vec::new(),
        mode: literals,
    };
    s.put(cmd.tag.as_str().as_bytes());
    wire::sp(&mut s);
    command_body(&mut s, &cmd.body);
    wire::crlf(&mut s);
    let line = std::mem::take(&mut s.line);
    s.frags.push(CommandFragment::Line(line));
    s.frags
}

/// The whole command as one buffer, with non-synchronizing literals so it can be sent at once.
pub fn command_to_vec(cmd: &Command) -> Vec<u8> {
    let mut v = Vec::new();
    for f in write_command(cmd, LiteralMode::NonSync) {
        match f {
            CommandFragment::Line(l) => v.extend_from_slice(&l),
            CommandFragment::Literal(d) => v.extend_from_slice(&d),
        }
    }
    v
}

struct CommandSink {
    frags: Vec<CommandFragment>,
    line: Vec<u8>,
    mode: LiteralMode,
}

impl CommandSink {
    fn announce(&mut self, binary: bool, len: usize) {
        let header = wire::literal_header(binary, len, self.mode == LiteralMode::NonSync);
        self.line.extend_from_slice(&header);
        let line = std::mem::take(&mut self.line);
        self.frags.push(CommandFragment::Line(line));
    }
}

impl Sink for CommandSink {
    fn put(&mut self, bytes: &[u8]) {
        self.line.extend_from_slice(bytes);
    }

    fn literal(&mut self, data: &[u8], binary: bool) {
        self.announce(binary, data.len());
        self.frags
            .push(CommandFragment::Literal(Bytes::copy_from_slice(data)));
    }

    fn literal_bytes(&mut self, data: &Bytes, binary: bool) {
        self.announce(binary, data.len());
        self.frags.push(CommandFragment::Literal(data.clone()));
    }

    fn utf8_quoted(&self) -> bool {
        false
    }
}

fn mailbox(s: &mut impl Sink, m: &MailboxName) {
    wire::astring(s, m.as_bytes());
}

/// `keyword SP mailbox`, the shape of many commands.
fn word_mailbox(s: &mut impl Sink, word: &[u8], m: &MailboxName) {
    s.put(word);
    wire::sp(s);
    mailbox(s, m);
}

/// `NOTIFY NONE` / `NOTIFY SET [STATUS] event-groups` (RFC 5465 section 8).
fn notify(s: &mut impl Sink, n: &NotifyCommand) {
    let NotifyCommand::Set { status, groups } = n else {
        s.put(b"NOTIFY NONE");
        return;
    };
    s.put(if *status {
        b"NOTIFY SET STATUS"
    } else {
        b"NOTIFY SET" as &[u8]
    });
    for group in groups {
        s.put(b" (");
        match &group.filter {
            MailboxFilter::Selected => s.put(b"SELECTED"),
            MailboxFilter::SelectedDelayed => s.put(b"SELECTED-DELAYED"),
            MailboxFilter::Inboxes => s.put(b"INBOXES"),
            MailboxFilter::Personal => s.put(b"PERSONAL"),
            MailboxFilter::Subscribed => s.put(b"SUBSCRIBED"),
            MailboxFilter::Subtree(names) => {
                s.put(b"SUBTREE ");
                wire::paren_list(s, names, mailbox);
            }
            MailboxFilter::Mailboxes(names) => {
                s.put(b"MAILBOXES ");
                wire::paren_list(s, names, mailbox);
            }
        }
        wire::sp(s);
        if group.events.is_empty() {
            s.put(b"NONE");
        } else {
            wire::paren_list(s, &group.events, |s, event| {
                s.put(event.name().as_bytes());
                if let NotifyEvent::MessageNew(attributes) = event {
                    if !attributes.is_empty() {
                        wire::sp(s);
                        wire::paren_list(s, attributes, fetch_attribute);
                    }
                }
            });
        }
        s.put(b")");
    }
}

fn uid_prefix(s: &mut impl Sink, uid: bool) {
    if uid {
        s.put(b"UID ");
    }
}

fn command_body(s: &mut CommandSink, body: &CommandBody) {
    match body {
        CommandBody::Capability
        | CommandBody::Noop
        | CommandBody::Logout
        | CommandBody::StartTls
        | CommandBody::Namespace
        | CommandBody::Idle
        | CommandBody::Check
        | CommandBody::Close
        | CommandBody::Unselect
        | CommandBody::Unauthenticate
        | CommandBody::Expunge => s.put(body.name().as_bytes()),
        CommandBody::Id { params } => {
            s.put(b"ID ");
            match params {
                Some(p) => wire::paren_list(s, p, |s, (k, v)| {
                    wire::string(s, k);
                    wire::sp(s);
                    wire::nstring(s, v.as_deref());
                }),
                None => s.put(b"NIL"),
            }
        }
        CommandBody::Authenticate {
            mechanism,
            initial_response,
        } => {
            s.put(b"AUTHENTICATE ");
            s.put(mechanism.as_str().as_bytes());
            if let Some(ir) = initial_response {
                wire::sp(s);
                if ir.expose().is_empty() {
                    s.put(b"=");
                } else {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(ir.expose());
                    s.put(b64.as_bytes());
                }
            }
        }
        CommandBody::Login { username, password } => {
            s.put(b"LOGIN ");
            wire::astring(s, username);
            wire::sp(s);
            wire::astring(s, password.expose());
        }
        CommandBody::Enable { capabilities } => {
            s.put(b"ENABLE");
            for c in capabilities {
                wire::sp(s);
                s.put(c.as_str().as_bytes());
            }
        }
        CommandBody::Select { mailbox: m, params } => select(s, b"SELECT", m, params),
        CommandBody::Examine { mailbox: m, params } => select(s, b"EXAMINE", m, params),
        CommandBody::Create {
            mailbox: m,
            special_use,
        } => {
            word_mailbox(s, b"CREATE", m);
            if !special_use.is_empty() {
                s.put(b" (USE ");
                wire::paren_list(s, special_use, |s, a| {
                    s.put(b"\\");
                    s.put(a.as_str().as_bytes());
                });
                s.put(b")");
            }
        }
        CommandBody::Delete { mailbox: m } => word_mailbox(s, b"DELETE", m),
        CommandBody::Rename { from, to } => {
            word_mailbox(s, b"RENAME", from);
            wire::sp(s);
            mailbox(s, to);
        }
        CommandBody::Subscribe { mailbox: m } => word_mailbox(s, b"SUBSCRIBE", m),
        CommandBody::Unsubscribe { mailbox: m } => word_mailbox(s, b"UNSUBSCRIBE", m),
        CommandBody::List(l) => list(s, l),
        CommandBody::Lsub { reference, pattern } => {
            word_mailbox(s, b"LSUB", reference);
            wire::sp(s);
            list_mailbox(s, pattern);
        }
        CommandBody::Status { mailbox: m, items } => {
            word_mailbox(s, b"STATUS", m);
            wire::sp(s);
            status_items(s, items);
        }
        CommandBody::Append {
            mailbox: m,
            messages,
        } => {
            word_mailbox(s, b"APPEND", m);
            for msg in messages {
                append_message(s, msg);
            }
        }
        CommandBody::Compress { algorithm } => {
            s.put(b"COMPRESS ");
            s.put(algorithm.as_str().as_bytes());
        }
        CommandBody::GetQuota { root } => {
            s.put(b"GETQUOTA ");
            wire::astring(s, root);
        }
        CommandBody::GetQuotaRoot { mailbox: m } => word_mailbox(s, b"GETQUOTAROOT", m),
        CommandBody::SetQuota { root, limits } => {
            s.put(b"SETQUOTA ");
            wire::astring(s, root);
            wire::sp(s);
            wire::paren_list(s, limits, |s, (name, limit)| {
                wire::named_number(s, name.as_str().as_bytes(), *limit);
            });
        }
        CommandBody::GetMetadata {
            mailbox: m,
            options,
            entries,
        } => {
            word_mailbox(s, b"GETMETADATA", m);
            metadata_options(s, options);
            wire::sp(s);
            wire::paren_list(s, entries, |s, e| wire::astring(s, e.as_str().as_bytes()));
        }
        CommandBody::SetMetadata {
            mailbox: m,
            entries,
        } => {
            word_mailbox(s, b"SETMETADATA", m);
            wire::sp(s);
            wire::metadata_entry_values(s, entries);
        }
        CommandBody::Notify(n) => notify(s, n),
        CommandBody::CancelUpdate { tags } => {
            s.put(b"CANCELUPDATE");
            for tag in tags {
                wire::sp(s);
                wire::quoted(s, tag.as_bytes());
            }
        }
        CommandBody::UidExpunge { uids } => {
            s.put(b"UID EXPUNGE ");
            wire::sequence_set(s, uids);
        }
        CommandBody::Search(c) => search_command(s, c),
        CommandBody::Sort(c) => super::sort::sort_command(s, c),
        CommandBody::Thread(c) => super::sort::thread_command(s, c),
        CommandBody::Fetch {
            uid,
            set,
            items,
            modifiers,
        } => {
            uid_prefix(s, *uid);
            s.put(b"FETCH ");
            wire::sequence_set(s, set);
            wire::sp(s);
            fetch_items(s, items);
            fetch_modifiers(s, modifiers);
        }
        CommandBody::Store {
            uid,
            set,
            unchanged_since,
            action,
            silent,
            flags,
        } => {
            uid_prefix(s, *uid);
            s.put(b"STORE ");
            wire::sequence_set(s, set);
            if let Some(n) = unchanged_since {
                s.put(b" (UNCHANGEDSINCE ");
                wire::number(s, *n);
                s.put(b")");
            }
            wire::sp(s);
            s.put(match action {
                StoreAction::Replace => b"FLAGS".as_slice(),
                StoreAction::Add => b"+FLAGS",
                StoreAction::Remove => b"-FLAGS",
            });
            if *silent {
                s.put(b".SILENT");
            }
            wire::sp(s);
            wire::flag_list(s, flags);
        }
        CommandBody::Copy {
            uid,
            set,
            mailbox: m,
        } => copy_move(s, b"COPY ", *uid, set, m),
        CommandBody::Move {
            uid,
            set,
            mailbox: m,
        } => copy_move(s, b"MOVE ", *uid, set, m),
    }
}

fn copy_move(
    s: &mut impl Sink,
    word: &[u8],
    uid: bool,
    set: &crate::types::SequenceSet,
    m: &MailboxName,
) {
    uid_prefix(s, uid);
    s.put(word);
    wire::sequence_set(s, set);
    wire::sp(s);
    mailbox(s, m);
}

/// SELECT / EXAMINE with the RFC 7162 parameters.
/// ` (MAXSIZE n DEPTH d)` after the mailbox, as RFC 5464's examples place it; nothing for
/// the defaults.
fn metadata_options(s: &mut impl Sink, o: &MetadataOptions) {
    let depth = match o.depth {
        Depth::Zero => None,
        Depth::One => Some(&b"DEPTH 1"[..]),
        Depth::Infinity => Some(&b"DEPTH infinity"[..]),
    };
    let max_size = o.max_size;
    if depth.is_none() && max_size.is_none() {
        return;
    }
    s.put(b" (");
    if let Some(n) = max_size {
        wire::named_number(s, b"MAXSIZE", n);
    }
    if let Some(d) = depth {
        if max_size.is_some() {
            wire::sp(s);
        }
        s.put(d);
    }
    s.put(b")");
}

fn select(s: &mut impl Sink, word: &[u8], m: &MailboxName, p: &SelectParams) {
    word_mailbox(s, word, m);
    if !p.condstore && p.qresync.is_none() {
        return;
    }
    s.put(b" (");
    if p.condstore {
        s.put(b"CONDSTORE");
        if p.qresync.is_some() {
            wire::sp(s);
        }
    }
    if let Some(q) = &p.qresync {
        qresync(s, q);
    }
    s.put(b")");
}

/// `QRESYNC (uidvalidity modseq [known-uids [(seq-set uid-set)]])`.
fn qresync(s: &mut impl Sink, q: &QResync) {
    s.put(b"QRESYNC (");
    wire::number(s, u64::from(q.uid_validity));
    wire::sp(s);
    wire::number(s, q.mod_seq);
    if let Some(known) = &q.known_uids {
        wire::sp(s);
        wire::sequence_set(s, known);
    }
    if let Some((seqs, uids)) = &q.seq_match {
        s.put(b" (");
        wire::sequence_set(s, seqs);
        wire::sp(s);
        wire::sequence_set(s, uids);
        s.put(b")");
    }
    s.put(b")");
}

/// `list-mailbox = 1*list-char / string`.
fn list_mailbox(s: &mut impl Sink, pattern: &[u8]) {
    if !pattern.is_empty() && pattern.iter().all(|&b| crate::types::is_list_char(b)) {
        s.put(pattern);
    } else {
        wire::string(s, pattern);
    }
}

/// `LIST [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`.
fn list(s: &mut impl Sink, l: &ListCommand) {
    s.put(b"LIST");
    if !l.selection.is_empty() {
        wire::sp(s);
        wire::paren_list(s, &l.selection, |s, o| {
            s.put(match o {
                ListSelectOption::Subscribed => b"SUBSCRIBED".as_slice(),
                ListSelectOption::Remote => b"REMOTE",
                ListSelectOption::RecursiveMatch => b"RECURSIVEMATCH",
                ListSelectOption::SpecialUse => b"SPECIAL-USE",
            });
        });
    }
    wire::sp(s);
    mailbox(s, &l.reference);
    wire::sp(s);
    match l.patterns.as_slice() {
        [one] => list_mailbox(s, one),
        many => wire::paren_list(s, many, |s, p| list_mailbox(s, p)),
    }
    if !l.returns.is_empty() {
        s.put(b" RETURN ");
        wire::paren_list(s, &l.returns, |s, r| match r {
            ListReturnOption::Subscribed => s.put(b"SUBSCRIBED"),
            ListReturnOption::Children => s.put(b"CHILDREN"),
            ListReturnOption::SpecialUse => s.put(b"SPECIAL-USE"),
            ListReturnOption::Status(items) => {
                s.put(b"STATUS ");
                status_items(s, items);
            }
        });
    }
}

fn status_items(s: &mut impl Sink, items: &[StatusItem]) {
    wire::paren_list(s, items, |s, i| s.put(i.name().as_bytes()));
}

/// ` [flag-list] [date-time] (literal / literal8 / "UTF8" SP "(" literal8 ")")` for one
/// message of a (MULTI)APPEND.
fn append_message(s: &mut impl Sink, m: &AppendMessage) {
    if !m.flags.is_empty() {
        wire::sp(s);
        wire::flag_list(s, &m.flags);
    }
    if let Some(dt) = &m.date {
        wire::sp(s);
        wire::date_time(s, dt);
    }
    wire::sp(s);
    if m.utf8 {
        // RFC 6855 section 4: the UTF8 form always carries a literal8.
        s.put(b"UTF8 (");
        s.literal_bytes(&m.data, true);
        s.put(b")");
    } else {
        s.literal_bytes(&m.data, m.binary);
    }
}

fn fetch_items(s: &mut impl Sink, items: &FetchItems) {
    match items {
        FetchItems::All => s.put(b"ALL"),
        FetchItems::Fast => s.put(b"FAST"),
        FetchItems::Full => s.put(b"FULL"),
        FetchItems::List(atts) => match atts.as_slice() {
            [one] => fetch_attribute(s, one),
            many => wire::paren_list(s, many, |s, a| fetch_attribute(s, a)),
        },
    }
}

fn partial(s: &mut impl Sink, p: Option<&Partial>) {
    if let Some(p) = p {
        s.put(b"<");
        wire::number(s, u64::from(p.offset));
        s.put(b".");
        wire::number(s, u64::from(p.length));
        s.put(b">");
    }
}

fn fetch_attribute(s: &mut impl Sink, a: &FetchAttribute) {
    match a {
        FetchAttribute::Envelope => s.put(b"ENVELOPE"),
        FetchAttribute::Flags => s.put(b"FLAGS"),
        FetchAttribute::InternalDate => s.put(b"INTERNALDATE"),
        FetchAttribute::SaveDate => s.put(b"SAVEDATE"),
        FetchAttribute::Rfc822Size => s.put(b"RFC822.SIZE"),
        FetchAttribute::Body => s.put(b"BODY"),
        FetchAttribute::BodyStructure => s.put(b"BODYSTRUCTURE"),
        FetchAttribute::Uid => s.put(b"UID"),
        FetchAttribute::ModSeq => s.put(b"MODSEQ"),
        FetchAttribute::EmailId => s.put(b"EMAILID"),
        FetchAttribute::ThreadId => s.put(b"THREADID"),
        FetchAttribute::Preview { lazy: false } => s.put(b"PREVIEW"),
        FetchAttribute::Preview { lazy: true } => s.put(b"PREVIEW (LAZY)"),
        FetchAttribute::Rfc822 => s.put(b"RFC822"),
        FetchAttribute::Rfc822Header => s.put(b"RFC822.HEADER"),
        FetchAttribute::Rfc822Text => s.put(b"RFC822.TEXT"),
        FetchAttribute::BodySection {
            peek,
            section: sec,
            partial: p,
        } => {
            s.put(if *peek {
                b"BODY.PEEK".as_slice()
            } else {
                b"BODY"
            });
            section(s, sec);
            partial(s, p.as_ref());
        }
        FetchAttribute::Binary {
            peek,
            part,
            partial: p,
        } => {
            s.put(if *peek {
                b"BINARY.PEEK".as_slice()
            } else {
                b"BINARY"
            });
            section_binary(s, part);
            partial(s, p.as_ref());
        }
        FetchAttribute::BinarySize { part } => {
            s.put(b"BINARY.SIZE");
            section_binary(s, part);
        }
    }
}

/// ` (CHANGEDSINCE n [VANISHED])` (RFC 7162 sections 3.1.4.1 and 3.2.6).
fn fetch_modifiers(s: &mut impl Sink, m: &FetchModifiers) {
    if let Some(n) = m.changed_since {
        s.put(b" (CHANGEDSINCE ");
        wire::number(s, n);
        if m.vanished {
            s.put(b" VANISHED");
        }
        s.put(b")");
    } else if m.vanished {
        // Not valid without CHANGEDSINCE, but written so the parser can reject it.
        s.put(b" (VANISHED)");
    }
}
