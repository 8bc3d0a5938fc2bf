//! Actor tests on real files: group commit, events, flags, MOVE, `\Recent`, account
//! operations. A panic inside an actor does not fail an actix test, so every test
//! asserts on replies and recorded events.

mod account;
mod feed;
mod mailbox;
mod once;
mod quota;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use roost_proto::Flag;

use super::{Change, MailboxEvent, NewMessage, Options, Registry};

/// A stand-in for `MessageMeta` (implemented on another branch): the size, as bytes.
fn stub_meta(raw: &bytes::Bytes) -> Vec<u8> {
    (raw.len() as u64).to_le_bytes().to_vec()
}

pub(crate) fn registry(dir: &Path) -> Arc<Registry> {
    registry_with_quota(dir, super::QuotaPolicy::default())
}

pub(crate) fn registry_with_quota(dir: &Path, quota: super::QuotaPolicy) -> Arc<Registry> {
    Registry::with_options(
        dir.to_path_buf(),
        Options {
            compact_after: 1000,
            idle_linger: Duration::from_millis(40),
            max_message_size: 1 << 20,
            parse_meta: stub_meta,
            quota,
            metadata: Default::default(),
        },
    )
}

pub(super) fn message(text: &str, flags: Vec<Flag>) -> NewMessage {
    NewMessage {
        data: Bytes::from(format!("Subject: {text}\r\n\r\n{text}\r\n")),
        flags,
        internal_date: Some(1_700_000_000),
    }
}

/// Collects the events a session would receive.
pub(super) struct Recorder {
    events: Arc<Mutex<Vec<MailboxEvent>>>,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<MailboxEvent> for Recorder {
    type Result = ();
    fn handle(&mut self, event: MailboxEvent, _: &mut Context<Self>) {
        self.events.lock().unwrap().push(event);
    }
}

pub(super) struct Listener {
    pub addr: Addr<Recorder>,
    events: Arc<Mutex<Vec<MailboxEvent>>>,
}

impl Listener {
    pub fn start() -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        let addr = Recorder {
            events: events.clone(),
        }
        .start();
        Listener { addr, events }
    }

    pub fn recipient(&self) -> Recipient<MailboxEvent> {
        self.addr.clone().recipient()
    }

    /// Waits (up to 2 s) until `n` events arrived, and returns all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Change> {
        for _ in 0..200 {
            if self.events.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.changes()
    }

    pub fn changes(&self) -> Vec<Change> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.change.clone())
            .collect()
    }
}
