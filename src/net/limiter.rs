//! Connection limits: in total on this node and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

pub struct Limiter {
    max_total: usize,
    max_per_address: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// Why a connection was refused; the text goes into the `* BYE` greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ServerFull,
    AddressFull,
}

impl Refusal {
    pub fn text(self) -> &'static str {
        match self {
            Refusal::ServerFull => "Too many connections to this server, try again later",
            Refusal::AddressFull => "Too many connections from your address",
        }
    }
}

/// Held for as long as the connection lives; dropping it frees the slot.
pub struct Permit {
    limiter: Arc<Limiter>,
    address: IpAddr,
}

impl Limiter {
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Limiter {
            max_total,
            max_per_address,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // A panic while holding this lock cannot leave the counts inconsistent (they are
        // updated in one statement each), so a poisoned lock is still usable.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn try_acquire(self: &Arc<Self>, address: IpAddr) -> Result<Permit, Refusal> {
        let mut counts = self.counts();
        if counts.total >= self.max_total {
            return Err(Refusal::ServerFull);
        }
        let from_address = counts.per_address.entry(address).or_insert(0);
        if *from_address >= self.max_per_address {
            return Err(Refusal::AddressFull);
        }
        *from_address += 1;
        counts.total += 1;
        Ok(Permit {
            limiter: self.clone(),
            address,
        })
    }

    #[cfg(test)]
    pub fn open_connections(&self) -> usize {
        self.counts().total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.limiter.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_in_total_and_frees_on_drop() {
        let l = Limiter::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).err(), Some(Refusal::AddressFull));
        let _p3 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b).err(), Some(Refusal::ServerFull));
        drop(p1);
        assert_eq!(l.open_connections(), 2);
        assert!(l.try_acquire(a).is_ok());
    }
}
