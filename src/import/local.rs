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
        progress.folder(&folder.name);
        summary.folders += 1;
        if let Err(reason) = writer.ensure_folder(&folder.name).await? {
            summary.fail(format!("folder {}", folder.name), reason);
            continue;
        }
        let mut present = writer.present(&folder.name).await?;
        let mut appender = FolderAppender::new(writer, &folder.name);
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
        appender.flush(&mut summary, &progress).await?;
        progress.folder_done(&folder.name, appender.counts);
        summary.messages.add(appender.counts);
    }
    progress.finish();
    Ok(summary)
}
