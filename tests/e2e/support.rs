//! Test harness: starts a real server process on ephemeral loopback ports and talks to it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

pub use crate::test_pki::{NodeFiles, TestCa};

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse";
/// How long a test waits for any one server answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

pub fn roost_bin() -> &'static str {
    env!("CARGO_BIN_EXE_roost")
}

/// `roost SUBCOMMAND` with a clean environment (no `RUST_LOG`), stdin and stdout closed and
/// stderr piped, for tests that watch a start themselves; add arguments and spawn.
pub fn roost_command(subcommand: &str) -> Command {
    let mut command = Command::new(roost_bin());
    command
        .arg(subcommand)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs `roost SUBCOMMAND --config CONFIG ARGS`; its stdout, or a panic with its stderr.
pub fn roost_cli(subcommand: &str, config: &Path, args: &[&str]) -> String {
    let out = Command::new(roost_bin())
        .arg(subcommand)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "roost {subcommand} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running `roost serve` with its own data directory.
pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The plain + STARTTLS listener.
    pub imap: SocketAddr,
    /// The implicit-TLS listener.
    pub imaps: SocketAddr,
    /// Listeners marked `preauth_user` in the config, in order.
    pub preauth: Vec<SocketAddr>,
    /// The metrics and health endpoint, unless the config turned it off.
    pub http: Option<SocketAddr>,
    /// The first `protocol = "lmtp"` listener, if the config has one.
    pub lmtp: Option<SocketAddr>,
    pub log: Arc<Mutex<Vec<String>>>,
    expected_listeners: usize,
    http_enabled: bool,
    /// Extra environment of the process (test-only fault settings).
    env: Vec<(String, String)>,
}

/// The default test configuration; tests adjust it before start.
pub fn base_config(data_dir: &Path) -> toml::Table {
    let text = format!(
        r#"
node_id = "test-node"
data_dir = "{}"

[[listeners]]
address = "127.0.0.1:0"
tls = "starttls"

[[listeners]]
address = "127.0.0.1:0"
tls = "implicit"

[auth]
create_demo_user = false

[auth.throttle]

[limits]
drain_timeout_secs = 10

[log]
format = "json"
filter = "info"

[http]
listen = "127.0.0.1:0"
"#,
        data_dir.display()
    );
    text.parse().expect("base config parses")
}

pub fn table<'a>(config: &'a mut toml::Table, key: &str) -> &'a mut toml::Table {
    config
        .entry(key)
        .or_insert_with(|| toml::Value::Table(Default::default()))
        .as_table_mut()
        .expect("a table")
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(|_| {})
    }

    /// Starts a server after `adjust` has changed the base configuration.
    pub fn start_with(adjust: impl FnOnce(&mut toml::Table)) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        Server::launch(dir, &data, adjust)
    }

    /// Starts one node of a cluster: its own config, the shared `data` directory, the
    /// shared Redis (its CA configured when it speaks TLS); its node link on a free loopback
    /// port, secured with mutual TLS by a certificate from [`cluster_ca`] for its node id and
    /// the loopback address it advertises ([`NodeTls`]).
    pub fn start_node(
        data: &Path,
        node: &str,
        redis: &Redis,
        adjust: impl FnOnce(&mut toml::Table),
    ) -> Server {
        Self::try_start_node(data, node, redis, adjust)
            .unwrap_or_else(|log| panic!("roost node {node} exited early: {log:#?}"))
    }

    /// Like [`Server::start_node`], but a node that exits before it is ready gives its log.
    pub fn try_start_node(
        data: &Path,
        node: &str,
        redis: &Redis,
        adjust: impl FnOnce(&mut toml::Table),
    ) -> Result<Server, Vec<String>> {
        Self::try_start_node_with_env(data, node, redis, &[], adjust)
    }

    /// Like [`Server::start_node`], with extra environment variables for the process (the
    /// debug build's `ROOST_TEST_*` fault settings).
    pub fn start_node_with_env(
        data: &Path,
        node: &str,
        redis: &Redis,
        env: &[(&str, &str)],
    ) -> Server {
        Self::try_start_node_with_env(data, node, redis, env, |_| {})
            .unwrap_or_else(|log| panic!("roost node {node} exited early: {log:#?}"))
    }

    fn try_start_node_with_env(
        data: &Path,
        node: &str,
        redis: &Redis,
        env: &[(&str, &str)],
        adjust: impl FnOnce(&mut toml::Table),
    ) -> Result<Server, Vec<String>> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let link_tls = NodeTls::write(dir.path(), node);
        let node = node.to_owned();
        let url = redis.url();
        let redis_ca = redis.ca();
        Server::try_launch(dir, data, env, move |c| {
            c.insert("node_id".into(), node.into());
            let cluster = table(c, "cluster");
            cluster.insert("redis_url".into(), url.into());
            if let Some(ca) = redis_ca {
                cluster.insert("redis_ca".into(), ca.display().to_string().into());
            }
            cluster.insert("link_listen".into(), "127.0.0.1:0".into());
            cluster.insert("advertise_address".into(), "127.0.0.1:0".into());
            cluster.insert("lease_ttl_ms".into(), 3000.into());
            cluster.insert("link_tls".into(), link_tls.table().into());
            adjust(c);
        })
    }

    fn launch(
        dir: tempfile::TempDir,
        data: &Path,
        adjust: impl FnOnce(&mut toml::Table),
    ) -> Server {
        Self::try_launch(dir, data, Vec::new(), adjust)
            .unwrap_or_else(|log| panic!("roost exited early: {log:#?}"))
    }

    fn try_launch(
        dir: tempfile::TempDir,
        data: &Path,
        env: Vec<(String, String)>,
        adjust: impl FnOnce(&mut toml::Table),
    ) -> Result<Server, Vec<String>> {
        let (config_path, config) =
            try_write_config(dir.path(), data, adjust).map_err(|e| vec![e])?;

        let expected = config["listeners"].as_array().map_or(0, Vec::len);
        let http_enabled = config
            .get("http")
            .and_then(|h| h.get("enabled"))
            .and_then(toml::Value::as_bool)
            .unwrap_or(true);
        let mut server = Server {
            child: None,
            imap: "127.0.0.1:9".parse().unwrap(),
            imaps: "127.0.0.1:9".parse().unwrap(),
            preauth: Vec::new(),
            http: None,
            lmtp: None,
            http_enabled,
            dir,
            config: config_path,
            log: Arc::new(Mutex::new(Vec::new())),
            expected_listeners: expected,
            env,
        };
        server.try_spawn()?;
        Ok(server)
    }

    /// Starts the process and waits until every listener is up.
    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("roost exited early: {log:#?}");
        }
    }

    /// Starts the process and waits until every listener is up; the log if it exits first.
    fn try_spawn(&mut self) -> Result<(), Vec<String>> {
        let mut child = Command::new(roost_bin())
            .args(["serve", "--config"])
            .arg(&self.config)
            .env_remove("RUST_LOG")
            // The host's OpenTelemetry settings must not leak into a test's server.
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .env_remove("OTEL_TRACES_SAMPLER")
            .env_remove("OTEL_TRACES_SAMPLER_ARG")
            .env_remove("OTEL_SERVICE_NAME")
            .env_remove("OTEL_SDK_DISABLED")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start roost");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let listening = loop {
            let found = listening_addresses(&log.lock().unwrap());
            let http = http_address(&log.lock().unwrap());
            if found.len() == self.expected_listeners
                && http.is_some() == self.http_enabled
                && log
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|l| l.contains("roost is ready"))
            {
                break found;
            }
            if let Ok(Some(status)) = child.try_wait() {
                // The reader thread may still be taking in the last lines.
                std::thread::sleep(Duration::from_millis(100));
                let mut lines = log.lock().unwrap().clone();
                lines.push(format!("(exited with {status})"));
                return Err(lines);
            }
            assert!(
                Instant::now() < deadline,
                "roost did not start: {:#?}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let pick = |kind: &str| {
            listening
                .iter()
                .find(|(_, k, pre)| k == kind && !pre)
                .map(|(a, _, _)| *a)
        };
        self.imap = pick("Starttls").unwrap_or_else(|| "127.0.0.1:9".parse().unwrap());
        self.imaps = pick("Implicit").unwrap_or_else(|| "127.0.0.1:9".parse().unwrap());
        self.preauth = listening
            .iter()
            .filter(|(_, _, pre)| *pre)
            .map(|(a, _, _)| *a)
            .collect();
        self.http = http_address(&log.lock().unwrap());
        self.lmtp = lmtp_address(&log.lock().unwrap());
        self.child = Some(child);
        self.log = log;
        Ok(())
    }

    /// Waits for the (killed) process to exit and starts it again on the same data.
    pub fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.spawn();
    }

    pub fn cert_path(&self) -> PathBuf {
        let config: toml::Table = std::fs::read_to_string(&self.config)
            .unwrap()
            .parse()
            .unwrap();
        Path::new(config["data_dir"].as_str().unwrap()).join("tls/cert.pem")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, failing the test after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "roost did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory of the server process in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// CPU time the server process has used so far (user + system).
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the parenthesised command name; utime and stime are 14th and 15th.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // Linux reports in USER_HZ, 100 on every architecture Rust supports here.
        Duration::from_millis(ticks * 10)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().unwrap().try_wait().unwrap().is_none()
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Waits up to [`ANSWER_TIMEOUT`] for a log line containing every one of `needles` (the
    /// log is read by another thread, a little behind the process).
    pub fn wait_for_log(&self, needles: &[&str]) -> bool {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let found = self
                .log
                .lock()
                .unwrap()
                .iter()
                .any(|l| needles.iter().all(|n| l.contains(n)));
            if found || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Where this cluster node's link listens, from its `node link listening` log line.
    pub fn link(&self) -> SocketAddr {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "node link listening")
            .find_map(|v| v["fields"]["bound"].as_str()?.parse().ok())
            .expect("a cluster node logs where its link listens")
    }

    /// The node link TLS files of this cluster node.
    pub fn link_tls(&self) -> NodeTls {
        NodeTls::of(self.dir.path())
    }
}

/// The one test CA of this test run: it signs every node's link certificate and every TLS
/// Redis server's certificate.
pub fn cluster_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| TestCa::new("roost test cluster CA"))
}

