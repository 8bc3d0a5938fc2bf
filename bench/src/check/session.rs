//! One checking client: random operations on its account, every response checked against
//! its [`Model`], errors reported with the commands that led to them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use roost_proto::{
    Code, CommandBody, Data, FetchAttribute, FetchItems, FetchModifiers, FetchValue, Flag,
    MailboxName, Response, SearchCommand, SearchKey, SeqBound, SeqRange, SequenceSet, Status,
    StatusItem, StoreAction,
};

use super::model::{flag_names, Model, Violation};
use super::Findings;
use crate::client::{Conn, ImapError, Reply};
use crate::sample::{self, Rng, Size};
use crate::workload::{append, appended_uids, mark_deleted, Target};

/// The mailboxes a checking account uses; messages move between them.
pub const MAILBOXES: [&str; 2] = ["INBOX", "Archive"];
/// Keywords the clients set: a few, so the keyword table never fills.
const KEYWORDS: [&str; 5] = ["$Work", "$Later", "Junk", "NonJunk", "$Label1"];

pub struct Session {
    pub name: String,
    target: Target,
    user: usize,
    rng: Rng,
    conn: Option<Conn>,
    pub model: Model,
    /// The selected mailbox, if any.
    pub selected: Option<&'static str>,
    /// Selected with EXAMINE: this session does not write to it.
    read_only: bool,
    history: VecDeque<String>,
    findings: Arc<Findings>,
    seed: u64,
    appended: u64,
}

impl Session {
    pub fn new(id: usize, target: Target, user: usize, seed: u64, findings: Arc<Findings>) -> Self {
        Session {
            name: format!("client {id} ({})", target.user(user)),
            target,
            user,
            rng: Rng::new(seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            conn: None,
            model: Model::default(),
            selected: None,
            read_only: false,
            history: VecDeque::new(),
            findings,
            seed,
            appended: (id as u64) << 32,
        }
    }

    fn note(&mut self, what: String) {
        if self.history.len() == 12 {
            self.history.pop_front();
        }
        self.history.push_back(what);
    }

    pub fn report(&self, v: Violation) {
        self.findings.error(
            v.kind,
            &format!("{}: {}", self.name, v.detail),
            &self.history,
        );
    }

    fn apply_all(&mut self, responses: &[Response]) {
        for r in responses {
            for v in self.model.apply(r) {
                self.report(v);
            }
        }
    }

    /// Runs a command, checks its untagged responses in order, and counts its outcome. A NO
    /// or BAD is an error unless `allowed` accepts it.
    async fn run(
        &mut self,
        op: &'static str,
        body: CommandBody,
        allowed: fn(&ImapError) -> bool,
    ) -> Option<Reply> {
        self.note(format!("{op}: {}", short(&body)));
        let conn = self.conn.as_mut()?;
        let result = conn.run(body).await;
        self.findings.op(op);
        match result {
            Ok(reply) => {
                self.apply_all(&reply.untagged);
                Some(reply)
            }
            Err(e) if allowed(&e) => {
                self.findings.allowed(op, &e);
                None
            }
            Err(e) => {
                let broken = matches!(e, ImapError::Io(_) | ImapError::Timeout | ImapError::Bye(_));
                self.findings.error(
                    op,
                    &format!("{}: {op} failed: {e}", self.name),
                    &self.history,
                );
                if broken {
                    self.conn = None;
                    self.selected = None;
                }
                None
            }
        }
    }

    /// Connects, logs in and selects INBOX when not connected.
    pub async fn ensure_ready(&mut self) {
        if self.conn.is_none() {
            self.note("LOGIN".into());
            match self.target.login(self.user, None).await {
                Ok(conn) => self.conn = Some(conn),
                Err(e) => {
                    self.findings
                        .error("LOGIN", &format!("{}: {e}", self.name), &self.history);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return;
                }
            }
            self.selected = None;
        }
        if self.selected.is_none() {
            self.select("INBOX", false).await;
        }
    }

    async fn select(&mut self, mailbox: &'static str, read_only: bool) {
        self.model = Model::default();
        let name = MailboxName::from_wire(mailbox);
        let params = Default::default();
        let body = if read_only {
            CommandBody::Examine {
                mailbox: name,
                params,
            }
        } else {
            CommandBody::Select {
                mailbox: name,
                params,
            }
        };
        if self.run("SELECT", body, never).await.is_none() {
            self.selected = None;
            return;
        }
        self.selected = Some(mailbox);
        self.read_only = read_only;
        if self.model.exists() > 0 {
            // Learn every UID and flag: the baseline the rest is checked against.
            self.run(
                "UID FETCH",
                uid_fetch(all(), vec![FetchAttribute::Flags]),
                never,
            )
            .await;
        }
    }

    pub async fn noop(&mut self) {
        self.run("NOOP", CommandBody::Noop, never).await;
    }

    /// One random operation.
    pub async fn step(&mut self) {
        self.ensure_ready().await;
        if self.conn.is_none() || self.selected.is_none() {
            return;
        }
        match self.rng.below(100) {
            0..=14 => self.append().await,
            15..=34 => self.store().await,
            35..=41 => self.expunge().await,
            42..=47 => self.copy_or_move(false).await,
            48..=53 => self.copy_or_move(true).await,
            54..=67 => self.fetch_meta().await,
            68..=75 => self.fetch_body().await,
            76..=81 => self.search().await,
            82..=85 => {
                let other = self.other_mailbox();
                let body = CommandBody::Status {
                    mailbox: MailboxName::from_wire(other),
                    items: vec![
                        StatusItem::Messages,
                        StatusItem::UidNext,
                        StatusItem::Unseen,
                    ],
                };
                self.run("STATUS", body, never).await;
            }
            86..=88 => {
                let body = CommandBody::List(roost_proto::ListCommand {
                    selection: Vec::new(),
                    reference: MailboxName::from_wire(""),
                    patterns: vec![b"*".to_vec()],
                    returns: Vec::new(),
                });
                self.run("LIST", body, never).await;
            }
            89..=93 => self.idle().await,
            94..=97 => {
                let target = *self.rng.pick(&MAILBOXES);
                let read_only = self.rng.below(4) == 0;
                self.select(target, read_only).await;
            }
            _ => self.logout().await,
        }
    }

    fn other_mailbox(&self) -> &'static str {
        if self.selected == Some("INBOX") {
            "Archive"
        } else {
            "INBOX"
        }
    }

