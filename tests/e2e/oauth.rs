//! OAUTHBEARER (RFC 7628) and XOAUTH2 logins with JWTs signed by test keys: an RSA key made
//! by the openssl CLI and a P-256 key made by rcgen, published as a JWK set in a file or by
//! a small HTTPS server in the test (its certificate from the test CA, passed to the server
//! as `auth.oauth.jwks_ca_file`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::{cluster_ca, http_get, table, Client, Server, GREETING_CAPS, USER};

const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "roost-mail";

/// A signing key and its public half as a JWK.
struct TestKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    /// A 2048-bit RSA key from the openssl CLI (ring cannot generate RSA keys).
    fn rsa(dir: &Path, kid: &str) -> TestKey {
        let pem = dir.join(format!("{kid}.pem"));
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let path = pem.to_str().unwrap();
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            path,
        ]);
        let modulus = openssl(&["rsa", "-in", path, "-noout", "-modulus"]);
        let hex = modulus.trim().trim_start_matches("Modulus=");
        let n: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        TestKey {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(&std::fs::read(&pem).unwrap()).unwrap(),
            jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                        "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"}),
        }
    }

    /// A P-256 key from rcgen.
    fn ec(kid: &str) -> TestKey {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let point = key.public_key_raw();
        assert_eq!((point.len(), point[0]), (65, 4), "uncompressed P-256 point");
        TestKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap(),
            jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid,
                        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                        "y": URL_SAFE_NO_PAD.encode(&point[33..])}),
        }
    }

    /// `claims` signed with this key, under `kid` (normally its own).
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// Valid claims for `user`, good for an hour.
fn claims(user: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "1234", "email": user,
           "iat": now(), "exp": now() + 3600})
}

/// `claims(USER)` with `field` replaced.
fn claims_with(field: &str, value: Value) -> Value {
    let mut c = claims(USER);
    c[field] = value;
    c
}

fn oauthbearer(authzid: Option<&str>, token: &str) -> String {
    let a = authzid.map_or(String::new(), |u| format!("a={u}"));
    STANDARD.encode(format!(
        "n,{a},\x01host=localhost\x01port=143\x01auth=Bearer {token}\x01\x01"
    ))
}

fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

/// A server taking tokens from `issuer` with keys from `source` (`jwks_file` or
/// `jwks_url` = `value`), with no throttle delays.
fn start(source: &str, value: &str, adjust: impl FnOnce(&mut toml::Table)) -> Server {
    Server::start_with(|c| {
        let throttle = table(table(c, "auth"), "throttle");
        throttle.insert("base_delay_ms".into(), 0.into());
        throttle.insert("max_delay_ms".into(), 0.into());
        throttle.insert("max_failures".into(), 1000.into());
        let oauth = table(table(c, "auth"), "oauth");
        oauth.insert("enabled".into(), true.into());
        oauth.insert("issuer".into(), ISSUER.into());
        oauth.insert("audiences".into(), vec![toml::Value::from(AUDIENCE)].into());
        oauth.insert(source.into(), value.into());
        oauth.insert("jwks_min_refetch_secs".into(), 0.into());
        adjust(c);
    })
}

/// A connection past its greeting, checking that the greeting offers both mechanisms.
async fn connect(server: &Server) -> Client {
    let mut client = Client::connect(server.imap).await;
    let greeting = client.line().await;
    assert!(
        greeting.contains("AUTH=OAUTHBEARER AUTH=XOAUTH2"),
        "{greeting}"
    );
    client
}

/// `AUTHENTICATE mechanism initial` on a new connection; the tagged answer.
async fn login_ir(server: &Server, mechanism: &str, initial: &str) -> String {
    let mut client = connect(server).await;
    let lines = client
        .command("A1", &format!("AUTHENTICATE {mechanism} {initial}"))
        .await;
    lines.last().unwrap().clone()
}

