//! The requesting side of keyed writes (issue 19 finding 5): a write sent to the account's
//! owner over a node link (to a mailbox, or account-wide: CREATE, DELETE, RENAME, SUBSCRIBE,
//! SETMETADATA, SETQUOTA) is given a [`RequestKey`]; when its answer is lost (the link closed
//! or timed out after sending, the owner let go or died) the same request is sent again, with
//! the same key, to whichever node owns the account by then, until an answer comes or the
//! retry window (lease TTL + 5 s: a hung or dead owner has been replaced by then) ends.
//!
//! The owner carries a key out at most once (`once.rs`; `AccountActor::run_once` for
//! account-wide writes), so the answer the client finally gets is the one that counts: an OK
//! names what was actually stored, and a NO means nothing was stored. Only when no owner
//! answers within the window is the command answered NO, saying that its outcome is not known.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handle::MailboxTarget;
use super::registry::Shared;
use super::request::{expect_answer, AccountOp, Answer};
use super::{AccountHandle, Copied, MailboxError, MailboxHandle};
use crate::cluster::wire::WireRequest;
use crate::store::requests::RequestKey;

/// The first pause before sending again; doubled each time up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Runs `attempt` (one send of a write, to the handle given) on `first` under one new key,
/// and while the answer is `Unavailable` sends it again under the same key to the handle
/// `reach` finds then (the account's current owner), for up to the retry window after the
/// first failure.
async fn send_until_answered<H, T, F, Fut, R, RFut>(
    shared: &Arc<Shared>,
    user: &str,
    what: &'static str,
    first: H,
    mut reach: R,
    mut attempt: F,
) -> Result<T, MailboxError>
where
    F: FnMut(H, RequestKey) -> Fut,
    Fut: Future<Output = Result<T, MailboxError>>,
    R: FnMut() -> RFut,
    RFut: Future<Output = Result<H, MailboxError>>,
{
    let key = RequestKey::random().map_err(|e| MailboxError::from_io("make a request key", &e))?;
    let mut why = match attempt(first, key).await {
        Err(MailboxError::Unavailable(why)) => why,
        other => return other,
    };
    let deadline = Instant::now() + shared.retry_window();
    let mut pause = FIRST_PAUSE;
    loop {
        if Instant::now() >= deadline {
            tracing::error!(what, user, error = %why, "no owner answered a repeated write: its outcome is unknown");
            return Err(MailboxError::Unavailable(format!(
                "{why}; the account's owner did not answer in time, so whether the \
                 command was carried out is not known"
            )));
        }
        tracing::warn!(what, user, error = %why, "lost the owner's answer to a write: sending it again under the same key");
        tokio::time::sleep(shared.retry_pause(user, pause).await).await;
        pause = (pause * 2).min(MAX_PAUSE);
        let sent = match reach().await {
            Ok(handle) => attempt(handle, key).await,
            Err(e) => Err(e),
        };
        why = match sent {
            Err(MailboxError::Unavailable(why)) => why,
            other => return other,
        };
    }
}

impl AccountHandle {
    /// Runs an account-wide write on the owner node under a key (`AccountOp::Once`), again on
    /// whichever node owns the account while the answer is lost.
    pub(super) async fn run_keyed(
        &self,
        shared: &Arc<Shared>,
        user: &str,
        op: AccountOp,
    ) -> Result<Answer, MailboxError> {
        let reach = || {
            let (shared, user) = (shared.clone(), user.to_owned());
            async move { shared.resolve_account(&user).await }
        };
        let what = op.name();
        send_until_answered(shared, user, what, self.clone(), reach, |handle, key| {
            let op = AccountOp::Once {
                key,
                op: Box::new(op.clone()),
            };
            async move { handle.run_unkeyed(op).await }
        })
        .await
    }
}

impl MailboxHandle {
    /// Runs `attempt` (one send of the write, to the handle given) under one new key, again
    /// on the mailbox as the account's current owner serves it while the answer is
    /// `Unavailable`, for up to the retry window after the first failure.
    pub(super) async fn forward_once<T, F, Fut>(
        &self,
        shared: &Arc<Shared>,
        user: &str,
        what: &'static str,
        attempt: F,
    ) -> Result<T, MailboxError>
    where
        F: FnMut(MailboxHandle, RequestKey) -> Fut,
        Fut: Future<Output = Result<T, MailboxError>>,
    {
        let address = self.address();
        let reach = || {
            let (shared, user, address) = (shared.clone(), user.to_owned(), address.clone());
            async move {
                let account = shared.resolve_account(&user).await?;
                account.open_addressed(&address).await
            }
        };
        send_until_answered(shared, user, what, self.clone(), reach, attempt).await
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
                        if let MailboxTarget::Remote { .. } = destination.target() {
                            // The account moved since the source was opened: again, there.
                            return Err(MailboxError::Unavailable(
                                "the account moved to another node".into(),
                            ));
                        }
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
