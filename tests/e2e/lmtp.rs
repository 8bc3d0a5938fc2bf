//! Mail delivery over LMTP (RFC 2033): Python's smtplib.LMTP as the client
//! (tests/lmtp/smtplib_client.py asserts every reply), IMAP to see what was stored.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::*;

/// Adds an LMTP listener on a free loopback port to a configuration.
pub fn with_lmtp_listener(c: &mut toml::Table) {
    let listeners = c["listeners"].as_array_mut().unwrap();
    let mut lmtp = toml::Table::new();
    lmtp.insert("address".into(), "127.0.0.1:0".into());
    lmtp.insert("protocol".into(), "lmtp".into());
    listeners.push(toml::Value::Table(lmtp));
}

fn lmtp_server(adjust: impl FnOnce(&mut toml::Table)) -> Server {
    Server::start_with(|c| {
        with_lmtp_listener(c);
        let settings = table(c, "lmtp");
        settings.insert("domains".into(), vec!["test.example"].into());
        settings.insert("max_recipients".into(), 2.into());
        adjust(c);
    })
}

/// Runs one scenario of the smtplib client; panics with its output when it fails.
async fn smtplib(addr: SocketAddr, scenario: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lmtp/smtplib_client.py");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3")
            .arg(script)
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .arg(scenario)
            .output(),
    )
    .await
    .expect("the LMTP client finishes")
    .unwrap();
    assert!(
        out.status.success(),
        "{scenario}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `UID -> whole message` of every message in `mailbox`.
async fn messages(c: &mut Client, mailbox: &str) -> Vec<String> {
    c.ok(&format!("EXAMINE {mailbox}")).await;
    let lines = c.ok("FETCH 1:* (BODY.PEEK[])").await;
    lines
        .split(|l| l.starts_with("* ") && l.contains(" FETCH "))
        .skip(1)
        .map(|parts| parts.concat())
        .collect()
}

#[tokio::test]
async fn lmtp_replies_follow_rfc_2033_and_every_accepted_recipient_gets_the_message() {
    let server = lmtp_server(|_| {});
    let lmtp = server.lmtp.expect("an LMTP listener");
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE lists").await;
    for scenario in [
        "codes",
        "too_many_recipients",
        "oversized",
        "deliver",
        "pipelined",
        "bdat",
        "duplicate",
    ] {
        smtplib(lmtp, scenario).await;
    }
    let inbox = messages(&mut c, "INBOX").await;
    let subjects: Vec<&str> = inbox
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("Subject: ")))
        .collect();
    assert_eq!(
        subjects,
        [
            "Subject: LMTP 1",
            "Subject: LMTP 10",
            "Subject: LMTP 11",
            "Subject: LMTP 12",
            "Subject: LMTP 20",
            "Subject: LMTP 30"
        ],
        "{inbox:#?}"
    );
    let first = &inbox[0];
    assert!(
        first.contains("Return-Path: <sender@test.example>\r\n"),
        "{first}"
    );
    assert!(
        first.contains("Delivered-To: alice@test.example\r\n"),
        "{first}"
    );
    // Dot-stuffing undone: the line starts with one dot, as the sender wrote it.
    assert!(first.contains("\r\n.leading dot line\r\n"), "{first}");
    // `alice+lists` went to the folder `lists`.
    let lists = messages(&mut c, "lists").await;
    assert_eq!(lists.len(), 1, "{lists:#?}");
    assert!(lists[0].contains("Delivered-To: alice+lists@test.example\r\n"));
    let (_, metrics) = http_get(server.http(), "/metrics").await;
    assert!(
        metrics.contains("roost_lmtp_deliveries_total{result=\"duplicate\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_idle_client_sees_a_delivery_at_once() {
    let server = lmtp_server(|_| {});
    let mut c = Client::logged_in(&server).await;
    c.ok("SELECT INBOX").await;
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    smtplib(server.lmtp.unwrap(), "bdat").await;
    assert_eq!(c.line().await, "* 1 EXISTS\r\n");
}

#[tokio::test]
async fn lmtp_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("lmtp.sock");
    let path = socket.clone();
    let server = lmtp_server(move |c| {
        table(c, "lmtp").insert("socket".into(), path.display().to_string().into());
    });
    let stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write
        .write_all(
            b"LHLO mx\r\nMAIL FROM:<s@test.example>\r\nRCPT TO:<alice@test.example>\r\nDATA\r\n\
              Subject: over a socket\r\n\r\nhi\r\n.\r\nQUIT\r\n",
        )
        .await
        .unwrap();
    let mut replies = Vec::new();
    let mut line = String::new();
    while read.read_line(&mut line).await.unwrap() > 0 {
        if !line.starts_with("250-") {
            replies.push(line[..3].to_owned());
        }
        line.clear();
    }
    assert_eq!(replies, ["220", "250", "250", "250", "354", "250", "221"]);
    let mut c = Client::logged_in(&server).await;
    let status = c.ok("STATUS INBOX (MESSAGES)").await;
    assert_eq!(status, ["* STATUS INBOX (MESSAGES 1)\r\n"]);
}