    /// A few UIDs the session knows.
    fn some_uids(&mut self) -> Vec<u32> {
        let known = self.model.known_uids();
        if known.is_empty() {
            return Vec::new();
        }
        let n = 1 + self.rng.below(4) as usize;
        let mut picked: Vec<u32> = (0..n).map(|_| *self.rng.pick(&known)).collect();
        picked.sort_unstable();
        picked.dedup();
        picked
    }

    fn random_flags(&mut self) -> Vec<Flag> {
        let mut flags = Vec::new();
        if self.rng.below(2) == 0 {
            let system = [Flag::Seen, Flag::Flagged, Flag::Answered, Flag::Draft];
            flags.push(self.rng.pick(&system).clone());
        }
        if self.rng.below(2) == 0 {
            let k = *self.rng.pick(&KEYWORDS);
            flags.push(Flag::parse(k).expect("keywords are atoms"));
        }
        if flags.is_empty() {
            flags.push(Flag::Seen);
        }
        flags
    }

    async fn append(&mut self) {
        self.appended += 1;
        let data = sample::message(self.seed, self.appended, Size::Small);
        let flags = self.random_flags();
        let mailbox = if self.rng.below(4) == 0 {
            self.other_mailbox()
        } else {
            self.selected.unwrap_or("INBOX")
        };
        self.note(format!("APPEND {mailbox}"));
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let result = append(conn, mailbox, vec![(flags, data)]).await;
        self.findings.op("APPEND");
        match result {
            Ok(reply) => {
                self.apply_all(&reply.untagged);
                if appended_uids(&reply).is_empty() {
                    self.report(Violation {
                        kind: "append-without-appenduid",
                        detail: "APPEND OK without [APPENDUID]".into(),
                    });
                }
            }
            Err(e) => self
                .findings
                .error("APPEND", &format!("{}: {e}", self.name), &self.history),
        }
    }

