//! Every Redis key, channel and Lua script the directory uses, in one place.
//!
//! All keys live under the `roost:` prefix so one Redis can be shared with other applications:
//!
//! | key | type | TTL | meaning |
//! |-----|------|-----|---------|
//! | `roost:owner:{account}` | string `"<node>\|<epoch>"` | lease TTL | the lease on an account |
//! | `roost:epoch:{account}` | integer | none | the last epoch handed out for the account |
//! | `roost:handoff:{account}` | string node id | [`HANDOFF_TTL_MS`] | `cluster move --to`: only that node may take the free lease |
//! | `roost:node:{node}` | hash `address`, `accounts_owned`, `sessions`, `draining` | node TTL | a live node |
//! | `roost:nodes` | set of node ids | none | index of node keys, pruned by [`NODES`] |
//! | `roost:storage` | string | none | id of the shared mail storage (`<data_dir>/cluster-storage-id`) |
//!
//! The epoch key is never deleted, so an epoch (the fencing token the store checks) is never
//! handed out twice, even after the owner key expired or was released. Operator commands go over
//! the pub/sub channel [`ADMIN_CHANNEL`].
//!
//! The scripts read and write keys they are not given in `KEYS` (`NODES`) or build them from
//! arguments: fine on a standalone Redis or a primary with replicas, not on Redis Cluster.

use std::sync::LazyLock;

use ::redis::Script;

/// Pub/sub channel carrying postcard-encoded [`AdminCommand`](crate::cluster::AdminCommand)s.
pub const ADMIN_CHANNEL: &str = "roost:admin";
/// Set of node ids that have sent a heartbeat; entries whose node key expired are pruned lazily.
pub const NODES_INDEX: &str = "roost:nodes";
/// The id of the mail storage the cluster's nodes share.
pub const STORAGE_KEY: &str = "roost:storage";
const NODE_PREFIX: &str = "roost:node:";

pub fn owner_key(account: &str) -> String {
    format!("roost:owner:{account}")
}

/// How long a `cluster move --to` reservation keeps other nodes from taking the account: long
/// enough for the owner to let go and the target to take it, short enough that a target that
/// died meanwhile does not keep the account unserved.
pub const HANDOFF_TTL_MS: u64 = 30_000;

pub fn handoff_key(account: &str) -> String {
    format!("roost:handoff:{account}")
}

pub fn epoch_key(account: &str) -> String {
    format!("roost:epoch:{account}")
}

pub fn node_key(node: &str) -> String {
    format!("{NODE_PREFIX}{node}")
}

/// Which process holds a node id: the instance token of the process that claimed it.
pub fn node_claim_key(node: &str) -> String {
    format!("roost:node-claim:{node}")
}

/// Claims a node id for one process, or keeps its claim: `KEYS[1]` the claim key, `ARGV[1]`
/// the process's instance token, `ARGV[2]` TTL in ms. Returns 1 when the id is (now) this
/// process's, 0 when another live process holds it. One atomic step, so of two processes
/// that start at the same instant with one id exactly one wins (issue 19 finding 3); an
/// empty Redis gives the id back to the process that renews first.
pub static CLAIM_NODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
",
    )
});

/// The lease value: node id and epoch. The epoch is the last `|`-separated field, so node ids
/// may contain `|`.
pub fn lease_value(node: &str, epoch: u64) -> String {
    format!("{node}|{epoch}")
}

/// Splits a lease value back into node and epoch; `None` for anything else.
pub fn parse_lease_value(value: &str) -> Option<(String, u64)> {
    let (node, epoch) = value.rsplit_once('|')?;
    Some((node.to_owned(), epoch.parse().ok()?))
}

/// Takes the lease on an account, or reports who holds it.
///
/// `KEYS[1]` owner key, `KEYS[2]` epoch key, `KEYS[3]` handoff key; `ARGV[1]` node id,
/// `ARGV[2]` TTL in ms, `ARGV[3]` the highest epoch the shared storage has seen for the account.
/// Returns `{won (0|1), node, epoch}`. A free lease reserved for another node
/// (`cluster move --to`) is not taken: the answer names that node, with epoch 0, so the
/// request goes there and it takes the account; the reserving node's win ends the reservation. Free: `INCR` the epoch and `SET` the owner in the same
/// atomic script, so two nodes can never both win and every epoch handed out has had an owner.
/// The new epoch is also above `ARGV[3]`: a Redis that lost its data (restarted without
/// persistence) would otherwise hand out epoch 1 again beside an owner still at epoch 1.
/// Held by the caller already: extended, same epoch.
pub static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('GET', KEYS[1])
if current then
  local node, epoch = string.match(current, '^(.*)|(%d+)$')
  if node == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, node, epoch}
  end
  if node then
    return {0, node, epoch}
  end
end
local reserved = redis.call('GET', KEYS[3])
if reserved and reserved ~= ARGV[1] then
  return {0, reserved, '0'}
end
redis.call('DEL', KEYS[3])
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3]) or 0
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
return {1, ARGV[1], tostring(epoch)}
",
    )
});

/// Extends a lease if it is still ours: `KEYS[1]` owner key, `ARGV[1]` expected value,
/// `ARGV[2]` TTL in ms. Returns 1 when extended, 0 when the value differs or the key is gone.
pub static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});

/// Deletes a lease if it is still ours: `KEYS[1]` owner key, `ARGV[1]` expected value.
/// Returns 1 when deleted, 0 otherwise (someone else's lease is never touched).
pub static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Lists live nodes and prunes the index: `KEYS[1]` the index set, `ARGV[1]` the node key
/// prefix. Returns a flat array `node, address, accounts_owned, sessions, draining, ...`. Atomic, so a
/// node that heartbeats concurrently is never pruned by mistake.
pub static NODES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HMGET', ARGV[1] .. node, 'address', 'accounts_owned', 'sessions',
    'draining')
  if h[1] then
    table.insert(out, node)
    table.insert(out, h[1])
    table.insert(out, h[2] or '0')
    table.insert(out, h[3] or '0')
    table.insert(out, h[4] or '0')
  else
    redis.call('SREM', KEYS[1], node)
  end
end
return out
",
    )
});

/// The node key prefix, for [`NODES`].
pub fn node_prefix() -> &'static str {
    NODE_PREFIX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_values_round_trip_even_with_a_bar_in_the_node_id() {
        assert_eq!(
            parse_lease_value(&lease_value("a|b", 7)),
            Some(("a|b".into(), 7))
        );
        assert_eq!(parse_lease_value("node-1|42"), Some(("node-1".into(), 42)));
        assert_eq!(parse_lease_value("garbage"), None);
        assert_eq!(parse_lease_value("n|x"), None);
    }
}
