//! What every session on this node shares: configuration, the authenticator, the supervisor.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use actix::Addr;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::mailbox::Registry;
use crate::supervisor::Supervisor;

pub struct Shared {
    pub config: Config,
    pub auth: Authenticator,
    pub supervisor: Addr<Supervisor>,
    /// The Account and Mailbox actors of this node.
    pub registry: Arc<Registry>,
    next_session_id: AtomicU64,
    /// Set on SIGTERM: new connections are refused and readiness goes false.
    draining: AtomicBool,
}

impl Shared {
    pub fn new(config: Config, auth: Authenticator, supervisor: Addr<Supervisor>) -> Self {
        let registry = Registry::new(config.data_dir.clone());
        Shared {
            config,
            auth,
            supervisor,
            registry,
            next_session_id: AtomicU64::new(1),
            draining: AtomicBool::new(false),
        }
    }

    pub fn next_session_id(&self) -> u64 {
        self.next_session_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