/// An exchange whose token is refused: the JSON error challenge, the client's dummy answer
/// (an empty line for XOAUTH2, as K-9 sends), then `NO [AUTHENTICATIONFAILED]`. Returns the
/// JSON.
async fn refused(server: &Server, mechanism: &str, initial: &str) -> Value {
    let mut client = connect(server).await;
    client
        .send(format!("A1 AUTHENTICATE {mechanism} {initial}\r\n"))
        .await;
    let challenge = client.line().await;
    let encoded = challenge
        .strip_prefix("+ ")
        .unwrap_or_else(|| panic!("not a challenge: {challenge}"));
    let error: Value = serde_json::from_slice(&STANDARD.decode(encoded.trim_end()).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {challenge}"));
    // RFC 7628's dummy is `%x01`; K-9 sends an empty line instead. Both must end it.
    let dummy = if mechanism == "XOAUTH2" { "" } else { "AQ==" };
    client.send(format!("{dummy}\r\n")).await;
    let done = client.line().await;
    assert!(
        done.starts_with("A1 NO [AUTHENTICATIONFAILED]"),
        "{mechanism}: {done}"
    );
    // The connection stays usable after the failure.
    let lines = client.command("A2", "NOOP").await;
    assert!(lines.last().unwrap().starts_with("A2 OK"), "{lines:?}");
    error
}

async fn token_failures(server: &Server, reason: &str) -> u64 {
    let (_, body) = http_get(server.http(), "/metrics").await;
    let series = format!("roost_auth_token_failures_total{{reason=\"{reason}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&series)?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in the metrics"))
}

/// Every accepted and refused kind of token against keys in a JWK set file.
#[tokio::test]
async fn tokens_are_checked_against_a_jwks_file() {
    let keys = tempfile::tempdir().unwrap();
    let rsa = TestKey::rsa(keys.path(), "rsa-1");
    let ec = TestKey::ec("ec-1");
    let other = TestKey::rsa(keys.path(), "rogue");
    let file = keys.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&rsa, &ec])).unwrap();
    let server = start("jwks_file", file.to_str().unwrap(), |_| {});
    let good = rsa.sign(&claims(USER));

    // Accepted: both mechanisms, both key types, with and without the authzid.
    for initial in [
        format!("OAUTHBEARER {}", oauthbearer(Some(USER), &good)),
        format!("OAUTHBEARER {}", oauthbearer(None, &ec.sign(&claims(USER)))),
        format!("XOAUTH2 {}", xoauth2(USER, &good)),
    ] {
        let mut client = connect(&server).await;
        let lines = client
            .command("A1", &format!("AUTHENTICATE {initial}"))
            .await;
        assert!(
            lines.last().unwrap().starts_with("A1 OK [CAPABILITY "),
            "{lines:?}"
        );
        client.ok("SELECT INBOX").await;
    }
    // Over implicit TLS, as remote clients must come.
    let mut client = Client::connect_tls(server.imaps, &server.cert_path()).await;
    let greeting = client.line().await;
    assert!(
        greeting.contains("AUTH=OAUTHBEARER AUTH=XOAUTH2"),
        "{greeting}"
    );
    let initial = oauthbearer(Some(USER), &good);
    let lines = client
        .command("A1", &format!("AUTHENTICATE OAUTHBEARER {initial}"))
        .await;
    assert!(lines.last().unwrap().starts_with("A1 OK"), "{lines:?}");
    // Without SASL-IR: an empty challenge first.
    for (mechanism, message) in [
        ("OAUTHBEARER", oauthbearer(None, &good)),
        ("XOAUTH2", xoauth2(USER, &good)),
    ] {
        let mut client = connect(&server).await;
        client
            .send(format!("A1 AUTHENTICATE {mechanism}\r\n"))
            .await;
        assert_eq!(client.line().await, "+ \r\n");
        client.send(format!("{message}\r\n")).await;
        let done = client.until_tagged("A1").await;
        assert!(done.last().unwrap().starts_with("A1 OK"), "{done:?}");
    }

    // Refused, each for its reason; the JSON error first.
    let cases = [
        ("expired", rsa.sign(&claims_with("exp", json!(now() - 600)))),
        (
            "not_yet_valid",
            rsa.sign(&claims_with("nbf", json!(now() + 600))),
        ),
        (
            "audience",
            rsa.sign(&claims_with("aud", json!("someone-else"))),
        ),
        (
            "issuer",
            ec.sign(&claims_with("iss", json!("https://evil.example"))),
        ),
        ("signature", other.sign_as("rsa-1", &claims(USER))),
        ("unknown_key", other.sign(&claims(USER))),
        ("malformed", "not.a.jwt".to_owned()),
        ("malformed", format!("{good}x").replace('.', "")),
        ("unknown_user", rsa.sign(&claims("nobody@example.com"))),
        ("no_user", rsa.sign(&claims_with("email", json!(42)))),
    ];
    for (reason, token) in &cases {
        let before = token_failures(&server, reason).await;
        let error = refused(&server, "OAUTHBEARER", &oauthbearer(None, token)).await;
        assert_eq!(error["status"], "invalid_token", "{reason}");
        assert_eq!(
            token_failures(&server, reason).await,
            before + 1,
            "{reason}"
        );
    }
    // XOAUTH2 answers the same way, with Google's status.
    let error = refused(&server, "XOAUTH2", &xoauth2(USER, &cases[0].1)).await;
    assert_eq!(error["status"], "401");
    // The token's user must be the one the client names.
    let error = refused(&server, "XOAUTH2", &xoauth2("mallory", &good)).await;
    assert_eq!(error["status"], "401");
    assert!(token_failures(&server, "user_mismatch").await >= 1);
    // An HMAC token "signed" with the public key is never accepted.
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(USER),
        &EncodingKey::from_secret(rsa.jwk["n"].as_str().unwrap().as_bytes()),
    )
    .unwrap();
    refused(&server, "OAUTHBEARER", &oauthbearer(None, &hmac)).await;

    // Malformed client messages: a tagged NO with a reason, no JSON round trip.
    for message in [
        "n,,auth=Bearer x",
        "p=tls-unique,,\x01auth=Bearer x\x01\x01",
        "n,,\x01auth=Basic YQ==\x01\x01",
        "\x01",
    ] {
        let answer = login_ir(&server, "OAUTHBEARER", &STANDARD.encode(message)).await;
        assert!(
            answer.starts_with("A1 NO [AUTHENTICATIONFAILED] "),
            "{message:?}: {answer}"
        );
        assert!(!answer.contains("Bearer x"), "{answer}");
    }
    let answer = login_ir(&server, "XOAUTH2", "not-base64!").await;
    assert!(answer.starts_with("A1 BAD "), "{answer}");
}

