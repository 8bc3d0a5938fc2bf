//! The scenarios that are not a timed mix: many IDLE-ing connections and the server memory
//! they cost, a large mailbox's SELECT and flag fetch, and cross-node push latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use roost_proto::{
    CommandBody, FetchAttribute, FetchItems, FetchModifiers, Flag, SeqBound, SeqRange, SequenceSet,
    StoreAction,
};

use crate::client::{Conn, ImapError};
use crate::procmem::{self, Mem};
use crate::sample::{self, Size};
use crate::stats::{Recorder, Report};
use crate::transport::Connector;
use crate::workload::{append, check_fetch, fetch_body, Target};

/// Memory of the server tree as report metrics `<prefix>_rss_kib` / `<prefix>_pss_kib`.
fn put_mem(report: &mut Report, prefix: &str, mem: Mem) {
    report
        .metrics
        .insert(format!("{prefix}_rss_kib"), mem.rss_kib as f64);
    report
        .metrics
        .insert(format!("{prefix}_pss_kib"), mem.pss_kib as f64);
}

/// Settings of the idle-connections scenario.
pub struct IdleConfig {
    pub target: Target,
    pub users: usize,
    pub connections: usize,
    /// Connections being set up at once.
    pub concurrency: usize,
    pub server_pid: u32,
    /// Wait after the last connection is up before measuring.
    pub settle: Duration,
    /// How the connections are made (TLS, source addresses).
    pub connector: Arc<Connector>,
    /// Before the connections, append a message of about this many octets to every user's
    /// INBOX; each connection then fetches it (`BODY.PEEK[]`) after SELECT, before IDLE.
    pub fetch_octets: Option<usize>,
}

/// Opens `connections` sessions over `users` users, each with INBOX selected and in IDLE, and
/// reports the server's memory per connection. Connections are opened in two halves with a
/// reading after each: the growth over the second half is the marginal cost of a connection,
/// free of one-off growth (allocator arenas warmed by the logins, caches, thread pools) that
/// the growth from the reading before the first connection includes. Then checks the
/// connections are alive: one APPEND to user 1 must wake every IDLE of user 1 with `EXISTS`.
///
/// # Errors
/// When the server's memory cannot be read.
pub async fn idle(cfg: IdleConfig) -> anyhow::Result<Report> {
    let mut report = Report::new("idle", "");
    report.set("connections", cfg.connections);
    report.set("users", cfg.users);
    if let Some(octets) = cfg.fetch_octets {
        let message = message_of_about(octets);
        report.set("fetch_octets", message.len());
        for user in 1..=cfg.users {
            let mut conn = cfg.target.login_via(&cfg.connector, user, None).await?;
            append(&mut conn, "INBOX", vec![(vec![], message.clone())]).await?;
            let _ = conn.run(CommandBody::Logout).await;
        }
    }
    tokio::time::sleep(cfg.settle).await;
    let before = procmem::measure(cfg.server_pid)?;
    let start = Instant::now();
    let mut rec = Recorder::default();
    let half = cfg.connections / 2;
    let mut idlers = open_many(&cfg, 0..half, &mut rec).await?;
    tokio::time::sleep(cfg.settle).await;
    let first = procmem::measure(cfg.server_pid)?;
    let first_up = idlers.len();
    idlers.extend(open_many(&cfg, half..cfg.connections, &mut rec).await?);
    let setup = start.elapsed();
    eprintln!(
        "idle: {} of {} connections IDLE-ing after {:.1} s",
        idlers.len(),
        cfg.connections,
        setup.as_secs_f64()
    );
    tokio::time::sleep(cfg.settle).await;
    let loaded = procmem::measure(cfg.server_pid)?;
    put_mem(&mut report, "before", before);
    put_mem(&mut report, "half", first);
    put_mem(&mut report, "loaded", loaded);
    let per = |a: u64, b: u64, n: usize| a.saturating_sub(b) as f64 / n.max(1) as f64;
    let second_up = idlers.len() - first_up;
    let metrics = [
        (
            "rss_per_conn_kib",
            per(loaded.rss_kib, first.rss_kib, second_up),
        ),
        (
            "pss_per_conn_kib",
            per(loaded.pss_kib, first.pss_kib, second_up),
        ),
        (
            "rss_avg_per_conn_kib",
            per(loaded.rss_kib, before.rss_kib, idlers.len()),
        ),
        (
            "pss_avg_per_conn_kib",
            per(loaded.pss_kib, before.pss_kib, idlers.len()),
        ),
        ("connections_up", idlers.len() as f64),
        ("server_processes", loaded.processes as f64),
    ];
    report
        .metrics
        .extend(metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)));

    // Liveness: every IDLE of user 1 must see the new message.
    let mut appender = cfg.target.login_via(&cfg.connector, 1, None).await?;
    let start = Instant::now();
    let r = append(
        &mut appender,
        "INBOX",
        vec![(vec![], sample::message(99, 1, Size::Small))],
    )
    .await;
    rec.outcome("APPEND", start, &r);
    let mut expected = 0;
    let mut woken = 0;
    for (_, conn) in idlers.iter_mut().filter(|(u, _)| *u == 1) {
        expected += 1;
        if wait_exists(conn, Duration::from_secs(10)).await {
            woken += 1;
        } else {
            rec.error(
                "IDLE wake-up",
                &ImapError::Unexpected("no EXISTS within 10 s".into()),
            );
        }
    }
    report
        .metrics
        .insert("wakeups_seen".into(), f64::from(woken));
    report
        .metrics
        .insert("wakeups_expected".into(), f64::from(expected));
    Ok(report.with_recorder(&rec, setup))
}

