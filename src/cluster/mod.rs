//! Cluster coordination: which node owns which account, who is alive, and the links between
//! nodes.
//!
//! Ownership is per account: the node holding an account's lease runs its Account actor and
//! every Mailbox actor of it, so each open mailbox has exactly one writer in the cluster and
//! account-wide changes (CREATE, DELETE, RENAME, SUBSCRIBE) are serialised by that one actor.
//! Sessions on other nodes reach those actors over a node link (`link`).
//!
//! - [`Directory`]: `Local` (one node, embedded default: everything is owned here) or
//!   `Redis` (membership, leases with fencing epochs, operator commands).
//! - `link`: length-prefixed postcard frames of one request/response/event enum between nodes,
//!   over mutual TLS with each peer's node id checked against its certificate.
//! - `cli`: `roost cluster status|move|drain`.

pub mod cli;
pub(crate) mod fault;
pub mod fence;
pub mod link;
pub mod node;
pub(crate) mod owner;
pub(crate) mod ownership;
pub(crate) mod peer;
pub mod redis;
pub mod storage_id;
#[cfg(test)]
pub mod testing;
pub mod wire;

use std::time::{Duration, Instant};

/// A lease this node holds on an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The account directory name the lease is for.
    pub account: String,
    /// Fencing token: grows with every new owner of this account, never reused.
    pub epoch: u64,
    /// When the lease ends unless renewed, by this node's clock (conservatively early).
    pub valid_until: Instant,
}

/// Who owns an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This node now holds the lease.
    Me(Lease),
    /// Another node does; reach it at `address`.
    Node {
        node: String,
        address: String,
        epoch: u64,
    },
}

/// A live node, as `roost cluster status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeInfo {
    pub node: String,
    /// Where its node link listens (`host:port`).
    pub address: String,
    pub accounts_owned: u64,
    pub sessions: u64,
    /// Drained by an operator or SIGTERM: it takes no new accounts.
    pub draining: bool,
}

/// An operator's request, published to every node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AdminCommand {
    /// The owner of this account lets it go (its sessions get `[CLOSED]` and reattach); with
    /// `to`, that node takes it at once (a reservation in Redis keeps the others off).
    MoveAccount { account: String, to: Option<String> },
    /// That node lets go of everything it owns (and refuses new ownership until restarted).
    Drain { node: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("redis is unreachable: {0}")]
    Unreachable(String),
    /// Redis refused this node's credentials or permissions (ACL): retrying will not help.
    #[error("redis refused the credentials or lacks a permission: {0}")]
    Refused(String),
    /// The lease was taken over or expired: stop writing at once.
    #[error("lease on {account} lost")]
    LeaseLost { account: String },
    #[error("no address known for node {0}")]
    UnknownNode(String),
}

/// Lease timing derived from the configured TTL.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    pub ttl: Duration,
}

impl LeaseTiming {
    /// Renew at a third of the TTL, so two renewals can fail before the lease lapses.
    pub fn renew_every(self) -> Duration {
        self.ttl / 3
    }

    /// How much earlier than Redis this node considers its lease over: room for clock drift
    /// between the hosts' timers (a tenth of the TTL, generous for drift of well under 1 %).
    pub fn safety_margin(self) -> Duration {
        self.ttl / 10
    }

    /// How long a node's record outlives its last heartbeat (sent every `renew_every`): three
    /// heartbeats, so one late or lost heartbeat does not drop a live node.
    pub fn node_ttl(self) -> Duration {
        self.renew_every() * 3
    }
}
