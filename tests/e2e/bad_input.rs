//! Hostile and broken clients: each gets a documented answer, the server stays up, and other
//! clients keep working.

use std::time::Duration;

use crate::support::*;

async fn logged_in(server: &Server) -> Client {
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.login().await;
    c
}

#[tokio::test]
async fn garbage_and_unknown_commands_get_bad_and_the_connection_survives() {
    let server = Server::start();
    let mut c = logged_in(&server).await;
    c.send(b"\x00\xff\xfe garbage\r\n").await;
    assert!(c.line().await.starts_with("* BAD "));
    assert!(c.command("a1", "FROBNICATE now").await[0].starts_with("a1 BAD "));
    assert!(c.command("a2", "NOOP extra").await[0].starts_with("a2 BAD "));
    assert_eq!(c.command("a3", "NOOP").await, ["a3 OK NOOP completed\r\n"]);
}

#[tokio::test]
async fn too_many_bad_commands_before_login_end_the_connection() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    for i in 0..9 {
        assert!(c.command(&format!("b{i}"), "HELO example.com").await[0].contains(" BAD "));
    }
    c.send("b9 HELO example.com\r\n").await;
    assert!(c.line().await.starts_with("b9 BAD "));
    assert_eq!(c.line().await, "* BYE Too many invalid commands\r\n");
    c.expect_closed().await.unwrap();
}

#[tokio::test]
async fn a_one_megabyte_line_is_refused_and_the_next_command_works() {
    let server = Server::start();
    let mut c = logged_in(&server).await;
    let mut line = b"a1 NOOP ".to_vec();
    line.resize(1024 * 1024, b'x');
    line.extend_from_slice(b"\r\n");
    c.send(&line).await;
    let answer = c.line().await;
    assert!(answer.starts_with("a1 BAD "), "{answer}");
    assert_eq!(c.command("a2", "NOOP").await, ["a2 OK NOOP completed\r\n"]);
}

#[tokio::test]
async fn a_literal_announced_at_4_gb_is_refused_before_it_is_sent() {
    let server = Server::start();
    let mut c = logged_in(&server).await;
    c.send("a1 APPEND INBOX {4294967296}\r\n").await;
    let answer = c.line().await;
    assert!(answer.starts_with("a1 BAD [TOOBIG] "), "{answer}");
    assert_eq!(c.command("a2", "NOOP").await, ["a2 OK NOOP completed\r\n"]);
    // A non-synchronizing one is refused at once (RFC 7888 section 4, choice 1); the server
    // then discards what the client sends, without buffering it.
    c.send("a3 APPEND INBOX {4294967296+}\r\n").await;
    assert!(c.line().await.starts_with("a3 BAD [TOOBIG] "));
    let before = server.rss_kib();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..32 {
        c.send(&chunk).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "server grew by {grown} KiB while discarding"
    );
    let mut other = logged_in(&server).await;
    assert_eq!(
        other.command("o1", "NOOP").await,
        ["o1 OK NOOP completed\r\n"]
    );
}

#[tokio::test]
async fn commands_in_the_wrong_state_are_refused_and_change_nothing() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    assert!(c.command("a1", "IDLE").await[0].starts_with("a1 BAD IDLE is not valid before login"));
    assert!(c.command("a2", "FETCH 1 FLAGS").await[0]
        .starts_with("a2 BAD FETCH is not valid before login"));
    c.login().await;
    assert!(c.command("a3", "FETCH 1 FLAGS").await[0]
        .starts_with("a3 BAD FETCH needs a selected mailbox"));
    assert!(c.command("a4", "AUTHENTICATE PLAIN").await[0]
        .starts_with("a4 BAD AUTHENTICATE is not valid after login"));
    assert_eq!(c.command("a5", "NOOP").await, ["a5 OK NOOP completed\r\n"]);
}

#[tokio::test]
async fn a_client_that_never_reads_cannot_grow_the_server_or_hurt_others() {
    let server = Server::start();
    let mut greedy = logged_in(&server).await;
    // Logged in before measuring: a password check alone takes argon2's 19 MiB.
    let mut other = logged_in(&server).await;
    let before = server.rss_kib();
    // Pipeline ~40 MB of answers without reading any of them.
    let batch = "c CAPABILITY\r\n".repeat(10_000);
    let flood = tokio::spawn(async move {
        for _ in 0..100 {
            if tokio::time::timeout(Duration::from_secs(2), greedy.send(batch.as_bytes()))
                .await
                .is_err()
            {
                break; // TCP back-pressure: the server stopped reading from us.
            }
        }
        greedy
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        other.command("o1", "NOOP").await,
        ["o1 OK NOOP completed\r\n"]
    );
    let greedy = flood.await.unwrap();
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "server grew by {grown} KiB for a client that does not read"
    );
    drop(greedy);
}

#[tokio::test]
async fn a_thousand_connections_from_one_address_are_capped_and_others_still_work() {
    let server = Server::start();
    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..1000 {
        let mut c = Client::connect(server.imap).await;
        let greeting = c.line().await;
        if greeting.starts_with("* BYE Too many connections from your address are logging in") {
            refused += 1;
        } else {
            assert!(greeting.starts_with("* OK "), "{greeting}");
            open.push(c);
        }
    }
    assert_eq!(
        open.len(),
        10,
        "default limit of connections logging in per address"
    );
    assert_eq!(refused, 990);
    let last = open.last_mut().unwrap();
    last.login().await;
    assert_eq!(last.command("n", "NOOP").await, ["n OK NOOP completed\r\n"]);
}