#[tokio::test]
async fn a_retry_finds_the_copy_already_in_the_mailbox_without_the_nodes_memory() {
    // The node's duplicate memory off: only the mailbox itself can tell.
    let server = lmtp_server(|c| {
        table(c, "lmtp").insert("duplicate_window_secs".into(), 0.into());
    });
    smtplib(server.lmtp.unwrap(), "duplicate").await;
    let mut c = Client::logged_in(&server).await;
    let status = c.ok("STATUS INBOX (MESSAGES)").await;
    assert_eq!(status, ["* STATUS INBOX (MESSAGES 1)\r\n"]);
}

/// One LMTP delivery to alice of message `n`, as an MTA makes it: the final reply's code, or
/// `None` when the connection failed (the MTA then retries).
pub async fn lmtp_deliver(addr: SocketAddr, n: u32) -> Option<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let message = format!(
        "Subject: storm {n}\r\nMessage-ID: <storm-{n}@test.example>\r\n\r\nbody {n}\r\n.\r\n"
    );
    let request = format!(
        "LHLO mx\r\nMAIL FROM:<s@test.example>\r\nRCPT TO:<alice@test.example>\r\nDATA\r\n{message}QUIT\r\n"
    );
    write.write_all(request.as_bytes()).await.ok()?;
    let mut replies = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let read = tokio::time::timeout(Duration::from_secs(30), read.read_line(&mut line)).await;
        match read {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
        if !line.starts_with("250-") {
            replies.push(line[..3].parse::<u16>().ok()?);
        }
    }
    // 220, LHLO, MAIL, RCPT, DATA (354), then the recipient's reply.
    replies.get(5).copied()
}

