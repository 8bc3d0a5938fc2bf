//! Every session's view of a mailbox stays consistent while others change it (issue 10's
//! defects, each reproduced first).

use tokio::sync::watch;

use crate::support::{sample_message, Client, Server};

/// The last `* n EXISTS` among `lines`.
fn last_exists(lines: &[String]) -> Option<u32> {
    lines.iter().rev().find_map(|l| {
        l.strip_prefix("* ")?
            .strip_suffix(" EXISTS\r\n")?
            .parse()
            .ok()
    })
}

#[actix_rt::test]
async fn select_during_concurrent_appends_misses_no_message() {
    const APPENDS: u32 = 400;
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    let mut reader = Client::logged_in(&server).await;
    let (done, mut appended) = watch::channel(0u32);
    let write = async move {
        for n in 1..=APPENDS {
            writer.append("INBOX", "", &sample_message(n)).await;
            done.send_replace(n);
        }
    };
    let read = async move {
        let mut selects = 0;
        loop {
            let finished = *appended.borrow() == APPENDS;
            let selected = reader.ok("SELECT INBOX").await;
            let mut known = last_exists(&selected).expect("SELECT reports EXISTS");
            // Every APPEND acknowledged before this NOOP was sent is known once it completes.
            let acknowledged = *appended.borrow_and_update();
            known = last_exists(&reader.ok("NOOP").await).unwrap_or(known);
            assert!(
                known >= acknowledged,
                "after SELECT #{selects}: told of {known} messages, {acknowledged} were appended"
            );
            selects += 1;
            if finished {
                return selects;
            }
            tokio::task::yield_now().await;
        }
    };
    let ((), selects) = tokio::join!(write, read);
    assert!(
        selects > 10,
        "only {selects} SELECTs overlapped the appends"
    );
}

/// Two sessions with INBOX selected, holding three messages: `(client, other)`.
async fn two_sessions_on_three_messages(server: &Server) -> (Client, Client) {
    let mut other = Client::logged_in(server).await;
    for n in 1..=3 {
        other.append("INBOX", "", &sample_message(n)).await;
    }
    let mut client = Client::logged_in(server).await;
    client.ok("SELECT INBOX").await;
    other.ok("SELECT INBOX").await;
    (client, other)
}

#[actix_rt::test]
async fn logout_sends_nothing_between_bye_and_its_completion() {
    let server = Server::start();
    let (mut client, mut other) = two_sessions_on_three_messages(&server).await;
    other.ok("STORE 1 +FLAGS (\\Deleted)").await;
    other.ok("STORE 3 +FLAGS (\\Flagged)").await;
    other.ok("EXPUNGE").await;
    other.append("INBOX", "", &sample_message(4)).await;

    let lines = client.command("z", "LOGOUT").await;
    let bye = lines
        .iter()
        .position(|l| l.starts_with("* BYE "))
        .expect("BYE");
    assert_eq!(
        bye + 2,
        lines.len(),
        "only the tagged OK follows BYE: {lines:?}"
    );
    assert!(lines.last().unwrap().starts_with("z OK"), "{lines:?}");
    assert!(
        lines[..bye].iter().any(|l| l == "* 1 EXPUNGE\r\n"),
        "news goes before BYE: {lines:?}"
    );
}

#[actix_rt::test]
async fn recent_cannot_be_stored_or_appended() {
    let server = Server::start();
    let mut client = Client::logged_in(&server).await;
    client.append("INBOX", "\\Seen", &sample_message(1)).await;
    client.ok("SELECT INBOX").await;
    let message = sample_message(2);
    let appended = client
        .command(
            "a",
            &format!(
                "APPEND INBOX (\\Recent) {{{}+}}\r\n{message}",
                message.len()
            ),
        )
        .await;
    assert!(
        appended.last().unwrap().starts_with("a BAD "),
        "{appended:?}"
    );
    let stored = client.command("s", "STORE 1 +FLAGS (\\Recent)").await;
    assert!(stored.last().unwrap().starts_with("s BAD "), "{stored:?}");
    let status = client.ok("FETCH 1:* (FLAGS)").await;
    assert_eq!(status.len(), 1, "nothing was appended: {status:?}");
}

#[actix_rt::test]
async fn a_new_keyword_is_announced_in_flags_before_any_fetch_shows_it() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.append("INBOX", "", &sample_message(1)).await;
    let mut watcher = Client::logged_in(&server).await;
    watcher.ok("SELECT INBOX").await;
    writer.ok("SELECT INBOX").await;

    let stored = writer.ok("STORE 1 +FLAGS ($Important)").await;
    let announced = |lines: &[String]| {
        let flags = lines
            .iter()
            .position(|l| l.starts_with("* FLAGS (") && l.contains("$Important"));
        let permanent = lines
            .iter()
            .position(|l| l.starts_with("* OK [PERMANENTFLAGS (") && l.contains("$Important"));
        let fetch = lines
            .iter()
            .position(|l| l.contains(" FETCH (") && l.contains("$Important"));
        match (flags, permanent, fetch) {
            (Some(f), Some(p), Some(x)) => f < x && p < x,
            _ => false,
        }
    };
    assert!(announced(&stored), "{stored:?}");
    let told = watcher.ok("NOOP").await;
    assert!(announced(&told), "{told:?}");
    // Once told, not again.
    writer.ok("STORE 1 -FLAGS ($Important)").await;
    let again = watcher.ok("NOOP").await;
    assert!(!again.iter().any(|l| l.starts_with("* FLAGS")), "{again:?}");
}

