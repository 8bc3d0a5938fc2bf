//! The requesting side of the node link: accounts owned by another node, and the sessions
//! on this node attached to their mailboxes.
//!
//! One [`Peer`] per owner address carries every request to that node over one connection.
//! Changes the owner pushes for an attachment are handed to the attached session as the
//! same [`MailboxEvent`] a local mailbox would send; when the link breaks, every session
//! attached through it gets `Change::Closed` at once (it falls back to Authenticated and its
//! next SELECT finds the mailbox's current owner).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix::Recipient;

use super::link::{LinkClient, LocalNode};
use super::wire::{self, WireRequest, WireResult};
use crate::mailbox::feed::{AccountEvent, Watcher};
use crate::mailbox::request::Answer;
use crate::mailbox::{Change, MailboxError, MailboxEvent};
use crate::store::MailboxId;

/// Sessions attached through one link: stream id → (mailbox, session).
type Attachments = HashMap<u64, (MailboxId, Recipient<MailboxEvent>)>;

/// Account watches (NOTIFY) through one link: stream id → the session's watcher.
type Watchers = HashMap<u64, Watcher>;

/// A connection to one owner node.
pub(crate) struct Peer {
    client: LinkClient,
    attachments: Arc<Mutex<Attachments>>,
    watchers: Arc<Mutex<Watchers>>,
    next_stream: AtomicU64,
}

fn lock_watchers(m: &Mutex<Watchers>) -> std::sync::MutexGuard<'_, Watchers> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn lock(m: &Mutex<Attachments>) -> std::sync::MutexGuard<'_, Attachments> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Peer {
    fn new(local: &LocalNode, address: &str, keepalive: Duration) -> Arc<Peer> {
        let client = LinkClient::new(local.clone(), address.to_owned());
        client.set_keepalive(keepalive);
        let attachments: Arc<Mutex<Attachments>> = Arc::default();
        let watchers: Arc<Mutex<Watchers>> = Arc::default();
        let pushes = attachments.clone();
        let watched = watchers.clone();
        client.set_push_handler(Arc::new(move |stream, payload| {
            let watcher = lock_watchers(&watched).get(&stream).cloned();
            if let Some(watcher) = watcher {
                match wire::decode::<AccountEvent>(&payload) {
                    Ok(event) => {
                        if !watcher(&event) {
                            lock_watchers(&watched).remove(&stream);
                        }
                    }
                    Err(_) => {
                        tracing::warn!(stream, "malformed account change from the owner node")
                    }
                }
                return;
            }
            let Ok(event) = wire::decode::<MailboxEvent>(&payload) else {
                tracing::warn!(stream, "malformed mailbox change from the owner node");
                return;
            };
            let mut map = lock(&pushes);
            let closed = matches!(event.change, Change::Closed { .. });
            if let Some((_, listener)) = map.get(&stream) {
                // On this side the attachment is named by its stream.
                listener.do_send(MailboxEvent {
                    attachment: stream,
                    ..event
                });
            }
            if closed {
                map.remove(&stream);
            }
        }));
        let broken = attachments.clone();
        let lost = watchers.clone();
        let address = address.to_owned();
        client.set_disconnect_handler(Arc::new(move || {
            let watching: Vec<Watcher> = lock_watchers(&lost).drain().map(|(_, w)| w).collect();
            for watcher in watching {
                watcher(&AccountEvent::Lost);
            }
            let attached: Vec<_> = lock(&broken).drain().collect();
            if !attached.is_empty() {
                tracing::warn!(%address, sessions = attached.len(), "link to the owner node broke");
            }
            for (stream, (mailbox, listener)) in attached {
                let change = Change::Closed {
                    reason: "Lost the connection to the mailbox's owner node".into(),
                };
                listener.do_send(MailboxEvent {
                    mailbox,
                    attachment: stream,
                    change,
                });
            }
        }));
        Arc::new(Peer {
            client,
            attachments,
            watchers,
            next_stream: AtomicU64::new(1),
        })
    }

    /// Sends a request and waits for the owner's answer.
    pub async fn call(&self, request: WireRequest) -> Result<Answer, MailboxError> {
        let trace = crate::telemetry::propagation::TraceContext::of(&tracing::Span::current());
        let envelope = wire::WireEnvelope { trace, request };
        let payload = wire::encode(&envelope);
        let sent = payload.len();
        let answer = self.client.request(payload).await;
        crate::telemetry::metrics::link_request(
            "sent",
            answer.is_ok(),
            sent,
            answer.as_ref().map_or(0, Vec::len),
        );
        let answer = answer
            .map_err(|e| MailboxError::Unavailable(format!("owner node unreachable: {e}")))?;
        wire::decode::<WireResult>(&answer)?
    }

    /// Registers a session for pushes on a new stream.
    pub fn register(&self, mailbox: MailboxId, listener: Recipient<MailboxEvent>) -> u64 {
        let stream = self.next_stream.fetch_add(1, Ordering::Relaxed);
        lock(&self.attachments).insert(stream, (mailbox, listener));
        stream
    }

    pub fn unregister(&self, stream: u64) {
        lock(&self.attachments).remove(&stream);
    }

    /// Registers an account watcher for pushes on a new stream.
    pub fn register_watcher(&self, watcher: Watcher) -> u64 {
        let stream = self.next_stream.fetch_add(1, Ordering::Relaxed);
        lock_watchers(&self.watchers).insert(stream, watcher);
        stream
    }

    pub fn unregister_watcher(&self, stream: u64) {
        lock_watchers(&self.watchers).remove(&stream);
    }

    /// Tells the session attached on `stream` that its mailbox is gone, as the owner's notice
    /// would have (the owner answered a request with `Gone` before that notice arrived).
    pub fn close_stream(&self, stream: u64, reason: &str) {
        if let Some((mailbox, listener)) = lock(&self.attachments).remove(&stream) {
            let change = Change::Closed {
                reason: reason.to_owned(),
            };
            listener.do_send(MailboxEvent {
                mailbox,
                attachment: stream,
                change,
            });
        }
    }
}

/// The links of this node, one per owner address.
pub(crate) struct Links {
    local: LocalNode,
    peers: Mutex<HashMap<String, Arc<Peer>>>,
    /// How soon a hung owner's link is given up (see `LinkClient::set_keepalive`).
    keepalive: Duration,
}

impl Links {
    pub fn new(local: LocalNode, keepalive: Duration) -> Links {
        Links {
            local,
            peers: Mutex::new(HashMap::new()),
            keepalive,
        }
    }

    pub fn local_node(&self) -> &str {
        self.local.id()
    }

    pub fn peer(&self, address: &str) -> Arc<Peer> {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        peers
            .entry(address.to_owned())
            .or_insert_with(|| Peer::new(&self.local, address, self.keepalive))
            .clone()
    }
}
