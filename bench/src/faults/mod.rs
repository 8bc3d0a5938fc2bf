//! `roost-bench faults`: a fault-injection suite for a Roost cluster (issue 19). It starts
//! Redis and N nodes on one data directory ([`cluster`], [`netns`]), runs writers on every
//! node ([`writer`]) and, round after round, injects one fault ([`kinds`]) under that load,
//! waits until every account is written again, and checks every account from a fresh
//! session against what the writers were told ([`checker`], [`ledger`]); every Nth round
//! and the last also after a cold restart (kill -9 of every node, then start). The report
//! ([`report`]) gives per fault kind the failover times, client-visible errors and what
//! the checks found; any loss, duplicate UID or `[SERVERBUG]` fails the run.

mod checker;
mod cluster;
mod kinds;
mod ledger;
mod netns;
mod prefill;
mod report;
mod resp;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use self::cluster::{Cluster, ClusterSpec};
pub use self::kinds::Kind;
use self::ledger::{ErrorTally, Ledger};
use self::report::Round;
use self::writer::{Writer, WriterSpec};

pub struct FaultsConfig {
    pub binary: PathBuf,
    pub nodes: usize,
    pub accounts: usize,
    pub writers_per_node: usize,
    pub rounds_per_kind: usize,
    pub kinds: Vec<Kind>,
    pub lease: Duration,
    /// Seconds of load before each fault.
    pub warmup: Duration,
    pub cold_every: usize,
    pub seed: u64,
    pub keep_dir: Option<PathBuf>,
    pub namespaces: bool,
    pub strict_append_no: bool,
    /// Messages appended to each account's INBOX before the first round.
    pub prefill: u64,
}

fn password(i: usize) -> String {
    format!("faults-{i}")
}

/// Runs the suite; `Ok(true)` when it passed. The report goes to stdout.
///
/// # Errors
/// When the cluster cannot be set up or an account cannot be read at all.
pub async fn run(cfg: FaultsConfig) -> anyhow::Result<bool> {
    let started = Instant::now();
    let (mut cluster, why_no_ns) = tokio::task::block_in_place(|| {
        Cluster::start(&ClusterSpec {
            binary: &cfg.binary,
            nodes: cfg.nodes,
            lease: cfg.lease,
            users: cfg.accounts,
            password: &password,
            keep_dir: cfg.keep_dir.clone(),
            namespaces: cfg.namespaces,
        })
    })?;
    let setup_note = format!(
        "{} nodes, lease {} ms, {} accounts ({} messages prefilled each), {} writers per node; \
         partitions by {}; run directory {}",
        cfg.nodes,
        cfg.lease.as_millis(),
        cfg.accounts,
        cfg.prefill,
        cfg.writers_per_node,
        match &why_no_ns {
            None => "network namespaces (blackhole routes)".to_owned(),
            Some(why) => format!("SIGSTOP: network namespaces unavailable ({why})"),
        },
        cluster.dir.display()
    );
    eprintln!("faults: {setup_note}");
    let mut ledger = Ledger::new(cfg.accounts);
    if cfg.prefill > 0 {
        prefill::prefill(&cluster.nodes[0].addr, &password, &mut ledger, cfg.prefill).await?;
    }
    let ledger = Arc::new(Mutex::new(ledger));
    let mut writers: Vec<Writer> = Vec::new();
    for node in 0..cfg.nodes {
        for w in 0..cfg.writers_per_node {
            let id = node * cfg.writers_per_node + w;
            let account = id % cfg.accounts;
            writers.push(Writer::new(
                WriterSpec {
                    id,
                    addr: cluster.nodes[node].addr.clone(),
                    user: format!("user{}", account + 1),
                    password: password(account + 1),
                    account,
                    timeout: Duration::from_secs(15),
                },
                ledger.clone(),
                cfg.seed,
            ));
        }
    }
    let schedule: Vec<Kind> = (0..cfg.rounds_per_kind)
        .flat_map(|_| cfg.kinds.iter().copied())
        .collect();
    let mut rounds = Vec::new();
    for (index, kind) in schedule.iter().copied().enumerate() {
        let cold = index + 1 == schedule.len()
            || (cfg.cold_every > 0 && (index + 1) % cfg.cold_every == 0);
        let (round, back) =
            one_round(&cfg, &mut cluster, &ledger, writers, index, kind, cold).await?;
        writers = back;
        eprintln!(
            "faults: round {index} {}: failover {:?}, {} acked, check {} failures{}{}",
            kind.name(),
            round.failover,
            round.acked,
            round.check.failures() + round.cold.as_ref().map_or(0, |c| c.failures()),
            round
                .failure
                .as_deref()
                .map(|f| format!(", FAILED: {f}"))
                .unwrap_or_default(),
            if round.recovered {
                ""
            } else {
                ", NOT RECOVERED"
            },
        );
        for e in round
            .check
            .examples
            .iter()
            .chain(round.cold.iter().flat_map(|c| &c.examples))
        {
            eprintln!("faults:   {e}");
        }
        rounds.push(round);
    }
    let l = ledger.lock().expect("ledger");
    let summary = report::summarize(
        &rounds,
        &l.violations,
        l.duplicate_uids,
        cfg.strict_append_no,
        &setup_note,
    );
    println!("{}", summary.text);
    println!("(took {} s)", started.elapsed().as_secs());
    Ok(!summary.failed)
}

