//! Several `roost` processes sharing one data directory and one real `redis-server`
//! (RFC 9051 section 3 transition 6 when a mailbox's owner changes).

use std::time::{Duration, Instant};

use crate::support::*;

/// Two nodes; the account is owned by the node that touched it first (`a`).
fn two_nodes() -> (Redis, tempfile::TempDir, Server, Server) {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, |_| {});
    let b = Server::start_node(data.path(), "node-b", &redis, |_| {});
    (redis, data, a, b)
}

#[tokio::test]
async fn an_append_on_one_node_reaches_an_idle_client_on_another() {
    let (_redis, _data, a, b) = two_nodes();
    let mut writer = Client::logged_in(&a).await;
    writer.ok("SELECT INBOX").await; // node-a takes the account
    let mut watcher = Client::logged_in(&b).await;
    watcher.ok("SELECT INBOX").await; // node-b attaches over the node link
    watcher.send("i IDLE\r\n").await;
    assert_eq!(watcher.line().await, "+ idling\r\n");
    writer.append("INBOX", "", &sample_message(1)).await;
    assert_eq!(watcher.line().await, "* 1 EXISTS\r\n");
    watcher.line().await; // * 1 RECENT for one of the two sessions
    writer.ok("STORE 1 +FLAGS.SILENT (\\Flagged)").await;
    let line = watcher.line().await;
    assert!(line.starts_with("* 1 FETCH (FLAGS (\\Flagged"), "{line}");
    writer.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    watcher.line().await;
    writer.ok("EXPUNGE").await;
    assert_eq!(watcher.line().await, "* 1 EXPUNGE\r\n");
    watcher.send("DONE\r\n").await;
    watcher.until_tagged("i").await;
    // Everything works from node-b too, through the owner.
    let uid = watcher.append("INBOX", "\\Seen", &sample_message(2)).await;
    assert_eq!(uid, 2);
    assert_eq!(
        watcher.ok("UID FETCH 2 (FLAGS)").await,
        ["* 1 FETCH (UID 2 FLAGS (\\Seen))\r\n"]
    );
    watcher.ok("CREATE Shared/Projects").await;
    // The LIST answer also carries the news of node-b's APPEND (EXISTS, RECENT) before its OK.
    let list = writer.ok("LIST \"\" Shared/%").await;
    assert_eq!(
        list[0],
        "* LIST (\\HasNoChildren) \"/\" Shared/Projects\r\n"
    );
    assert!(list.contains(&"* 1 EXISTS\r\n".to_owned()), "{list:?}");
}

#[tokio::test]
async fn clients_on_three_nodes_append_and_store_at_once_without_losing_anything() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let nodes: Vec<Server> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| Server::start_node(data.path(), n, &redis, |_| {}))
        .collect();
    let mut tasks = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut c = Client::logged_in(node).await;
        tasks.push(tokio::spawn(async move {
            c.ok("SELECT INBOX").await;
            let mut uids = Vec::new();
            for n in 0..15u32 {
                let uid = c
                    .append("INBOX", "", &sample_message(i as u32 * 100 + n))
                    .await;
                c.ok(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)"))
                    .await;
                uids.push(uid);
            }
            c.ok("NOOP").await;
            (c, uids)
        }));
    }
    let mut all = Vec::new();
    let mut clients = Vec::new();
    for t in tasks {
        let (c, uids) = t.await.unwrap();
        all.extend(uids);
        clients.push(c);
    }
    let mut sorted = all.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 45, "UIDs are unique: {all:?}");
    let mut fresh = Client::logged_in(&nodes[2]).await;
    fresh.ok("EXAMINE INBOX").await;
    let truth = fresh.ok("FETCH 1:* (UID FLAGS)").await;
    assert_eq!(truth.len(), 45);
    for (i, c) in clients.iter_mut().enumerate() {
        c.ok("NOOP").await; // takes in what the other nodes' clients appended meanwhile
        let view: Vec<String> = c
            .ok("FETCH 1:* (UID FLAGS)")
            .await
            .into_iter()
            .map(|l| l.replace(" \\Recent", ""))
            .collect();
        assert_eq!(view, truth, "client on node {i}");
    }
}

