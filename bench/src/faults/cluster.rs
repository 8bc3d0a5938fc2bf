//! The cluster under test: one `redis-server` (no persistence) and N `roost serve` nodes
//! sharing one data directory, each node in its own network namespace when the suite has
//! one ([`Network`]), else all on loopback with free ports. Processes are started, signalled
//! and killed by pid; their logs are kept in the run directory for the report.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::netns::{self, Network};

const IMAP_PORT: u16 = 3143;
const LINK_PORT: u16 = 7143;

/// Where node processes listen and how they are started.
enum Placement {
    Namespaces(Network),
    /// Loopback: the ports picked once per node (IMAP, link).
    Loopback(Vec<(u16, u16)>),
}

pub struct Redis {
    child: Option<Child>,
    host: String,
    port: u16,
    log: PathBuf,
}

impl Redis {
    fn start(host: &str, dir: &Path) -> anyhow::Result<Redis> {
        let mut redis = Redis {
            child: None,
            host: host.to_owned(),
            port: free_port(host)?,
            log: dir.join("redis.log"),
        };
        redis.spawn()?;
        Ok(redis)
    }

    /// Starts it again, empty (no persistence), on the same port.
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        let log = File::options().create(true).append(true).open(&self.log)?;
        let child = Command::new("redis-server")
            .args(["--bind", &self.host, "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting redis-server (is it installed?)")?;
        self.child = Some(child);
        wait_listening(
            &format!("{}:{}", self.host, self.port),
            Duration::from_secs(10),
        )
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn url(&self) -> String {
        format!("redis://{}:{}/", self.host, self.port)
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Node {
    pub id: String,
    /// The IMAP address clients use.
    pub addr: String,
    pub config: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
    /// How far [`Cluster::new_error_lines`] has read the log.
    scanned: u64,
}

impl Node {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
}

pub struct Cluster {
    pub dir: PathBuf,
    pub data: PathBuf,
    pub binary: PathBuf,
    pub redis: Redis,
    pub nodes: Vec<Node>,
    pub lease: Duration,
    placement: Placement,
    _tmp: Option<tempfile::TempDir>,
}

/// How the cluster is laid out.
pub struct ClusterSpec<'a> {
    pub binary: &'a Path,
    pub nodes: usize,
    pub lease: Duration,
    pub users: usize,
    pub password: &'a dyn Fn(usize) -> String,
    /// Keep the run directory (logs, data) here instead of a temporary one.
    pub keep_dir: Option<PathBuf>,
    /// Try network namespaces (else loopback).
    pub namespaces: bool,
}

impl Cluster {
    /// Starts Redis and every node, after creating the users.
    ///
    /// # Errors
    /// When a process does not start or a node is not ready within 30 s.
    pub fn start(spec: &ClusterSpec<'_>) -> anyhow::Result<(Cluster, Option<String>)> {
        let (tmp, dir) = match &spec.keep_dir {
            Some(d) => {
                let empty = std::fs::read_dir(d).map_or(true, |mut e| e.next().is_none());
                anyhow::ensure!(empty, "{} is not empty", d.display());
                std::fs::create_dir_all(d)?;
                (None, d.clone())
            }
            None => {
                let t = tempfile::tempdir()?;
                let d = t.path().to_owned();
                (Some(t), d)
            }
        };
        let mut why_not = None;
        let placement = if spec.namespaces {
            match Network::create(spec.nodes) {
                Ok(net) => Placement::Namespaces(net),
                Err(e) => {
                    why_not = Some(format!("{e:#}"));
                    loopback(spec.nodes)?
                }
            }
        } else {
            why_not = Some("--no-namespaces".into());
            loopback(spec.nodes)?
        };
        let redis_host = match &placement {
            Placement::Namespaces(_) => netns::redis_ip(),
            Placement::Loopback(_) => "127.0.0.1".to_owned(),
        };
        let redis = Redis::start(&redis_host, &dir)?;
        let mut cluster = Cluster {
            data: dir.join("data"),
            dir,
            binary: spec.binary.to_owned(),
            redis,
            nodes: Vec::new(),
            lease: spec.lease,
            placement,
            _tmp: tmp,
        };
        for n in 0..spec.nodes {
            let node = cluster.write_node(n, &format!("f{}", n + 1))?;
            cluster.nodes.push(node);
        }
        for i in 1..=spec.users {
            cluster.add_user(&format!("user{i}"), &(spec.password)(i))?;
        }
        for n in 0..spec.nodes {
            cluster.start_node(n)?;
        }
        Ok((cluster, why_not))
    }

    pub fn namespaces(&self) -> Option<&Network> {
        match &self.placement {
            Placement::Namespaces(n) => Some(n),
            Placement::Loopback(_) => None,
        }
    }

    fn write_node(&self, n: usize, id: &str) -> anyhow::Result<Node> {
        let (ip, imap, link) = match &self.placement {
            Placement::Namespaces(_) => (netns::node_ip(n), IMAP_PORT, LINK_PORT),
            Placement::Loopback(ports) => ("127.0.0.1".to_owned(), ports[n].0, ports[n].1),
        };
        let config = self.dir.join(format!("{id}.toml"));
        std::fs::write(
            &config,
            node_config(
                "",
                id,
                &self.data,
                &format!("{ip}:{imap}"),
                &format!("{ip}:{link}"),
                &self.redis.url(),
                self.lease,
            ),
        )?;
        Ok(Node {
            id: id.to_owned(),
            addr: format!("{ip}:{imap}"),
            log: self.dir.join(format!("{id}.log")),
            config,
            child: None,
            scanned: 0,
        })
    }

    fn add_user(&self, user: &str, password: &str) -> anyhow::Result<()> {
        crate::check::add_user(&self.binary, &self.nodes[0].config, user, password)
    }

    /// Starts node `n` and waits until it logs that it is ready.
    ///
    /// # Errors
    /// When it exits first or is not ready within 30 s (the log's tail is in the error).
    pub fn start_node(&mut self, n: usize) -> anyhow::Result<()> {
        let log = self.nodes[n].log.clone();
        // The log is appended to across restarts: look only at what this start writes.
        let from = file_len(&log);
        let child = self.spawn_roost(n, &self.nodes[n].config.clone(), &log)?;
        self.nodes[n].child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if log_since(&log, from).contains("roost is ready") {
                return Ok(());
            }
            if !self.nodes[n].is_running() {
                anyhow::bail!(
                    "node {} exited before it was ready: {}",
                    self.nodes[n].id,
                    tail(&log, 2000)
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "node {} not ready within 30 s",
                self.nodes[n].id
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn spawn_roost(&self, n: usize, config: &Path, log: &Path) -> anyhow::Result<Child> {
        let mut argv: Vec<String> = match &self.placement {
            Placement::Namespaces(_) => Network::exec_prefix(n),
            Placement::Loopback(_) => Vec::new(),
        };
        argv.push(self.binary.display().to_string());
        let out = File::options().create(true).append(true).open(log)?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .args(["serve", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        // The nodes log at `info` unless `FAULTS_NODE_LOG` gives a filter (e.g.
        // `roost=debug,info` to time a takeover's steps).
        match std::env::var("FAULTS_NODE_LOG") {
            Ok(filter) => cmd.env("RUST_LOG", filter),
            Err(_) => cmd.env_remove("RUST_LOG"),
        };
        cmd.spawn().with_context(|| format!("starting {argv:?}"))
    }

    /// Starts a second process with node `n`'s id (own ports, same Redis and data dir) and
    /// waits for it to refuse; `Ok(log)` when it exited non-zero, `Err` when it started.
    pub fn start_duplicate_id(&mut self, n: usize, wait: Duration) -> anyhow::Result<String> {
        let id = self.nodes[n].id.clone();
        let (imap, link) = (free_port("127.0.0.1")?, free_port("127.0.0.1")?);
        let config = self.dir.join(format!("{id}-twin.toml"));
        std::fs::write(
            &config,
            node_config(
                // Its own control socket: as on another host, only Redis can tell.
                &format!(
                    "control_socket = \"{}\"\n",
                    self.dir.join("twin.sock").display()
                ),
                &id,
                &self.data,
                &format!("127.0.0.1:{imap}"),
                &format!("127.0.0.1:{link}"),
                &self.redis.url(),
                self.lease,
            ),
        )?;
        let log = self.dir.join(format!("{id}-twin.log"));
        let _ = std::fs::remove_file(&log);
        let out = File::create(&log)?;
        let mut child = Command::new(&self.binary)
            .args(["serve", "--config"])
            .arg(&config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = child.try_wait()? {
                let text = tail(&log, 1500);
                anyhow::ensure!(
                    !status.success(),
                    "a second node with id {id} exited 0: {text}"
                );
                return Ok(text);
            }
            if Instant::now() > deadline || tail(&log, 100_000).contains("roost is ready") {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!(
                    "a second node with id {id} started beside the live one: {}",
                    tail(&log, 1500)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `roost cluster ARGS` with node 0's config; its output, or the error with stderr.
    pub fn cluster_cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.binary)
            .args(["cluster", "--config"])
            .arg(&self.nodes[0].config)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        anyhow::ensure!(
            out.status.success(),
            "roost cluster {}: {}{}",
            args.join(" "),
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(text)
    }

    pub fn signal(&self, n: usize, signal: &str) {
        if let Some(pid) = self.nodes[n].pid() {
            send_signal(pid, signal);
        }
    }

    /// kill -9 and reap.
    pub fn kill_node(&mut self, n: usize) {
        if let Some(mut c) = self.nodes[n].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM (the node drains), waiting at most `wait` before kill -9.
    pub fn stop_node(&mut self, n: usize, wait: Duration) -> bool {
        let Some(mut c) = self.nodes[n].child.take() else {
            return true;
        };
        send_signal(c.id(), "TERM");
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The ERROR lines the nodes logged since the last call.
    pub fn new_error_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        for node in &mut self.nodes {
            let text = log_since(&node.log, node.scanned);
            node.scanned += text.len() as u64;
            lines.extend(
                text.lines()
                    .filter(|l| l.contains(" ERROR "))
                    .map(|l| format!("{}: {l}", node.id)),
            );
        }
        lines
    }

    /// The node (index) holding `account`'s lease, read from Redis.
    pub async fn owner(&self, account: &str) -> Option<(usize, u64)> {
        let value = super::resp::get(&self.redis.addr(), &format!("roost:owner:{account}"))
            .await
            .ok()??;
        let (node, epoch) = value.split_once('|')?;
        let n = self.nodes.iter().position(|x| x.id == node)?;
        Some((n, epoch.parse().ok()?))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in 0..self.nodes.len() {
            // A stopped process does not die of SIGKILL on every kernel until continued.
            self.signal(n, "CONT");
            self.kill_node(n);
        }
        if let Some(net) = self.namespaces() {
            net.heal();
        }
    }
}

fn node_config(
    top: &str,
    id: &str,
    data: &Path,
    imap: &str,
    link: &str,
    redis_url: &str,
    lease: Duration,
) -> String {
    format!(
        "{top}node_id = \"{id}\"\ndata_dir = \"{}\"\n\n[[listeners]]\naddress = \"{imap}\"\n\
         tls = \"none\"\n\n[auth]\ncreate_demo_user = false\nallow_plaintext = true\n\n\
         [limits]\nmax_connections_per_ip = 10000\nmax_unauthenticated_per_ip = 10000\n\
         drain_timeout_secs = 5\n\n[log]\nfilter = \"info\"\n\n[http]\nenabled = false\n\n\
         [cluster]\nredis_url = \"{redis_url}\"\nlink_listen = \"{link}\"\n\
         advertise_address = \"{link}\"\nlease_ttl_ms = {}\nlink_plaintext = true\n",
        data.display(),
        lease.as_millis()
    )
}

fn loopback(nodes: usize) -> anyhow::Result<Placement> {
    let ports = (0..nodes)
        .map(|_| Ok((free_port("127.0.0.1")?, free_port("127.0.0.1")?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Placement::Loopback(ports))
}

fn free_port(host: &str) -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind((host, 0))?.local_addr()?.port())
}

fn wait_listening(addr: &str, wait: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + wait;
    while std::net::TcpStream::connect(addr).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

pub fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn log_since(path: &Path, from: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.seek(SeekFrom::Start(from));
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

/// The last `bytes` of a log.
pub fn tail(path: &Path, bytes: u64) -> String {
    log_since(path, file_len(path).saturating_sub(bytes))
}