/// One round: writers start, the fault, recovery, writers stop, the checks.
async fn one_round(
    cfg: &FaultsConfig,
    cluster: &mut Cluster,
    ledger: &Arc<Mutex<Ledger>>,
    writers: Vec<Writer>,
    index: usize,
    kind: Kind,
    cold: bool,
) -> anyhow::Result<(Round, Vec<Writer>)> {
    {
        let mut l = ledger.lock().expect("ledger");
        l.round_errors = ErrorTally::default();
        for a in &mut l.accounts {
            a.acks.clear();
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|w| tokio::spawn(w.run(stop.clone())))
        .collect();
    tokio::time::sleep(cfg.warmup).await;
    let victim = cluster.owner("user1").await.map_or(0, |(n, _)| n);
    let fault_at = Instant::now();
    let injected = tokio::task::block_in_place(|| kinds::inject(cluster, kind, victim));
    let healed_at = Instant::now();
    // Recovered: every account has an APPEND sent after the fault ended acknowledged.
    let deadline = healed_at + cfg.lease * 3 + Duration::from_secs(30);
    let recovered = loop {
        let done = {
            let l = ledger.lock().expect("ledger");
            l.accounts
                .iter()
                .all(|a| a.acks.iter().any(|(sent, _)| *sent >= healed_at))
        };
        if done {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Relaxed);
    let mut back = Vec::new();
    for t in tasks {
        back.push(t.await?);
    }
    let (failover, max_gap, acked, errors) = {
        let l = ledger.lock().expect("ledger");
        let failover = l
            .accounts
            .iter()
            .map(|a| {
                a.acks
                    .iter()
                    .filter(|(sent, _)| *sent >= fault_at)
                    .map(|(_, acked)| *acked - fault_at)
                    .min()
            })
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().max());
        let max_gap = l
            .accounts
            .iter()
            .map(|a| {
                let mut t: Vec<Instant> = a.acks.iter().map(|(_, acked)| *acked).collect();
                t.sort();
                t.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
            })
            .max()
            .unwrap_or_default();
        let acked = l.accounts.iter().map(|a| a.acks.len() as u64).sum();
        (failover, max_gap, acked, l.round_errors.clone())
    };
    let addrs: Vec<String> = cluster.nodes.iter().map(|n| n.addr.clone()).collect();
    let wait = cfg.lease * 3 + Duration::from_secs(30);
    // The writers are stopped: the checker has the ledger to itself.
    let mut l = std::mem::take(&mut *ledger.lock().expect("ledger"));
    let check = checker::check(&addrs, &password, &mut l, cold, wait).await;
    let mut failure = injected.failure;
    let cold_check = if cold {
        let restarted = tokio::task::block_in_place(|| {
            for n in 0..cluster.nodes.len() {
                cluster.kill_node(n);
            }
            (0..cluster.nodes.len()).try_for_each(|n| cluster.start_node(n))
        });
        match restarted {
            Ok(()) => Some(checker::check(&addrs, &password, &mut l, true, wait).await),
            Err(e) => {
                failure.get_or_insert(format!("cold restart: {e:#}"));
                None
            }
        }
    } else {
        None
    };
    *ledger.lock().expect("ledger") = l;
    let server_errors = cluster.new_error_lines();
    let check = check?;
    let cold_check = cold_check.transpose()?;
    Ok((
        Round {
            index,
            kind,
            failover,
            max_gap,
            recovered,
            errors,
            check,
            cold: cold_check,
            failure,
            note: injected.note,
            acked,
            server_errors,
        },
        back,
    ))
}
