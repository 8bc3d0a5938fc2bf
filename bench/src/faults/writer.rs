//! A writer: one client on one node, on one account, doing APPEND (70 %), STORE of
//! [`STORED_FLAG`] (15 %) and STORE \Deleted + UID EXPUNGE (15 %) on messages it appended
//! itself, until told to stop; every answer goes into the [`Ledger`], every error into the
//! round's tally. It reconnects (to its own node) after any broken connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use roost_proto::{Code, CommandBody, Flag, Response, SequenceSet, Status, StoreAction};

use super::ledger::{Answer, Expunge, Ledger, STORED_FLAG};
use crate::client::{Conn, ImapError, Reply};
use crate::sample::Rng;
use crate::workload::{append, appended_uids, mark_deleted};

pub struct WriterSpec {
    /// Unique in the run: part of every marker.
    pub id: usize,
    pub addr: String,
    pub user: String,
    pub password: String,
    /// Index of the account in the ledger.
    pub account: usize,
    pub timeout: Duration,
}

/// The message a marker stands for; the checker rebuilds it to compare bytes.
pub fn message(marker: &str, seq: u64) -> Vec<u8> {
    let mut m = format!(
        "From: writer <faults@roost.test>\r\nTo: <user@roost.test>\r\n\
         Subject: fault suite {marker}\r\nMessage-ID: <{marker}@faults.roost.test>\r\n\
         X-Fault-Id: {marker}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
    );
    for line in 0..(seq % 23 + 1) {
        m.push_str(&format!("line {line} of {marker}: the quick brown fox\r\n"));
    }
    m.into_bytes()
}

/// The marker of a stored message, from its header.
pub fn marker_of(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .find_map(|l| l.strip_prefix("X-Fault-Id: "))
        .map(|m| m.trim().to_owned())
}

struct Own {
    marker: String,
    uid: u32,
}

pub struct Writer {
    spec: WriterSpec,
    ledger: Arc<Mutex<Ledger>>,
    conn: Option<Conn>,
    selected: bool,
    seq: u64,
    rng: Rng,
    /// Acknowledged, not (being) expunged.
    own: Vec<Own>,
}

impl Writer {
    pub fn new(spec: WriterSpec, ledger: Arc<Mutex<Ledger>>, seed: u64) -> Writer {
        Writer {
            rng: Rng::new(seed ^ (spec.id as u64).wrapping_mul(0x9E37_79B9)),
            spec,
            ledger,
            conn: None,
            selected: false,
            seq: 0,
            own: Vec::new(),
        }
    }

