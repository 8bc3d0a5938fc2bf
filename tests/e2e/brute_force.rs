//! Password guessing and login floods (issue 20): the throttle charges before argon2 runs,
//! refused attempts cost nothing, and the real user gets in quickly however busy the
//! attackers keep the server.
//!
//! Attackers connect from other loopback addresses (127.0.0.0/8), so the throttle and the
//! connection limits see them as other clients than the real user at 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::support::*;

const VERIFICATIONS: &str = "roost_auth_verifications_total";

fn loopback(a: u8, b: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, a, b))
}

/// A server with `[auth.throttle]` and `[auth]`/`[limits]` keys set as given.
fn server_with(throttle: &[(&str, i64)], auth: &[(&str, i64)], limits: &[(&str, i64)]) -> Server {
    Server::start_with(|c| {
        let t = table(table(c, "auth"), "throttle");
        for (k, v) in throttle {
            t.insert((*k).into(), (*v).into());
        }
        let a = table(c, "auth");
        for (k, v) in auth {
            a.insert((*k).into(), (*v).into());
        }
        let l = table(c, "limits");
        for (k, v) in limits {
            l.insert((*k).into(), (*v).into());
        }
    })
}

async fn verifications(server: &Server) -> f64 {
    scrape(server).await.get(VERIFICATIONS, &[])
}

/// Logs in as the real user on a new connection from 127.0.0.1; returns how long LOGIN took.
async fn real_login(server: &Server) -> Duration {
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    let started = Instant::now();
    let lines = c
        .command("r1", &format!("LOGIN {USER} \"{PASSWORD}\""))
        .await;
    let took = started.elapsed();
    assert!(lines.last().unwrap().starts_with("r1 OK"), "{lines:?}");
    c.command("r2", "LOGOUT").await;
    took
}

#[tokio::test]
async fn a_login_literal_is_refused_before_the_continuation_when_plaintext_login_is_disabled() {
    let server = Server::start_with(|c| {
        table(c, "auth").insert("loopback_is_secure".into(), false.into());
    });
    let mut c = Client::connect(server.imap).await;
    assert!(c.line().await.contains("LOGINDISABLED"));
    c.send(format!("a1 LOGIN {USER} {{{}}}\r\n", PASSWORD.len()))
        .await;
    // No `+`: the client must not send the password in the clear.
    assert_eq!(
        c.line().await,
        "a1 NO [PRIVACYREQUIRED] Plaintext login is disabled: use STARTTLS or the implicit TLS port first\r\n"
    );
    assert_eq!(c.command("a2", "NOOP").await, ["a2 OK NOOP completed\r\n"]);
    // Other commands' literals still get their continuation.
    c.send("a3 ID (\"name\" {4}\r\n").await;
    assert!(c.line().await.starts_with("+ "));
    c.send("test)\r\n").await;
    let id = c.until_tagged("a3").await;
    assert!(id.last().unwrap().starts_with("a3 OK"), "{id:?}");
    // After STARTTLS the same literal is welcome.
    c.command("a4", "STARTTLS").await;
    c.start_tls(&server.cert_path()).await;
    c.send(format!("a5 LOGIN {USER} {{{}}}\r\n", PASSWORD.len()))
        .await;
    assert!(c.line().await.starts_with("+ "));
    c.send(format!("{PASSWORD}\r\n")).await;
    assert!(c
        .until_tagged("a5")
        .await
        .last()
        .unwrap()
        .starts_with("a5 OK"));
}

#[tokio::test]
async fn three_failed_logins_close_the_connection() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    for tag in ["a1", "a2"] {
        let lines = c.command(tag, &format!("LOGIN {USER} wrong")).await;
        assert!(lines[0].contains("NO [AUTHENTICATIONFAILED]"), "{lines:?}");
    }
    c.send("a3 LOGIN nobody wrong\r\n").await;
    assert_eq!(
        c.line().await,
        "a3 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(c.line().await, "* BYE Too many failed logins\r\n");
    c.expect_closed().await.unwrap();
}

#[tokio::test]
async fn cancelled_authenticate_exchanges_count_as_bad_commands() {
    let server = server_with(&[], &[], &[("max_bad_commands_unauthenticated", 3)]);
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    for n in 1..=3 {
        c.send(format!("c{n} AUTHENTICATE PLAIN\r\n")).await;
        assert_eq!(c.line().await, "+ \r\n");
        c.send("*\r\n").await;
        assert_eq!(
            c.line().await,
            format!("c{n} BAD AUTHENTICATE cancelled\r\n")
        );
    }
    assert_eq!(c.line().await, "* BYE Too many invalid commands\r\n");
    c.expect_closed().await.unwrap();
}

