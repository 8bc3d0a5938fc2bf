//! The Supervisor actor: the registry of live sessions, and the shutdown broadcast.
//!
//! Sessions register when they start and unregister when they stop. On SIGTERM the server
//! asks the supervisor to [`BeginShutdown`]: every session is told to say `* BYE` and close,
//! and the answer resolves once the last one is gone (or the drain timeout passes).

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::session::messages::Shutdown;

pub struct Supervisor {
    sessions: HashMap<u64, Recipient<Shutdown>>,
    draining: bool,
    /// Woken when the registry becomes empty during a drain.
    drained: Vec<oneshot::Sender<()>>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Supervisor {
            sessions: HashMap::new(),
            draining: false,
            drained: Vec::new(),
        }
    }

    fn wake_if_drained(&mut self) {
        if self.draining && self.sessions.is_empty() {
            for w in self.drained.drain(..) {
                let _ = w.send(());
            }
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Register {
    pub id: u64,
    pub session: Recipient<Shutdown>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister {
    pub id: u64,
}

/// How many sessions are live.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Count;

/// Tell every session to close; resolves with the number still open when `timeout` passes
/// (0 when all closed in time).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct BeginShutdown {
    pub timeout: Duration,
}

impl Handler<Register> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
        if self.draining {
            // Accepted just before the listeners stopped: it closes like the others.
            msg.session.do_send(Shutdown);
        }
        self.sessions.insert(msg.id, msg.session);
    }
}

impl Handler<Unregister> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: Unregister, _: &mut Context<Self>) {
        self.sessions.remove(&msg.id);
        self.wake_if_drained();
    }
}

impl Handler<Count> for Supervisor {
    type Result = usize;

    fn handle(&mut self, _: Count, _: &mut Context<Self>) -> usize {
        self.sessions.len()
    }
}

impl Handler<BeginShutdown> for Supervisor {
    type Result = ResponseActFuture<Self, usize>;

    fn handle(&mut self, msg: BeginShutdown, _: &mut Context<Self>) -> Self::Result {
        self.draining = true;
        tracing::info!(
            sessions = self.sessions.len(),
            "shutting down: closing every session"
        );
        for session in self.sessions.values() {
            session.do_send(Shutdown);
        }
        let (tx, rx) = oneshot::channel();
        self.drained.push(tx);
        self.wake_if_drained();
        let wait = async move { tokio::time::timeout(msg.timeout, rx).await.is_ok() };
        Box::pin(
            wait.into_actor(self)
                .map(|done, supervisor, _| if done { 0 } else { supervisor.sessions.len() }),
        )
    }
}
