//! NOTIFY (RFC 5465): news of other mailboxes as STATUS and LIST, the selected mailbox's
//! changes as NOTIFY asks, NONE, overflow, and a session on another node of a cluster.

use std::time::Duration;

use crate::support::*;

/// The value of `item` in a `* STATUS name (...)` line.
fn status_item(line: &str, item: &str) -> Option<u32> {
    let inner = line.split_once('(')?.1.trim_end().trim_end_matches(')');
    let words: Vec<&str> = inner.split_whitespace().collect();
    words
        .chunks(2)
        .find(|pair| pair[0] == item)
        .and_then(|pair| pair.get(1)?.parse().ok())
}

/// Asserts nothing arrives for a moment (the server had time to send news it should not).
async fn nothing_for_a_moment(c: &mut Client) {
    let lines = c.command("q", "NOOP").await;
    assert_eq!(lines.len(), 1, "unexpected news: {lines:?}");
}

#[tokio::test]
async fn rfc_5465_section_3_1_example_status_then_news_of_a_watched_subtree() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.ok("CREATE Lists/Lemonade").await;
    writer.ok("CREATE Lists/Im2000").await;
    writer.ok("CREATE misc").await;
    writer
        .append("Lists/Lemonade", "", &sample_message(1))
        .await;

    let mut c = Client::logged_in_rev2(&server).await;
    // The example as printed leaves out parentheses the grammar requires: BAD.
    let printed = c
        .command(
            "b",
            "notify set status (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge) (subtree Lists MessageNew)",
        )
        .await;
    assert!(printed[0].starts_with("b BAD"), "{printed:?}");
    let lines = c
        .command(
            "b",
            "notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))",
        )
        .await;
    assert_eq!(lines.last().unwrap(), "b OK NOTIFY completed\r\n");
    let lemonade = lines
        .iter()
        .find(|l| l.starts_with("* STATUS Lists/Lemonade ("))
        .expect("STATUS of Lists/Lemonade");
    assert_eq!(status_item(lemonade, "MESSAGES"), Some(1));
    assert_eq!(status_item(lemonade, "UIDNEXT"), Some(2));
    assert!(status_item(lemonade, "UIDVALIDITY").is_some());
    assert!(lines
        .iter()
        .any(|l| l.starts_with("* STATUS Lists/Im2000 (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ")));
    assert!(!lines.iter().any(|l| l.contains("misc")), "{lines:?}");
    c.ok("select inbox").await;

    // Time passes. A new message is delivered to Lists/Lemonade: news between commands.
    writer
        .append("Lists/Lemonade", "", &sample_message(2))
        .await;
    let line = c.line().await;
    assert!(line.starts_with("* STATUS Lists/Lemonade ("), "{line}");
    assert_eq!(status_item(&line, "MESSAGES"), Some(2));
    assert_eq!(status_item(&line, "UIDNEXT"), Some(3));
    // A new message in the selected mailbox: EXISTS, then the FETCH NOTIFY asked for.
    writer.append("INBOX", "", &sample_message(3)).await;
    assert_eq!(c.line().await, "* 1 EXISTS\r\n");
    let header = "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: Message 3\r\n\r\n";
    assert_eq!(
        c.line().await,
        format!(
            "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (from to subject)] {{{}}}\r\n",
            header.len()
        )
    );
    assert_eq!(
        String::from_utf8(c.octets(header.len()).await).unwrap(),
        header
    );
    assert_eq!(c.line().await, ")\r\n");
    // Its own APPEND to the selected mailbox gets EXISTS but no FETCH (section 5.2).
    let own = sample_message(9);
    let own = c
        .command("o", &format!("APPEND INBOX {{{}+}}\r\n{own}", own.len()))
        .await;
    assert_eq!(own[0], "* 2 EXISTS\r\n", "{own:?}");
    assert!(own[1].starts_with("o OK [APPENDUID "), "{own:?}");
    // misc is not watched.
    writer.append("misc", "", &sample_message(4)).await;
    nothing_for_a_moment(&mut c).await;

    // The client adds misc without STATUS.
    let e = c
        .command(
            "e",
            "notify set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))",
        )
        .await;
    assert_eq!(e, ["e OK NOTIFY completed\r\n"]);
    writer.append("misc", "", &sample_message(5)).await;
    let line = c.line().await;
    assert!(line.starts_with("* STATUS misc ("), "{line}");
    assert_eq!(status_item(&line, "MESSAGES"), Some(2));
}