/// Connections over the per-address cap on connections that have not logged in are closed
/// at once (no TLS handshake on the implicit-TLS port) and counted.
#[tokio::test]
async fn connections_over_the_login_cap_are_closed_at_once_and_counted() {
    let server = server_with(&[], &[], &[("max_unauthenticated_per_ip", 3)]);
    let attacker = loopback(0, 2);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = Client::connect_from(server.imap, attacker).await;
        assert!(c.line().await.starts_with("* OK "));
        held.push(c);
    }
    let mut refused = Client::connect_from(server.imap, attacker).await;
    assert_eq!(
        refused.line().await,
        "* BYE Too many connections from your address are logging in, try again later\r\n"
    );
    refused.expect_closed().await.unwrap();
    // The implicit-TLS port: a refused connection is closed before any handshake, so a client
    // that sends nothing sees the close at once, not after the 15 s handshake timeout.
    let started = Instant::now();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(attacker, 0)).unwrap();
    let mut tls = socket.connect(server.imaps).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(
        ANSWER_TIMEOUT,
        tokio::io::AsyncReadExt::read(&mut tls, &mut buf),
    )
    .await
    .expect("closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "held for {:?}",
        started.elapsed()
    );
    let metrics = scrape(&server).await;
    assert_eq!(
        metrics.get(
            "roost_connections_refused_total",
            &[("reason", "address_unauthenticated_full")]
        ),
        2.0
    );
    // Other addresses are not affected, and a connection that logs in frees its place.
    real_login(&server).await;
    held[0].login().await;
    // The I/O task frees the place right after it wrote the OK; wait for that.
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let mut again = Client::connect_from(server.imap, attacker).await;
        if again.line().await.starts_with("* OK ") {
            break;
        }
        assert!(Instant::now() < deadline, "logging in did not free a place");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Issue 20's attacker: from one address, several connections at a time, each sending a
/// LOGIN and hanging up 0.5 s later without waiting for the answer. The throttle admits each
/// attempt as a pending failure before argon2 runs, so once the budget is spent the attacker
/// gets at most one verification per penalty step (the quiet period), however fast it
/// abandons. (Its very first wave, from a then clean address, may run one per connection.)
#[tokio::test]
async fn an_attacker_abandoning_each_login_gets_one_verification_per_penalty_step() {
    const BUDGET: i64 = 3;
    const STEP_SECS: i64 = 2;
    const RUN: Duration = Duration::from_secs(12);
    const WORKERS: u32 = 4;
    let server = server_with(
        &[
            ("max_failures", BUDGET),
            ("quiet_period_secs", STEP_SECS),
            ("base_delay_ms", 1000),
        ],
        &[],
        &[],
    );
    let imap = server.imap;
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        workers.push(tokio::spawn(async move {
            let mut sent = 0u32;
            while started.elapsed() < RUN {
                let mut c = Client::connect_from(imap, loopback(0, 2)).await;
                c.line().await;
                c.send(format!("g LOGIN {USER} guess-{worker}-{sent}\r\n"))
                    .await;
                sent += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
                drop(c);
            }
            sent
        }));
    }
    let mut sent = 0;
    for w in workers {
        sent += w.await.unwrap();
    }
    let elapsed = started.elapsed();
    // Abandoned attempts still in flight finish or are dropped; none can start later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let metrics = scrape(&server).await;
    let verified = metrics.get(VERIFICATIONS, &[]);
    let steps = (elapsed.as_secs_f64() / STEP_SECS as f64).ceil();
    eprintln!(
        "abandoning attacker: {sent} attempts in {elapsed:.1?}, {verified} verified \
         ({:.2}/s; budget {BUDGET}, first wave {WORKERS}, one per {STEP_SECS} s step after)",
        verified / elapsed.as_secs_f64()
    );
    assert!(sent >= 40, "the attacker only sent {sent} attempts");
    assert!(
        verified <= (BUDGET + i64::from(WORKERS)) as f64 + steps,
        "{verified} verifications for {sent} attempts in {elapsed:?}"
    );
    assert!(metrics.get("roost_auth_refusals_total", &[("reason", "address")]) > 0.0);
    // The real user, from an address with no failures, is not locked out.
    real_login(&server).await;
}

/// Refused attempts are answered `NO [UNAVAILABLE]` and run no argon2, even with the right
/// password; another address is not affected.
#[tokio::test]
async fn refused_attempts_run_no_verification() {
    let server = server_with(
        &[
            ("max_failures", 2),
            ("quiet_period_secs", 600),
            ("base_delay_ms", 0),
        ],
        &[],
        &[],
    );
    let attacker = loopback(0, 3);
    let mut c = Client::connect_from(server.imap, attacker).await;
    c.line().await;
    for tag in ["a1", "a2"] {
        let lines = c.command(tag, &format!("LOGIN {USER} wrong")).await;
        assert!(lines[0].contains("NO [AUTHENTICATIONFAILED]"), "{lines:?}");
    }
    assert_eq!(verifications(&server).await, 2.0);
    let refused = c
        .command("a3", &format!("LOGIN {USER} \"{PASSWORD}\""))
        .await;
    assert_eq!(
        refused[0],
        "a3 NO [UNAVAILABLE] Too many failed logins from your address, try again in 600 s\r\n"
    );
    assert_eq!(c.line().await, "* BYE Too many failed logins\r\n");
    let mut c = Client::connect_from(server.imap, attacker).await;
    c.line().await;
    let refused = c.command("b1", "AUTHENTICATE PLAIN AGFsaWNlAHg=").await;
    assert!(refused[0].starts_with("b1 NO [UNAVAILABLE]"), "{refused:?}");
    let metrics = scrape(&server).await;
    for (series, labels, expected) in [
        (VERIFICATIONS, &[][..], 2.0),
        ("roost_auth_attempts_total", &[], 4.0),
        ("roost_auth_refusals_total", &[("reason", "address")], 2.0),
        ("roost_auth_failures_total", &[("reason", "throttled")], 2.0),
    ] {
        assert_eq!(metrics.get(series, labels), expected, "{series} {labels:?}");
    }
    real_login(&server).await;
    assert_eq!(verifications(&server).await, 3.0);
}