/// A node's link certificate, key and the cluster CA, as files in its directory.
#[derive(Debug, Clone)]
pub struct NodeTls {
    pub files: NodeFiles,
}

impl NodeTls {
    fn of(dir: &Path) -> NodeTls {
        let dir = dir.join("link-tls");
        NodeTls {
            files: NodeFiles {
                cert: dir.join("node.crt"),
                key: dir.join("node.key"),
                ca: dir.join("ca.pem"),
            },
        }
    }

    /// Writes a certificate for node id `node` and the loopback addresses it is dialed at.
    pub fn write(dir: &Path, node: &str) -> NodeTls {
        let tls = NodeTls::of(dir);
        std::fs::create_dir_all(tls.files.cert.parent().unwrap()).unwrap();
        cluster_ca().write_node(
            tls.files.cert.parent().unwrap(),
            "node",
            &[node, "localhost", "127.0.0.1"],
        );
        tls
    }

    /// The `[cluster.link_tls]` table.
    pub fn table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        for (key, path) in [
            ("cert", &self.files.cert),
            ("key", &self.files.key),
            ("ca", &self.files.ca),
        ] {
            t.insert(key.into(), path.display().to_string().into());
        }
        t
    }

    /// A TLS client presenting this node's certificate and trusting the cluster CA, for tests
    /// that speak the link protocol by hand.
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        use rustls_pki_types::pem::PemObject;
        let chain = rustls_pki_types::CertificateDer::pem_file_iter(&self.files.cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_file(&self.files.key).unwrap();
        let config = client_config_builder(&self.files.ca)
            .with_client_auth_cert(chain, key)
            .unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `(address, tls kind, preauth)` from the server's JSON `listening` log lines.
fn listening_addresses(log: &[String]) -> Vec<(SocketAddr, String, bool)> {
    log.iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "listening")
        .filter_map(|v| {
            let f = &v["fields"];
            let address = f["address"].as_str()?.parse().ok()?;
            let preauth = f["preauth"].as_bool().unwrap_or(false);
            Some((address, f["tls"].as_str()?.to_owned(), preauth))
        })
        .collect()
}

