//! `roost cluster status|move|drain`: an operator's view of, and commands to, a running cluster.
//!
//! The commands talk to Redis only (never to the nodes directly): `status` reads the node
//! records, `move` and `drain` publish an [`AdminCommand`] that every node receives.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Subcommand;

use super::redis::access::RedisAccess;
use super::redis::RedisDirectory;
use super::{AdminCommand, NodeInfo};
use crate::config::Config;

/// How long `move` watches for the account's lease to change hands.
const MOVE_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Subcommand)]
pub enum ClusterCommand {
    /// List live nodes: link address, accounts owned, sessions.
    Status,
    /// Ask the node owning ACCOUNT to let it go; its sessions reattach wherever it is taken next.
    Move { account: String },
    /// Ask NODE to hand off every account it owns (it refuses new ones until restarted).
    Drain { node: String },
}

/// Runs one cluster command against the configured Redis.
///
/// # Errors
/// A message for the operator: no Redis configured, Redis unreachable, unknown node.
pub async fn run(cmd: ClusterCommand, config: &Config) -> Result<(), String> {
    let Some(access) = RedisAccess::from_config(&config.cluster) else {
        return Err(
            "cluster.redis_url is not configured (set it in the config file, ROOST_REDIS_URL or \
             --redis-url); without it this node runs alone"
                .into(),
        );
    };
    // The CLI registers nothing: it only reads records and publishes commands.
    let client = access.client().map_err(|e| e.to_string())?;
    let directory = RedisDirectory::connect(
        client,
        config.node_id.clone(),
        config.cluster.advertise_address(&config.node_id),
        config.cluster.lease_timing(),
    )
    .await
    .map_err(|e| e.to_string())?;
    match cmd {
        ClusterCommand::Status => {
            let nodes = directory.nodes().await.map_err(|e| e.to_string())?;
            print!("{}", status_table(&nodes));
            Ok(())
        }
        ClusterCommand::Move { account } => move_account(&directory, account).await,
        ClusterCommand::Drain { node } => {
            let nodes = directory.nodes().await.map_err(|e| e.to_string())?;
            if !nodes.iter().any(|n| n.node == node) {
                return Err(format!("no live node named {node:?}"));
            }
            let command = AdminCommand::Drain { node: node.clone() };
            let delivered = directory
                .publish_counted(&command)
                .await
                .map_err(|e| e.to_string())?;
            println!("asked node {node} to drain ({delivered} subscribers received it)");
            Ok(())
        }
    }
}

/// Publishes the move and watches the lease: done when it is released or taken with a new
/// epoch. Pub/sub is at-most-once, so an unchanged lease is reported rather than assumed moved.
async fn move_account(directory: &RedisDirectory, account: String) -> Result<(), String> {
    // Leases are held per account directory (the user name, escaped for the filesystem).
    let key = crate::store::account::account_dir_name(&account);
    let before = directory.owner(&key).await.map_err(|e| e.to_string())?;
    let Some((node, epoch)) = before else {
        println!("account {account} is not owned by any node; nothing to move");
        return Ok(());
    };
    let command = AdminCommand::MoveAccount {
        account: account.clone(),
    };
    directory
        .publish(&command)
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + MOVE_WAIT;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        match directory.owner(&key).await.map_err(|e| e.to_string())? {
            Some((_, now)) if now == epoch => continue,
            Some((to, now)) => {
                println!("account {account} moved from {node} to {to} (epoch {epoch} -> {now})");
                return Ok(());
            }
            None => {
                println!("account {account} released by {node}; the next node to need it takes it");
                return Ok(());
            }
        }
    }
    Err(format!(
        "account {account} is still owned by {node} after {} s; the node may have missed the \
         command (delivery is at most once): run the command again",
        MOVE_WAIT.as_secs()
    ))
}

fn status_table(nodes: &[NodeInfo]) -> String {
    if nodes.is_empty() {
        return "no live nodes\n".into();
    }
    let headers = ["NODE", "ADDRESS", "ACCOUNTS", "SESSIONS"];
    let rows: Vec<[String; 4]> = nodes
        .iter()
        .map(|n| {
            [
                n.node.clone(),
                n.address.clone(),
                n.accounts_owned.to_string(),
                n.sessions.to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .fold(headers[i].len(), usize::max)
        })
        .collect();
    let mut out = String::new();
    let header = headers.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{} nodes, {} accounts, {} sessions",
        nodes.len(),
        nodes.iter().map(|n| n.accounts_owned).sum::<u64>(),
        nodes.iter().map(|n| n.sessions).sum::<u64>()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::testing::RedisServer;
    use crate::cluster::LeaseTiming;

    fn node(name: &str, accounts: u64, sessions: u64) -> NodeInfo {
        NodeInfo {
            node: name.into(),
            address: format!("{name}.roost:7143"),
            accounts_owned: accounts,
            sessions,
        }
    }

    #[test]
    fn status_is_an_aligned_table_with_totals() {
        let table = status_table(&[node("a", 3, 120), node("node-long", 12, 4)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "NODE       ADDRESS               ACCOUNTS  SESSIONS"
        );
        assert_eq!(
            lines[1],
            "a          a.roost:7143                 3       120"
        );
        assert_eq!(
            lines[2],
            "node-long  node-long.roost:7143        12         4"
        );
        assert_eq!(lines[3], "2 nodes, 15 accounts, 124 sessions");
        assert_eq!(status_table(&[]), "no live nodes\n");
    }

    #[tokio::test]
    async fn commands_without_redis_configured_say_so() {
        let err = run(ClusterCommand::Status, &Config::default())
            .await
            .unwrap_err();
        assert!(err.contains("cluster.redis_url"), "{err}");
    }

    #[tokio::test]
    async fn move_and_drain_reach_subscribers() {
        let redis = RedisServer::start();
        let timing = LeaseTiming {
            ttl: Duration::from_secs(5),
        };
        let owner = RedisDirectory::connect(redis.client(), "a".into(), "a:1".into(), timing)
            .await
            .unwrap();
        owner.heartbeat(1, 0).await.unwrap();
        let mut commands = owner.subscribe();
        let mut config = Config::default();
        config.cluster.redis_url = Some(redis.url());
        // Subscription is asynchronous: wait until Redis counts the subscriber.
        while owner
            .publish_counted(&AdminCommand::Drain { node: "-".into() })
            .await
            .unwrap()
            == 0
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            commands.recv().await,
            Some(AdminCommand::Drain { node: "-".into() })
        );

        run(ClusterCommand::Drain { node: "a".into() }, &config)
            .await
            .unwrap();
        assert_eq!(
            commands.recv().await,
            Some(AdminCommand::Drain { node: "a".into() })
        );
        let err = run(ClusterCommand::Drain { node: "zz".into() }, &config)
            .await
            .unwrap_err();
        assert!(err.contains("no live node"), "{err}");

        // The owner reacts to the move by releasing its lease, as a node does.
        let Ok(super::super::Owner::Me(lease)) = owner.acquire("alice").await else {
            panic!("lease not taken");
        };
        let reacting = tokio::spawn(async move {
            let command = commands.recv().await;
            owner.release(&lease).await.unwrap();
            command
        });
        run(
            ClusterCommand::Move {
                account: "alice".into(),
            },
            &config,
        )
        .await
        .unwrap();
        assert_eq!(
            reacting.await.unwrap(),
            Some(AdminCommand::MoveAccount {
                account: "alice".into()
            })
        );
        run(ClusterCommand::Status, &config).await.unwrap();
    }
}
