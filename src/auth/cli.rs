//! The `roost user` subcommands: add, remove, list users and change passwords in the users
//! file.
//!
//! A running server notices the change within a second (see `userdb`), so no restart or
//! signal is needed. Passwords come from one line of standard input with `--password-stdin`
//! (for scripts), or else from a no-echo prompt on the terminal, asked twice. A password is
//! never taken from the command line, where `ps` and shell history would show it.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use clap::Subcommand;
use roost_proto::Secret;

use crate::auth::password::hash_password;
use crate::auth::scram::ScramKeys;
use crate::auth::users::{check_name, UsersError, UsersFile};
use crate::store::account::{account_dir_name, read_usage};
use crate::store::quota::{self, Limits, Usage};

/// `roost user ...`
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum UserCommand {
    /// Create a user
    Add {
        name: String,
        /// Read the password from the first line of standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete a user
    Remove { name: String },
    /// Print the user names, one per line
    List,
    /// Change a user's password
    Passwd {
        name: String,
        /// Read the password from the first line of standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show a user's quota limits and usage; with flags, set the user's own limits
    Quota {
        name: String,
        /// Storage limit in KiB, or "none" for no limit [default: unchanged]
        #[arg(long, value_parser = parse_limit)]
        storage_kib: Option<LimitArg>,
        /// Message count limit, or "none" for no limit [default: unchanged]
        #[arg(long, value_parser = parse_limit)]
        messages: Option<LimitArg>,
        /// Remove the user's own limits: the [quota] defaults of the configuration apply
        #[arg(long, conflicts_with_all = ["storage_kib", "messages"])]
        default: bool,
    },
}

/// A limit on the command line: a number, or `none` for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitArg(pub Option<u64>);

fn parse_limit(value: &str) -> Result<LimitArg, String> {
    match value {
        "none" => Ok(LimitArg(None)),
        n => n
            .parse()
            .map(|n| LimitArg(Some(n)))
            .map_err(|_| format!("{n:?} is neither a number nor \"none\"")),
    }
}

/// What `roost user quota` reads besides the users file.
#[derive(Debug, Clone)]
pub struct QuotaSources {
    /// `<data_dir>/accounts`
    pub accounts: std::path::PathBuf,
    /// `[quota]` of the configuration.
    pub default: Limits,
}

/// Why a `roost user` command failed; the text is meant for the admin's terminal.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Users(#[from] UsersError),
    #[error("cannot read the password: {0}")]
    Input(#[from] io::Error),
    #[error("{0}")]
    Password(&'static str),
}

/// Runs `cmd` against the users file at `users_file`, printing results to standard output.
///
/// # Errors
/// See [`CliError`]; the file is unchanged whenever an error is returned.
pub fn run(
    cmd: UserCommand,
    users_file: &Path,
    scram_iterations: u32,
    quota: &QuotaSources,
) -> Result<(), CliError> {
    if let UserCommand::Quota {
        name,
        storage_kib,
        messages,
        default,
    } = cmd
    {
        let change = QuotaChange {
            storage_kib,
            messages,
            default,
        };
        return quota_command(&name, users_file, quota, change, &mut io::stdout().lock());
    }
    let mut ask = |name: &str, from_stdin: bool| {
        let stdin = io::stdin();
        if from_stdin {
            read_password_line(&mut stdin.lock())
        } else if stdin.is_terminal() {
            prompt_twice(name)
        } else {
            Err(CliError::Password(
                "standard input is not a terminal: pass --password-stdin to read the password from it",
            ))
        }
    };
    execute(
        cmd,
        users_file,
        scram_iterations,
        &mut ask,
        &mut io::stdout().lock(),
    )
}

/// Asks for a password: (user name, whether `--password-stdin` was given) → password.
type AskPassword<'a> = dyn FnMut(&str, bool) -> Result<Secret<Vec<u8>>, CliError> + 'a;

/// The commands themselves, with the password source and output passed in so tests can drive
/// them.
fn execute(
    cmd: UserCommand,
    path: &Path,
    scram_iterations: u32,
    ask: &mut AskPassword<'_>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match cmd {
        UserCommand::Add {
            name,
            password_stdin,
        } => {
            // Check first so the admin is not asked for a password that cannot be used.
            check_name(&name).map_err(|why| UsersError::InvalidName(name.clone(), why))?;
            if UsersFile::load_or_empty(path)?.get(&name).is_some() {
                return Err(UsersError::Exists(name).into());
            }
            let password = ask(&name, password_stdin)?;
            // Load again: another `roost user` may have saved while we waited for input.
            let mut file = UsersFile::load_or_empty(path)?;
            file.add(&name, hash_password(password.expose()))?;
            store_scram_keys(&mut file, &name, &password, scram_iterations, out)?;
            file.save(path)?;
            writeln!(out, "user {name} added")?;
        }
        UserCommand::Remove { name } => {
            let mut file = UsersFile::load_or_empty(path)?;
            file.remove(&name)?;
            file.save(path)?;
            writeln!(out, "user {name} removed")?;
        }
        UserCommand::List => {
            for name in UsersFile::load_or_empty(path)?.list() {
                writeln!(out, "{name}")?;
            }
        }
        UserCommand::Quota { .. } => {
            return Err(CliError::Password("roost user quota is run by `run`"));
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if UsersFile::load_or_empty(path)?.get(&name).is_none() {
                return Err(UsersError::NoSuchUser(name).into());
            }
            let password = ask(&name, password_stdin)?;
            let mut file = UsersFile::load_or_empty(path)?;
            file.set_password(&name, hash_password(password.expose()))?;
            store_scram_keys(&mut file, &name, &password, scram_iterations, out)?;
            file.save(path)?;
            writeln!(out, "password of {name} changed")?;
        }
    }
    Ok(())
}

/// `roost user quota`'s flags.
#[derive(Debug, Clone, Copy)]
struct QuotaChange {
    storage_kib: Option<LimitArg>,
    messages: Option<LimitArg>,
    default: bool,
}

fn show_limit(limit: Option<u64>) -> String {
    limit.map_or_else(|| "no limit".to_owned(), |n| n.to_string())
}

/// Sets the user's own limits when asked, then prints the limits in force (and where they
/// come from) and the usage read from the account's files.
fn quota_command(
    name: &str,
    path: &Path,
    sources: &QuotaSources,
    change: QuotaChange,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut file = UsersFile::load_or_empty(path)?;
    if file.get(name).is_none() {
        return Err(UsersError::NoSuchUser(name.to_owned()).into());
    }
    if change.default || change.storage_kib.is_some() || change.messages.is_some() {
        let limits = (!change.default).then(|| {
            let own = file.quota(name).unwrap_or(sources.default);
            Limits {
                storage_kib: change.storage_kib.map_or(own.storage_kib, |l| l.0),
                messages: change.messages.map_or(own.messages, |l| l.0),
            }
        });
        file.set_quota(name, limits)?;
        file.save(path)?;
        writeln!(out, "quota of {name} changed")?;
    }
    let account = sources.accounts.join(account_dir_name(name));
    let set_by_admin = quota::read_override(&account)?;
    let (limits, from) = match (set_by_admin, file.quota(name)) {
        (Some(limits), _) => (limits, "set by SETQUOTA, which wins over the users file"),
        (None, Some(limits)) => (limits, "the users file"),
        (None, None) => (sources.default, "the configuration's [quota]"),
    };
    let usage = if account.is_dir() {
        read_usage(&account).map_err(|e| CliError::Input(io::Error::other(e.to_string())))?
    } else {
        Usage::default()
    };
    writeln!(
        out,
        "{name}: storage {} KiB of {}, messages {} of {} (limits from {from})",
        usage.storage_kib(),
        show_limit(limits.storage_kib),
        usage.messages,
        show_limit(limits.messages),
    )?;
    Ok(())
}

/// Adds SCRAM-SHA-256 keys beside the hash; a password SASLprep refuses gets none (PLAIN and
/// LOGIN still work), and the admin is told.
fn store_scram_keys(
    file: &mut UsersFile,
    name: &str,
    password: &Secret<Vec<u8>>,
    iterations: u32,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match ScramKeys::derive(password.expose(), iterations) {
        Ok(keys) => file.set_scram(name, &keys)?,
        Err(why) => writeln!(out, "no SCRAM keys for {name}: {why}")?,
    }
    Ok(())
}

/// Reads one line as the password, without its line ending.
fn read_password_line(input: &mut dyn BufRead) -> Result<Secret<Vec<u8>>, CliError> {
    let mut line = Vec::new();
    input.read_until(b'\n', &mut line)?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.is_empty() {
        return Err(CliError::Password("empty password"));
    }
    Ok(Secret::new(line))
}

/// Prompts on the terminal (on stderr, so stdout stays clean) with echo off, twice.
fn prompt_twice(name: &str) -> Result<Secret<Vec<u8>>, CliError> {
    let first = prompt(&format!("Password for {name}: "))?;
    let second = prompt("Retype password: ")?;
    if first != second {
        return Err(CliError::Password("passwords do not match"));
    }
    Ok(first)
}

fn prompt(text: &str) -> Result<Secret<Vec<u8>>, CliError> {
    eprint!("{text}");
    io::stderr().flush()?;
    let echo_off = EchoOff::new();
    let password = read_password_line(&mut io::stdin().lock());
    drop(echo_off);
    // The Enter key was not echoed either.
    eprintln!();
    password
}

/// Turns terminal echo off for its lifetime, using `stty` so no terminal crate is needed
/// for this one prompt. If `stty` is missing the prompt still works, with echo.
struct EchoOff {
    active: bool,
}

impl EchoOff {
    fn new() -> EchoOff {
        let active = stty("-echo");
        if !active {
            eprint!("(could not turn off echo: the password will be visible) ");
        }
        EchoOff { active }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.active {
            stty("echo");
        }
    }
}

fn stty(setting: &str) -> bool {
    Command::new("stty")
        .arg(setting)
        .stdin(Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::verify_password;

    /// Runs a command with `password` as the answer to any prompt; returns what it printed.
    fn exec(cmd: UserCommand, path: &Path, password: &[u8]) -> Result<String, CliError> {
        let mut ask = |_: &str, _: bool| Ok(Secret::new(password.to_vec()));
        let mut out = Vec::new();
        execute(cmd, path, 4096, &mut ask, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn add(name: &str) -> UserCommand {
        UserCommand::Add {
            name: name.into(),
            password_stdin: true,
        }
    }

    #[test]
    fn add_list_passwd_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        assert_eq!(
            exec(add("alice"), &path, b"pw1").unwrap(),
            "user alice added\n"
        );
        assert_eq!(exec(add("bob"), &path, b"pw2").unwrap(), "user bob added\n");
        assert_eq!(exec(UserCommand::List, &path, b"").unwrap(), "alice\nbob\n");

        let passwd = UserCommand::Passwd {
            name: "alice".into(),
            password_stdin: false,
        };
        assert_eq!(
            exec(passwd, &path, b"new").unwrap(),
            "password of alice changed\n"
        );
        let file = UsersFile::load(&path).unwrap();
        assert!(verify_password(file.get("alice").unwrap(), b"new"));

        let remove = UserCommand::Remove { name: "bob".into() };
        assert_eq!(exec(remove, &path, b"").unwrap(), "user bob removed\n");
        assert_eq!(exec(UserCommand::List, &path, b"").unwrap(), "alice\n");
    }

    #[test]
    fn errors_say_what_is_wrong_and_ask_no_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let asked = std::cell::Cell::new(false);
        let mut ask = |_: &str, _: bool| {
            asked.set(true);
            Ok(Secret::new(b"pw".to_vec()))
        };
        let mut run =
            |cmd| execute(cmd, &path, 4096, &mut ask, &mut Vec::new()).map_err(|e| e.to_string());

        assert_eq!(
            run(UserCommand::Remove { name: "bob".into() }),
            Err("no such user: bob".into())
        );
        assert_eq!(
            run(UserCommand::Passwd {
                name: "bob".into(),
                password_stdin: true
            }),
            Err("no such user: bob".into())
        );
        assert!(run(add("bad name")).unwrap_err().contains("whitespace"));
        assert!(!asked.get());
        run(add("alice")).unwrap();
        assert_eq!(run(add("alice")), Err("user alice already exists".into()));
    }

    #[test]
    fn password_line_loses_its_line_ending_only() {
        let read = |input: &[u8]| read_password_line(&mut &input[..]).map(|s| s.into_inner());
        assert_eq!(read(b"secret\n").unwrap(), b"secret");
        assert_eq!(read(b"secret\r\nmore\n").unwrap(), b"secret");
        assert_eq!(read(b" sp ace ").unwrap(), b" sp ace ");
        assert_eq!(read(b"\xffbytes\n").unwrap(), b"\xffbytes");
        assert!(read(b"\n").is_err());
        assert!(read(b"").is_err());
    }

    #[test]
    fn clap_parses_the_subcommands() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(subcommand)]
            user: UserCommand,
        }
        let cli = Cli::try_parse_from(["roost", "add", "alice", "--password-stdin"]).unwrap();
        assert_eq!(cli.user, add("alice"));
        let cli = Cli::try_parse_from(["roost", "list"]).unwrap();
        assert_eq!(cli.user, UserCommand::List);
        assert!(Cli::try_parse_from(["roost", "add"]).is_err());
    }
}
