//! The owner's side of the node link: runs other nodes' requests on the local Account and
//! Mailbox actors, and pushes mailbox changes to sessions attached from other nodes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use actix::prelude::*;

use super::link::{LinkService, PeerConn, Pusher};
use super::wire::{self, WireRequest, WireResult};
use crate::mailbox::feed::{AccountEvent, Watcher};
use crate::mailbox::request::Answer;
use crate::mailbox::{Change, MailboxError, MailboxEvent, MailboxHandle, Registry, Watch};

/// A session on another node attached to a local mailbox: `(link connection, stream)`.
type RemoteKey = (u64, u64);

/// What the link server calls; cheap to share between connections.
pub(crate) struct OwnerService {
    inner: Arc<Inner>,
    /// Requests run on this arbiter: they start actors, which needs an actix context that
    /// the link server's plain tokio tasks do not have.
    arbiter: actix_rt::ArbiterHandle,
}

struct Inner {
    registry: Arc<Registry>,
    attachments: Mutex<HashMap<RemoteKey, (MailboxHandle, u64)>>,
    /// Account watches (NOTIFY) of sessions on other nodes; dropping one ends it.
    watches: Mutex<HashMap<RemoteKey, Watch>>,
}

impl OwnerService {
    pub fn new(registry: Arc<Registry>) -> Arc<OwnerService> {
        Arc::new(OwnerService {
            inner: Arc::new(Inner {
                registry,
                attachments: Mutex::new(HashMap::new()),
                watches: Mutex::new(HashMap::new()),
            }),
            arbiter: actix_rt::Arbiter::current(),
        })
    }
}

impl Inner {
    fn attachments(&self) -> std::sync::MutexGuard<'_, HashMap<RemoteKey, (MailboxHandle, u64)>> {
        self.attachments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn watches(&self) -> std::sync::MutexGuard<'_, HashMap<RemoteKey, Watch>> {
        self.watches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn dispatch(
        self: Arc<Self>,
        conn: u64,
        pusher: Pusher,
        request: WireRequest,
    ) -> WireResult {
        match request {
            WireRequest::Account { user, op } => {
                self.registry.owned_account(&user).await?.run(op).await
            }
            WireRequest::Mailbox { user, mailbox, op } => {
                let account = self.registry.owned_account(&user).await?;
                account.open_addressed(&mailbox).await?.run(op).await
            }
            WireRequest::Attach {
                user,
                mailbox,
                stream,
                read_only,
            } => {
                let account = self.registry.owned_account(&user).await?;
                let handle = account.open_addressed(&mailbox).await?;
                let forwarder = Forwarder { pusher, stream }.start();
                let attachment = handle.attach(forwarder.recipient(), read_only).await?;
                self.attachments()
                    .insert((conn, stream), (handle, attachment.id));
                Ok(Answer::Attached(attachment))
            }
            WireRequest::Detach { stream } => {
                if let Some((handle, id)) = self.attachments().remove(&(conn, stream)) {
                    handle.detach(id);
                }
                Ok(Answer::Unit)
            }
            WireRequest::Watch { user, stream } => {
                let account = self.registry.owned_account(&user).await?;
                let watch = account.watch(link_watcher(pusher, stream)).await?;
                self.watches().insert((conn, stream), watch);
                Ok(Answer::Unit)
            }
            WireRequest::Unwatch { stream } => {
                let watch = self.watches().remove(&(conn, stream));
                drop(watch);
                Ok(Answer::Unit)
            }
            WireRequest::Copy {
                user,
                source,
                destination,
                uids,
                is_move,
                key,
            } => {
                let account = self.registry.owned_account(&user).await?;
                let source = account.open_addressed(&source).await?;
                let destination = account.open(&destination).await?;
                let copied = source.copy_keyed(uids, &destination, is_move, key).await?;
                Ok(Answer::Copied(copied))
            }
        }
    }
}

