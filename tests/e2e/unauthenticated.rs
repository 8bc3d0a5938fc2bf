//! Connections that have not logged in cost little and end at the login deadline, whatever
//! they send (issue 18).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{table, Client, Server, PASSWORD, USER};

fn with_login_deadline(secs: i64) -> Server {
    Server::start_with(|config| {
        let limits = table(config, "limits");
        limits.insert("timeout_unauthenticated_secs".into(), secs.into());
        limits.insert("max_connections_per_ip".into(), 500.into());
        limits.insert("max_unauthenticated_per_ip".into(), 500.into());
    })
}

#[actix_rt::test]
async fn only_small_literals_before_login_and_large_ones_after() {
    let server = Server::start();
    let mut client = Client::connect(server.imap).await;
    client.line().await;
    // Refused before the client sends the data: no `+`.
    client.send("a LOGIN alice {9000}\r\n").await;
    let refused = client.line().await;
    assert!(refused.starts_with("a BAD [TOOBIG]"), "{refused}");
    // A literal within the limit (a password) is fine.
    client
        .send(format!("b LOGIN {USER} {{{}}}\r\n", PASSWORD.len()))
        .await;
    assert!(client.line().await.starts_with("+ "));
    client.send(format!("{PASSWORD}\r\n")).await;
    assert!(client.line().await.starts_with("b OK"));
    // Logged in: messages of a megabyte go through.
    let message = format!("Subject: big\r\n\r\n{}\r\n", "y".repeat(1 << 20));
    client
        .send(format!("c APPEND INBOX {{{}}}\r\n", message.len()))
        .await;
    assert!(client.line().await.starts_with("+ "));
    client.send(format!("{message}\r\n")).await;
    let appended = client.line().await;
    assert!(appended.starts_with("c OK [APPENDUID"), "{appended}");
}

/// A connection that announces a huge literal and then trickles bytes, one every 300 ms.
async fn trickle(addr: std::net::SocketAddr, n: usize) -> Duration {
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let announce = if n.is_multiple_of(2) {
        "t LOGIN alice {60000000}\r\n".to_owned() // synchronizing: refused at once
    } else {
        "t LOGIN alice {60000000+}\r\n".to_owned() // non-synchronizing: discarded as it comes
    };
    let _ = tcp.write_all(announce.as_bytes()).await;
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = tcp.read(&mut buf) => match read {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(300)) => {
                let _ = tcp.write_all(b"x").await;
            }
        }
    }
}

#[actix_rt::test]
async fn trickling_unauthenticated_connections_cost_little_and_end_at_the_login_deadline() {
    let server = with_login_deadline(3);
    let before = server.rss_kib();
    let addr = server.imap;
    let tasks: Vec<_> = (0..100).map(|n| tokio::spawn(trickle(addr, n))).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let grown = server.rss_kib().saturating_sub(before);
    let mut lasted = Vec::new();
    for task in tasks {
        lasted.push(task.await.unwrap());
    }
    assert!(grown < 16 * 1024, "100 connections hold {grown} KiB");
    let longest = lasted.iter().max().unwrap();
    assert!(
        *longest < Duration::from_secs(8),
        "trickling kept a connection for {longest:?} past a 3 s login deadline"
    );
    assert!(
        lasted.iter().all(|d| *d >= Duration::from_millis(2500)),
        "closed before the deadline: {lasted:?}"
    );
    // Logging in is still possible for everyone else.
    let mut client = Client::logged_in(&server).await;
    client.ok("NOOP").await;
}

#[actix_rt::test]
async fn the_login_deadline_ends_a_session_with_a_bye() {
    let server = with_login_deadline(2);
    let mut client = Client::connect(server.imap).await;
    client.line().await;
    for _ in 0..3 {
        client.ok("NOOP").await;
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let bye = client.line().await;
    assert!(bye.starts_with("* BYE "), "{bye}");
    client.expect_closed().await.unwrap();
}

#[actix_rt::test]
async fn a_client_streaming_a_huge_literal_fast_still_ends_at_the_login_deadline() {
    let server = with_login_deadline(2);
    let started = Instant::now();
    let mut tcp = TcpStream::connect(server.imap).await.unwrap();
    tcp.write_all(b"t LOGIN alice {4000000000+}\r\n")
        .await
        .unwrap();
    let junk = vec![b'x'; 64 * 1024];
    // Sends as fast as the server takes it; the server discards it and must still close.
    while tcp.write_all(&junk).await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still connected long after the deadline"
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(1500));
}