#[tokio::test]
async fn kill_9_of_the_owner_during_a_delivery_storm_loses_and_doubles_nothing() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, with_lmtp_listener);
    let b = Server::start_node(data.path(), "node-b", &redis, with_lmtp_listener);
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await; // node-a owns alice's account
    let into_b = b.lmtp.unwrap();
    // Deliveries into node-b, which hands them to node-a; node-a dies midway.
    let storm = tokio::spawn(async move {
        let mut accepted = Vec::new();
        for n in 0..60u32 {
            // An MTA keeps a message until it gets 250, retrying after 4xx or a lost connection.
            let started = tokio::time::Instant::now();
            loop {
                match lmtp_deliver(into_b, n).await {
                    Some(250) => break,
                    Some(code) if code >= 500 => panic!("message {n} refused with {code}"),
                    _ => {
                        assert!(
                            started.elapsed() < Duration::from_secs(60),
                            "message {n} never delivered"
                        );
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            accepted.push(n);
        }
        accepted
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = a.pid();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let accepted = storm.await.unwrap();
    assert_eq!(accepted.len(), 60);
    let mut c = Client::logged_in(&b).await;
    c.ok("SELECT INBOX").await;
    let lines = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])").await;
    let mut subjects: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("Subject: storm "))
        .map(|n| n.trim_end().parse().unwrap())
        .collect();
    subjects.sort_unstable();
    let expected: Vec<u32> = (0..60).collect();
    assert_eq!(subjects, expected, "every message exactly once");
    drop(a);
}

#[tokio::test]
async fn a_delivery_the_cluster_cannot_place_gets_a_temporary_451_and_nothing_is_stored() {
    let mut redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let node = Server::start_node(data.path(), "node-a", &redis, with_lmtp_listener);
    // Without Redis no node may take the account: the MTA must keep the message and retry.
    redis.stop();
    assert_eq!(lmtp_deliver(node.lmtp.unwrap(), 1).await, Some(451));
    redis.restart();
    let started = std::time::Instant::now();
    loop {
        match lmtp_deliver(node.lmtp.unwrap(), 1).await {
            Some(250) => break,
            other => assert!(
                started.elapsed() < Duration::from_secs(30),
                "never delivered after Redis came back: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut c = Client::logged_in(&node).await;
    let status = c.ok("STATUS INBOX (MESSAGES)").await;
    assert_eq!(status, ["* STATUS INBOX (MESSAGES 1)\r\n"]);
}

/// Writes `input` to the LMTP listener and returns every reply code until the server closes.
async fn lmtp_raw(addr: SocketAddr, input: &[u8]) -> Vec<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(input).await.unwrap();
    let mut codes = Vec::new();
    let mut line = String::new();
    while tokio::time::timeout(Duration::from_secs(20), read.read_line(&mut line))
        .await
        .expect("the server answers or closes")
        .unwrap()
        > 0
    {
        if !line.starts_with("250-") {
            codes.push(line[..3].parse().unwrap());
        }
        line.clear();
    }
    codes
}

#[tokio::test]
async fn bare_line_feeds_are_stored_as_crlf_and_never_end_the_message() {
    let server = lmtp_server(|_| {});
    // `\n.\n` is not the end of the data (RFC 5321 section 4.1.1.4: only CRLF.CRLF is), so a
    // second message cannot be smuggled inside the first.
    let input = b"LHLO mx\r\nMAIL FROM:<s@test.example>\r\nRCPT TO:<alice@test.example>\r\nDATA\r\n\
        Subject: bare\nMessage-ID: <bare@test.example>\n\nline one\n.\nMAIL FROM:<x@test.example>\nline three\r\n.\r\nQUIT\r\n";
    let codes = lmtp_raw(server.lmtp.unwrap(), input).await;
    assert_eq!(codes, [220, 250, 250, 250, 354, 250, 221]);
    let mut c = Client::logged_in(&server).await;
    let stored = messages(&mut c, "INBOX").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        stored[0].contains("Subject: bare\r\nMessage-ID: <bare@test.example>\r\n\r\nline one\r\n\r\nMAIL FROM:<x@test.example>\r\nline three\r\n"),
        "{:?}",
        stored[0]
    );
}

#[tokio::test]
async fn a_silent_client_is_told_421_after_the_timeout() {
    let server = lmtp_server(|c| {
        table(c, "lmtp").insert("timeout_secs".into(), 1.into());
    });
    let started = std::time::Instant::now();
    let codes = lmtp_raw(
        server.lmtp.unwrap(),
        b"LHLO mx\r\nMAIL FROM:<s@test.example>\r\n",
    )
    .await;
    assert_eq!(codes, [220, 250, 250, 421]);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn messages_being_received_wait_on_disk_not_in_memory() {
    let server = lmtp_server(|_| {});
    let addr = server.lmtp.unwrap();
    let before = server.rss_kib();
    // Ten MTAs each in the middle of a 16 MiB message (no end yet): 160 MiB received.
    const SIZE: usize = 16 << 20;
    let line = [b"x".repeat(998), b"\r\n".to_vec()].concat();
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"LHLO mx\r\nMAIL FROM:<s@test.example>\r\nRCPT TO:<alice@test.example>\r\nDATA\r\n")
            .await
            .unwrap();
        let mut sent = 0;
        while sent < SIZE {
            stream.write_all(&line.repeat(64)).await.unwrap();
            sent += line.len() * 64;
        }
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown_mib = server.rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 64,
        "160 MiB of messages in progress grew the server by {grown_mib} MiB"
    );
    drop(held);
}
