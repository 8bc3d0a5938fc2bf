//! The faults, and how each is injected and healed. The victim of an owner fault is the node
//! holding the lease of the first account (read from Redis). Every injection is blocking
//! (processes, `ip`, sleeps); the caller runs it off the writers' threads.

use std::time::Duration;

use super::cluster::Cluster;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Kind {
    /// Owner SIGSTOPped for a third of the lease, then SIGCONT.
    PauseShort,
    /// Owner SIGSTOPped for two leases and a second, then SIGCONT.
    PauseLong,
    /// Owner kill -9, restarted after a lease and a half.
    KillOwner,
    /// Redis kill -9 and started again empty.
    RedisRestartEmpty,
    /// Redis SIGSTOPped for a lease, then SIGCONT.
    RedisPause,
    /// Owner cut off from Redis (clients and peers reach it) for two leases and a second.
    PartitionRedis,
    /// Owner cut off from its peers (clients and Redis reach it) for two leases and a second.
    PartitionPeers,
    /// A second process with the owner's node id must refuse to start.
    DuplicateId,
    /// Every node in turn: SIGTERM, wait for its exit, start again.
    RollingRestart,
    /// `roost cluster move user1 --to <another node>`.
    Move,
    /// `roost cluster drain <owner>`, then that node restarted (drained nodes take nothing new).
    Drain,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::PauseShort,
        Kind::PauseLong,
        Kind::KillOwner,
        Kind::RedisRestartEmpty,
        Kind::RedisPause,
        Kind::PartitionRedis,
        Kind::PartitionPeers,
        Kind::DuplicateId,
        Kind::RollingRestart,
        Kind::Move,
        Kind::Drain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::PauseShort => "owner SIGSTOP < lease",
            Kind::PauseLong => "owner SIGSTOP > lease",
            Kind::KillOwner => "owner kill -9 + restart",
            Kind::RedisRestartEmpty => "redis kill -9 + restart empty",
            Kind::RedisPause => "redis SIGSTOP/SIGCONT",
            Kind::PartitionRedis => "owner partitioned from redis",
            Kind::PartitionPeers => "owner partitioned from peers",
            Kind::DuplicateId => "second node with the owner's id",
            Kind::RollingRestart => "rolling restart",
            Kind::Move => "cluster move --to",
            Kind::Drain => "cluster drain + restart",
        }
    }
}

/// What an injection did, for the report.
#[derive(Default)]
pub struct Injected {
    /// Something the fault must cause and did not (a twin that started, a failed CLI).
    pub failure: Option<String>,
    /// How it was done when not as named (SIGSTOP instead of a partition).
    pub note: Option<String>,
}

/// Injects `kind` against `victim` and heals it; returns when the fault is over.
pub fn inject(cluster: &mut Cluster, kind: Kind, victim: usize) -> Injected {
    let lease = cluster.lease;
    let mut out = Injected::default();
    let sleep = std::thread::sleep;
    match kind {
        Kind::PauseShort => pause(cluster, victim, lease / 3),
        Kind::PauseLong => pause(cluster, victim, lease * 2 + Duration::from_secs(1)),
        Kind::KillOwner => {
            cluster.kill_node(victim);
            sleep(lease + lease / 2);
            out.failure = restart(cluster, victim);
        }
        Kind::RedisRestartEmpty => {
            cluster.redis.kill();
            sleep(Duration::from_millis(500));
            if let Err(e) = cluster.redis.spawn() {
                out.failure = Some(format!("redis did not start again: {e:#}"));
            }
        }
        Kind::RedisPause => {
            if let Some(pid) = cluster.redis.pid() {
                super::cluster::send_signal(pid, "STOP");
                sleep(lease);
                super::cluster::send_signal(pid, "CONT");
            }
        }
        Kind::PartitionRedis | Kind::PartitionPeers => {
            let hold = lease * 2 + Duration::from_secs(1);
            let cut = match cluster.namespaces() {
                None => Err("no network namespaces".to_owned()),
                Some(net) if kind == Kind::PartitionRedis => {
                    net.cut_from_redis(victim).map_err(|e| format!("{e:#}"))
                }
                Some(net) => net.cut_from_peers(victim).map_err(|e| format!("{e:#}")),
            };
            match cut {
                Ok(()) => {
                    sleep(hold);
                    if let Some(net) = cluster.namespaces() {
                        net.heal();
                    }
                }
                Err(why) => {
                    out.note = Some(format!("SIGSTOP instead of a partition ({why})"));
                    pause(cluster, victim, hold);
                }
            }
        }
        Kind::DuplicateId => {
            let wait = lease * 3 + Duration::from_secs(10);
            match cluster.start_duplicate_id(victim, wait) {
                Ok(log) => {
                    if !log.contains("already runs with node_id") {
                        out.note = Some(format!("refused, but not for its id: {log}"));
                    }
                }
                Err(e) => out.failure = Some(format!("{e:#}")),
            }
        }
        Kind::RollingRestart => {
            for n in 0..cluster.nodes.len() {
                if !cluster.stop_node(n, Duration::from_secs(20)) {
                    out.note = Some(format!("node {n} did not exit cleanly on SIGTERM"));
                }
                if let Some(f) = restart(cluster, n) {
                    out.failure = Some(f);
                    break;
                }
            }
        }
        Kind::Move => {
            let to = (victim + 1) % cluster.nodes.len();
            let to = cluster.nodes[to].id.clone();
            if let Err(e) = cluster.cluster_cli(&["move", "user1", "--to", &to]) {
                out.failure = Some(format!("{e:#}"));
            }
        }
        Kind::Drain => {
            let id = cluster.nodes[victim].id.clone();
            if let Err(e) = cluster.cluster_cli(&["drain", &id]) {
                out.failure = Some(format!("{e:#}"));
            }
            sleep(lease);
            cluster.stop_node(victim, Duration::from_secs(20));
            out.failure = out.failure.or_else(|| restart(cluster, victim));
        }
    }
    out
}

fn pause(cluster: &Cluster, node: usize, hold: Duration) {
    cluster.signal(node, "STOP");
    std::thread::sleep(hold);
    cluster.signal(node, "CONT");
}

fn restart(cluster: &mut Cluster, node: usize) -> Option<String> {
    cluster
        .start_node(node)
        .err()
        .map(|e| format!("restarting node {node}: {e:#}"))
}
