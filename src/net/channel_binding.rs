//! The TLS channel-binding data SCRAM-SHA-256-PLUS checks (RFC 5802 section 6): computed
//! once after the handshake and kept with the connection (64 bytes; no buffers).
//!
//! - `tls-exporter` (RFC 9266 section 2): 32 bytes of keying material exported with the
//!   label `EXPORTER-Channel-Binding` and no context.
//! - `tls-server-end-point` (RFC 5929 section 4.1): the hash of the server's leaf
//!   certificate. Roost uses SHA-256, which is right for certificates signed with SHA-256
//!   (and for MD5/SHA-1 ones); a certificate signed with SHA-384 or SHA-512 would need that
//!   hash instead, and clients binding to it will see `channel-bindings-dont-match`.
//!
//! rustls does not tell a server which certificate a handshake sent, so the certificate
//! resolver publishes the hash of the certificate it serves ([`publish_server_certificate`])
//! and connections read it right after their handshake. During a certificate rotation a
//! handshake that straddles the swap can get the new hash for the old certificate; such a
//! client fails with `channel-bindings-dont-match` and can retry.

use std::sync::{PoisonError, RwLock};

use crate::auth::scram::keys::sha256;

/// The hash of the leaf certificate new handshakes get.
static SERVER_END_POINT: RwLock<Option<[u8; 32]>> = RwLock::new(None);

/// Records the leaf certificate (DER) the resolver now serves.
pub(crate) fn publish_server_certificate(der: &[u8]) {
    *SERVER_END_POINT
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(sha256(der));
}

/// The channel-binding data of one TLS connection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChannelBindings {
    pub exporter: Option<[u8; 32]>,
    pub server_end_point: Option<[u8; 32]>,
}

impl std::fmt::Debug for ChannelBindings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelBindings").finish_non_exhaustive()
    }
}

impl ChannelBindings {
    /// The bindings of an established server connection.
    pub fn of(conn: &rustls::ServerConnection) -> ChannelBindings {
        let exporter = conn
            .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
            .ok();
        let server_end_point = *SERVER_END_POINT
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        ChannelBindings {
            exporter,
            server_end_point,
        }
    }

    /// The data for the channel-binding type `name`, if this connection has it.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        match name {
            "tls-exporter" => self.exporter.as_ref().map(|d| &d[..]),
            "tls-server-end-point" => self.server_end_point.as_ref().map(|d| &d[..]),
            _ => None,
        }
    }
}
