//! METADATA (RFC 5464) over real TCP: every example of sections 4.2 to 4.4, the limits'
//! response codes, entry-name checks, persistence (restart, kill -9, snapshots), entries
//! following RENAME and going with DELETE, 500 mailboxes with entries, and a cluster.

use std::time::Duration;

use crate::support::*;

/// A server with small METADATA limits (values up to `max_value` octets, 10 entries per
/// mailbox, 16 KiB per account), `/shared/admin` set, and a snapshot of the account after
/// every few transactions (so restarts load entries from snapshots too).
fn server_with_limits(max_value: i64) -> Server {
    Server::start_with(|config| {
        let m = table(config, "metadata");
        m.insert("max_value_size".into(), max_value.into());
        m.insert("max_entries".into(), 10.into());
        m.insert("max_account_size".into(), 16_384.into());
        m.insert("admin".into(), "mailto:postmaster@example.com".into());
        table(config, "store").insert("compact_after_transactions".into(), 3.into());
    })
}

/// Sends a command whose last argument part is a synchronizing literal: `head` ends with
/// `{n}`; the rest follows the server's `+`.
async fn with_literal(c: &mut Client, tag: &str, head: &str, rest: &[u8]) -> Vec<String> {
    c.send(format!("{tag} {head}\r\n")).await;
    let go = c.line().await;
    assert!(go.starts_with("+ "), "{go}");
    c.send(rest).await;
    c.until_tagged(tag).await
}

fn last(lines: &[String]) -> &str {
    lines.last().map(String::as_str).unwrap_or_default()
}

