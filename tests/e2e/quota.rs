//! QUOTA (RFC 9208): the examples of section 4, limits from the configuration, the users
//! file and SETQUOTA, exact accounting under 20 concurrent writers, and durability.

use crate::support::{add_user, roost_cli, sample_message, table, Client, Redis, Server, USER};

/// A server whose accounts may hold `messages` messages, with `admin` as quota admin.
fn limited(messages: i64) -> Server {
    let server = Server::start_with(|config| {
        let quota = table(config, "quota");
        quota.insert("messages".into(), messages.into());
        quota.insert("admins".into(), vec![toml::Value::from("admin")].into());
    });
    add_user(&server.config, "admin", "admin password");
    server
}

async fn admin(server: &Server) -> Client {
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.ok("LOGIN admin \"admin password\"").await;
    c
}

/// `(STORAGE usage limit MESSAGE usage limit)` of `root` as numbers, in order.
async fn quota_numbers(c: &mut Client, root: &str) -> Vec<u64> {
    let lines = c.ok(&format!("GETQUOTA \"{root}\"")).await;
    let line = &lines[0];
    assert!(line.starts_with(&format!("* QUOTA {root} (")), "{line}");
    line.split(['(', ')', ' '])
        .filter_map(|w| w.trim().parse().ok())
        .collect()
}

#[tokio::test]
async fn getquotaroot_getquota_and_status_as_in_section_4() {
    let server = limited(1000);
    let mut c = Client::logged_in(&server).await;
    let caps = c.ok("CAPABILITY").await.concat();
    assert!(
        caps.contains(" QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE "),
        "{caps}"
    );
    assert!(
        !caps.contains("QUOTASET"),
        "only admins may SETQUOTA: {caps}"
    );
    for i in 1..=12 {
        c.append(
            "INBOX",
            if i <= 4 { "\\Deleted" } else { "" },
            &sample_message(i),
        )
        .await;
    }
    // Section 4.1.2: the mailbox need not exist.
    for mailbox in ["INBOX", "comp.mail.mime"] {
        let lines = c.ok(&format!("GETQUOTAROOT {mailbox}")).await;
        assert_eq!(lines[0], format!("* QUOTAROOT {mailbox} #user/{USER}\r\n"));
        assert_eq!(
            lines[1],
            format!("* QUOTA #user/{USER} (MESSAGE 12 1000)\r\n")
        );
    }
    assert_eq!(
        quota_numbers(&mut c, &format!("#user/{USER}")).await,
        [12, 1000]
    );
    let refused = c.command("g1", "GETQUOTA \"#user/admin\"").await;
    assert!(refused[0].starts_with("g1 NO [NONEXISTENT]"), "{refused:?}");
    let refused = c.command("s1", "SETQUOTA #user/alice (MESSAGE 5)").await;
    assert!(refused[0].starts_with("s1 NO [NOPERM]"), "{refused:?}");

    // Section 4.1.4: DELETED counts, DELETED-STORAGE sums the octets EXPUNGE would free.
    let deleted: usize = (1..=4).map(|i| sample_message(i).len()).sum();
    let status = c
        .ok("STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)")
        .await;
    assert_eq!(
        status[0],
        format!("* STATUS INBOX (MESSAGES 12 DELETED 4 DELETED-STORAGE {deleted})\r\n")
    );
}

#[tokio::test]
async fn setquota_by_an_admin_replaces_all_limits_and_survives_kill_9() {
    let mut server = limited(1000);
    let mut user = Client::logged_in(&server).await;
    // Messages of 400 octets: two fit in 1 KiB, a third does not.
    let message = |i: u32| {
        let m = sample_message(i);
        format!("{m}{}\r\n", "x".repeat(398 - m.len()))
    };
    user.append("INBOX", "", &message(1)).await;
    let size = message(1).len() as u64;
    assert_eq!(size, 400);

    let mut a = admin(&server).await;
    assert!(a.ok("CAPABILITY").await.concat().contains(" QUOTASET"));
    // Section 4.1.3: the response shows the new limits; unlisted resources lose theirs.
    let set = a.ok("SETQUOTA #user/alice (STORAGE 1)").await;
    assert_eq!(set[0], "* QUOTA #user/alice (STORAGE 1 1)\r\n");
    let refused = a.command("s2", "SETQUOTA #user/alice (MAILBOX 5)").await;
    assert!(refused[0].starts_with("s2 NO [CANNOT]"), "{refused:?}");
    let bad = a
        .command("s3", "SETQUOTA #user/alice (STORAGE 1 STORAGE 2)")
        .await;
    assert!(bad[0].starts_with("s3 BAD"), "{bad:?}");
    let missing = a.command("s4", "GETQUOTA \"#user/nobody\"").await;
    assert!(missing[0].starts_with("s4 NO [NONEXISTENT]"), "{missing:?}");

    user.append("INBOX", "", &message(2)).await;
    let over = message(3);
    let refused = user
        .command("a3", &format!("APPEND INBOX {{{}+}}\r\n{over}", over.len()))
        .await;
    assert!(refused[0].starts_with("a3 NO [OVERQUOTA]"), "{refused:?}");
    let status = user.ok("STATUS INBOX (MESSAGES UIDNEXT APPENDLIMIT)").await;
    let left = 1024 - 2 * size;
    assert_eq!(
        status[0],
        format!("* STATUS INBOX (MESSAGES 2 UIDNEXT 3 APPENDLIMIT {left})\r\n")
    );

    // kill -9 right after the tagged OK: the limit and the mail are still there.
    let set = a.ok("SETQUOTA #user/alice (STORAGE 1 MESSAGE 2)").await;
    assert!(set[0].contains("MESSAGE 2 2"), "{set:?}");
    server.restart();
    let mut user = Client::logged_in(&server).await;
    let lines = user.ok("GETQUOTAROOT INBOX").await;
    assert_eq!(
        lines[1],
        "* QUOTA #user/alice (STORAGE 1 1 MESSAGE 2 2)\r\n"
    );
}

