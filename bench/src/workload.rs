//! The load generator proper: N client tasks over M users, each running sessions (connect,
//! LOGIN, SELECT, a random sequence of operations drawn from a [`Mix`], LOGOUT) until the run
//! ends, and the preparation step that fills mailboxes with sample mail.
//!
//! Every answer is checked: a FETCH must return every message asked for with the items asked
//! for, a body must match its digest, a STORE must report the flag change, an EXPUNGE must
//! expunge exactly the message. A wrong answer is recorded as an error, never as throughput.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use roost_proto::{
    AppendMessage, Code, CommandBody, FetchAttribute, FetchItems, FetchModifiers, FetchValue, Flag,
    MailboxName, SeqBound, SeqRange, SequenceSet, StoreAction,
};

use crate::client::{Conn, ImapError, Reply};
use crate::sample::{self, Corpus, Rng, Size};
use crate::stats::Recorder;
use crate::transport::Connector;

/// Where to connect and how to log in.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: String,
    /// User name pattern; `{i}` is replaced by the user number (1-based).
    pub user_pattern: String,
    /// Password pattern; `{i}` is replaced likewise.
    pub password: String,
    /// How long any one command may take before it counts as a timeout.
    pub timeout: Duration,
}

impl Target {
    pub fn user(&self, i: usize) -> String {
        self.user_pattern.replace("{i}", &i.to_string())
    }

    pub fn password(&self, i: usize) -> String {
        self.password.replace("{i}", &i.to_string())
    }

    /// Connects and logs in as user `i`, recording both steps when a recorder is given.
    ///
    /// # Errors
    /// When either step fails.
    pub async fn login(&self, i: usize, rec: Option<&mut Recorder>) -> Result<Conn, ImapError> {
        self.login_via(&Connector::default(), i, rec).await
    }

    /// As [`Target::login`], connecting through `connector` (TLS, source addresses).
    ///
    /// # Errors
    /// As [`Target::login`].
    pub async fn login_via(
        &self,
        connector: &Connector,
        i: usize,
        rec: Option<&mut Recorder>,
    ) -> Result<Conn, ImapError> {
        let start = Instant::now();
        let conn = Conn::connect_via(connector, &self.addr, self.timeout).await;
        let mut rec = rec;
        if let Some(r) = rec.as_deref_mut() {
            r.outcome("CONNECT", start, &conn);
        }
        let mut conn = conn?;
        let start = Instant::now();
        let login = conn.login(&self.user(i), &self.password(i)).await;
        if let Some(r) = rec {
            r.outcome("LOGIN", start, &login);
        }
        login?;
        conn.ensure_caps().await?;
        Ok(conn)
    }
}

/// One step a client can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `FETCH` of the flags of the newest 50 messages (a client resynchronising its view).
    FetchFlags,
    /// `FETCH (UID ENVELOPE)` of 20 messages somewhere in the mailbox (a message list).
    FetchEnvelope,
    /// `FETCH (UID RFC822.SIZE BODY.PEEK[])` of one message (reading it).
    FetchBody,
    /// `STORE +FLAGS` / `-FLAGS` of `\Seen` or `\Flagged` on one message.
    Store,
    /// `STORE +FLAGS` / `-FLAGS` of a keyword (`$Label1`, `$Work`: Thunderbird's tags).
    StoreKeyword,
    /// `LIST "" *` (a client refreshing its folder list).
    List,
    /// `STATUS INBOX (MESSAGES UNSEEN UIDNEXT)` (a client polling a folder's counts).
    Status,
    /// `SELECT INBOX` again (a client switching folders and back).
    Select,
    /// `APPEND` of one sample message (saving a draft, a sent copy, a delivery).
    Append,
    /// `UID STORE +FLAGS.SILENT (\Deleted)` and `UID EXPUNGE` of a message this client appended.
    Expunge,
    /// `IDLE`, a short wait, `DONE`.
    Idle,
    Noop,
    /// `LOGOUT`; the client then starts a new session.
    Logout,
}

