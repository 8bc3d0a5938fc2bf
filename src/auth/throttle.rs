//! Login failure delays that grow per client address and per user name.
//!
//! Each failed login adds one to a counter for the client's address and one for the user name
//! tried. The delay before `NO` is sent is the larger of the two: nothing for the first
//! failure (a typo costs nothing), then `base`, doubling with each further failure up to
//! `cap`. Each quiet period without failures takes one failure away, halving the delay, so a
//! key cools down as gradually as it heated up.
//!
//! Counting per address slows one client trying many names; counting per name slows many
//! addresses trying one name. Only failures are delayed, so a user whose name is under attack
//! still logs in at once with the right password.
//!
//! IPv6 addresses are counted per /64, since one host can usually use a whole /64. Memory is
//! bounded: past `max_tracked` keys the least recently failed one is forgotten.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Throttling settings (the `[auth.throttle]` table of the config, all fields optional).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottlePolicy {
    /// Delay after the second failure, in milliseconds; each later failure doubles it.
    pub base_delay_ms: u64,
    /// The longest delay, in milliseconds.
    pub max_delay_ms: u64,
    /// Seconds without a failure after which a key's failure count drops by one.
    pub quiet_period_secs: u64,
    /// How many addresses and names are remembered at most.
    pub max_tracked: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            base_delay_ms: 1_000,
            max_delay_ms: 16_000,
            quiet_period_secs: 300,
            max_tracked: 10_000,
        }
    }
}

impl ThrottlePolicy {
    /// The delay after `failures` failures in a row.
    pub fn delay_for(&self, failures: u32) -> Duration {
        if failures <= 1 {
            return Duration::ZERO;
        }
        // failures - 2 doublings of base; past 63 the shift would overflow and the cap has
        // long been reached anyway.
        let doublings = (failures - 2).min(63);
        let ms = self.base_delay_ms.saturating_mul(1u64 << doublings);
        Duration::from_millis(ms.min(self.max_delay_ms))
    }
}

/// The longest user name stored as a key; longer names share the truncated key, which keeps
/// a flood of huge names from growing memory.
const MAX_KEY_NAME: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Addr(IpAddr),
    User(String),
}

impl Key {
    fn addr(ip: IpAddr) -> Key {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(prefix.into())
                }
            },
            v4 => v4,
        };
        Key::Addr(ip)
    }

    fn user(name: &str) -> Key {
        let mut end = name.len().min(MAX_KEY_NAME);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        Key::User(name[..end].to_owned())
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
    /// Tie-breaker in the age index for entries touched at the same instant.
    seq: u64,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Key, Entry>,
    /// (last failure, seq) → key, oldest first, for eviction in O(log n).
    by_age: BTreeSet<(Instant, u64, Key)>,
    next_seq: u64,
}

/// The shared failure counters. Cheap to call from any thread.
#[derive(Debug)]
pub struct Throttle {
    policy: ThrottlePolicy,
    /// A std mutex: every critical section is a few map operations, never an `.await`.
    table: Mutex<Table>,
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Throttle {
        Throttle {
            policy,
            table: Mutex::new(Table::default()),
        }
    }

    /// Records a failed login and returns how long to wait before answering.
    pub fn record_failure(&self, peer: IpAddr, username: &str) -> Duration {
        self.record_failure_at(peer, username, Instant::now())
    }

    /// Forgets the failures of `username` after a successful login. The address keeps its
    /// count: an attacker holding one valid account must not be able to reset it.
    pub fn record_success(&self, username: &str) {
        let mut table = self.lock();
        if let Some(entry) = table.entries.remove(&Key::user(username)) {
            table
                .by_age
                .remove(&(entry.last, entry.seq, Key::user(username)));
        }
    }

    /// The delay the next failure would get right now, without recording anything.
    #[cfg(test)]
    pub fn current_delay(&self, peer: IpAddr, username: &str) -> Duration {
        let now = Instant::now();
        let table = self.lock();
        let failures = |key: &Key| {
            table
                .entries
                .get(key)
                .map_or(0, |e| self.decayed(e, now))
                .saturating_add(1)
        };
        let worst = failures(&Key::addr(peer)).max(failures(&Key::user(username)));
        self.policy.delay_for(worst)
    }

    fn record_failure_at(&self, peer: IpAddr, username: &str, now: Instant) -> Duration {
        let mut table = self.lock();
        let a = self.bump(&mut table, Key::addr(peer), now);
        let u = self.bump(&mut table, Key::user(username), now);
        self.policy.delay_for(a.max(u))
    }

    /// The failure count of `entry` after the quiet periods since its last failure.
    fn decayed(&self, entry: &Entry, now: Instant) -> u32 {
        let quiet = self.policy.quiet_period_secs.max(1);
        let periods = now.saturating_duration_since(entry.last).as_secs() / quiet;
        let periods = u32::try_from(periods).unwrap_or(u32::MAX);
        entry.failures.saturating_sub(periods)
    }

