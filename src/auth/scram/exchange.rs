//! The server's SCRAM exchange (RFC 5802 section 5), one struct per state. Each step
//! consumes its state, so a later step's data exists only once the earlier one succeeded.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::keys::{hmac_sha256, sha256, ScramKeys};
use super::message::{self, CbindFlag};
use super::{Failure, Mechanism, ServerError};
use crate::net::channel_binding::ChannelBindings;

/// Random bytes the server adds to the client's nonce (base64: 24 characters).
const SERVER_NONCE_LEN: usize = 18;

/// The client-first-message was accepted; waiting for the user's stored keys.
#[derive(Debug)]
pub struct ExpectKeys {
    first: message::ClientFirst,
    /// What `c=` must decode to: the gs2-header, then the channel-binding data for `p=`.
    cbind_input: Vec<u8>,
}

/// The server-first-message was sent; waiting for the client-final-message.
#[derive(Debug)]
pub struct ExpectClientFinal {
    keys: ScramKeys,
    cbind_input: Vec<u8>,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// The client-final-message was accepted; the proof is not checked yet.
#[derive(Debug)]
pub struct ProofCheck {
    keys: ScramKeys,
    auth_message: String,
    proof: [u8; 32],
}

fn fail(error: ServerError, reason: &'static str) -> Failure {
    Failure { error, reason }
}

impl ExpectKeys {
    /// Checks the client-first-message against the mechanism and the connection's channel
    /// bindings (RFC 5802 section 6): `-PLUS` needs `p=` naming a binding this connection
    /// has; plain SCRAM takes `n`, or `y` only where `-PLUS` is not offered (a `y` on TLS
    /// means something stripped `-PLUS` from the capability list).
    ///
    /// # Errors
    /// [`Failure`] with the `e=` value to report.
    pub fn start(
        mechanism: Mechanism,
        client_first: &[u8],
        bindings: Option<&ChannelBindings>,
    ) -> Result<ExpectKeys, Failure> {
        let first = message::client_first(client_first)?;
        if first.authzid.as_ref().is_some_and(|a| *a != first.username) {
            return Err(fail(
                ServerError::OtherError,
                "authorization identity differs from authentication identity",
            ));
        }
        let mut cbind_input = first.gs2_header.as_bytes().to_vec();
        match (mechanism, &first.flag) {
            (Mechanism::ScramSha256Plus, CbindFlag::Type(name)) => {
                let data = bindings.and_then(|b| b.get(name)).ok_or(fail(
                    ServerError::UnsupportedChannelBindingType,
                    "unsupported channel binding type",
                ))?;
                cbind_input.extend_from_slice(data);
            }
            (Mechanism::ScramSha256Plus, _) => {
                return Err(fail(
                    ServerError::OtherError,
                    "SCRAM-SHA-256-PLUS needs a p= channel binding flag",
                ))
            }
            (Mechanism::ScramSha256, CbindFlag::Type(_)) => {
                return Err(fail(
                    ServerError::OtherError,
                    "channel binding requested with SCRAM-SHA-256; use SCRAM-SHA-256-PLUS",
                ))
            }
            (Mechanism::ScramSha256, CbindFlag::ClientOnly) if bindings.is_some() => {
                return Err(fail(
                    ServerError::ServerDoesSupportChannelBinding,
                    "the server supports channel binding",
                ))
            }
            (Mechanism::ScramSha256, _) => {}
        }
        Ok(ExpectKeys { first, cbind_input })
    }

    /// The user name from the client-first-message, to look the keys up by.
    pub fn username(&self) -> &str {
        &self.first.username
    }

    /// Makes the server-first-message from `keys` and a fresh server nonce.
    pub fn server_first(self, keys: ScramKeys) -> (ExpectClientFinal, Vec<u8>) {
        let mut random = [0u8; SERVER_NONCE_LEN];
        getrandom::fill(&mut random).expect("the system random number generator is unavailable");
        let nonce = format!("{}{}", self.first.nonce, B64.encode(random));
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&keys.salt),
            keys.iterations
        );
        let challenge = server_first.clone().into_bytes();
        let next = ExpectClientFinal {
            keys,
            cbind_input: self.cbind_input,
            client_first_bare: self.first.bare,
            server_first,
            nonce,
        };
        (next, challenge)
    }
}

impl ExpectClientFinal {
    /// Checks the client-final-message's channel binding and nonce.
    ///
    /// # Errors
    /// [`Failure`]: `e=channel-bindings-dont-match` when `c=` differs from what this
    /// connection's binding and the client's own gs2-header give.
    pub fn client_final(self, client_final: &[u8]) -> Result<ProofCheck, Failure> {
        let last = message::client_final(client_final)?;
        if !bool::from(last.channel_binding.ct_eq(&self.cbind_input)) {
            return Err(fail(
                ServerError::ChannelBindingsDontMatch,
                "channel bindings do not match",
            ));
        }
        if last.nonce != self.nonce {
            return Err(fail(ServerError::OtherError, "nonce does not match"));
        }
        Ok(ProofCheck {
            keys: self.keys,
            auth_message: format!(
                "{},{},{}",
                self.client_first_bare, self.server_first, last.without_proof
            ),
            proof: last.proof,
        })
    }
}

