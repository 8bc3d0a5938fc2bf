//! roost-bench: an IMAP load generator and the benchmark scenarios of docs/performance.md.
//!
//! It works against any IMAP server over plain TCP with LOGIN. Subcommands:
//! - `run`: N clients over M users for a fixed time with a mix of operations (`--mix mixed`
//!   is scenario 1, `--mix append` scenario 4);
//! - `prepare`: fill users' INBOXes with generated sample mail (MULTIAPPEND batches);
//! - `idle`: many IDLE-ing connections and the server memory per connection (scenario 2);
//! - `large`: SELECT + `UID FETCH 1:* (FLAGS)` + `UID STORE 1:* FLAGS` of a large mailbox (scenario 3);
//! - `sort`: `SORT (REVERSE DATE)` and `THREAD REFERENCES` of a large mailbox (scenario 8);
//! - `push`: APPEND on one node, EXISTS on an IDLE client of another (scenario 5);
//! - `lmtp`: LMTP deliveries per second from concurrent MTA-like clients (scenario 6);
//! - `check`: clients that check every answer against what they were told (state checker);
//! - `faults`: a Roost cluster driven through faults under load, checked after every round;
//! - `mbox`: write the generated sample mail as an mbox file;
//! - `diff` / `table`: compare results files (run to run; server to server).
//!
//! Modules: [`client`] (the IMAP connection), [`sample`] (sample mail), [`workload`] (the
//! load run and preparation), [`scenarios`], [`stats`] (histograms and reports), [`diff`],
//! [`procmem`] (server memory from /proc).

mod check;
mod client;
mod diff;
mod faults;
mod lmtp;
mod procmem;
mod sample;
mod scenarios;
mod sorting;
mod stats;
mod transport;
mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::sample::{Corpus, Size};
use crate::stats::{Report, Results};
use crate::workload::{Mix, RunConfig, Target};

#[derive(Parser)]
#[command(
    name = "roost-bench",
    version,
    about = "IMAP load generator and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run N clients over M users with a mix of operations for a fixed time.
    Run(RunArgs),
    /// Fill users' INBOXes with generated sample mail.
    Prepare(PrepareArgs),
    /// Open many IDLE-ing connections and report server memory per connection.
    Idle(IdleArgs),
    /// Time SELECT + UID FETCH 1:* (FLAGS) + UID STORE 1:* of a large mailbox, and its memory.
    Large(LargeArgs),
    /// Time SORT (REVERSE DATE) and THREAD REFERENCES of a large mailbox, as webmail asks.
    Sort(SortArgs),
    /// Cross-node push latency: APPEND on node A, EXISTS on an IDLE client on node B.
    Push(PushArgs),
    /// LMTP deliveries per second: N clients, each one connection delivering to random users.
    Lmtp(LmtpArgs),
    /// Many clients on few accounts doing random work, each checking every answer against
    /// what it was told; exits 1 on any error.
    Check(CheckArgs),
    /// Start a 3-node Roost cluster with its Redis, inject faults round after round under
    /// APPEND/STORE/EXPUNGE load on every node, and check that nothing acknowledged is lost;
    /// exits 1 on any loss, duplicate UID or [SERVERBUG].
    Faults(FaultsArgs),
    /// Write the generated sample mail as an mbox file.
    Mbox {
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Compare two results files run to run; exits 1 when a figure got worse.
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// Relative change that counts (0.1 = 10 %).
        #[arg(long, default_value_t = 0.1)]
        threshold: f64,
    },
    /// Show two servers of one results file side by side with ratios.
    Table {
        results: PathBuf,
        #[arg(long, default_value = "dovecot")]
        base: String,
        #[arg(long, default_value = "roost")]
        other: String,
    },
}

/// Where the server is and how to log in.
#[derive(Args, Clone)]
struct TargetArgs {
    /// Server address, HOST:PORT (plain TCP).
    #[arg(long)]
    addr: String,
    /// User names; `{i}` is the user number, 1-based.
    #[arg(long, default_value = "user{i}")]
    user_pattern: String,
    /// Passwords; `{i}` is the user number.
    #[arg(long, default_value = "bench-{i}")]
    password: String,
    /// Seconds any one command may take before it counts as a timeout.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Name of the server in reports (`roost`, `dovecot`).
    #[arg(long, default_value = "server")]
    label: String,
    /// Append the report to this results file (JSON).
    #[arg(long)]
    json: Option<PathBuf>,
}

impl TargetArgs {
    fn target(&self) -> Target {
        Target {
            addr: self.addr.clone(),
            user_pattern: self.user_pattern.clone(),
            password: self.password.clone(),
            timeout: Duration::from_secs(self.timeout),
        }
    }