#[tokio::test]
async fn rfc_5465_section_6_example_inbox_messages_and_personal_subscriptions() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.ok("CREATE Work").await;
    let mut c = Client::logged_in(&server).await;
    c.ok(
        "notify set (mailboxes INBOX (Messagenew messageExpunge)) (personal (SubscriptionChange))",
    )
    .await;
    writer.ok("SUBSCRIBE Work").await;
    assert_eq!(
        c.line().await,
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" Work\r\n"
    );
    writer.ok("UNSUBSCRIBE Work").await;
    assert_eq!(c.line().await, "* LIST (\\HasNoChildren) \"/\" Work\r\n");
    writer.append("INBOX", "", &sample_message(1)).await;
    let line = c.line().await;
    assert!(
        line.starts_with("* STATUS INBOX (MESSAGES 1 UIDNEXT 2 "),
        "{line}"
    );
    writer.append("Work", "", &sample_message(2)).await;
    nothing_for_a_moment(&mut c).await;
}

#[tokio::test]
async fn rfc_5465_section_6_example_selected_overrides_personal_for_the_selected_mailbox() {
    let server = Server::start();
    let mut writer = Client::logged_in_rev2(&server).await;
    writer.ok("CREATE Work").await;
    writer.append("Work", "", &sample_message(1)).await;
    writer.append("INBOX", "", &sample_message(2)).await;
    let mut c = Client::logged_in_rev2(&server).await;
    c.ok("SELECT INBOX").await;
    c.ok("notify set (selected (Messagenew (uid flags) messageExpunge)) (personal (MessageNew FlagChange MessageExpunge))")
        .await;
    // A flag change in the selected mailbox is not among SELECTED's events: not pushed.
    writer.ok("SELECT INBOX").await;
    writer.ok("STORE 1 +FLAGS.SILENT (\\Flagged)").await;
    // FlagChange elsewhere: STATUS (PERSONAL).
    writer.ok("SELECT Work").await;
    writer.ok("STORE 1 +FLAGS.SILENT (\\Seen)").await;
    let line = c.line().await;
    assert!(line.starts_with("* STATUS Work (UIDVALIDITY "), "{line}");
    assert_eq!(status_item(&line, "UNSEEN"), Some(0));
    // A new message in the selected mailbox: EXISTS and the FETCH asked for; the waiting
    // flag change goes out with them.
    writer.append("INBOX", "", &sample_message(3)).await;
    let mut lines = vec![c.line().await, c.line().await, c.line().await];
    lines.sort();
    assert_eq!(
        lines,
        [
            "* 1 FETCH (FLAGS (\\Flagged) UID 1)\r\n",
            "* 2 EXISTS\r\n",
            "* 2 FETCH (UID 2 FLAGS ())\r\n"
        ]
    );
}

#[tokio::test]
async fn unsupported_events_get_badevent_and_broken_rules_get_bad() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let no = c
        .command(
            "a",
            "NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))",
        )
        .await;
    assert_eq!(
        no.last().unwrap(),
        "a NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] unsupported NOTIFY event\r\n"
    );
    for bad in [
        "NOTIFY SET (personal (MessageNew))",
        "NOTIFY SET (personal (FlagChange))",
        "NOTIFY SET (selected (MailboxName))",
        "NOTIFY SET (selected NONE) (selected-delayed NONE)",
    ] {
        let lines = c.command("b", bad).await;
        assert!(lines[0].starts_with("b BAD"), "{bad}: {lines:?}");
    }
    let metadata = c
        .command("m", "NOTIFY SET (personal (MailboxMetadataChange))")
        .await;
    assert!(metadata[0].starts_with("m NO [BADEVENT "), "{metadata:?}");
    let before_login = Client::connect(server.imap).await;
    drop(before_login);
}

