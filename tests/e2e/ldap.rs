//! The LDAP user directory (issue 20) against a real OpenLDAP `slapd` the test starts on free
//! loopback ports (`.ci/run` installs Debian's `slapd`): direct bind and search + bind, ldaps
//! and StartTLS with a private CA, escaping of hostile names, empty passwords, the server
//! going away (`NO [UNAVAILABLE]`, no throttle charge), the login cache, and the pool.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const SUFFIX: &str = "dc=example,dc=org";
const PEOPLE: &str = "ou=people,dc=example,dc=org";
const SERVICE_DN: &str = "cn=roost,dc=example,dc=org";
const SERVICE_PASSWORD: &str = "service secret";
/// A second user, so a search that matched more than one entry would show.
const BOB_PASSWORD: &str = "bob's password";

/// A real `slapd` with an mdb database seeded with `alice` (support's [`USER`] and
/// [`PASSWORD`]), `bob` and the service account, listening on `ldap://` and `ldaps://`
/// loopback ports with a certificate from the test CA. Stopped when dropped.
struct Slapd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    ldap_port: u16,
    ldaps_port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `{SSHA}` of `password`, as `slappasswd` makes it.
fn ssha(password: &str) -> String {
    let out = Command::new("/usr/sbin/slappasswd")
        .args(["-h", "{SSHA}", "-s", password])
        .output()
        .expect("slappasswd is installed (.ci/run installs Debian's slapd)");
    assert!(out.status.success(), "slappasswd: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Slapd {
    fn start() -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        std::fs::create_dir(path.join("db")).unwrap();
        cluster_ca().write_node(path, "slapd", &["127.0.0.1"]);
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             pidfile {dir}/slapd.pid\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             TLSCertificateFile {dir}/slapd.crt\n\
             TLSCertificateKeyFile {dir}/slapd.key\n\
             database mdb\n\
             suffix \"{SUFFIX}\"\n\
             directory {dir}/db\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to * by * read\n",
            dir = path.display()
        );
        std::fs::write(path.join("slapd.conf"), conf).unwrap();
        let person = |uid: &str, password: &str| {
            format!(
                "dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n\
                 sn: {uid}\nuserPassword: {}\n\n",
                ssha(password)
            )
        };
        let seed = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\n\
             dc: example\n\n\
             dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: roost\nuserPassword: {}\n\n{}{}",
            ssha(SERVICE_PASSWORD),
            person(USER, PASSWORD),
            person("bob", BOB_PASSWORD),
        );
        std::fs::write(path.join("seed.ldif"), seed).unwrap();
        let added = Command::new("/usr/sbin/slapadd")
            .args(["-q", "-f"])
            .arg(path.join("slapd.conf"))
            .arg("-l")
            .arg(path.join("seed.ldif"))
            .output()
            .expect("slapadd runs");
        assert!(added.status.success(), "slapadd: {added:?}");
        let mut slapd = Slapd {
            child: None,
            dir,
            ldap_port: free_port(),
            ldaps_port: free_port(),
        };
        slapd.spawn();
        slapd
    }

    /// Starts `slapd` in the foreground (`-d 0`) and waits until both ports accept.
    fn spawn(&mut self) {
        let urls = format!(
            "ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{}/",
            self.ldap_port, self.ldaps_port
        );
        let mut child = Command::new("/usr/sbin/slapd")
            .args(["-d", "0", "-h", &urls, "-f"])
            .arg(self.dir.path().join("slapd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd is installed (.ci/run installs Debian's slapd)");
        let deadline = Instant::now() + Duration::from_secs(10);
        let up = |port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        while !(up(self.ldap_port) && up(self.ldaps_port)) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("slapd exited with {status}");
            }
            assert!(Instant::now() < deadline, "slapd did not start within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The service account's password in a file, as `auth.ldap.bind_password_file` wants.
    fn service_password_file(&self) -> PathBuf {
        let file = self.dir.path().join("service.pw");
        std::fs::write(&file, format!("{SERVICE_PASSWORD}\n")).unwrap();
        file
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server with `auth.directory = "ldap"` and the `[auth.ldap]` keys given, after `adjust`
/// has changed the rest of the configuration.
fn server_with(ldap: &[(&str, toml::Value)], adjust: impl FnOnce(&mut toml::Table)) -> Server {
    Server::start_with(|c| {
        adjust(c);
        let a = table(c, "auth");
        a.insert("directory".into(), "ldap".into());
        let l = table(a, "ldap");
        for (k, v) in ldap {
            l.insert((*k).into(), v.clone());
        }
    })
}

/// No login cache: every login reaches LDAP.
fn uncached(c: &mut toml::Table) {
    table(c, "auth").insert("cache_size".into(), 0.into());
}

/// No cache and no throttle delay: failures are answered at once too.
fn uncached_without_delay(c: &mut toml::Table) {
    uncached(c);
    let t = table(table(c, "auth"), "throttle");
    t.insert("base_delay_ms".into(), 0.into());
    t.insert("max_delay_ms".into(), 0.into());
}

fn direct_bind(slapd: &Slapd) -> Vec<(&'static str, toml::Value)> {
    vec![
        ("url", slapd.ldap_url().into()),
        ("bind_dn_template", format!("uid=%u,{PEOPLE}").into()),
    ]
}

fn search_bind(slapd: &Slapd) -> Vec<(&'static str, toml::Value)> {
    vec![
        ("url", slapd.ldap_url().into()),
        ("base", PEOPLE.into()),
        ("bind_dn", SERVICE_DN.into()),
        (
            "bind_password_file",
            slapd.service_password_file().display().to_string().into(),
        ),
    ]
}

fn path_value(path: &Path) -> toml::Value {
    path.display().to_string().into()
}

/// The tagged answer to `LOGIN user password` on a new connection.
async fn login(server: &Server, user: &str, password: &str) -> String {
    login_at(server.imap, user, password).await
}

async fn login_at(imap: std::net::SocketAddr, user: &str, password: &str) -> String {
    let mut c = Client::connect(imap).await;
    c.line().await;
    let lines = c
        .command("a1", &format!("LOGIN \"{user}\" \"{password}\""))
        .await;
    lines.last().unwrap().clone()
}

fn assert_ok(answer: &str) {
    assert!(answer.starts_with("a1 OK"), "{answer}");
}

fn assert_failed(answer: &str) {
    assert!(
        answer.starts_with("a1 NO [AUTHENTICATIONFAILED]"),
        "{answer}"
    );
}

fn assert_unavailable(answer: &str) {
    assert!(answer.starts_with("a1 NO [UNAVAILABLE]"), "{answer}");
}

#[tokio::test]
async fn direct_bind_checks_the_password_with_the_ldap_server() {
    let slapd = Slapd::start();
    let server = server_with(&direct_bind(&slapd), uncached);
    assert_ok(&login(&server, USER, PASSWORD).await);
    assert_failed(&login(&server, USER, "wrong horse").await);
    assert_failed(&login(&server, "nobody", PASSWORD).await);
    assert_failed(&login(&server, "", PASSWORD).await);
    // A name that would be DN syntax is one escaped RDN value (RFC 4514): no other entry.
    assert_failed(&login(&server, "bob,ou=people", PASSWORD).await);
}

#[tokio::test]
async fn search_and_bind_finds_the_user_with_the_service_account() {
    let slapd = Slapd::start();
    let server = server_with(&search_bind(&slapd), uncached);
    assert_ok(&login(&server, USER, PASSWORD).await);
    assert_ok(&login(&server, "bob", BOB_PASSWORD).await);
    assert_failed(&login(&server, USER, BOB_PASSWORD).await);
    assert_failed(&login(&server, "nobody", PASSWORD).await);
}

#[tokio::test]
async fn filter_syntax_in_the_user_name_matches_nothing() {
    let slapd = Slapd::start();
    let server = server_with(&search_bind(&slapd), uncached_without_delay);
    // Unescaped, each of these would match alice (or everyone) and bind with her password.
    for name in ["*", "al*", "*)(uid=*", "alice)(|(uid=*", "x)(uid=alice"] {
        assert_failed(&login(&server, name, PASSWORD).await);
    }
    assert_ok(&login(&server, USER, PASSWORD).await);
}

#[tokio::test]
async fn ldaps_and_starttls_verify_the_server_with_the_ca_file() {
    let slapd = Slapd::start();
    let template = ("bind_dn_template", format!("uid=%u,{PEOPLE}").into());
    let ca = ("ca_file", path_value(&slapd.ca()));
    let ldaps = server_with(
        &[
            ("url", slapd.ldaps_url().into()),
            template.clone(),
            ca.clone(),
        ],
        uncached,
    );
    assert_ok(&login(&ldaps, USER, PASSWORD).await);
    assert_failed(&login(&ldaps, USER, "wrong").await);
    let starttls = server_with(
        &[
            ("url", slapd.ldap_url().into()),
            ("starttls", true.into()),
            template.clone(),
            ca,
        ],
        uncached,
    );
    assert_ok(&login(&starttls, USER, PASSWORD).await);
    // A CA that did not sign slapd's certificate: TLS fails, so the directory is unavailable.
    let other_ca = slapd.dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, TestCa::new("another CA").pem()).unwrap();
    let untrusted = server_with(
        &[
            ("url", slapd.ldaps_url().into()),
            template,
            ("ca_file", path_value(&other_ca)),
        ],
        uncached,
    );
    assert_unavailable(&login(&untrusted, USER, PASSWORD).await);
}

#[tokio::test]
async fn ldap_down_is_unavailable_and_costs_no_throttle_budget_and_empty_passwords_bind_nothing() {
    let mut slapd = Slapd::start();
    let mut ldap = direct_bind(&slapd);
    ldap.push(("connect_timeout_ms", 500.into()));
    let server = server_with(&ldap, |c| {
        uncached_without_delay(c);
        table(table(c, "auth"), "throttle").insert("max_failures".into(), 1.into());
    });
    slapd.stop();
    for _ in 0..3 {
        assert_unavailable(&login(&server, USER, PASSWORD).await);
    }
    // One failure would spend this address's budget: the three were not charged.
    slapd.spawn();
    assert_ok(&login(&server, USER, PASSWORD).await);
    // Refused before any bind: with the server down a bind would have been UNAVAILABLE.
    slapd.stop();
    assert_failed(&login(&server, USER, "").await);
}

#[tokio::test]
async fn a_cached_login_needs_no_ldap_server_within_the_ttl() {
    let mut slapd = Slapd::start();
    let server = server_with(&direct_bind(&slapd), |_| {});
    assert_ok(&login(&server, USER, PASSWORD).await);
    slapd.stop();
    assert_ok(&login(&server, USER, PASSWORD).await);
    // Only that exact password is vouched for.
    assert_unavailable(&login(&server, USER, "wrong horse").await);
}

#[tokio::test]
async fn twenty_parallel_logins_share_the_pool() {
    let slapd = Slapd::start();
    let mut ldap = search_bind(&slapd);
    ldap.push(("pool_size", 3.into()));
    let server = server_with(&ldap, |c| {
        uncached(c);
        table(c, "limits").insert("max_unauthenticated_per_ip".into(), 50.into());
    });
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (user, password) = if i % 2 == 0 {
            (USER, PASSWORD)
        } else {
            ("bob", BOB_PASSWORD)
        };
        logins.spawn(login_at(server.imap, user, password));
    }
    while let Some(answer) = logins.join_next().await {
        assert_ok(&answer.unwrap());
    }
}

#[tokio::test]
async fn a_preauth_listener_and_lmtp_recipients_look_users_up_in_ldap() {
    let slapd = Slapd::start();
    let server = server_with(&search_bind(&slapd), |c| {
        crate::lmtp::with_lmtp_listener(c);
        let listeners = c["listeners"].as_array_mut().unwrap();
        let mut preauth = toml::Table::new();
        preauth.insert("address".into(), "127.0.0.1:0".into());
        preauth.insert("tls".into(), "none".into());
        preauth.insert("preauth_user".into(), USER.into());
        listeners.push(preauth.into());
    });
    let mut c = Client::connect(server.preauth[0]).await;
    let greeting = c.line().await;
    assert!(greeting.starts_with("* PREAUTH"), "{greeting}");

    let mut lmtp = Client::connect(server.lmtp.expect("an LMTP listener")).await;
    assert!(lmtp.line().await.starts_with("220 "));
    lmtp.send("LHLO test\r\n").await;
    while !lmtp.line().await.starts_with("250 ") {}
    lmtp.send("MAIL FROM:<sender@example.org>\r\n").await;
    assert!(lmtp.line().await.starts_with("250 "));
    for (rcpt, reply) in [
        ("alice", "250 "),
        ("bob@example.org", "250 "),
        ("*", "550 "),
    ] {
        lmtp.send(format!("RCPT TO:<{rcpt}>\r\n")).await;
        let line = lmtp.line().await;
        assert!(line.starts_with(reply), "{rcpt}: {line}");
    }
}

#[tokio::test]
async fn an_ldap_server_that_never_answers_is_unavailable_after_the_timeout() {
    // The kernel completes the TCP handshake for the backlog; nobody ever reads.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", silent.local_addr().unwrap());
    let server = server_with(
        &[
            ("url", url.into()),
            ("bind_dn_template", format!("uid=%u,{PEOPLE}").into()),
            ("timeout_ms", 300.into()),
        ],
        uncached,
    );
    let started = Instant::now();
    assert_unavailable(&login(&server, USER, PASSWORD).await);
    assert!(started.elapsed() < Duration::from_secs(10));
}