    /// Adds one failure to `key` and returns its new count.
    fn bump(&self, table: &mut Table, key: Key, now: Instant) -> u32 {
        let seq = table.next_seq;
        table.next_seq += 1;
        let failures = match table.entries.get(&key) {
            Some(old) => {
                let count = self.decayed(old, now).saturating_add(1);
                table.by_age.remove(&(old.last, old.seq, key.clone()));
                count
            }
            None => {
                let limit = self.policy.max_tracked.max(1);
                while table.entries.len() >= limit {
                    let Some((_, _, oldest)) = table.by_age.pop_first() else {
                        break;
                    };
                    table.entries.remove(&oldest);
                }
                1
            }
        };
        table.by_age.insert((now, seq, key.clone()));
        table.entries.insert(
            key,
            Entry {
                failures,
                last: now,
                seq,
            },
        );
        failures
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Each operation leaves the table consistent before anything can panic, so a poisoned
        // lock is safe to keep using.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        let table = self.lock();
        assert_eq!(table.entries.len(), table.by_age.len());
        table.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            base_delay_ms: 1_000,
            max_delay_ms: 8_000,
            quiet_period_secs: 60,
            max_tracked: 100,
        }
    }

    #[test]
    fn delay_is_free_then_doubles_up_to_the_cap() {
        let p = policy();
        let got: Vec<u64> = (0..8).map(|n| p.delay_for(n).as_secs()).collect();
        assert_eq!(got, [0, 0, 1, 2, 4, 8, 8, 8]);
        assert_eq!(p.delay_for(u32::MAX), Duration::from_secs(8));
        let huge = ThrottlePolicy {
            base_delay_ms: u64::MAX,
            max_delay_ms: u64::MAX,
            ..policy()
        };
        assert_eq!(huge.delay_for(70), Duration::from_millis(u64::MAX));
    }

    #[test]
    fn failures_grow_per_address_and_per_name() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        let a = ip("192.0.2.1");
        assert_eq!(t.record_failure_at(a, "alice", now), Duration::ZERO);
        assert_eq!(t.record_failure_at(a, "bob", now), S);
        assert_eq!(t.record_failure_at(a, "carol", now), 2 * S);
        // A fresh address trying a name that has failed before is slowed by the name.
        assert_eq!(t.record_failure_at(ip("198.51.100.7"), "alice", now), S);
        assert_eq!(t.record_failure_at(ip("198.51.100.8"), "alice", now), 2 * S);
    }

    #[test]
    fn counts_decay_one_per_quiet_period() {
        let t = Throttle::new(policy());
        let start = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..5 {
            t.record_failure_at(a, "alice", start);
        }
        // Five failures; two quiet minutes take two away, and this failure adds one: 4 → 4 s.
        assert_eq!(t.record_failure_at(a, "alice", start + 120 * S), 4 * S);
        // A long silence forgets everything.
        assert_eq!(
            t.record_failure_at(a, "alice", start + 10_000 * S),
            Duration::ZERO
        );
    }

    #[test]
    fn success_forgets_the_name_but_not_the_address() {
        let t = Throttle::new(policy());
        let a = ip("192.0.2.1");
        t.record_failure(a, "alice");
        t.record_failure(a, "alice");
        t.record_success("alice");
        assert_eq!(t.current_delay(ip("203.0.113.1"), "alice"), Duration::ZERO);
        assert_eq!(t.current_delay(a, "someone"), 2 * S);
        assert_eq!(t.tracked(), 1);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        t.record_failure_at(ip("2001:db8:1:2::1"), "a", now);
        assert_eq!(t.record_failure_at(ip("2001:db8:1:2:ffff::9"), "b", now), S);
        assert_eq!(
            t.record_failure_at(ip("2001:db8:1:3::1"), "c", now),
            Duration::ZERO
        );
        t.record_failure_at(ip("192.0.2.1"), "d", now);
        assert_eq!(t.record_failure_at(ip("::ffff:192.0.2.1"), "e", now), S);
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_key_goes_first() {
        let t = Throttle::new(ThrottlePolicy {
            max_tracked: 10,
            ..policy()
        });
        let start = Instant::now();
        // The hot address fails first, then keeps failing: it must survive eviction.
        let hot = ip("192.0.2.1");
        t.record_failure_at(hot, "x", start);
        for i in 0..1000u32 {
            let now = start + Duration::from_millis(u64::from(i) + 1);
            t.record_failure_at(hot, "x", now);
            t.record_failure_at(
                ip(&format!("10.0.{}.{}", i / 256, i % 256)),
                &format!("u{i}"),
                now,
            );
            assert!(t.tracked() <= 10);
        }
        assert_eq!(t.current_delay(hot, "y"), Duration::from_secs(8));
        // The first of the one-off addresses is long gone.
        assert_eq!(t.current_delay(ip("10.0.0.0"), "u0"), Duration::ZERO);
    }

    #[test]
    fn huge_names_share_one_bounded_key() {
        let t = Throttle::new(policy());
        let long = "é".repeat(10_000);
        t.record_failure(ip("192.0.2.1"), &long);
        let other = format!("{long}x");
        assert_eq!(t.record_failure(ip("192.0.2.2"), &other), S);
    }

    #[test]
    fn policy_deserializes_with_defaults() {
        #[derive(Deserialize)]
        struct Config {
            throttle: ThrottlePolicy,
        }
        let c: Config = toml::from_str("[throttle]\nmax_delay_ms = 500\n").unwrap();
        assert_eq!(
            c.throttle,
            ThrottlePolicy {
                max_delay_ms: 500,
                ..ThrottlePolicy::default()
            }
        );
        assert!(toml::from_str::<Config>("[throttle]\nbogus = 1\n").is_err());
    }
}
