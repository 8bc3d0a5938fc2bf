//! One writer per data directory in every mode: `roost imap` goes through the running node
//! (or the first `roost imap`), a node alone holds the data directory's lock, and the
//! refused side gets a clear error. Every acknowledged APPEND survives, under a unique UID.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::*;

/// A configuration (and users file) for a data directory no server runs on.
fn offline_config(dir: &Path, adjust: impl FnOnce(&mut toml::Table)) -> PathBuf {
    write_config(dir, &dir.join("data"), adjust).0
}

/// Every message in INBOX as `UID -> Subject`, read through a fresh `roost imap`.
async fn inbox_subjects(config: &Path) -> Vec<(u32, String)> {
    let mut t = Tunnel::start(config).await;
    t.client.ok("SELECT INBOX").await;
    let lines = t
        .client
        .ok("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .await;
    exit_of(t.logout().await).await;
    let mut found = Vec::new();
    let mut uid = None;
    for line in lines {
        if let Some(rest) = line.split("UID ").nth(1) {
            uid = rest.split([' ', ')']).next().and_then(|u| u.parse().ok());
        }
        if let (Some(subject), Some(u)) = (line.strip_prefix("Subject: "), uid) {
            found.push((u, subject.trim_end().to_owned()));
        }
    }
    found
}

fn assert_all_present(found: &[(u32, String)], acknowledged: &[(u32, u32)]) {
    let uids: BTreeSet<u32> = found.iter().map(|(u, _)| *u).collect();
    assert_eq!(uids.len(), found.len(), "UIDs are unique: {found:?}");
    for (uid, n) in acknowledged {
        let subject = format!("Message {n}");
        assert!(
            found.iter().any(|(u, s)| u == uid && *s == subject),
            "acknowledged UID {uid} ({subject}) is missing: {found:?}"
        );
    }
    assert_eq!(found.len(), acknowledged.len(), "{found:?}");
}

#[tokio::test]
async fn two_roost_imap_for_one_user_write_through_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path(), |_| {});
    let mut first = Tunnel::start(&config).await;
    let mut second = Tunnel::start(&config).await;
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        let t = if n % 2 == 0 { &mut first } else { &mut second };
        let uid = t.client.append("INBOX", "", &sample_message(n)).await;
        acknowledged.push((uid, n));
    }
    // The first process ends its own session; it keeps serving the second one's.
    let first = first.logout().await;
    let uid = second.client.append("INBOX", "", &sample_message(20)).await;
    acknowledged.push((uid, 20));
    assert!(exit_of(second.logout().await).await.success());
    assert!(exit_of(first).await.success());
    assert_all_present(&inbox_subjects(&config).await, &acknowledged);
}

#[tokio::test]
async fn roost_imap_next_to_roost_serve_goes_through_the_server() {
    let mut server = Server::start();
    let mut tcp = Client::logged_in(&server).await;
    tcp.ok("SELECT INBOX").await;
    let mut tunnel = Tunnel::start(&server.config).await;
    let mut acknowledged = Vec::new();
    for n in 0..10 {
        let uid = if n % 2 == 0 {
            tunnel.client.append("INBOX", "", &sample_message(n)).await
        } else {
            tcp.append("INBOX", "", &sample_message(n)).await
        };
        acknowledged.push((uid, n));
    }
    // One writer: both sessions' messages are in one mailbox, under distinct UIDs.
    let status = tcp.ok("STATUS INBOX (MESSAGES)").await;
    assert_eq!(status, ["* STATUS INBOX (MESSAGES 10)\r\n"]);
    assert!(exit_of(tunnel.logout().await).await.success());
    // Acknowledged means durable: a kill -9 and a restart keep all of them.
    server.restart();
    let mut c = Client::logged_in(&server).await;
    c.ok("SELECT INBOX").await;
    let lines = c
        .ok("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .await;
    let subjects = lines.iter().filter(|l| l.starts_with("Subject: ")).count();
    assert_eq!(subjects, 10, "{lines:?}");
    for (uid, _) in &acknowledged {
        assert!(
            lines.iter().any(|l| l.contains(&format!("UID {uid} "))),
            "UID {uid} missing: {lines:?}"
        );
    }
}

/// Runs `roost serve` on `config` expecting it to refuse; returns its stderr.
async fn refused_serve(config: &Path) -> String {
    let child = tokio::process::Command::new(roost_bin())
        .args(["serve", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(ANSWER_TIMEOUT, child.wait_with_output())
        .await
        .expect("the second roost serve stops at once")
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_second_roost_serve_on_one_data_dir_is_refused() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let uid = c.append("INBOX", "", &sample_message(1)).await;
    let stderr = refused_serve(&server.config).await;
    assert!(
        stderr.contains("is in use by roost serve (pid "),
        "{stderr}"
    );
    // The first server was not disturbed.
    c.ok("SELECT INBOX").await;
    let lines = c.ok(&format!("UID FETCH {uid} (UID)")).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
}

#[tokio::test]
async fn roost_serve_is_refused_while_a_lone_roost_imap_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path(), |_| {});
    let mut tunnel = Tunnel::start(&config).await;
    let uid = tunnel.client.append("INBOX", "", &sample_message(1)).await;
    let stderr = refused_serve(&config).await;
    assert!(stderr.contains("is in use by roost imap (pid "), "{stderr}");
    assert!(exit_of(tunnel.logout().await).await.success());
    assert_all_present(&inbox_subjects(&config).await, &[(uid, 1)]);
}

#[tokio::test]
async fn in_a_cluster_roost_imap_needs_the_node_of_this_host() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path(), |c| {
        let cluster = table(c, "cluster");
        cluster.insert("redis_url".into(), "redis://127.0.0.1:9/".into());
        // A cluster configuration must say how node links are secured; none is used here.
        cluster.insert("link_plaintext".into(), true.into());
    });
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(roost_bin())
            .args(["imap", "--user", USER, "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("roost imap gives up")
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no roost node answers"), "{stderr}");
    // It wrote nothing: not even the account directory.
    assert!(!dir.path().join("data/accounts").exists());
}
