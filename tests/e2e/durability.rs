//! A tagged OK means the change survives `kill -9` of the server a moment later.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn acknowledged_appends_and_stores_survive_kill_9_at_random_moments() {
    let mut server = Server::start();
    let mut acknowledged: Vec<(u32, String, bool)> = Vec::new();
    let mut seed = 0x2545_f491_u64;
    for round in 0..8 {
        let mut c = Client::logged_in(&server).await;
        c.ok("SELECT INBOX").await;
        // Work until the server is killed under us, recording only what was acknowledged.
        let killer_delay = Duration::from_millis(50 + (xorshift(&mut seed) % 250));
        let pid = server.pid();
        let killer = tokio::spawn(async move {
            tokio::time::sleep(killer_delay).await;
            std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
        });
        let mut n = 0;
        loop {
            n += 1;
            let message = sample_message(round * 1000 + n);
            let sent = c
                .try_command(
                    "a",
                    &format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()),
                )
                .await;
            let Some(lines) = sent else { break };
            let last = lines.last().unwrap().clone();
            assert!(last.starts_with("a OK [APPENDUID "), "{lines:?}");
            let uid: u32 = last
                .split_whitespace()
                .nth(4)
                .unwrap()
                .trim_end_matches(']')
                .parse()
                .unwrap();
            acknowledged.push((uid, message, false));
            let flagged = c
                .try_command("s", &format!("UID STORE {uid} +FLAGS.SILENT (\\Flagged)"))
                .await;
            match flagged {
                Some(lines) if lines.last().unwrap().starts_with("s OK") => {
                    acknowledged.last_mut().unwrap().2 = true
                }
                Some(lines) => panic!("{lines:?}"),
                None => break,
            }
        }
        killer.await.unwrap();
        server.restart();
    }
    assert!(
        acknowledged.len() > 8,
        "the test did some work: {}",
        acknowledged.len()
    );
    let mut c = Client::logged_in(&server).await;
    c.ok("EXAMINE INBOX").await;
    for (uid, message, flagged) in &acknowledged {
        let lines = c.ok(&format!("UID FETCH {uid} (FLAGS BODY.PEEK[])")).await;
        let joined = lines.concat();
        assert!(
            joined.contains(message.as_str()),
            "UID {uid} lost or changed: {lines:?}"
        );
        if *flagged {
            assert!(
                joined.contains("\\Flagged"),
                "UID {uid} lost its flag: {lines:?}"
            );
        }
    }
    // No half-present message: every message in the mailbox is one that was sent whole.
    let all = c.ok("FETCH 1:* (RFC822.SIZE)").await;
    assert!(all.len() >= acknowledged.len());
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Mail is private: every file under the data directory is 0600 and every directory 0700,
/// whatever umask the server was started with.
#[tokio::test]
async fn mail_files_are_readable_by_the_server_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.append("INBOX", "", &sample_message(1)).await;
    c.ok("CREATE Projects").await;
    let config: toml::Table = std::fs::read_to_string(&server.config)
        .unwrap()
        .parse()
        .unwrap();
    let data = std::path::PathBuf::from(config["data_dir"].as_str().unwrap());
    let mut stack = vec![data.join("accounts")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                seen += 1;
                assert_eq!(
                    meta.permissions().mode() & 0o777,
                    0o600,
                    "{}",
                    path.display()
                );
            }
        }
    }
    assert!(seen > 3, "only {seen} files looked at");
}