#[tokio::test]
async fn mailbox_name_events_list_created_renamed_with_oldname_and_deleted() {
    let server = Server::start();
    let mut writer = Client::logged_in_rev2(&server).await;
    let mut c = Client::logged_in_rev2(&server).await;
    c.ok("NOTIFY SET (personal (MailboxName))").await;
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    writer.ok("CREATE Projects").await;
    assert_eq!(
        c.line().await,
        "* LIST (\\HasNoChildren) \"/\" Projects\r\n"
    );
    // A child changes its parent too (RFC 5465 section 5.4).
    writer.ok("CREATE Projects/2026").await;
    assert_eq!(
        c.line().await,
        "* LIST (\\HasNoChildren) \"/\" Projects/2026\r\n"
    );
    assert_eq!(c.line().await, "* LIST (\\HasChildren) \"/\" Projects\r\n");
    writer.ok("DELETE Projects/2026").await;
    assert_eq!(
        c.line().await,
        "* LIST (\\NonExistent) \"/\" Projects/2026\r\n"
    );
    assert_eq!(
        c.line().await,
        "* LIST (\\HasNoChildren) \"/\" Projects\r\n"
    );
    writer.ok("RENAME Projects Ideas").await;
    assert_eq!(
        c.line().await,
        "* LIST (\\HasNoChildren) \"/\" Ideas (\"OLDNAME\" (\"Projects\"))\r\n"
    );
    writer.ok("DELETE Ideas").await;
    assert_eq!(c.line().await, "* LIST (\\NonExistent) \"/\" Ideas\r\n");
    c.send("DONE\r\n").await;
    c.until_tagged("i").await;
    // The client's own changes are not reported back to it (RFC 5465 section 5).
    c.ok("CREATE Mine").await;
    c.ok("SUBSCRIBE Mine").await;
    c.ok("RENAME Mine Yours").await;
    c.ok("DELETE Yours").await;
    nothing_for_a_moment(&mut c).await;
}

#[tokio::test]
async fn flag_changes_elsewhere_are_status_with_unseen_and_highestmodseq_under_condstore() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.ok("CREATE Work").await;
    writer.append("Work", "", &sample_message(1)).await;
    writer.ok("SELECT Work").await;
    let mut c = Client::logged_in(&server).await;
    c.ok("ENABLE CONDSTORE").await;
    c.ok("NOTIFY SET (personal (MessageNew MessageExpunge FlagChange))")
        .await;
    writer.ok("STORE 1 +FLAGS.SILENT (\\Seen)").await;
    let line = c.line().await;
    assert!(line.starts_with("* STATUS Work ("), "{line}");
    assert_eq!(status_item(&line, "UNSEEN"), Some(0));
    assert!(status_item(&line, "HIGHESTMODSEQ").is_some(), "{line}");
    assert!(status_item(&line, "UIDVALIDITY").is_some(), "{line}");
    assert_eq!(status_item(&line, "MESSAGES"), None, "{line}");
}

/// Two sessions on INBOX with one message marked \Deleted; `watcher` uses `filter`.
async fn expunge_setup(server: &Server, filter: &str) -> (Client, Client) {
    let mut writer = Client::logged_in(server).await;
    writer
        .append("INBOX", "\\Deleted", &sample_message(1))
        .await;
    writer.ok("SELECT INBOX").await;
    let mut watcher = Client::logged_in(server).await;
    watcher.ok("SELECT INBOX").await;
    watcher
        .ok(&format!(
            "NOTIFY SET ({filter} (MessageNew MessageExpunge))"
        ))
        .await;
    (writer, watcher)
}

#[tokio::test]
async fn selected_pushes_expunges_between_commands_and_selected_delayed_holds_them() {
    let server = Server::start();
    let (mut writer, mut watcher) = expunge_setup(&server, "selected").await;
    writer.ok("EXPUNGE").await;
    assert_eq!(watcher.line().await, "* 1 EXPUNGE\r\n");

    let server = Server::start();
    let (mut writer, mut watcher) = expunge_setup(&server, "selected-delayed").await;
    writer.ok("EXPUNGE").await;
    writer.append("INBOX", "", &sample_message(2)).await;
    // The new message is told at once; the expunge waits for a command that allows it.
    assert_eq!(watcher.line().await, "* 2 EXISTS\r\n");
    let fetch = watcher.ok("FETCH 1:* (UID)").await;
    assert!(!fetch.iter().any(|l| l.contains("EXPUNGE")), "{fetch:?}");
    let noop = watcher.ok("NOOP").await;
    assert_eq!(noop, ["* 1 EXPUNGE\r\n"]);
}