/// Opens the connections numbered `range` (user = number mod users), `concurrency` at a time;
/// returns those that reached IDLE.
async fn open_many(
    cfg: &IdleConfig,
    range: std::ops::Range<usize>,
    rec: &mut Recorder,
) -> anyhow::Result<Vec<(usize, Conn)>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1)));
    let target = Arc::new(cfg.target.clone());
    let fetch = cfg.fetch_octets.is_some();
    let tasks: Vec<_> = range
        .map(|c| {
            let (sem, target, connector) = (sem.clone(), target.clone(), cfg.connector.clone());
            let user = c % cfg.users + 1;
            tokio::spawn(async move {
                let _permit = sem.acquire().await;
                let mut rec = Recorder::default();
                let conn = open_idle(&target, &connector, user, fetch, &mut rec).await;
                (user, conn, rec)
            })
        })
        .collect();
    let mut idlers = Vec::new();
    for t in tasks {
        let (user, conn, r) = t.await?;
        rec.merge(&r);
        if let Ok(conn) = conn {
            idlers.push((user, conn));
        }
    }
    Ok(idlers)
}

/// LOGIN, SELECT INBOX, with `fetch` a FETCH of the newest message (the one [`idle`]
/// appended), then IDLE.
async fn open_idle(
    target: &Target,
    connector: &Connector,
    user: usize,
    fetch: bool,
    rec: &mut Recorder,
) -> Result<Conn, ImapError> {
    let mut conn = target.login_via(connector, user, Some(rec)).await?;
    let start = Instant::now();
    let r = conn.select("INBOX").await;
    rec.outcome("SELECT", start, &r);
    r?;
    if fetch {
        let start = Instant::now();
        let newest = conn.exists;
        let r = fetch_body(&mut conn, newest).await;
        rec.outcome("FETCH BODY", start, &r);
        r?;
    }
    let start = Instant::now();
    let r = conn.idle_start().await;
    rec.outcome("IDLE", start, &r);
    r?;
    Ok(conn)
}

/// The first generated sample message (a realistic one, `sample::verify` checks it) within
/// 10 % of `octets`; the one nearest to it if none is.
fn message_of_about(octets: usize) -> bytes::Bytes {
    (0..10_000)
        .map(|n| sample::message(17, n, Size::Realistic))
        .min_by_key(|m| {
            let off = m.len().abs_diff(octets);
            if off * 10 <= octets {
                0
            } else {
                off
            }
        })
        .expect("candidates")
}

/// Whether an `EXISTS` arrives during IDLE within `wait`.
async fn wait_exists(conn: &mut Conn, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match conn.idle_next(left).await {
            Ok(Some(r)) if Conn::is_exists(&r) => return true,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return false,
        }
    }
    false
}

