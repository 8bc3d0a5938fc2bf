//! `roost import`: a Maildir written by a real Dovecot, mbox files, another IMAP server; every
//! import goes through the account's single writer and adds nothing when run twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// How long one `roost import` may take on a loaded machine.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(300);

/// A finished `roost import`.
struct Imported {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Imported {
    /// The summary's message counts: imported, skipped, failed.
    fn counts(&self) -> (u64, u64, u64) {
        let line = self
            .stdout
            .lines()
            .find(|l| l.contains(" imported, "))
            .unwrap_or_else(|| panic!("no summary: {} / {}", self.stdout, self.stderr));
        let number_before = |word: &str| -> u64 {
            let at = line.find(word).unwrap();
            line[..at]
                .split_whitespace()
                .last()
                .unwrap()
                .parse()
                .unwrap()
        };
        (
            number_before(" imported"),
            number_before(" skipped"),
            number_before(" failed"),
        )
    }
}

fn import_command(config: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(roost_bin());
    command
        .args(["import", "--config"])
        .arg(config)
        .args(args)
        .args(["--user", USER])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn import(config: &Path, args: &[&str]) -> Imported {
    let out = tokio::time::timeout(IMPORT_TIMEOUT, import_command(config, args).output())
        .await
        .expect("roost import finishes")
        .unwrap();
    Imported {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A configuration for a data directory no server runs on.
fn offline(dir: &Path) -> PathBuf {
    write_config(dir, &dir.join("data"), |_| {}).0
}

/// One message as a server shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fetched {
    /// Without `\Recent`, which is each server's own.
    flags: BTreeSet<String>,
    /// INTERNALDATE as seconds since the epoch (a Maildir keeps no time zone).
    date: i64,
    body: Vec<u8>,
}

fn unix_time(date: &str) -> i64 {
    let parts: Vec<&str> = date.trim().split([' ', '-', ':']).collect();
    let month = roost_proto::MONTHS
        .iter()
        .position(|m| *m == parts[1])
        .unwrap() as u8
        + 1;
    let zone: i16 = parts[6].parse().unwrap();
    let day = roost_proto::Date::new(parts[2].parse().unwrap(), month, parts[0].parse().unwrap());
    roost_proto::DateTime::new(
        day.unwrap(),
        parts[3].parse().unwrap(),
        parts[4].parse().unwrap(),
        parts[5].parse().unwrap(),
        zone.signum() * (zone.abs() / 100 * 60 + zone.abs() % 100),
    )
    .unwrap()
    .unix_timestamp()
}

fn between<'a>(line: &'a str, start: &str, end: char) -> &'a str {
    let from = line
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {line}"))
        + start.len();
    let len = line[from..].find(end).unwrap();
    &line[from..from + len]
}

/// Every message of `folder` (as written on the wire), in order.
async fn fetch_folder(c: &mut Client, folder: &str) -> Vec<Fetched> {
    c.ok(&format!("EXAMINE \"{folder}\"")).await;
    c.send("f FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])\r\n")
        .await;
    let mut found = Vec::new();
    loop {
        let line = c.line().await;
        if line.starts_with("f ") {
            assert!(line.starts_with("f OK"), "{line}");
            return found;
        }
        if !line.contains(" FETCH (") {
            continue;
        }
        let size: usize = between(&line, "BODY[] {", '}').parse().unwrap();
        let body = c.octets(size).await;
        c.line().await;
        let flags = between(&line, "FLAGS (", ')')
            .split_whitespace()
            .filter(|f| *f != "\\Recent")
            .map(str::to_owned)
            .collect();
        let date = unix_time(between(&line, "INTERNALDATE \"", '"'));
        found.push(Fetched { flags, date, body });
    }
}

// --- Dovecot

/// A Dovecot `imap` process on a pre-authenticated stdin/stdout session for user `tester`,
/// storing mail as Maildir++ under `<dir>/mail/tester`. Dovecot refuses to run mail access as
/// root, so under root the mail belongs to `nobody`.
struct Dovecot {
    child: tokio::process::Child,
    client: Client,
}

fn dovecot_config(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let owner = if root {
        // `nobody` must reach the mail directory through the temporary directory.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = std::process::Command::new("chown")
            .args(["nobody"])
            .arg(&mail)
            .status()
            .unwrap();
        assert!(status.success());
        "mail_uid = nobody\nmail_gid = nogroup\n".to_owned()
    } else {
        // SAFETY: as above.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        format!("mail_uid = {uid}\nmail_gid = {gid}\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n")
    };
    let config = dir.join("dovecot.conf");
    std::fs::write(
        &config,
        format!(
            "mail_location = maildir:{}/%u\n{owner}log_path = /dev/stderr\n",
            mail.display()
        ),
    )
    .unwrap();
    config
}

/// Dovecot's `imap` process for `tester`, its stdin and stdout not yet spoken to.
fn dovecot_imap(config: &Path) -> tokio::process::Child {
    tokio::process::Command::new("/usr/lib/dovecot/imap")
        .arg("-c")
        .arg(config)
        .env("USER", "tester")
        .env("HOME", config.parent().unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start /usr/lib/dovecot/imap (Debian package dovecot-imapd)")
}

impl Dovecot {
    async fn start(config: &Path) -> Dovecot {
        let mut child = dovecot_imap(config);
        let io = tokio::io::join(child.stdout.take().unwrap(), child.stdin.take().unwrap());
        let mut client = Client::over(io);
        let greeting = client.line().await;
        assert!(greeting.starts_with("* PREAUTH "), "{greeting}");
        Dovecot { child, client }
    }

    async fn stop(mut self) {
        self.client.ok("LOGOUT").await;
        exit_of(self.child).await;
    }
}

/// Dovecot's folders (`.` between levels, modified UTF-7) and Roost's names for them.
const FOLDERS: [(&str, &str); 10] = [
    ("INBOX", "INBOX"),
    ("Archive", "Archive"),
    ("Work", "Work"),
    ("Work.Projects", "Work/Projects"),
    ("Caf&AOk-", "Caf&AOk-"),
    ("Lists", "Lists"),
    ("Lists.Rust", "Lists/Rust"),
    ("Sent", "Sent"),
    ("Drafts", "Drafts"),
    ("Trash", "Trash"),
];

const KEYWORDS: [(u32, &str); 3] = [(3, "$Forwarded"), (4, "todo"), (17, "project-x")];

/// Message `n` of folder `f`: its flags, date and text (bare LF inside; the server sends
/// CRLF). Some have a line starting with `From `, 8-bit text, or a long body.
fn generated(f: usize, n: u32) -> (String, String, String) {
    let mut flags: Vec<&str> = Vec::new();
    for (every, flag) in [
        (2, "\\Seen"),
        (5, "\\Flagged"),
        (7, "\\Answered"),
        (11, "\\Draft"),
        (13, "\\Deleted"),
    ] {
        if n.is_multiple_of(every) {
            flags.push(flag);
        }
    }
    for (every, keyword) in KEYWORDS {
        if (n + f as u32).is_multiple_of(every) {
            flags.push(keyword);
        }
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let date = format!(
        "{:02}-{}-{} {:02}:{:02}:{:02} {}",
        1 + n % 28,
        MONTHS[(n as usize + f) % 12],
        2015 + f,
        n % 24,
        n % 60,
        (n * 7) % 60,
        ["+0000", "+0100", "-0700", "+0530"][n as usize % 4]
    );
    let extra = match n % 10 {
        0 => "From the start of a line\r\n".to_owned(),
        1 => "Grüße, naïve café\r\n".to_owned(),
        2 => "x".repeat(5000) + "\r\n",
        _ => String::new(),
    };
    let body = format!(
        "From: Sender {n} <s{n}@example.com>\r\nTo: tester@example.com\r\nSubject: Folder {f} message {n}\r\nDate: Wed, 17 Jul 2019 02:23:25 -0700\r\nMessage-ID: <{f}.{n}@example.com>\r\n\r\nHello,\r\n{extra}this is message {n} of folder {f}.\r\n"
    );
    (flags.join(" "), date, body)
}

/// Fills Dovecot with 100 messages in each folder (one of them twice in INBOX).
async fn fill(dovecot: &mut Dovecot) {
    for (f, (name, _)) in FOLDERS.iter().enumerate() {
        if *name != "INBOX" {
            dovecot.client.ok(&format!("CREATE \"{name}\"")).await;
        }
        let mut command = format!("APPEND \"{name}\"");
        let count = if f == 0 { 99 } else { 100 };
        for n in 0..count {
            let (flags, date, body) = generated(f, n);
            command.push_str(&format!(
                " ({flags}) \"{date}\" {{{}+}}\r\n{body}",
                body.len()
            ));
        }
        if f == 0 {
            // The same message twice: both copies are imported, and neither again.
            let (flags, date, body) = generated(f, 7);
            command.push_str(&format!(
                " ({flags}) \"{date}\" {{{}+}}\r\n{body}",
                body.len()
            ));
        }
        dovecot.client.ok(&command).await;
    }
}

/// A Dovecot account filled by [`fill`]: the temporary directory and Dovecot's configuration.
async fn filled_dovecot() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dovecot_conf = dovecot_config(dir.path());
    let mut dovecot = Dovecot::start(&dovecot_conf).await;
    fill(&mut dovecot).await;
    dovecot.stop().await;
    (dir, dovecot_conf)
}

/// Imports with `args` into a new Roost account next to `dovecot_conf`; every message then
/// reads through Roost as through Dovecot, and a second run adds nothing.
async fn import_matches_dovecot(dovecot_conf: &Path, args: &[&str]) {
    let config = offline(dovecot_conf.parent().unwrap());
    let first = import(&config, args).await;
    assert!(first.success, "{} / {}", first.stdout, first.stderr);
    assert_eq!(first.counts(), (1000, 0, 0), "{}", first.stdout);
    assert!(first.stdout.contains("10 folders"), "{}", first.stdout);

    let mut dovecot = Dovecot::start(dovecot_conf).await;
    let mut roost = Tunnel::start(&config).await;
    let mut compared = 0;
    for (dovecot_name, roost_name) in FOLDERS {
        let expected = fetch_folder(&mut dovecot.client, dovecot_name).await;
        let got = fetch_folder(&mut roost.client, roost_name).await;
        assert_eq!(expected.len(), got.len(), "{roost_name}");
        for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
            assert_eq!(e, g, "{roost_name} message {}", i + 1);
        }
        compared += got.len();
    }
    assert_eq!(compared, 1000);
    // Keywords arrived as keywords, not lost.
    let keywords = roost.client.ok("EXAMINE INBOX").await.join("");
    assert!(
        keywords.contains("$Forwarded") && keywords.contains("project-x"),
        "{keywords}"
    );
    dovecot.stop().await;
    exit_of(roost.logout().await).await;

    let second = import(&config, args).await;
    assert!(second.success, "{} / {}", second.stdout, second.stderr);
    assert_eq!(second.counts(), (0, 1000, 0), "{}", second.stdout);
}

#[tokio::test]
async fn a_maildir_written_by_dovecot_is_imported_as_dovecot_shows_it() {
    let (dir, dovecot_conf) = filled_dovecot().await;
    let maildir = dir.path().join("mail/tester");
    assert!(maildir.join(".Work.Projects/cur").is_dir());
    assert!(maildir.join("dovecot-keywords").is_file());
    import_matches_dovecot(&dovecot_conf, &["maildir", maildir.to_str().unwrap()]).await;
}

/// Serves Dovecot on a loopback port, inetd style: each connection gets its own `imap`
/// process (pre-authenticated as `tester`, so the importer's password is not asked for).
async fn dovecot_on_tcp(dovecot_conf: &Path) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let dovecot_conf = dovecot_conf.to_owned();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut child = dovecot_imap(&dovecot_conf);
            tokio::spawn(async move {
                let mut io =
                    tokio::io::join(child.stdout.take().unwrap(), child.stdin.take().unwrap());
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut io).await;
                let _ = child.wait().await;
            });
        }
    });
    address
}

