//! `roost-bench check`: many clients on few accounts doing random work, each checking every
//! response against what it was told ([`model`]), and at checkpoints every session of an
//! account compared with a fresh EXAMINE. Works against any IMAP server; a run with any error
//! exits non-zero.

mod model;
mod session;
mod spawn;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use roost_proto::{CommandBody, FetchAttribute, FetchItems, FetchModifiers, MailboxName};
use roost_proto::{SeqBound, SeqRange, SequenceSet};
use tokio::sync::Barrier;

use self::model::{Flags, Model};
use self::session::{Session, MAILBOXES};
use crate::client::ImapError;
use crate::sample::Size;
use crate::workload::{prepare, Target};

pub use self::spawn::{add_user, SpawnedRoost};

pub struct CheckConfig {
    pub target: Target,
    pub clients: usize,
    pub users: usize,
    pub duration: Duration,
    pub checkpoint_every: Duration,
    pub prefill: u32,
    pub seed: u64,
}

/// What the clients found, shared by all of them.
#[derive(Default)]
pub struct Findings {
    inner: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    ops: BTreeMap<&'static str, u64>,
    allowed: BTreeMap<String, u64>,
    errors: BTreeMap<&'static str, u64>,
    /// The first few errors in full, with the commands before them.
    examples: Vec<String>,
}

const EXAMPLES: usize = 20;

impl Findings {
    pub fn op(&self, op: &'static str) {
        *self.lock().ops.entry(op).or_default() += 1;
    }

    pub fn allowed(&self, op: &'static str, e: &ImapError) {
        *self.lock().allowed.entry(format!("{op}: {e}")).or_default() += 1;
    }

