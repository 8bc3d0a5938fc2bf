//! QRESYNC (RFC 7162 section 3.2): ENABLE, the SELECT parameter, `VANISHED (EARLIER)` from
//! SELECT and UID FETCH, `VANISHED` in place of EXPUNGE, and a resync that reports exactly what
//! changed on a 10,000-message mailbox, also after a restart and log compaction.

use std::collections::BTreeSet;

use crate::support::{code_value, Client, Server};

/// Every number of an IMAP sequence set such as `1:3,7`.
fn numbers(set: &str) -> BTreeSet<u32> {
    set.split(',')
        .flat_map(|part| match part.split_once(':') {
            Some((a, b)) => a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap(),
            None => part.parse::<u32>().unwrap()..=part.parse::<u32>().unwrap(),
        })
        .collect()
}

fn set_of(uids: &BTreeSet<u32>) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The UIDs in `* VANISHED (EARLIER) ...` lines and the UIDs of `* n FETCH (... UID u ...)`.
fn vanished_and_fetched(lines: &[String]) -> (BTreeSet<u32>, BTreeSet<u32>) {
    let mut vanished = BTreeSet::new();
    let mut fetched = BTreeSet::new();
    for line in lines {
        if let Some(set) = line.strip_prefix("* VANISHED (EARLIER) ") {
            vanished.extend(numbers(set.trim_end()));
        } else if line.contains(" FETCH (") {
            let uid = line.split("UID ").nth(1).unwrap();
            let uid = uid[..uid.find([' ', ')']).unwrap()].parse().unwrap();
            assert!(
                line.contains("FLAGS (") && line.contains("MODSEQ ("),
                "{line}"
            );
            fetched.insert(uid);
        }
    }
    (vanished, fetched)
}

#[tokio::test]
async fn qresync_must_be_enabled_and_then_expunges_are_vanished() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.seed("INBOX", 5).await;
    let refused = c.command("q", "SELECT INBOX (QRESYNC (1 1))").await;
    assert!(refused[0].starts_with("q BAD "), "{refused:?}");
    assert_eq!(c.ok("ENABLE QRESYNC").await, ["* ENABLED QRESYNC\r\n"]);
    assert!(c.ok("CAPABILITY").await[0].contains(" QRESYNC"));
    let selected = c.ok("SELECT INBOX").await;
    assert!(
        code_value(&selected, "HIGHESTMODSEQ").is_some(),
        "{selected:?}"
    );
    for (tag, command) in [
        ("f1", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
        ("f2", "UID FETCH 1:* (FLAGS) (VANISHED)"),
    ] {
        let lines = c.command(tag, command).await;
        assert!(lines[0].starts_with(&format!("{tag} BAD ")), "{lines:?}");
    }
    // Another session's expunge arrives as VANISHED; this session's own too, with the new
    // HIGHESTMODSEQ in the tagged OK (section 3.2.7).
    let mut other = Client::logged_in(&server).await;
    other.ok("SELECT INBOX").await;
    other.ok("STORE 1 +FLAGS (\\Deleted)").await;
    other.ok("EXPUNGE").await;
    assert_eq!(c.ok("NOOP").await, ["* VANISHED 1\r\n"]);
    c.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)").await;
    let expunged = c.command("e", "EXPUNGE").await;
    assert_eq!(expunged[0], "* VANISHED 3,5\r\n");
    assert!(
        expunged[1].starts_with("e OK [HIGHESTMODSEQ "),
        "{expunged:?}"
    );
    // A STORE's answer carries UID and MODSEQ once CONDSTORE is on (section 3.2.4).
    let stored = c.ok("STORE 1 +FLAGS (\\Seen)").await;
    assert!(
        stored[0].starts_with("* 1 FETCH (FLAGS (\\Seen \\Recent) UID 2 MODSEQ ("),
        "{stored:?}"
    );
    // A UIDVALIDITY that does not match: a plain SELECT (section 3.2.5).
    let mismatch = c.ok("SELECT INBOX (QRESYNC (1 1 1:10))").await;
    assert!(mismatch[0].starts_with("* OK [CLOSED]"), "{mismatch:?}");
    assert!(!mismatch
        .iter()
        .any(|l| l.contains("VANISHED") || l.contains("FETCH")));
}

