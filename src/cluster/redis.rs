//! The Redis directory: membership, account leases with fencing epochs, operator commands.