/// SIGTERM on the owner: its own clients get `* BYE`; IMAP4rev2 clients on other nodes get
/// `* OK [CLOSED]`, select again (now served elsewhere) and see every acknowledged message;
/// IMAP4rev1 clients there, which do not know `[CLOSED]`, get `* BYE` and reconnect.
#[tokio::test]
async fn draining_the_owner_closes_remote_sessions_which_reselect_elsewhere() {
    let (_redis, _data, mut a, b) = two_nodes();
    let mut local = Client::logged_in(&a).await;
    local.ok("SELECT INBOX").await;
    let mut remote = Client::logged_in_rev2(&b).await;
    remote.ok("SELECT INBOX").await;
    let mut remote_rev1 = Client::logged_in(&b).await;
    remote_rev1.ok("SELECT INBOX").await;
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        acknowledged.push(remote.append("INBOX", "", &sample_message(n)).await);
    }
    remote.send("i IDLE\r\n").await;
    assert_eq!(remote.line().await, "+ idling\r\n");
    a.signal("TERM");
    assert_eq!(local.line().await, "* BYE Server shutting down\r\n");
    let mut closed = remote.line().await;
    while closed.contains("EXISTS") || closed.contains("RECENT") {
        closed = remote.line().await;
    }
    assert!(closed.starts_with("* OK [CLOSED] "), "{closed}");
    remote.send("DONE\r\n").await;
    remote.until_tagged("i").await;
    let mut bye = remote_rev1.line().await;
    while !bye.starts_with("* BYE ") {
        assert!(bye.contains("EXISTS") || bye.contains("RECENT"), "{bye}");
        bye = remote_rev1.line().await;
    }
    remote_rev1.expect_closed().await.unwrap();
    assert!(a.wait_exit(Duration::from_secs(20)).success());
    let select = remote.ok("SELECT INBOX").await;
    assert!(select.contains(&"* 5 EXISTS\r\n".to_owned()), "{select:?}");
    let mut reconnected = Client::logged_in(&b).await;
    reconnected.ok("SELECT INBOX").await;
    let uids = reconnected.ok("UID SEARCH ALL").await;
    assert_eq!(uids, ["* SEARCH 1 2 3 4 5\r\n"]);
}