#[tokio::test]
async fn rfc5464_examples_of_sections_4_2_to_4_4() {
    let server = server_with_limits(4096);
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    let caps = c.command("c0", "CAPABILITY").await.concat();
    assert!(!caps.contains("METADATA"), "only after login: {caps}");
    c.login().await;
    let caps = c.command("c1", "CAPABILITY").await.concat();
    assert!(caps.contains(" METADATA"), "{caps}");
    assert!(!caps.contains("METADATA-SERVER"), "{caps}");

    // 4.2: a server entry, a mailbox entry, and a list of entries.
    c.ok("SETMETADATA \"\" (/shared/comment \"Shared comment\")")
        .await;
    assert_eq!(
        c.command("a", "GETMETADATA \"\" /shared/comment").await,
        [
            "* METADATA \"\" (/shared/comment \"Shared comment\")\r\n",
            "a OK GETMETADATA completed\r\n"
        ]
    );
    c.ok("SETMETADATA INBOX (/private/comment \"My own comment\")")
        .await;
    assert_eq!(
        c.ok("GETMETADATA \"INBOX\" /private/comment").await,
        ["* METADATA INBOX (/private/comment \"My own comment\")\r\n"]
    );
    c.ok("SETMETADATA INBOX (/shared/comment \"Shared comment\")")
        .await;
    assert_eq!(
        c.ok("GETMETADATA \"INBOX\" (/shared/comment /private/comment)")
            .await,
        ["* METADATA INBOX (/shared/comment \"Shared comment\" /private/comment \"My own comment\")\r\n"]
    );

    // 4.2.1: MAXSIZE leaves out the 2199-octet value and says how long it is.
    let long = "x".repeat(1000);
    c.ok(&format!(
        "SETMETADATA INBOX (/shared/comment {{2199+}}\r\n{long}{long}{})",
        "y".repeat(199)
    ))
    .await;
    let lines = c
        .command(
            "a",
            "GETMETADATA \"INBOX\" (MAXSIZE 1024) (/shared/comment /private/comment)",
        )
        .await;
    assert_eq!(
        lines,
        [
            "* METADATA INBOX (/private/comment \"My own comment\")\r\n",
            "a OK [METADATA LONGENTRIES 2199] GETMETADATA completed\r\n"
        ]
    );
    // Without MAXSIZE the long value comes as a literal.
    let lines = c.ok("GETMETADATA INBOX /shared/comment").await;
    assert_eq!(lines[0], "* METADATA INBOX (/shared/comment {2199}\r\n");

    // 4.2.2: DEPTH 1 returns the children, not the grandchildren; DEPTH infinity all.
    c.ok("SETMETADATA INBOX (/private/filters/values/small \"SMALLER 5000\" /private/filters/values/boss \"FROM \\\"boss@example.com\\\"\" /private/filters/values/boss/deeper \"x\")")
        .await;
    assert_eq!(
        c.ok("GETMETADATA \"INBOX\" (DEPTH 1) (/private/filters/values)")
            .await,
        ["* METADATA INBOX (/private/filters/values/boss \"FROM \\\"boss@example.com\\\"\" /private/filters/values/small \"SMALLER 5000\")\r\n"]
    );
    let deep = c
        .ok("GETMETADATA INBOX (DEPTH infinity) /private/filters/values")
        .await
        .concat();
    assert!(
        deep.contains("/private/filters/values/boss/deeper \"x\""),
        "{deep}"
    );
    // Section 5's grammar puts the options before the mailbox.
    let root = c
        .ok("GETMETADATA (DEPTH infinity) INBOX /private")
        .await
        .concat();
    assert!(
        root.contains("/private/comment") && !root.contains("/shared/"),
        "{root}"
    );

    // 4.3: a multi-line literal, NIL to remove, several entries, and TOOMANY.
    let lines = with_literal(
        &mut c,
        "s1",
        "SETMETADATA INBOX (/private/comment {33}",
        b"My new comment across\r\ntwo lines.)\r\n",
    )
    .await;
    assert_eq!(last(&lines), "s1 OK SETMETADATA completed\r\n");
    c.send("g1 GETMETADATA INBOX /private/comment\r\n").await;
    assert_eq!(
        c.line().await,
        "* METADATA INBOX (/private/comment {33}\r\n"
    );
    assert_eq!(c.octets(33).await, b"My new comment across\r\ntwo lines.");
    assert_eq!(c.line().await, ")\r\n");
    assert_eq!(c.line().await, "g1 OK GETMETADATA completed\r\n");
    c.ok("SETMETADATA INBOX (/private/comment NIL)").await;
    assert!(c.ok("GETMETADATA INBOX /private/comment").await.is_empty());
    c.ok("SETMETADATA INBOX (/private/comment \"My new comment\" /shared/comment \"This one is for you!\")")
        .await;
    // 4.4.1: entries without parentheses, one response for both.
    assert_eq!(
        c.ok("GETMETADATA \"INBOX\" /private/comment /shared/comment")
            .await,
        ["* METADATA INBOX (/private/comment \"My new comment\" /shared/comment \"This one is for you!\")\r\n"]
    );
    // INBOX has 5 entries; 5 more fill it to max_entries (10), the next is one too many.
    let five: String = (0..5).map(|i| format!(" /private/e{i} \"v\"")).collect();
    c.ok(&format!("SETMETADATA INBOX ({})", five.trim())).await;
    let lines = c
        .command(
            "a",
            "SETMETADATA INBOX (/private/one-more \"My new comment\")",
        )
        .await;
    assert_eq!(
        lines,
        ["a NO [METADATA TOOMANY] too many entries\r\n"],
        "RFC 5464 4.3"
    );
    // Replacing an entry is no new entry.
    c.ok("SETMETADATA INBOX (/private/comment \"replaced\")")
        .await;
    // Unset entries are simply not returned (section 4.2).
    assert!(c.ok("GETMETADATA INBOX /private/unset").await.is_empty());
    // Unsolicited METADATA (section 4.4.2) is not offered: ENABLE turns nothing on.
    assert_eq!(c.ok("ENABLE METADATA").await, ["* ENABLED\r\n"]);
}

