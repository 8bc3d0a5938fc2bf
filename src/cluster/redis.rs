//! The Redis directory: membership, account leases with fencing epochs, operator commands.
//!
//! How Redis is reached (URL, TLS, ACL user) is [`access`]. Keys and scripts are listed in
//! [`scripts`]. Every call is bounded in time: a Redis that is
//! down or unreachable turns into [`DirectoryError::Unreachable`] within [`OP_TIMEOUT`], never a
//! hang, and the underlying `ConnectionManager` reconnects by itself once Redis is back.
//!
//! Lease safety does not rest on clocks alone: [`Lease::valid_until`] is measured from *before*
//! the request was sent, minus [`LeaseTiming::safety_margin`], and the epoch is a fencing token
//! the store checks on every write.

pub mod access;
mod pubsub;
pub mod scripts;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{AsyncCommands, Client, ConnectionInfo, ErrorKind, RedisError, RedisResult};

use super::{AdminCommand, DirectoryError, Lease, LeaseTiming, NodeInfo, Owner};

/// The longest any single directory call may take before it reports `Unreachable`.
pub const OP_TIMEOUT: Duration = Duration::from_secs(3);
/// Each TCP connection attempt to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One command's reply on an established connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The cluster directory backed by one Redis (standalone, or a primary behind a stable name).
/// Cheap to clone: clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisDirectory {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    /// Kept to open the dedicated pub/sub connection of each [`RedisDirectory::subscribe`].
    info: ConnectionInfo,
    node: String,
    address: String,
    timing: LeaseTiming,
    /// Random per process: tells this process's node record from another's with the same
    /// node id (issue 19, finding 3).
    instance: String,
}

/// Connection manager settings: few, quick retries, so a dead Redis is reported in about a
/// second instead of the library's default ~6 s backoff; the next call retries anyway.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(Duration::from_millis(500))
}

/// Runs one Redis call with the overall time bound, mapping refused credentials or permissions
/// to `Refused` and every other failure to `Unreachable`.
async fn bounded<T>(
    what: &str,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, DirectoryError> {
    match tokio::time::timeout(OP_TIMEOUT, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) if is_refusal(&e) => Err(DirectoryError::Refused(format!("{what}: {e}"))),
        Ok(Err(e)) => Err(DirectoryError::Unreachable(format!("{what}: {e}"))),
        Err(_) => Err(DirectoryError::Unreachable(format!(
            "{what}: no answer from redis within {} ms",
            OP_TIMEOUT.as_millis()
        ))),
    }
}

/// Wrong user name or password (`WRONGPASS`, `NOAUTH`), or an ACL user lacking a permission
/// (`NOPERM`): retrying will not help, the operator must fix the settings.
fn is_refusal(e: &RedisError) -> bool {
    e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
}

impl RedisDirectory {
    /// Connects with `client` (see [`access::RedisAccess::client`]) and checks that Redis
    /// answers. `node` is this node's id, `address` where its node link listens (`host:port`,
    /// published by [`heartbeat`](Self::heartbeat)).
    ///
    /// # Errors
    /// `Unreachable` when Redis does not answer within about 3 s; `Refused` when it refuses
    /// the credentials.
    pub async fn connect(
        client: Client,
        node: String,
        address: String,
        timing: LeaseTiming,
    ) -> Result<RedisDirectory, DirectoryError> {
        let info = client.get_connection_info().clone();
        let target = info.addr().to_string();
        let conn = bounded(
            &format!("redis at {target}"),
            ConnectionManager::new_with_config(client, manager_config()),
        )
        .await?;
        let directory = RedisDirectory {
            inner: Arc::new(Inner {
                conn,
                info,
                node,
                address,
                timing,
                instance: random_instance(),
            }),
        };
        directory.ping().await?;
        Ok(directory)
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }

