//! Several `roost` processes sharing one data directory and one real `redis-server`
//! (RFC 9051 section 3 transition 6 when a mailbox's owner changes).

use std::time::{Duration, Instant};

use crate::support::*;

/// Two nodes; the account is owned by the node that touched it first (`a`).
pub(crate) fn two_nodes() -> (Redis, tempfile::TempDir, Server, Server) {
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
    expect_bye(&mut remote_rev1).await;
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
    // Sessions on the surviving node, served through the owner until it dies.
    let mut remote_rev1 = Client::logged_in(&b).await;
    remote_rev1.ok("SELECT INBOX").await;
    let mut remote_rev2 = Client::logged_in_rev2(&b).await;
    remote_rev2.ok("SELECT INBOX").await;
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
    // The owner's death reaches the sessions it served: `[CLOSED]` for IMAP4rev2, `BYE`
    // for IMAP4rev1 (which would not understand `[CLOSED]`).
    wait_for_closed(&mut remote_rev2).await;
    expect_bye(&mut remote_rev1).await;
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
    // refuses (the lease expired and a newer epoch claimed the account), and the write goes
    // on to the new owner under a request key; or the session has already been closed.
    // Either way the old node writes nothing itself, and what the client is told is true.
    let lines = old.command("w", "STORE 1 +FLAGS (\\Flagged)").await;
    let answer = lines.concat();
    let flags = if answer.contains("w OK") {
        "(\\Flagged)"
    } else {
        assert!(
            answer.contains("[UNAVAILABLE]")
                || answer.contains("[CLOSED]")
                || answer.contains("w BAD"),
            "{lines:?}"
        );
        "()"
    };
    let fetched = new.ok("FETCH 1 (FLAGS)").await;
    assert!(
        fetched.contains(&format!("* 1 FETCH (FLAGS {flags})\r\n")),
        "{lines:?} then {fetched:?}"
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

/// `roost cluster move` and `roost cluster drain`: the sessions on the mailbox get `[CLOSED]`
/// (IMAP4rev1 ones `* BYE`), select again, and the account is served by whichever node needs
/// it next.
#[tokio::test]
async fn an_operator_moves_an_account_and_drains_a_node() {
    let (_redis, _data, a, b) = two_nodes();
    let mut on_a = Client::logged_in_rev2(&a).await;
    on_a.ok("SELECT INBOX").await; // node-a owns the account
    let mut on_b = Client::logged_in_rev2(&b).await;
    on_b.ok("SELECT INBOX").await;
    let mut rev1_on_a = Client::logged_in(&a).await;
    rev1_on_a.ok("SELECT INBOX").await;
    let mut rev1_on_b = Client::logged_in(&b).await;
    rev1_on_b.ok("SELECT INBOX").await;
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
    // IMAP4rev1 sessions on both nodes are told BYE instead of `[CLOSED]`.
    expect_bye(&mut rev1_on_a).await;
    expect_bye(&mut rev1_on_b).await;
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
    roost_cli("cluster", config, args)
}

/// An IMAP4rev1 session whose mailbox moved: reads past news of the mailbox to the `* BYE`
/// that replaces `[CLOSED]` for it, then the connection must close.
async fn expect_bye(c: &mut Client) {
    let mut bye = c.line().await;
    while !bye.starts_with("* BYE ") {
        assert!(
            bye.contains("EXISTS") || bye.contains("RECENT") || bye.contains("FETCH"),
            "{bye}"
        );
        bye = c.line().await;
    }
    c.expect_closed().await.unwrap();
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

/// A client on `owner` selects INBOX (so `owner` takes the account) and appends a message; a
/// client on `other` then sees it through the node link. Returns INBOX's message count.
async fn append_and_read_across(owner: &Server, other: &Server) -> usize {
    let mut writer = Client::logged_in(owner).await;
    writer.ok("SELECT INBOX").await;
    writer.append("INBOX", "", &sample_message(1)).await;
    let mut reader = Client::logged_in(other).await;
    let select = reader.ok("EXAMINE INBOX").await;
    let exists = select
        .iter()
        .find_map(|l| {
            l.strip_prefix("* ")?
                .strip_suffix(" EXISTS\r\n")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no EXISTS in {select:?}"));
    assert!(exists >= 1, "{select:?}");
    exists
}

/// A node-link frame written by hand, as an intruder would: a u32 length, then postcard (the
/// variant's index, then its fields; short strings and numbers are one-byte varints).
fn link_frame(variant: u8, fields: &[&[u8]]) -> Vec<u8> {
    let mut body = vec![variant];
    for field in fields {
        body.extend_from_slice(field);
    }
    let mut frame = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

/// `Hello { node }` followed at once by `Request { id: 1, payload }`.
fn hello_and_request(node: &str, payload: &[u8]) -> Vec<u8> {
    let string = |s: &[u8]| [&[u8::try_from(s.len()).unwrap()], s].concat();
    let mut bytes = link_frame(0, &[&string(node.as_bytes())]);
    bytes.extend(link_frame(1, &[&[1], &string(payload)]));
    bytes
}

/// Reads until the peer closes; true when it did within a few seconds (an alert or an error
/// count as closing too).
async fn closed_by_peer(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> bool {
    use tokio::io::AsyncReadExt;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest));
    read.await.is_ok()
}

#[tokio::test]
async fn a_plaintext_hello_to_a_tls_node_is_refused_and_changes_nothing() {
    let (_redis, _data, a, b) = two_nodes();
    assert_eq!(append_and_read_across(&a, &b).await, 1);
    let mut intruder = tokio::net::TcpStream::connect(a.link()).await.unwrap();
    use tokio::io::AsyncWriteExt;
    intruder
        .write_all(&hello_and_request("node-b", b"EXPUNGE everything"))
        .await
        .unwrap();
    assert!(closed_by_peer(&mut intruder).await);
    assert!(a.wait_for_log(&["node link TLS handshake failed"]));
    // Nothing changed, and the real nodes still talk.
    let mut c = Client::logged_in(&b).await;
    assert!(c
        .ok("EXAMINE INBOX")
        .await
        .contains(&"* 1 EXISTS\r\n".to_owned()));
}

#[tokio::test]
async fn a_node_claiming_another_nodes_id_is_refused_and_the_claim_logged() {
    let (_redis, _data, a, b) = two_nodes();
    assert_eq!(append_and_read_across(&a, &b).await, 1);
    // node-b's own certificate (a valid chain from the cluster CA), claiming to be node-c.
    let tcp = tokio::net::TcpStream::connect(a.link()).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut impostor = b.link_tls().connector().connect(name, tcp).await.unwrap();
    use tokio::io::AsyncWriteExt;
    impostor
        .write_all(&hello_and_request("node-c", b"DELETE INBOX"))
        .await
        .unwrap();
    assert!(closed_by_peer(&mut impostor).await);
    let warned = a.wait_for_log(&["does not prove the node id", "\"claimed\":\"node-c\""]);
    assert!(warned, "{:#?}", a.log.lock().unwrap());
    let mut c = Client::logged_in(&b).await;
    assert!(c
        .ok("EXAMINE INBOX")
        .await
        .contains(&"* 1 EXISTS\r\n".to_owned()));
}

#[tokio::test]
async fn with_link_plaintext_nodes_talk_over_tcp_and_without_either_setting_none_starts() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let plaintext = |c: &mut toml::Table| {
        let cluster = table(c, "cluster");
        cluster.remove("link_tls");
        cluster.insert("link_plaintext".into(), true.into());
    };
    let a = Server::start_node(data.path(), "node-a", &redis, plaintext);
    let b = Server::start_node(data.path(), "node-b", &redis, plaintext);
    assert_eq!(append_and_read_across(&a, &b).await, 1);
    assert!(a.log_contains("cluster.link_plaintext = true: node links are plain TCP"));

    let log = Server::try_start_node(data.path(), "node-c", &redis, |c| {
        table(c, "cluster").remove("link_tls");
    })
    .err()
    .expect("a cluster node with unprotected links does not start");
    let text = log.join("\n");
    assert!(
        text.contains("[cluster.link_tls]") && text.contains("cluster.link_plaintext = true"),
        "{text}"
    );
}

/// Redis over TLS (when this redis-server supports it) with an ACL user and the passwordless
/// default user turned off: nodes join with the user given as settings or in the URL; a
/// wrong password stops a node at start with a clear error that does not show the password.
#[tokio::test]
async fn nodes_join_through_rediss_as_an_acl_user_and_a_wrong_password_stops_a_node() {
    let users = vec![("roost".to_owned(), "s3cret-pw".to_owned())];
    let tls = RedisOptions {
        tls: true,
        users: users.clone(),
    };
    let redis = Redis::start_with(tls).unwrap_or_else(|e| {
        eprintln!(
            "note: this redis-server cannot serve TLS ({e}); testing the ACL user over plain \
             redis:// only"
        );
        Redis::start_with(RedisOptions { tls: false, users }).expect("redis-server starts")
    });
    let data = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let password = secrets.path().join("redis-password");
    std::fs::write(&password, "s3cret-pw\n").unwrap();
    let wrong = secrets.path().join("wrong-password");
    std::fs::write(&wrong, "not-the-pw").unwrap();
    let as_user = |file: &std::path::Path| {
        let file = file.display().to_string();
        move |c: &mut toml::Table| {
            let cluster = table(c, "cluster");
            cluster.insert("redis_username".into(), "roost".into());
            cluster.insert("redis_password_file".into(), file.into());
        }
    };

    let a = Server::start_node(data.path(), "node-a", &redis, as_user(&password));
    let in_url = redis.url().replace("://", "://roost:s3cret-pw@");
    let b = Server::start_node(data.path(), "node-b", &redis, |c| {
        table(c, "cluster").insert("redis_url".into(), in_url.into());
    });
    assert_eq!(append_and_read_across(&a, &b).await, 1);
    let status = cluster_cli(&a.config, &["status"]);
    assert!(
        status.contains("node-a") && status.contains("node-b"),
        "{status}"
    );
    for node in [&a, &b] {
        assert!(
            !node.log_contains("s3cret-pw"),
            "{:#?}",
            node.log.lock().unwrap()
        );
    }

    let log = Server::try_start_node(data.path(), "node-c", &redis, as_user(&wrong))
        .err()
        .expect("a node with a wrong redis password does not start");
    let text = log.join("\n");
    assert!(text.contains("redis refused the credentials"), "{text}");
    assert!(text.contains("as user roost"), "{text}");
    assert!(!text.contains("not-the-pw"), "{text}");
}

/// QRESYNC through the node link (issue 13: "for sessions on any node"): a session on node-b,
/// whose account node-a owns, resynchronises with `VANISHED (EARLIER)` and changed flags and
/// is told of another node's expunges as `VANISHED`.
#[tokio::test]
async fn qresync_works_for_a_session_on_a_node_that_does_not_own_the_account() {
    let (_redis, _data, a, b) = two_nodes();
    let mut owner = Client::logged_in(&a).await;
    owner.seed("INBOX", 20).await;
    owner.ok("SELECT INBOX").await; // node-a owns the account
    let mut remote = Client::logged_in(&b).await;
    remote.ok("ENABLE QRESYNC").await;
    let first = remote.ok("SELECT INBOX").await;
    let validity = code_value(&first, "UIDVALIDITY").unwrap();
    let modseq = code_value(&first, "HIGHESTMODSEQ").unwrap();
    remote.ok("UNSELECT").await;
    owner.ok("STORE 1:2 +FLAGS (\\Flagged)").await;
    owner.ok("UID STORE 5,6 +FLAGS.SILENT (\\Deleted)").await;
    owner.ok("EXPUNGE").await;
    let lines = remote
        .ok(&format!("SELECT INBOX (QRESYNC ({validity} {modseq}))"))
        .await;
    assert!(
        lines.contains(&"* VANISHED (EARLIER) 5:6\r\n".to_owned()),
        "{lines:?}"
    );
    let fetched: Vec<&String> = lines.iter().filter(|l| l.contains(" FETCH (")).collect();
    assert_eq!(fetched.len(), 2, "{lines:?}");
    owner.ok("STORE 3 +FLAGS.SILENT (\\Deleted)").await;
    owner.ok("EXPUNGE").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let news = remote.ok("NOOP").await;
        if news.contains(&"* VANISHED 3\r\n".to_owned()) {
            break;
        }
        assert!(Instant::now() < deadline, "{news:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issue 19, finding 6: a node that has renewed its lease keeps serving through a Redis
/// outage until the renewed lease ends, not until the first lease's end (which had passed, so
/// the first failed renewal gave the account up at once).
#[tokio::test]
async fn a_redis_outage_after_renewals_is_ridden_out_until_the_renewed_lease_ends() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let ttl = |c: &mut toml::Table| {
        table(c, "cluster").insert("lease_ttl_ms".into(), 6000.into());
    };
    let a = Server::start_node(data.path(), "node-a", &redis, ttl);
    let mut redis = redis;
    let mut selected = Client::logged_in_rev2(&a).await;
    selected.ok("SELECT INBOX").await;
    // Past the first lease's end: renewed (every 2 s) at least twice.
    tokio::time::sleep(Duration::from_secs(8)).await;
    selected.ok("NOOP").await;
    redis.stop();
    let stopped = Instant::now();
    // The renewed lease ends at least 6 - 2 = 4 s after the outage began.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let lines = selected.ok("UID STORE 1:* +FLAGS.SILENT (\\Seen)").await;
    assert!(
        !lines.iter().any(|l| l.contains("[CLOSED]")),
        "gave up {:?} into the outage: {lines:?}",
        stopped.elapsed()
    );
    loop {
        let lines = selected.ok("NOOP").await;
        if lines.iter().any(|l| l.contains("[CLOSED]")) {
            break;
        }
        assert!(stopped.elapsed() < Duration::from_secs(15), "{lines:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Issue 19, finding 2: Redis restarted empty forgets every epoch. The next owner's epoch is
/// still above the one the account's fence file records, so the former owner is fenced off
/// and no UID is acknowledged twice.
#[tokio::test]
async fn after_redis_restarts_empty_the_next_epoch_is_still_higher_and_no_uid_is_given_twice() {
    let (mut redis, _data, a, b) = two_nodes();
    // IMAP4rev2 sessions: told `[CLOSED]` when the account moves, they go on writing.
    let mut on_a = Client::logged_in_rev2(&a).await;
    on_a.ok("SELECT INBOX").await; // node-a owns the account at epoch 1
    let mut acknowledged = Vec::new();
    acknowledged.push(on_a.append("INBOX", "", &sample_message(0)).await);
    redis.restart(); // empty: no persistence
                     // node-b takes the free account; with the floor its epoch is at least 2.
    let mut on_b = Client::logged_in_rev2(&b).await;
    let started = Instant::now();
    loop {
        let lines = on_b.command("s", "SELECT INBOX").await;
        if lines.last().unwrap().starts_with("s OK") && b.log_contains("took ownership") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{lines:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        b.wait_for_log(&["took ownership", "\"epoch\":2"])
            || b.wait_for_log(&["took ownership", "\"epoch\":3"]),
        "{:#?}",
        b.log.lock().unwrap()
    );
    // Both nodes' clients write; whatever is acknowledged must be there once, under its UID.
    for n in 1..=5 {
        for (client, tag) in [(&mut on_a, "a"), (&mut on_b, "b")] {
            let message = sample_message(n * 10 + u32::from(tag == "b"));
            let lines = client
                .command(
                    tag,
                    &format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()),
                )
                .await;
            let last = lines.last().unwrap();
            if let Some(rest) = last.strip_prefix(&format!("{tag} OK [APPENDUID ")) {
                let uid: u32 = rest.split([' ', ']']).nth(1).unwrap().parse().unwrap();
                acknowledged.push(uid);
            }
        }
    }
    let mut unique = acknowledged.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "a UID acknowledged twice: {acknowledged:?}"
    );
    let mut fresh = Client::logged_in(&b).await;
    fresh.ok("SELECT INBOX").await;
    let listed = fresh.ok("UID SEARCH ALL").await;
    let present: Vec<u32> = listed[0]
        .trim_end()
        .split(' ')
        .skip(2)
        .map(|u| u.parse().unwrap())
        .collect();
    for uid in &acknowledged {
        assert!(
            present.contains(uid),
            "acknowledged UID {uid} is gone: {present:?}"
        );
    }
}

/// Issue 19, finding 3: a second process with a live node's id is refused at start (both
/// would own every account); once that node is gone (kill -9), the id can be used again.
#[tokio::test]
async fn a_second_node_with_a_live_nodes_id_is_refused_and_a_dead_ones_id_is_reused() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, |_| {});
    // As if on another host: its own control socket (the one on this host would refuse it
    // first, see `single_writer`), so only the cluster can tell.
    let elsewhere = tempfile::tempdir().unwrap();
    let socket = elsewhere.path().join("node-a.sock").display().to_string();
    let other_host = |c: &mut toml::Table| {
        c.insert("control_socket".into(), socket.into());
    };
    let Err(log) = Server::try_start_node(data.path(), "node-a", &redis, other_host) else {
        panic!("a second node-a started beside the live one");
    };
    assert!(
        log.iter().any(|l| l.contains("already runs with node_id")),
        "{log:#?}"
    );
    std::process::Command::new("kill")
        .args(["-9", &a.pid().to_string()])
        .status()
        .unwrap();
    // The dead node's record expires (node TTL: 3 s here) and the id is free again.
    let again = Server::start_node(data.path(), "node-a", &redis, |_| {});
    assert!(again.log_contains("roost is ready"));
}

/// Issue 19, finding 3: two processes that start at the same instant with one node id (and
/// their own control sockets, as on two hosts): exactly one joins. The id is claimed in one
/// atomic step in Redis, so both cannot pass the check.
#[tokio::test]
async fn of_two_nodes_starting_at_once_with_one_id_exactly_one_joins() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let started: Vec<Result<Server, Vec<String>>> = std::thread::scope(|scope| {
        let starts: Vec<_> = ["one", "two"]
            .iter()
            .map(|host| {
                let socket = sockets.path().join(format!("{host}.sock"));
                let (data, redis) = (data.path(), &redis);
                scope.spawn(move || {
                    Server::try_start_node(data, "node-a", redis, |c: &mut toml::Table| {
                        c.insert("control_socket".into(), socket.display().to_string().into());
                    })
                })
            })
            .collect();
        starts.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let refused: Vec<&Vec<String>> = started.iter().filter_map(|s| s.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "exactly one of the two must be refused");
    assert!(
        refused[0]
            .iter()
            .any(|l| l.contains("already runs with node_id")),
        "{:#?}",
        refused[0]
    );
}

/// Issue 19, finding 3 (data dirs): a node whose data_dir is not the cluster's shared mail
/// storage (another or a wiped volume) does not join; one on the shared storage does.
#[tokio::test]
async fn a_node_on_another_storage_is_refused() {
    let redis = Redis::start();
    let shared = tempfile::tempdir().unwrap();
    let _a = Server::start_node(shared.path(), "node-a", &redis, |_| {});
    let other = tempfile::tempdir().unwrap();
    let Err(log) = Server::try_start_node(other.path(), "node-b", &redis, |_| {}) else {
        panic!("a node on another volume joined");
    };
    assert!(
        log.iter()
            .any(|l| l.contains("is not the mail storage this cluster uses")),
        "{log:#?}"
    );
    let _b = Server::start_node(shared.path(), "node-b", &redis, |_| {});
}

/// `cluster move --to`: under APPEND load from clients on every node, each of four moves
/// lands on the node it names (issue 19 finding 7: plain moves often stayed where they
/// were), nothing acknowledged is lost, and `cluster status` reads owner, epoch and draining
/// from Redis.
#[tokio::test]
async fn move_to_a_named_node_lands_there_under_load_and_status_shows_owners() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let nodes: Vec<Server> = ["node-a", "node-b", "node-c"]
        .iter()
        .map(|n| Server::start_node(data.path(), n, &redis, |_| {}))
        .collect();
    Client::logged_in(&nodes[0]).await.ok("SELECT INBOX").await; // node-a owns it
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (w, node) in nodes.iter().enumerate() {
        let (addr, stop) = (node.imap, stop.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = 0u32;
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // A move closes sessions (BYE for IMAP4rev1): reconnect and go on.
                let mut c = Client::connect(addr).await;
                c.line().await;
                let login = format!("LOGIN {USER} \"{PASSWORD}\"");
                match c.try_command("L1", &login).await {
                    Some(lines) if lines.last().unwrap().starts_with("L1 OK") => {}
                    _ => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
                loop {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    i += 1;
                    let m = sample_message(w as u32 * 100_000 + i);
                    let command = format!("APPEND INBOX {{{}+}}\r\n{m}", m.len());
                    match c.try_command("a", &command).await {
                        Some(lines) if lines.last().unwrap().starts_with("a OK") => {
                            acknowledged += 1
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            acknowledged
        }));
    }
    let config = nodes[0].config.clone();
    for target in ["node-c", "node-b", "node-a", "node-c"] {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let cli_config = config.clone();
        let report = tokio::task::spawn_blocking(move || {
            cluster_cli(&cli_config, &["move", USER, "--to", target])
        })
        .await
        .unwrap();
        assert!(report.contains(&format!(" to {target} ")), "{report}");
        let status = cluster_cli(&config, &["status", "--accounts"]);
        let owner = status
            .lines()
            .find(|l| l.starts_with("alice "))
            .unwrap_or_else(|| panic!("{status}"));
        assert!(owner.contains(target), "{status}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = 0;
    for w in writers {
        acknowledged += w.await.unwrap();
    }
    let status = cluster_cli(&config, &["status"]);
    assert!(status.contains("DRAINING"), "{status}");
    let mut c = Client::logged_in(&nodes[1]).await;
    let lines = c.ok("STATUS INBOX (MESSAGES)").await;
    let held: u32 = lines[0]
        .trim_end()
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    println!("4 moves under load: {acknowledged} APPENDs acknowledged, {held} held");
    assert!(acknowledged > 0);
    assert!(
        held >= acknowledged,
        "{held} held < {acknowledged} acknowledged"
    );
}

/// Issue 19 finding 4: an owner that hangs (SIGSTOP) rather than dies. Before, its remote
/// sessions heard nothing and the account was served again only after the 30 s link timeout.
/// Now the link's keepalive gives the hung owner up within about two thirds of the lease, an
/// IDLE session on another node is told `[CLOSED]` at once, and another node serves the
/// account within the lease TTL + 1 s.
#[tokio::test]
async fn a_hung_owner_is_replaced_within_the_lease_and_idle_sessions_elsewhere_hear_at_once() {
    const LEASE: Duration = Duration::from_secs(3); // the test nodes' lease_ttl_ms
    let (_redis, _data, a, b) = two_nodes();
    let mut writer = Client::logged_in(&a).await;
    writer.ok("SELECT INBOX").await; // node-a owns the account
    writer.append("INBOX", "", &sample_message(1)).await;
    let mut idler = Client::logged_in_rev2(&b).await;
    idler.ok("SELECT INBOX").await;
    idler.send("i IDLE\r\n").await;
    assert_eq!(idler.line().await, "+ idling\r\n");
    a.signal("STOP");
    let stopped = Instant::now();
    let closed = tokio::time::timeout(LEASE + Duration::from_secs(1), async {
        loop {
            let line = idler.line().await;
            if line.starts_with("* OK [CLOSED]") {
                return line;
            }
        }
    })
    .await
    .expect("the IDLE session on node-b heard nothing of the hung owner");
    println!("[CLOSED] after {:?}: {closed}", stopped.elapsed());
    let mut d = Client::logged_in(&b).await;
    loop {
        let lines = d.command("s", "SELECT INBOX").await;
        if lines.last().unwrap().starts_with("s OK") {
            assert!(lines.contains(&"* 1 EXISTS\r\n".to_owned()), "{lines:?}");
            break;
        }
        assert!(stopped.elapsed() < Duration::from_secs(10), "{lines:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failover = stopped.elapsed();
    println!("served by node-b {failover:?} after the owner hung");
    assert!(
        failover <= LEASE + Duration::from_secs(1),
        "took {failover:?}"
    );
    a.signal("CONT");
    let uid = d.append("INBOX", "", &sample_message(2)).await;
    assert_eq!(uid, 2);
}
