//! The destination: the account's pre-authenticated session with its single writer, spoken
//! to as an IMAP client (CREATE, one listing per folder, MULTIAPPEND batches).

use roost_proto::{
    AppendMessage, Code, CommandBody, FetchAttribute, FetchValue, MailboxName, NameEncoding,
};

use super::client::{self, ClientError, Greeting, ImapClient, Io};
use super::fingerprint::{Fingerprint, Present};
use super::progress::Progress;
use super::summary::{Counts, Summary};
use super::Message;

/// Messages per APPEND command.
const BATCH_MESSAGES: usize = 100;
/// Octets per APPEND command, well under the server's command limit.
const BATCH_BYTES: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("the account's writer did not open a pre-authenticated session: {0}")]
    Open(ClientError),
    #[error("the session with the account's writer failed while {doing} {folder:?}: {source}")]
    Session {
        doing: &'static str,
        folder: String,
        source: ClientError,
    },
}

pub struct Writer {
    client: ImapClient,
}

fn wire_name(folder: &str) -> MailboxName {
    MailboxName::encode(folder, NameEncoding::ModifiedUtf7)
}

impl Writer {
    /// # Errors
    /// When the session does not start pre-authenticated.
    pub async fn open(io: Box<dyn Io>) -> Result<Writer, WriterError> {
        let (mut client, greeting) = ImapClient::open(io).await.map_err(WriterError::Open)?;
        if greeting != Greeting::PreAuth {
            return Err(WriterError::Open(ClientError::Greeting(
                "OK instead of PREAUTH".into(),
            )));
        }
        client
            .refresh_capabilities()
            .await
            .map_err(WriterError::Open)?;
        Ok(Writer { client })
    }

    /// Creates `folder` unless it exists. A refusal is the folder's failure (`Ok(Err)`); a
    /// broken session is everyone's (`Err`).
    ///
    /// # Errors
    /// When the session fails.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<Result<(), String>, WriterError> {
        if folder.eq_ignore_ascii_case("INBOX") {
            return Ok(Ok(()));
        }
        let create = CommandBody::Create {
            mailbox: wire_name(folder),
            special_use: Vec::new(),
        };
        match self.client.run(create, |_| {}).await {
            Ok(_) => Ok(Ok(())),
            Err(e) if e.code() == Some(&Code::AlreadyExists) => Ok(Ok(())),
            Err(e @ ClientError::Refused { .. }) => Ok(Err(e.to_string())),
            Err(source) => Err(WriterError::Session {
                doing: "creating",
                folder: folder.to_owned(),
                source,
            }),
        }
    }

    /// What `folder` already holds, in one listing.
    ///
    /// # Errors
    /// When the session fails or the folder cannot be opened.
    pub async fn present(&mut self, folder: &str) -> Result<Present, WriterError> {
        let session = |source| WriterError::Session {
            doing: "listing",
            folder: folder.to_owned(),
            source,
        };
        let mut present = Present::default();
        if self
            .client
            .examine(&wire_name(folder))
            .await
            .map_err(session)?
            == 0
        {
            return Ok(present);
        }
        let items = vec![FetchAttribute::Rfc822Size, client::fingerprint_fields()];
        self.client
            .uid_fetch(client::all_messages(), items, |items| {
                let size = items.iter().find_map(|i| match i {
                    FetchValue::Rfc822Size(n) => Some(*n),
                    _ => None,
                });
                if let Some(size) = size {
                    let header = client::section_data(&items).map_or(&[][..], |d| d.as_ref());
                    present.add(Fingerprint::new(size, header));
                }
            })
            .await
            .map_err(session)?;
        Ok(present)
    }

    /// Appends `messages` in one MULTIAPPEND; when the server refuses it, one by one so each
    /// refusal names its message. Returns each message's refusal, if any.
    async fn append(
        &mut self,
        folder: &str,
        messages: &[&Message],
    ) -> Result<Vec<Option<String>>, WriterError> {
        match self.append_all(folder, messages).await {
            Ok(()) => Ok(vec![None; messages.len()]),
            Err(e @ ClientError::Refused { .. }) if messages.len() == 1 => {
                Ok(vec![Some(e.to_string())])
            }
            Err(ClientError::Refused { .. }) => {
                let mut refusals = Vec::with_capacity(messages.len());
                for message in messages {
                    refusals.push(match self.append_all(folder, &[message]).await {
                        Ok(()) => None,
                        Err(e @ ClientError::Refused { .. }) => Some(e.to_string()),
                        Err(source) => return Err(self.failed(folder, source)),
                    });
                }
                Ok(refusals)
            }
            Err(source) => Err(self.failed(folder, source)),
        }
    }

    fn failed(&self, folder: &str, source: ClientError) -> WriterError {
        WriterError::Session {
            doing: "appending to",
            folder: folder.to_owned(),
            source,
        }
    }

    async fn append_all(&mut self, folder: &str, messages: &[&Message]) -> Result<(), ClientError> {
        let body = CommandBody::Append {
            mailbox: wire_name(folder),
            messages: messages
                .iter()
                .map(|m| AppendMessage {
                    flags: m.flags.clone(),
                    date: m.internal_date,
                    data: m.data.clone(),
                    binary: m.data.contains(&0),
                    utf8: false,
                })
                .collect(),
        };
        self.client.run(body, |_| {}).await.map(|_| ())
    }

    pub async fn logout(self) {
        self.client.logout().await;
    }
}

