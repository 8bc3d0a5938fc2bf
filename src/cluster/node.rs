//! Joining the cluster at start: connect to Redis, serve the node link, announce this node,
//! and follow operators' commands.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::redis::RedisDirectory;
use super::{AdminCommand, DirectoryError, LeaseTiming};
use crate::mailbox::Registry;
use crate::supervisor::{Count, Supervisor};

/// This node's membership, kept for leaving cleanly.
pub struct Joined {
    pub directory: RedisDirectory,
}

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("cannot reach redis at {url}: {source}")]
    Redis { url: String, source: DirectoryError },
    #[error("cannot listen for node links on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Joins the cluster configured in `config`, or returns `None` for the single-node mode.
///
/// # Errors
/// When Redis is unreachable (a clear error at start, not a hang) or the link port is taken.
pub async fn join(
    config: &crate::config::Config,
    registry: &Arc<Registry>,
    supervisor: Addr<Supervisor>,
    stop: watch::Receiver<bool>,
) -> Result<Option<Joined>, JoinError> {
    let Some(url) = config.cluster.redis_url.clone() else {
        return Ok(None);
    };
    let node = config.node_id.clone();
    let listen = config.cluster.link_listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| JoinError::Bind {
            address: listen,
            source,
        })?;
    let bound = listener.local_addr().unwrap_or(listen);
    let mut address = config.cluster.advertise_address(&node);
    if let Some(host) = address.strip_suffix(":0") {
        // Port 0 (tests, ad-hoc runs): advertise the port the system picked.
        address = format!("{host}:{}", bound.port());
    }
    let timing = LeaseTiming {
        ttl: Duration::from_millis(config.cluster.lease_ttl_ms.max(300)),
    };
    let directory = RedisDirectory::connect(&url, node.clone(), address.clone(), timing)
        .await
        .map_err(|source| JoinError::Redis {
            url: redact(&url),
            source,
        })?;
    tracing::info!(%bound, advertise = %address, "node link listening");
    let service = registry.join_cluster(directory.clone(), node.clone(), timing);
    actix_rt::spawn(super::link::serve(listener, service, stop.clone()));
    actix_rt::spawn(heartbeat(
        directory.clone(),
        registry.clone(),
        supervisor,
        timing,
        stop.clone(),
    ));
    actix_rt::spawn(follow_operators(
        directory.clone(),
        registry.clone(),
        node,
        stop,
    ));
    Ok(Some(Joined { directory }))
}

/// Announces this node and its load until it stops.
async fn heartbeat(
    directory: RedisDirectory,
    registry: Arc<Registry>,
    supervisor: Addr<Supervisor>,
    timing: LeaseTiming,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let sessions = supervisor.send(Count).await.unwrap_or(0) as u64;
        let beat = directory
            .heartbeat(registry.owned_accounts(), sessions)
            .await;
        if let Err(e) = &beat {
            tracing::warn!(error = %e, "cluster heartbeat failed");
        }
        registry.set_directory_reachable(beat.is_ok());
        tokio::select! {
            _ = tokio::time::sleep(timing.renew_every()) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// `roost cluster move` and `roost cluster drain`, delivered over Redis pub/sub.
async fn follow_operators(
    directory: RedisDirectory,
    registry: Arc<Registry>,
    node: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut commands = directory.subscribe();
    loop {
        let command = tokio::select! {
            c = commands.recv() => c,
            _ = stop.wait_for(|s| *s) => return,
        };
        match command {
            Some(AdminCommand::MoveAccount { account }) => {
                // Operators name the user; leases are held per account directory.
                let account = crate::store::account::account_dir_name(&account);
                registry
                    .give_up(&account, "The mailbox is being moved to another node")
                    .await;
            }
            Some(AdminCommand::Drain { node: target }) if target == node => {
                tracing::info!("drained by an operator: letting go of every account");
                registry
                    .release_all("This node is being drained; reconnect")
                    .await;
            }
            Some(AdminCommand::Drain { .. }) => {}
            None => return,
        }
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
