//! `roost cluster status|move|drain`: an operator's view of, and commands to, a running cluster.
//!
//! The commands talk to Redis only (never to the nodes directly): `status` reads the node
//! records and the leases themselves (not what heartbeats last said), `move` and `drain`
//! publish an [`AdminCommand`] that every node receives.

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
    /// List live nodes (link address, draining, accounts owned by their leases, sessions)
    Status {
        /// Also list every owned account with its owner and epoch
        #[arg(long)]
        accounts: bool,
    },
    /// Ask the node owning ACCOUNT to let it go; its sessions reattach wherever it is taken
    /// next, or on the node named by --to
    Move {
        account: String,
        /// The node that takes the account (a live node) [default: whichever needs it next]
        #[arg(long)]
        to: Option<String>,
    },
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
        ClusterCommand::Status { accounts } => {
            let nodes = directory.nodes().await.map_err(|e| e.to_string())?;
            let leases = directory.leases().await.map_err(|e| e.to_string())?;
            print!("{}", status_table(&nodes, &leases));
            if accounts {
                print!("{}", accounts_table(&leases));
            }
            Ok(())
        }
        ClusterCommand::Move { account, to } => move_account(&directory, account, to).await,
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
async fn move_account(
    directory: &RedisDirectory,
    account: String,
    to: Option<String>,
) -> Result<(), String> {
    // Leases are held per account directory (the user name, escaped for the filesystem).
    let key = crate::store::account::account_dir_name(&account);
    if let Some(target) = &to {
        let nodes = directory.nodes().await.map_err(|e| e.to_string())?;
        match nodes.iter().find(|n| n.node == *target) {
            None => return Err(format!("no live node named {target:?}")),
            Some(n) if n.draining => return Err(format!("node {target} is draining")),
            Some(_) => {}
        }
    }
    let before = directory.owner(&key).await.map_err(|e| e.to_string())?;
    if let (Some((node, _)), Some(target)) = (&before, &to) {
        if node == target {
            println!("account {account} is already owned by {node}");
            return Ok(());
        }
    }
    if let Some(target) = &to {
        directory
            .reserve(&key, target)
            .await
            .map_err(|e| e.to_string())?;
    }
    if before.is_none() && to.is_none() {
        println!("account {account} is not owned by any node; nothing to move");
        return Ok(());
    }
    let command = AdminCommand::MoveAccount {
        account: account.clone(),
        to: to.clone(),
    };
    directory
        .publish(&command)
        .await
        .map_err(|e| e.to_string())?;
    let (node, epoch) = before.unwrap_or_else(|| ("nobody".into(), 0));
    if let Some(target) = &to {
        return wait_for_owner(directory, &account, &key, target, &node, epoch).await;
    }
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

/// Watches the lease until `target` holds it with a new epoch.
async fn wait_for_owner(
    directory: &RedisDirectory,
    account: &str,
    key: &str,
    target: &str,
    from: &str,
    epoch: u64,
) -> Result<(), String> {
    let deadline = Instant::now() + MOVE_WAIT;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some((owner, now)) = directory.owner(key).await.map_err(|e| e.to_string())? {
            if owner == target && now != epoch {
                println!(
                    "account {account} moved from {from} to {target} (epoch {epoch} -> {now})"
                );
                return Ok(());
            }
        }
    }
    Err(format!(
        "account {account} was not taken by {target} within {} s (the nodes may have missed \
         the command: delivery is at most once): run the command again",
        MOVE_WAIT.as_secs()
    ))
}

/// Every owned account: `ACCOUNT OWNER EPOCH`.
fn accounts_table(leases: &[(String, String, u64)]) -> String {
    let rows: Vec<Vec<String>> = leases
        .iter()
        .map(|(account, node, epoch)| vec![account.clone(), node.clone(), epoch.to_string()])
        .collect();
    format!("\n{}", table(&["ACCOUNT", "OWNER", "EPOCH"], &rows, 2))
}

/// The live nodes; accounts are counted from the leases in Redis.
fn status_table(nodes: &[NodeInfo], leases: &[(String, String, u64)]) -> String {
    if nodes.is_empty() {
        return "no live nodes\n".into();
    }
    let owned = |node: &str| leases.iter().filter(|l| l.1 == node).count();
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            vec![
                n.node.clone(),
                n.address.clone(),
                if n.draining { "yes" } else { "no" }.to_owned(),
                owned(&n.node).to_string(),
                n.sessions.to_string(),
            ]
        })
        .collect();
    let headers = ["NODE", "ADDRESS", "DRAINING", "ACCOUNTS", "SESSIONS"];
    let mut out = table(&headers, &rows, 3);
    let total_sessions: u64 = nodes.iter().map(|n| n.sessions).sum();
    let _ = writeln!(
        out,
        "{} nodes, {} accounts owned, {} sessions",
        nodes.len(),
        leases.len(),
        total_sessions
    );
    out
}

/// Columns padded to their widest cell, two spaces apart; columns from `right_from` on are
/// numbers, aligned right.
fn table(headers: &[&str], rows: &[Vec<String>], right_from: usize) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .fold(headers[i].len(), usize::max)
        })
        .collect();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| {
                if i >= right_from {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::testing::RedisServer;
    use crate::cluster::LeaseTiming;

    fn node(name: &str, sessions: u64, draining: bool) -> NodeInfo {
        NodeInfo {
            node: name.into(),
            address: format!("{name}.roost:7143"),
            accounts_owned: 99, // what the heartbeat said: not shown
            sessions,
            draining,
        }
    }

    #[test]
    fn status_is_an_aligned_table_with_totals_from_the_leases() {
        let lease = |account: &str, node: &str, epoch| (account.into(), node.into(), epoch);
        let leases = vec![
            lease("alice", "a", 7),
            lease("bob", "node-long", 2),
            lease("carol", "node-long", 31),
        ];
        let table = status_table(
            &[node("a", 120, false), node("node-long", 4, true)],
            &leases,
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "NODE       ADDRESS               DRAINING  ACCOUNTS  SESSIONS"
        );
        assert_eq!(
            lines[1],
            "a          a.roost:7143          no               1       120"
        );
        assert_eq!(
            lines[2],
            "node-long  node-long.roost:7143  yes              2         4"
        );
        assert_eq!(lines[3], "2 nodes, 3 accounts owned, 124 sessions");
        assert_eq!(status_table(&[], &leases), "no live nodes\n");
        let accounts: Vec<String> = accounts_table(&leases).lines().map(str::to_owned).collect();
        assert_eq!(accounts[1], "ACCOUNT  OWNER      EPOCH");
        assert_eq!(accounts[4], "carol    node-long     31");
    }

    #[tokio::test]
    async fn commands_without_redis_configured_say_so() {
        let err = run(
            ClusterCommand::Status { accounts: false },
            &Config::default(),
        )
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
        owner.heartbeat(1, 0, false).await.unwrap();
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
                to: None,
            },
            &config,
        )
        .await
        .unwrap();
        assert_eq!(
            reacting.await.unwrap(),
            Some(AdminCommand::MoveAccount {
                account: "alice".into(),
                to: None
            })
        );
        run(ClusterCommand::Status { accounts: true }, &config)
            .await
            .unwrap();
    }
}