/// A user who logs in again and again costs one argon2 run, until the password changes.
#[tokio::test]
async fn repeated_logins_come_from_the_cache_until_the_password_changes() {
    let server = Server::start();
    real_login(&server).await;
    real_login(&server).await;
    real_login(&server).await;
    let metrics = scrape(&server).await;
    assert_eq!(metrics.get(VERIFICATIONS, &[]), 1.0);
    assert_eq!(
        metrics.get("roost_auth_cache_total", &[("result", "hit")]),
        2.0
    );
    // `roost user passwd` rewrites the users file; the cached login no longer counts.
    let mut child = std::process::Command::new(roost_bin())
        .args(["user", "--config"])
        .arg(&server.config)
        .args(["passwd", USER, "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "battery staple").unwrap();
    }
    assert!(child.wait().unwrap().success());
    // The server notices the change within a second or so.
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let mut c = Client::connect(server.imap).await;
        c.line().await;
        let lines = c
            .command("p", &format!("LOGIN {USER} \"{PASSWORD}\""))
            .await;
        if lines[0].starts_with("p NO [AUTHENTICATIONFAILED]") {
            break;
        }
        assert!(Instant::now() < deadline, "the old password still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    let lines = c
        .command("n", &format!("LOGIN {USER} \"battery staple\""))
        .await;
    assert!(lines[0].starts_with("n OK"), "{lines:?}");
}

/// Issue 20's flood: 60 connections from 60 addresses send wrong logins as fast as they are
/// answered (no budget or delay to slow them), keeping every verification slot busy, while
/// the real user logs in once a second. Attempts from an address that logged in before and
/// has no recent failures go ahead of the queue, so the real user's logins stay fast. The
/// cache is off: every one of them pays for a full argon2 run.
#[tokio::test]
async fn a_flood_of_wrong_logins_does_not_hold_up_the_real_user() {
    const RUN: Duration = Duration::from_secs(15);
    let server = server_with(
        &[("max_failures", 1_000_000), ("base_delay_ms", 0)],
        &[("cache_size", 0)],
        &[],
    );
    // The real user has logged in from this address before the flood starts (which also
    // creates the account's mailboxes on disk, not what is measured here).
    real_login(&server).await;
    let imap = server.imap;
    let started = Instant::now();
    let mut attackers = Vec::new();
    for n in 0..60u8 {
        attackers.push(tokio::spawn(async move {
            let mut tries = 0u32;
            while started.elapsed() < RUN {
                let mut c = Client::connect_from(imap, loopback(1, n + 1)).await;
                c.line().await;
                // Three failures, then the server says BYE; connect again.
                for _ in 0..3 {
                    if started.elapsed() >= RUN {
                        break;
                    }
                    tries += 1;
                    if c.try_command("f", &format!("LOGIN user{n} wrong{tries}"))
                        .await
                        .is_none()
                    {
                        break;
                    }
                }
            }
            tries
        }));
    }
    // Let the flood fill the queue before measuring.
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while scrape(&server).await.get("roost_auth_verify_queue", &[]) < 10.0 {
        assert!(Instant::now() < deadline, "the flood never queued");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = verifications(&server).await;
    let mut took = Vec::new();
    while started.elapsed() < RUN {
        let tick = Instant::now();
        took.push(real_login(&server).await);
        tokio::time::sleep(Duration::from_secs(1).saturating_sub(tick.elapsed())).await;
    }
    let flood_verified = verifications(&server).await - before - took.len() as f64;
    let mut tries = 0;
    for a in attackers {
        tries += a.await.unwrap();
    }
    took.sort();
    let p99 = took[(took.len() * 99).div_ceil(100) - 1];
    eprintln!(
        "flood: {tries} wrong logins, {flood_verified} verified while the real user logged in \
         {} times: median {:?}, p99 {p99:?}",
        took.len(),
        took[took.len() / 2]
    );
    assert!(took.len() >= 5, "only {} real logins", took.len());
    assert!(
        flood_verified >= 2.0 * took.len() as f64,
        "the flood did not keep the verifier busy ({flood_verified} verifications)"
    );
    assert!(
        p99 < Duration::from_secs(1),
        "real user's login p99 {p99:?}: {took:?}"
    );
}
