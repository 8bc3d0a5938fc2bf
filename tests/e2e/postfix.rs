//! Postfix (Debian's package, which `.ci/run` installs) relays SMTP mail for several users
//! into Roost's LMTP listener: every message lands in each recipient's INBOX byte-identical
//! apart from the trace headers added on the way, and an IDLE client sees it at once.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// A private Postfix instance (its own config, queue and data directories) whose smtpd
/// listens on a free loopback port and delivers every `test.example` recipient over LMTP.
struct Postfix {
    conf: PathBuf,
    smtp: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Postfix {
    fn start(lmtp: SocketAddr) -> Postfix {
        let postfix_uid = Command::new("id")
            .args(["-u", "postfix"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u32>()
                    .ok()
            })
            .expect("Debian's postfix package must be installed (.ci/run installs it)");
        let dir = tempfile::tempdir().unwrap();
        // Postfix's daemons run as the postfix user and must reach these directories.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path();
        let (conf, queue, data) = (root.join("conf"), root.join("queue"), root.join("data"));
        for d in [&conf, &queue, &data] {
            std::fs::create_dir(d).unwrap();
        }
        std::os::unix::fs::chown(&data, Some(postfix_uid), None).unwrap();
        let smtp = free_port();
        std::fs::write(conf.join("main.cf"), main_cf(root, &queue, &data, lmtp)).unwrap();
        std::fs::write(conf.join("master.cf"), master_cf(smtp)).unwrap();
        let out = Command::new("postfix")
            .arg("-c")
            .arg(&conf)
            .arg("start")
            .output()
            .unwrap();
        let postfix = Postfix {
            conf,
            smtp,
            _dir: dir,
        };
        assert!(out.status.success(), "postfix start: {}", postfix.log());
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(smtp).is_err() {
            assert!(
                Instant::now() < deadline,
                "smtpd did not start: {}",
                postfix.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        postfix
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.conf.parent().unwrap().join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.conf)
            .arg("abort")
            .output();
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn main_cf(root: &Path, queue: &Path, data: &Path, lmtp: SocketAddr) -> String {
    format!(
        "compatibility_level = 3.6\n\
         queue_directory = {queue}\n\
         data_directory = {data}\n\
         mail_owner = postfix\n\
         setgid_group = postdrop\n\
         myhostname = mx.test.example\n\
         mydestination =\n\
         inet_interfaces = 127.0.0.1\n\
         inet_protocols = ipv4\n\
         mynetworks = 127.0.0.0/8\n\
         relayhost =\n\
         virtual_mailbox_domains = test.example\n\
         virtual_transport = lmtp:inet:{lmtp}\n\
         smtpd_reject_unlisted_recipient = no\n\
         smtpd_recipient_restrictions = permit_mynetworks, reject\n\
         maillog_file_prefixes = {root}\n\
         maillog_file = {root}/maillog\n\
         biff = no\n\
         smtputf8_enable = no\n",
        queue = queue.display(),
        data = data.display(),
        root = root.display(),
    )
}

/// Only the services a relay into LMTP needs, none chrooted.
fn master_cf(smtp: SocketAddr) -> String {
    let services = [
        (smtp.to_string(), "inet", "n", "-", "smtpd"),
        ("pickup".into(), "unix", "n", "1", "pickup"),
        ("cleanup".into(), "unix", "n", "0", "cleanup"),
        ("qmgr".into(), "unix", "n", "1", "qmgr"),
        ("rewrite".into(), "unix", "-", "-", "trivial-rewrite"),
        ("bounce".into(), "unix", "-", "0", "bounce"),
        ("defer".into(), "unix", "-", "0", "bounce"),
        ("trace".into(), "unix", "-", "0", "bounce"),
        ("verify".into(), "unix", "-", "1", "verify"),
        ("flush".into(), "unix", "n", "0", "flush"),
        ("proxymap".into(), "unix", "-", "-", "proxymap"),
        ("smtp".into(), "unix", "-", "-", "smtp"),
        ("error".into(), "unix", "-", "-", "error"),
        ("retry".into(), "unix", "-", "-", "error"),
        ("discard".into(), "unix", "-", "-", "discard"),
        ("lmtp".into(), "unix", "-", "-", "lmtp"),
        ("anvil".into(), "unix", "-", "1", "anvil"),
        ("scache".into(), "unix", "-", "1", "scache"),
        ("postlog".into(), "unix-dgram", "n", "1", "postlogd"),
    ];
    services
        .iter()
        .map(|(name, kind, private, max, command)| {
            format!("{name} {kind} {private} - n - {max} {command}\n")
        })
        .collect()
}

/// Sends `message` over SMTP (Python's smtplib) from the sender to `recipients`.
fn send(smtp: SocketAddr, recipients: &[&str], message: &str) {
    let script = format!(
        "import smtplib,sys\n\
         s=smtplib.SMTP('{}',{},timeout=30)\n\
         r=s.sendmail('sender@elsewhere.example',{:?},sys.stdin.buffer.read())\n\
         assert r=={{}},r\n\
         s.quit()\n",
        smtp.ip(),
        smtp.port(),
        recipients
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "SMTP submission failed");
}

fn message(n: u32) -> String {
    format!(
        "From: Sender <sender@elsewhere.example>\r\nTo: team@test.example\r\n\
         Subject: relayed {n}\r\nDate: Fri, 04 Dec 2026 06:00:00 +0000\r\n\
         Message-ID: <relayed-{n}@elsewhere.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nLine one of {n}.\r\n.dot line\r\n\r\nEnd.\r\n"
    )
}

/// The whole stored message of `uid` in INBOX.
async fn stored(c: &mut Client, uid: u32) -> String {
    let lines = c.ok(&format!("UID FETCH {uid} (BODY.PEEK[])")).await;
    let joined = lines.concat();
    let start = joined.find("}\r\n").expect("a literal") + 3;
    let end = joined.rfind(")\r\n").expect("the end of the FETCH");
    joined[start..end].to_owned()
}

#[tokio::test]
async fn postfix_relays_into_lmtp_for_several_users_and_idle_sees_it() {
    let server = Server::start_with(crate::lmtp::with_lmtp_listener);
    for user in ["bob", "carol"] {
        add_user(&server.config, user, PASSWORD);
    }
    let postfix = Postfix::start(server.lmtp.expect("an LMTP listener"));
    let mut idle = Client::logged_in_rev2(&server).await;
    idle.ok("SELECT INBOX").await;
    idle.send("i IDLE\r\n").await;
    assert_eq!(idle.line().await, "+ idling\r\n");

    let recipients = [
        "alice@test.example",
        "bob@test.example",
        "carol@test.example",
    ];
    for n in 1..=3 {
        send(postfix.smtp, &recipients, &message(n));
    }
    // alice's IDLE session hears of each as Postfix delivers it.
    for n in 1..=3 {
        let line = tokio::time::timeout(Duration::from_secs(60), idle.line())
            .await
            .unwrap_or_else(|_| panic!("no delivery reached IDLE: {}", postfix.log()));
        assert_eq!(line, format!("* {n} EXISTS\r\n"));
    }
    idle.send("DONE\r\n").await;
    idle.until_tagged("i").await;

    for user in ["alice", "bob", "carol"] {
        let mut c = Client::connect(server.imap).await;
        c.line().await;
        c.ok(&format!("LOGIN {user} \"{PASSWORD}\"")).await;
        c.ok("SELECT INBOX").await;
        for n in 1..=3 {
            let original = message(n);
            let got = stored(&mut c, n).await;
            // Byte-identical apart from the trace headers added on the way in.
            let added = got
                .strip_suffix(&original)
                .unwrap_or_else(|| panic!("{user} {n}: body changed:\n{got}"));
            assert!(
                added.starts_with("Return-Path: <sender@elsewhere.example>\r\n"),
                "{added}"
            );
            assert!(
                added.contains(&format!("Delivered-To: {user}@test.example\r\n")),
                "{added}"
            );
            for line in added.split("\r\n").filter(|l| !l.is_empty()) {
                let trace = [
                    "Return-Path:",
                    "Delivered-To:",
                    "Received:",
                    "X-Original-To:",
                ];
                assert!(
                    line.starts_with([' ', '\t']) || trace.iter().any(|t| line.starts_with(t)),
                    "{user} {n}: unexpected added line {line:?}"
                );
            }
        }
    }
}