#[tokio::test]
async fn copy_is_refused_at_the_limit_but_move_and_expunge_work() {
    let server = limited(3);
    let mut c = Client::logged_in(&server).await;
    for i in 1..=3 {
        c.append("INBOX", "", &sample_message(i)).await;
    }
    c.ok("SELECT INBOX").await;
    let copy = c.command("c1", "COPY 1 Archive").await;
    assert!(
        copy.last().unwrap().starts_with("c1 NO [OVERQUOTA]"),
        "{copy:?}"
    );
    // Moving to Trash must work for a user who is full (nothing is added to the account).
    let moved = c.command("m1", "MOVE 1 Trash").await;
    assert!(moved[0].starts_with("* OK [COPYUID "), "{moved:?}");
    assert!(moved.last().unwrap().starts_with("m1 OK"), "{moved:?}");
    c.ok("STORE 1 +FLAGS (\\Deleted)").await;
    c.ok("EXPUNGE").await;
    c.ok("COPY 1 Archive").await;
    let lines = c.ok("GETQUOTAROOT INBOX").await;
    assert_eq!(lines[1], "* QUOTA #user/alice (MESSAGE 3 3)\r\n");
}

#[tokio::test]
async fn limits_from_the_users_file_and_roost_user_quota_shows_usage() {
    let server = limited(1000);
    let run = |args: &[&str]| roost_cli("user", &server.config, args);
    let changed = run(&["quota", USER, "--messages", "2", "--storage-kib", "none"]);
    assert!(changed.contains("quota of alice changed"), "{changed}");
    let mut c = Client::logged_in(&server).await;
    // The server reads the changed users file within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    c.append("INBOX", "", &sample_message(1)).await;
    c.append("INBOX", "", &sample_message(2)).await;
    let over = sample_message(3);
    let refused = c
        .command("a3", &format!("APPEND INBOX {{{}+}}\r\n{over}", over.len()))
        .await;
    assert!(refused[0].starts_with("a3 NO [OVERQUOTA]"), "{refused:?}");
    let kib = (sample_message(1).len() + sample_message(2).len()).div_ceil(1024);
    let shown = run(&["quota", USER]);
    assert_eq!(
        shown.trim(),
        format!(
            "alice: storage {kib} KiB of no limit, messages 2 of 2 (limits from the users file)"
        )
    );
    run(&["quota", USER, "--default"]);
    assert!(run(&["quota", USER])
        .contains("messages 2 of 1000 (limits from the configuration's [quota])"));
}