    /// Prints the report and saves it when asked.
    fn finish(&self, mut report: Report, as_json: bool) -> anyhow::Result<()> {
        report.target.clone_from(&self.label);
        if as_json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.table());
        }
        if let Some(path) = &self.json {
            Results::append(path, report)?;
        }
        Ok(())
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value_t = 50)]
    users: usize,
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// `mixed`, `append`, `read` or `op=weight,...` (see the README of the bench).
    #[arg(long, default_value = "mixed")]
    mix: String,
    /// Fill every user's INBOX up to this many messages first.
    #[arg(long)]
    prepare: Option<u32>,
    /// Milliseconds an IDLE of the mix waits before DONE.
    #[arg(long, default_value_t = 100)]
    idle_hold_ms: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Scenario name in the report (default: the mix).
    #[arg(long)]
    scenario: Option<String>,
    /// Server process whose memory (with its children) is reported after the run.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print the report as JSON instead of a table.
    #[arg(long = "print-json")]
    print_json: bool,
}

#[derive(Args)]
struct PrepareArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// First user number.
    #[arg(long, default_value_t = 1)]
    first_user: usize,
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Messages each INBOX should hold.
    #[arg(long, default_value_t = 200)]
    messages: u32,
    /// Messages per MULTIAPPEND.
    #[arg(long, default_value_t = 200)]
    batch: usize,
    /// Small (~1 KB) messages instead of the realistic size spread.
    #[arg(long)]
    small: bool,
    /// Users filled at once.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

#[derive(Args)]
struct IdleArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value_t = 50)]
    users: usize,
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The server process (its children are counted too).
    #[arg(long)]
    server_pid: u32,
    /// Seconds to wait before each memory reading.
    #[arg(long, default_value_t = 2)]
    settle: u64,
    /// Connect with implicit TLS, trusting the certificates in this PEM file (for Roost, the
    /// generated `DATA_DIR/tls/cert.pem`).
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// The name the server's certificate must carry.
    #[arg(long, default_value = "localhost")]
    tls_name: String,
    /// Connect from 127.0.0.1 .. 127.0.0.N in turn: one source address has only ~28,000
    /// ephemeral ports.
    #[arg(long, default_value_t = 1)]
    source_addrs: u8,
    /// Each connection fetches a message of about this many octets before IDLE (appended to
    /// every user's INBOX first).
    #[arg(long)]
    fetch_octets: Option<usize>,
    #[arg(long = "print-json")]
    print_json: bool,
}

/// Which large mailbox a scenario works on (fill it first with `prepare`).
#[derive(Args)]
struct LargeMailbox {
    /// The user whose INBOX is large.
    #[arg(long, default_value_t = 1)]
    user: usize,
    #[arg(long, default_value_t = 100_000)]
    messages: u32,
}

#[derive(Args)]
struct LargeArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    mailbox: LargeMailbox,
    /// Sessions that SELECT and fetch, one after another (the first is the cold one).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long = "print-json")]
    print_json: bool,
}

#[derive(Args)]
struct SortArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    mailbox: LargeMailbox,
    /// Rounds of both commands in one session (the first is the cold one).
    #[arg(long, default_value_t = 6)]
    rounds: usize,
    #[arg(long = "print-json")]
    print_json: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// Server address, HOST:PORT (plain TCP); not needed with `--spawn-roost`.
    #[arg(long, default_value = "")]
    addr: String,
    /// Start this roost binary on a fresh data directory and check it.
    #[arg(long)]
    spawn_roost: Option<PathBuf>,
    #[arg(long, default_value = "user{i}")]
    user_pattern: String,
    #[arg(long, default_value = "bench-{i}")]
    password: String,
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Accounts the clients share (several clients per mailbox).
    #[arg(long, default_value_t = 10)]
    users: usize,
    /// Seconds of random work.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seconds between checkpoints (every session against a fresh EXAMINE).
    #[arg(long, default_value_t = 5)]
    checkpoint: u64,
    /// Messages each INBOX holds before the run.
    #[arg(long, default_value_t = 0)]
    prefill: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds any one command may take.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[derive(Args)]