    /// This node's id.
    #[cfg(test)]
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.inner.timing.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// Readiness: Redis answers.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn ping(&self) -> Result<(), DirectoryError> {
        let mut conn = self.conn();
        bounded("ping", async move {
            ::redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await
        .map(|_| ())
    }

    /// Whether another live process already runs as this node id. The id is claimed in one
    /// atomic step ([`scripts::CLAIM_NODE`]); a claim held by another process is tried again
    /// for up to one node TTL, since a crashed or stopped earlier run's claim expires by then
    /// while a live node renews its own with every heartbeat. Two nodes with one id would
    /// both own every account, so the caller must not join when this is true.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn node_id_taken(&self) -> Result<bool, DirectoryError> {
        let deadline = Instant::now() + self.inner.timing.node_ttl() + Duration::from_millis(500);
        let mut warned = false;
        loop {
            if self.claim_node().await? {
                return Ok(false);
            }
            if Instant::now() > deadline {
                return Ok(true);
            }
            if !warned {
                warned = true;
                tracing::warn!(
                    node = %self.inner.node,
                    "another process holds this node id in redis; waiting until its claim \
                     expires (a crashed earlier run) or is renewed (a live node)"
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Claims this node id for this process, or renews the claim: false when another process
    /// holds it.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn claim_node(&self) -> Result<bool, DirectoryError> {
        let ttl = u64::try_from(self.inner.timing.node_ttl().as_millis()).unwrap_or(u64::MAX);
        let mut conn = self.conn();
        let key = scripts::node_claim_key(&self.inner.node);
        bounded("node id claim", async move {
            scripts::CLAIM_NODE
                .key(key)
                .arg(&self.inner.instance)
                .arg(ttl)
                .invoke_async::<u8>(&mut conn)
                .await
        })
        .await
        .map(|won| won == 1)
    }

    /// Records `id` as the cluster's shared storage unless one is recorded already; returns
    /// the recorded one.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn record_storage(&self, id: &str) -> Result<String, DirectoryError> {
        let mut conn = self.conn();
        let id = id.to_owned();
        bounded("storage id", async move {
            let (recorded,): (String,) = ::redis::pipe()
                .set_nx(scripts::STORAGE_KEY, &id)
                .ignore()
                .get(scripts::STORAGE_KEY)
                .query_async(&mut conn)
                .await?;
            Ok(recorded)
        })
        .await
    }

    /// Publishes this node's record for [`nodes`](Self::nodes). Call it every
    /// [`LeaseTiming::renew_every`]: the record expires after [`LeaseTiming::node_ttl`].
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn heartbeat(
        &self,
        accounts_owned: u64,
        sessions: u64,
        draining: bool,
    ) -> Result<(), DirectoryError> {
        let key = scripts::node_key(&self.inner.node);
        let ttl = u64::try_from(self.inner.timing.node_ttl().as_millis()).unwrap_or(u64::MAX);
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .hset_multiple(
                &key,
                &[
                    ("address", self.inner.address.clone()),
                    ("instance", self.inner.instance.clone()),
                    ("accounts_owned", accounts_owned.to_string()),
                    ("sessions", sessions.to_string()),
                    ("draining", u8::from(draining).to_string()),
                ],
            )
            .ignore()
            .pexpire(&key, i64::try_from(ttl).unwrap_or(i64::MAX))
            .ignore()
            .sadd(scripts::NODES_INDEX, &self.inner.node)
            .ignore();
        let mut conn = self.conn();
        bounded("heartbeat", async move {
            pipe.query_async::<()>(&mut conn).await
        })
        .await
    }

    /// Removes this node's record at once (clean shutdown), instead of waiting for it to expire.
    /// Best effort: a failure is logged, and the record expires anyway.
    pub async fn deregister(&self) {
        let key = scripts::node_key(&self.inner.node);
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .del(&key)
            .ignore()
            .srem(scripts::NODES_INDEX, &self.inner.node)
            .ignore();
        let mut conn = self.conn();
        let result = bounded("deregister", async move {
            pipe.query_async::<()>(&mut conn).await
        });
        if let Err(e) = result.await {
            tracing::warn!(error = %e, "could not deregister from redis; the record will expire");
        }
        // The id is free at once for this node's next start (only if the claim is ours).
        let mut conn = self.conn();
        let claim = scripts::node_claim_key(&self.inner.node);
        let _ = bounded("node id claim", async move {
            scripts::RELEASE
                .key(claim)
                .arg(&self.inner.instance)
                .invoke_async::<u8>(&mut conn)
                .await
        })
        .await;
    }

    /// The live nodes, sorted by id.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>, DirectoryError> {
        let mut conn = self.conn();
        let flat: Vec<String> = bounded("nodes", async move {
            scripts::NODES
                .key(scripts::NODES_INDEX)
                .arg(scripts::node_prefix())
                .invoke_async(&mut conn)
                .await
        })
        .await?;
        let mut nodes: Vec<NodeInfo> = flat
            .chunks_exact(5)
            .map(|f| NodeInfo {
                node: f[0].clone(),
                address: f[1].clone(),
                accounts_owned: f[2].parse().unwrap_or(0),
                sessions: f[3].parse().unwrap_or(0),
                draining: f[4] == "1",
            })
            .collect();
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(nodes)
    }

    /// Takes the lease on `account` if it is free (new epoch) or already ours (extended, same
    /// epoch); otherwise says which node holds it and where to reach it.
    ///
    /// # Errors
    /// `Unreachable`; `UnknownNode` when another node holds the lease but has no live record
    /// (it probably died; the lease expires within the TTL).
    pub async fn acquire(&self, account: &str) -> Result<Owner, DirectoryError> {
        self.acquire_above(account, 0).await
    }

    /// [`acquire`](Self::acquire), with a new epoch above `floor` (the epoch the account's
    /// fence file on the shared storage records), whatever Redis remembers.
    pub async fn acquire_above(&self, account: &str, floor: u64) -> Result<Owner, DirectoryError> {
        let started = Instant::now();
        let mut conn = self.conn();
        let (won, node, epoch): (u8, String, u64) = bounded("acquire", async {
            scripts::ACQUIRE
                .key(scripts::owner_key(account))
                .key(scripts::epoch_key(account))
                .key(scripts::handoff_key(account))
                .arg(&self.inner.node)
                .arg(self.ttl_ms())
                .arg(floor)
                .invoke_async(&mut conn)
                .await
        })
        .await?;
        if won == 1 {
            return Ok(Owner::Me(self.lease(account, epoch, started)));
        }
        let address = self.address_of(&node).await?;
        Ok(Owner::Node {
            node,
            address,
            epoch,
        })
    }

    /// Extends a lease this node holds.
    ///
    /// # Errors
    /// `LeaseLost` when the lease expired or another node took it (stop writing at once);
    /// `Unreachable` (the lease stays valid until its `valid_until`).
    pub async fn renew(&self, lease: &Lease) -> Result<Lease, DirectoryError> {
        let started = Instant::now();
        let mut conn = self.conn();
        let extended: u8 = bounded("renew", async {
            scripts::RENEW
                .key(scripts::owner_key(&lease.account))
                .arg(scripts::lease_value(&self.inner.node, lease.epoch))
                .arg(self.ttl_ms())
                .invoke_async(&mut conn)
                .await
        })
        .await?;
        if extended == 1 {
            Ok(self.lease(&lease.account, lease.epoch, started))
        } else {
            Err(DirectoryError::LeaseLost {
                account: lease.account.clone(),
            })
        }
    }

    /// Lets go of a lease (only if it is still ours; a lost lease is left alone).
    ///
    /// # Errors
    /// `Unreachable` (the lease then expires by itself).
    pub async fn release(&self, lease: &Lease) -> Result<(), DirectoryError> {
        let mut conn = self.conn();
        bounded("release", async {
            scripts::RELEASE
                .key(scripts::owner_key(&lease.account))
                .arg(scripts::lease_value(&self.inner.node, lease.epoch))
                .invoke_async::<u8>(&mut conn)
                .await
        })
        .await
        .map(|_| ())
    }

    /// Reserves `account` for `node` (`cluster move --to`): until the reservation ends (taken by
    /// `node`, or after [`scripts::HANDOFF_TTL_MS`]) no other node takes the free lease.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn reserve(&self, account: &str, node: &str) -> Result<(), DirectoryError> {
        let mut conn = self.conn();
        let key = scripts::handoff_key(account);
        let node = node.to_owned();
        bounded("reserve", async move {
            conn.pset_ex::<_, _, ()>(key, node, scripts::HANDOFF_TTL_MS)
                .await
        })
        .await
    }

