//! AUTHENTICATE SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (issue 20) with Python's `scramp` as
//! the client: this test carries the IMAP and TLS, scramp makes and checks the SCRAM
//! messages. The channel-binding data comes from the test's own rustls connection
//! (`tls-exporter` via `export_keying_material`, which Python's `ssl` cannot do;
//! `tls-server-end-point` as the SHA-256 of the server's certificate), and is handed to
//! scramp as bytes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use tokio::net::TcpStream;

use crate::support::*;

/// The SCRAM client: prints client-first, reads server-first, prints client-final, reads
/// server-final and prints `verified` or `refused <why>`.
const SCRAMP_CLIENT: &str = r#"
import sys
import scramp.core
from scramp import ScramClient

# scramp 1.5 refuses tls-exporter only because Python's ssl module cannot export keying
# material; the test computes the value in Rust and hands it over as bytes.
scramp.core.CbName.SUPPORTED_TYPES = scramp.core.CbName.SUPPORTED_TYPES | {"tls-exporter"}
scramp.core.CbName.UNSUPPORTED_TYPES = frozenset()

mech, user, password = sys.argv[1:4]
cb = (sys.argv[4], bytes.fromhex(sys.argv[5])) if len(sys.argv) > 5 else None
client = ScramClient([mech], user, password, channel_binding=cb)
print(client.get_client_first(), flush=True)
client.set_server_first(sys.stdin.readline().strip())
print(client.get_client_final(), flush=True)
try:
    client.set_server_final(sys.stdin.readline().strip())
    print("verified", flush=True)
except Exception as e:
    print("refused", e, flush=True)
"#;

