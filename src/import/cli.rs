//! `roost import maildir|mbox|imap`: the command line, and the run that ties a source to the
//! account's writer.

use std::path::PathBuf;

use clap::Subcommand;
use roost_proto::Secret;

use super::imap_source::{self, Source, SourceError, SourceUrl};
use super::local::{self, LocalFolder};
use super::maildir::{self, MaildirError};
use super::mbox::{self, MboxError};
use super::summary::Summary;
use super::writer::{Writer, WriterError};
use crate::config::Config;
use crate::server::{self, ServeError};

/// Where the password of `roost import imap` comes from when no file is given.
pub const PASSWORD_ENV: &str = "ROOST_IMPORT_PASSWORD";

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import a Maildir++ (Dovecot, Courier): INBOX, every `.Folder`, flags, keywords and
    /// internal dates.
    Maildir {
        /// The Maildir's root (the directory holding cur/, new/ and the .Folder directories).
        path: PathBuf,
        /// The Roost user whose account receives the mail.
        #[arg(long)]
        user: String,
    },
    /// Import an mbox file (mboxrd or mboxo) into one folder.
    Mbox {
        /// The mbox file.
        file: PathBuf,
        /// The Roost user whose account receives the mail.
        #[arg(long)]
        user: String,
        /// The folder to import into (created when missing).
        #[arg(long, default_value = "INBOX")]
        folder: String,
    },
    /// Copy every folder from another IMAP server, with flags and internal dates. Run it
    /// again to finish an interrupted copy: only missing messages are fetched.
    Imap {
        /// The source account: imaps://USER@HOST[:PORT] (TLS, port 993) or
        /// imap://USER@HOST[:PORT] (no TLS, port 143; for localhost or trusted networks).
        #[arg(long, value_name = "URL")]
        from: SourceUrl,
        /// The Roost user whose account receives the mail.
        #[arg(long)]
        user: String,
        /// A file holding the source account's password (first line) [default: the
        /// ROOST_IMPORT_PASSWORD environment variable]
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Trust the certificates in this PEM file instead of the system's (a self-signed
        /// source server) [default: the system's trust store]
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
    },
}

impl ImportCommand {
    fn user(&self) -> &str {
        match self {
            ImportCommand::Maildir { user, .. }
            | ImportCommand::Mbox { user, .. }
            | ImportCommand::Imap { user, .. } => user,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Maildir(#[from] MaildirError),
    #[error("{0}")]
    Mbox(#[from] MboxError),
    #[error("source: {0}")]
    Source(#[from] SourceError),
    #[error("{0}")]
    Writer(#[from] WriterError),
    #[error("{0}")]
    Serve(#[from] ServeError),
    #[error("cannot read the password file {path} (--password-file): {source}")]
    PasswordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no password for the source: give --password-file or set {PASSWORD_ENV}")]
    NoPassword,
}

/// What to import, read and checked before the writer is asked for a session.
enum Job {
    Local(Vec<LocalFolder>),
    Imap(Box<Source>),
}

impl Job {
    fn prepare(command: ImportCommand) -> Result<Job, ImportError> {
        Ok(match command {
            ImportCommand::Maildir { path, .. } => Job::Local(maildir::folders(&path)?),
            ImportCommand::Mbox { file, folder, .. } => {
                Job::Local(vec![mbox::folder(&file, &folder)?])
            }
            ImportCommand::Imap {
                from,
                password_file,
                ca_file,
                ..
            } => Job::Imap(Box::new(Source {
                url: from,
                password: password(password_file)?,
                ca_file,
            })),
        })
    }
}

fn password(file: Option<PathBuf>) -> Result<Secret<String>, ImportError> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|source| ImportError::PasswordFile { path, source })?;
            Ok(Secret::new(
                text.lines().next().unwrap_or_default().to_owned(),
            ))
        }
        None => std::env::var(PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Secret::new)
            .ok_or(ImportError::NoPassword),
    }
}

/// Runs the import through the account's writer.
///
/// # Errors
/// When the source cannot be read, or no writer can be reached, or the session fails.
/// Single messages that fail are listed in the summary instead.
pub fn run(command: ImportCommand, config: Config) -> Result<Summary, ImportError> {
    let user = command.user().to_owned();
    let job = Job::prepare(command)?;
    server::with_writer_session(config, &user, |stream| async move {
        let mut writer = Writer::open(Box::new(stream)).await?;
        let summary = match job {
            Job::Local(folders) => local::import(folders, &mut writer).await?,
            Job::Imap(source) => imap_source::import(&source, &mut writer).await?,
        };
        writer.logout().await;
        Ok(summary)
    })?
}
