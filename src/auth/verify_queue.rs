//! Fair shares of the password verification capacity.
//!
//! Each argon2id verification takes tens of milliseconds of CPU and 19 MiB, so only a few
//! run at once (one per CPU). The rest wait here, and the order they are served in decides
//! who a flood hurts:
//! - attempts from addresses where a login succeeded before and nothing failed since go
//!   first, then those from addresses with no recent failures, each in arrival order: a user
//!   typing the right password is not stuck behind an attacker's queue, and a botnet's fresh
//!   addresses (clean, once each) cannot crowd out users who logged in before;
//! - the others wait in one queue per address group, served round-robin, so one address
//!   with many connections gets no more verifications than an address with one.
//!
//! A waiter that gives up (its client hung up) leaves its place: the slot it would have got
//! goes to the next one.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::net::address_group::address_group;
use crate::telemetry::metrics;

/// Which line an attempt waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Ahead of everyone else (an address that logged in before, with no failures since).
    Trusted,
    /// Next (an address with no recent failures).
    Clean,
    /// Round-robin between address groups.
    Shared,
}

/// The verification slots and their waiters (share it in an `Arc`).
#[derive(Debug)]
pub struct VerifyQueue {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    free: usize,
    trusted: VecDeque<oneshot::Sender<()>>,
    clean: VecDeque<oneshot::Sender<()>>,
    by_group: HashMap<IpAddr, VecDeque<oneshot::Sender<()>>>,
    /// Groups with waiters, in the order they are served next.
    turns: VecDeque<IpAddr>,
    /// Waiters that still want a slot (for the queue-depth gauge).
    waiting: usize,
}

/// The right to run one verification; dropping it frees the slot for the next waiter.
#[derive(Debug)]
pub struct Slot {
    queue: Arc<VerifyQueue>,
}

impl VerifyQueue {
    /// A queue with `slots` verifications at once (at least one).
    pub fn new(slots: usize) -> Arc<VerifyQueue> {
        Arc::new(VerifyQueue {
            inner: Mutex::new(Inner {
                free: slots.max(1),
                ..Inner::default()
            }),
        })
    }

    /// Waits for a slot in `lane` for a client at `peer`. Cancel-safe: dropping the future
    /// gives up the place in line (or the slot, if it had just been handed over).
    pub async fn acquire(self: &Arc<Self>, peer: IpAddr, lane: Lane) -> Slot {
        loop {
            let rx = {
                let mut inner = self.lock();
                if inner.free > 0 {
                    inner.free -= 1;
                    return Slot {
                        queue: Arc::clone(self),
                    };
                }
                inner.enqueue(peer, lane)
            };
            let mut waiting = Waiting {
                rx,
                queue: self,
                granted: false,
            };
            // An error would mean the sender was dropped unsent, which only happens when the
            // queue itself goes away; queueing again is still correct.
            if (&mut waiting.rx).await.is_ok() {
                waiting.granted = true;
                return Slot {
                    queue: Arc::clone(self),
                };
            }
        }
    }

    /// Hands a freed slot to the next live waiter, or puts it back.
    fn release(&self) {
        let mut inner = self.lock();
        while let Some(next) = inner.next_waiter() {
            if next.send(()).is_ok() {
                return;
            }
        }
        inner.free += 1;
    }

    /// Waiters that still want a slot.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().waiting
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves the queues consistent before anything can panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn enqueue(&mut self, peer: IpAddr, lane: Lane) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        match lane {
            Lane::Trusted => self.trusted.push_back(tx),
            Lane::Clean => self.clean.push_back(tx),
            Lane::Shared => {
                let group = address_group(peer);
                let waiters = self.by_group.entry(group).or_default();
                if waiters.is_empty() {
                    self.turns.push_back(group);
                }
                waiters.push_back(tx);
            }
        }
        self.waiting += 1;
        metrics::auth_queue_depth(self.waiting);
        rx
    }

    fn next_waiter(&mut self) -> Option<oneshot::Sender<()>> {
        if let Some(tx) = self.trusted.pop_front() {
            return Some(tx);
        }
        if let Some(tx) = self.clean.pop_front() {
            return Some(tx);
        }
        let group = self.turns.pop_front()?;
        let waiters = self.by_group.get_mut(&group)?;
        let tx = waiters.pop_front();
        if waiters.is_empty() {
            self.by_group.remove(&group);
        } else {
            self.turns.push_back(group);
        }
        tx
    }
}

/// A place in line; on drop, a slot handed over but never taken goes back.
struct Waiting<'a> {
    rx: oneshot::Receiver<()>,
    queue: &'a Arc<VerifyQueue>,
    granted: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        {
            let mut inner = self.queue.lock();
            inner.waiting = inner.waiting.saturating_sub(1);
            metrics::auth_queue_depth(inner.waiting);
        }
        if self.granted {
            return;
        }
        self.rx.close();
        if self.rx.try_recv().is_ok() {
            self.queue.release();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.queue.release();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Queues `peer` in `lane`; once served it reports its name and frees the slot.
    fn waiter(
        q: &Arc<VerifyQueue>,
        peer: &str,
        lane: Lane,
        order: &tokio::sync::mpsc::UnboundedSender<String>,
    ) {
        let (q, name, order, peer) = (q.clone(), peer.to_owned(), order.clone(), ip(peer));
        tokio::spawn(async move {
            let _slot = q.acquire(peer, lane).await;
            let _ = order.send(name);
        });
    }

    async fn settle(q: &VerifyQueue, waiting: usize) {
        for _ in 0..1000 {
            if q.waiting() == waiting {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("expected {waiting} waiters, have {}", q.waiting());
    }

    #[tokio::test]
    async fn trusted_then_clean_addresses_go_first_then_groups_take_turns() {
        let q = VerifyQueue::new(1);
        let (tx, mut order) = tokio::sync::mpsc::unbounded_channel();
        let busy = q.acquire(ip("192.0.2.9"), Lane::Shared).await;
        let waiters = [
            ("192.0.2.1", Lane::Shared),
            ("192.0.2.1", Lane::Shared),
            ("192.0.2.1", Lane::Shared),
            ("2001:db8::1", Lane::Shared),
            ("2001:db8::2", Lane::Shared), // the same /64: the same turn
            ("198.51.100.1", Lane::Clean),
            ("203.0.113.1", Lane::Trusted),
        ];
        for (n, (peer, lane)) in waiters.iter().enumerate() {
            waiter(&q, peer, *lane, &tx);
            settle(&q, n + 1).await;
        }
        drop(busy);
        let mut served = Vec::new();
        for _ in waiters {
            served.push(order.recv().await.unwrap());
        }
        assert_eq!(
            served,
            [
                "203.0.113.1",
                "198.51.100.1",
                "192.0.2.1",
                "2001:db8::1",
                "192.0.2.1",
                "2001:db8::2",
                "192.0.2.1"
            ]
        );
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_its_slot_to_the_next() {
        let q = VerifyQueue::new(1);
        let busy = q.acquire(ip("192.0.2.1"), Lane::Shared).await;
        let gives_up = tokio::spawn({
            let q = q.clone();
            async move { q.acquire(ip("192.0.2.2"), Lane::Shared).await }
        });
        settle(&q, 1).await;
        gives_up.abort();
        let _ = gives_up.await;
        settle(&q, 0).await;
        drop(busy);
        let next = tokio::time::timeout(
            Duration::from_secs(5),
            q.acquire(ip("192.0.2.3"), Lane::Shared),
        )
        .await
        .expect("the freed slot is not lost");
        drop(next);
        assert_eq!(q.lock().free, 1);
    }
}