    /// Every lease in Redis: account directory name, owner node and epoch, sorted by account.
    /// Read with `SCAN`, so a busy Redis is not blocked however many accounts there are.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn leases(&self) -> Result<Vec<(String, String, u64)>, DirectoryError> {
        let mut conn = self.conn();
        let pattern = scripts::owner_key("*");
        let keys: Vec<String> = bounded("leases", async {
            let mut iter: ::redis::AsyncIter<'_, String> = conn.scan_match(&pattern).await?;
            let mut keys = Vec::new();
            while let Some(key) = iter.next_item().await {
                keys.push(key?);
            }
            Ok(keys)
        })
        .await?;
        let mut leases = Vec::new();
        for key in keys {
            let Some(account) = key.strip_prefix(&pattern[..pattern.len() - 1]) else {
                continue;
            };
            // A lease released or expired since the scan is simply not listed.
            if let Some((node, epoch)) = self.owner(account).await? {
                leases.push((account.to_owned(), node, epoch));
            }
        }
        leases.sort();
        Ok(leases)
    }

    /// Who holds the lease on `account`, and with which epoch; `None` when nobody does.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn owner(&self, account: &str) -> Result<Option<(String, u64)>, DirectoryError> {
        let mut conn = self.conn();
        let key = scripts::owner_key(account);
        let value: Option<String> = bounded("owner", async move { conn.get(key).await }).await?;
        Ok(value.as_deref().and_then(scripts::parse_lease_value))
    }

    /// How long the lease on `account` has left; `None` when nobody holds it.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn lease_left(&self, account: &str) -> Result<Option<Duration>, DirectoryError> {
        let mut conn = self.conn();
        let key = scripts::owner_key(account);
        // PTTL: -2 without the key, -1 without an expiry (never set so: leases always have one).
        let ms: i64 = bounded("pttl", async move { conn.pttl(key).await }).await?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    /// Publishes an operator command to every node's [`subscribe`](Self::subscribe)r; returns
    /// how many subscribers Redis delivered it to.
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn publish_counted(&self, command: &AdminCommand) -> Result<u64, DirectoryError> {
        let payload = postcard::to_allocvec(command)
            .map_err(|e| DirectoryError::Unreachable(format!("cannot encode command: {e}")))?;
        let mut conn = self.conn();
        bounded("publish", async move {
            conn.publish(scripts::ADMIN_CHANNEL, payload).await
        })
        .await
    }

    /// Publishes an operator command to every node. At most once: see [`subscribe`](Self::subscribe).
    ///
    /// # Errors
    /// `Unreachable`.
    pub async fn publish(&self, command: &AdminCommand) -> Result<(), DirectoryError> {
        self.publish_counted(command).await.map(|_| ())
    }

    /// Operator commands published by any node (this one included), for as long as the receiver
    /// is kept. Uses its own connection, which reconnects and resubscribes by itself after a
    /// Redis restart.
    ///
    /// Redis pub/sub is at-most-once: a command published while this node is disconnected from
    /// Redis is lost, never replayed. Commands are idempotent, so the operator (or
    /// `roost cluster move`, which checks the outcome) simply sends it again.
    ///
    /// Must be called inside a tokio runtime (it spawns the listening task).
    pub fn subscribe(&self) -> tokio::sync::mpsc::Receiver<AdminCommand> {
        pubsub::subscribe(self.inner.info.clone())
    }

    /// Where `node`'s link listens, from its live record.
    async fn address_of(&self, node: &str) -> Result<String, DirectoryError> {
        let mut conn = self.conn();
        let key = scripts::node_key(node);
        let address: Option<String> =
            bounded(
                "node address",
                async move { conn.hget(key, "address").await },
            )
            .await?;
        address.ok_or_else(|| DirectoryError::UnknownNode(node.to_owned()))
    }

    /// A lease granted by a request sent at `started`: Redis started its TTL after that, so
    /// ending ours at `started + ttl - margin` is conservative.
    fn lease(&self, account: &str, epoch: u64, started: Instant) -> Lease {
        let timing = self.inner.timing;
        Lease {
            account: account.to_owned(),
            epoch,
            valid_until: started + timing.ttl.saturating_sub(timing.safety_margin()),
        }
    }
}

/// A random hex token naming this process (or a storage).
pub(crate) fn random_instance() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness the pid and start time still tell two processes apart.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = (now ^ u64::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
