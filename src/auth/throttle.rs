//! Login throttling per client address and per user name: a budget of failures, charged
//! before the password is checked, and growing delays before `NO`.
//!
//! Every attempt is admitted ([`Throttle::admit`]) *before* its password is verified, as a
//! failure of the client's address and of the user name tried that is pending until the
//! password is checked; only a right password ([`Admitted::succeeded`]) clears it. So an
//! attempt whose client hangs up while it waits counts as a failure like any other:
//! abandoning connections does not step around the throttle. While an address has failures,
//! its pending attempts count against its budget too, so it cannot start more checks at once
//! than it has failures left.
//!
//! Each key (address or name) has a budget of [`ThrottlePolicy::max_failures`] failures;
//! each quiet period without a new failure gives one back. Once an address's budget is spent,
//! its attempts are refused at once, without hashing anything, until a quiet period has
//! passed: from then on an attacker gets one verification per quiet period (the penalty
//! step). A user name's spent budget refuses attempts from addresses that have failed
//! recently, but not from a clean address, so many addresses guessing one name cannot lock
//! its owner out. An address's [`Standing`] (trusted after a success, clean, or suspect
//! after failures) decides whose password is verified first. Within the budget, a failed login is answered after a delay: nothing for
//! the first failure (a typo costs nothing), then `base`, doubling up to `cap`.
//!
//! Counting per address slows one client trying many names; counting per name slows many
//! addresses trying one name. Addresses count as [`address_group`] says (IPv6 per /64).
//! Memory is bounded: past `max_tracked` keys the least recently failed one is forgotten.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::net::address_group::address_group;

/// Throttling settings (the `[auth.throttle]` table of the config, all fields optional).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottlePolicy {
    /// Delay after the second failure, in milliseconds; each later failure doubles it.
    pub base_delay_ms: u64,
    /// The longest delay, in milliseconds.
    pub max_delay_ms: u64,
    /// Seconds without a failure after which a key's failure count drops by one: the penalty
    /// step once the budget is spent.
    pub quiet_period_secs: u64,
    /// Failures (unfinished attempts included) an address or a user name may have before
    /// further attempts are refused without checking the password.
    pub max_failures: u32,
    /// How many addresses and names are remembered at most.
    pub max_tracked: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            base_delay_ms: 1_000,
            max_delay_ms: 16_000,
            quiet_period_secs: 60,
            max_failures: 10,
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

    fn quiet_period(&self) -> Duration {
        Duration::from_secs(self.quiet_period_secs.max(1))
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
        Key::Addr(address_group(ip))
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
    /// Attempts admitted and not yet settled: each becomes a failure unless its password
    /// turns out right.
    pending: u32,
    last: Instant,
    /// Tie-breaker in the age index for entries touched at the same instant.
    seq: u64,
    /// An address where a login succeeded while this entry was remembered.
    trusted: bool,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Key, Entry>,
    /// (last failure, seq) → key, oldest first, for eviction in O(log n).
    by_age: BTreeSet<(Instant, u64, Key)>,
    next_seq: u64,
}

/// What the throttle knows of an address, best first; decides whose password is verified
/// first when verifications queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// No recent failures, and a login succeeded from here before: most likely a real user.
    Trusted,
    /// No recent failures.
    Clean,
    /// Failed recently.
    Suspect,
}

/// An attempt that [`Throttle::admit`] let through, pending until its password is checked.
/// Dropping it unsettled (the client hung up, the task was cancelled) counts it as a failure.
#[derive(Debug)]
#[must_use = "an admitted attempt is a failure unless it is settled otherwise"]
pub struct Admitted<'a> {
    throttle: &'a Throttle,
    addr: Key,
    user: Key,
    /// The address's standing when the attempt arrived.
    standing: Standing,
    settled: bool,
}

/// How an admitted attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed,
    /// Not checked, through no fault of the client.
    Withdrawn,
}

impl Admitted<'_> {
    /// The address's standing when the attempt arrived.
    pub fn standing(&self) -> Standing {
        self.standing
    }

    /// The password was right: the attempt costs nothing, the name's failures are forgotten
    /// and the address is trusted. The address keeps its earlier failures: an attacker
    /// holding one valid account must not be able to reset its count.
    pub fn succeeded(mut self) {
        self.settle(Outcome::Succeeded, Instant::now());
    }

    /// The password was wrong: one failure for the address and the name. Returns how long
    /// to wait before answering.
    pub fn failed(mut self) -> Duration {
        self.settle(Outcome::Failed, Instant::now())
    }

    /// The attempt could not be checked (the users file is unreadable): not the client's
    /// fault, so it costs nothing.
    pub fn withdrawn(mut self) {
        self.settle(Outcome::Withdrawn, Instant::now());
    }

    fn settle(&mut self, outcome: Outcome, now: Instant) -> Duration {
        self.settled = true;
        self.throttle.settle(&self.addr, &self.user, outcome, now)
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.settle(Outcome::Failed, Instant::now());
        }
    }
}