/// Issue 19, finding 8: one flipped bit in a mailbox log used to cut it there and delete the
/// message files the shorter log no longer listed (20 messages became 5). Now the records
/// after the damage are read again and the unlisted message is re-added: all 20 are there.
#[tokio::test]
async fn a_flipped_bit_in_a_mailbox_log_loses_no_acknowledged_message() {
    let (mut server, messages) = killed_after_appending(20).await;
    let log = inbox_log(&server);
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[189] ^= 0x10;
    std::fs::write(&log, &bytes).unwrap();
    server.restart();

    let mut c = Client::logged_in(&server).await;
    let select = c.ok("EXAMINE INBOX").await;
    assert!(
        select.iter().any(|l| l.trim_end() == "* 20 EXISTS"),
        "{select:?}"
    );
    let all = c.ok("FETCH 1:* (FLAGS BODY.PEEK[])").await.concat();
    for message in &messages {
        assert!(all.contains(message.as_str()), "lost: {message}");
    }
    // The re-added message is marked, and recovery says what it did.
    assert!(all.contains("$Recovered"), "{all}");
    assert!(server.wait_for_log(&["WARN", "records after it recovered"]));
    let metrics = scrape(&server).await;
    assert_eq!(
        metrics.get("roost_store_recovery_total", &[("action", "relisted")]),
        1.0
    );
    assert_eq!(
        metrics.get("roost_store_recovery_total", &[("action", "damaged")]),
        1.0
    );
}

/// Issue 19, finding 8: one damaged message file fails FETCH for that message only. A damaged
/// `.meta` is parsed again from the message; an unreadable message is left out, the others
/// are sent, and the tagged NO [CORRUPTION] names it (RFC 9051 sections 6.4.5 and 7.1).
#[tokio::test]
async fn a_damaged_message_file_fails_fetch_for_that_message_only() {
    let (mut server, messages) = killed_after_appending(3).await;
    let mut blobs: Vec<std::path::PathBuf> = find_blobs(&data_dir(&server).join("accounts"));
    // Oldest first: the blob files of UIDs 1, 2, 3.
    blobs.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    assert_eq!(blobs.len(), 3, "{blobs:?}");
    // UID 2's message cannot be read (a directory where the file was: EISDIR).
    std::fs::remove_file(&blobs[1]).unwrap();
    std::fs::create_dir(&blobs[1]).unwrap();
    // UID 3's metadata is garbage.
    std::fs::write(blobs[2].with_extension("meta"), b"garbage").unwrap();
    server.restart();

    let mut c = Client::logged_in(&server).await;
    c.ok("EXAMINE INBOX").await;
    let lines = c.command("f", "FETCH 1:3 (UID ENVELOPE BODY.PEEK[])").await;
    let all = lines.concat();
    assert!(all.contains(messages[0].as_str()), "{all}");
    assert!(all.contains(messages[2].as_str()), "{all}");
    assert!(
        all.contains("\"Message 3\""),
        "envelope from the message: {all}"
    );
    assert!(!all.contains("* 2 FETCH"), "{all}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("f NO [CORRUPTION] cannot read the stored message of UID 2;"),
        "{last}"
    );
    // The mailbox stays usable: the other messages are fetched and searched as usual.
    // The other messages are fetched as usual; a search that would need the unreadable one
    // says so rather than answer without it.
    let third = c.ok("UID FETCH 3 (BODYSTRUCTURE)").await.concat();
    assert!(
        third.contains("BODYSTRUCTURE (\"TEXT\" \"PLAIN\""),
        "{third}"
    );
    let search = c.command("s", "SEARCH BODY \"message 3\"").await;
    assert!(
        search
            .last()
            .unwrap()
            .starts_with("s NO [CORRUPTION] cannot read a stored message"),
        "{search:?}"
    );
}

