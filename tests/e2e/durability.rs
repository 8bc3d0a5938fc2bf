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
