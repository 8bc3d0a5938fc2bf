//! What every session on this node shares: configuration, the authenticator, the supervisor;
//! and the node's readiness as the HTTP endpoint reports it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use actix::Addr;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::mailbox::Registry;
use crate::net::http::NodeStatus;
use crate::supervisor::Supervisor;
use crate::telemetry::metrics;

pub struct Shared {
    pub config: Config,
    pub auth: Authenticator,
    pub supervisor: Addr<Supervisor>,
    /// The Account and Mailbox actors of this node.
    pub registry: Arc<Registry>,
    next_session_id: AtomicU64,
    /// Set once every listener accepts: readiness waits for it.
    accepting: AtomicBool,
    /// Set on SIGTERM: new connections are refused and readiness goes false.
    draining: AtomicBool,
}

impl Shared {
    pub fn new(config: Config, auth: Authenticator, supervisor: Addr<Supervisor>) -> Self {
        let options = crate::mailbox::Options {
            compact_after: config.store.compact_after_transactions.max(1),
            quota: crate::mailbox::QuotaPolicy {
                default: config.quota.default_limits(),
                users: auth.users_file(),
            },
            metadata: config.metadata.limits(),
            ..crate::mailbox::Options::default()
        };
        let registry = Registry::with_options(config.data_dir.clone(), options);
        Shared {
            config,
            auth,
            supervisor,
            registry,
            next_session_id: AtomicU64::new(1),
            accepting: AtomicBool::new(false),
            draining: AtomicBool::new(false),
        }
    }

    pub fn next_session_id(&self) -> u64 {
        self.next_session_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn begin_accepting(&self) {
        self.accepting.store(true, Ordering::SeqCst);
    }

    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

impl NodeStatus for Shared {
    fn readiness(&self) -> Result<(), String> {
        if self.is_draining() {
            return Err("draining".into());
        }
        if !self.accepting.load(Ordering::SeqCst) {
            return Err("listeners are not accepting yet".into());
        }
        if self.registry.directory_reachable() == Some(false) {
            return Err("the cluster directory (redis) is unreachable".into());
        }
        Ok(())
    }

    fn sample_metrics(&self) {
        let store = self.registry.metrics();
        metrics::record_sampled(&metrics::Sampled {
            mailboxes_open: self.registry.running_mailboxes(),
            accounts_owned: self.registry.owned_accounts(),
            store_transactions: store.transactions.load(Ordering::Relaxed),
            store_snapshots: store.snapshots.load(Ordering::Relaxed),
            store_recovery: [
                ("damaged", store.recovery_damaged.load(Ordering::Relaxed)),
                ("relisted", store.recovery_relisted.load(Ordering::Relaxed)),
                (
                    "quarantined",
                    store.recovery_quarantined.load(Ordering::Relaxed),
                ),
                ("missing", store.recovery_missing.load(Ordering::Relaxed)),
            ],
            draining: self.is_draining(),
        });
    }
}