/// `roost fsck` refuses while the node runs, then checks and repairs offline, says what it
/// did, and the node finds every message afterwards.
#[tokio::test]
async fn roost_fsck_repairs_offline_says_what_it_did_and_refuses_while_a_node_runs() {
    let (mut server, messages) = killed_after_appending(6).await;
    let fsck = |server: &Server| {
        roost_command("fsck")
            .arg("--config")
            .arg(&server.config)
            .args(["--user", "alice"])
            .stdout(std::process::Stdio::piped())
            .output()
            .unwrap()
    };
    let log = inbox_log(&server);
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&log, &bytes).unwrap();
    let blob = find_blobs(&data_dir(&server).join("accounts")).remove(0);
    std::fs::write(blob.with_extension("meta"), b"garbage").unwrap();

    let done = fsck(&server);
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(said.contains("INBOX: recovered"), "{said}");
    assert!(said.contains("records after it recovered"), "{said}");
    assert!(said.contains("written again from the message"), "{said}");
    assert!(said.contains("6 messages checked"), "{said}");
    // A second run finds nothing left to do.
    let again = fsck(&server);
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("no problems found"), "{said}");

    server.restart();
    let mut c = Client::logged_in(&server).await;
    c.ok("EXAMINE INBOX").await;
    let all = c.ok("FETCH 1:* (ENVELOPE BODY.PEEK[])").await.concat();
    for message in &messages {
        assert!(all.contains(message.as_str()), "lost: {message}");
    }
    let refused = fsck(&server);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("in use by roost serve") && why.contains("offline"),
        "{why}"
    );
}

/// Issue 19, finding 8: one bit at byte 200 of an account log took 21 mailbox directories
/// to 3. Now every mailbox is still there, with its mail: listed under its name when the
/// record survived, as `Recovered/M<id>` when it did not.
#[tokio::test]
async fn a_flipped_bit_in_an_account_log_keeps_every_mailbox_and_its_mail() {
    let mut server = Server::start();
    let mut c = Client::logged_in(&server).await;
    for i in 1..=15 {
        c.ok(&format!("CREATE Folder{i}")).await;
        c.append(&format!("Folder{i}"), "", &sample_message(i))
            .await;
    }
    drop(c);
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10));
    let accounts = data_dir(&server).join("accounts");
    let account_log = accounts.join("alice/log.0");
    let mut bytes = std::fs::read(&account_log).unwrap();
    bytes[200] ^= 0x04;
    std::fs::write(&account_log, &bytes).unwrap();
    server.restart();

    let mut c = Client::logged_in(&server).await;
    let listed = c.ok("LIST \"\" \"*\"").await;
    assert!(listed.len() >= 21, "{listed:?}");
    let names: Vec<String> = listed
        .iter()
        .map(|l| {
            l.trim_end()
                .rsplit(' ')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_owned()
        })
        .collect();
    // Every message is in some listed mailbox.
    let mut found = String::new();
    for name in &names {
        c.ok(&format!("EXAMINE \"{name}\"")).await;
        found.push_str(&c.ok("UID FETCH 1:* (BODY.PEEK[])").await.concat());
    }
    for i in 1..=15 {
        assert!(
            found.contains(&sample_message(i)),
            "message {i} lost: {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.starts_with("Recovered/")),
        "{names:?}"
    );
}

/// A server whose INBOX got `count` sample messages, one APPEND each, then `kill -9`.
async fn killed_after_appending(count: u32) -> (Server, Vec<String>) {
    let mut server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let messages: Vec<String> = (1..=count).map(sample_message).collect();
    for message in &messages {
        c.append("INBOX", "\\Seen", message).await;
    }
    drop(c);
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10));
    (server, messages)
}

/// The log of the only mailbox with mail (the largest `log.0`).
fn inbox_log(server: &Server) -> std::path::PathBuf {
    find_files(&data_dir(server).join("accounts"), "log.0")
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

fn data_dir(server: &Server) -> std::path::PathBuf {
    let config: toml::Table = std::fs::read_to_string(&server.config)
        .unwrap()
        .parse()
        .unwrap();
    std::path::PathBuf::from(config["data_dir"].as_str().unwrap())
}

/// Message files (32 hex digits, no suffix) under `dir`.
fn find_blobs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            found.extend(find_blobs(&path));
        } else if name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            found.push(path);
        }
    }
    found
}

fn find_files(dir: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(find_files(&path, name));
        } else if entry.file_name() == name {
            found.push(path);
        }
    }
    found
}