#[tokio::test]
async fn notify_none_and_no_selected_filter_keep_idle_silent() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.ok("CREATE Work").await;
    let mut c = Client::logged_in(&server).await;
    c.ok("SELECT INBOX").await;
    c.ok("NOTIFY SET (personal (MessageNew MessageExpunge))")
        .await;
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    // The selected mailbox is not in the filters: no EXISTS while idling, but Work's news.
    writer.append("INBOX", "", &sample_message(1)).await;
    writer.append("Work", "", &sample_message(2)).await;
    let line = c.line().await;
    assert!(line.starts_with("* STATUS Work ("), "{line}");
    c.send("DONE\r\n").await;
    let done = c.until_tagged("i").await;
    assert!(done.contains(&"* 1 EXISTS\r\n".to_owned()), "{done:?}");

    c.ok("NOTIFY NONE").await;
    c.send("j IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    writer.append("Work", "", &sample_message(3)).await;
    writer.append("INBOX", "", &sample_message(4)).await;
    c.send("DONE\r\n").await;
    let done = c.until_tagged("j").await;
    assert_eq!(
        done.len(),
        3,
        "only EXISTS and RECENT at IDLE's end: {done:?}"
    );
    assert!(!done.iter().any(|l| l.contains("STATUS")), "{done:?}");
}

#[tokio::test]
async fn idle_hears_an_append_by_a_second_session_to_another_mailbox() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await; // Sent exists from the start
    let mut c = Client::logged_in(&server).await;
    c.ok("SELECT INBOX").await;
    c.ok("NOTIFY SET (selected (MessageNew MessageExpunge)) (inboxes (MessageNew MessageExpunge)) (mailboxes Sent (MessageNew MessageExpunge))").await;
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    writer.append("Sent", "", &sample_message(1)).await;
    let line = c.line().await;
    assert!(
        line.starts_with("* STATUS Sent (MESSAGES 1 UIDNEXT 2 "),
        "{line}"
    );
    c.send("DONE\r\n").await;
    c.until_tagged("i").await;
}

/// Sends all `commands` at once (tagged `p0`, `p1`, ...), then reads every answer; each
/// must be OK.
async fn pipelined(c: &mut Client, commands: Vec<String>) {
    let mut wire = String::new();
    for (i, command) in commands.iter().enumerate() {
        wire.push_str(&format!("p{i} {command}\r\n"));
    }
    c.send(wire).await;
    for (i, command) in commands.iter().enumerate() {
        let done = c.until_tagged(&format!("p{i}")).await;
        let last = done.last().unwrap();
        assert!(last.starts_with(&format!("p{i} OK")), "{command}: {last}");
    }
}

/// Messages of about 64 KiB, so a FETCH of them fills socket buffers and the output queue.
fn big_message(n: u32) -> String {
    sample_message(n) + &format!("{}\r\n", "x".repeat(998)).repeat(64)
}

/// `boxes` mailboxes and a session `c` that ran `notify` with INBOX selected, then stopped
/// reading: it asked for far more than the buffers between it and the server hold (200
/// messages of 64 KiB) and reads nothing until the caller resumes with `until_tagged("f")`.
/// Returns the writer, `c` and NOTIFY's untagged answers.
async fn stalled_watcher(
    server: &Server,
    boxes: u32,
    notify: &str,
) -> (Client, Client, Vec<String>) {
    let mut writer = Client::logged_in(server).await;
    pipelined(
        &mut writer,
        (0..boxes).map(|i| format!("CREATE box{i:03}")).collect(),
    )
    .await;
    let mut append = "APPEND INBOX".to_owned();
    for m in (1..=200).map(big_message) {
        append.push_str(&format!(" {{{}+}}\r\n{m}", m.len()));
    }
    writer.ok(&append).await;
    let mut c = Client::logged_in(server).await;
    c.ok("SELECT INBOX").await;
    let initial = c.ok(notify).await;
    c.send("f FETCH 1:* (BODY.PEEK[])\r\n").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    (writer, c, initial)
}

