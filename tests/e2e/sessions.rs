//! Several sessions on one mailbox: each sees the others' changes at the moments RFC 9051
//! section 7 allows, with its own consistent sequence numbers.

use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test]
async fn idle_sees_appends_flag_changes_and_expunges_from_another_session_at_once() {
    let server = Server::start();
    let mut watcher = Client::logged_in(&server).await;
    let mut writer = Client::logged_in(&server).await;
    writer.append("INBOX", "", &sample_message(1)).await;
    watcher.ok("SELECT INBOX").await;
    writer.ok("SELECT INBOX").await;
    watcher.send("i IDLE\r\n").await;
    assert_eq!(watcher.line().await, "+ idling\r\n");

    let started = Instant::now();
    writer.append("INBOX", "", &sample_message(2)).await;
    assert_eq!(watcher.line().await, "* 2 EXISTS\r\n");
    assert_eq!(watcher.line().await, "* 2 RECENT\r\n");
    let delay = started.elapsed();
    assert!(delay < Duration::from_secs(2), "IDLE woke after {delay:?}");

    writer.ok("STORE 1 +FLAGS.SILENT (\\Flagged)").await;
    assert_eq!(
        watcher.line().await,
        "* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)\r\n"
    );
    writer.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    watcher.line().await;
    writer.ok("EXPUNGE").await;
    assert_eq!(watcher.line().await, "* 1 EXPUNGE\r\n");
    watcher.send("DONE\r\n").await;
    assert_eq!(
        watcher.until_tagged("i").await,
        ["i OK IDLE terminated\r\n"]
    );
    assert_eq!(watcher.ok("FETCH 1 (UID)").await, ["* 1 FETCH (UID 2)\r\n"]);
}

#[tokio::test]
async fn no_expunge_is_sent_during_fetch_store_or_search_but_after_noop() {
    let server = Server::start();
    let mut a = Client::logged_in(&server).await;
    let mut b = Client::logged_in(&server).await;
    for n in 1..=3 {
        a.append("INBOX", "", &sample_message(n)).await;
    }
    a.ok("SELECT INBOX").await;
    b.ok("SELECT INBOX").await;
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    b.ok("EXPUNGE").await;
    // Session A still numbers the messages 1..3: message 1 is gone but not yet reported.
    let fetched = a.ok("FETCH 2:3 (UID)").await;
    assert!(
        !fetched.iter().any(|l| l.contains("EXPUNGE")),
        "{fetched:?}"
    );
    assert!(
        fetched.contains(&"* 2 FETCH (UID 2)\r\n".to_owned()),
        "{fetched:?}"
    );
    assert!(!a
        .ok("SEARCH ALL")
        .await
        .iter()
        .any(|l| l.contains("EXPUNGE")));
    let noop = a.ok("NOOP").await;
    assert!(noop.contains(&"* 1 EXPUNGE\r\n".to_owned()), "{noop:?}");
    assert_eq!(a.ok("FETCH 1 (UID)").await, ["* 1 FETCH (UID 2)\r\n"]);
}

/// Ten sessions append, flag and expunge concurrently; afterwards every session's view
/// (UIDs in order, flags) equals what a fresh session sees.
#[tokio::test]
async fn ten_sessions_working_at_once_end_with_the_same_view() {
    let server = Server::start_with(|c| {
        table(c, "limits").insert("max_connections_per_ip".into(), 100.into());
    });
    let mut clients = Vec::new();
    for _ in 0..10 {
        let mut c = Client::logged_in(&server).await;
        c.ok("SELECT INBOX").await;
        clients.push(c);
    }
    let mut tasks = Vec::new();
    for (i, mut c) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for n in 0..10u32 {
                let uid = c
                    .append("INBOX", "", &sample_message(i as u32 * 100 + n))
                    .await;
                c.ok(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)"))
                    .await;
                if n % 3 == 0 {
                    c.ok(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
                        .await;
                    c.ok(&format!("UID EXPUNGE {uid}")).await;
                }
            }
            c.ok("NOOP").await;
            c
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    let mut fresh = Client::logged_in(&server).await;
    fresh.ok("EXAMINE INBOX").await;
    let truth = fresh.ok("FETCH 1:* (UID FLAGS)").await;
    assert_eq!(truth.len(), 60, "10 sessions x 10 appends - 40 expunged");
    for (i, c) in clients.iter_mut().enumerate() {
        c.ok("NOOP").await;
        let seen: Vec<String> = c
            .ok("FETCH 1:* (UID FLAGS)")
            .await
            .into_iter()
            .map(|l| l.replace(" \\Recent", ""))
            .collect();
        assert_eq!(seen, truth, "session {i}");
    }
}
