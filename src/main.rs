//! roost: a clustered IMAP4rev2 mail access server.
//!
//! `roost serve` runs a node; `roost imap --user NAME` speaks IMAP on stdin/stdout for a
//! pre-authenticated user; `roost import ...` copies existing mail in; `roost user ...` manages the users file; `roost cluster ...` shows
//! and steers the cluster; `roost check-config` prints the effective configuration.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use roost::config::{Config, Overrides};
use roost::{auth, cluster, memory, server, telemetry};

#[derive(Parser)]
#[command(
    name = "roost",
    version,
    about = "Clustered IMAP4rev2 mail access server"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a server node until SIGTERM or SIGINT.
    Serve(Overrides),
    /// Speak IMAP on stdin/stdout for a pre-authenticated user (for ssh `Tunnel` settings).
    Imap {
        #[arg(long)]
        user: String,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Import mail into an account (Maildir, mbox, another IMAP server), through the
    /// account's single writer (the running node, or this process when none runs).
    Import {
        #[command(subcommand)]
        command: roost::import::cli::ImportCommand,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Manage the users file.
    User {
        #[command(subcommand)]
        command: auth::cli::UserCommand,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Inspect and steer the cluster (needs `cluster.redis_url`).
    Cluster {
        #[command(subcommand)]
        command: cluster::cli::ClusterCommand,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Validate the configuration and print the effective settings.
    CheckConfig(Overrides),
    /// Print the version.
    Version,
}

fn load(overrides: &Overrides) -> Result<Config, ExitCode> {
    Config::load(overrides).map_err(|e| {
        eprintln!("roost: {e}");
        ExitCode::from(2)
    })
}

fn run(cli: Cli) -> Result<(), ExitCode> {
    match cli.command {
        Cmd::Serve(overrides) => {
            let config = load(&overrides)?;
            let telemetry = telemetry::init(&config.log, &config.telemetry, &config.node_id);
            // Printed once, plainly, as the last line: not also as a log record.
            let served = server::serve(config).map_err(|e| {
                eprintln!("roost: {e}");
                ExitCode::FAILURE
            });
            // After the actix system has stopped: the flush blocks this thread briefly.
            telemetry.shutdown();
            served
        }
        Cmd::Imap { user, overrides } => {
            let config = load(&overrides)?;
            let telemetry = telemetry::init(&config.log, &config.telemetry, &config.node_id);
            let served = server::serve_stdio(config, &user).map_err(|e| {
                eprintln!("roost: {e}");
                ExitCode::FAILURE
            });
            telemetry.shutdown();
            served
        }
        Cmd::Import { command, overrides } => {
            let config = load(&overrides)?;
            let summary = roost::import::cli::run(command, config).map_err(|e| {
                eprintln!("roost: import: {e}");
                ExitCode::FAILURE
            })?;
            print!("roost import: {summary}");
            if summary.complete() {
                Ok(())
            } else {
                Err(ExitCode::FAILURE)
            }
        }
        Cmd::User { command, overrides } => {
            let config = load(&overrides)?;
            auth::cli::run(command, &config.users_file()).map_err(|e| {
                eprintln!("roost: {e}");
                ExitCode::FAILURE
            })
        }
        Cmd::Cluster { command, overrides } => {
            let config = load(&overrides)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    eprintln!("roost: cannot start the runtime: {e}");
                    ExitCode::FAILURE
                })?;
            runtime
                .block_on(cluster::cli::run(command, &config))
                .map_err(|e| {
                    eprintln!("roost: {e}");
                    ExitCode::FAILURE
                })
        }
        Cmd::CheckConfig(overrides) => {
            let config = load(&overrides)?;
            print!("{}", config.to_toml());
            eprintln!("roost: configuration is valid");
            Ok(())
        }
        Cmd::Version => {
            println!("roost {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}

/// Makes glibc serve large allocations (argon2's 19 MiB per password check, big message
/// bodies) with their own mappings, returned to the system on free. Left to its dynamic
/// threshold, glibc soon serves them from per-thread arenas that never shrink, and each
/// blocking-pool thread that once checked a password keeps ~58 MB (docs/performance.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn bound_allocator_memory() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_allocator_memory() {}

/// Mail, logs, spool files and sockets are the users' private data: everything this process
/// creates is readable by its own Unix user only (files 0600, directories 0700), whatever
/// umask it was started with. Files meant for others (the LMTP socket, 0660) set their mode.
fn private_files() {
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

fn main() -> ExitCode {
    private_files();
    bound_allocator_memory();
    memory::start_releaser();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