#[tokio::test]
async fn news_for_a_client_that_stops_reading_is_one_status_per_mailbox_of_500() {
    let server = Server::start();
    let notify = "NOTIFY SET STATUS (personal (MessageNew MessageExpunge))";
    let (mut writer, mut c, initial) = stalled_watcher(&server, 500, notify).await;
    // Every mailbox but the selected one: the 500 and the special-use ones made at start.
    let boxes = initial
        .iter()
        .filter(|l| l.starts_with("* STATUS box"))
        .count();
    assert_eq!(boxes, 500, "{:?}", &initial[..3]);
    assert!(!initial.iter().any(|l| l.starts_with("* STATUS INBOX")));
    // One APPEND to each mailbox, and a second to every fifth, from a second session.
    let appends = (0..500).chain((0..500).step_by(5)).map(|i| {
        let m = sample_message(i);
        format!("APPEND box{i:03} {{{}+}}\r\n{m}", m.len())
    });
    pipelined(&mut writer, appends.collect()).await;
    let lines = c.until_tagged("f").await;
    let statuses: Vec<&String> = lines.iter().filter(|l| l.starts_with("* STATUS")).collect();
    // Coalesced: one STATUS per mailbox at most, each with the latest counts.
    assert!(statuses.len() <= 500, "{}", statuses.len());
    let box000: Vec<_> = statuses
        .iter()
        .filter(|l| l.starts_with("* STATUS box000 "))
        .collect();
    assert_eq!(box000.len(), 1, "{box000:?}");
    assert_eq!(status_item(box000[0], "MESSAGES"), Some(2));
    assert!(lines.last().unwrap().starts_with("f OK"));
}

#[tokio::test]
async fn overflow_sends_notificationoverflow_and_stops_notifying() {
    let server = Server::start_with(|config| {
        table(config, "limits").insert("notify_backlog".into(), toml::Value::Integer(4));
    });
    let notify = "NOTIFY SET (personal (MessageNew MessageExpunge))";
    let (mut writer, mut c, _) = stalled_watcher(&server, 8, notify).await;
    for i in 0..8 {
        writer
            .append(&format!("box{i:03}"), "", &sample_message(i))
            .await;
    }
    let lines = c.until_tagged("f").await;
    let news: Vec<&String> = lines
        .iter()
        .filter(|l| !l.contains("FETCH") && l.len() < 200)
        .collect();
    assert!(
        news.iter()
            .any(|l| l.starts_with("* OK [NOTIFICATIONOVERFLOW]")),
        "{news:?}"
    );
    assert!(!news.iter().any(|l| l.starts_with("* STATUS")), "{news:?}");
    // As after NOTIFY NONE.
    writer.append("box000", "", &sample_message(9)).await;
    nothing_for_a_moment(&mut c).await;
}

#[tokio::test]
async fn a_session_on_another_node_hears_an_append_to_a_mailbox_it_has_not_selected() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, |_| {});
    let b = Server::start_node(data.path(), "node-b", &redis, |_| {});
    let mut writer = Client::logged_in(&a).await;
    writer.ok("CREATE Work").await; // node-a owns the account
    let mut c = Client::logged_in(&b).await;
    c.ok("SELECT INBOX").await;
    let initial = c
        .ok("NOTIFY SET STATUS (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))")
        .await;
    assert!(
        initial
            .iter()
            .any(|l| l.starts_with("* STATUS Work (MESSAGES 0 ")),
        "{initial:?}"
    );
    writer.append("Work", "", &sample_message(1)).await;
    let line = c.line().await;
    assert!(
        line.starts_with("* STATUS Work (MESSAGES 1 UIDNEXT 2 "),
        "{line}"
    );
    writer.ok("CREATE Later").await;
    assert_eq!(c.line().await, "* LIST (\\HasNoChildren) \"/\" Later\r\n");
    writer.append("INBOX", "", &sample_message(2)).await;
    assert_eq!(c.line().await, "* 1 EXISTS\r\n");
}

#[tokio::test]
async fn when_the_owner_node_drains_a_remote_watcher_is_told_of_the_overflow_and_can_set_again() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let mut a = Server::start_node(data.path(), "node-a", &redis, |_| {});
    let b = Server::start_node(data.path(), "node-b", &redis, |_| {});
    let mut owner_side = Client::logged_in(&a).await;
    owner_side.ok("CREATE Work").await; // node-a owns the account
    let mut c = Client::logged_in(&b).await;
    c.ok("NOTIFY SET (personal (MessageNew MessageExpunge))")
        .await;
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    a.signal("TERM");
    let line = c.line().await;
    assert!(line.starts_with("* OK [NOTIFICATIONOVERFLOW]"), "{line}");
    c.send("DONE\r\n").await;
    c.until_tagged("i").await;
    assert!(a.wait_exit(Duration::from_secs(20)).success());
    // The account is served elsewhere now; a new NOTIFY SET watches it there.
    c.ok("NOTIFY SET (personal (MessageNew MessageExpunge))")
        .await;
    let mut writer = Client::logged_in(&b).await;
    writer.append("Work", "", &sample_message(1)).await;
    let line = c.line().await;
    assert!(line.starts_with("* STATUS Work (MESSAGES 1 "), "{line}");
}