#[tokio::test]
async fn limits_answer_with_their_codes_and_refuse_the_whole_command() {
    let server = server_with_limits(1024);
    let mut c = Client::logged_in(&server).await;
    let big = "z".repeat(1025);
    let lines = c
        .command(
            "a",
            &format!("SETMETADATA \"\" (/private/small \"ok\" /private/big {{1025+}}\r\n{big})"),
        )
        .await;
    assert!(
        lines[0].starts_with("a NO [METADATA MAXSIZE 1024] "),
        "{lines:?}"
    );
    // All or nothing: the small entry was not set either.
    assert!(c
        .ok("GETMETADATA \"\" (/private/small /private/big)")
        .await
        .is_empty());
    // The account's total (16 KiB) over the server and every mailbox: [OVERQUOTA].
    let kib = "k".repeat(1000);
    for mailbox in ["\"\"", "INBOX", "Sent"] {
        let pairs: String = (0..5)
            .map(|i| format!(" /private/k{i} {{1000+}}\r\n{kib}"))
            .collect();
        c.ok(&format!("SETMETADATA {mailbox} ({})", pairs.trim_start()))
            .await;
    }
    let lines = c
        .command(
            "b",
            &format!(
                "SETMETADATA Drafts (/private/k {{1000+}}\r\n{kib} /private/l {{1000+}}\r\n{kib})"
            ),
        )
        .await;
    assert!(lines[0].starts_with("b NO [OVERQUOTA] "), "{lines:?}");
    // Removing always works, and makes room.
    c.ok("SETMETADATA \"\" (/private/k0 NIL /private/k1 NIL)")
        .await;
    c.ok(&format!(
        "SETMETADATA Drafts (/private/k {{1000+}}\r\n{kib})"
    ))
    .await;
    // /shared/admin is the configured URI and read-only.
    assert_eq!(
        c.ok("GETMETADATA \"\" /shared/admin").await,
        ["* METADATA \"\" (/shared/admin \"mailto:postmaster@example.com\")\r\n"]
    );
    let admin = c.ok("GETMETADATA \"\" (DEPTH 1) /shared").await.concat();
    assert!(admin.contains("/shared/admin"), "{admin}");
    let lines = c
        .command(
            "c",
            "SETMETADATA \"\" (/shared/admin \"mailto:me@example.com\")",
        )
        .await;
    assert!(lines[0].starts_with("c NO [NOPERM] "), "{lines:?}");
    // A mailbox that does not exist has no entries to read or set (section 3.3).
    for command in [
        "GETMETADATA Nowhere /private/comment",
        "SETMETADATA Nowhere (/private/comment \"x\")",
    ] {
        let lines = c.command("d", command).await;
        assert!(lines[0].starts_with("d NO [NONEXISTENT] "), "{lines:?}");
    }
    // Binary values travel as literal8; names are case-insensitive.
    c.ok("SETMETADATA \"\" (/private/vendor/roost/bin ~{3+}\r\na\0b)")
        .await;
    c.send("e GETMETADATA \"\" /PRIVATE/Vendor/roost/BIN\r\n")
        .await;
    assert_eq!(
        c.line().await,
        "* METADATA \"\" (/private/vendor/roost/bin ~{3}\r\n"
    );
    assert_eq!(c.octets(3).await, b"a\0b");
    assert_eq!(c.line().await, ")\r\n");
    assert_eq!(c.line().await, "e OK GETMETADATA completed\r\n");
}

#[tokio::test]
async fn malformed_entry_names_are_bad_and_login_comes_first() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    for command in [
        "GETMETADATA \"\" /shared/comment",
        "SETMETADATA \"\" (/shared/comment \"x\")",
    ] {
        let lines = c.command("n", command).await;
        assert!(
            lines[0].starts_with("n BAD ") && lines[0].contains("log in first"),
            "{lines:?}"
        );
    }
    c.login().await;
    for (command, why) in [
        ("GETMETADATA \"\" \"/shared/*\"", "\"*\""),
        ("GETMETADATA \"\" \"/shared/a%\"", "\"*\""),
        ("GETMETADATA \"\" /comment", "/private or /shared"),
        ("GETMETADATA \"\" /shared//comment", "//"),
        ("GETMETADATA \"\" /shared/comment/", "end with"),
        ("SETMETADATA \"\" (/shared/vendor/acme \"x\")", "vendor"),
        ("SETMETADATA \"\" (/shared \"x\")", "two components"),
        ("SETMETADATA \"\" (\"/shared/caf\u{e9}\" \"x\")", "ASCII"),
        ("GETMETADATA \"\" (DEPTH 2) /shared/comment", "DEPTH"),
        ("GETMETADATA \"\" (SORTED) /shared/comment", "option"),
        ("SETMETADATA INBOX /private/comment \"x\"", "("),
    ] {
        let lines = c.command("b", command).await;
        assert!(
            lines[0].starts_with("b BAD ") && lines[0].contains(why),
            "{command}: {lines:?}"
        );
    }
    // The session goes on.
    c.ok("GETMETADATA \"\" /shared/comment").await;
}

