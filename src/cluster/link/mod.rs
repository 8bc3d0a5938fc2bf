//! Node-to-node links: a bytes-in/bytes-out request/response and push transport over TCP.
//!
//! A node that needs another node's account opens one [`LinkClient`] to it and multiplexes all
//! its requests over one connection (by request id); the owner runs [`serve`] and answers them
//! through a [`LinkService`], and pushes unsolicited updates (untagged responses, `[CLOSED]`)
//! with the [`Pusher`] of the connection. Payloads are opaque here: the layer above defines and
//! encodes its own message enums. The wire format is in [`codec`].
//!
//! Security ([`LinkSecurity`]): mutual TLS ([`tls`]) with every node's certificate signed by
//! the cluster CA, and the node id a peer announces in its `Hello` checked against its
//! certificate ([`identity`]) before any request is read. Plain TCP only when the operator
//! says the network is trusted (`cluster.link_plaintext`). The framing is the same either way.

pub mod client;
pub mod codec;
pub mod identity;
pub mod server;
#[cfg(test)]
pub mod test_pki;
#[cfg(test)]
mod tests;
pub mod tls;

use std::sync::Arc;

pub use client::LinkClient;
pub use server::{serve, LinkService, PeerConn, Pusher};

/// How this node's links are protected; shared by its listener and every link it opens.
#[derive(Clone, Debug)]
pub enum LinkSecurity {
    /// Plain TCP (`cluster.link_plaintext`): anyone who reaches the port can act as a node, so
    /// only for a network nobody else can reach.
    Plaintext,
    /// Mutual TLS with the cluster CA; a peer's node id must match its certificate.
    Tls(Arc<tls::LinkTls>),
}

/// This node as its outgoing links present it: the id its `Hello` announces, and how the
/// connection is secured. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalNode {
    id: String,
    security: LinkSecurity,
}

impl LocalNode {
    pub fn new(id: String, security: LinkSecurity) -> LocalNode {
        LocalNode { id, security }
    }

    /// A node whose links are plain TCP (tests).
    #[cfg(test)]
    pub fn plaintext(id: &str) -> LocalNode {
        LocalNode::new(id.to_owned(), LinkSecurity::Plaintext)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn security(&self) -> &LinkSecurity {
        &self.security
    }
}

/// Why a request over a link got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No connection could be made to the peer.
    #[error("node link to {0} unreachable")]
    Unreachable(String),
    /// The connection broke before the answer came: the request may or may not have been
    /// carried out.
    #[error("node link closed")]
    Closed,
    #[error("node link request timed out")]
    Timeout,
    /// The peer failed to handle the request.
    #[error("remote failure: {0}")]
    Remote(String),
}