/// Why an attempt was refused without checking its password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The client's address spent its failure budget.
    Address { retry_after: Duration },
    /// The user name spent its budget, and the address has failed recently too.
    User { retry_after: Duration },
}

impl Refused {
    /// When an attempt may be admitted again.
    pub fn retry_after(self) -> Duration {
        match self {
            Refused::Address { retry_after } | Refused::User { retry_after } => retry_after,
        }
    }
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

    /// Admits an attempt by `username` from `peer`, pending as a failure until it is settled,
    /// or refuses it if the budget is spent.
    ///
    /// An address that has failed recently counts its pending attempts against its budget
    /// too, so it cannot run more checks at once than it has failures left. A clean address
    /// is never refused: many users behind one address logging in at once are no attack,
    /// and how many attempts one address can have in flight is bounded by
    /// `limits.max_unauthenticated_per_ip` (one per connection).
    ///
    /// # Errors
    /// [`Refused`] when the address, or the name tried from an address that failed recently,
    /// has no failures left in its budget.
    pub fn admit(&self, peer: IpAddr, username: &str) -> Result<Admitted<'_>, Refused> {
        self.admit_at(peer, username, Instant::now())
    }

    fn admit_at(
        &self,
        peer: IpAddr,
        username: &str,
        now: Instant,
    ) -> Result<Admitted<'_>, Refused> {
        let (addr, user) = (Key::addr(peer), Key::user(username));
        let mut table = self.lock();
        let max = self.policy.max_failures;
        let (addr_failures, addr_pending) = self.load(&table, &addr, now);
        if addr_failures > 0 {
            if addr_failures.saturating_add(addr_pending) >= max {
                let retry_after = self.retry_after(&table, &addr, now);
                return Err(Refused::Address { retry_after });
            }
            let (user_failures, user_pending) = self.load(&table, &user, now);
            if user_failures.saturating_add(user_pending) >= max {
                let retry_after = self.retry_after(&table, &user, now);
                return Err(Refused::User { retry_after });
            }
        }
        let standing = match table.entries.get(&addr) {
            _ if addr_failures > 0 => Standing::Suspect,
            Some(entry) if entry.trusted => Standing::Trusted,
            _ => Standing::Clean,
        };
        for key in [&addr, &user] {
            let mut entry = self.entry(&mut table, key, now);
            entry.pending = entry.pending.saturating_add(1);
            table.entries.insert(key.clone(), entry);
        }
        Ok(Admitted {
            throttle: self,
            addr,
            user,
            standing,
            settled: false,
        })
    }

    fn settle(&self, addr: &Key, user: &Key, outcome: Outcome, now: Instant) -> Duration {
        let mut table = self.lock();
        for key in [addr, user] {
            if let Some(entry) = table.entries.get_mut(key) {
                entry.pending = entry.pending.saturating_sub(1);
            }
        }
        match outcome {
            Outcome::Succeeded => {
                if let Some(entry) = table.entries.get_mut(addr) {
                    entry.trusted = true;
                }
                if let Some(entry) = table.entries.get_mut(user) {
                    entry.failures = 0;
                }
                Duration::ZERO
            }
            Outcome::Withdrawn => Duration::ZERO,
            Outcome::Failed => {
                let a = self.add_failure(&mut table, addr, now);
                let u = self.add_failure(&mut table, user, now);
                self.policy.delay_for(a.max(u))
            }
        }
    }

    /// The failure count of `key` now (after the quiet periods since its last failure), and
    /// its pending attempts.
    fn load(&self, table: &Table, key: &Key, now: Instant) -> (u32, u32) {
        table
            .entries
            .get(key)
            .map_or((0, 0), |e| (self.decayed(e, now), e.pending))
    }

    /// How long until `key`'s count drops below the budget.
    fn retry_after(&self, table: &Table, key: &Key, now: Instant) -> Duration {
        let Some(entry) = table.entries.get(key) else {
            return Duration::ZERO;
        };
        let over = self
            .decayed(entry, now)
            .saturating_sub(self.policy.max_failures)
            .saturating_add(1);
        let quiet = self.policy.quiet_period();
        let elapsed = now.saturating_duration_since(entry.last);
        let periods_done = u32::try_from(elapsed.as_secs() / quiet.as_secs()).unwrap_or(u32::MAX);
        let free_at = quiet.saturating_mul(periods_done.saturating_add(over));
        free_at.saturating_sub(elapsed)
    }

    /// The failure count of `entry` after the quiet periods since its last failure.
    fn decayed(&self, entry: &Entry, now: Instant) -> u32 {
        let quiet = self.policy.quiet_period().as_secs();
        let periods = now.saturating_duration_since(entry.last).as_secs() / quiet;
        let periods = u32::try_from(periods).unwrap_or(u32::MAX);
        entry.failures.saturating_sub(periods)
    }

    /// A copy of `key`'s entry, created empty if missing (forgetting the least recently
    /// failed key when the table is full).
    fn entry(&self, table: &mut Table, key: &Key, now: Instant) -> Entry {
        if let Some(entry) = table.entries.get(key) {
            return *entry;
        }
        let limit = self.policy.max_tracked.max(1);
        while table.entries.len() >= limit {
            let Some((_, _, oldest)) = table.by_age.pop_first() else {
                break;
            };
            table.entries.remove(&oldest);
        }
        let seq = table.next_seq;
        table.next_seq += 1;
        let entry = Entry {
            failures: 0,
            pending: 0,
            last: now,
            seq,
            trusted: false,
        };
        table.by_age.insert((now, seq, key.clone()));
        table.entries.insert(key.clone(), entry);
        entry
    }

    /// Adds one failure to `key` and returns its new count.
    fn add_failure(&self, table: &mut Table, key: &Key, now: Instant) -> u32 {
        let old = self.entry(table, key, now);
        let seq = table.next_seq;
        table.next_seq += 1;
        let failures = self.decayed(&old, now).saturating_add(1);
        table.by_age.remove(&(old.last, old.seq, key.clone()));
        table.by_age.insert((now, seq, key.clone()));
        table.entries.insert(
            key.clone(),
            Entry {
                failures,
                last: now,
                seq,
                ..old
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
            max_failures: 100,
            max_tracked: 100,
        }
    }

    fn with_budget(max_failures: u32) -> Throttle {
        Throttle::new(ThrottlePolicy {
            max_failures,
            ..policy()
        })
    }

    impl Throttle {
        /// One failed attempt at `now`: its delay, or why it was refused.
        fn fail_at(&self, peer: IpAddr, name: &str, now: Instant) -> Result<Duration, Refused> {
            let mut attempt = self.admit_at(peer, name, now)?;
            Ok(attempt.settle(Outcome::Failed, now))
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
        assert_eq!(t.fail_at(a, "alice", now), Ok(Duration::ZERO));
        assert_eq!(t.fail_at(a, "bob", now), Ok(S));
        assert_eq!(t.fail_at(a, "carol", now), Ok(2 * S));
        // A fresh address trying a name that has failed before is slowed by the name.
        assert_eq!(t.fail_at(ip("198.51.100.7"), "alice", now), Ok(S));
        assert_eq!(t.fail_at(ip("198.51.100.8"), "alice", now), Ok(2 * S));
    }

    #[test]
    fn an_abandoned_attempt_is_charged_as_a_failure() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        let a = ip("192.0.2.1");
        let first = t.admit_at(a, "alice", now).unwrap();
        assert_eq!(first.standing(), Standing::Clean);
        drop(first); // the client hung up while its password waited
        let mut second = t.admit_at(a, "alice", now).unwrap();
        assert_eq!(second.standing(), Standing::Suspect);
        assert_eq!(second.settle(Outcome::Failed, now), S);
    }

    #[test]
    fn a_clean_address_is_never_refused_but_a_suspect_one_counts_what_it_has_in_flight() {
        let t = with_budget(10);
        let now = Instant::now();
        let a = ip("192.0.2.1");
        // Fifty users behind one address log in at once.
        let at_once: Vec<_> = (0..50)
            .map(|i| t.admit_at(a, &format!("u{i}"), now).unwrap())
            .collect();
        at_once.into_iter().for_each(Admitted::succeeded);
        // One failure: now nine more may be in flight, not ten.
        t.fail_at(a, "typo", now).unwrap();
        let in_flight: Vec<_> = (0..9)
            .map(|i| t.admit_at(a, &format!("v{i}"), now).unwrap())
            .collect();
        assert!(matches!(
            t.admit_at(a, "w", now),
            Err(Refused::Address { .. })
        ));
        in_flight.into_iter().for_each(Admitted::succeeded);
        assert!(t.admit_at(a, "w", now).is_ok());
    }

    #[test]
    fn a_right_password_takes_its_charge_back_and_makes_the_address_trusted() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..50 {
            t.admit_at(a, "alice", now).unwrap().succeeded();
        }
        assert_eq!(
            t.admit_at(a, "bob", now).unwrap().standing(),
            Standing::Trusted
        );
        // The abandoned attempt above left a failure: no longer trusted until it decays
        // (two failures, two quiet minutes; the drop counted them a moment after `now`).
        assert_eq!(
            t.admit_at(a, "bob", now).unwrap().standing(),
            Standing::Suspect
        );
        let later = now + 150 * S;
        assert_eq!(
            t.admit_at(a, "bob", later).unwrap().standing(),
            Standing::Trusted
        );
    }

    #[test]
    fn a_spent_budget_refuses_until_a_quiet_period_passes_then_admits_one() {
        let t = with_budget(3);
        let start = Instant::now();
        let a = ip("192.0.2.1");
        for i in 0..3 {
            assert!(t.fail_at(a, &format!("u{i}"), start).is_ok());
        }
        assert_eq!(
            t.fail_at(a, "u9", start + 10 * S),
            Err(Refused::Address {
                retry_after: 50 * S
            })
        );
        // Refusals are free: they do not push the next admission further away.
        assert!(t.fail_at(a, "u9", start + 59 * S).is_err());
        assert!(t.fail_at(a, "u9", start + 60 * S).is_ok());
        assert_eq!(
            t.fail_at(a, "u9", start + 61 * S)
                .unwrap_err()
                .retry_after(),
            59 * S
        );
        // Another address is not affected.
        assert!(t.fail_at(ip("192.0.2.2"), "u9", start).is_ok());
    }

    #[test]
    fn a_spent_name_refuses_suspect_addresses_but_not_clean_ones() {
        let t = with_budget(3);
        let now = Instant::now();
        for i in 0..3 {
            assert!(t
                .fail_at(ip(&format!("198.51.100.{i}")), "alice", now)
                .is_ok());
        }
        // An address that failed once before is refused for this name...
        assert!(matches!(
            t.fail_at(ip("198.51.100.0"), "alice", now),
            Err(Refused::User { .. })
        ));
        // ...but the owner, from an address with no failures, is still let in.
        let owner = t.admit_at(ip("203.0.113.5"), "alice", now).unwrap();
        assert_eq!(owner.standing(), Standing::Clean);
        owner.succeeded();
        assert!(t.fail_at(ip("198.51.100.0"), "alice", now).is_ok());
    }

    #[test]
    fn counts_decay_one_per_quiet_period() {
        let t = Throttle::new(policy());
        let start = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..5 {
            t.fail_at(a, "alice", start).unwrap();
        }
        // Five failures; two quiet minutes take two away, and this failure adds one: 4 → 4 s.
        assert_eq!(t.fail_at(a, "alice", start + 120 * S), Ok(4 * S));
        // A long silence forgets everything.
        assert_eq!(
            t.fail_at(a, "alice", start + 10_000 * S),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn success_forgets_the_name_but_not_the_address() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        let a = ip("192.0.2.1");
        t.fail_at(a, "alice", now).unwrap();
        t.fail_at(a, "alice", now).unwrap();
        t.admit_at(a, "alice", now).unwrap().succeeded();
        assert_eq!(
            t.fail_at(ip("203.0.113.1"), "alice", now),
            Ok(Duration::ZERO)
        );
        assert_eq!(t.fail_at(a, "someone", now), Ok(2 * S));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        t.fail_at(ip("2001:db8:1:2::1"), "a", now).unwrap();
        assert_eq!(t.fail_at(ip("2001:db8:1:2:ffff::9"), "b", now), Ok(S));
        assert_eq!(
            t.fail_at(ip("2001:db8:1:3::1"), "c", now),
            Ok(Duration::ZERO)
        );
        t.fail_at(ip("192.0.2.1"), "d", now).unwrap();
        assert_eq!(t.fail_at(ip("::ffff:192.0.2.1"), "e", now), Ok(S));
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_key_goes_first() {
        let t = Throttle::new(ThrottlePolicy {
            max_tracked: 10,
            max_failures: u32::MAX,
            ..policy()
        });
        let start = Instant::now();
        // The hot address fails first, then keeps failing: it must survive eviction.
        let hot = ip("192.0.2.1");
        t.fail_at(hot, "x", start).unwrap();
        for i in 0..1000u32 {
            let now = start + Duration::from_millis(u64::from(i) + 1);
            t.fail_at(hot, "x", now).unwrap();
            t.fail_at(
                ip(&format!("10.0.{}.{}", i / 256, i % 256)),
                &format!("u{i}"),
                now,
            )
            .unwrap();
            assert!(t.tracked() <= 10);
        }
        let later = start + 2 * S;
        assert_eq!(t.fail_at(hot, "y", later), Ok(Duration::from_secs(8)));
        // The first of the one-off addresses is long gone.
        assert_eq!(t.fail_at(ip("10.0.0.0"), "u0", later), Ok(Duration::ZERO));
    }

    #[test]
    fn huge_names_share_one_bounded_key() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        let long = "é".repeat(10_000);
        t.fail_at(ip("192.0.2.1"), &long, now).unwrap();
        let other = format!("{long}x");
        assert_eq!(t.fail_at(ip("192.0.2.2"), &other, now), Ok(S));
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
