//! Which node a link peer is, and which name a dialed node must prove.
//!
//! A certificate chain that verifies against the cluster CA only says "some node of this
//! cluster". Which node is decided by the certificate's DNS subject alternative names: a peer
//! announcing node id `roost-1` in its `Hello` must present a certificate valid for the DNS
//! name `roost-1` (the same check a TLS client makes of a server's name, via rustls's
//! [`verify_server_name`]). Without it any node could act as any other.
//!
//! So with link TLS every node id must be a DNS name (letters, digits, hyphens, dots), which
//! [`node_name`] checks when the configuration is loaded.

use rustls::client::verify_server_name;
use rustls::server::ParsedCertificate;
use rustls_pki_types::{CertificateDer, DnsName, ServerName};

/// Why a peer's certificate does not prove the node id it claims.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "node id {0:?} is not a DNS name; with node link TLS, node ids must be DNS names \
         (letters, digits, hyphens and dots, such as roost-0), because each node's \
         certificate names its node id as a DNS subject alternative name"
    )]
    NotADnsName(String),
    #[error("the peer presented no certificate")]
    NoCertificate,
    /// The certificate does not parse, or does not name the claimed node.
    #[error("{0}")]
    NotValidFor(rustls::Error),
    /// The host part of an address to dial is neither a DNS name nor an IP address.
    #[error("{0:?} has no host name or IP address a certificate could be checked against")]
    BadAddress(String),
}

/// The DNS name a node's certificate must carry for node id `node`.
///
/// # Errors
/// [`IdentityError::NotADnsName`] for ids that are not DNS names: IP addresses, underscores,
/// spaces, empty labels and the like.
pub fn node_name(node: &str) -> Result<ServerName<'static>, IdentityError> {
    let not_dns = || IdentityError::NotADnsName(node.to_owned());
    // Underscores pass `DnsName` (they occur in service records) but are not host names, and
    // certificate authorities such as cert-manager refuse them.
    if node.contains('_') || node.parse::<std::net::IpAddr>().is_ok() {
        return Err(not_dns());
    }
    let name = DnsName::try_from(node).map_err(|_| not_dns())?;
    Ok(ServerName::DnsName(name.to_owned()))
}

/// Checks that `certificate` (the peer's end-entity certificate, its chain already verified
/// against the cluster CA during the handshake) is valid for node id `claimed`.
///
/// # Errors
/// `NoCertificate`, `NotADnsName` for a claimed id that cannot be a DNS name, or
/// `NotValidFor` naming what the certificate presents instead.
pub fn check_peer(
    certificate: Option<&CertificateDer<'_>>,
    claimed: &str,
) -> Result<(), IdentityError> {
    let certificate = certificate.ok_or(IdentityError::NoCertificate)?;
    check_name(certificate, &node_name(claimed)?)
}

/// Checks that `certificate` is valid for `name` (a DNS name or an IP address).
///
/// # Errors
/// [`IdentityError::NotValidFor`].
pub fn check_name(
    certificate: &CertificateDer<'_>,
    name: &ServerName<'_>,
) -> Result<(), IdentityError> {
    let parsed = ParsedCertificate::try_from(certificate).map_err(IdentityError::NotValidFor)?;
    verify_server_name(&parsed, name).map_err(IdentityError::NotValidFor)
}

/// The name a node dialed at `address` (`host:port`, `[v6]:port`) must prove: its host part.
///
/// # Errors
/// [`IdentityError::BadAddress`] when the host part is neither a DNS name nor an IP address.
pub fn host_name(address: &str) -> Result<ServerName<'static>, IdentityError> {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(host, _port)| host);
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host)
        .map(|name| name.to_owned())
        .map_err(|_| IdentityError::BadAddress(address.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_must_be_dns_names() {
        for good in ["roost-0", "n1", "roost-0.roost-headless.mail.svc", "Node-A"] {
            assert!(node_name(good).is_ok(), "{good}");
        }
        for bad in ["", "node_a", "node a", "127.0.0.1", "-x", "a..b", "x-"] {
            let err = node_name(bad).unwrap_err();
            assert!(err.to_string().contains("DNS name"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_host_part_of_an_address_is_the_name_to_check() {
        let name = |a: &str| host_name(a).unwrap().to_str().into_owned();
        assert_eq!(name("roost-1.roost:7143"), "roost-1.roost");
        assert_eq!(name("127.0.0.1:7143"), "127.0.0.1");
        assert_eq!(name("[::1]:7143"), "::1");
        assert!(matches!(
            host_name("roost 1:7143"),
            Err(IdentityError::BadAddress(_))
        ));
    }
}