/// A small HTTPS server publishing a JWK set that the test can replace, counting requests.
struct JwksServer {
    addr: SocketAddr,
    body: Arc<Mutex<String>>,
    requests: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(dir: &Path, body: String) -> JwksServer {
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        use rustls_pki_types::pem::PemObject;

        let files = cluster_ca().write_node(dir, "idp", &["localhost", "127.0.0.1"]);
        let chain = rustls_pki_types::CertificateDer::pem_file_iter(&files.cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_file(&files.key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = JwksServer {
            addr: listener.local_addr().unwrap(),
            body: Arc::new(Mutex::new(body)),
            requests: Arc::default(),
        };
        let (body, requests) = (server.body.clone(), server.requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, body, requests) = (acceptor.clone(), body.clone(), requests.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |_request| {
                        requests.fetch_add(1, Ordering::SeqCst);
                        let text = body.lock().unwrap().clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from(text)),
                            ))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/keys", self.addr.port())
    }
}

/// Keys fetched over HTTPS (trusting the test CA through `jwks_ca_file`), and fetched again
/// when a token names a key the provider has rotated in. Multi-threaded: the key server must
/// answer while the test thread blocks in `Server::start` and `wait_for_log`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_come_from_https_and_follow_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let old = TestKey::ec("2026-01");
    let new = TestKey::ec("2026-02");
    let idp = JwksServer::start(dir.path(), jwks(&[&old])).await;
    let ca = dir.path().join("ca.pem");
    let server = start("jwks_url", &idp.url(), |c| {
        let oauth = table(table(c, "auth"), "oauth");
        oauth.insert("jwks_ca_file".into(), ca.to_str().unwrap().into());
    });

    // Read at start, so a broken source shows in the log before anyone logs in.
    assert!(server.wait_for_log(&["OAuth key set loaded"]));
    assert_eq!(idp.requests.load(Ordering::SeqCst), 1);
    let answer = login_ir(
        &server,
        "OAUTHBEARER",
        &oauthbearer(None, &old.sign(&claims(USER))),
    )
    .await;
    assert!(answer.starts_with("A1 OK"), "{answer}");
    assert_eq!(idp.requests.load(Ordering::SeqCst), 1, "the set is cached");
    let answer = login_ir(&server, "XOAUTH2", &xoauth2(USER, &old.sign(&claims(USER)))).await;
    assert!(answer.starts_with("A1 OK"), "{answer}");
    assert_eq!(idp.requests.load(Ordering::SeqCst), 1);