/// The first LMTP listener's address from its `listening` log line.
fn lmtp_address(log: &[String]) -> Option<SocketAddr> {
    log.iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "listening" && v["fields"]["protocol"] == "Lmtp")
        .find_map(|v| v["fields"]["address"].as_str()?.parse().ok())
}

/// The HTTP endpoint's address from its `listening` log line (`service = "http"`).
fn http_address(log: &[String]) -> Option<SocketAddr> {
    log.iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "listening" && v["fields"]["service"] == "http")
        .find_map(|v| v["fields"]["address"].as_str()?.parse().ok())
}

/// A minimal HTTP/1.1 GET: returns the status code and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr)
            .await
            .expect("connect to HTTP endpoint");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes())
            .await
            .expect("write request");
        let mut response = Vec::new();
        tcp.read_to_end(&mut response).await.expect("read response");
        response
    };
    let response = tokio::time::timeout(ANSWER_TIMEOUT, exchange)
        .await
        .expect("timed out waiting for an HTTP response");
    let text = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("a complete HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_owned())
}

impl Server {
    /// The HTTP endpoint's address; panics when the config turned it off.
    pub fn http(&self) -> SocketAddr {
        self.http.expect("the HTTP endpoint is enabled")
    }
}

/// Writes `roost.toml` into `dir` (the base configuration on `data`, changed by `adjust`) and
/// adds the test user; returns its path and contents.
pub fn write_config(
    dir: &Path,
    data: &Path,
    adjust: impl FnOnce(&mut toml::Table),
) -> (PathBuf, toml::Table) {
    try_write_config(dir, data, adjust).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`write_config`]; `Err` when `roost user add` refuses the configuration.
