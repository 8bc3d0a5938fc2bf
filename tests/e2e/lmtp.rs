//! Mail delivery over LMTP (RFC 2033): Python's smtplib.LMTP as the client
//! (tests/lmtp/smtplib_client.py asserts every reply), IMAP to see what was stored.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::*;

fn lmtp_server(adjust: impl FnOnce(&mut toml::Table)) -> Server {
    Server::start_with(|c| {
        let listeners = c["listeners"].as_array_mut().unwrap();
        let mut lmtp = toml::Table::new();
        lmtp.insert("address".into(), "127.0.0.1:0".into());
        lmtp.insert("protocol".into(), "lmtp".into());
        listeners.push(toml::Value::Table(lmtp));
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