/// Every message `1..=exists` answered with UID and FLAGS (UID FETCH and UID STORE always
/// include the UID).
fn uid_and_flags_of_all(reply: &crate::client::Reply, exists: u32) -> Result<(), ImapError> {
    check_fetch(
        reply,
        1..=exists,
        &[FetchAttribute::Uid, FetchAttribute::Flags],
    )
}

/// `1:*`.
fn whole_mailbox() -> SequenceSet {
    SequenceSet::Ranges(vec![SeqRange {
        start: SeqBound::Value(1),
        end: SeqBound::Star,
    }])
}

/// Settings of the large-mailbox scenario.
pub struct LargeConfig {
    pub target: Target,
    pub user: usize,
    /// Messages the mailbox must hold (fill it first with `prepare`).
    pub messages: u32,
    pub rounds: usize,
    pub server_pid: Option<u32>,
}

/// SELECT + `UID FETCH 1:* (FLAGS)` + `UID STORE 1:* +FLAGS (\\Seen)` (`-FLAGS` in odd rounds)
/// of a large mailbox, `rounds` times in fresh sessions; the
/// first round is cold when the server was just started. Reports both times and the server's
/// memory growth per message while the mailbox is selected.
///
/// # Errors
/// When the mailbox holds fewer messages than expected or the server cannot be reached.
pub async fn large(cfg: LargeConfig) -> anyhow::Result<Report> {
    let mut report = Report::new("large", "");
    report.set("messages", cfg.messages);
    report.set("rounds", cfg.rounds);
    let before = match cfg.server_pid {
        Some(pid) => Some(procmem::measure(pid)?),
        None => None,
    };
    let mut rec = Recorder::default();
    let started = Instant::now();
    let mut totals = Vec::new();
    let mut held = Vec::new();
    for round in 0..cfg.rounds.max(1) {
        let mut conn = cfg.target.login(cfg.user, Some(&mut rec)).await?;
        conn.timeout = conn.timeout.max(Duration::from_secs(300));
        let t0 = Instant::now();
        let r = conn.select("INBOX").await;
        rec.outcome("SELECT", t0, &r);
        r?;
        let select = t0.elapsed();
        let exists = conn.exists;
        // What the server holds for the selected mailbox, before the fetch's transient buffers.
        if let (0, Some(pid), Some(before)) = (round, cfg.server_pid, before) {
            let selected = procmem::measure(pid)?;
            report.metrics.insert(
                "after_select_rss_bytes_per_message".into(),
                selected.rss_kib.saturating_sub(before.rss_kib) as f64 * 1024.0
                    / f64::from(exists.max(1)),
            );
        }
        if exists < cfg.messages {
            bail!(
                "the mailbox holds {exists} messages, {} expected: run prepare first",
                cfg.messages
            );
        }
        let t1 = Instant::now();
        let r = conn
            .run(CommandBody::Fetch {
                uid: true,
                set: whole_mailbox(),
                items: FetchItems::List(vec![FetchAttribute::Flags]),
                modifiers: FetchModifiers::default(),
            })
            .await
            .and_then(|reply| uid_and_flags_of_all(&reply, exists));
        rec.outcome("UID FETCH FLAGS", t1, &r);
        r?;
        let fetch = t1.elapsed();
        // Every message's flags change each round (set, then cleared in the next), and the
        // non-silent STORE answers one FETCH per message.
        let t2 = Instant::now();
        let action = if round % 2 == 0 {
            StoreAction::Add
        } else {
            StoreAction::Remove
        };
        let r = conn
            .run(CommandBody::Store {
                uid: true,
                set: whole_mailbox(),
                unchanged_since: None,
                action,
                silent: false,
                flags: vec![Flag::Seen],
            })
            .await
            .and_then(|reply| uid_and_flags_of_all(&reply, exists));
        rec.outcome("UID STORE FLAGS", t2, &r);
        r?;
        let store = t2.elapsed();
        let total = select + fetch + store;
        if round == 0 {
            report.metrics.insert("cold_select_ms".into(), ms(select));
            report.metrics.insert("cold_fetch_ms".into(), ms(fetch));
            report.metrics.insert("cold_store_ms".into(), ms(store));
            report
                .metrics
                .insert("cold_select_fetch_ms".into(), ms(total));
            // The memory the server holds for the selected mailbox after the flag fetch,
            // measured while the first session still has it selected.
            if let (Some(pid), Some(before)) = (cfg.server_pid, before) {
                // What the server holds while the mailbox stays open, not its high-water mark
                // during the commands: a second for memory the commands freed to go back to
                // the system (Roost trims after large commands; Dovecot gets the same wait).
                tokio::time::sleep(Duration::from_secs(1)).await;
                let loaded = procmem::measure(pid)?;
                put_mem(&mut report, "before", before);
                put_mem(&mut report, "selected", loaded);
                let per_msg =
                    |a: u64, b: u64| a.saturating_sub(b) as f64 * 1024.0 / f64::from(exists);
                report.metrics.insert(
                    "rss_bytes_per_message".into(),
                    per_msg(loaded.rss_kib, before.rss_kib),
                );
                report.metrics.insert(
                    "pss_bytes_per_message".into(),
                    per_msg(loaded.pss_kib, before.pss_kib),
                );
            }
            held.push(conn);
        } else {
            totals.push(total);
            let _ = conn.run(CommandBody::Logout).await;
        }
    }
    if !totals.is_empty() {
        totals.sort();
        report
            .metrics
            .insert("warm_select_fetch_ms".into(), ms(totals[totals.len() / 2]));
    }
    drop(held);
    Ok(report.with_recorder(&rec, started.elapsed()))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Settings of the cross-node push scenario.
pub struct PushConfig {
    /// Node A, where messages are appended.
    pub append: Target,
    /// Node B, where the IDLE client waits.
    pub idle: Target,
    pub user: usize,
    pub samples: usize,
    pub interval: Duration,
}

/// APPEND on node A, `EXISTS` on an IDLE-ing client on node B: `samples` times, one at a time.
/// `PUSH` is measured from sending the APPEND to receiving the EXISTS (so it includes the
/// commit); `PUSH AFTER OK` from the APPEND's OK to the EXISTS; `APPEND` on its own.
///
/// # Errors
/// When either node cannot be reached.
pub async fn push(cfg: PushConfig) -> anyhow::Result<Report> {
    let mut report = Report::new("push", "");
    report.set("samples", cfg.samples);
    let mut rec = Recorder::default();
    let mut idler = cfg
        .idle
        .login(cfg.user, None)
        .await
        .context("log in on node B")?;
    idler.select("INBOX").await?;
    idler.idle_start().await?;
    let mut appender = cfg
        .append
        .login(cfg.user, None)
        .await
        .context("log in on node A")?;
    let started = Instant::now();
    for n in 0..cfg.samples {
        let msg = sample::message(7, n as u64, Size::Small);
        let t0 = Instant::now();
        let (appended, (seen, exists_at)) = tokio::join!(
            async {
                let r = append(&mut appender, "INBOX", vec![(vec![], msg)]).await;
                rec.outcome("APPEND", t0, &r);
                t0.elapsed()
            },
            async {
                let seen = wait_exists(&mut idler, Duration::from_secs(10)).await;
                (seen, t0.elapsed())
            }
        );
        if seen {
            rec.ok("PUSH", exists_at);
            // The notification path alone: from the APPEND's OK (the commit is durable) to the
            // EXISTS on the other node; zero when the EXISTS came first.
            rec.ok("PUSH AFTER OK", exists_at.saturating_sub(appended));
        } else {
            rec.error(
                "PUSH",
                &ImapError::Unexpected("no EXISTS on node B within 10 s".into()),
            );
        }
        tokio::time::sleep(cfg.interval).await;
    }
    let _ = idler.idle_done().await;
    report.set("interval_ms", cfg.interval.as_millis());
    let mut report = report.with_recorder(&rec, started.elapsed());
    for (command, prefix) in [("PUSH", "push"), ("PUSH AFTER OK", "push_after_ok")] {
        if let Some(p) = report.commands.get(command) {
            let (p50, p99) = (p.p50_us as f64 / 1000.0, p.p99_us as f64 / 1000.0);
            report.metrics.insert(format!("{prefix}_p50_ms"), p50);
            report.metrics.insert(format!("{prefix}_p99_ms"), p99);
        }
    }
    Ok(report)
}