#[tokio::test]
async fn entries_follow_rename_go_with_delete_and_survive_restarts_and_kill_9() {
    let mut server = server_with_limits(1024);
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE Projects/2024").await;
    c.ok("SETMETADATA Projects (/private/comment \"parent\")")
        .await;
    c.ok("SETMETADATA Projects/2024 (/shared/comment \"child\")")
        .await;
    c.ok("SETMETADATA INBOX (/private/comment \"inbox\")").await;
    c.ok("SETMETADATA \"\" (/private/vendor/deltachat/token \"t0\")")
        .await;
    c.ok("RENAME Projects Work").await;
    assert_eq!(
        c.ok("GETMETADATA Work/2024 /shared/comment").await,
        ["* METADATA Work/2024 (/shared/comment \"child\")\r\n"]
    );
    assert!(c
        .command("a", "GETMETADATA Projects /private/comment")
        .await[0]
        .starts_with("a NO [NONEXISTENT]"));
    // Section 4.1: a renamed INBOX's entries are copied, INBOX keeps its own.
    c.ok("RENAME INBOX Old").await;
    for mailbox in ["INBOX", "Old"] {
        assert_eq!(
            c.ok(&format!("GETMETADATA {mailbox} /private/comment"))
                .await,
            [format!(
                "* METADATA {mailbox} (/private/comment \"inbox\")\r\n"
            )]
        );
    }
    // DELETE takes the entries; a new mailbox of the same name starts with none.
    c.ok("DELETE Work/2024").await;
    c.ok("CREATE Work/2024").await;
    assert!(c
        .ok("GETMETADATA Work/2024 /shared/comment")
        .await
        .is_empty());

    // A clean restart.
    drop(c);
    server.signal("TERM");
    server.wait_exit(Duration::from_secs(20));
    server.restart();
    let mut c = Client::logged_in(&server).await;
    assert_eq!(
        c.ok("GETMETADATA Work /private/comment").await,
        ["* METADATA Work (/private/comment \"parent\")\r\n"]
    );
    assert!(c
        .ok("GETMETADATA Work/2024 /shared/comment")
        .await
        .is_empty());

    // kill -9 at random moments while a client sets entries: each round's entry holds its
    // last acknowledged value, or the one sent after it (durable, its OK lost with the
    // process).
    let mut rounds = Vec::new();
    for round in 0..4u32 {
        let mut c = Client::logged_in(&server).await;
        let pid = server.pid();
        let killer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(60 + u64::from(round) * 70)).await;
            std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
        });
        let mut acknowledged = None;
        for n in 0.. {
            let command = format!("SETMETADATA \"\" (/private/vendor/roost/round{round} \"n{n}\")");
            match c.try_command("k", &command).await {
                Some(lines) => {
                    assert_eq!(last(&lines), "k OK SETMETADATA completed\r\n");
                    acknowledged = Some(n);
                }
                None => break,
            }
        }
        killer.await.unwrap();
        server.restart();
        rounds.push(acknowledged.expect("at least one SETMETADATA before the kill"));
    }
    let mut c = Client::logged_in(&server).await;
    for (round, acknowledged) in rounds.into_iter().enumerate() {
        let entry = format!("/private/vendor/roost/round{round}");
        let lines = c.ok(&format!("GETMETADATA \"\" {entry}")).await;
        let kept = [acknowledged, acknowledged + 1]
            .map(|n| format!("* METADATA \"\" ({entry} \"n{n}\")\r\n"));
        assert!(
            kept.contains(&lines[0]),
            "{lines:?}, acknowledged n{acknowledged}"
        );
    }
}