impl LinkService for OwnerService {
    fn handle(
        &self,
        peer: &PeerConn,
        payload: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>> {
        let (conn, pusher, inner) = (peer.id, peer.pusher.clone(), self.inner.clone());
        let received = payload.len();
        let from = peer.node.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let link = peer.pusher.clone();
        let spawned = self.arbiter.spawn(async move {
            let result = match wire::decode::<wire::WireEnvelope>(&payload) {
                Ok(envelope) => {
                    let lose = super::fault::lose_answer(envelope.request.name());
                    // The owner's part of a command from another node, in that command's trace.
                    let span = tracing::info_span!(
                        "imap.owner",
                        otel.kind = "server",
                        from_node = %from,
                        request = envelope.request.name(),
                    );
                    envelope.trace.attach_to(&span);
                    let work = inner.dispatch(conn, pusher, envelope.request);
                    let result = tracing::Instrument::instrument(work, span).await;
                    match lose {
                        Some(super::fault::LoseAnswer::Close) => {
                            tracing::warn!("test fault: closing the link instead of answering");
                            link.close();
                            return;
                        }
                        Some(super::fault::LoseAnswer::Exit) => {
                            tracing::warn!("test fault: exiting instead of answering");
                            std::process::exit(9);
                        }
                        None => result,
                    }
                }
                Err(e) => Err(e),
            };
            let _ = tx.send(result);
        });
        Box::pin(async move {
            let gone = || {
                Err(MailboxError::Unavailable(
                    "the owner node is stopping".into(),
                ))
            };
            let result = if spawned {
                rx.await.unwrap_or_else(|_| gone())
            } else {
                gone()
            };
            let answer = wire::encode(&result);
            crate::telemetry::metrics::link_request(
                "served",
                result.is_ok(),
                answer.len(),
                received,
            );
            answer
        })
    }

    fn closed(&self, peer: &PeerConn) {
        let gone: Vec<_> = {
            let mut map = self.inner.attachments();
            let keys: Vec<RemoteKey> = map.keys().filter(|(c, _)| *c == peer.id).copied().collect();
            keys.into_iter().filter_map(|k| map.remove(&k)).collect()
        };
        for (handle, id) in gone {
            handle.detach(id);
        }
        let watches: Vec<Watch> = {
            let mut map = self.inner.watches();
            let keys: Vec<RemoteKey> = map.keys().filter(|(c, _)| *c == peer.id).copied().collect();
            keys.into_iter().filter_map(|k| map.remove(&k)).collect()
        };
        drop(watches);
    }
}

/// Pushes a remote session's account events over the link. A link that cannot take them
/// is closed, as for mailbox changes: the other node then tells its watchers the feed is
/// lost (`[NOTIFICATIONOVERFLOW]`).
fn link_watcher(pusher: Pusher, stream: u64) -> Watcher {
    Arc::new(move |event: &AccountEvent| {
        if pusher.push(stream, wire::encode(event)) {
            !matches!(event, AccountEvent::Lost)
        } else {
            pusher.close();
            false
        }
    })
}

/// Forwards one remote attachment's changes over the link.
struct Forwarder {
    pusher: Pusher,
    stream: u64,
}

impl Actor for Forwarder {
    type Context = Context<Self>;
}

impl Handler<MailboxEvent> for Forwarder {
    type Result = ();

    fn handle(&mut self, event: MailboxEvent, ctx: &mut Context<Self>) {
        let closed = matches!(event.change, Change::Closed { .. });
        // A full or closed link: the remote session is as good as gone; stopping makes the
        // mailbox drop this listener.
        if !self.pusher.push(self.stream, wire::encode(&event)) {
            // The link fell behind: its sessions would miss changes. Closing it makes the
            // other node tell them (`[CLOSED]`) so they resynchronise by selecting again.
            self.pusher.close();
            ctx.stop();
        } else if closed {
            ctx.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::tests::registry;

    fn is_gone(result: Result<MailboxHandle, MailboxError>) -> bool {
        matches!(result, Err(MailboxError::Gone(_)))
    }

    #[actix_rt::test]
    async fn a_request_for_a_renamed_deleted_or_recreated_mailbox_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let account = registry(dir.path()).account("alice").await.unwrap();
        account.create("Work".into(), None).await.unwrap();
        let stale = account.open("Work").await.unwrap().address();
        assert!(account.open_addressed(&stale).await.is_ok());

        account.rename("Work".into(), "Work2".into()).await.unwrap();
        assert!(is_gone(account.open_addressed(&stale).await));
        // A new mailbox with the old name is another mailbox: requests for the old one fail
        // rather than land in it.
        account.create("Work".into(), None).await.unwrap();
        assert!(is_gone(account.open_addressed(&stale).await));
        let current = account.open("Work").await.unwrap().address();
        assert!(account.open_addressed(&current).await.is_ok());

        account.delete("Work".into()).await.unwrap();
        assert!(is_gone(account.open_addressed(&current).await));
    }
}