    /// Works until `stop` is set; the writer is kept for the next round (its sequence
    /// numbers and messages go on).
    pub async fn run(mut self, stop: Arc<AtomicBool>) -> Writer {
        while !stop.load(Ordering::Relaxed) {
            if !self.ready().await {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            match self.rng.below(100) {
                0..=69 => self.append().await,
                70..=84 => self.store().await,
                _ => self.expunge().await,
            }
        }
        if let Some(mut c) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), c.run(CommandBody::Logout)).await;
        }
        self
    }

    /// Connected, logged in and INBOX selected (for STORE and EXPUNGE).
    async fn ready(&mut self) -> bool {
        if self.conn.is_none() {
            match Conn::connect(&self.spec.addr, self.spec.timeout).await {
                Ok(mut c) => match c.login(&self.spec.user, &self.spec.password).await {
                    Ok(_) => self.conn = Some(c),
                    Err(e) => {
                        self.error("LOGIN", &e);
                        return false;
                    }
                },
                Err(e) => {
                    self.error("connect", &e);
                    return false;
                }
            }
            self.selected = false;
        }
        if !self.selected {
            let conn = self.conn.as_mut().expect("connected above");
            match conn.select("INBOX").await {
                Ok(reply) => {
                    self.selected = true;
                    self.saw(&reply);
                    if let Some(v) = reply.find_code(|c| match c {
                        Code::UidValidity(v) => Some(*v),
                        _ => None,
                    }) {
                        let mut l = self.ledger.lock().expect("ledger");
                        let known = l.accounts[self.spec.account].uid_validity;
                        if known.is_some_and(|k| k != v) {
                            l.violations.push(format!(
                                "{}: SELECT INBOX shows UIDVALIDITY {v}, before {known:?}",
                                self.spec.user
                            ));
                        }
                    }
                }
                Err(e) => {
                    self.failed("SELECT", &e);
                    return false;
                }
            }
        }
        true
    }

    fn error(&self, op: &str, e: &ImapError) {
        self.ledger.lock().expect("ledger").round_errors.add(op, e);
    }

    /// Counts the error and drops the connection when it broke.
    fn failed(&mut self, op: &str, e: &ImapError) {
        self.error(op, e);
        match e {
            ImapError::No(_) => {}
            ImapError::Bad(_) => self.selected = false,
            _ => self.conn = None,
        }
    }

    /// Notes a `[CLOSED]` (the mailbox moved): SELECT again before the next STORE.
    fn saw(&mut self, reply: &Reply) {
        let closed = reply.untagged.iter().any(|r| {
            matches!(
                r,
                Response::Status(Status::Untagged {
                    code: Some(Code::Closed),
                    ..
                })
            )
        });
        if closed {
            self.selected = false;
        }
    }

    async fn append(&mut self) {
        self.seq += 1;
        let marker = format!("w{}-{}", self.spec.id, self.seq);
        let data = Bytes::from(message(&marker, self.seq));
        let conn = self.conn.as_mut().expect("ready");
        let sent = Instant::now();
        let result = append(conn, "INBOX", vec![(Vec::new(), data)]).await;
        let account = self.spec.account;
        match result {
            Ok(reply) => {
                self.saw(&reply);
                let validity = reply.find_code(|c| match c {
                    Code::AppendUid { uid_validity, .. } => Some(*uid_validity),
                    _ => None,
                });
                let uids = appended_uids(&reply);
                let mut l = self.ledger.lock().expect("ledger");
                match (validity, uids.as_slice()) {
                    (Some(v), [uid]) => {
                        l.acked(account, &marker, self.seq, *uid, v);
                        l.accounts[account].acks.push((sent, Instant::now()));
                        self.own.push(Own { marker, uid: *uid });
                    }
                    _ => {
                        l.violations.push(format!(
                            "{}: APPEND of {marker} OK without one APPENDUID: {:?}",
                            self.spec.user, reply.code
                        ));
                        l.not_acked(account, &marker, self.seq, Answer::Unknown);
                    }
                }
            }
            Err(e) => {
                let answer = match &e {
                    // A NO that says the outcome is not known (the server's retry window
                    // ended) promises nothing either way.
                    ImapError::No(t) if t.contains("is not known") => Answer::Unknown,
                    ImapError::No(t) => Answer::Refused(t.clone()),
                    _ => Answer::Unknown,
                };
                self.ledger
                    .lock()
                    .expect("ledger")
                    .not_acked(account, &marker, self.seq, answer);
                self.failed("APPEND", &e);
            }
        }
    }

    fn pick_own(&mut self) -> Option<usize> {
        (!self.own.is_empty()).then(|| self.rng.below(self.own.len() as u64) as usize)
    }

    async fn store(&mut self) {
        let Some(i) = self.pick_own() else { return };
        let body = CommandBody::Store {
            uid: true,
            set: SequenceSet::from_numbers([self.own[i].uid]),
            unchanged_since: None,
            action: StoreAction::Add,
            silent: true,
            flags: vec![Flag::parse(STORED_FLAG).expect("a keyword")],
        };
        let conn = self.conn.as_mut().expect("ready");
        match conn.run(body).await {
            Ok(reply) => {
                self.saw(&reply);
                self.ledger
                    .lock()
                    .expect("ledger")
                    .flagged(self.spec.account, &self.own[i].marker);
            }
            Err(e) => self.failed("STORE", &e),
        }
    }

    async fn expunge(&mut self) {
        let Some(i) = self.pick_own() else { return };
        let set = SequenceSet::from_numbers([self.own[i].uid]);
        let conn = self.conn.as_mut().expect("ready");
        if let Err(e) = conn.run(mark_deleted(set.clone())).await {
            self.failed("STORE \\Deleted", &e);
            return;
        }
        // From here on the message may go: it is no longer picked.
        let own = self.own.swap_remove(i);
        let conn = self.conn.as_mut().expect("ready");
        let how = match conn.run(CommandBody::UidExpunge { uids: set }).await {
            Ok(reply) => {
                self.saw(&reply);
                Expunge::Acked
            }
            Err(e) => {
                self.failed("UID EXPUNGE", &e);
                Expunge::Maybe
            }
        };
        self.ledger
            .lock()
            .expect("ledger")
            .expunged(self.spec.account, &own.marker, how);
    }
}
