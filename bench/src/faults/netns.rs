//! The suite's network: one Linux network namespace per node, each joined by a veth pair to a
//! bridge in the suite's own namespace, so a partition is a route the suite adds inside one
//! node's namespace (`blackhole`: packets vanish, as on a real cut link) and removes again.
//!
//! ```text
//!   bench + redis (10.77.0.253) ── bridge rfbr (10.77.0.254) ──┬─ veth ─ ns rf-n1: 10.77.0.1
//!                                                              ├─ veth ─ ns rf-n2: 10.77.0.2
//!                                                              └─ veth ─ ns rf-n3: 10.77.0.3
//! ```
//!
//! Clients reach a node from 10.77.0.254 and Redis listens on 10.77.0.253, so a node can lose
//! Redis while its clients and peers still reach it. Needs root (`CAP_NET_ADMIN`); without it
//! [`Network::create`] fails and the suite falls back to SIGSTOP for the partition faults.

use std::process::{Command, Stdio};

use anyhow::Context;

const BRIDGE: &str = "rfbr";
pub const REDIS_IP: &str = "10.77.0.253";
const CLIENT_IP: &str = "10.77.0.254";

/// The namespaces and links of one run; removed when dropped.
pub struct Network {
    nodes: usize,
}

fn ns_name(node: usize) -> String {
    format!("rf-n{}", node + 1)
}

/// The address node `node` (0-based) listens on inside its namespace.
pub fn node_ip(node: usize) -> String {
    format!("10.77.0.{}", node + 1)
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
        ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{CLIENT_IP}/24"), "dev", BRIDGE])?;
        ip(&["addr", "add", &format!("{REDIS_IP}/24"), "dev", BRIDGE])?;
        ip(&["link", "set", BRIDGE, "up"])?;
        for n in 0..self.nodes {
            let ns = ns_name(n);
            let (host, inner) = (format!("rf{}h", n + 1), format!("rf{}n", n + 1));
            ip(&["netns", "add", &ns])?;
            ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &host, "master", BRIDGE])?;
            ip(&["link", "set", &host, "up"])?;
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", node_ip(n)), "dev", &inner])?;
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
        blackhole(node, REDIS_IP, true)
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
            let _ = blackhole(n, REDIS_IP, false);
            for peer in (0..self.nodes).filter(|p| *p != n) {
                let _ = blackhole(n, &node_ip(peer), false);
            }
        }
    }

    fn remove_leftovers(&self) {
        for n in 0..self.nodes.max(3) {
            let _ = ip(&["netns", "del", &ns_name(n)]);
            let _ = ip(&["link", "del", &format!("rf{}h", n + 1)]);
        }
        let _ = ip(&["link", "del", BRIDGE]);
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