/// `kill -9` of the owner: within the lease TTL (3 s here) plus a second, another node serves
/// the account with every acknowledged change.
#[tokio::test]
async fn after_the_owner_dies_another_node_serves_within_the_lease_ttl() {
    let (_redis, _data, a, b) = two_nodes();
    let mut c = Client::logged_in(&a).await;
    c.ok("SELECT INBOX").await;
    for n in 0..3 {
        c.append("INBOX", "\\Flagged", &sample_message(n)).await;
    }
    let pid = a.pid();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let mut d = Client::logged_in(&b).await;
    let select = loop {
        let lines = d.command("s", "SELECT INBOX").await;
        if lines.last().unwrap().starts_with("s OK") {
            break lines;
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "no takeover: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        started.elapsed() < Duration::from_secs(3 + 1 + 2),
        "took {:?}",
        started.elapsed()
    );
    assert!(select.contains(&"* 3 EXISTS\r\n".to_owned()), "{select:?}");
    assert_eq!(d.ok("SEARCH FLAGGED").await, ["* SEARCH 1 2 3\r\n"]);
}

/// SIGSTOP the owner past its lease, let another node take over and write, SIGCONT the old
/// one: its writes are refused (fenced) and its sessions get `[CLOSED]`; the store is intact.
#[tokio::test]
async fn a_paused_former_owner_cannot_write_after_a_takeover() {
    let (_redis, _data, a, b) = two_nodes();
    let mut old = Client::logged_in_rev2(&a).await;
    old.ok("SELECT INBOX").await;
    old.append("INBOX", "", &sample_message(1)).await;
    a.signal("STOP");
    tokio::time::sleep(Duration::from_millis(4000)).await; // past the 3 s lease
    let mut new = Client::logged_in(&b).await;
    new.ok("SELECT INBOX").await;
    let uid = new.append("INBOX", "", &sample_message(2)).await;
    assert_eq!(uid, 2);
    a.signal("CONT");
    // The old owner's session writes at once, before the old node has noticed: its store
    // refuses (the lease expired and a newer epoch claimed the account) or the session has
    // already been closed. Either way nothing it does reaches the files.
    let lines = old.command("w", "STORE 1 +FLAGS (\\Flagged)").await;
    let answer = lines.concat();
    assert!(!answer.contains("w OK"), "the fenced node wrote: {lines:?}");
    assert!(
        answer.contains("[UNAVAILABLE]") || answer.contains("[CLOSED]") || answer.contains("w BAD"),
        "{lines:?}"
    );
    assert_eq!(
        new.ok("FETCH 1 (FLAGS)").await,
        ["* 1 FETCH (FLAGS ())\r\n"]
    );
    // Once it has noticed, the old node forwards to the new owner: writes work again there.
    let msg = sample_message(3);
    let started = Instant::now();
    loop {
        let lines = old
            .command("a", &format!("APPEND INBOX {{{}+}}\r\n{msg}", msg.len()))
            .await;
        if lines.last().unwrap().starts_with("a OK [APPENDUID ") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{lines:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    new.ok("NOOP").await;
    assert_eq!(new.ok("UID SEARCH ALL").await, ["* SEARCH 1 2 3\r\n"]);
}

/// Redis unreachable: the owner keeps serving what it owns until its lease would end, then
/// stops writing (its sessions get `[CLOSED]`); new SELECTs get `NO [UNAVAILABLE]`; all
/// recovers by itself once Redis is back.
#[tokio::test]
async fn without_redis_owned_mailboxes_close_at_lease_end_and_everything_recovers() {
    let (mut redis, _data, a, _b) = two_nodes();
    let mut selected = Client::logged_in_rev2(&a).await;
    selected.ok("SELECT INBOX").await;
    let mut other = Client::logged_in(&a).await;
    redis.stop();
    let started = Instant::now();
    // Still the owner for a while: writes keep working.
    selected.ok("UID STORE 1:* +FLAGS.SILENT (\\Seen)").await;
    let closed = loop {
        let lines = selected.ok("NOOP").await;
        if let Some(l) = lines.iter().find(|l| l.contains("[CLOSED]")) {
            break l.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never closed: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(closed.starts_with("* OK [CLOSED] "), "{closed}");
    let lines = other.command("s", "SELECT Sent").await;
    assert!(
        lines.last().unwrap().starts_with("s NO [UNAVAILABLE]"),
        "{lines:?}"
    );
    redis.restart();
    let started = Instant::now();
    loop {
        let lines = selected.command("s", "SELECT INBOX").await;
        if lines.last().unwrap().starts_with("s OK") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{lines:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[test]
fn cluster_status_lists_the_live_nodes() {
    let (_redis, _data, a, _b) = two_nodes();
    let out = std::process::Command::new(roost_bin())
        .args(["cluster", "--config"])
        .arg(&a.config)
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("node-a") && text.contains("node-b"), "{text}");
}

/// `roost cluster move` and `roost cluster drain`: the sessions on the mailbox get `[CLOSED]`,
/// select again, and the account is served by whichever node needs it next.
#[tokio::test]
async fn an_operator_moves_an_account_and_drains_a_node() {
    let (_redis, _data, a, b) = two_nodes();
    let mut on_a = Client::logged_in_rev2(&a).await;
    on_a.ok("SELECT INBOX").await; // node-a owns the account
    let mut on_b = Client::logged_in_rev2(&b).await;
    on_b.ok("SELECT INBOX").await;
    let (_, metrics) = http_get(a.http(), "/metrics").await;
    assert!(metrics.contains("roost_accounts_owned 1"), "{metrics}");
    let config = a.config.clone();
    let moving = tokio::task::spawn_blocking(move || cluster_cli(&config, &["move", USER]));
    // Selecting again from node-b lets node-b take the account while the CLI watches.
    wait_for_closed(&mut on_b).await;
    assert!(on_a
        .ok("NOOP")
        .await
        .iter()
        .any(|l| l.starts_with("* OK [CLOSED]")));
    assert!(on_b
        .ok("SELECT INBOX")
        .await
        .iter()
        .any(|l| l.contains("EXISTS")));
    let report = moving.await.unwrap();
    assert!(report.contains(USER), "{report}");
    // Now node-b owns it; draining node-b hands it off again.
    cluster_cli(&a.config, &["drain", "node-b"]);
    wait_for_closed(&mut on_b).await;
    // node-b no longer takes ownership; its session is served through node-a.
    assert!(on_b
        .ok("SELECT INBOX")
        .await
        .iter()
        .any(|l| l.contains("EXISTS")));
    let (_, metrics) = http_get(a.http(), "/metrics").await;
    assert!(metrics.contains("roost_accounts_owned 1"), "{metrics}");
}

/// Runs `roost cluster ARGS` against a node's configuration; its stdout.
fn cluster_cli(config: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(roost_bin())
        .args(["cluster", "--config"])
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// NOOPs until the session is told its mailbox closed (`* OK [CLOSED]`).
async fn wait_for_closed(c: &mut Client) {
    let started = Instant::now();
    loop {
        let lines = c.ok("NOOP").await;
        if lines.iter().any(|l| l.starts_with("* OK [CLOSED]")) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{lines:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
