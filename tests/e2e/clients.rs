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
    assert!(run_python(&script).contains("imaplib ok"));
}

/// mbsync (Debian's isync) syncs a Maildir to Roost and back with no error and no difference
/// (issue: "Real clients"). It is strict: unrequested FETCH items or bad untagged data abort it.
#[test]
fn mbsync_syncs_a_maildir_both_ways_without_errors() {
    let Some(mbsync) = which("mbsync") else {
        panic!("mbsync is not installed: .ci/run installs Debian's isync package");
    };
    let server = Server::start();
    let local = server.dir.path().join("maildir");
    for folder in ["INBOX", "Work"] {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(local.join(folder).join(sub)).unwrap();
        }
    }
    for n in 1..=3 {
        let name = format!("100{n}.M{n}P1.host,U={n}:2,S");
        std::fs::write(local.join("INBOX/cur").join(name), sample_message(n)).unwrap();
    }
    std::fs::write(local.join("Work/new/1100.M1P1.host"), sample_message(10)).unwrap();
    let config = server.dir.path().join("mbsyncrc");
    std::fs::write(
        &config,
        format!(
            "IMAPAccount roost\nHost 127.0.0.1\nPort {port}\nUser {USER}\nPass \"{PASSWORD}\"\nSSLType None\n\
             AuthMechs LOGIN\n\nIMAPStore remote\nAccount roost\n\nMaildirStore local\nPath {path}/\n\
             Inbox {path}/INBOX\nSubFolders Verbatim\n\nChannel sync\nFar :remote:\nNear :local:\nPatterns INBOX Work\n\
             Create Both\nExpunge Both\nSyncState *\n",
            port = server.imap.port(),
            path = local.display(),
        ),
    )
    .unwrap();
    let run = || {
        let out = Command::new(&mbsync)
            .arg("-c")
            .arg(&config)
            .arg("-a")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mbsync failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    run();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = Client::logged_in(&server).await;
        assert_eq!(
            c.ok("STATUS INBOX (MESSAGES UNSEEN)").await,
            ["* STATUS INBOX (MESSAGES 3 UNSEEN 0)\r\n"]
        );
        assert_eq!(
            c.ok("STATUS Work (MESSAGES)").await,
            ["* STATUS Work (MESSAGES 1)\r\n"]
        );
        // Changes on the server side come back down.
        c.append("INBOX", "\\Flagged", &sample_message(4)).await;
        c.ok("SELECT INBOX").await;
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
        c.ok("EXPUNGE").await;
    });
    run();
    let count = |dir: &str| {
        ["cur", "new"]
            .iter()
            .map(|s| std::fs::read_dir(local.join(dir).join(s)).unwrap().count())
            .sum::<usize>()
    };
    assert_eq!(
        count("INBOX"),
        3,
        "one expunged on the server, one appended there"
    );
    let flagged = std::fs::read_dir(local.join("INBOX/cur"))
        .unwrap()
        .chain(std::fs::read_dir(local.join("INBOX/new")).unwrap())
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(":2,F"))
        .count();
    assert_eq!(flagged, 1);
    // A third run finds nothing to do: both sides agree.
    let quiet = run();
    assert!(!quiet.to_lowercase().contains("error"), "{quiet}");
    rt.block_on(async {
        let mut c = Client::logged_in(&server).await;
        assert_eq!(
            c.ok("STATUS INBOX (MESSAGES)").await,
            ["* STATUS INBOX (MESSAGES 3)\r\n"]
        );
    });
}

/// Python's imaplib walks folders, searches and fetches (an independent client's parser).
#[test]
fn python_imaplib_walks_folders_searches_and_fetches() {
    let server = Server::start();
    let script = format!(
        r#"
import imaplib, email
m = imaplib.IMAP4("127.0.0.1", {port})
m.login({user:?}, {password:?})
typ, folders = m.list()
assert typ == "OK" and len(folders) == 6, folders
for n in range(3):
    msg = "From: a@example.com\r\nSubject: walk %d\r\n\r\nbody %d\r\n" % (n, n)
    typ, data = m.append("INBOX", "(\\Seen)" if n == 0 else None, None, msg.encode())
    assert typ == "OK", data
m.create("Walk/Deeper")
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"3"], data
typ, data = m.search(None, "UNSEEN")
assert data == [b"2 3"], data
typ, data = m.uid("SEARCH", None, "SUBJECT", '"walk 2"')
assert data == [b"3"], data
typ, data = m.fetch("1:3", "(RFC822)")
subjects = [email.message_from_bytes(part[1])["Subject"] for part in data if isinstance(part, tuple)]
assert subjects == ["walk 0", "walk 1", "walk 2"], subjects
typ, data = m.status("Walk/Deeper", "(MESSAGES)")
assert typ == "OK", data
m.close()
m.logout()
print("walk ok")
"#,
        port = server.imap.port(),
        user = USER,
        password = PASSWORD,
    );
    assert!(run_python(&script).contains("walk ok"));
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
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

/// Runs a Python script; fails the test with its output unless it exits 0. Its stdout.
pub(crate) fn run_python(script: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `tests/clients/imapflow/qresync.mjs` with these arguments; its JSON answer.
fn run_imapflow(args: &[&str]) -> serde_json::Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/imapflow");
    assert!(
        dir.join("node_modules/imapflow").is_dir(),
        "imapflow is not installed: run `npm ci --prefix tests/clients/imapflow` (.ci/run does)"
    );
    let out = Command::new("node")
        .arg(dir.join("qresync.mjs"))
        .args(args)
        .output()
        .expect("node is installed (.ci/run installs Debian's nodejs)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "imapflow failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// imapflow (the IMAP library of many Node mail apps) in QRESYNC mode caches a
/// 10,000-message INBOX, goes away while another client flags 1,000 messages and expunges
/// 500, and resynchronises: it is told exactly those changes and nothing else.
#[tokio::test]
async fn imapflow_resynchronises_ten_thousand_messages_with_qresync() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.seed("INBOX", 10_000).await;
    let port = server.imap.port().to_string();
    let cached = run_imapflow(&["sync", &port, USER, PASSWORD]);
    assert_eq!(cached["messages"], 10_000, "{cached}");
    writer.ok("SELECT INBOX").await;
    let flagged: Vec<u32> = (1..=1000).map(|i| i * 10 - 3).collect();
    let expunged: Vec<u32> = (1..=500).map(|i| i * 20 - 1).collect();
    let list = |uids: &[u32]| {
        uids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    writer
        .ok(&format!(
            "UID STORE {} +FLAGS.SILENT (\\Flagged)",
            list(&flagged)
        ))
        .await;
    writer
        .ok(&format!(
            "UID STORE {} +FLAGS.SILENT (\\Deleted)",
            list(&expunged)
        ))
        .await;
    writer.ok("EXPUNGE").await;
    let validity = cached["uidValidity"].as_str().unwrap();
    let modseq = cached["highestModseq"].as_str().unwrap();
    let synced = run_imapflow(&["resync", &port, USER, PASSWORD, validity, modseq]);
    assert_eq!(synced["exists"], 9_500, "{synced}");
    let vanished: Vec<u32> = serde_json::from_value(synced["vanished"].clone()).unwrap();
    assert_eq!(vanished, expunged);
    let reported = synced["flagged"].as_object().unwrap();
    let mut uids: Vec<u32> = reported.keys().map(|k| k.parse().unwrap()).collect();
    uids.sort_unstable();
    assert_eq!(uids, flagged);
    assert!(reported
        .values()
        .all(|f| f == &serde_json::json!(["\\Flagged"])));
}