impl ProofCheck {
    /// Checks the proof (RFC 5802 section 3) in constant time and, when it is right, returns
    /// the server-final-message `v=ServerSignature`.
    pub fn verify(&self) -> Option<Vec<u8>> {
        let signature = hmac_sha256(&self.keys.stored_key, self.auth_message.as_bytes());
        let mut client_key = self.proof;
        for (k, s) in client_key.iter_mut().zip(signature) {
            *k ^= s;
        }
        if !bool::from(sha256(&client_key).ct_eq(&self.keys.stored_key)) {
            return None;
        }
        let server_signature = hmac_sha256(&self.keys.server_key, self.auth_message.as_bytes());
        Some(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil".
    #[test]
    fn rfc7677_test_vector() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let keys = ScramKeys::derive_with_salt(b"pencil", salt, 4096).unwrap();
        let start = ExpectKeys::start(
            Mechanism::ScramSha256,
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            None,
        )
        .unwrap();
        assert_eq!(start.username(), "user");
        let (mut next, _) = start.server_first(keys);
        // The RFC's server nonce, in place of a random one.
        next.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        next.server_first =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
                .into();
        let check = next
            .client_final(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .unwrap();
        assert_eq!(
            check.verify().unwrap(),
            b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    fn bindings() -> ChannelBindings {
        ChannelBindings {
            exporter: Some([1; 32]),
            server_end_point: Some([2; 32]),
        }
    }

    #[test]
    fn gs2_flags_follow_rfc5802_section_6() {
        let b = bindings();
        let plus = Mechanism::ScramSha256Plus;
        let plain = Mechanism::ScramSha256;
        let err = |m, msg: &[u8], b| ExpectKeys::start(m, msg, b).unwrap_err().error;
        assert_eq!(
            err(plain, b"y,,n=u,r=x", Some(&b)),
            ServerError::ServerDoesSupportChannelBinding
        );
        assert!(ExpectKeys::start(plain, b"y,,n=u,r=x", None).is_ok());
        assert!(ExpectKeys::start(plain, b"n,,n=u,r=x", Some(&b)).is_ok());
        assert_eq!(err(plus, b"n,,n=u,r=x", Some(&b)), ServerError::OtherError);
        assert_eq!(
            err(plain, b"p=tls-exporter,,n=u,r=x", Some(&b)),
            ServerError::OtherError
        );
        assert_eq!(
            err(plus, b"p=tls-unique,,n=u,r=x", Some(&b)),
            ServerError::UnsupportedChannelBindingType
        );
        assert_eq!(
            err(plus, b"p=tls-exporter,,n=u,r=x", None),
            ServerError::UnsupportedChannelBindingType
        );
        assert_eq!(
            err(plain, b"n,a=admin,n=u,r=x", None),
            ServerError::OtherError
        );
        let x = ExpectKeys::start(plus, b"p=tls-server-end-point,,n=u,r=x", Some(&b)).unwrap();
        assert_eq!(
            x.cbind_input,
            [&b"p=tls-server-end-point,,"[..], &[2; 32]].concat()
        );
    }

    #[test]
    fn wrong_binding_nonce_or_proof_fail() {
        let keys = ScramKeys::derive_with_salt(b"pencil", b"salt".to_vec(), 4096).unwrap();
        let b = bindings();
        let start = |keys: &ScramKeys| {
            ExpectKeys::start(
                Mechanism::ScramSha256Plus,
                b"p=tls-exporter,,n=u,r=x",
                Some(&b),
            )
            .unwrap()
            .server_first(keys.clone())
            .0
        };
        let proof = B64.encode([0u8; 32]);
        let wrong_cb = B64.encode([&b"p=tls-exporter,,"[..], &[2; 32]].concat());
        let next = start(&keys);
        let nonce = next.nonce.clone();
        let msg = format!("c={wrong_cb},r={nonce},p={proof}");
        assert_eq!(
            next.client_final(msg.as_bytes()).unwrap_err().error,
            ServerError::ChannelBindingsDontMatch
        );
        let right_cb = B64.encode([&b"p=tls-exporter,,"[..], &[1; 32]].concat());
        let msg = format!("c={right_cb},r=x-other,p={proof}");
        assert!(start(&keys).client_final(msg.as_bytes()).is_err());
        let next = start(&keys);
        let msg = format!("c={right_cb},r={},p={proof}", next.nonce);
        assert_eq!(next.client_final(msg.as_bytes()).unwrap().verify(), None);
    }
}