struct FaultsArgs {
    /// The roost binary [default: `roost` beside this program]
    #[arg(long)]
    roost: Option<PathBuf>,
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Accounts the writers share (writers of every node write to each).
    #[arg(long, default_value_t = 2)]
    accounts: usize,
    #[arg(long, default_value_t = 2)]
    writers_per_node: usize,
    /// Rounds of each fault kind (the kinds take turns).
    #[arg(long, default_value_t = 1)]
    rounds_per_kind: usize,
    /// Fault kinds to run [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    kinds: Vec<faults::Kind>,
    /// The nodes' `cluster.lease_ttl_ms`.
    #[arg(long, default_value_t = 2000)]
    lease_ms: u64,
    /// Milliseconds of load before each fault.
    #[arg(long, default_value_t = 1000)]
    warmup_ms: u64,
    /// Check after a cold restart (kill -9 of all nodes) every Nth round and after the last.
    #[arg(long, default_value_t = 5)]
    cold_every: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the run directory (data, node and Redis logs) here.
    #[arg(long)]
    keep_dir: Option<PathBuf>,
    /// All nodes on loopback; the partition faults become SIGSTOP.
    #[arg(long)]
    no_namespaces: bool,
    /// Only report, do not fail on, a message stored though its APPEND got NO (issue 19
    /// finding 5) or an expunged one back under a new UID (recovery re-adding its file).
    #[arg(long)]
    lenient_append_no: bool,
    /// Messages appended to each account's INBOX before the first round (real mailbox
    /// sizes: a new owner opens, and sessions re-SELECT, a mailbox this large).
    #[arg(long, default_value_t = 0)]
    prefill: u64,
}

#[derive(Args)]
struct PushArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Node B, where the IDLE client waits (`--addr` is node A, where mail is appended).
    #[arg(long)]
    idle_addr: String,
    #[arg(long, default_value_t = 1)]
    user: usize,
    #[arg(long, default_value_t = 500)]
    samples: usize,
    /// Milliseconds between samples.
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    #[arg(long = "print-json")]
    print_json: bool,
}

#[derive(Args)]
struct LmtpArgs {
    /// `--addr` is the LMTP listener; `--user-pattern` names the recipients' local parts.
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value_t = 20)]
    clients: usize,
    #[arg(long, default_value_t = 50)]
    users: usize,
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// The recipients' domain.
    #[arg(long, default_value = "bench.example")]
    domain: String,
    #[arg(long = "print-json")]
    print_json: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Run(a) => run(a).await,
        Cmd::Check(a) => check(a).await,
        Cmd::Faults(a) => faults(a).await,
        Cmd::Prepare(a) => {
            let target = a.target.target();
            let size = if a.small {
                Size::Small
            } else {
                Size::Realistic
            };
            let start = std::time::Instant::now();
            let rec = workload::prepare(
                &target,
                a.first_user,
                a.users,
                a.messages,
                a.batch,
                size,
                a.parallel,
            )
            .await?;
            let mut report = Report::new("prepare", "").with_recorder(&rec, start.elapsed());
            report.set("users", a.users);
            report.set("messages", a.messages);
            a.target.finish(report, false)
        }
        Cmd::Idle(a) => {
            let limit = transport::raise_fd_limit(a.connections as u64 + 1024);
            if limit < a.connections as u64 + 100 {
                eprintln!("idle: open-file limit {limit} is below the connections asked for");
            }
            let connector = match &a.tls_ca {
                Some(ca) => transport::Connector::tls(ca, &a.tls_name)?,
                None => transport::Connector::default(),
            };
            let report = scenarios::idle(scenarios::IdleConfig {
                connector: Arc::new(connector.with_loopback_sources(a.source_addrs)),
                fetch_octets: a.fetch_octets,
                target: a.target.target(),
                users: a.users,
                connections: a.connections,
                concurrency: a.concurrency,
                server_pid: a.server_pid,
                settle: Duration::from_secs(a.settle),
            })
            .await?;
            a.target.finish(report, a.print_json)
        }
        Cmd::Large(a) => {
            let report = scenarios::large(scenarios::LargeConfig {
                target: a.target.target(),
                user: a.mailbox.user,
                messages: a.mailbox.messages,
                rounds: a.rounds,
                server_pid: a.server_pid,
            })
            .await?;
            a.target.finish(report, a.print_json)
        }
        Cmd::Sort(a) => {
            let report = sorting::sort(sorting::SortConfig {
                target: a.target.target(),
                user: a.mailbox.user,
                messages: a.mailbox.messages,
                rounds: a.rounds,
            })
            .await?;
            a.target.finish(report, a.print_json)
        }
        Cmd::Push(a) => {
            let mut idle = a.target.target();
            idle.addr = a.idle_addr.clone();
            let report = scenarios::push(scenarios::PushConfig {
                append: a.target.target(),
                idle,
                user: a.user,
                samples: a.samples,
                interval: Duration::from_millis(a.interval_ms),
            })
            .await?;
            a.target.finish(report, a.print_json)
        }
        Cmd::Lmtp(a) => {
            let report = lmtp::run(lmtp::LmtpConfig {
                target: a.target.target(),
                clients: a.clients,
                users: a.users,
                duration: Duration::from_secs(a.duration),
                domain: a.domain.clone(),
            })
            .await?;
            a.target.finish(report, a.print_json)
        }
        Cmd::Mbox { count, seed, out } => {
            let corpus = Corpus::generate(seed, count, Size::Realistic);
            std::fs::write(&out, corpus.to_mbox()).with_context(|| out.display().to_string())?;
            eprintln!("wrote {count} messages to {}", out.display());
            Ok(())
        }
        Cmd::Diff {
            old,
            new,
            threshold,
        } => {
            let (text, worse) = diff::diff(&Results::load(&old)?, &Results::load(&new)?, threshold);
            print!("{text}");
            if worse > 0 {
                eprintln!(
                    "{worse} figures got worse by more than {:.0} %",
                    threshold * 100.0
                );
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Table {
            results,
            base,
            other,
        } => {
            print!("{}", diff::table(&Results::load(&results)?, &base, &other));
            Ok(())
        }
    }
}

