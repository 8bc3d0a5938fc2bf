//! What the writers were told: every APPEND's answer (acknowledged with its UID, refused, or
//! unknown because the connection broke), every acknowledged STORE and EXPUNGE, and the
//! client-visible errors of the current round. The checker compares the mailboxes with it.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::client::ImapError;

/// The flag every acknowledged STORE adds; the checker expects it afterwards.
pub const STORED_FLAG: &str = "$Faulted";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expunge {
    No,
    /// `UID EXPUNGE` answered OK: the message must be gone.
    Acked,
    /// Asked, answer unknown or NO: either way is right.
    Maybe,
}

#[derive(Debug)]
pub enum Answer {
    Acked {
        uid: u32,
    },
    /// Answered NO: nothing may be stored (issue 19 finding 5).
    Refused(String),
    /// The connection broke or timed out before the answer: either way is right.
    Unknown,
}

#[derive(Debug)]
pub struct Sent {
    pub seq: u64,
    pub answer: Answer,
    pub flagged: bool,
    pub expunge: Expunge,
}

/// One account's messages, by their marker (the `X-Fault-Id` header).
#[derive(Default)]
pub struct AccountLedger {
    pub sent: HashMap<String, Sent>,
    pub by_uid: HashMap<u32, String>,
    pub uid_validity: Option<u32>,
    /// (sent, acknowledged) of every APPEND acknowledged this round.
    pub acks: Vec<(Instant, Instant)>,
    /// The highest UID whose body the checker has compared in full.
    pub checked_upto: u32,
}

/// Client-visible errors of one round, by kind.
#[derive(Default, Clone)]
pub struct ErrorTally {
    pub by_kind: BTreeMap<String, u64>,
    pub serverbug: u64,
    pub serverbug_examples: Vec<String>,
}

impl ErrorTally {
    pub fn add(&mut self, op: &str, e: &ImapError) {
        let text = e.to_string();
        if text.contains("SERVERBUG") {
            self.serverbug += 1;
            if self.serverbug_examples.len() < 5 {
                self.serverbug_examples.push(format!("{op}: {text}"));
            }
        }
        *self.by_kind.entry(classify(op, e)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &ErrorTally) {
        for (k, v) in &other.by_kind {
            *self.by_kind.entry(k.clone()).or_default() += v;
        }
        self.serverbug += other.serverbug;
        for e in &other.serverbug_examples {
            if self.serverbug_examples.len() < 5 {
                self.serverbug_examples.push(e.clone());
            }
        }
    }
}

/// The kind of an error as a client sees it: the answer (NO/BAD/BYE with its text, numbers
/// left out so that like errors add up), a broken connection, or a timeout.
fn classify(op: &str, e: &ImapError) -> String {
    let text = |t: &str| -> String {
        let t: String = t
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        t.chars().take(70).collect()
    };
    match e {
        ImapError::No(t) => format!("{op} NO {}", text(t)),
        ImapError::Bad(t) => format!("{op} BAD {}", text(t)),
        ImapError::Bye(t) => format!("{op} BYE {}", text(t)),
        ImapError::Io(t) if t.contains("reset") => format!("{op} connection reset"),
        ImapError::Io(t) if t.contains("refused") => format!("{op} connection refused"),
        ImapError::Io(t) => format!("{op} connection: {}", text(t)),
        ImapError::Timeout => format!("{op} timed out"),
        ImapError::Parse(t) => format!("{op} unparsable: {}", text(t)),
        ImapError::Unexpected(t) => format!("{op} wrong answer: {}", text(t)),
    }
}

#[derive(Default)]
pub struct Ledger {
    pub accounts: Vec<AccountLedger>,
    pub round_errors: ErrorTally,
    /// Violations seen while writing (a UID acknowledged twice, a changed UIDVALIDITY).
    pub violations: Vec<String>,
    pub duplicate_uids: u64,
    /// Findings the checker has reported already (each is reported once).
    pub reported: std::collections::HashSet<String>,
}

impl Ledger {
    pub fn new(accounts: usize) -> Ledger {
        Ledger {
            accounts: (0..accounts).map(|_| AccountLedger::default()).collect(),
            ..Ledger::default()
        }
    }

    pub fn acked(&mut self, account: usize, marker: &str, seq: u64, uid: u32, validity: u32) {
        let a = &mut self.accounts[account];
        match a.uid_validity {
            None => a.uid_validity = Some(validity),
            Some(v) if v != validity => {
                self.violations.push(format!(
                    "user{}: APPEND of {marker} acknowledged with UIDVALIDITY {validity}, \
                     before {v}",
                    account + 1
                ));
            }
            Some(_) => {}
        }
        if let Some(other) = a.by_uid.insert(uid, marker.to_owned()) {
            self.duplicate_uids += 1;
            self.violations.push(format!(
                "user{}: UID {uid} acknowledged for {other} and again for {marker}",
                account + 1
            ));
        }
        a.sent.insert(
            marker.to_owned(),
            Sent {
                seq,
                answer: Answer::Acked { uid },
                flagged: false,
                expunge: Expunge::No,
            },
        );
    }

    pub fn not_acked(&mut self, account: usize, marker: &str, seq: u64, answer: Answer) {
        self.accounts[account].sent.insert(
            marker.to_owned(),
            Sent {
                seq,
                answer,
                flagged: false,
                expunge: Expunge::No,
            },
        );
    }

    pub fn flagged(&mut self, account: usize, marker: &str) {
        if let Some(s) = self.accounts[account].sent.get_mut(marker) {
            s.flagged = true;
        }
    }

    pub fn expunged(&mut self, account: usize, marker: &str, how: Expunge) {
        if let Some(s) = self.accounts[account].sent.get_mut(marker) {
            s.expunge = how;
        }
    }
}
