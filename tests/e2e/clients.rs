//! Independent IMAP clients (not our proto crate) log in over STARTTLS and implicit TLS.

use std::process::Command;

use crate::support::*;

/// Python's imaplib: STARTTLS on the plain port, then implicit TLS, each verifying the
/// server certificate, logging in and out.
#[test]
fn python_imaplib_logs_in_over_starttls_and_implicit_tls() {
    let server = Server::start_with(|c| {
        table(c, "auth").insert("loopback_is_secure".into(), false.into());
    });
    let script = format!(
        r#"
import imaplib, ssl
ctx = ssl.create_default_context(cafile={cert:?})
m = imaplib.IMAP4("localhost", {imap})
assert "STARTTLS" in m.capabilities and "LOGINDISABLED" in m.capabilities, m.capabilities
m.starttls(ssl_context=ctx)
typ, data = m.login({user:?}, {password:?})
assert typ == "OK", (typ, data)
assert m.logout()[0] == "BYE"
s = imaplib.IMAP4_SSL("localhost", {imaps}, ssl_context=ctx)
assert "AUTH=PLAIN" in s.capabilities, s.capabilities
typ, data = s.login({user:?}, {password:?})
assert typ == "OK", (typ, data)
typ, data = s.noop()
assert typ == "OK"
assert s.logout()[0] == "BYE"
print("imaplib ok")
"#,
        cert = server.cert_path().display().to_string(),
        imap = server.imap.port(),
        imaps = server.imaps.port(),
        user = USER,
        password = PASSWORD,
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "imaplib failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imaplib ok"));
}

/// async-imap (an independent Rust client with its own parser): STARTTLS and implicit TLS,
/// login, NOOP, CAPABILITY, logout.
#[tokio::test]
async fn async_imap_logs_in_over_starttls_and_implicit_tls() {
    let server = Server::start_with(|c| {
        table(c, "auth").insert("loopback_is_secure".into(), false.into());
    });
    let connector = tls_connector(&server.cert_path());

    let tcp = tokio::net::TcpStream::connect(server.imap).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    let greeting = client.read_response().await.unwrap().expect("greeting");
    assert!(format!("{:?}", greeting.parsed()).contains("STARTTLS"));
    client
        .run_command_and_check_ok("STARTTLS", None)
        .await
        .unwrap();
    let tls = connector
        .connect("localhost".try_into().unwrap(), client.into_inner())
        .await
        .unwrap();
    let client = async_imap::Client::new(tls);
    let mut session = client
        .login(USER, PASSWORD)
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    session.noop().await.unwrap();
    let caps = session.capabilities().await.unwrap();
    assert!(caps.has_str("IMAP4rev2") && caps.has_str("IMAP4rev1"));
    session.logout().await.unwrap();

    let tcp = tokio::net::TcpStream::connect(server.imaps).await.unwrap();
    let tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tls);
    client.read_response().await.unwrap().expect("greeting");
    let mut session = client
        .login(USER, PASSWORD)
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    session.noop().await.unwrap();
    session.logout().await.unwrap();
}
