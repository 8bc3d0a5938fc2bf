//! Server side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677), with
//! `tls-exporter` (RFC 9266) and `tls-server-end-point` (RFC 5929) channel binding.
//!
//! Unlike PLAIN, the server needs the user's stored keys in the middle of the exchange, so
//! the exchange is a chain of states, each consuming the last ([`exchange`]):
//! [`ExpectKeys`] (client-first parsed, waiting for the stored keys) →
//! [`ExpectClientFinal`] (server-first sent) → [`ProofCheck`] (client-final parsed, the proof
//! not yet checked). The session does the waiting and the base64; the `Authenticator`
//! decides when a proof may be checked (throttling) and counts the outcome.
//!
//! Unknown users, and users whose entry has no stored SCRAM keys, get [`ScramKeys::fake`]
//! keys: the same salt every time, the configured iteration count, and a proof that cannot
//! match, so the answers are those of a wrong password.
//!
//! Modules: [`keys`] (stored keys, RFC 5803 text), [`message`] (client message parsers),
//! [`exchange`] (the states).

pub mod exchange;
pub mod keys;
pub mod message;

pub use exchange::{ExpectClientFinal, ExpectKeys, ProofCheck};
pub use keys::{ScramKeys, MIN_ITERATIONS};

/// The two mechanisms; `-PLUS` is the one with channel binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    ScramSha256,
    ScramSha256Plus,
}

impl Mechanism {
    /// The mechanism named `name` (case-insensitive), if it is one of the two.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        if name.eq_ignore_ascii_case("SCRAM-SHA-256") {
            Some(Mechanism::ScramSha256)
        } else if name.eq_ignore_ascii_case("SCRAM-SHA-256-PLUS") {
            Some(Mechanism::ScramSha256Plus)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
        }
    }

    /// The mechanisms to advertise: `-PLUS` only where there is a TLS channel to bind to.
    pub fn advertised(tls: bool) -> &'static [Mechanism] {
        if tls {
            &[Mechanism::ScramSha256Plus, Mechanism::ScramSha256]
        } else {
            &[Mechanism::ScramSha256]
        }
    }
}

/// The `server-error-value`s of RFC 5802 section 7 that Roost sends (`e=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerError {
    InvalidEncoding,
    ExtensionsNotSupported,
    InvalidProof,
    ChannelBindingsDontMatch,
    ServerDoesSupportChannelBinding,
    ChannelBindingNotSupported,
    UnsupportedChannelBindingType,
    InvalidUsernameEncoding,
    OtherError,
}

impl ServerError {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerError::InvalidEncoding => "invalid-encoding",
            ServerError::ExtensionsNotSupported => "extensions-not-supported",
            ServerError::InvalidProof => "invalid-proof",
            ServerError::ChannelBindingsDontMatch => "channel-bindings-dont-match",
            ServerError::ServerDoesSupportChannelBinding => "server-does-support-channel-binding",
            ServerError::ChannelBindingNotSupported => "channel-binding-not-supported",
            ServerError::UnsupportedChannelBindingType => "unsupported-channel-binding-type",
            ServerError::InvalidUsernameEncoding => "invalid-username-encoding",
            ServerError::OtherError => "other-error",
        }
    }
}

/// Why an exchange failed: the `e=` value for the client and a reason for the `NO` text.
/// Neither ever quotes client data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: ServerError,
    pub reason: &'static str,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (e={})", self.reason, self.error.as_str())
    }
}