/// 20 clients APPEND, COPY and EXPUNGE into one account with a tight quota: afterwards the
/// usage equals what the mailboxes hold, no OK took the account past its limit, and the
/// count of what was acknowledged adds up.
#[tokio::test]
async fn twenty_concurrent_writers_never_pass_the_limit_and_usage_stays_exact() {
    const LIMIT: u64 = 150;
    let server = limited(LIMIT as i64);
    let mut tasks = Vec::new();
    for w in 0..20u32 {
        let mut c = Client::logged_in(&server).await;
        tasks.push(tokio::spawn(async move {
            let folder = ["INBOX", "Archive", "Sent"][w as usize % 3];
            c.ok(&format!("SELECT {folder}")).await;
            let (mut appended, mut refused) = (0u64, 0u64);
            for i in 0..15u32 {
                let m = sample_message(w * 100 + i);
                let lines = c
                    .command("a", &format!("APPEND {folder} {{{}+}}\r\n{m}", m.len()))
                    .await;
                let last = lines.last().unwrap();
                if last.starts_with("a OK") {
                    appended += 1;
                } else {
                    assert!(last.starts_with("a NO [OVERQUOTA]"), "{last}");
                    refused += 1;
                }
                match i % 5 {
                    // Copies into another mailbox count against the quota too.
                    2 => {
                        let copy = c.command("c", "UID COPY 1:3 Drafts").await;
                        let last = copy.last().unwrap();
                        assert!(
                            last.starts_with("c OK") || last.starts_with("c NO [OVERQUOTA]"),
                            "{last}"
                        );
                    }
                    4 => {
                        c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)").await;
                        c.ok("EXPUNGE").await;
                    }
                    _ => {}
                }
            }
            (appended, refused)
        }));
    }
    let (mut appended, mut refused) = (0, 0);
    for task in tasks {
        let (a, r) = task.await.unwrap();
        appended += a;
        refused += r;
    }
    assert!(refused > 0, "the limit was never reached");
    println!("20 writers: {appended} APPENDs stored, {refused} refused [OVERQUOTA]");

    let mut c = Client::logged_in(&server).await;
    let (mut messages, mut bytes) = (0u64, 0u64);
    for folder in ["INBOX", "Archive", "Sent", "Drafts", "Trash", "Junk"] {
        let status = c.ok(&format!("STATUS {folder} (MESSAGES SIZE)")).await;
        let numbers: Vec<u64> = status[0]
            .split(['(', ')', ' '])
            .filter_map(|w| w.trim().parse().ok())
            .collect();
        messages += numbers[0];
        bytes += numbers[1];
    }
    assert!(messages <= LIMIT, "{messages} messages held, limit {LIMIT}");
    let lines = c.ok("GETQUOTAROOT INBOX").await;
    assert_eq!(
        lines[1],
        format!("* QUOTA #user/alice (MESSAGE {messages} {LIMIT})\r\n")
    );
    // STORAGE is not limited here, so SETQUOTA-free accounting of octets shows in STATUS
    // SIZE only; check it against a storage limit set now (the admin's report counts it).
    let mut a = admin(&server).await;
    let set = a
        .ok(&format!(
            "SETQUOTA #user/alice (STORAGE 100000 MESSAGE {LIMIT})"
        ))
        .await;
    assert_eq!(
        set[0],
        format!(
            "* QUOTA #user/alice (STORAGE {} 100000 MESSAGE {messages} {LIMIT})\r\n",
            bytes.div_ceil(1024)
        )
    );
}

/// Two nodes: writers on both append into one account whose owner is node-a; the owner
/// counts for both, so the limit holds and both nodes report the same usage.
#[tokio::test]
async fn in_a_cluster_the_owner_counts_for_writers_on_every_node() {
    const LIMIT: u64 = 40;
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let limit = |config: &mut toml::Table| {
        table(config, "quota").insert("messages".into(), (LIMIT as i64).into());
    };
    let a = Server::start_node(data.path(), "node-a", &redis, limit);
    let b = Server::start_node(data.path(), "node-b", &redis, limit);
    Client::logged_in(&a).await.ok("SELECT INBOX").await; // node-a takes the account
    let mut tasks = Vec::new();
    for w in 0..6u32 {
        let mut c = Client::logged_in(if w % 2 == 0 { &a } else { &b }).await;
        tasks.push(tokio::spawn(async move {
            let mut stored = 0u64;
            for i in 0..10 {
                let m = sample_message(w * 100 + i);
                let lines = c
                    .command("a", &format!("APPEND Archive {{{}+}}\r\n{m}", m.len()))
                    .await;
                let last = lines.last().unwrap();
                if last.starts_with("a OK") {
                    stored += 1;
                } else {
                    assert!(last.starts_with("a NO [OVERQUOTA]"), "{last}");
                }
            }
            stored
        }));
    }
    let mut stored = 0;
    for task in tasks {
        stored += task.await.unwrap();
    }
    assert_eq!(stored, LIMIT);
    for node in [&a, &b] {
        let mut c = Client::logged_in(node).await;
        let lines = c.ok("GETQUOTAROOT Archive").await;
        assert_eq!(
            lines[1],
            format!("* QUOTA #user/alice (MESSAGE {LIMIT} {LIMIT})\r\n")
        );
    }
}

/// Real sizes: 10,000 messages in INBOX and 500 folders holding one message each, a limit
/// set after a restart (so every mailbox is counted from its files, none from an actor):
/// GETQUOTA is exact, and the limit holds for the next APPEND into any folder.
#[tokio::test]
async fn ten_thousand_messages_and_five_hundred_folders_are_counted_exactly() {
    let mut server = limited(1_000_000);
    let mut c = Client::logged_in(&server).await;
    c.seed("INBOX", 10_000).await;
    let mut command = String::new();
    for f in 0..500 {
        command.push_str(&format!("c{f} CREATE box{f:03}\r\n"));
    }
    c.send(command).await;
    c.until_tagged("c499").await;
    for f in 0..500 {
        c.append(&format!("box{f:03}"), "", &sample_message(f))
            .await;
    }
    server.restart();
    let mut a = admin(&server).await;
    let set = a.ok("SETQUOTA \"#user/alice\" (MESSAGE 10500)").await;
    assert_eq!(set[0], "* QUOTA #user/alice (MESSAGE 10500 10500)\r\n");
    let mut c = Client::logged_in(&server).await;
    let over = sample_message(1);
    let refused = c
        .command("a", &format!("APPEND box250 {{{}+}}\r\n{over}", over.len()))
        .await;
    assert!(refused[0].starts_with("a NO [OVERQUOTA]"), "{refused:?}");
}
