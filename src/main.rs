//! roost: a clustered IMAP4rev2 mail access server.
//!
//! `roost serve` runs a node; `roost imap --user NAME` speaks IMAP on stdin/stdout for a
//! pre-authenticated user; `roost import ...` copies existing mail in; `roost user ...` manages the users file; `roost cluster ...` shows
//! and steers the cluster; `roost check-config` prints the effective configuration.

mod args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use roost::config::{Config, Overrides};
use roost::{auth, cluster, memory, server, telemetry};

use args::{GlobalArgs, LogArgs, NodeArgs, RedisArgs, ServeArgs, UsersArgs};

#[derive(Parser)]
#[command(
    name = "roost",
    version,
    about = "Clustered IMAP4rev2 mail access server"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a server node until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Speak IMAP on stdin/stdout for a pre-authenticated user (for ssh `Tunnel` settings).
    Imap {
        /// The user whose account the session opens.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Import mail into an account (Maildir, mbox, another IMAP server), through the
    /// account's single writer (the running node, or this process when none runs).
    Import {
        #[command(subcommand)]
        command: roost::import::cli::ImportCommand,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Check one account's files offline and repair what can be repaired (nothing is
    /// deleted), printing what was found and done. Refuses while a node runs on the data
    /// directory, and in a cluster.
    Fsck {
        /// The user whose account is checked.
        #[arg(long)]
        user: String,
        /// Also expunge messages whose message file is missing (a node keeps them listed,
        /// and FETCH fails for them alone) [default: false]
        #[arg(long)]
        expunge_missing: bool,
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// Manage the users file.
    User {
        #[command(subcommand)]
        command: auth::cli::UserCommand,
        #[command(flatten)]
        users: UsersArgs,
    },
    /// Inspect and steer the cluster (needs `cluster.redis_url`).
    Cluster {
        #[command(subcommand)]
        command: cluster::cli::ClusterCommand,
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// Validate the configuration as `serve` does before it binds, and print the effective
    /// settings.
    CheckConfig {
        #[command(flatten)]
        flags: ServeArgs,
        /// Check only the settings, not the files and directories they name (for a
        /// configuration meant for another machine, as the chart's checks do) [default: false]
        #[arg(long)]
        settings_only: bool,
    },
    /// Print the version.
    Version,
}

fn load(overrides: &Overrides) -> Result<Config, ExitCode> {
    Config::load(overrides).map_err(|e| {
        eprintln!("roost: {e}");
        ExitCode::from(2)
    })
}

/// Whether anything chose where the users file is: otherwise it is the default under the
/// current directory, easily not the one a server started elsewhere reads.
fn users_file_chosen(overrides: &Overrides) -> bool {
    overrides.config.is_some() || overrides.data_dir.is_some() || overrides.users_file.is_some()
}

/// `roost user ...` against the configured users file, named with its absolute path.
fn run_user(command: auth::cli::UserCommand, overrides: &Overrides) -> Result<(), ExitCode> {
    let config = load(overrides)?;
    let users_file = config.users_file();
    let shown = std::path::absolute(&users_file).unwrap_or_else(|_| users_file.clone());
    let existed = users_file.exists();
    let quota = auth::cli::QuotaSources {
        accounts: config.data_dir.join("accounts"),
        default: config.quota.default_limits(),
    };
    let result = auth::cli::run(command, &users_file, config.auth.scram_iterations, &quota);
    if !existed && users_file.exists() {
        eprintln!("roost: created the users file {}", shown.display());
        if !users_file_chosen(overrides) {
            eprintln!(
                "roost: warning: no configuration names this users file (no --config, \
                 --data-dir or --users-file, nor ROOST_CONFIG, ROOST_DATA_DIR or \
                 ROOST_USERS_FILE): it is the default under the current directory, and a \
                 server started elsewhere or with a configuration will not read it"
            );
        }
    } else {
        eprintln!("roost: users file {}", shown.display());
    }
    result.map_err(|e| {
        eprintln!("roost: {e}");
        ExitCode::FAILURE
    })
}

fn run(cli: Cli) -> Result<(), ExitCode> {
    let mut overrides = cli.global.overrides();
    match cli.command {
        Cmd::Serve(flags) => {
            flags.apply(&mut overrides);
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
        Cmd::Imap { user, node, log } => {
            node.apply(&mut overrides);
            log.apply(&mut overrides);
            let config = load(&overrides)?;
            let telemetry = telemetry::init(&config.log, &config.telemetry, &config.node_id);
            let served = server::serve_stdio(config, &user).map_err(|e| {
                eprintln!("roost: {e}");
                ExitCode::FAILURE
            });
            telemetry.shutdown();
            served
        }
        Cmd::Import { command, node } => {
            node.apply(&mut overrides);
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
        Cmd::Fsck {
            user,
            expunge_missing,
            redis,
        } => {
            redis.apply(&mut overrides);
            let config = load(&overrides)?;
            let options = roost::fsck::FsckOptions { expunge_missing };
            let report = roost::fsck::run(&config, &user, options).map_err(|e| {
                eprintln!("roost: fsck: {e}");
                ExitCode::FAILURE
            })?;
            println!("roost fsck: account {user}");
            println!("{report}");
            Ok(())
        }
        Cmd::User { command, users } => {
            users.apply(&mut overrides);
            run_user(command, &overrides)
        }
        Cmd::Cluster { command, redis } => {
            redis.apply(&mut overrides);
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
        Cmd::CheckConfig {
            flags,
            settings_only,
        } => {
            flags.apply(&mut overrides);
            let config = load(&overrides)?;
            let checked = if settings_only {
                roost::preflight::check_settings(&config)
            } else {
                roost::preflight::check(&config)
            };
            checked.map_err(|e| {
                eprintln!("roost: {e}");
                ExitCode::from(2)
            })?;
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every subcommand at any depth, with its path (`roost user add`), built from the root so
    /// that global flags are propagated as when clap runs.
    fn commands() -> Vec<(String, clap::Command)> {
        let mut root = Cli::command();
        root.build();
        let mut all = vec![("roost".to_owned(), root)];
        let mut next = 0;
        while next < all.len() {
            let (path, command) = all[next].clone();
            for sub in command.get_subcommands() {
                all.push((format!("{path} {}", sub.get_name()), sub.clone()));
            }
            next += 1;
        }
        all
    }

    /// Flags as `--help` shows them, with globals propagated (as clap does when it runs).
    fn flags(command: &clap::Command) -> Vec<clap::Arg> {
        command
            .get_arguments()
            .filter(|a| {
                a.get_long().is_some() && !matches!(a.get_id().as_str(), "help" | "version")
            })
            .cloned()
            .collect()
    }

    #[test]
    fn every_flag_has_a_description_that_shows_its_default() {
        Cli::command().debug_assert();
        for (path, command) in commands() {
            for arg in flags(&command) {
                let long = arg.get_long().unwrap_or_default();
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                assert!(!help.is_empty(), "{path} --{long} has no description");
                let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
                let shows_default =
                    !arg.get_default_values().is_empty() || help.contains("[default:");
                assert!(
                    !takes_value || arg.is_required_set() || shows_default,
                    "{path} --{long} does not show its default: {help}"
                );
            }
        }
    }

    #[test]
    fn serve_flags_are_listed_only_where_they_are_used() {
        for (path, command) in commands() {
            let longs: Vec<String> = flags(&command)
                .iter()
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect();
            let serving = path == "roost serve" || path == "roost check-config";
            for serve_only in [
                "imap-listen",
                "http-listen",
                "tls-cert",
                "link-listen",
                "lease-ttl-ms",
            ] {
                assert_eq!(
                    longs.iter().any(|l| l == serve_only),
                    serving,
                    "{path}: --{serve_only} in {longs:?}"
                );
            }
            assert!(
                path == "roost"
                    || path.split(' ').any(|w| w == "help")
                    || longs.iter().any(|l| l == "data-dir"),
                "{path} lacks the global --data-dir: {longs:?}"
            );
        }
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "roost",
            "user",
            "add",
            "bob",
            "--data-dir",
            "d",
            "--users-file",
            "u",
            "-c",
            "x.toml",
        ])
        .unwrap();
        assert_eq!(
            cli.global.data_dir.as_deref(),
            Some(std::path::Path::new("d"))
        );
        assert_eq!(
            cli.global.config.as_deref(),
            Some(std::path::Path::new("x.toml"))
        );
        let super::Cmd::User { users, .. } = cli.command else {
            panic!("not `roost user`");
        };
        assert_eq!(users.users_file.as_deref(), Some(std::path::Path::new("u")));
    }

    /// The `roost serve` flag(s) that set `key`, found by the key each flag's help names.
    fn flags_for(key: &str) -> Vec<String> {
        let serve = commands()
            .into_iter()
            .find(|(path, _)| path == "roost serve")
            .expect("roost serve")
            .1;
        flags(&serve)
            .iter()
            .filter(|a| {
                let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                let long = a.get_long().unwrap_or_default();
                help.contains(&format!("(`{key}`"))
                    || (key == "listeners"
                        && long.ends_with("-listen")
                        && help.contains("listeners"))
            })
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect()
    }

    /// The reference table of docs/configuration.md, rendered from the configuration's keys
    /// and defaults, the variables' naming rule and the flags' help texts.
    fn settings_table() -> String {
        use roost::config::env;
        let mut out = String::from("| key | default | variable | flag |\n|---|---|---|---|\n");
        for (key, default) in env::keys() {
            let default = match (key.as_str(), default) {
                ("node_id", _) => "the host name".to_owned(),
                ("listeners", _) => {
                    "IMAP on 127.0.0.1:1143 (STARTTLS), 127.0.0.1:1993 (TLS)".to_owned()
                }
                (_, None) => "none".to_owned(),
                (_, Some(value)) => format!("`{value}`"),
            };
            let flags = flags_for(&key)
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "| `{key}` | {default} | `{}` | {flags} |\n",
                env::variable(&key)
            ));
        }
        out
    }

    const BEGIN: &str =
        "<!-- settings table: generated by `cargo test --bin roost`; edit the code -->\n";
    const END: &str = "<!-- end of settings table -->\n";

    /// docs/configuration.md carries the table as the code renders it. Run with
    /// `ROOST_DOCS_WRITE=1` (not a setting: no `__`) to rewrite it after a change.
    #[test]
    fn the_settings_table_in_the_docs_is_the_one_the_code_renders() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
        let docs = std::fs::read_to_string(path).unwrap();
        let (before, rest) = docs.split_once(BEGIN).expect("the table's start marker");
        let (table, after) = rest.split_once(END).expect("the table's end marker");
        let rendered = settings_table();
        if std::env::var_os("ROOST_DOCS_WRITE").is_some() {
            std::fs::write(path, format!("{before}{BEGIN}{rendered}{END}{after}")).unwrap();
        } else {
            assert_eq!(
                table, rendered,
                "rerun with ROOST_DOCS_WRITE=1 to update the docs"
            );
        }
    }

    /// Every flag the table lists sets its key: parsed as clap parses it, applied as `run`
    /// applies it.
    #[test]
    fn every_flag_in_the_table_sets_its_key() {
        use clap::Parser;
        use roost::config::{env, Config};
        for (key, default) in env::keys() {
            for flag in flags_for(&key) {
                let value = match (flag.as_str(), &default) {
                    ("--log-format", _) => "json".to_owned(),
                    (f, _) if f.ends_with("-listen") => "127.0.0.1:4242".to_owned(),
                    (_, Some(toml::Value::Integer(i))) => (i + 1).to_string(),
                    (_, Some(toml::Value::Boolean(b))) => (!b).to_string(),
                    _ => "/sample/value".to_owned(),
                };
                let mut argv = vec![
                    "roost".to_owned(),
                    "serve".to_owned(),
                    flag.clone(),
                    value.clone(),
                ];
                if flag.starts_with("--tls-") {
                    let other = if flag == "--tls-cert" {
                        "--tls-key"
                    } else {
                        "--tls-cert"
                    };
                    argv.extend([other.to_owned(), "/other".to_owned()]);
                }
                let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                let mut overrides = cli.global.overrides();
                let super::Cmd::Serve(args) = cli.command else {
                    panic!("not serve");
                };
                args.apply(&mut overrides);
                let config = Config::layered(&overrides, Vec::new()).unwrap();
                let shown = toml::Table::try_from(&config).unwrap();
                let mut found = Some(&shown);
                let parts: Vec<&str> = key.split('.').collect();
                for part in &parts[..parts.len() - 1] {
                    found = found
                        .and_then(|t| t.get(*part))
                        .and_then(toml::Value::as_table);
                }
                let got = found
                    .and_then(|t| t.get(*parts.last().unwrap()))
                    .map(ToString::to_string);
                assert!(
                    got.as_deref().is_some_and(|g| g.contains(&value)),
                    "{flag} {value} did not set {key}: {got:?}"
                );
            }
        }
    }
}
