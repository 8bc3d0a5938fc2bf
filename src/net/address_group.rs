//! Which client addresses count as one client for limits and throttling.
//!
//! An IPv4 address is one client. An IPv6 host usually gets a whole /64 (SLAAC, privacy
//! addresses), so it could step around any per-address limit by changing its low 64 bits:
//! IPv6 addresses count per /64. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a
//! dual-stack socket reports) count as the IPv4 address they carry.

use std::net::IpAddr;

/// The address that stands for every address of `ip`'s group.
pub fn address_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(s: &str) -> String {
        address_group(s.parse().unwrap()).to_string()
    }

    #[test]
    fn ipv6_groups_by_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(group("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(group("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::");
        assert_ne!(group("2001:db8:1:3::1"), group("2001:db8:1:2::1"));
        assert_eq!(group("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(group("192.0.2.1"), "192.0.2.1");
        assert_eq!(group("::1"), "::");
    }
}