#[tokio::test]
async fn an_imap_import_from_dovecot_matches_dovecot() {
    let (dir, dovecot_conf) = filled_dovecot().await;
    let address = dovecot_on_tcp(&dovecot_conf).await;
    // Not asked for: the session is pre-authenticated.
    let args = imap_args(dir.path(), &format!("imap://tester@{address}"), "unused");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    import_matches_dovecot(&dovecot_conf, &args).await;
}

/// `imap --from URL --password-file FILE`, the password written to FILE in `dir`.
fn imap_args(dir: &Path, from: &str, password: &str) -> Vec<String> {
    let file = dir.join("password");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    [
        "imap",
        "--from",
        from,
        "--password-file",
        file.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

// --- mbox and malformed input

#[tokio::test]
async fn an_mbox_file_is_imported_with_flags_and_dates_into_the_named_folder() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline(dir.path());
    let mbox = dir.path().join("old.mbox");
    std::fs::write(
        &mbox,
        "From alice@example.com Mon Jan  1 10:00:00 2024\nSubject: one\nMessage-ID: <1@x>\nStatus: RO\nX-Status: AF\nX-Keywords: $Work\n\nfirst\n>From quoted\n\n\
         From bob@example.com Tue Jan  2 11:30:00 2024\nSubject: two\nMessage-ID: <2@x>\n\nsecond\n\n",
    )
    .unwrap();
    let args = ["mbox", mbox.to_str().unwrap(), "--folder", "Old/2024"];
    let first = import(&config, &args).await;
    assert!(first.success, "{} / {}", first.stdout, first.stderr);
    assert_eq!(first.counts(), (2, 0, 0), "{}", first.stdout);

    let mut roost = Tunnel::start(&config).await;
    let got = fetch_folder(&mut roost.client, "Old/2024").await;
    exit_of(roost.logout().await).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        String::from_utf8_lossy(&got[0].body),
        "Subject: one\r\nMessage-ID: <1@x>\r\n\r\nfirst\r\nFrom quoted\r\n"
    );
    let flags: Vec<&str> = got[0].flags.iter().map(String::as_str).collect();
    assert_eq!(flags, ["$Work", "\\Answered", "\\Flagged", "\\Seen"]);
    assert_eq!(got[0].date, 1_704_103_200);
    assert_eq!(got[1].date, 1_704_195_000);
    assert!(got[1].flags.is_empty(), "{:?}", got[1].flags);

    let second = import(&config, &args).await;
    assert_eq!(second.counts(), (0, 2, 0), "{}", second.stdout);
}