async fn run(a: RunArgs) -> anyhow::Result<()> {
    let target = a.target.target();
    let mix = Mix::parse(&a.mix)?;
    if let Some(n) = a.prepare {
        workload::prepare(&target, 1, a.users, n, 200, Size::Realistic, 4).await?;
    }
    // The sample mbox the clients append from.
    let corpus = Arc::new(Corpus::from_mbox(
        &Corpus::generate(a.seed, 200, Size::Realistic).to_mbox(),
    ));
    let cfg = Arc::new(RunConfig {
        target,
        users: a.users.max(1),
        clients: a.clients.max(1),
        duration: Duration::from_secs(a.duration),
        mix: mix.clone(),
        seed: a.seed,
        idle_hold: Duration::from_millis(a.idle_hold_ms),
        corpus,
    });
    let (rec, elapsed) = workload::run(cfg).await;
    let mut report =
        Report::new(a.scenario.as_deref().unwrap_or(&a.mix), "").with_recorder(&rec, elapsed);
    report.set("clients", a.clients);
    report.set("users", a.users);
    report.set("mix", mix.describe());
    if let Some(pid) = a.server_pid {
        let mem = procmem::measure(pid)?;
        report
            .metrics
            .insert("after_rss_kib".into(), mem.rss_kib as f64);
        report
            .metrics
            .insert("after_pss_kib".into(), mem.pss_kib as f64);
    }
    a.target.finish(report, a.print_json)
}

async fn check(a: CheckArgs) -> anyhow::Result<()> {
    let password = |i: usize| a.password.replace("{i}", &i.to_string());
    let spawned = match &a.spawn_roost {
        Some(binary) => Some(check::SpawnedRoost::start(binary, a.users, password)?),
        None => None,
    };
    let addr = match &spawned {
        Some(s) => s.addr.clone(),
        None if a.addr.is_empty() => anyhow::bail!("give --addr or --spawn-roost"),
        None => a.addr.clone(),
    };
    let cfg = check::CheckConfig {
        target: Target {
            addr,
            user_pattern: a.user_pattern.clone(),
            password: a.password.clone(),
            timeout: Duration::from_secs(a.timeout),
        },
        clients: a.clients.max(1),
        users: a.users.clamp(1, a.clients.max(1)),
        duration: Duration::from_secs(a.duration),
        checkpoint_every: Duration::from_secs(a.checkpoint.max(1)),
        prefill: a.prefill,
        seed: a.seed,
    };
    eprintln!(
        "check: {} clients on {} accounts for {} s against {}",
        cfg.clients, cfg.users, a.duration, cfg.target.addr
    );
    let findings = check::run(cfg).await?;
    println!("{}", findings.summary());
    drop(spawned);
    let errors = findings.error_count();
    if errors > 0 {
        anyhow::bail!("{errors} errors");
    }
    println!("check: 0 errors");
    Ok(())
}

async fn faults(a: FaultsArgs) -> anyhow::Result<()> {
    let binary = match a.roost {
        Some(b) => b,
        None => std::env::current_exe()?.with_file_name("roost"),
    };
    let kinds = if a.kinds.is_empty() {
        faults::Kind::ALL.to_vec()
    } else {
        a.kinds
    };
    let passed = faults::run(faults::FaultsConfig {
        binary,
        nodes: a.nodes.max(2),
        accounts: a.accounts.max(1),
        writers_per_node: a.writers_per_node.max(1),
        rounds_per_kind: a.rounds_per_kind.max(1),
        kinds,
        lease: Duration::from_millis(a.lease_ms),
        warmup: Duration::from_millis(a.warmup_ms),
        cold_every: a.cold_every,
        seed: a.seed,
        keep_dir: a.keep_dir,
        namespaces: !a.no_namespaces,
        strict_append_no: !a.lenient_append_no,
        prefill: a.prefill,
    })
    .await?;
    anyhow::ensure!(passed, "the fault suite failed (see the report above)");
    Ok(())
}
