//! Node-to-node links: a bytes-in/bytes-out request/response and push transport over TCP.
//!
//! A node that needs another node's account opens one [`LinkClient`] to it and multiplexes all
//! its requests over one connection (by request id); the owner runs [`serve`] and answers them
//! through a [`LinkService`], and pushes unsolicited updates (untagged responses, `[CLOSED]`)
//! with the [`Pusher`] of the connection. Payloads are opaque here: the layer above defines and
//! encodes its own message enums. The wire format is in [`codec`].
//!
//! Security: links are plain TCP for now, for a trusted cluster network. Mutual TLS slots in
//! without touching the protocol: `server::serve_connection` and the client's framing are
//! generic over the stream type, so a `tokio_rustls` stream can be passed where the `TcpStream`
//! is today (the accept loop and `client::Conn::open` are the two places to wrap).

pub mod client;
pub mod codec;
pub mod server;
#[cfg(test)]
mod tests;

// The mailbox registry and sessions use these; until they are wired in, only tests do.
pub use client::LinkClient;
pub use server::{serve, LinkService, PeerConn, Pusher};

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