#[tokio::test]
async fn malformed_sources_fail_with_their_paths_and_import_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline(dir.path());
    let not_mbox = dir.path().join("notes.txt");
    std::fs::write(&not_mbox, "Subject: x\n\nhello\n").unwrap();
    let refused = import(&config, &["mbox", not_mbox.to_str().unwrap()]).await;
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("notes.txt") && refused.stderr.contains("not an mbox"),
        "{}",
        refused.stderr
    );

    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp", ".Odd&-Name/cur", ".Odd&-Name/new"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(maildir.join("cur/empty:2,S"), b"").unwrap();
    std::fs::write(maildir.join("cur/binary:2,zz"), b"\0\xff\xfe\n\n\0").unwrap();
    std::fs::write(maildir.join("new/plain"), b"Subject: fine\n\nok\n").unwrap();
    std::fs::write(maildir.join("dovecot-keywords"), b"garbage\n99 x\n").unwrap();
    std::fs::write(maildir.join(".Odd&-Name/cur/a:2,"), b"Subject: a\n\nb\n").unwrap();
    let partial = import(&config, &["maildir", maildir.to_str().unwrap()]).await;
    assert!(
        !partial.success,
        "a failed message makes the exit status non-zero"
    );
    assert_eq!(partial.counts(), (3, 0, 1), "{}", partial.stdout);
    assert!(
        partial.stdout.contains("cur/empty:2,S") && partial.stdout.contains("empty message"),
        "{}",
        partial.stdout
    );
    let missing = import(
        &config,
        &["maildir", dir.path().join("nothing").to_str().unwrap()],
    )
    .await;
    assert!(
        missing.stderr.contains("nothing is not a Maildir"),
        "{}",
        missing.stderr
    );
}