/// The resync: a client leaves; another session changes the flags of 1,000 of
/// 10,000 messages and expunges 500 others; the first comes back with QRESYNC and is told
/// exactly those, by SELECT and by `UID FETCH (CHANGEDSINCE .. VANISHED)`; again after a
/// restart, and after the logs were compacted into snapshots.
#[tokio::test]
async fn a_resync_reports_exactly_the_changes_after_restart_and_compaction() {
    let mut server = Server::start_with(|config| {
        let mut store = toml::Table::new();
        store.insert("compact_after_transactions".into(), 50.into());
        config.insert("store".into(), store.into());
    });
    let mut writer = Client::logged_in(&server).await;
    writer.seed("INBOX", 10_000).await;
    let mut client = Client::logged_in(&server).await;
    client.ok("ENABLE QRESYNC").await;
    let first = client.ok("SELECT INBOX").await;
    let validity = code_value(&first, "UIDVALIDITY").unwrap();
    let known_modseq = code_value(&first, "HIGHESTMODSEQ").unwrap();
    client.ok("LOGOUT").await;

    writer.ok("SELECT INBOX").await;
    let flagged: BTreeSet<u32> = (1..=1000).map(|i| i * 10 - 3).collect();
    let expunged: BTreeSet<u32> = (1..=500).map(|i| i * 20 - 1).collect();
    // In 100 commands each, so the log is compacted several times (every 50 transactions).
    for chunk in flagged.iter().copied().collect::<Vec<_>>().chunks(10) {
        let set = set_of(&chunk.iter().copied().collect());
        writer
            .ok(&format!("UID STORE {set} +FLAGS.SILENT (\\Flagged)"))
            .await;
    }
    for chunk in expunged.iter().copied().collect::<Vec<_>>().chunks(5) {
        let set = set_of(&chunk.iter().copied().collect());
        writer
            .ok(&format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"))
            .await;
        writer.ok(&format!("UID EXPUNGE {set}")).await;
    }
    writer.ok("LOGOUT").await;

    for round in ["running", "after a restart"] {
        let mut back = Client::logged_in(&server).await;
        back.ok("ENABLE QRESYNC").await;
        let lines = back
            .ok(&format!(
                "SELECT INBOX (QRESYNC ({validity} {known_modseq} 1:10000))"
            ))
            .await;
        let (vanished, fetched) = vanished_and_fetched(&lines);
        assert_eq!(
            vanished, expunged,
            "{round}: VANISHED (EARLIER) from SELECT"
        );
        assert_eq!(fetched, flagged, "{round}: FETCH from SELECT");
        assert!(lines.contains(&"* 9500 EXISTS\r\n".to_owned()), "{round}");
        let lines = back
            .ok(&format!(
                "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {known_modseq} VANISHED)"
            ))
            .await;
        let (vanished, fetched) = vanished_and_fetched(&lines);
        // `1:*` reaches only up to the highest UID there is.
        assert_eq!(
            vanished, expunged,
            "{round}: VANISHED (EARLIER) from UID FETCH"
        );
        assert_eq!(fetched, flagged, "{round}: FETCH from UID FETCH");
        back.ok("LOGOUT").await;
        server.restart();
    }
    let snapshots = walk(server.dir.path())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "snapshot"))
        .count();
    assert!(snapshots >= 1, "the logs were never compacted");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Section 3.2.5.2: sequence match data tells the server which expunges the client already
/// knows of; MOVE reports its sources as VANISHED (RFC 6851 section 4.3).
#[tokio::test]
async fn sequence_match_data_narrows_vanished_and_move_reports_vanished() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.seed("INBOX", 30).await;
    c.ok("ENABLE QRESYNC").await;
    let first = c.ok("SELECT INBOX").await;
    let validity = code_value(&first, "UIDVALIDITY").unwrap();
    let gone: BTreeSet<u32> = (1..=30).filter(|u| u % 3 != 0).collect();
    c.ok(&format!(
        "UID STORE {} +FLAGS.SILENT (\\Deleted)",
        set_of(&gone)
    ))
    .await;
    c.ok("EXPUNGE").await;
    c.ok("UNSELECT").await;
    // Message 4 is UID 12 and message 5 is UID 15: the client knows every expunge up to 15.
    let lines = c
        .ok(&format!(
            "SELECT INBOX (QRESYNC ({validity} 1 1:30 (2,4:5 6,12,15)))"
        ))
        .await;
    let (vanished, _) = vanished_and_fetched(&lines);
    assert_eq!(vanished, gone.range(16..).copied().collect());
    // A pair that does not match stops the narrowing there.
    let lines = c
        .ok(&format!(
            "SELECT INBOX (QRESYNC ({validity} 1 1:30 (2,4 6,13)))"
        ))
        .await;
    let (vanished, _) = vanished_and_fetched(&lines);
    assert_eq!(vanished, gone.range(7..).copied().collect());
    c.ok("CREATE Archive2").await;
    let moved = c.command("m", "UID MOVE 3,6 Archive2").await;
    assert!(
        moved.contains(&"* VANISHED 3,6\r\n".to_owned()),
        "{moved:?}"
    );
}