impl Op {
    const ALL: [(Op, &'static str); 13] = [
        (Op::FetchFlags, "fetch_flags"),
        (Op::FetchEnvelope, "fetch_envelope"),
        (Op::FetchBody, "fetch_body"),
        (Op::Store, "store"),
        (Op::StoreKeyword, "store_keyword"),
        (Op::List, "list"),
        (Op::Status, "status"),
        (Op::Select, "select"),
        (Op::Append, "append"),
        (Op::Expunge, "expunge"),
        (Op::Idle, "idle"),
        (Op::Noop, "noop"),
        (Op::Logout, "logout"),
    ];

    fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().find(|(_, n)| *n == name).map(|(op, _)| *op)
    }

    fn name(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("?", |(_, n)| n)
    }
}

/// Weighted operations, and whether sessions select INBOX.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    pub weights: Vec<(Op, u32)>,
    pub select: bool,
}

impl Mix {
    /// A named profile or an explicit list:
    /// - `mixed`: a mail client's day (reads dominate, some writes, sessions of ~25 commands);
    /// - `append`: APPEND only, without selecting (delivery / upload throughput);
    /// - `read`: FETCH and NOOP only;
    /// - `login`: LOGIN then LOGOUT, without selecting (login throughput: password checks);
    /// - `stay`: clients that stay logged in, as desktop and mobile clients do: LIST, STATUS,
    ///   SELECT, FETCH, STORE with keywords, EXPUNGE, APPEND, never LOGOUT;
    /// - `op=weight,...` with the names `fetch_flags fetch_envelope fetch_body store append
    ///   expunge idle noop logout`.
    ///
    /// # Errors
    /// An unknown profile or operation, or a list whose weights are all zero.
    pub fn parse(spec: &str) -> anyhow::Result<Mix> {
        use Op::*;
        let weights = match spec {
            "mixed" => vec![
                (FetchFlags, 20),
                (FetchEnvelope, 15),
                (FetchBody, 20),
                (Store, 15),
                (Append, 8),
                (Expunge, 6),
                (Idle, 4),
                (Noop, 8),
                (Logout, 4),
            ],
            "append" => {
                return Ok(Mix {
                    weights: vec![(Append, 1)],
                    select: false,
                })
            }
            "login" => {
                return Ok(Mix {
                    weights: vec![(Logout, 1)],
                    select: false,
                })
            }
            "stay" => vec![
                (FetchFlags, 15),
                (FetchEnvelope, 12),
                (FetchBody, 15),
                (Store, 10),
                (StoreKeyword, 8),
                (Append, 8),
                (Expunge, 5),
                (List, 8),
                (Status, 8),
                (Select, 5),
                (Noop, 6),
            ],
            "read" => vec![
                (FetchFlags, 30),
                (FetchEnvelope, 30),
                (FetchBody, 30),
                (Noop, 10),
            ],
            list => list
                .split(',')
                .map(|item| {
                    let (name, w) = item
                        .split_once('=')
                        .ok_or_else(|| anyhow!("expected op=weight, got {item:?}"))?;
                    let op = Op::from_name(name.trim())
                        .ok_or_else(|| anyhow!("unknown operation {name:?}"))?;
                    Ok((op, w.trim().parse().context("weight")?))
                })
                .collect::<anyhow::Result<_>>()?,
        };
        if weights.iter().all(|(_, w)| *w == 0) {
            bail!("the mix {spec:?} has no operation with a weight");
        }
        Ok(Mix {
            weights,
            select: true,
        })
    }

    pub fn pick(&self, rng: &mut Rng) -> Op {
        let total: u64 = self.weights.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = rng.below(total);
        for (op, w) in &self.weights {
            if x < u64::from(*w) {
                return *op;
            }
            x -= u64::from(*w);
        }
        unreachable!("x < total")
    }