// --- from another IMAP server

/// Seeds the source account: three folders with flags and keywords.
async fn seed_source(source: &Server) -> usize {
    let mut c = Client::logged_in(source).await;
    c.ok("CREATE Projects/2024").await;
    c.ok("CREATE \"Caf&AOk-\"").await;
    let mut total = 0;
    for (folder, count) in [("INBOX", 120), ("Projects/2024", 60), ("Caf&AOk-", 30)] {
        c.seed(folder, count).await;
        c.ok(&format!("SELECT \"{folder}\"")).await;
        c.ok("STORE 1:* +FLAGS (\\Seen)").await;
        c.ok("STORE 2:* +FLAGS (\\Flagged $Label1)").await;
        total += count as usize;
    }
    total
}

/// Every folder's messages as the server shows them.
async fn snapshot(c: &mut Client) -> Vec<(String, Vec<Fetched>)> {
    let mut all = Vec::new();
    for folder in ["INBOX", "Projects/2024", "Caf&AOk-"] {
        all.push((folder.to_owned(), fetch_folder(c, folder).await));
    }
    all
}

#[tokio::test]
async fn an_imap_import_interrupted_and_run_again_copies_everything_once() {
    let source = Server::start();
    let total = seed_source(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let config = offline(dir.path());
    let from = format!("imaps://{USER}@localhost:{}", source.imaps.port());
    let mut args = imap_args(dir.path(), &from, PASSWORD);
    let cert = source.cert_path();
    args.extend(["--ca-file".to_owned(), cert.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // Interrupted once the first folder is done (its line is printed when it is).
    let mut first = import_command(&config, &args).spawn().unwrap();
    let stderr = first.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let deadline = Instant::now() + IMPORT_TIMEOUT;
    loop {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .expect("the first folder finishes")
            .unwrap()
            .expect("roost import prints a line per folder");
        if line.contains("INBOX: ") {
            break;
        }
    }
    first.kill().await.unwrap();

    let second = import(&config, &args).await;
    assert!(second.success, "{} / {}", second.stdout, second.stderr);
    let (imported, skipped, failed) = second.counts();
    assert_eq!(failed, 0);
    assert!(
        skipped >= 120,
        "the interrupted run's INBOX is kept: {}",
        second.stdout
    );
    assert_eq!(imported + skipped, total as u64, "{}", second.stdout);

    let third = import(&config, &args).await;
    assert_eq!(third.counts(), (0, total as u64, 0), "{}", third.stdout);

    let mut from_source = Client::logged_in(&source).await;
    let expected = snapshot(&mut from_source).await;
    let mut roost = Tunnel::start(&config).await;
    let got = snapshot(&mut roost.client).await;
    exit_of(roost.logout().await).await;
    assert_eq!(got, expected);
}

// --- through a running server

/// An mbox file with `count` sample messages.
fn sample_mbox(dir: &Path, count: u32) -> PathBuf {
    let path = dir.join("mail.mbox");
    let mut text = String::new();
    for n in 0..count {
        text.push_str("From alice@example.com Mon Jan  1 10:00:00 2024\n");
        text.push_str(&sample_message(n).replace("\r\n", "\n"));
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn an_import_wakes_a_client_idling_on_the_account() {
    let server = Server::start();
    let mut idle = Client::logged_in(&server).await;
    idle.ok("SELECT INBOX").await;
    idle.send("i IDLE\r\n").await;
    assert!(idle.line().await.starts_with("+ "));

    let mbox = sample_mbox(server.dir.path(), 5);
    let done = import(&server.config, &["mbox", mbox.to_str().unwrap()]).await;
    assert!(done.success, "{} / {}", done.stdout, done.stderr);
    assert_eq!(done.counts(), (5, 0, 0), "{}", done.stdout);
    loop {
        let line = idle.line().await;
        if line == "* 5 EXISTS\r\n" {
            break;
        }
        assert!(line.starts_with("* "), "{line}");
    }
    idle.send("DONE\r\n").await;
    idle.until_tagged("i").await;
}

#[tokio::test]
async fn an_import_next_to_roost_serve_goes_through_the_server() {
    let server = Server::start();
    let mbox = sample_mbox(server.dir.path(), 3);
    let done = import(&server.config, &["mbox", mbox.to_str().unwrap()]).await;
    assert!(done.success, "{} / {}", done.stdout, done.stderr);
    assert!(
        server.wait_for_log(&["session handed over by roost imap"]),
        "{:#?}",
        server.log.lock().unwrap()
    );
    // The server kept the data directory's lock: the import never wrote beside it.
    let data = Path::new(server.dir.path()).join("data");
    let holder = std::fs::read_to_string(data.join("roost.lock")).unwrap();
    assert!(
        holder.starts_with(&format!("roost serve (pid {})", server.pid())),
        "{holder}"
    );
    let mut c = Client::logged_in(&server).await;
    let status = c.ok("STATUS INBOX (MESSAGES)").await;
    assert_eq!(status, ["* STATUS INBOX (MESSAGES 3)\r\n"]);
}