/// Collects one folder's new messages into batches and appends them, counting as it goes.
pub struct FolderAppender<'w> {
    writer: &'w mut Writer,
    folder: String,
    /// Each message with where it came from (for failure reports).
    pending: Vec<(String, Message)>,
    bytes: usize,
    counts: Counts,
}

impl<'w> FolderAppender<'w> {
    /// Starts on `folder`: creates it when missing and lists what it already has. `None`
    /// when the writer refuses the folder (recorded in `summary`).
    ///
    /// # Errors
    /// When the session fails.
    pub async fn open(
        writer: &'w mut Writer,
        folder: &str,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<Option<(FolderAppender<'w>, Present)>, WriterError> {
        progress.folder(folder);
        summary.folders += 1;
        if let Err(reason) = writer.ensure_folder(folder).await? {
            summary.fail(format!("folder {folder}"), reason);
            return Ok(None);
        }
        let present = writer.present(folder).await?;
        let appender = FolderAppender {
            writer,
            folder: folder.to_owned(),
            pending: Vec::new(),
            bytes: 0,
            counts: Counts::default(),
        };
        Ok(Some((appender, present)))
    }

    /// Appends what is left and adds the folder's counts to `summary`.
    ///
    /// # Errors
    /// When the session fails.
    pub async fn finish(
        mut self,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<(), WriterError> {
        self.flush(summary, progress).await?;
        progress.folder_done(&self.folder, self.counts);
        summary.messages.add(self.counts);
        Ok(())
    }

    /// Queues a message that is not in the folder yet; appends when a batch is full.
    ///
    /// # Errors
    /// When the session fails.
    pub async fn push(
        &mut self,
        source: String,
        message: Message,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<(), WriterError> {
        self.bytes += message.data.len();
        self.pending.push((source, message));
        if self.pending.len() >= BATCH_MESSAGES || self.bytes >= BATCH_BYTES {
            self.flush(summary, progress).await?;
        }
        Ok(())
    }

    pub fn skipped(&mut self, progress: &Progress) {
        self.counts.skipped += 1;
        progress.advance(1);
    }

    pub fn failed(
        &mut self,
        source: impl Into<String>,
        reason: impl std::fmt::Display,
        summary: &mut Summary,
        progress: &Progress,
    ) {
        self.counts.failed += 1;
        summary.fail(source, reason);
        progress.advance(1);
    }

    /// Appends what is queued.
    async fn flush(
        &mut self,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<(), WriterError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        self.bytes = 0;
        let messages: Vec<&Message> = batch.iter().map(|(_, m)| m).collect();
        let refusals = self.writer.append(&self.folder, &messages).await?;
        for ((source, _), refusal) in batch.iter().zip(refusals) {
            match refusal {
                None => {
                    self.counts.imported += 1;
                    progress.advance(1);
                }
                Some(reason) => self.failed(source.clone(), reason, summary, progress),
            }
        }
        Ok(())
    }
}
