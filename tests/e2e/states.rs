//! RFC 9051 section 3: every greeting and transition, with the exact bytes on the wire.

use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::*;

#[tokio::test]
async fn greeting_1_ok_with_capabilities_leads_to_not_authenticated() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    assert_eq!(
        c.line().await,
        format!("* OK [CAPABILITY {GREETING_CAPS}] Roost IMAP4rev2 server ready\r\n")
    );
    // Not Authenticated: mailbox commands are refused with a reason, the state is unchanged.
    assert_eq!(
        c.command("a1", "SELECT INBOX").await,
        ["a1 BAD SELECT is not valid before login: log in first\r\n"]
    );
    assert_eq!(c.command("a2", "NOOP").await, ["a2 OK NOOP completed\r\n"]);
    c.login().await;
}

#[tokio::test]
async fn greeting_2_preauth_on_a_trusted_listener_leads_to_authenticated() {
    let server = Server::start_with(|c| {
        let mut l = toml::Table::new();
        l.insert("address".into(), "127.0.0.1:0".into());
        l.insert("tls".into(), "none".into());
        l.insert("preauth_user".into(), USER.into());
        c.get_mut("listeners")
            .unwrap()
            .as_array_mut()
            .unwrap()
            .push(l.into());
    });
    let mut c = Client::connect(server.preauth[0]).await;
    assert_eq!(
        c.line().await,
        format!("* PREAUTH [CAPABILITY {LOGGED_IN_CAPS}] Logged in as {USER}\r\n")
    );
    assert_eq!(
        c.command("a1", "LOGIN x y").await,
        ["a1 BAD LOGIN is not valid after login: already authenticated\r\n"]
    );
    assert_eq!(
        c.command("a2", "ENABLE IMAP4rev2").await,
        ["* ENABLED IMAP4rev2\r\n", "a2 OK ENABLE completed\r\n"]
    );
}

#[tokio::test]
async fn greeting_2_preauth_over_stdin_and_stdout_for_ssh_tunnels() {
    let server = Server::start();
    let mut child = tokio::process::Command::new(roost_bin())
        .args(["imap", "--user", USER, "--config"])
        .arg(&server.config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).await.unwrap();
    assert_eq!(
        line,
        format!("* PREAUTH [CAPABILITY {LOGGED_IN_CAPS}] Logged in as {USER}\r\n")
    );
    stdin.write_all(b"t1 LOGOUT\r\n").await.unwrap();
    let mut rest = String::new();
    for _ in 0..2 {
        stdout.read_line(&mut rest).await.unwrap();
    }
    assert_eq!(rest, "* BYE Logging out\r\nt1 OK LOGOUT completed\r\n");
    let status = tokio::time::timeout(ANSWER_TIMEOUT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn stdio_session_for_an_unknown_user_is_refused() {
    let server = Server::start();
    let out = Command::new(roost_bin())
        .args(["imap", "--user", "nobody", "--config"])
        .arg(&server.config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));
}

#[tokio::test]
async fn greeting_3_bye_when_the_address_has_too_many_connections() {
    let server = Server::start_with(|c| {
        table(c, "limits").insert("max_connections_per_ip".into(), 2.into());
    });
    let mut first = Client::connect(server.imap).await;
    let mut second = Client::connect(server.imap).await;
    first.line().await;
    second.line().await;
    let mut third = Client::connect(server.imap).await;
    assert_eq!(
        third.line().await,
        "* BYE Too many connections from your address\r\n"
    );
    third.expect_closed().await.unwrap();
    // Closing one frees a slot.
    first.command("x", "LOGOUT").await;
    first.expect_closed().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = Client::connect(server.imap).await;
    assert!(fourth.line().await.starts_with("* OK [CAPABILITY"));
}

#[tokio::test]
async fn transition_4_login_returns_new_capabilities() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    let lines = c
        .command("a1", &format!("LOGIN {USER} \"{PASSWORD}\""))
        .await;
    assert_eq!(
        lines,
        [format!("a1 OK [CAPABILITY {LOGGED_IN_CAPS}] Logged in\r\n")]
    );
    assert_eq!(
        c.command("a2", "CAPABILITY").await,
        [
            format!("* CAPABILITY {LOGGED_IN_CAPS}\r\n"),
            "a2 OK CAPABILITY completed\r\n".to_owned()
        ]
    );
}

