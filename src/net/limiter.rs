//! Connection limits: in total on this node, per client address, and per client address
//! while not yet logged in.
//!
//! Addresses are grouped as [`address_group`] says (IPv6 per /64). The tighter cap on
//! connections that have not logged in yet keeps one address from holding many password
//! guesses in flight, while users behind one NAT address can still keep many logged-in
//! connections open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::address_group::address_group;

pub struct Limiter {
    max_total: usize,
    max_per_address: usize,
    max_unauthenticated_per_address: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, AddressCount>,
}

#[derive(Default)]
struct AddressCount {
    open: usize,
    unauthenticated: usize,
}

/// Why a connection was refused; the text goes into the `* BYE` greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ServerFull,
    AddressFull,
    /// Too many connections from the address have not logged in yet.
    AddressUnauthenticatedFull,
}

impl Refusal {
    pub fn text(self) -> &'static str {
        match self {
            Refusal::ServerFull => "Too many connections to this server, try again later",
            Refusal::AddressFull => "Too many connections from your address",
            Refusal::AddressUnauthenticatedFull => {
                "Too many connections from your address are logging in, try again later"
            }
        }
    }
}

/// Held for as long as the connection lives; dropping it frees the slot.
pub struct Permit {
    limiter: Arc<Limiter>,
    group: IpAddr,
    /// Still counted among the address's connections that have not logged in.
    unauthenticated: bool,
}

impl Limiter {
    pub fn new(
        max_total: usize,
        max_per_address: usize,
        max_unauthenticated_per_address: usize,
    ) -> Arc<Self> {
        Arc::new(Limiter {
            max_total,
            max_per_address,
            max_unauthenticated_per_address,
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

    /// A slot for a new connection from `address`, counted as not logged in until
    /// [`Permit::logged_in`].
    ///
    /// # Errors
    /// The [`Refusal`] for the first limit the connection would exceed.
    pub fn try_acquire(self: &Arc<Self>, address: IpAddr) -> Result<Permit, Refusal> {
        let group = address_group(address);
        let mut counts = self.counts();
        if counts.total >= self.max_total {
            return Err(Refusal::ServerFull);
        }
        let from_address = counts.per_address.entry(group).or_default();
        let refusal = if from_address.open >= self.max_per_address {
            Some(Refusal::AddressFull)
        } else if from_address.unauthenticated >= self.max_unauthenticated_per_address {
            Some(Refusal::AddressUnauthenticatedFull)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            if from_address.open == 0 {
                counts.per_address.remove(&group);
            }
            return Err(refusal);
        }
        from_address.open += 1;
        from_address.unauthenticated += 1;
        counts.total += 1;
        Ok(Permit {
            limiter: self.clone(),
            group,
            unauthenticated: true,
        })
    }

    #[cfg(test)]
    pub fn open_connections(&self) -> usize {
        self.counts().total
    }
}

impl Permit {
    /// The connection has logged in: it no longer counts against the address's cap on
    /// connections that are logging in. Calling it again does nothing.
    pub fn logged_in(&mut self) {
        if std::mem::take(&mut self.unauthenticated) {
            let mut counts = self.limiter.counts();
            if let Some(n) = counts.per_address.get_mut(&self.group) {
                n.unauthenticated = n.unauthenticated.saturating_sub(1);
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.limiter.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_address.get_mut(&self.group) {
            n.open = n.open.saturating_sub(1);
            if self.unauthenticated {
                n.unauthenticated = n.unauthenticated.saturating_sub(1);
            }
            if n.open == 0 {
                counts.per_address.remove(&self.group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limits_per_address_and_in_total_and_frees_on_drop() {
        let l = Limiter::new(3, 2, 10);
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).err(), Some(Refusal::AddressFull));
        let _p3 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b).err(), Some(Refusal::ServerFull));
        drop(p1);
        assert_eq!(l.open_connections(), 2);
        assert!(l.try_acquire(a).is_ok());
    }

    #[test]
    fn logged_in_connections_free_the_login_cap_but_not_the_address_cap() {
        let l = Limiter::new(100, 4, 2);
        let a = ip("10.0.0.1");
        let mut p1 = l.try_acquire(a).unwrap();
        let p2 = l.try_acquire(a).unwrap();
        assert_eq!(
            l.try_acquire(a).err(),
            Some(Refusal::AddressUnauthenticatedFull)
        );
        p1.logged_in();
        p1.logged_in();
        let mut p3 = l.try_acquire(a).unwrap();
        drop(p2);
        let _p4 = l.try_acquire(a).unwrap();
        p3.logged_in();
        let _p5 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).err(), Some(Refusal::AddressFull));
        drop(p1);
        assert_eq!(l.open_connections(), 3);
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_the_limits() {
        let l = Limiter::new(100, 2, 2);
        let _p1 = l.try_acquire(ip("2001:db8:0:1::1")).unwrap();
        let _p2 = l.try_acquire(ip("2001:db8:0:1:ffff::2")).unwrap();
        assert_eq!(
            l.try_acquire(ip("2001:db8:0:1::3")).err(),
            Some(Refusal::AddressFull)
        );
        assert!(l.try_acquire(ip("2001:db8:0:2::1")).is_ok());
    }
}
