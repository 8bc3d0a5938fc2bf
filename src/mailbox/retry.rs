//! The requesting side of keyed writes (issue 19 finding 5): a write sent to the account's
//! owner over a node link is given a [`RequestKey`]; when its answer is lost (the link closed
//! or timed out after sending, the owner let go or died) the same request is sent again, with
//! the same key, to whichever node owns the account by then, until an answer comes or the
//! retry window (lease TTL + 5 s: a hung or dead owner has been replaced by then) ends.
//!
//! The owner carries a key out at most once (`once.rs`), so the answer the client finally
//! gets is the one that counts: an OK names the UIDs actually stored, and a NO means nothing
//! was stored. Only when no owner answers within the window is the command answered NO,
//! saying that its outcome is not known.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handle::MailboxTarget;
use super::registry::Shared;
use super::request::{expect_answer, Answer};
use super::{Copied, MailboxError, MailboxHandle};
use crate::cluster::wire::WireRequest;
use crate::store::requests::RequestKey;

/// The first pause before sending again; doubled each time up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(1);

impl MailboxHandle {
    /// Runs `attempt` (one send of the write, to the handle given) under one new key, again
    /// on the mailbox as the account's current owner serves it while the answer is
    /// `Unavailable`, for up to the retry window after the first failure.
    pub(super) async fn forward_once<T, F, Fut>(
        &self,
        shared: &Arc<Shared>,
        user: &str,
        what: &'static str,
        mut attempt: F,
    ) -> Result<T, MailboxError>
    where
        F: FnMut(MailboxHandle, RequestKey) -> Fut,
        Fut: Future<Output = Result<T, MailboxError>>,
    {
        let key =
            RequestKey::random().map_err(|e| MailboxError::from_io("make a request key", &e))?;
        let address = self.address();
        let mut why = match attempt(self.clone(), key).await {
            Err(MailboxError::Unavailable(why)) => why,
            other => return other,
        };
        let deadline = Instant::now() + shared.retry_window();
        let mut pause = FIRST_PAUSE;
        loop {
            if Instant::now() >= deadline {
                tracing::error!(what, user, error = %why, "no owner answered a repeated write: its outcome is unknown");
                return Err(MailboxError::Unavailable(format!(
                    "{why}; the mailbox's owner did not answer in time, so whether the \
                     command was carried out is not known"
                )));
            }
            tracing::warn!(what, user, error = %why, "lost the owner's answer to a write: sending it again under the same key");
            tokio::time::sleep(shared.retry_pause(user, pause).await).await;
            pause = (pause * 2).min(MAX_PAUSE);
            let reopened = match shared.resolve_account(user).await {
                Ok(account) => account.open_addressed(&address).await,
                Err(e) => Err(e),
            };
            let sent = match reopened {
                Ok(handle) => attempt(handle, key).await,
                Err(e) => Err(e),
            };
            why = match sent {
                Err(MailboxError::Unavailable(why)) => why,
                other => return other,
            };
        }
    }

    /// COPY or MOVE on the owner node under a key (the source being this remote mailbox,
    /// the destination named).
    pub(super) async fn copy_once(
        &self,
        shared: &Arc<Shared>,
        user: &str,
        uids: Vec<u32>,
        destination: String,
        is_move: bool,
    ) -> Result<Copied, MailboxError> {
        let what = if is_move {
            "mailbox.move"
        } else {
            "mailbox.copy"
        };
        let shared = shared.clone();
        let owner = user.to_owned();
        self.forward_once(&shared.clone(), user, what, |source, key| {
            let (shared, user, uids, destination) = (
                shared.clone(),
                owner.clone(),
                uids.clone(),
                destination.clone(),
            );
            async move {
                match source.target() {
                    MailboxTarget::Remote { .. } => {
                        let request = WireRequest::Copy {
                            user,
                            source: source.address(),
                            destination,
                            uids,
                            is_move,
                            key: Some(key),
                        };
                        expect_answer!(source.remote(request).await?, Answer::Copied(c) => c)
                    }
                    // This node owns the account now.
                    MailboxTarget::Local { .. } => {
                        let account = shared.resolve_account(&user).await?;
                        let destination = account.open(&destination).await?;
                        source
                            .copy_keyed(uids, &destination, is_move, Some(key))
                            .await
                    }
                }
            }
        })
        .await
    }
}