    pub fn describe(&self) -> String {
        self.weights
            .iter()
            .map(|(op, w)| format!("{}={w}", op.name()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Settings of a load run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub target: Target,
    pub users: usize,
    pub clients: usize,
    pub duration: Duration,
    pub mix: Mix,
    pub seed: u64,
    /// How long an `Idle` operation waits before `DONE`.
    pub idle_hold: Duration,
    pub corpus: Arc<Corpus>,
}

/// Runs the clients for the configured duration; returns what they measured and how long the
/// run took.
pub async fn run(cfg: Arc<RunConfig>) -> (Recorder, Duration) {
    let start = Instant::now();
    let deadline = start + cfg.duration;
    let tasks: Vec<_> = (0..cfg.clients)
        .map(|c| {
            let cfg = cfg.clone();
            tokio::spawn(async move { client(&cfg, c, deadline).await })
        })
        .collect();
    let mut total = Recorder::default();
    for t in tasks {
        if let Ok(rec) = t.await {
            total.merge(&rec);
        }
    }
    (total, start.elapsed())
}

/// What one client keeps between operations and sessions.
struct ClientState {
    rng: Rng,
    /// UIDs of messages this client appended and may expunge again.
    own_uids: Vec<u32>,
}

async fn client(cfg: &RunConfig, c: usize, deadline: Instant) -> Recorder {
    let mut rec = Recorder::default();
    let mut st = ClientState {
        rng: Rng::new(cfg.seed ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9)),
        own_uids: Vec::new(),
    };
    let user = c % cfg.users + 1;
    while Instant::now() < deadline {
        let ended =
            tokio::time::timeout_at(deadline.into(), session(cfg, user, &mut st, &mut rec)).await;
        if let Ok(Err(_)) = ended {
            // A broken session: do not spin on a server that refuses connections.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    rec
}

/// One session: log in, select, operate until LOGOUT is drawn. Returns an error when the
/// session broke (the error itself was recorded already).
async fn session(
    cfg: &RunConfig,
    user: usize,
    st: &mut ClientState,
    rec: &mut Recorder,
) -> Result<(), ImapError> {
    let mut conn = cfg.target.login(user, Some(rec)).await?;
    if cfg.mix.select {
        let start = Instant::now();
        let r = conn.select("INBOX").await;
        rec.outcome("SELECT", start, &r);
        r?;
    }
    loop {
        let op = cfg.mix.pick(&mut st.rng);
        match step(cfg, &mut conn, op, st, rec).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e @ (ImapError::Io(_) | ImapError::Bye(_) | ImapError::Timeout)) => return Err(e),
            Err(_) => {}
        }
    }
}

/// Times `f`, records its outcome under `name` and passes it on.
macro_rules! timed {
    ($rec:expr, $name:expr, $f:expr) => {{
        let start = Instant::now();
        let r = $f.await;
        $rec.outcome($name, start, &r);
        r
    }};
}

/// Runs one operation; `Ok(true)` when the session ended.
async fn step(
    cfg: &RunConfig,
    conn: &mut Conn,
    op: Op,
    st: &mut ClientState,
    rec: &mut Recorder,
) -> Result<bool, ImapError> {
    let exists = conn.exists;
    // Reading from an empty mailbox measures nothing: put something in it first.
    let op = match op {
        Op::FetchFlags | Op::FetchEnvelope | Op::FetchBody | Op::Store | Op::StoreKeyword
            if exists == 0 =>
        {
            Op::Append
        }
        Op::Expunge if st.own_uids.is_empty() => Op::Append,
        op => op,
    };
    match op {
        Op::FetchFlags => {
            let lo = exists.saturating_sub(49).max(1);
            timed!(
                rec,
                "FETCH FLAGS",
                fetch_checked(conn, lo, exists, &[FetchAttribute::Flags])
            )?;
        }
        Op::FetchEnvelope => {
            let hi = st.rng.range(1, u64::from(exists)) as u32;
            let lo = hi.saturating_sub(19).max(1);
            let items = [FetchAttribute::Uid, FetchAttribute::Envelope];
            timed!(rec, "FETCH ENVELOPE", fetch_checked(conn, lo, hi, &items))?;
        }
        Op::FetchBody => {
            let n = st.rng.range(1, u64::from(exists)) as u32;
            timed!(rec, "FETCH BODY", fetch_body(conn, n))?;
        }
        Op::Store => {
            let n = st.rng.range(1, u64::from(exists)) as u32;
            let flag = if st.rng.below(2) == 0 {
                Flag::Seen
            } else {
                Flag::Flagged
            };
            let add = st.rng.below(2) == 0;
            timed!(rec, "STORE", store_checked(conn, n, flag, add))?;
        }
        Op::StoreKeyword => {
            let n = st.rng.range(1, u64::from(exists)) as u32;
            let keyword = *st.rng.pick(&["$Label1", "$Work"]);
            let flag = Flag::parse(keyword).expect("keywords are atoms");
            let add = st.rng.below(2) == 0;
            timed!(rec, "STORE KEYWORD", store_checked(conn, n, flag, add))?;
        }
        Op::List => {
            let list = CommandBody::List(roost_proto::ListCommand {
                selection: Vec::new(),
                reference: MailboxName::from_wire(""),
                patterns: vec![b"*".to_vec()],
                returns: Vec::new(),
            });
            timed!(rec, "LIST", conn.run(list))?;
        }
        Op::Status => {
            let status = CommandBody::Status {
                mailbox: MailboxName::from_wire("INBOX"),
                items: vec![
                    roost_proto::StatusItem::Messages,
                    roost_proto::StatusItem::Unseen,
                    roost_proto::StatusItem::UidNext,
                ],
            };
            timed!(rec, "STATUS", conn.run(status))?;
        }
        Op::Select => {
            timed!(rec, "SELECT", conn.select("INBOX"))?;
        }
        Op::Append => {
            let data = st.rng.pick(&cfg.corpus.messages).clone();
            let flags = if st.rng.below(2) == 0 {
                vec![Flag::Seen]
            } else {
                vec![]
            };
            let reply = timed!(rec, "APPEND", append(conn, "INBOX", vec![(flags, data)]))?;
            if let Some(uid) = appended_uids(&reply).first() {
                st.own_uids.push(*uid);
                if st.own_uids.len() > 1000 {
                    st.own_uids.remove(0);
                }
            }
        }
        Op::Expunge => {
            let uid = st.own_uids.pop().expect("checked above");
            let set = range(uid, uid);
            timed!(rec, "UID STORE", conn.run(mark_deleted(set.clone())))?;
            if conn.has_cap("UIDPLUS") {
                timed!(
                    rec,
                    "UID EXPUNGE",
                    expect_expunged(conn.run(CommandBody::UidExpunge { uids: set }))
                )?;
            } else {
                timed!(
                    rec,
                    "EXPUNGE",
                    expect_expunged(conn.run(CommandBody::Expunge))
                )?;
            }
        }
        Op::Idle => {
            let start = Instant::now();
            let started = conn.idle_start().await;
            let to_continue = start.elapsed();
            if let Err(e) = started {
                rec.error("IDLE", &e);
                return Err(e);
            }
            let hold_end = Instant::now() + cfg.idle_hold;
            while let Some(left) = hold_end.checked_duration_since(Instant::now()) {
                if let Err(e) = conn.idle_next(left).await {
                    rec.error("IDLE", &e);
                    return Err(e);
                }
            }
            let done = Instant::now();
            let r = conn.idle_done().await;
            match &r {
                // What the client waits for: the `+` and the completion after DONE.
                Ok(_) => rec.ok("IDLE", to_continue + done.elapsed()),
                Err(e) => rec.error("IDLE", e),
            }
            r?;
        }
        Op::Noop => {
            timed!(rec, "NOOP", conn.run(CommandBody::Noop))?;
        }
        Op::Logout => {
            timed!(rec, "LOGOUT", conn.run(CommandBody::Logout))?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// `UID STORE set +FLAGS.SILENT (\Deleted)`: the first half of removing messages.
pub fn mark_deleted(set: SequenceSet) -> CommandBody {
    CommandBody::Store {
        uid: true,
        set,
        unchanged_since: None,
        action: StoreAction::Add,
        silent: true,
        flags: vec![Flag::Deleted],
    }
}

fn range(lo: u32, hi: u32) -> SequenceSet {
    SequenceSet::Ranges(vec![SeqRange {
        start: SeqBound::Value(lo),
        end: SeqBound::Value(hi),
    }])
}

/// `FETCH lo:hi (items)`: every message in the range must come back with every item.
async fn fetch_checked(
    conn: &mut Conn,
    lo: u32,
    hi: u32,
    items: &[FetchAttribute],
) -> Result<Reply, ImapError> {
    let reply = conn
        .run(CommandBody::Fetch {
            uid: false,
            set: range(lo, hi),
            items: FetchItems::List(items.to_vec()),
            modifiers: FetchModifiers::default(),
        })
        .await?;
    check_fetch(&reply, lo..=hi, items)?;
    Ok(reply)
}

/// Whether each of `seqs` got one FETCH response holding every requested item (several
/// responses for one message are merged, as RFC 9051 allows).
pub fn check_fetch(
    reply: &Reply,
    seqs: std::ops::RangeInclusive<u32>,
    items: &[FetchAttribute],
) -> Result<(), ImapError> {
    let want = (*seqs.end() - *seqs.start() + 1) as usize;
    let mut seen = vec![0u8; want];
    for (seq, values) in reply.fetches() {
        if !seqs.contains(&seq) {
            continue;
        }
        let slot = &mut seen[(seq - *seqs.start()) as usize];
        for (bit, item) in items.iter().enumerate() {
            if values.iter().any(|v| answers(item, v)) {
                *slot |= 1 << bit;
            }
        }
    }
    let full = (1u8 << items.len()) - 1;
    let complete = seen.iter().filter(|s| **s == full).count();
    if complete == want {
        Ok(())
    } else {
        Err(ImapError::Unexpected(format!(
            "FETCH {}:{} answered {complete} of {want} messages completely",
            seqs.start(),
            seqs.end()
        )))
    }
}

fn answers(item: &FetchAttribute, v: &FetchValue) -> bool {
    matches!(
        (item, v),
        (FetchAttribute::Flags, FetchValue::Flags(_))
            | (FetchAttribute::Uid, FetchValue::Uid(_))
            | (FetchAttribute::Envelope, FetchValue::Envelope(_))
            | (FetchAttribute::Rfc822Size, FetchValue::Rfc822Size(_))
    )
}

/// `FETCH n (UID RFC822.SIZE BODY.PEEK[])`: the body must have the announced size and match
/// its digest.
pub async fn fetch_body(conn: &mut Conn, n: u32) -> Result<Reply, ImapError> {
    let reply = conn
        .run(CommandBody::Fetch {
            uid: false,
            set: range(n, n),
            items: FetchItems::List(vec![
                FetchAttribute::Uid,
                FetchAttribute::Rfc822Size,
                FetchAttribute::BodySection {
                    peek: true,
                    section: Default::default(),
                    partial: None,
                },
            ]),
            modifiers: FetchModifiers::default(),
        })
        .await?;
    let values: Vec<&FetchValue> = reply
        .fetches()
        .filter(|(s, _)| *s == n)
        .flat_map(|(_, v)| v)
        .collect();
    let size = values.iter().find_map(|v| match v {
        FetchValue::Rfc822Size(s) => Some(*s),
        _ => None,
    });
    let body = values.iter().find_map(|v| match v {
        FetchValue::BodySection { data, .. } => data.as_ref(),
        _ => None,
    });
    match (size, body) {
        (Some(size), Some(body)) if size == body.len() as u64 => {
            sample::verify(body).map_err(ImapError::Unexpected)?;
            Ok(reply)
        }
        (size, body) => Err(ImapError::Unexpected(format!(
            "FETCH {n} BODY[]: size {size:?}, body of {:?} octets",
            body.map(Bytes::len)
        ))),
    }
}

/// `STORE n ±FLAGS (flag)`: an untagged FETCH, when sent, must show the flag set or cleared.
async fn store_checked(conn: &mut Conn, n: u32, flag: Flag, add: bool) -> Result<Reply, ImapError> {
    let reply = conn
        .run(CommandBody::Store {
            uid: false,
            set: range(n, n),
            unchanged_since: None,
            action: if add {
                StoreAction::Add
            } else {
                StoreAction::Remove
            },
            silent: false,
            flags: vec![flag.clone()],
        })
        .await?;
    let flags = reply
        .fetches()
        .filter(|(s, _)| *s == n)
        .flat_map(|(_, v)| v)
        .find_map(|v| match v {
            FetchValue::Flags(f) => Some(f),
            _ => None,
        });
    match flags {
        Some(f) if f.contains(&flag) == add => Ok(reply),
        // Some servers (Dovecot) send no FETCH when the flags did not change, which RFC 9051
        // section 6.4.6 allows; the answer cannot be checked then, but it is not wrong.
        None => Ok(reply),
        other => Err(ImapError::Unexpected(format!(
            "STORE {n} {}FLAGS {}: flags now {other:?}",
            if add { '+' } else { '-' },
            flag.as_text()
        ))),
    }
}

async fn expect_expunged(
    run: impl std::future::Future<Output = Result<Reply, ImapError>>,
) -> Result<Reply, ImapError> {
    let reply = run.await?;
    match reply.expunged() {
        1 => Ok(reply),
        n => Err(ImapError::Unexpected(format!(
            "{n} messages expunged, 1 expected"
        ))),
    }
}

/// `APPEND mailbox` of one or more messages (MULTIAPPEND when more than one).
///
/// # Errors
/// As [`Conn::run`].
pub async fn append(
    conn: &mut Conn,
    mailbox: &str,
    messages: Vec<(Vec<Flag>, Bytes)>,
) -> Result<Reply, ImapError> {
    conn.run(CommandBody::Append {
        mailbox: MailboxName::from_wire(mailbox),
        messages: messages
            .into_iter()
            .map(|(flags, data)| AppendMessage {
                flags,
                date: None,
                data,
                binary: false,
                utf8: false,
            })
            .collect(),
    })
    .await
}

/// The UIDs an `APPENDUID` code reports.
pub fn appended_uids(reply: &Reply) -> Vec<u32> {
    let Some(SequenceSet::Ranges(ranges)) = reply.find_code(|c| match c {
        Code::AppendUid { uids, .. } => Some(uids.clone()),
        _ => None,
    }) else {
        return Vec::new();
    };
    ranges
        .iter()
        .flat_map(|r| {
            let (lo, hi) = r.resolve(u32::MAX);
            lo..=hi
        })
        .collect()
}

/// Fills the INBOX of users `first..first+users` up to `messages` messages each, in
/// MULTIAPPEND batches of `batch` (falling back to one message per APPEND when the server
/// refuses the batch form). Users are filled `parallel` at a time.
///
/// # Errors
/// When a user cannot log in or an APPEND fails.
pub async fn prepare(
    target: &Target,
    first: usize,
    users: usize,
    messages: u32,
    batch: usize,
    size: Size,
    parallel: usize,
) -> anyhow::Result<Recorder> {
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = Vec::new();
    for user in first..first + users {
        let (target, sem) = (target.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            fill(&target, user, messages, batch, size).await
        }));
    }
    let mut total = Recorder::default();
    for t in tasks {
        total.merge(&t.await??);
    }
    Ok(total)
}

async fn fill(
    target: &Target,
    user: usize,
    messages: u32,
    mut batch: usize,
    size: Size,
) -> anyhow::Result<Recorder> {
    let mut rec = Recorder::default();
    let mut conn = target
        .login(user, None)
        .await
        .with_context(|| format!("log in as {}", target.user(user)))?;
    conn.timeout = conn.timeout.max(Duration::from_secs(300));
    conn.select("INBOX").await?;
    let mut have = conn.exists;
    let seed = user as u64;
    while have < messages {
        let n = batch.min((messages - have) as usize);
        let msgs: Vec<_> = (0..n as u64)
            .map(|k| (vec![], sample::message(seed, u64::from(have) + k, size)))
            .collect();
        let name = if n > 1 { "MULTIAPPEND" } else { "APPEND" };
        let start = Instant::now();
        match append(&mut conn, "INBOX", msgs).await {
            Ok(_) => rec.ok(name, start.elapsed()),
            Err(ImapError::Bad(_)) if n > 1 => {
                eprintln!(
                    "{}: MULTIAPPEND refused, appending one at a time",
                    target.user(user)
                );
                batch = 1;
                continue;
            }
            Err(e) => return Err(anyhow!("{}: APPEND: {e}", target.user(user))),
        }
        have += n as u32;
        if have % 10_000 < n as u32 {
            eprintln!("{}: {have} messages", target.user(user));
        }
    }
    let _ = conn.run(CommandBody::Logout).await;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_proto::{Data, Response};

    #[test]
    fn mixes_parse_and_pick_by_weight() {
        let mixed = Mix::parse("mixed").unwrap();
        assert!(mixed.select);
        let custom = Mix::parse("fetch_body=3, noop=1").unwrap();
        assert_eq!(custom.weights, vec![(Op::FetchBody, 3), (Op::Noop, 1)]);
        assert_eq!(Mix::parse(&custom.describe()).unwrap(), custom);
        assert!(Mix::parse("fly=1").is_err());
        assert!(Mix::parse("noop=0").is_err());
        let mut rng = Rng::new(1);
        let bodies = (0..4000)
            .filter(|_| custom.pick(&mut rng) == Op::FetchBody)
            .count();
        assert!((2800..3200).contains(&bodies), "{bodies}");
        assert!(!Mix::parse("append").unwrap().select);
        let login = Mix::parse("login").unwrap();
        assert_eq!(
            (login.weights, login.select),
            (vec![(Op::Logout, 1)], false)
        );
    }

    fn fetch(seq: u32, items: Vec<FetchValue>) -> Response {
        Response::Data(Data::Fetch { seq, items })
    }

    #[test]
    fn fetch_check_wants_every_message_and_item() {
        let items = [FetchAttribute::Uid, FetchAttribute::Flags];
        let mut reply = Reply {
            untagged: vec![
                fetch(1, vec![FetchValue::Uid(1), FetchValue::Flags(vec![])]),
                // Items of one message split over two responses still count.
                fetch(2, vec![FetchValue::Uid(2)]),
                fetch(2, vec![FetchValue::Flags(vec![Flag::Seen])]),
            ],
            code: None,
        };
        assert!(check_fetch(&reply, 1..=2, &items).is_ok());
        let err = check_fetch(&reply, 1..=3, &items).unwrap_err();
        assert!(
            matches!(err, ImapError::Unexpected(ref t) if t.contains("2 of 3")),
            "{err}"
        );
        reply.untagged.remove(0);
        assert!(check_fetch(&reply, 1..=2, &items).is_err());
    }

    #[test]
    fn appenduid_ranges_expand() {
        let reply = Reply {
            untagged: vec![],
            code: Some(Code::AppendUid {
                uid_validity: 1,
                uids: SequenceSet::Ranges(vec![
                    SeqRange {
                        start: SeqBound::Value(4),
                        end: SeqBound::Value(6),
                    },
                    SeqRange::single(SeqBound::Value(9)),
                ]),
            }),
        };
        assert_eq!(appended_uids(&reply), vec![4, 5, 6, 9]);
        assert!(appended_uids(&Reply::default()).is_empty());
    }
}