#[tokio::test]
async fn transition_4_fails_with_authenticationfailed_for_bad_password_and_unknown_user() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    assert_eq!(
        c.command("a1", &format!("LOGIN {USER} wrong")).await,
        ["a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"]
    );
    assert_eq!(
        c.command("a2", "LOGIN nobody wrong").await,
        ["a2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"]
    );
    // Still Not Authenticated.
    assert_eq!(
        c.command("a3", "ENABLE IMAP4rev2").await,
        ["a3 BAD ENABLE is not valid before login: log in first\r\n"]
    );
}

#[tokio::test]
async fn transition_4_authenticate_plain_with_and_without_initial_response() {
    use base64::Engine;
    let server = Server::start();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    // SASL-IR (RFC 4959).
    let ir = b64(&format!("\0{USER}\0{PASSWORD}"));
    let lines = c.command("a1", &format!("AUTHENTICATE PLAIN {ir}")).await;
    assert_eq!(
        lines,
        [format!("a1 OK [CAPABILITY {LOGGED_IN_CAPS}] Logged in\r\n")]
    );

    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.send("a2 AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(c.line().await, "+ \r\n");
    c.send(format!(
        "{}\r\n",
        b64(&format!("{USER}\0{USER}\0{PASSWORD}"))
    ))
    .await;
    assert_eq!(
        c.until_tagged("a2").await,
        [format!("a2 OK [CAPABILITY {LOGGED_IN_CAPS}] Logged in\r\n")]
    );
}

#[tokio::test]
async fn authenticate_login_mechanism_and_cancel() {
    use base64::Engine;
    let server = Server::start();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.send("a1 AUTHENTICATE LOGIN\r\n").await;
    assert_eq!(c.line().await, format!("+ {}\r\n", b64("Username:")));
    c.send(format!("{}\r\n", b64(USER))).await;
    assert_eq!(c.line().await, format!("+ {}\r\n", b64("Password:")));
    c.send(format!("{}\r\n", b64(PASSWORD))).await;
    assert_eq!(
        c.until_tagged("a1").await,
        [format!("a1 OK [CAPABILITY {LOGGED_IN_CAPS}] Logged in\r\n")]
    );

    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.send("a2 AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(c.line().await, "+ \r\n");
    c.send("*\r\n").await;
    assert_eq!(
        c.until_tagged("a2").await,
        ["a2 BAD AUTHENTICATE cancelled\r\n"]
    );
    assert_eq!(
        c.command("a3", "AUTHENTICATE CRAM-MD5").await,
        ["a3 NO unsupported authentication mechanism CRAM-MD5\r\n"]
    );
}

#[tokio::test]
async fn plaintext_login_from_an_untrusted_address_is_disabled_until_starttls() {
    let server = Server::start_with(|c| {
        table(c, "auth").insert("loopback_is_secure".into(), false.into());
    });
    let mut c = Client::connect(server.imap).await;
    let greeting = c.line().await;
    assert!(greeting.contains("STARTTLS LOGINDISABLED]"), "{greeting}");
    assert!(!greeting.contains("AUTH="), "{greeting}");
    assert_eq!(c.command("a1", &format!("LOGIN {USER} \"{PASSWORD}\"")).await, [
        "a1 NO [PRIVACYREQUIRED] Plaintext login is disabled: use STARTTLS or the implicit TLS port first\r\n"
    ]);
    // Anything pipelined after STARTTLS in plaintext must be discarded, not executed in TLS.
    c.send("a2 STARTTLS\r\na3 LOGOUT\r\n").await;
    assert_eq!(c.line().await, "a2 OK Begin TLS negotiation now\r\n");
    c.start_tls(&server.cert_path()).await;
    let lines = c.command("a4", "CAPABILITY").await;
    assert_eq!(lines[0], format!("* CAPABILITY {BASE_CAPS} {TLS_AUTH}\r\n"));
    assert_eq!(lines[1], "a4 OK CAPABILITY completed\r\n");
    assert_eq!(
        c.command("a5", "STARTTLS").await,
        ["a5 BAD TLS is already active\r\n"]
    );
    c.login().await;
}

#[tokio::test]
async fn implicit_tls_greets_and_allows_login() {
    let server = Server::start_with(|c| {
        table(c, "auth").insert("loopback_is_secure".into(), false.into());
    });
    let mut c = Client::connect_tls(server.imaps, &server.cert_path()).await;
    let greeting = c.line().await;
    let caps = format!("{BASE_CAPS} {TLS_AUTH}");
    assert_eq!(
        greeting,
        format!("* OK [CAPABILITY {caps}] Roost IMAP4rev2 server ready\r\n")
    );
    c.login().await;
    c.command("z", "LOGOUT").await;
    c.expect_closed()
        .await
        .expect("clean TLS close (close_notify)");
}

/// RFC 8437: UNAUTHENTICATE from Selected goes back to Not Authenticated (its transition 7):
/// the mailbox is left without an expunge, ENABLEd extensions are forgotten, and an
/// AUTHENTICATE pipelined right behind it is read in the new state.
#[tokio::test]
async fn unauthenticate_returns_to_not_authenticated_with_every_state_reset() {
    use base64::Engine;
    let server = Server::start();
    let mut c = Client::logged_in_rev2(&server).await;
    c.append("INBOX", "\\Deleted", "Subject: kept\r\n\r\nbody\r\n")
        .await;
    let rev2 = c.ok("SELECT INBOX").await;
    assert!(!rev2.iter().any(|l| l.ends_with("RECENT\r\n")), "{rev2:?}");
    assert_eq!(
        c.command("u1", "UNAUTHENTICATE").await,
        ["u1 OK UNAUTHENTICATE completed\r\n"]
    );
    let refused = c.command("u2", "SELECT INBOX").await;
    assert!(refused[0].starts_with("u2 BAD"), "{refused:?}");
    let caps = c.ok("CAPABILITY").await.concat();
    assert!(
        caps.contains(" AUTH=PLAIN") && !caps.contains("UNAUTHENTICATE"),
        "{caps}"
    );
    // UNAUTHENTICATE and AUTHENTICATE with SASL-IR in one write (section 3's pipelining).
    c.login().await;
    let ir = base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0{PASSWORD}"));
    c.send(format!(
        "u3 UNAUTHENTICATE\r\nu4 AUTHENTICATE PLAIN {ir}\r\n"
    ))
    .await;
    let pipelined = c.until_tagged("u4").await;
    assert_eq!(pipelined[0], "u3 OK UNAUTHENTICATE completed\r\n");
    assert!(pipelined[1].starts_with("u4 OK"), "{pipelined:?}");
    c.ok("UNAUTHENTICATE").await;
    c.login().await;
    // IMAP4rev1 again (no ENABLE since): SELECT reports RECENT; the \Deleted message was
    // not expunged by leaving the mailbox.
    let rev1 = c.ok("SELECT INBOX").await;
    assert!(rev1.iter().any(|l| l == "* 0 RECENT\r\n"), "{rev1:?}");
    assert!(rev1.iter().any(|l| l == "* 1 EXISTS\r\n"), "{rev1:?}");
}

#[tokio::test]
async fn transition_7_logout_says_bye_then_ok_then_closes() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.login().await;
    assert_eq!(
        c.command("a9", "LOGOUT").await,
        ["* BYE Logging out\r\n", "a9 OK LOGOUT completed\r\n"]
    );
    c.expect_closed().await.unwrap();
}

#[tokio::test]
async fn enable_imap4rev2_and_id_and_unknown_enable_items() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.login().await;
    assert_eq!(
        c.command("e1", "ENABLE X-UNKNOWN CONDSTORE").await,
        ["* ENABLED CONDSTORE\r\n", "e1 OK ENABLE completed\r\n"]
    );
    assert_eq!(
        c.command("e2", "enable imap4rev2").await,
        ["* ENABLED imap4rev2\r\n", "e2 OK ENABLE completed\r\n"]
    );
    let id = c
        .command("i1", "ID (\"name\" \"test\" \"version\" \"1\")")
        .await;
    assert_eq!(
        id,
        [
            format!(
                "* ID (\"name\" \"Roost\" \"version\" \"{}\")\r\n",
                env!("CARGO_PKG_VERSION")
            ),
            "i1 OK ID completed\r\n".to_owned()
        ]
    );
}

