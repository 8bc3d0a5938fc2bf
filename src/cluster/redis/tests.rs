//! Directory tests against a real `redis-server` (one per test, on its own port).

use std::time::{Duration, Instant};

use std::path::Path;

use super::access::{AccessError, RedisAccess};
use super::*;
use crate::cluster::testing::RedisServer;

async fn directory(redis: &RedisServer, node: &str, ttl_ms: u64) -> RedisDirectory {
    let timing = LeaseTiming {
        ttl: Duration::from_millis(ttl_ms),
    };
    RedisDirectory::connect(redis.client(), node.into(), format!("{node}:7143"), timing)
        .await
        .unwrap()
}

fn lease(owner: Owner) -> Lease {
    match owner {
        Owner::Me(lease) => lease,
        other => panic!("expected this node to own it, got {other:?}"),
    }
}

/// Polls `f` until it returns true, for at most `limit`.
async fn eventually<F: std::future::Future<Output = bool>>(
    limit: Duration,
    mut f: impl FnMut() -> F,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn leases_are_acquired_renewed_released_and_epochs_grow() {
    let redis = RedisServer::start();
    let a = directory(&redis, "a", 5000).await;
    let before = Instant::now();
    let first = lease(a.acquire("alice").await.unwrap());
    assert_eq!(first.epoch, 1);
    assert!(first.valid_until > before + Duration::from_millis(4000));
    assert!(first.valid_until <= Instant::now() + Duration::from_millis(4500));
    // Taking it again while held keeps the epoch (no new owner, no new fencing token).
    assert_eq!(lease(a.acquire("alice").await.unwrap()).epoch, 1);
    let renewed = a.renew(&first).await.unwrap();
    assert_eq!(renewed.epoch, 1);
    assert!(renewed.valid_until >= first.valid_until);
    assert_eq!(a.owner("alice").await.unwrap(), Some(("a".into(), 1)));

    a.release(&renewed).await.unwrap();
    assert_eq!(a.owner("alice").await.unwrap(), None);
    assert!(matches!(
        a.renew(&renewed).await,
        Err(DirectoryError::LeaseLost { .. })
    ));
    assert_eq!(lease(a.acquire("alice").await.unwrap()).epoch, 2);
    // Epochs are per account.
    assert_eq!(lease(a.acquire("bob").await.unwrap()).epoch, 1);
}

#[tokio::test]
async fn lease_left_is_what_remains_of_the_lease_and_none_once_it_is_free() {
    let redis = RedisServer::start();
    let a = directory(&redis, "a", 3000).await;
    assert_eq!(a.lease_left("alice").await.unwrap(), None);
    let held = lease(a.acquire("alice").await.unwrap());
    let left = a.lease_left("alice").await.unwrap().unwrap();
    assert!(left > Duration::from_millis(2000) && left <= Duration::from_millis(3000));
    a.release(&held).await.unwrap();
    assert_eq!(a.lease_left("alice").await.unwrap(), None);
}

/// Issue 19, finding 2: a Redis that lost its data would start epochs at 1 again; the epoch
/// the shared storage recorded is the floor, and the counter continues above it.
#[tokio::test]
async fn a_new_epoch_is_above_the_one_the_shared_storage_recorded() {
    let redis = RedisServer::start();
    let a = directory(&redis, "a", 5000).await;
    let first = lease(a.acquire_above("alice", 41).await.unwrap());
    assert_eq!(first.epoch, 42);
    a.release(&first).await.unwrap();
    assert_eq!(lease(a.acquire_above("alice", 0).await.unwrap()).epoch, 43);
}

#[tokio::test]
async fn another_node_sees_the_owner_and_its_address() {
    let redis = RedisServer::start();
    let a = directory(&redis, "a", 5000).await;
    let b = directory(&redis, "b", 5000).await;
    let held = lease(a.acquire("alice").await.unwrap());
    // The owner has no node record yet: its address is unknown.
    assert_eq!(
        b.acquire("alice").await,
        Err(DirectoryError::UnknownNode("a".into()))
    );
    a.heartbeat(1, 0, false).await.unwrap();
    assert_eq!(
        b.acquire("alice").await.unwrap(),
        Owner::Node {
            node: "a".into(),
            address: "a:7143".into(),
            epoch: held.epoch
        }
    );
    // b's failed attempt neither took the lease nor burnt an epoch.
    assert_eq!(b.owner("alice").await.unwrap(), Some(("a".into(), 1)));
    // b can neither renew nor release a's lease.
    assert!(matches!(
        b.renew(&held).await,
        Err(DirectoryError::LeaseLost { .. })
    ));
    b.release(&held).await.unwrap();
    assert_eq!(a.owner("alice").await.unwrap(), Some(("a".into(), 1)));
}

#[tokio::test]
async fn an_expired_lease_goes_to_another_node_and_the_old_owner_loses_it() {
    let redis = RedisServer::start();
    let a = directory(&redis, "a", 300).await;
    let b = directory(&redis, "b", 300).await;
    let old = lease(a.acquire("alice").await.unwrap());
    // The local view ends before Redis's: margin for clock drift.
    assert!(old.valid_until < Instant::now() + Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let new = lease(b.acquire("alice").await.unwrap());
    assert!(new.epoch > old.epoch);
    assert_eq!(
        a.renew(&old).await,
        Err(DirectoryError::LeaseLost {
            account: "alice".into()
        })
    );
    // The former owner's release leaves the new owner's lease alone.
    a.release(&old).await.unwrap();
    assert_eq!(
        a.owner("alice").await.unwrap(),
        Some(("b".into(), new.epoch))
    );
}

#[tokio::test]
async fn concurrent_acquires_have_exactly_one_winner() {
    let redis = RedisServer::start();
    let mut nodes = Vec::new();
    for i in 0..16 {
        let node = directory(&redis, &format!("n{i}"), 5000).await;
        node.heartbeat(0, 0, false).await.unwrap();
        nodes.push(node);
    }
    let tasks: Vec<_> = nodes
        .iter()
        .flat_map(|node| (0..4).map(move |_| node.clone()))
        .map(|node| {
            tokio::spawn(async move { (node.node().to_owned(), node.acquire("shared").await) })
        })
        .collect();
    let mut winners = std::collections::BTreeSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for task in tasks {
        match task.await.unwrap() {
            (me, Ok(Owner::Me(lease))) => {
                winners.insert(me);
                seen.insert(lease.epoch);
            }
            (_, Ok(Owner::Node { node, epoch, .. })) => {
                seen.insert(epoch);
                winners.insert(node);
            }
            (_, Err(e)) => panic!("{e}"),
        }
    }
    // One node won (possibly through several of its own tasks); everyone agrees on it and on
    // epoch 1.
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(seen, [1].into());
}

#[tokio::test]
async fn unreachable_redis_fails_fast_and_calls_recover_after_a_restart() {
    let mut redis = RedisServer::start();
    let a = directory(&redis, "a", 5000).await;
    let held = lease(a.acquire("alice").await.unwrap());
    redis.stop();

    let started = Instant::now();
    let err = a.acquire("bob").await.unwrap_err();
    assert!(matches!(err, DirectoryError::Unreachable(_)), "{err}");
    let err = a.renew(&held).await.unwrap_err();
    assert!(matches!(err, DirectoryError::Unreachable(_)), "{err}");
    assert!(a.ping().await.is_err());
    let elapsed = started.elapsed();
    assert!(
        elapsed < OP_TIMEOUT * 3,
        "three failed calls took {elapsed:?}"
    );
    eprintln!("three calls against a stopped redis failed in {elapsed:?}");

    // A node starting while Redis is down gets a clear error, not a hang.
    let started = Instant::now();
    let err = RedisDirectory::connect(
        redis.client(),
        "b".into(),
        "b:1".into(),
        LeaseTiming {
            ttl: Duration::from_secs(5),
        },
    )
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
    assert!(started.elapsed() <= OP_TIMEOUT + Duration::from_millis(500));
    eprintln!(
        "connect to a stopped redis failed in {:?}",
        started.elapsed()
    );

    redis.restart();
    let started = Instant::now();
    assert!(eventually(Duration::from_secs(10), || async { a.ping().await.is_ok() }).await);
    eprintln!(
        "calls worked again {:?} after the restart",
        started.elapsed()
    );
    // The restarted Redis is empty: the old lease is gone, so renewing reports it lost.
    assert!(matches!(
        a.renew(&held).await,
        Err(DirectoryError::LeaseLost { .. })
    ));
    assert!(matches!(a.acquire("alice").await, Ok(Owner::Me(_))));
}

#[tokio::test]
async fn connecting_to_a_silent_address_is_bounded() {
    // 192.0.2.0/24 is TEST-NET-1: never routed, so the SYN goes unanswered (or fails at once
    // without a route). Either way the call must end within the operation bound.
    let started = Instant::now();
    let result = RedisDirectory::connect(
        crate::cluster::testing::client("redis://192.0.2.1:6379/"),
        "a".into(),
        "a:1".into(),
        LeaseTiming {
            ttl: Duration::from_secs(5),
        },
    )
    .await;
    assert!(matches!(result, Err(DirectoryError::Unreachable(_))));
    assert!(
        started.elapsed() <= OP_TIMEOUT + Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

const PROBE: &str = "probe";

/// Publishes probes until `expected` subscribers are listening (subscribing is asynchronous).
async fn wait_for_subscribers(publisher: &RedisDirectory, expected: u64) {
    let probe = AdminCommand::Drain { node: PROBE.into() };
    let ready = eventually(Duration::from_secs(15), || async {
        publisher.publish_counted(&probe).await.unwrap_or(0) >= expected
    });
    assert!(ready.await, "subscribers did not come (back)");
}

/// The next command that is not a probe.
async fn next_command(rx: &mut tokio::sync::mpsc::Receiver<AdminCommand>) -> AdminCommand {
    let wait = async {
        loop {
            match rx.recv().await {
                Some(AdminCommand::Drain { node }) if node == PROBE => continue,
                Some(command) => return command,
                None => panic!("subscription ended"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_commands_reach_every_subscriber_and_survive_a_redis_restart() {
    let mut redis = RedisServer::start();
    let a = directory(&redis, "a", 5000).await;
    let b = directory(&redis, "b", 5000).await;
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    wait_for_subscribers(&a, 2).await;
    let command = AdminCommand::MoveAccount {
        account: "alice".into(),
        to: Some("b".into()),
    };
    b.publish(&command).await.unwrap();
    assert_eq!(next_command(&mut on_a).await, command);
    assert_eq!(next_command(&mut on_b).await, command);

    // Down for longer than the connection manager's own reconnection attempts, so only the
    // subscriber's keep-alive brings the subscription back.
    redis.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart();
    let started = Instant::now();
    wait_for_subscribers(&a, 2).await;
    eprintln!(
        "subscribers were back {:?} after the restart",
        started.elapsed()
    );
    let command = AdminCommand::Drain { node: "b".into() };
    a.publish(&command).await.unwrap();
    assert_eq!(next_command(&mut on_a).await, command);
    assert_eq!(next_command(&mut on_b).await, command);

    // Dropping the receiver ends the subscription.
    drop(on_b);
    assert!(
        eventually(Duration::from_secs(5), || async {
            a.publish_counted(&AdminCommand::Drain { node: PROBE.into() })
                .await
                .ok()
                == Some(1)
        })
        .await
    );
}

#[tokio::test]
async fn heartbeats_list_live_nodes_and_dead_nodes_expire() {
    let redis = RedisServer::start();
    // Node records live three heartbeats: 3 x 100 ms.
    let a = directory(&redis, "a", 300).await;
    let b = directory(&redis, "b", 300).await;
    assert_eq!(a.nodes().await.unwrap(), vec![]);
    a.heartbeat(2, 10, false).await.unwrap();
    b.heartbeat(0, 3, true).await.unwrap();
    let info = |node: &str, accounts_owned, sessions| NodeInfo {
        node: node.into(),
        address: format!("{node}:7143"),
        accounts_owned,
        sessions,
        draining: false,
    };
    let draining_b = NodeInfo {
        draining: true,
        ..info("b", 0, 3)
    };
    assert_eq!(a.nodes().await.unwrap(), vec![info("a", 2, 10), draining_b]);
    a.heartbeat(3, 11, false).await.unwrap();
    b.deregister().await;
    assert_eq!(b.nodes().await.unwrap(), vec![info("a", 3, 11)]);
    // a stops heartbeating: gone once its record expires.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(b.nodes().await.unwrap(), vec![]);
    a.heartbeat(1, 1, false).await.unwrap();
    assert_eq!(b.nodes().await.unwrap(), vec![info("a", 1, 1)]);
}

/// Settings as `[cluster]` would give them.
fn access(url: &str, ca: Option<&Path>, user: Option<&str>, file: Option<&Path>) -> RedisAccess {
    let mut cluster = crate::config::ClusterConfig {
        redis_url: Some(url.into()),
        ..Default::default()
    };
    cluster.redis_ca = ca.map(Path::to_path_buf);
    cluster.redis_username = user.map(str::to_owned);
    cluster.redis_password_file = file.map(Path::to_path_buf);
    RedisAccess::from_config(&cluster).unwrap()
}

#[test]
fn the_password_file_is_read_without_its_final_line_break() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "pass word\n").unwrap();
    let client = access("redis://h:1/", None, Some("roost"), Some(&file))
        .client()
        .unwrap();
    let settings = client.get_connection_info().redis_settings();
    assert_eq!(settings.username(), Some("roost"));
    assert_eq!(settings.password(), Some("pass word"));
    // A password alone authenticates the default user.
    let client = access("redis://h:1/", None, None, Some(&file))
        .client()
        .unwrap();
    assert_eq!(
        client.get_connection_info().redis_settings().username(),
        None
    );
}

#[test]
fn unreadable_or_empty_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = access("redis://h:1/", None, Some("u"), Some(&missing))
        .client()
        .unwrap_err();
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let err = access("redis://h:1/", None, Some("u"), Some(&empty))
        .client()
        .unwrap_err();
    assert!(matches!(err, AccessError::EmptyPassword(_)), "{err}");
    let err = access("rediss://h:1/", Some(&missing), None, None)
        .client()
        .unwrap_err();
    assert!(err.to_string().contains("redis CA file"), "{err}");
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnope\n").unwrap();
    let err = access("rediss://h:1/", Some(&garbage), None, None)
        .client()
        .unwrap_err();
    assert!(err.to_string().contains("cluster.redis_ca"), "{err}");
}

#[test]
fn shown_settings_hide_the_password() {
    let shown = access("rediss://u:pw@h:1/", None, None, None).shown();
    assert_eq!(shown, "rediss://u:***@h:1/");
    let shown = access("rediss://h:1/", None, Some("roost"), Some(Path::new("/f"))).shown();
    assert_eq!(shown, "rediss://h:1/ (as user roost)");
}

#[tokio::test]
async fn a_reserved_account_goes_only_to_its_node_and_leases_are_listed() {
    let redis = RedisServer::start();
    let a = directory(&redis, "a", 5000).await;
    let c = directory(&redis, "c", 5000).await;
    for d in [&a, &c] {
        d.heartbeat(0, 0, false).await.unwrap();
    }
    let Owner::Me(lease) = a.acquire("alice").await.unwrap() else {
        panic!("a takes alice")
    };
    a.reserve("alice", "c").await.unwrap();
    // Held: the reservation changes nothing until a lets go.
    assert!(matches!(a.acquire("alice").await.unwrap(), Owner::Me(_)));
    a.release(&lease).await.unwrap();
    match a.acquire("alice").await.unwrap() {
        Owner::Node { node, address, .. } => assert_eq!((&*node, &*address), ("c", "c:7143")),
        other => panic!("a took a reserved account: {other:?}"),
    }
    let Owner::Me(taken) = c.acquire("alice").await.unwrap() else {
        panic!("c takes its reservation")
    };
    assert!(taken.epoch > lease.epoch);
    c.release(&taken).await.unwrap();
    // The reservation ended with c's win: anyone may take it now.
    assert!(matches!(a.acquire("alice").await.unwrap(), Owner::Me(_)));
    assert!(matches!(c.acquire("bob").await.unwrap(), Owner::Me(_)));
    let listed: Vec<(String, String)> = a
        .leases()
        .await
        .unwrap()
        .into_iter()
        .map(|(account, node, _)| (account, node))
        .collect();
    assert_eq!(
        listed,
        [("alice".into(), "a".into()), ("bob".into(), "c".into())]
    );
}