    async fn store(&mut self) {
        let uids = self.some_uids();
        if uids.is_empty() || self.read_only {
            return;
        }
        let flags = self.random_flags();
        let action = if self.rng.below(3) == 0 {
            StoreAction::Remove
        } else {
            StoreAction::Add
        };
        let silent = self.rng.below(3) == 0;
        let body = CommandBody::Store {
            uid: true,
            set: SequenceSet::from_numbers(uids.iter().copied()),
            unchanged_since: None,
            action,
            silent,
            flags: flags.clone(),
        };
        if self.run("STORE", body, never).await.is_none() {
            return;
        }
        // Non-silent answers were checked as they came (the model keeps their flags); a
        // concurrent STORE by another session may already show in them, so what this one
        // stored is checked at the next checkpoint instead.
        if silent {
            self.model
                .stored_silently(&uids, action, &flag_names(&flags));
        }
    }

    async fn expunge(&mut self) {
        let uids = self.some_uids();
        if uids.is_empty() || self.read_only {
            return;
        }
        let set = SequenceSet::from_numbers(uids.iter().copied());
        if self
            .run("STORE", mark_deleted(set.clone()), never)
            .await
            .is_none()
        {
            return;
        }
        let deleted = flag_names(&[Flag::Deleted]);
        self.model
            .stored_silently(&uids, StoreAction::Add, &deleted);
        self.run("UID EXPUNGE", CommandBody::UidExpunge { uids: set }, never)
            .await;
    }

    async fn copy_or_move(&mut self, is_move: bool) {
        let uids = self.some_uids();
        if uids.is_empty() || (is_move && self.read_only) {
            return;
        }
        let set = SequenceSet::from_numbers(uids.iter().copied());
        let mailbox = MailboxName::from_wire(self.other_mailbox());
        let (op, body) = if is_move {
            (
                "MOVE",
                CommandBody::Move {
                    uid: true,
                    set,
                    mailbox,
                },
            )
        } else {
            (
                "COPY",
                CommandBody::Copy {
                    uid: true,
                    set,
                    mailbox,
                },
            )
        };
        self.run(op, body, never).await;
    }

    async fn fetch_meta(&mut self) {
        let exists = self.model.exists() as u32;
        if exists == 0 {
            return;
        }
        let lo = 1 + self.rng.below(u64::from(exists)) as u32;
        let hi = (lo + self.rng.below(20) as u32).min(exists);
        let set = SequenceSet::Ranges(vec![SeqRange {
            start: SeqBound::Value(lo),
            end: SeqBound::Value(hi),
        }]);
        let items = vec![
            FetchAttribute::Uid,
            FetchAttribute::Flags,
            FetchAttribute::Envelope,
            FetchAttribute::BodyStructure,
            FetchAttribute::Rfc822Size,
        ];
        let body = CommandBody::Fetch {
            uid: false,
            set,
            items: FetchItems::List(items),
            modifiers: FetchModifiers::default(),
        };
        self.run("FETCH", body, never).await;
    }

    async fn fetch_body(&mut self) {
        let uids = self.some_uids();
        if uids.is_empty() {
            return;
        }
        let items = vec![FetchAttribute::BodySection {
            peek: true,
            section: Default::default(),
            partial: None,
        }];
        let set = SequenceSet::from_numbers(uids.iter().copied());
        let Some(reply) = self
            .run("UID FETCH BODY", uid_fetch(set, items), never)
            .await
        else {
            return;
        };
        let mut answered = 0;
        for (_, items) in reply.fetches() {
            for v in items {
                if let FetchValue::BodySection { data: Some(d), .. } = v {
                    answered += 1;
                    if let Err(e) = sample::verify(d) {
                        self.report(Violation {
                            kind: "body-digest",
                            detail: format!("BODY[] does not match its digest: {e}"),
                        });
                    }
                }
            }
        }
        // A message the session was not told is gone must be answered, unless the server
        // says some were expunged meanwhile (RFC 9051 section 7.1, EXPUNGEISSUED).
        let expunge_issued = matches!(reply.code, Some(Code::ExpungeIssued));
        let still_known = uids
            .iter()
            .filter(|u| self.model.known_uids().contains(u))
            .count();
        if answered < still_known && !expunge_issued {
            self.report(Violation {
                kind: "message-unreachable",
                detail: format!(
                    "UID FETCH of {uids:?} answered {answered} of {still_known} known messages"
                ),
            });
        }
    }