    // The provider rotates: a token with the new kid makes Roost fetch the set again.
    *idp.body.lock().unwrap() = jwks(&[&new]);
    let answer = login_ir(
        &server,
        "OAUTHBEARER",
        &oauthbearer(Some(USER), &new.sign(&claims(USER))),
    )
    .await;
    assert!(answer.starts_with("A1 OK"), "{answer}");
    assert_eq!(idp.requests.load(Ordering::SeqCst), 2);
    // The old key is gone from the set now.
    refused(
        &server,
        "OAUTHBEARER",
        &oauthbearer(None, &old.sign(&claims(USER))),
    )
    .await;
}

/// Without `[auth.oauth]`, neither mechanism is offered or accepted.
#[tokio::test]
async fn bearer_mechanisms_are_absent_when_not_configured() {
    let server = Server::start();
    let mut client = Client::connect(server.imap).await;
    let greeting = client.line().await;
    assert!(greeting.contains(GREETING_CAPS), "{greeting}");
    assert!(
        !greeting.contains("OAUTHBEARER") && !greeting.contains("XOAUTH2"),
        "{greeting}"
    );
    for mechanism in ["OAUTHBEARER", "XOAUTH2"] {
        let lines = client
            .command(
                "A1",
                &format!("AUTHENTICATE {mechanism} {}", xoauth2(USER, "x")),
            )
            .await;
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("A1 NO unsupported authentication mechanism"),
            "{lines:?}"
        );
    }
}

/// A refused token counts against the address like a wrong password: with the budget spent,
/// even a valid token is refused without being checked.
#[tokio::test]
async fn refused_tokens_spend_the_failure_budget() {
    let keys = tempfile::tempdir().unwrap();
    let ec = TestKey::ec("k");
    let file = keys.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&ec])).unwrap();
    let server = start("jwks_file", file.to_str().unwrap(), |c| {
        let throttle = table(table(c, "auth"), "throttle");
        throttle.insert("max_failures".into(), 2.into());
    });
    let expired = ec.sign(&claims_with("exp", json!(now() - 600)));
    for _ in 0..2 {
        refused(&server, "OAUTHBEARER", &oauthbearer(Some(USER), &expired)).await;
    }
    let answer = login_ir(
        &server,
        "OAUTHBEARER",
        &oauthbearer(Some(USER), &ec.sign(&claims(USER))),
    )
    .await;
    assert!(
        answer.starts_with("A1 NO [UNAVAILABLE] Too many failed logins"),
        "{answer}"
    );
}

/// Python's imaplib, a real client, logs in with XOAUTH2 the way its docs show (no SASL-IR:
/// it waits for the empty challenge), and gets an error for a refused token.
#[tokio::test]
async fn python_imaplib_logs_in_with_xoauth2() {
    let keys = tempfile::tempdir().unwrap();
    let rsa = TestKey::rsa(keys.path(), "py");
    let file = keys.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&rsa])).unwrap();
    let server = start("jwks_file", file.to_str().unwrap(), |_| {});
    let good = rsa.sign(&claims(USER));
    let expired = rsa.sign(&claims_with("exp", json!(now() - 600)));
    let script = format!(
        r#"
import imaplib
def login(token):
    imap = imaplib.IMAP4("127.0.0.1", {port})
    auth = "user={USER}\x01auth=Bearer " + token + "\x01\x01"
    try:
        typ, _ = imap.authenticate("XOAUTH2", lambda challenge: auth.encode())
        imap.select("INBOX")
        return typ
    except imaplib.IMAP4.error as e:
        return "refused: " + str(e)
print(login("{good}"))
print(login("{expired}"))
"#,
        port = server.imap.port()
    );
    let out = crate::clients::run_python(&script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "OK", "{out}");
    assert!(
        lines[1].starts_with("refused: ") && lines[1].contains("AUTHENTICATIONFAILED"),
        "{out}"
    );
}