pub fn try_write_config(
    dir: &Path,
    data: &Path,
    adjust: impl FnOnce(&mut toml::Table),
) -> Result<(PathBuf, toml::Table), String> {
    let mut config = base_config(data);
    adjust(&mut config);
    let path = dir.join("roost.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    try_add_user(&path, USER, PASSWORD)?;
    Ok((path, config))
}

pub fn add_user(config: &Path, user: &str, password: &str) {
    if let Err(e) = try_add_user(config, user, password) {
        panic!("{e}");
    }
}

/// `roost user add`; its stderr when it fails (an invalid configuration, say).
pub fn try_add_user(config: &Path, user: &str, password: &str) -> Result<(), String> {
    let mut child = Command::new(roost_bin())
        .args(["user", "--config"])
        .arg(config)
        .args(["add", user, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A user that exists already makes `roost user add` stop before reading its stdin.
    let _ = writeln!(child.stdin.take().unwrap(), "{password}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Cluster nodes share one users file: the second node finds the user there already.
    if out.status.success() || stderr.contains("exists") {
        Ok(())
    } else {
        Err(format!("roost user add failed: {stderr}"))
    }
}

/// A TLS client configuration that trusts exactly the server's generated certificate.
pub fn tls_connector(cert: &Path) -> tokio_rustls::TlsConnector {
    let config = client_config_builder(cert).with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A ring-only client configuration trusting the certificates in `roots`, before its choice
/// of client certificate.
fn client_config_builder(
    roots: &Path,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    use rustls_pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_file_iter(roots).unwrap() {
        store.add(c.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
}

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A raw IMAP client: sends bytes, reads CRLF lines.
pub struct Client {
    stream: Option<Box<dyn Io>>,
    /// Kept for STARTTLS, which needs the bare TCP stream.
    plain: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Client {
    /// Connects over plain TCP (no greeting read yet).
    pub async fn connect(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        Client {
            stream: None,
            plain: Some(tcp),
            buf: Vec::new(),
        }
    }

    /// Connects over plain TCP from the loopback address `source` (any of 127.0.0.0/8), so
    /// one test can play clients at many addresses.
    pub async fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind the source address");
        let tcp = socket.connect(addr).await.expect("connect");
        Client {
            stream: None,
            plain: Some(tcp),
            buf: Vec::new(),
        }
    }

    /// A client over any byte stream, e.g. a `roost imap` process's stdout and stdin.
    pub fn over(io: impl Io + 'static) -> Client {
        Client {
            stream: Some(Box::new(io)),
            plain: None,
            buf: Vec::new(),
        }
    }

    /// Connects with implicit TLS, verifying the server's certificate.
    pub async fn connect_tls(addr: SocketAddr, cert: &Path) -> Client {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let tls = tls_connector(cert)
            .connect("localhost".try_into().unwrap(), tcp)
            .await
            .expect("TLS handshake");
        Client {
            stream: Some(Box::new(tls)),
            plain: None,
            buf: Vec::new(),
        }
    }

    fn io(&mut self) -> &mut (dyn Io + '_) {
        match (&mut self.stream, &mut self.plain) {
            (Some(s), _) => s.as_mut(),
            (None, Some(p)) => p,
            (None, None) => panic!("client has no stream"),
        }
    }

    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let io = self.io();
        io.write_all(bytes.as_ref()).await.expect("write");
        io.flush().await.expect("flush");
    }

    /// Reads one line including its CRLF.
    pub async fn line(&mut self) -> String {
        tokio::time::timeout(ANSWER_TIMEOUT, self.line_inner())
            .await
            .expect("timed out waiting for a line")
    }

    async fn line_inner(&mut self) -> String {
        // Where the search for CRLF resumes: a long line (a literal without line breaks)
        // arrives in many reads, and rescanning it from the start each time is quadratic.
        let mut scanned = 0;
        loop {
            if let Some(end) = self.buf[scanned..].windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..scanned + end + 2).collect();
                return String::from_utf8_lossy(&line).into_owned();
            }
            scanned = self.buf.len().saturating_sub(1);
            let mut chunk = [0u8; 4096];
            let n = self.io().read(&mut chunk).await.expect("read");
            assert!(
                n > 0,
                "connection closed while waiting for a line; have {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next `n` octets as they are (a literal's data, binary included).
    pub async fn octets(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            let mut chunk = [0u8; 65536];
            let read = tokio::time::timeout(ANSWER_TIMEOUT, self.io().read(&mut chunk))
                .await
                .expect("timed out reading a literal")
                .expect("read");
            assert!(read > 0, "connection closed inside a literal");
            self.buf.extend_from_slice(&chunk[..read]);
        }
        self.buf.drain(..n).collect()
    }

    /// Like [`Client::command`], but `None` when the connection breaks (the server died).
    pub async fn try_command(&mut self, tag: &str, command: &str) -> Option<Vec<String>> {
        let line = format!("{tag} {command}\r\n");
        let io = self.io();
        io.write_all(line.as_bytes()).await.ok()?;
        io.flush().await.ok()?;
        let mut lines = Vec::new();
        loop {
            let line = tokio::time::timeout(ANSWER_TIMEOUT, self.try_line())
                .await
                .ok()??;
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return Some(lines);
            }
        }
    }

    async fn try_line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            let mut chunk = [0u8; 4096];
            let n = self.io().read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `tag command` and returns every line up to and including the tagged one.
    pub async fn command(&mut self, tag: &str, command: &str) -> Vec<String> {
        self.send(format!("{tag} {command}\r\n")).await;
        self.until_tagged(tag).await
    }

    pub async fn until_tagged(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    pub async fn login(&mut self) {
        let lines = self
            .command("L1", &format!("LOGIN {USER} \"{PASSWORD}\""))
            .await;
        assert!(lines.last().unwrap().starts_with("L1 OK"), "{lines:?}");
    }

    /// Upgrades the connection after the server's OK to STARTTLS.
    pub async fn start_tls(&mut self, cert: &Path) {
        let tcp = self.plain.take().expect("plain connection");
        assert!(
            self.buf.is_empty(),
            "unread data before TLS: {:?}",
            self.buf
        );
        let tls = tls_connector(cert)
            .connect("localhost".try_into().unwrap(), tcp)
            .await
            .expect("TLS handshake");
        self.stream = Some(Box::new(tls));
    }

    /// Replaces the connection's byte stream with `wrap(stream, unread)`, `unread` being what
    /// was read past the last line (COMPRESS puts a deflate layer in between).
    pub fn wrap(&mut self, wrap: impl FnOnce(Box<dyn Io>, Vec<u8>) -> Box<dyn Io>) {
        let io: Box<dyn Io> = match (self.stream.take(), self.plain.take()) {
            (Some(s), _) => s,
            (None, Some(p)) => Box::new(p),
            (None, None) => panic!("client has no stream"),
        };
        let unread = std::mem::take(&mut self.buf);
        self.stream = Some(wrap(io, unread));
    }

    /// Waits for the server to close the connection. For TLS the close must be clean
    /// (close_notify): an abrupt close is an `UnexpectedEof` error.
    pub async fn expect_closed(&mut self) -> Result<(), std::io::Error> {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(ANSWER_TIMEOUT, self.io().read_to_end(&mut rest)).await;
        let read = read.expect("timed out waiting for close");
        assert!(
            rest.is_empty(),
            "unexpected data before close: {:?}",
            String::from_utf8_lossy(&rest)
        );
        read.map(|_| ())
    }
}

/// The value of `[CODE value]` in the first line carrying it.
pub fn code_value(lines: &[String], code: &str) -> Option<String> {
    let start = format!("[{code} ");
    lines.iter().find_map(|l| {
        let rest = &l[l.find(&start)? + start.len()..];
        Some(rest[..rest.find(']')?].to_owned())
    })
}

/// The capability list a plain loopback connection is greeted with.
pub const GREETING_CAPS: &str =
    "IMAP4rev1 IMAP4rev2 ID ENABLE IDLE LITERAL+ SASL-IR STARTTLS AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN";
/// The capability list after login.
pub const LOGGED_IN_CAPS: &str = "IMAP4rev1 IMAP4rev2 ID ENABLE IDLE LITERAL+ SASL-IR NAMESPACE UNSELECT UIDPLUS \
ESEARCH SORT SORT=DISPLAY ESORT CONTEXT=SEARCH CONTEXT=SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES SEARCHRES LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE CHILDREN MOVE MULTIAPPEND STATUS=SIZE BINARY CONDSTORE QRESYNC WITHIN PREVIEW \
SAVEDATE UNAUTHENTICATE NOTIFY OBJECTID COMPRESS=DEFLATE UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE METADATA \
APPENDLIMIT=67108864";
/// The mechanisms offered over TLS, where SCRAM-SHA-256-PLUS has a channel to bind to.
pub const TLS_AUTH: &str = "AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN";
/// The capabilities every connection has before login.
pub const BASE_CAPS: &str = "IMAP4rev1 IMAP4rev2 ID ENABLE IDLE LITERAL+ SASL-IR";

/// A small, complete RFC 5322 message whose subject and body carry `n`.
pub fn sample_message(n: u32) -> String {
    format!(
        "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: Message {n}\r\n\
         Date: Wed, 17 Jul 1996 02:23:25 -0700\r\nMessage-ID: <{n}@example.com>\r\n\r\nHello Bob,\r\nthis is message {n}.\r\n"
    )
}

impl Client {
    /// Connects, reads the greeting and logs in.
    pub async fn logged_in(server: &Server) -> Client {
        let mut c = Client::connect(server.imap).await;
        c.line().await;
        c.login().await;
        c
    }

    /// Connects, logs in and enables IMAP4rev2 (such a session is told `* OK [CLOSED]` when
    /// its mailbox goes away; an IMAP4rev1 session gets `* BYE`).
    pub async fn logged_in_rev2(server: &Server) -> Client {
        let mut c = Client::logged_in(server).await;
        c.ok("ENABLE IMAP4rev2").await;
        c
    }

    /// APPENDs with a non-synchronizing literal and returns the new UID (from APPENDUID).
    pub async fn append(&mut self, mailbox: &str, flags: &str, message: &str) -> u32 {
        let lines = self
            .command(
                "ap",
                &format!(
                    "APPEND {mailbox} ({flags}) {{{}+}}\r\n{message}",
                    message.len()
                ),
            )
            .await;
        let last = lines.last().unwrap();
        assert!(last.starts_with("ap OK [APPENDUID "), "{lines:?}");
        last.split_whitespace()
            .nth(4)
            .unwrap()
            .trim_end_matches(']')
            .parse()
            .unwrap()
    }

    /// Fills `mailbox` with `count` sample messages through the server, many per MULTIAPPEND
    /// command (one group commit each), so tests can work on real-sized mailboxes quickly.
    pub async fn seed(&mut self, mailbox: &str, count: u32) {
        const PER_COMMAND: u32 = 500;
        let mut n = 1;
        while n <= count {
            let last = (n + PER_COMMAND - 1).min(count);
            let mut command = format!("APPEND {mailbox}");
            for i in n..=last {
                let message = sample_message(i);
                command.push_str(&format!(" {{{}+}}\r\n{message}", message.len()));
            }
            self.ok(&command).await;
            n = last + 1;
        }
    }

    /// Sends a command and asserts it completed with OK; returns the untagged lines.
    pub async fn ok(&mut self, command: &str) -> Vec<String> {
        let mut lines = self.command("ok", command).await;
        let last = lines.pop().unwrap();
        assert!(
            last.starts_with("ok OK"),
            "{command}: {last} after {lines:?}"
        );
        lines
    }
}

/// A real `redis-server` on a free loopback port, stopped when dropped.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    options: RedisOptions,
    /// The server's TLS files, when it speaks TLS.
    tls: Option<tempfile::TempDir>,
}

/// How a test's Redis is set up.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// TLS only (`rediss://`), with a certificate from [`cluster_ca`] for 127.0.0.1.
    pub tls: bool,
    /// ACL users `(name, password)` allowed what Roost needs on its own keys and channel;
    /// when any is given, the passwordless `default` user is turned off.
    pub users: Vec<(String, String)>,
}

/// What an ACL user needs: Roost's keys and channel, and the command groups it uses
/// (as docs/clustering.md recommends).
pub const REDIS_ACL_RULES: &[&str] = &[
    "~roost:*",
    "&roost:*",
    "+@connection",
    "+@read",
    "+@write",
    "+@scripting",
    "+@pubsub",
    "-@dangerous",
];

impl Redis {
    pub fn start() -> Redis {
        Self::start_with(RedisOptions::default()).expect("redis-server starts")
    }

    /// Starts a server as `options` say; `Err` with the reason when it does not come up
    /// (for TLS: a redis-server built without TLS support).
    pub fn start_with(options: RedisOptions) -> Result<Redis, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let tls = options.tls.then(|| {
            let dir = tempfile::tempdir().unwrap();
            cluster_ca().write_node(dir.path(), "redis", &["127.0.0.1"]);
            dir
        });
        let mut redis = Redis {
            child: None,
            port,
            options,
            tls,
        };
        redis.try_spawn()?;
        Ok(redis)
    }

    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            .map(String::from)
            .into();
        let port = self.port.to_string();
        match &self.tls {
            None => args.extend(["--port".into(), port]),
            Some(dir) => {
                let file = |name: &str| dir.path().join(name).display().to_string();
                args.extend(["--port".into(), "0".into(), "--tls-port".into(), port]);
                args.extend(["--tls-cert-file".into(), file("redis.crt")]);
                args.extend(["--tls-key-file".into(), file("redis.key")]);
                args.extend(["--tls-ca-cert-file".into(), file("ca.pem")]);
                args.extend(["--tls-auth-clients".into(), "no".into()]);
            }
        }
        for (user, password) in &self.options.users {
            args.extend(["--user".into(), user.clone(), "on".into()]);
            args.push(format!(">{password}"));
            args.extend(REDIS_ACL_RULES.iter().map(|r| (*r).to_owned()));
        }
        if !self.options.users.is_empty() {
            args.extend(["--user".into(), "default".into(), "off".into()]);
        }
        args
    }

    fn spawn(&mut self) {
        if let Err(e) = self.try_spawn() {
            panic!("{e}");
        }
    }

    fn try_spawn(&mut self) -> Result<(), String> {
        // Its complaints about the arguments go to stderr: kept in a file, not a pipe nobody
        // drains once it runs.
        let mut errors = tempfile::tempfile().unwrap();
        let mut child = Command::new("redis-server")
            .args(self.args())
            .stdout(Stdio::null())
            .stderr(errors.try_clone().unwrap())
            .spawn()
            .expect("redis-server is installed (.ci/run installs Debian's redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                use std::io::{Read, Seek};
                let mut stderr = String::new();
                let _ = errors.rewind();
                let _ = errors.read_to_string(&mut stderr);
                return Err(format!("redis-server exited with {status}: {stderr}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not start within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        Ok(())
    }

    /// `redis://` or `rediss://`, without credentials.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    /// The CA that signed the server's certificate, when it speaks TLS.
    pub fn ca(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|dir| dir.path().join("ca.pem"))
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One scrape of `/metrics`: sample values by name and (sorted) labels.
pub struct Scrape(HashMap<String, f64>);

fn series_key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    format!("{name}{{{}}}", labels.join(","))
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut values = HashMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels: Vec<(&str, &str)> = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("label=\"value\"");
                    (k, v.trim_matches('"'))
                })
                .collect();
            values.insert(series_key(name, &labels), value.parse().expect("a number"));
        }
        Scrape(values)
    }

    /// The sample's value; 0 when the series does not exist yet.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .get(&series_key(name, labels))
            .copied()
            .unwrap_or(0.0)
    }
}

pub async fn scrape(server: &Server) -> Scrape {
    let (status, body) = http_get(server.http(), "/metrics").await;
    assert_eq!(status, 200, "{body}");
    Scrape::parse(&body)
}

/// A `roost imap --user alice` process, spoken to over its stdin and stdout.
pub struct Tunnel {
    pub child: tokio::process::Child,
    pub client: Client,
}

impl Tunnel {
    pub async fn start(config: &Path) -> Tunnel {
        let mut child = tokio::process::Command::new(roost_bin())
            .args(["imap", "--user", USER, "--config"])
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let io = tokio::io::join(child.stdout.take().unwrap(), child.stdin.take().unwrap());
        let mut client = Client::over(io);
        let greeting = client.line().await;
        assert!(greeting.starts_with("* PREAUTH "), "{greeting}");
        Tunnel { child, client }
    }

    pub async fn logout(mut self) -> tokio::process::Child {
        self.client.ok("LOGOUT").await;
        self.child
    }
}

pub async fn exit_of(mut child: tokio::process::Child) -> ExitStatus {
    tokio::time::timeout(ANSWER_TIMEOUT, child.wait())
        .await
        .expect("roost imap exits")
        .unwrap()
}
