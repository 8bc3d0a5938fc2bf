//! SIGTERM: every session, in every state, gets `* BYE` and a clean close; exit 0.

use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test]
async fn sigterm_says_bye_to_200_sessions_in_mixed_states_and_exits_zero() {
    let mut server = Server::start_with(|c| {
        let limits = table(c, "limits");
        limits.insert("max_connections_per_ip".into(), 1000.into());
        limits.insert("max_unauthenticated_per_ip".into(), 1000.into());
    });
    let cert = server.cert_path();
    let mut clients = Vec::new();
    for i in 0..200 {
        // Every other connection uses implicit TLS, so close_notify is checked too.
        let mut c = if i % 2 == 0 {
            Client::connect(server.imap).await
        } else {
            Client::connect_tls(server.imaps, &cert).await
        };
        c.line().await;
        match i % 4 {
            0 => {} // Not Authenticated
            1 => c.login().await,
            2 => {
                c.login().await;
                c.send("i IDLE\r\n").await;
                assert_eq!(c.line().await, "+ idling\r\n");
            }
            _ => {
                c.send("s AUTHENTICATE PLAIN\r\n").await;
                assert_eq!(c.line().await, "+ \r\n");
            }
        }
        clients.push(c);
    }
    let started = Instant::now();
    server.signal("TERM");
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(
            c.line().await,
            "* BYE Server shutting down\r\n",
            "session {i}"
        );
        c.expect_closed()
            .await
            .unwrap_or_else(|e| panic!("session {i} was not closed cleanly: {e}"));
    }
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "drain took {:?}",
        started.elapsed()
    );
    assert!(server.wait_for_log(&["all sessions closed"]));
}

#[tokio::test]
async fn sigint_with_no_sessions_exits_zero() {
    let mut server = Server::start();
    server.signal("INT");
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}
