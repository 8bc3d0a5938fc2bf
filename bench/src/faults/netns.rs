//! The suite's network: one Linux network namespace per node, each joined by a veth pair to a
//! bridge in the suite's own namespace, so a partition is a route the suite adds inside one
//! node's namespace (`blackhole`: packets vanish, as on a real cut link) and removes again.
//!
//! ```text
//!   bench + redis (10.77.K.253) ── bridge rfbrK (10.77.K.254) ──┬─ veth ─ ns rfK-n1: 10.77.K.1
//!                                                                ├─ veth ─ ns rfK-n2: 10.77.K.2
//!                                                                └─ veth ─ ns rfK-n3: 10.77.K.3
//! ```
//!
//! K is taken from the process id, so that two runs on one machine do not meet. Clients
//! reach a node from 10.77.K.254 and Redis listens on 10.77.K.253, so a node can lose
//! Redis while its clients and peers still reach it. Needs root (`CAP_NET_ADMIN`); without it
//! [`Network::create`] fails and the suite falls back to SIGSTOP for the partition faults.

use std::process::{Command, Stdio};

use anyhow::Context;

/// This run's number, K above.
fn instance() -> u32 {
    std::process::id() % 200 + 1
}

fn bridge() -> String {
    format!("rfbr{}", instance())
}

fn host_ip(last: u32) -> String {
    format!("10.77.{}.{last}", instance())
}

pub fn redis_ip() -> String {
    host_ip(253)
}

/// The namespaces and links of one run; removed when dropped.
pub struct Network {
    nodes: usize,
}

fn ns_name(node: usize) -> String {
    format!("rf{}-n{}", instance(), node + 1)
}

/// The two ends of node `node`'s veth pair: in the suite's namespace, in the node's.
fn veth(node: usize) -> (String, String) {
    let k = instance();
    (format!("rf{}h{k}", node + 1), format!("rf{}n{k}", node + 1))
}

/// The address node `node` (0-based) listens on inside its namespace.
pub fn node_ip(node: usize) -> String {
    host_ip(node as u32 + 1)
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running ip")?;
    anyhow::ensure!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

impl Network {
    /// Creates the bridge and one namespace per node.
    ///
    /// # Errors
    /// When namespaces cannot be made (not root, no `ip`, a container without
    /// `CAP_NET_ADMIN`); whatever was made is removed again.
    pub fn create(nodes: usize) -> anyhow::Result<Network> {
        let net = Network { nodes };
        net.remove_leftovers();
        net.build().inspect_err(|_| net.remove_leftovers())?;
        Ok(net)
    }

    fn build(&self) -> anyhow::Result<()> {
        let bridge = bridge();
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/24", host_ip(254)),
            "dev",
            &bridge,
        ])?;
        ip(&["addr", "add", &format!("{}/24", redis_ip()), "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])?;
        for n in 0..self.nodes {
            let ns = ns_name(n);
            let (host, inner) = veth(n);
            ip(&["netns", "add", &ns])?;
            ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &host, "master", &bridge])?;
            ip(&["link", "set", &host, "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", node_ip(n)),
                "dev",
                &inner,
            ])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// The command prefix that runs a program inside node `node`'s namespace.
    pub fn exec_prefix(node: usize) -> Vec<String> {
        vec!["ip".into(), "netns".into(), "exec".into(), ns_name(node)]
    }

    /// Cuts node `node` off from Redis (clients and peers still reach it).
    pub fn cut_from_redis(&self, node: usize) -> anyhow::Result<()> {
        blackhole(node, &redis_ip(), true)
    }

    /// Cuts node `node` off from every other node, both ways (clients and Redis still reach it).
    pub fn cut_from_peers(&self, node: usize) -> anyhow::Result<()> {
        for peer in (0..self.nodes).filter(|p| *p != node) {
            blackhole(node, &node_ip(peer), true)?;
            blackhole(peer, &node_ip(node), true)?;
        }
        Ok(())
    }

    /// Removes every partition route.
    pub fn heal(&self) {
        for n in 0..self.nodes {
            let _ = blackhole(n, &redis_ip(), false);
            for peer in (0..self.nodes).filter(|p| *p != n) {
                let _ = blackhole(n, &node_ip(peer), false);
            }
        }
    }

    fn remove_leftovers(&self) {
        for n in 0..self.nodes.max(3) {
            let _ = ip(&["netns", "del", &ns_name(n)]);
            let _ = ip(&["link", "del", &veth(n).0]);
        }
        let _ = ip(&["link", "del", &bridge()]);
    }
}

fn blackhole(node: usize, dest: &str, add: bool) -> anyhow::Result<()> {
    let verb = if add { "add" } else { "del" };
    ip(&[
        "-n",
        &ns_name(node),
        "route",
        verb,
        "blackhole",
        &format!("{dest}/32"),
    ])
}

impl Drop for Network {
    fn drop(&mut self) {
        self.remove_leftovers();
    }
}
