//! OAuth 2.0 bearer-token logins: the SASL mechanisms OAUTHBEARER (RFC 7628) and XOAUTH2
//! (Google's older form of the same idea), with the token a JWT signed by the identity
//! provider.
//!
//! Modules, one job each:
//! - [`sasl`]: the client messages of both mechanisms and their JSON error challenges.
//! - [`token`]: checks a JWT (signature, issuer, audience, expiry) and names its user.
//! - [`jwks`]: the provider's signing keys, kept fresh in the background.
//! - [`fetch`]: reads the key set from a file or an HTTPS URL.
//!
//! The session turns an `AUTHENTICATE OAUTHBEARER` into a [`sasl::BearerCredentials`]; the
//! `Authenticator` charges the throttle, asks the [`token::TokenVerifier`] for the user and
//! checks that the user exists in the users file, as a password login would.

pub mod fetch;
pub mod jwks;
pub mod sasl;
pub mod settings;
pub mod token;

pub use sasl::{BearerCredentials, BearerMechanism};
pub use settings::OAuthSettings;
pub use token::{TokenError, TokenVerifier};