#[tokio::test]
async fn idle_in_authenticated_state_sends_keepalives_and_ends_on_done() {
    let server = Server::start_with(|c| {
        table(c, "limits").insert("idle_keepalive_secs".into(), 1.into());
    });
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    c.login().await;
    c.send("i1 IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    assert_eq!(c.line().await, "* OK Still here\r\n");
    // DONE and the next command in one packet (iOS does this).
    c.send("DONE\r\ni2 NOOP\r\n").await;
    assert_eq!(
        c.until_tagged("i1").await.last().unwrap(),
        "i1 OK IDLE terminated\r\n"
    );
    assert_eq!(c.until_tagged("i2").await, ["i2 OK NOOP completed\r\n"]);
}

#[tokio::test]
async fn the_login_deadline_ends_with_bye() {
    let server = Server::start_with(|c| {
        table(c, "limits").insert("timeout_unauthenticated_secs".into(), 1.into());
    });
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    assert_eq!(
        c.line().await,
        "* BYE Login time is over; connect again to log in\r\n"
    );
    c.expect_closed().await.unwrap();
}

#[tokio::test]
async fn greeting_3_bye_for_a_refused_network() {
    let server = Server::start_with(|c| {
        let nets = toml::Value::Array(vec!["127.0.0.0/8".into()]);
        table(c, "limits").insert("refused_networks".into(), nets);
    });
    let mut c = Client::connect(server.imap).await;
    assert_eq!(
        c.line().await,
        "* BYE Connections from your address are not accepted\r\n"
    );
    c.expect_closed().await.unwrap();
}

/// SIGTERM while a command is in flight: that command completes, new connections are greeted
/// with `* BYE` while the node drains, then the busy session says BYE too.
#[tokio::test]
async fn greeting_3_bye_while_draining_and_in_flight_commands_finish() {
    let mut server = Server::start_with(|c| {
        let auth = table(c, "auth");
        let mut throttle = toml::Table::new();
        throttle.insert("base_delay_ms".into(), 3000.into());
        auth.insert("throttle".into(), throttle.into());
    });
    let mut busy = Client::connect(server.imap).await;
    busy.line().await;
    busy.command("a1", "LOGIN alice wrong").await; // the first failure costs nothing
    busy.send("a2 LOGIN alice wrong\r\n").await; // the second waits 3 s before answering
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server.signal("TERM");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut late = Client::connect(server.imap).await;
    assert_eq!(
        late.line().await,
        "* BYE Server is shutting down, try another node\r\n"
    );
    assert_eq!(
        busy.line().await,
        "a2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(busy.line().await, "* BYE Server shutting down\r\n");
    busy.expect_closed().await.unwrap();
    assert!(server
        .wait_exit(std::time::Duration::from_secs(15))
        .success());
}

/// `roost serve` with no configuration at all: IMAP+STARTTLS on 127.0.0.1:1143, IMAPS on
/// 127.0.0.1:1993, data in `./roost-data`, a generated certificate, and a demo user whose
/// password is printed once, after every listener is bound (the README's first command).
/// Its log on a pipe has no colour codes, and a client that sends an IP address as SNI (as
/// `openssl s_client -servername 127.0.0.1` does) draws no rustls warning.
#[tokio::test]
async fn serve_with_no_configuration_starts_a_working_server() {
    use std::io::BufRead;
    let cwd = tempfile::tempdir().unwrap();
    let mut child = roost_command("serve")
        .current_dir(cwd.path())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let deadline = std::time::Instant::now() + ANSWER_TIMEOUT;
    while std::time::Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(100)) else {
            continue;
        };
        log.push(line);
        if log.last().unwrap().contains("roost is ready") {
            break;
        }
    }
    let printed = log
        .iter()
        .position(|l| l.contains("with password '"))
        .expect("the demo user's password is printed");
    let password = log[printed]
        .split("with password '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_owned();
    assert!(log[printed].contains("roost user passwd demo"), "{log:#?}");
    let listening: Vec<usize> = (0..log.len())
        .filter(|&i| log[i].contains("listening"))
        .collect();
    assert_eq!(listening.len(), 3, "IMAP, IMAPS and HTTP: {log:#?}");
    assert!(listening.iter().all(|&i| i < printed), "{log:#?}");
    let mut c = Client::connect("127.0.0.1:1143".parse().unwrap()).await;
    assert!(c.line().await.starts_with("* OK [CAPABILITY "));
    let lines = c.command("l", &format!("LOGIN demo \"{password}\"")).await;
    assert!(lines[0].starts_with("l OK"), "{lines:?}");
    let cert = cwd.path().join("roost-data/tls/cert.pem");
    let mut t = Client::connect_tls("127.0.0.1:1993".parse().unwrap(), &cert).await;
    assert!(t.line().await.starts_with("* OK [CAPABILITY "));
    let s_client = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            "127.0.0.1:1993",
            "-servername",
            "127.0.0.1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .expect("openssl s_client runs");
    // The handshake was done (so the server has parsed the ClientHello and its SNI).
    let shown = String::from_utf8_lossy(&s_client.stdout);
    assert!(shown.contains("Server certificate"), "{shown}");
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    assert!(child.wait().unwrap().success());
    // The reader ends at end of file: every line the server wrote is now in the channel.
    log.extend(rx.iter());
    assert!(!log.iter().any(|l| l.contains('\x1b')), "{log:#?}");
    assert!(!log.iter().any(|l| l.contains("SNI")), "{log:#?}");
    assert!(log.iter().any(|l| l.contains("127.0.0.1:9143")), "{log:#?}");
}
