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

/// A selected mailbox deleted or renamed by another session: an IMAP4rev2 session gets an
/// unsolicited `* OK [CLOSED]` and is back in the Authenticated state (RFC 9051 section 3,
/// transition 6).
#[tokio::test]
async fn a_selected_mailbox_deleted_or_renamed_elsewhere_is_closed() {
    let server = Server::start();
    let mut a = Client::logged_in_rev2(&server).await;
    let mut b = Client::logged_in(&server).await;
    a.ok("CREATE Doomed").await;
    a.ok("CREATE Moving").await;
    a.ok("SELECT Doomed").await;
    b.ok("DELETE Doomed").await;
    let noop = a.ok("NOOP").await;
    assert_eq!(noop.len(), 1, "{noop:?}");
    assert!(noop[0].starts_with("* OK [CLOSED] "), "{noop:?}");
    let refused = a.command("f", "FETCH 1 FLAGS").await;
    assert!(
        refused[0].starts_with("f BAD FETCH needs a selected mailbox"),
        "{refused:?}"
    );

    a.ok("SELECT Moving").await;
    a.send("i IDLE\r\n").await;
    assert_eq!(a.line().await, "+ idling\r\n");
    b.ok("RENAME Moving Moved").await;
    assert!(a.line().await.starts_with("* OK [CLOSED] "));
    a.send("DONE\r\n").await;
    assert_eq!(a.until_tagged("i").await, ["i OK IDLE terminated\r\n"]);
    assert!(a
        .ok("SELECT Moved")
        .await
        .iter()
        .any(|l| l.contains("0 EXISTS")));
}

/// An IMAP4rev1 client does not know `[CLOSED]` and would carry on as if the mailbox were
/// still selected: it gets `* BYE` instead (at once, or after the command it is running) and
/// reconnects.
#[tokio::test]
async fn an_imap4rev1_session_whose_mailbox_goes_away_gets_bye() {
    let server = Server::start();
    let mut a = Client::logged_in(&server).await;
    let mut b = Client::logged_in(&server).await;
    a.ok("CREATE Doomed").await;
    a.ok("SELECT Doomed").await;
    b.ok("DELETE Doomed").await;
    assert_eq!(a.line().await, "* BYE mailbox Doomed was deleted\r\n");
    a.expect_closed().await.unwrap();
}

/// A mailbox of many messages selects and lists its flags; the server's memory for it stays
/// small (the note of the mail-store issue states the per-message figure from a 100,000
/// message run of this test: `ROOST_LARGE_MAILBOX=100000`).
#[tokio::test]
async fn a_large_mailbox_selects_and_fetches_all_flags() {
    let count: u32 = std::env::var("ROOST_LARGE_MAILBOX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE Big").await;
    let batch = 500;
    let mut appended = 0;
    while appended < count {
        let n = batch.min(count - appended);
        let mut command = "APPEND Big".to_owned();
        for i in 0..n {
            let m = sample_message(appended + i);
            command.push_str(&format!(" {{{}+}}\r\n{m}", m.len()));
        }
        c.ok(&command).await;
        appended += n;
    }
    let idle_rss = server.rss_kib();
    let select = c.ok("SELECT Big").await;
    assert!(
        select.contains(&format!("* {count} EXISTS\r\n")),
        "{select:?}"
    );
    c.send("f UID FETCH 1:* (FLAGS)\r\n").await;
    let mut lines = 0;
    loop {
        let line = c.line().await;
        if line.starts_with("f ") {
            assert_eq!(line, "f OK FETCH completed\r\n");
            break;
        }
        lines += 1;
    }
    assert_eq!(lines, count);
    let open_rss = server.rss_kib();
    let per_message = (open_rss.saturating_sub(idle_rss) * 1024) as f64 / f64::from(count);
    eprintln!("large mailbox: {count} messages, server RSS {idle_rss} KiB -> {open_rss} KiB, {per_message:.0} bytes/message");
}
