//! What a webmail asks of a large folder: `SORT (REVERSE DATE) UTF-8 ALL` (newest first) and
//! `THREAD REFERENCES UTF-8 ALL` (conversations), timed round after round in one session, each
//! answer checked to order every message exactly once.

use std::time::{Duration, Instant};

use anyhow::bail;
use roost_proto::{
    CommandBody, Data, Response, SearchKey, SortCommand, SortCriterion, SortKey, Thread,
    ThreadAlgorithm, ThreadCommand,
};

use crate::client::{ImapError, Reply};
use crate::stats::{Recorder, Report};
use crate::workload::Target;

/// Settings of the sort scenario.
pub struct SortConfig {
    pub target: Target,
    pub user: usize,
    /// Messages the mailbox must hold (fill it first with `prepare`).
    pub messages: u32,
    pub rounds: usize,
}

fn reverse_date() -> CommandBody {
    CommandBody::Sort(SortCommand {
        uid: false,
        returns: None,
        criteria: vec![SortCriterion {
            reverse: true,
            key: SortKey::Date,
        }],
        charset: "UTF-8".into(),
        search: vec![SearchKey::All],
    })
}

fn references() -> CommandBody {
    CommandBody::Thread(ThreadCommand {
        uid: false,
        algorithm: ThreadAlgorithm::References,
        charset: "UTF-8".into(),
        search: vec![SearchKey::All],
    })
}

/// The message numbers of a `* SORT` answer.
fn sorted(reply: &Reply) -> Vec<u32> {
    reply
        .untagged
        .iter()
        .filter_map(|r| match r {
            Response::Data(Data::Sort { ids, .. }) => Some(ids.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Every message number of a `* THREAD` answer's trees.
fn threaded(reply: &Reply) -> Vec<u32> {
    fn walk(t: &Thread, out: &mut Vec<u32>) {
        out.extend(&t.members);
        for child in &t.children {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    for r in &reply.untagged {
        if let Response::Data(Data::Thread(threads)) = r {
            for t in threads {
                walk(t, &mut out);
            }
        }
    }
    out
}

/// An answer that orders `1..=exists` each exactly once.
fn check_all(mut numbers: Vec<u32>, exists: u32, what: &str) -> Result<(), ImapError> {
    numbers.sort_unstable();
    if numbers.len() == exists as usize && numbers.iter().copied().eq(1..=exists) {
        return Ok(());
    }
    Err(ImapError::Unexpected(format!(
        "{what} ordered {} numbers of {exists} messages, or some twice",
        numbers.len()
    )))
}

/// SELECT, then `rounds` times SORT (REVERSE DATE) and THREAD REFERENCES. The first round is
/// cold when the server was just started (no sort keys cached yet).
///
/// # Errors
/// When the mailbox holds fewer messages than expected or the server cannot be reached.
pub async fn sort(cfg: SortConfig) -> anyhow::Result<Report> {
    let mut report = Report::new("sort", "");
    report.set("messages", cfg.messages);
    report.set("rounds", cfg.rounds);
    let mut rec = Recorder::default();
    let started = Instant::now();
    let mut conn = cfg.target.login(cfg.user, Some(&mut rec)).await?;
    conn.timeout = conn.timeout.max(Duration::from_secs(300));
    conn.select("INBOX").await?;
    let exists = conn.exists;
    if exists < cfg.messages {
        bail!(
            "the mailbox holds {exists} messages, {} expected: run prepare first",
            cfg.messages
        );
    }
    let mut warm: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..cfg.rounds.max(2) {
        for (i, (name, body, numbers)) in [
            (
                "SORT REVERSE DATE",
                reverse_date(),
                sorted as fn(&Reply) -> Vec<u32>,
            ),
            ("THREAD REFERENCES", references(), threaded),
        ]
        .into_iter()
        .enumerate()
        {
            let t0 = Instant::now();
            let r = conn
                .run(body)
                .await
                .and_then(|reply| check_all(numbers(&reply), exists, name));
            rec.outcome(name, t0, &r);
            r?;
            let took = t0.elapsed().as_secs_f64() * 1000.0;
            let key = name.to_ascii_lowercase().replace(' ', "_");
            if round == 0 {
                report.metrics.insert(format!("cold_{key}_ms"), took);
            } else {
                warm[i].push(took);
            }
        }
    }
    for (i, key) in ["sort_reverse_date", "thread_references"]
        .iter()
        .enumerate()
    {
        let times = &mut warm[i];
        times.sort_by(f64::total_cmp);
        report
            .metrics
            .insert(format!("warm_{key}_ms"), times[times.len() / 2]);
    }
    let _ = conn.run(CommandBody::Logout).await;
    Ok(report.with_recorder(&rec, started.elapsed()))
}