    pub fn error(
        &self,
        kind: &'static str,
        detail: &str,
        history: &std::collections::VecDeque<String>,
    ) {
        let mut t = self.lock();
        *t.errors.entry(kind).or_default() += 1;
        if t.examples.len() < EXAMPLES {
            let mut text = format!("[{kind}] {detail}\n  last commands:");
            for h in history {
                text.push_str("\n    ");
                text.push_str(h);
            }
            t.examples.push(text);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn error_count(&self) -> u64 {
        self.lock().errors.values().sum()
    }

    /// The summary printed at the end.
    pub fn summary(&self) -> String {
        let t = self.lock();
        let mut out = String::from("operations:\n");
        for (op, n) in &t.ops {
            out.push_str(&format!("  {op:<16} {n}\n"));
        }
        if !t.allowed.is_empty() {
            out.push_str("refusals the RFC allows:\n");
            for (what, n) in &t.allowed {
                out.push_str(&format!("  {n:>6}  {what}\n"));
            }
        }
        out.push_str(&format!("errors: {}\n", t.errors.values().sum::<u64>()));
        for (kind, n) in &t.errors {
            out.push_str(&format!("  {kind:<28} {n}\n"));
        }
        for e in &t.examples {
            out.push_str(e);
            out.push('\n');
        }
        out
    }
}

/// One account's sessions meet at checkpoints: writes stop, each session catches up with
/// NOOP, one reads the mailbox afresh, and all compare.
struct Checkpoint {
    barrier: Barrier,
    reference: Mutex<Option<Reference>>,
}

/// INBOX as a fresh EXAMINE sees it: UIDs in order and their flags.
#[derive(Clone, Default)]
struct Reference {
    uids: Vec<u32>,
    flags: BTreeMap<u32, Flags>,
}

/// Runs the check; the findings say what went wrong.
///
/// # Errors
/// When the accounts cannot be prepared.
pub async fn run(cfg: CheckConfig) -> anyhow::Result<Arc<Findings>> {
    let findings = Arc::new(Findings::default());
    setup_accounts(&cfg).await?;
    let per_user: Vec<usize> = (0..cfg.users)
        .map(|u| (0..cfg.clients).filter(|c| c % cfg.users == u).count())
        .collect();
    let checkpoints: Vec<Arc<Checkpoint>> = per_user
        .iter()
        .map(|&n| {
            Arc::new(Checkpoint {
                barrier: Barrier::new(n.max(1)),
                reference: Mutex::new(None),
            })
        })
        .collect();
    let rounds = (cfg.duration.as_millis() / cfg.checkpoint_every.as_millis().max(1)) as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for id in 0..cfg.clients {
        let user = id % cfg.users;
        let mut session =
            Session::new(id, cfg.target.clone(), user + 1, cfg.seed, findings.clone());
        let checkpoint = checkpoints[user].clone();
        let (every, target) = (cfg.checkpoint_every, cfg.target.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < rounds {
                let due = (started.elapsed().as_millis() / every.as_millis().max(1)) as u64;
                if due > done {
                    done += 1;
                    check_point(&mut session, &checkpoint, &target, user + 1).await;
                } else {
                    session.step().await;
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    Ok(findings)
}

/// Creates the second mailbox of each account and fills INBOX to `prefill` messages.
async fn setup_accounts(cfg: &CheckConfig) -> anyhow::Result<()> {
    for user in 1..=cfg.users {
        let mut conn = cfg.target.login(user, None).await?;
        for mailbox in &MAILBOXES[1..] {
            let create = CommandBody::Create {
                mailbox: MailboxName::from_wire(*mailbox),
                special_use: Vec::new(),
            };
            match conn.run(create).await {
                Ok(_) | Err(ImapError::No(_)) => {} // exists already
                Err(e) => anyhow::bail!("CREATE {mailbox} for user {user}: {e}"),
            }
        }
        let _ = conn.run(CommandBody::Logout).await;
    }
    if cfg.prefill > 0 {
        prepare(&cfg.target, 1, cfg.users, cfg.prefill, 500, Size::Small, 2).await?;
    }
    Ok(())
}

async fn check_point(session: &mut Session, cp: &Checkpoint, target: &Target, user: usize) {
    // 1. Everyone is between operations: nothing is being written.
    cp.barrier.wait().await;
    // 2. Each session hears what it has not been told yet.
    if session.selected.is_some() {
        session.noop().await;
    }
    // 3. One reads INBOX afresh.
    if cp.barrier.wait().await.is_leader() {
        let fresh = read_reference(target, user).await;
        if let Err(e) = &fresh {
            session.report(model::Violation {
                kind: "checkpoint-read",
                detail: e.to_string(),
            });
        }
        *cp.reference
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.ok();
    }
    cp.barrier.wait().await;
    // 4. Sessions with INBOX selected must agree with it.
    let reference = cp
        .reference
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let (Some(reference), Some("INBOX")) = (reference, session.selected) {
        for v in compare(&session.model, &reference) {
            session.report(v);
        }
    }
    // 5. Nobody replaces the reference before everyone has compared.
    cp.barrier.wait().await;
}

async fn read_reference(target: &Target, user: usize) -> Result<Reference, ImapError> {
    let mut conn = target.login(user, None).await?;
    conn.run(CommandBody::Examine {
        mailbox: MailboxName::from_wire("INBOX"),
        params: Default::default(),
    })
    .await?;
    let mut reference = Reference::default();
    if conn.exists > 0 {
        let reply = conn
            .run(CommandBody::Fetch {
                uid: true,
                set: SequenceSet::Ranges(vec![SeqRange {
                    start: SeqBound::Value(1),
                    end: SeqBound::Star,
                }]),
                items: FetchItems::List(vec![FetchAttribute::Uid, FetchAttribute::Flags]),
                modifiers: FetchModifiers::default(),
            })
            .await?;
        for (_, items) in reply.fetches() {
            let mut uid = None;
            let mut flags = Flags::new();
            for v in items {
                match v {
                    roost_proto::FetchValue::Uid(u) => uid = Some(*u),
                    roost_proto::FetchValue::Flags(f) => flags = model::flag_names(f),
                    _ => {}
                }
            }
            if let Some(uid) = uid {
                reference.uids.push(uid);
                reference.flags.insert(uid, flags);
            }
        }
    }
    let _ = conn.run(CommandBody::Logout).await;
    Ok(reference)
}

/// A session's view against the fresh one: the same count, the same UID at every sequence
/// number it knows, the same flags for every message it knows.
fn compare(model: &Model, reference: &Reference) -> Vec<model::Violation> {
    let mut out = Vec::new();
    if model.exists() != reference.uids.len() {
        out.push(model::Violation {
            kind: "checkpoint-count",
            detail: format!(
                "session has {} messages, a fresh EXAMINE {}",
                model.exists(),
                reference.uids.len()
            ),
        });
        return out;
    }
    for (i, uid) in model.uids.iter().enumerate() {
        let Some(uid) = uid else { continue };
        if reference.uids[i] != *uid {
            out.push(model::Violation {
                kind: "checkpoint-uid",
                detail: format!(
                    "message {} is UID {uid} here, {} fresh",
                    i + 1,
                    reference.uids[i]
                ),
            });
            break;
        }
        if let (Some(mine), Some(fresh)) = (model.flags.get(uid), reference.flags.get(uid)) {
            if mine != fresh {
                out.push(model::Violation {
                    kind: "checkpoint-flags",
                    detail: format!("UID {uid}: told {mine:?}, fresh {fresh:?}"),
                });
            }
        }
    }
    out
}
