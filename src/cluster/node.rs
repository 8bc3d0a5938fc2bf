//! Joining the cluster at start: secure the node link (mutual TLS, or plain TCP where the
//! operator said so), connect to Redis, serve the link, announce this node, and follow
//! operators' commands.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::link::tls::{LinkTls, LinkTlsError};
use super::link::{LinkSecurity, LocalNode};
use super::redis::access::{AccessError, RedisAccess};
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
    #[error("cannot join the cluster through redis at {url}: {source}")]
    Redis { url: String, source: DirectoryError },
    #[error("{0}")]
    RedisAccess(#[from] AccessError),
    #[error("cannot secure node links (cluster.link_tls): {0}")]
    LinkTls(#[from] LinkTlsError),
    #[error(
        "another live node already runs with node_id {0:?} (its record in redis is being \
         refreshed): give every node its own node_id"
    )]
    NodeIdInUse(String),
    #[error(transparent)]
    Storage(#[from] super::storage_id::StorageError),
    #[error(
        "cannot listen for node links on {address}: {source}; move it with \
         `cluster.link_listen` (flag `--link-listen`, ROOST_LINK_LISTEN)"
    )]
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
    let Some(access) = RedisAccess::from_config(&config.cluster) else {
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
    let security = link_security(&config.cluster, &node, &address)?;
    let directory =
        RedisDirectory::connect(access.client()?, node.clone(), address.clone(), timing)
            .await
            .map_err(|source| JoinError::Redis {
                url: access.shown(),
                source,
            })?;
    let taken = directory
        .node_id_taken()
        .await
        .map_err(|source| JoinError::Redis {
            url: access.shown(),
            source,
        })?;
    if taken {
        return Err(JoinError::NodeIdInUse(node));
    }
    super::storage_id::check(&directory, &config.data_dir).await?;
    tracing::info!(%bound, advertise = %address, "node link listening");
    let local = LocalNode::new(node.clone(), security.clone());
    let service = registry.join_cluster(directory.clone(), local, timing);
    actix_rt::spawn(super::link::serve(
        listener,
        security,
        service,
        stop.clone(),
    ));
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

/// Loads the link's TLS files (and starts watching them), or warns that links are plain TCP.
/// Configuration validation guarantees one of the two is configured.
fn link_security(
    cluster: &crate::config::ClusterConfig,
    node: &str,
    advertised: &str,
) -> Result<LinkSecurity, JoinError> {
    let Some(files) = &cluster.link_tls else {
        tracing::warn!(
            listen = %cluster.link_listen,
            "cluster.link_plaintext = true: node links are plain TCP without authentication; \
             anyone who can reach this port can read and change every mailbox"
        );
        return Ok(LinkSecurity::Plaintext);
    };
    let tls = LinkTls::load(files, node, advertised)?;
    tls.spawn_reloader();
    tracing::info!(cert = %files.cert.display(), ca = %files.ca.display(), "node links use mutual TLS");
    Ok(LinkSecurity::Tls(tls))
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
        if let Ok(false) = directory.claim_node().await {
            lost_node_id(&directory, &registry).await;
        }
        let beat = directory
            .heartbeat(registry.owned_accounts(), sessions, registry.is_draining())
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

/// Another process claimed this node id while this one could not renew its claim (paused
/// past the node TTL, or cut off from Redis): two processes with one id would both own every
/// account. This one lets go of its accounts and exits, as it would have refused to start.
async fn lost_node_id(directory: &RedisDirectory, registry: &Arc<Registry>) {
    tracing::error!(
        node = %directory.node_id(),
        "another process now runs with this node_id; letting go of every account and exiting: \
         give every node its own node_id"
    );
    registry
        .release_all("The node serving this mailbox stopped: its node id is in use elsewhere")
        .await;
    std::process::exit(1);
}

/// `cluster move --to` this node: take the account as soon as its owner has let go (the
/// reservation in Redis keeps every other node off meanwhile).
async fn take_over(registry: Arc<Registry>, user: String) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        match registry.take(&user).await {
            Ok(true) => {
                tracing::info!(account = %user, "took the account as an operator asked");
                return;
            }
            Ok(false) => {}
            Err(e) => tracing::debug!(account = %user, error = %e, "account not taken yet"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tracing::warn!(account = %user, "the account was not handed over within 20 s");
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
            Some(AdminCommand::MoveAccount { account: user, to }) => {
                // Operators name the user; leases are held per account directory.
                let account = crate::store::account::account_dir_name(&user);
                registry
                    .give_up(&account, "The mailbox is being moved to another node")
                    .await;
                if to.as_deref() == Some(node.as_str()) {
                    tokio::spawn(take_over(registry.clone(), user));
                }
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