/// One scramp client process.
struct Scramp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Scramp {
    fn start(mechanism: &str, user: &str, password: &str, cb: Option<(&str, &[u8])>) -> Scramp {
        let mut command = Command::new("python3");
        command.args(["-c", SCRAMP_CLIENT, mechanism, user, password]);
        if let Some((name, data)) = cb {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            command.args([name, &hex]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with scramp (pip install scramp)");
        Scramp {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
        }
    }

    /// Gives scramp the server's message (if any) and returns its next line.
    fn next(&mut self, server: Option<&[u8]>) -> String {
        if let Some(message) = server {
            self.stdin.write_all(message).unwrap();
            self.stdin.write_all(b"\n").unwrap();
            self.stdin.flush().unwrap();
        }
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "scramp ended early");
        line.trim_end().to_owned()
    }
}

impl Drop for Scramp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How an exchange ended.
#[derive(Debug)]
struct Outcome {
    /// The server-first-message, when the server sent one.
    server_first: Option<String>,
    /// What scramp said of the server-final-message, when the server sent one.
    client_verdict: Option<String>,
    /// The tagged answer.
    tagged: String,
}

/// What the test does to the client-final-message before sending it.
type Tamper = fn(String) -> String;

/// Runs `AUTHENTICATE mechanism` with scramp's messages (SASL-IR), changed by `tamper`.
async fn authenticate(
    client: &mut Client,
    mechanism: &str,
    mut scramp: Scramp,
    tamper: Tamper,
) -> Outcome {
    let first = scramp.next(None);
    client
        .send(format!(
            "A AUTHENTICATE {mechanism} {}\r\n",
            B64.encode(&first)
        ))
        .await;
    let mut outcome = Outcome {
        server_first: None,
        client_verdict: None,
        tagged: String::new(),
    };
    let mut line = client.line().await;
    if let Some(challenge) = continuation(&line) {
        outcome.server_first = Some(String::from_utf8(challenge.clone()).unwrap());
        let last = tamper(scramp.next(Some(&challenge)));
        client.send(format!("{}\r\n", B64.encode(last))).await;
        line = client.line().await;
        if let Some(server_final) = continuation(&line) {
            outcome.client_verdict = Some(scramp.next(Some(&server_final)));
            client.send("\r\n").await;
            line = client.until_tagged("A").await.pop().unwrap();
        }
    }
    assert!(line.starts_with("A "), "{line}");
    outcome.tagged = line;
    outcome
}

fn continuation(line: &str) -> Option<Vec<u8>> {
    let data = line.strip_prefix("+ ")?.trim_end();
    Some(B64.decode(data).expect("base64 challenge"))
}

/// A TLS connection to the implicit-TLS port and its two channel bindings.
struct TlsClient {
    client: Client,
    exporter: Vec<u8>,
    end_point: Vec<u8>,
}

async fn connect_tls(server: &Server) -> TlsClient {
    let tcp = TcpStream::connect(server.imaps).await.unwrap();
    let tls = tls_connector(&server.cert_path())
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .expect("TLS handshake");
    let conn = tls.get_ref().1;
    let exporter = conn
        .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
        .unwrap();
    let leaf = &conn.peer_certificates().unwrap()[0];
    let end_point = ring::digest::digest(&ring::digest::SHA256, leaf)
        .as_ref()
        .to_vec();
    let mut client = Client::over(tls);
    client.line().await;
    TlsClient {
        client,
        exporter,
        end_point,
    }
}

async fn connect_plain(server: &Server) -> Client {
    let mut client = Client::connect(server.imap).await;
    client.line().await;
    client
}

/// No throttle delay, so failures answer at once.
fn server() -> Server {
    Server::start_with(|c| {
        table(table(c, "auth"), "throttle").insert("base_delay_ms".into(), 0.into());
    })
}

fn unchanged(message: String) -> String {
    message
}

fn assert_logged_in(outcome: &Outcome) {
    assert_eq!(
        outcome.client_verdict.as_deref(),
        Some("verified"),
        "{outcome:?}"
    );
    assert!(outcome.tagged.starts_with("A OK"), "{outcome:?}");
}

fn assert_failed(outcome: &Outcome, e: &str) {
    assert!(
        outcome.tagged.starts_with("A NO [AUTHENTICATIONFAILED]") && outcome.tagged.contains(e),
        "expected {e}: {outcome:?}"
    );
    assert_eq!(outcome.client_verdict, None, "{outcome:?}");
}

#[tokio::test]
async fn scram_logs_in_over_plain_tcp_and_tls_and_the_server_signature_verifies() {
    let server = server();
    let mut plain = connect_plain(&server).await;
    let caps = plain.command("C", "CAPABILITY").await.join("");
    assert!(caps.contains("AUTH=SCRAM-SHA-256 "), "{caps}");
    assert!(!caps.contains("SCRAM-SHA-256-PLUS"), "{caps}");
    let scramp = Scramp::start("SCRAM-SHA-256", USER, PASSWORD, None);
    assert_logged_in(&authenticate(&mut plain, "SCRAM-SHA-256", scramp, unchanged).await);
    // The session is authenticated.
    let select = plain.command("S", "SELECT INBOX").await;
    assert!(select.last().unwrap().starts_with("S OK"), "{select:?}");

    let mut tls = connect_tls(&server).await;
    let caps = tls.client.command("C", "CAPABILITY").await.join("");
    assert!(caps.contains("AUTH=SCRAM-SHA-256-PLUS"), "{caps}");
    let scramp = Scramp::start("SCRAM-SHA-256", USER, PASSWORD, None);
    assert_logged_in(&authenticate(&mut tls.client, "SCRAM-SHA-256", scramp, unchanged).await);
}

#[tokio::test]
async fn scram_plus_binds_to_tls_exporter_and_tls_server_end_point() {
    let server = server();
    for binding in ["tls-exporter", "tls-server-end-point"] {
        let mut tls = connect_tls(&server).await;
        let data = match binding {
            "tls-exporter" => tls.exporter.clone(),
            _ => tls.end_point.clone(),
        };
        let scramp = Scramp::start("SCRAM-SHA-256-PLUS", USER, PASSWORD, Some((binding, &data)));
        let outcome = authenticate(&mut tls.client, "SCRAM-SHA-256-PLUS", scramp, unchanged).await;
        assert_logged_in(&outcome);
    }
}

#[tokio::test]
async fn channel_binding_mismatches_and_downgrades_fail() {
    let server = server();
    // Data from another connection: what a man in the middle would present.
    let other = connect_tls(&server).await;
    for binding in ["tls-exporter", "tls-server-end-point"] {
        let mut tls = connect_tls(&server).await;
        let wrong = match binding {
            "tls-exporter" => other.exporter.clone(),
            _ => vec![0u8; 32],
        };
        let scramp = Scramp::start(
            "SCRAM-SHA-256-PLUS",
            USER,
            PASSWORD,
            Some((binding, &wrong)),
        );
        let outcome = authenticate(&mut tls.client, "SCRAM-SHA-256-PLUS", scramp, unchanged).await;
        assert_failed(&outcome, "e=channel-bindings-dont-match");
    }
    // A `y` client on TLS: it supports binding but believes the server does not, so
    // something removed -PLUS from the capabilities (RFC 5802 section 6).
    let mut tls = connect_tls(&server).await;
    let lines = tls
        .client
        .command(
            "A",
            &format!(
                "AUTHENTICATE SCRAM-SHA-256 {}",
                B64.encode("y,,n=alice,r=abcdef")
            ),
        )
        .await;
    assert!(
        lines
            .last()
            .unwrap()
            .contains("e=server-does-support-channel-binding"),
        "{lines:?}"
    );
    // Without TLS there is nothing to bind to: `y` is fine, -PLUS is refused.
    let mut plain = connect_plain(&server).await;
    let first = B64.encode("y,,n=alice,r=abcdef");
    plain
        .send(format!("A AUTHENTICATE SCRAM-SHA-256 {first}\r\n"))
        .await;
    let challenge = plain.line().await;
    assert!(challenge.starts_with("+ "), "{challenge}");
    plain.send("*\r\n").await;
    assert!(plain.line().await.starts_with("A BAD"));
    let lines = plain.command("B", "AUTHENTICATE SCRAM-SHA-256-PLUS").await;
    assert!(lines.last().unwrap().starts_with("B NO"), "{lines:?}");
    // An unknown binding type.
    let lines = tls
        .client
        .command(
            "B",
            &format!(
                "AUTHENTICATE SCRAM-SHA-256-PLUS {}",
                B64.encode("p=tls-unique,,n=alice,r=abc")
            ),
        )
        .await;
    assert!(
        lines
            .last()
            .unwrap()
            .contains("e=unsupported-channel-binding-type"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn wrong_password_unknown_user_and_user_without_keys_fail_alike() {
    let server = server();
    add_user(&server.config, "nokeys", "some password");
    strip_scram_keys(&server, "nokeys");
    let mut firsts = Vec::new();
    for (user, password) in [
        (USER, "wrong"),
        ("nobody", PASSWORD),
        ("nobody", PASSWORD),
        ("nokeys", "some password"),
    ] {
        let mut client = connect_plain(&server).await;
        let scramp = Scramp::start("SCRAM-SHA-256", user, password, None);
        let outcome = authenticate(&mut client, "SCRAM-SHA-256", scramp, unchanged).await;
        assert_failed(&outcome, "e=invalid-proof");
        firsts.push(outcome.server_first.unwrap());
    }
    // Same shape: a 16-byte salt and the configured iteration count for everybody, and an
    // unknown user's salt is the same each time, as a real user's is.
    let salt_and_count = |m: &str| m.split_once(",s=").unwrap().1.to_owned();
    for first in &firsts {
        let rest = salt_and_count(first);
        let (salt, count) = rest.split_once(",i=").unwrap();
        assert_eq!(B64.decode(salt).unwrap().len(), 16, "{first}");
        assert_eq!(count, "10000", "{first}");
    }
    assert_eq!(salt_and_count(&firsts[1]), salt_and_count(&firsts[2]));
    // The user without keys still logs in with PLAIN-style LOGIN.
    let mut client = connect_plain(&server).await;
    let lines = client.command("L", "LOGIN nokeys \"some password\"").await;
    assert!(lines.last().unwrap().starts_with("L OK"), "{lines:?}");
}

#[tokio::test]
async fn malformed_scram_messages_get_tagged_answers() {
    let server = server();
    let mut client = connect_plain(&server).await;
    // Not base64: the AUTHENTICATE line itself is bad.
    let lines = client.command("A", "AUTHENTICATE SCRAM-SHA-256 !!!").await;
    assert!(lines.last().unwrap().starts_with("A BAD"), "{lines:?}");
    // Missing attributes.
    for message in [
        "n,,r=abc",
        "n,,n=alice",
        "n,,n=a=2Xb,r=abc",
        "x",
        "n,,m=ext,n=alice,r=a",
    ] {
        let lines = client
            .command(
                "B",
                &format!("AUTHENTICATE SCRAM-SHA-256 {}", B64.encode(message)),
            )
            .await;
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("B NO [AUTHENTICATIONFAILED]") && last.contains("e="),
            "{message}: {lines:?}"
        );
    }
    // A client-final-message with another nonce, and one without a proof.
    let tampers: [Tamper; 2] = [
        |m| m.replacen(",r=", ",r=x", 1),
        |m| m.split(",p=").next().unwrap().to_owned(),
    ];
    for tamper in tampers {
        let scramp = Scramp::start("SCRAM-SHA-256", USER, PASSWORD, None);
        let outcome = authenticate(&mut client, "SCRAM-SHA-256", scramp, tamper).await;
        assert_failed(&outcome, "e=other-error");
    }
    // Without SASL-IR the server asks with an empty challenge; a cancel ends the exchange.
    client.send("C AUTHENTICATE SCRAM-SHA-256\r\n").await;
    assert_eq!(client.line().await, "+ \r\n");
    client.send("*\r\n").await;
    assert!(client.line().await.starts_with("C BAD"));
    // The connection still works.
    let scramp = Scramp::start("SCRAM-SHA-256", USER, PASSWORD, None);
    assert_logged_in(&authenticate(&mut client, "SCRAM-SHA-256", scramp, unchanged).await);
}

/// Rewrites the users file so `user` keeps only its argon2id hash, and waits until the
/// server has read the new file.
fn strip_scram_keys(server: &Server, user: &str) {
    let path = server.dir.path().join("data/users");
    let text = std::fs::read_to_string(&path).unwrap();
    let prefix = format!("{user}:");
    let stripped: String = text
        .lines()
        .map(|line| match line.strip_prefix(&prefix) {
            Some(rest) => format!("{prefix}{}\n", rest.split(' ').next().unwrap()),
            None => format!("{line}\n"),
        })
        .collect();
    assert_ne!(stripped, text, "the user had SCRAM keys");
    let loads = || {
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("users file loaded"))
            .count()
    };
    let before = loads();
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, stripped).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    // The server re-reads the file on a lookup at most once a second: poke it until it has.
    let deadline = Instant::now() + Duration::from_secs(10);
    while loads() == before {
        assert!(
            Instant::now() < deadline,
            "the server did not reload the users file"
        );
        std::thread::sleep(Duration::from_millis(100));
        poke(server);
    }
}

/// Makes the server look a user up without spending throttle budget: SCRAM's key lookup
/// happens at the client-first-message, and only a proof counts as an attempt.
fn poke(server: &Server) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(server.imap).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let first = B64.encode("n,,n=poke,r=abcdef");
    s.write_all(format!("P AUTHENTICATE SCRAM-SHA-256 {first}\r\n").as_bytes())
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !seen.windows(3).any(|w| w == b"\n+ ") {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
}