#[tokio::test]
async fn five_hundred_mailboxes_keep_their_own_entries() {
    let mut server = Server::start();
    let mut c = Client::logged_in(&server).await;
    // Pipelined, as a client restoring settings would send them.
    let mut batch = String::new();
    for i in 0..500 {
        batch.push_str(&format!("c{i} CREATE Folder{i:03}\r\n"));
        batch.push_str(&format!(
            "s{i} SETMETADATA Folder{i:03} (/private/comment \"folder {i}\" /shared/vendor/roost/index \"{i}\")\r\n"
        ));
    }
    let started = std::time::Instant::now();
    c.send(batch).await;
    for i in 0..500 {
        assert!(last(&c.until_tagged(&format!("c{i}")).await).contains(" OK "));
        assert!(last(&c.until_tagged(&format!("s{i}")).await).contains(" OK "));
    }
    eprintln!(
        "500 CREATE + 500 SETMETADATA, pipelined: {:?}",
        started.elapsed()
    );
    c.ok("SETMETADATA \"\" (/private/comment \"server\")").await;
    // The server's entries are its own: DEPTH infinity over "" sees none of the folders'.
    assert_eq!(
        c.ok("GETMETADATA \"\" (DEPTH infinity) (/private /shared)")
            .await,
        ["* METADATA \"\" (/private/comment \"server\")\r\n"]
    );
    server.restart();
    let mut c = Client::logged_in(&server).await;
    let mut batch = String::new();
    for i in 0..500 {
        batch.push_str(&format!(
            "g{i} GETMETADATA Folder{i:03} (DEPTH infinity) (/private /shared)\r\n"
        ));
    }
    let started = std::time::Instant::now();
    c.send(batch).await;
    for i in 0..500 {
        let lines = c.until_tagged(&format!("g{i}")).await;
        assert_eq!(
            lines[0],
            format!("* METADATA Folder{i:03} (/private/comment \"folder {i}\" /shared/vendor/roost/index \"{i}\")\r\n")
        );
    }
    eprintln!(
        "500 GETMETADATA (DEPTH infinity) after a restart, pipelined: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn entries_set_through_a_node_that_does_not_own_the_account_are_read_on_the_owner() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, |_| {});
    let b = Server::start_node(data.path(), "node-b", &redis, |_| {});
    let mut on_a = Client::logged_in(&a).await;
    on_a.ok("SELECT INBOX").await; // node-a owns the account
    let mut on_b = Client::logged_in(&b).await;
    on_b.ok("SETMETADATA \"\" (/private/vendor/deltachat/token \"from-b\")")
        .await;
    on_b.ok("SETMETADATA INBOX (/shared/comment \"via b\" /private/comment \"too\")")
        .await;
    assert_eq!(
        on_a.ok("GETMETADATA \"\" /private/vendor/deltachat/token")
            .await,
        ["* METADATA \"\" (/private/vendor/deltachat/token \"from-b\")\r\n"]
    );
    assert_eq!(
        on_a.ok("GETMETADATA INBOX (/shared/comment /private/comment)")
            .await,
        ["* METADATA INBOX (/shared/comment \"via b\" /private/comment \"too\")\r\n"]
    );
    // And back: node-b reads what node-a set, MAXSIZE and limits answered by the owner.
    on_a.ok("SETMETADATA INBOX (/shared/comment \"changed on a\")")
        .await;
    let lines = on_b
        .command(
            "m",
            "GETMETADATA INBOX (MAXSIZE 5) (/shared/comment /private/comment)",
        )
        .await;
    assert_eq!(
        lines,
        [
            "* METADATA INBOX (/private/comment \"too\")\r\n",
            "m OK [METADATA LONGENTRIES 12] GETMETADATA completed\r\n"
        ]
    );
    let lines = on_b
        .command("n", "SETMETADATA Nowhere (/shared/comment \"x\")")
        .await;
    assert!(lines[0].starts_with("n NO [NONEXISTENT] "), "{lines:?}");
}

/// A real client library (Python's imaplib, with the two commands registered) doing what
/// Delta Chat does with METADATA: read the server's comment and admin address, store a push
/// token as a private server entry, and read it back.
#[tokio::test]
async fn a_real_client_library_reads_server_entries_and_stores_a_push_token() {
    let server = server_with_limits(4096);
    let port = server.imap.port();
    let script = format!(
        r#"
import imaplib
for name in ("GETMETADATA", "SETMETADATA"):
    imaplib.Commands[name] = ("AUTH", "SELECTED")
m = imaplib.IMAP4("127.0.0.1", {port})
m.login({user:?}, {password:?})
typ, caps = m.capability()
assert b"METADATA" in caps[0].split(), caps
typ, data = m._simple_command("GETMETADATA", '""', "(/shared/comment /shared/admin)")
assert typ == "OK", data
typ, data = m._untagged_response(typ, data, "METADATA")
assert data == [b'"" (/shared/admin "mailto:postmaster@example.com")'], data
typ, data = m._simple_command("SETMETADATA", '""', '(/private/devicetoken "fcm-token:abc123")')
assert typ == "OK", data
typ, data = m._simple_command("GETMETADATA", '""', "/private/devicetoken")
typ, data = m._untagged_response(typ, data, "METADATA")
assert data == [b'"" (/private/devicetoken "fcm-token:abc123")'], data
m.logout()
print("metadata ok")
"#,
        user = USER,
        password = PASSWORD,
    );
    assert!(crate::clients::run_python(&script).contains("metadata ok"));
}