#[actix_rt::test]
async fn sequence_numbers_beyond_the_mailbox_are_answered_bad() {
    let server = Server::start();
    let mut client = Client::logged_in(&server).await;
    client.ok("CREATE Empty").await;
    client.ok("SELECT Empty").await;
    let star = client.command("e", "FETCH * (FLAGS)").await;
    assert!(star.last().unwrap().starts_with("e BAD "), "{star:?}");
    for n in 1..=6 {
        client.append("INBOX", "", &sample_message(n)).await;
    }
    client.ok("SELECT INBOX").await;
    for command in [
        "FETCH 99 (FLAGS)",
        "STORE 50 +FLAGS (\\Seen)",
        "COPY 7 Empty",
        "MOVE 2:7 Empty",
    ] {
        let lines = client.command("b", command).await;
        assert!(
            lines.last().unwrap().starts_with("b BAD "),
            "{command}: {lines:?}"
        );
    }
    // UIDs are not bound by the count, and nothing was changed by the refused commands.
    client.ok("UID FETCH 99 (FLAGS)").await;
    assert_eq!(
        client.ok("FETCH 6 (FLAGS)").await,
        ["* 6 FETCH (FLAGS (\\Recent))\r\n"]
    );
    let status = client.ok("STATUS Empty (MESSAGES)").await;
    assert_eq!(status, ["* STATUS Empty (MESSAGES 0)\r\n"]);
}

#[actix_rt::test]
async fn recent_survives_an_idle_mailbox_and_a_restart() {
    let mut server = Server::start();
    let mut client = Client::logged_in(&server).await;
    client.ok("CREATE Box").await;
    for n in 1..=2 {
        client.append("Box", "", &sample_message(n)).await;
    }
    let recent = |n: u32| vec![format!("* STATUS Box (RECENT {n})\r\n")];
    assert_eq!(client.ok("STATUS Box (RECENT)").await, recent(2));
    // The mailbox actor lets go of an unused mailbox after 10 s and loads it again on demand.
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    assert_eq!(client.ok("STATUS Box (RECENT)").await, recent(2));
    server.restart();
    let mut client = Client::logged_in(&server).await;
    assert_eq!(client.ok("STATUS Box (RECENT)").await, recent(2));
    let selected = client.ok("SELECT Box").await;
    assert!(
        selected.contains(&"* 2 RECENT\r\n".to_owned()),
        "{selected:?}"
    );
    client.ok("CLOSE").await;
    // Claimed by that session: recent for no one else, before and after a restart.
    assert_eq!(client.ok("STATUS Box (RECENT)").await, recent(0));
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    server.restart();
    let mut client = Client::logged_in(&server).await;
    assert_eq!(client.ok("STATUS Box (RECENT)").await, recent(0));
}

#[actix_rt::test]
async fn a_full_keyword_table_stops_offering_new_keywords_and_still_takes_copies() {
    let server = Server::start();
    let mut client = Client::logged_in(&server).await;
    client.ok("CREATE Full").await;
    let keywords: Vec<String> = (0..59).map(|i| format!("k{i}")).collect();
    client
        .append("Full", &keywords.join(" "), &sample_message(1))
        .await;
    client
        .append("INBOX", "other \\Seen", &sample_message(2))
        .await;

    let selected = client.ok("SELECT Full").await;
    let permanent = selected
        .iter()
        .find(|l| l.starts_with("* OK [PERMANENTFLAGS"))
        .expect("PERMANENTFLAGS");
    assert!(
        permanent.contains("k58") && !permanent.contains("\\*"),
        "{permanent}"
    );
    let refused = client.command("s", "STORE 1 +FLAGS (brandnew)").await;
    assert!(
        refused.last().unwrap().starts_with("s NO [LIMIT]"),
        "{refused:?}"
    );

    client.ok("SELECT INBOX").await;
    let copied = client.command("c", "COPY 1 Full").await;
    assert!(
        copied.last().unwrap().starts_with("c OK [COPYUID"),
        "{copied:?}"
    );
    client.ok("SELECT Full").await;
    let flags = client.ok("FETCH 2 (FLAGS)").await;
    assert_eq!(
        flags,
        ["* 2 FETCH (FLAGS (\\Seen \\Recent))\r\n"],
        "the keyword that did not fit is left off"
    );
}

#[actix_rt::test]
async fn fetching_a_message_another_session_expunged_says_expungeissued_not_serverbug() {
    let server = Server::start();
    let (mut client, mut other) = two_sessions_on_three_messages(&server).await;
    other.ok("UID STORE 2 +FLAGS.SILENT (\\Deleted)").await;
    other.ok("UID EXPUNGE 2").await;
    // The client still knows UID 2 (no EXPUNGE may reach it during FETCH).
    let lines = client
        .command(
            "f",
            "UID FETCH 1:3 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
        )
        .await;
    let last = lines.last().unwrap();
    assert!(last.starts_with("f OK [EXPUNGEISSUED]"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("UID 1 ")));
    assert!(lines.iter().any(|l| l.contains("UID 3 ")));
    assert!(!lines.iter().any(|l| l.contains("UID 2 ")));
    // The next command that may tell it, does.
    let noop = client.ok("NOOP").await;
    assert!(noop.contains(&"* 2 EXPUNGE\r\n".to_owned()), "{noop:?}");
}
