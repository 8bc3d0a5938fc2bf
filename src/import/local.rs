//! Importing from files (Maildir, mbox): each folder's messages are read one at a time,
//! checked against the folder's listing and appended in batches.

use super::fingerprint::Fingerprint;
use super::progress::Progress;
use super::summary::{Failure, Summary};
use super::writer::{FolderAppender, Writer, WriterError};
use super::Message;

/// A message and where it was read from (a file, or a position in one).
pub struct Sourced {
    pub source: String,
    pub message: Message,
}

/// One folder of a local source.
pub struct LocalFolder {
    /// The name in Roost (`/`-separated, UTF-8).
    pub name: String,
    /// How many messages it has, when known without reading them.
    pub count: Option<u64>,
    pub messages: Box<dyn Iterator<Item = Result<Sourced, Failure>>>,
}

/// Imports `folders` through `writer`.
///
/// # Errors
/// When the session with the writer fails; refused messages and unreadable files are
/// counted in the summary instead.
pub async fn import(
    folders: Vec<LocalFolder>,
    writer: &mut Writer,
) -> Result<Summary, WriterError> {
    let total = folders.iter().map(|f| f.count).sum::<Option<u64>>();
    let progress = Progress::new(total);
    let mut summary = Summary::default();
    for folder in folders {
        let Some((mut appender, mut present)) =
            FolderAppender::open(writer, &folder.name, &mut summary, &progress).await?
        else {
            continue;
        };
        for item in folder.messages {
            match item {
                Ok(s) if present.take(&Fingerprint::of_message(&s.message.data)) => {
                    appender.skipped(&progress);
                }
                Ok(s) => {
                    appender
                        .push(s.source, s.message, &mut summary, &progress)
                        .await?;
                }
                Err(f) => appender.failed(f.source, f.reason, &mut summary, &progress),
            }
        }
        appender.finish(&mut summary, &progress).await?;
    }
    progress.finish();
    Ok(summary)
}