    async fn search(&mut self) {
        let key = match self.rng.below(3) {
            0 => SearchKey::All,
            1 => SearchKey::Unseen,
            _ => {
                SearchKey::Keyword(roost_proto::Atom::new(*self.rng.pick(&KEYWORDS)).expect("atom"))
            }
        };
        let uid = self.rng.below(2) == 0;
        let body = CommandBody::Search(SearchCommand {
            uid,
            charset: None,
            criteria: vec![key],
            returns: None,
        });
        let Some(reply) = self.run("SEARCH", body, never).await else {
            return;
        };
        if uid {
            return;
        }
        let exists = self.model.exists() as u32;
        for r in &reply.untagged {
            if let Response::Data(Data::Search { ids, .. }) = r {
                if let Some(n) = ids.iter().find(|&&n| n > exists) {
                    self.report(Violation {
                        kind: "search-beyond-exists",
                        detail: format!("SEARCH returned {n} with {exists} messages"),
                    });
                }
            }
        }
    }

    async fn idle(&mut self) {
        self.note("IDLE".into());
        self.findings.op("IDLE");
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Err(e) = conn.idle_start().await {
            self.findings
                .error("IDLE", &format!("{}: {e}", self.name), &self.history);
            self.conn = None;
            return;
        }
        let until = tokio::time::Instant::now() + Duration::from_millis(100 + self.rng.below(300));
        let mut seen = Vec::new();
        let conn = self.conn.as_mut().expect("connected");
        while let Some(wait) = until.checked_duration_since(tokio::time::Instant::now()) {
            match conn.idle_next(wait).await {
                Ok(Some(r)) => seen.push(r),
                Ok(None) => break,
                Err(e) => {
                    let text = format!("{}: {e}", self.name);
                    self.findings.error("IDLE", &text, &self.history);
                    self.conn = None;
                    return;
                }
            }
        }
        let done = conn.idle_done().await;
        self.apply_all(&seen);
        match done {
            Ok(reply) => self.apply_all(&reply.untagged),
            Err(e) => {
                self.findings
                    .error("IDLE", &format!("{}: {e}", self.name), &self.history);
                self.conn = None;
            }
        }
    }

    async fn logout(&mut self) {
        let Some(reply) = self.run("LOGOUT", CommandBody::Logout, never).await else {
            self.conn = None;
            return;
        };
        // Nothing but the tagged OK may follow `* BYE` (RFC 9051 section 6.1.3).
        if let Some(i) = reply
            .untagged
            .iter()
            .position(|r| matches!(r, Response::Status(Status::Bye { .. })))
        {
            if i + 1 != reply.untagged.len() {
                self.report(Violation {
                    kind: "data-after-bye",
                    detail: format!("{:?}", &reply.untagged[i + 1..]),
                });
            }
        }
        self.conn = None;
        self.selected = None;
    }
}

fn never(_: &ImapError) -> bool {
    false
}

fn all() -> SequenceSet {
    SequenceSet::Ranges(vec![SeqRange {
        start: SeqBound::Value(1),
        end: SeqBound::Star,
    }])
}

fn uid_fetch(set: SequenceSet, items: Vec<FetchAttribute>) -> CommandBody {
    CommandBody::Fetch {
        uid: true,
        set,
        items: FetchItems::List(items),
        modifiers: FetchModifiers::default(),
    }
}

/// A command for the history, cut short (APPEND carries a whole message).
fn short(body: &CommandBody) -> String {
    format!("{body:?}").chars().take(600).collect()
}
