//! Server side of the SASL mechanisms PLAIN (RFC 4616) and LOGIN, for IMAP `AUTHENTICATE`
//! (RFC 9051 section 6.2.2) with or without an initial response (SASL-IR, RFC 4959).
//!
//! An exchange only turns client bytes into [`Credentials`]; checking them is the
//! `Authenticator`'s job. Base64 and the `+ ` continuation lines belong to the session and
//! proto layers: [`SaslExchange::step`] sees decoded bytes and returns raw challenge bytes.
//! Failure reasons are safe to log and to send in a `NO`: they never quote client data.

use roost_proto::Secret;

use crate::auth::oauth::sasl::BearerExchange;
use crate::auth::oauth::{BearerCredentials, BearerMechanism};

/// The mechanism names to advertise as `AUTH=` capabilities, strongest first.
pub const MECHANISMS: &[&str] = &["PLAIN", "LOGIN"];

/// A user name and password taken from an exchange, still unverified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret<Vec<u8>>,
}

/// What the server does after one step.
#[derive(Debug, PartialEq, Eq)]
pub enum SaslStep {
    /// Send this challenge (`+ base64`) and call `step` again with the client's answer.
    Challenge(Vec<u8>),
    /// The exchange is complete; verify these credentials.
    Done(Credentials),
    /// Verify this bearer token; if it is refused, send [`SaslExchange::token_refused`].
    Bearer(BearerCredentials),
    /// The client acknowledged a refused token's error: answer as for a wrong password.
    Rejected,
    /// The client's data was malformed or out of order; answer `NO` (or `BAD`) with this reason.
    Failed(String),
}

/// One in-progress `AUTHENTICATE` exchange. Each state is named for what it waits for.
#[derive(Debug)]
pub struct SaslExchange {
    state: State,
}

#[derive(Debug)]
enum State {
    /// PLAIN, before the first step.
    PlainStart,
    /// PLAIN after sending the empty challenge: waits for `[authzid] NUL authcid NUL passwd`.
    PlainExpectMessage,
    /// LOGIN, before the first step.
    LoginStart,
    /// LOGIN after `Username:`.
    LoginExpectUsername,
    /// LOGIN after `Password:`.
    LoginExpectPassword { username: String },
    /// OAUTHBEARER or XOAUTH2.
    Bearer(BearerExchange),
    /// Done or failed: any further step fails.
    Finished,
}

impl SaslExchange {
    /// Starts an exchange for `mechanism` (case-insensitive, as SASL names are), or `None`
    /// if it is not supported.
    pub fn new(mechanism: &str) -> Option<SaslExchange> {
        let state = if mechanism.eq_ignore_ascii_case("PLAIN") {
            State::PlainStart
        } else if mechanism.eq_ignore_ascii_case("LOGIN") {
            State::LoginStart
        } else {
            return None;
        };
        Some(SaslExchange { state })
    }

    /// Starts an OAUTHBEARER or XOAUTH2 exchange, or `None` for other mechanisms (only for
    /// servers that accept OAuth tokens).
    pub fn bearer(mechanism: &str) -> Option<SaslExchange> {
        let mechanism = BearerMechanism::from_name(mechanism)?;
        Some(SaslExchange {
            state: State::Bearer(BearerExchange::new(mechanism)),
        })
    }

    /// A bearer token from [`SaslStep::Bearer`] was refused: the error challenge to send,
    /// after which the exchange waits for the client's dummy response.
    pub fn token_refused(&mut self) -> Option<Vec<u8>> {
        match &mut self.state {
            State::Bearer(bearer) => bearer.token_refused(),
            _ => None,
        }
    }

    /// Feeds the client's next response. On the first call, `None` means the client sent no
    /// initial response and `Some` is its SASL-IR (`=` on the wire is `Some(&[])`). Later
    /// calls must carry `Some`.
    pub fn step(&mut self, response: Option<&[u8]>) -> SaslStep {
        let state = std::mem::replace(&mut self.state, State::Finished);
        let (next, step) = match (state, response) {
            (State::PlainStart, None) => (State::PlainExpectMessage, SaslStep::Challenge(vec![])),
            (State::PlainStart | State::PlainExpectMessage, Some(message)) => {
                (State::Finished, parse_plain(message))
            }
            (State::LoginStart, None) => (
                State::LoginExpectUsername,
                SaslStep::Challenge(b"Username:".to_vec()),
            ),
            // LOGIN has no initial response of its own; clients that send one send the user name.
            (State::LoginStart | State::LoginExpectUsername, Some(name)) => {
                match login_username(name) {
                    Ok(username) => (
                        State::LoginExpectPassword { username },
                        SaslStep::Challenge(b"Password:".to_vec()),
                    ),
                    Err(reason) => (State::Finished, SaslStep::Failed(reason.into())),
                }
            }
            (State::LoginExpectPassword { username }, Some(password)) => (
                State::Finished,
                SaslStep::Done(Credentials {
                    username,
                    password: Secret::new(password.to_vec()),
                }),
            ),
            (State::Bearer(mut bearer), response) => {
                let step = bearer.step(response);
                (State::Bearer(bearer), step)
            }
            (State::Finished, _) => (
                State::Finished,
                SaslStep::Failed("authentication exchange already finished".into()),
            ),
            (_, None) => (
                State::Finished,
                SaslStep::Failed("expected a response to the challenge".into()),
            ),
        };
        self.state = next;
        step
    }
}

fn login_username(name: &[u8]) -> Result<String, &'static str> {
    match std::str::from_utf8(name) {
        Ok("") => Err("empty user name"),
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Err("user name is not UTF-8"),
    }
}

/// Parses a PLAIN message (RFC 4616 section 2):
///
/// ```text
/// message   = [authzid] UTF8NUL authcid UTF8NUL passwd
/// authcid   = 1*SAFE ; MUST accept up to 255 octets
/// authzid   = 1*SAFE ; MUST accept up to 255 octets
/// passwd    = 1*SAFE ; MUST accept up to 255 octets
/// ```
///
/// Roost has no proxy authorization, so a non-empty authzid must name the authcid itself.
fn parse_plain(message: &[u8]) -> SaslStep {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(passwd), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return SaslStep::Failed(
            "malformed PLAIN message: expected exactly two NUL separators".into(),
        );
    };
    let (Ok(authzid), Ok(authcid), Ok(_)) = (
        std::str::from_utf8(authzid),
        std::str::from_utf8(authcid),
        std::str::from_utf8(passwd),
    ) else {
        return SaslStep::Failed("malformed PLAIN message: not UTF-8".into());
    };
    if authcid.is_empty() || passwd.is_empty() {
        return SaslStep::Failed("malformed PLAIN message: empty user name or password".into());
    }
    if !authzid.is_empty() && authzid != authcid {
        return SaslStep::Failed(
            "authorization identity differs from authentication identity".into(),
        );
    }
    SaslStep::Done(Credentials {
        username: authcid.to_owned(),
        password: Secret::new(passwd.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(user: &str, pass: &[u8]) -> SaslStep {
        SaslStep::Done(Credentials {
            username: user.into(),
            password: Secret::new(pass.to_vec()),
        })
    }

    fn is_failed(step: &SaslStep) -> bool {
        matches!(step, SaslStep::Failed(_))
    }

    #[test]
    fn unknown_mechanisms_are_refused_and_names_ignore_case() {
        assert!(SaslExchange::new("CRAM-MD5").is_none());
        assert!(SaslExchange::new("").is_none());
        assert!(SaslExchange::new("plain").is_some());
        assert!(SaslExchange::new("Login").is_some());
        for m in MECHANISMS {
            assert!(SaslExchange::new(m).is_some());
        }
    }

    #[test]
    fn plain_without_initial_response_sends_an_empty_challenge() {
        let mut x = SaslExchange::new("PLAIN").unwrap();
        assert_eq!(x.step(None), SaslStep::Challenge(vec![]));
        assert_eq!(x.step(Some(b"\0alice\0secret")), done("alice", b"secret"));
        assert!(is_failed(&x.step(Some(b"\0alice\0secret"))));
    }

    #[test]
    fn plain_with_initial_response_finishes_in_one_step() {
        let mut x = SaslExchange::new("PLAIN").unwrap();
        assert_eq!(x.step(Some(b"\0alice\0secret")), done("alice", b"secret"));
    }

    #[test]
    fn plain_authzid_must_match_authcid() {
        let mut x = SaslExchange::new("PLAIN").unwrap();
        assert_eq!(x.step(Some(b"alice\0alice\0pw")), done("alice", b"pw"));
        let mut x = SaslExchange::new("PLAIN").unwrap();
        assert!(is_failed(&x.step(Some(b"admin\0alice\0pw"))));
        // User names are case-sensitive, so is this comparison.
        let mut x = SaslExchange::new("PLAIN").unwrap();
        assert!(is_failed(&x.step(Some(b"Alice\0alice\0pw"))));
    }

    #[test]
    fn malformed_plain_fails_cleanly() {
        let cases: &[&[u8]] = &[
            b"",
            b"alice",
            b"alice\0secret",
            b"\0alice\0secret\0",
            b"\0\0secret",
            b"\0alice\0",
            b"\0\0",
            b"\0al\xffice\0secret",
            b"\0alice\0sec\xc3",
            b"\xff\0alice\0secret",
        ];
        for case in cases {
            let mut x = SaslExchange::new("PLAIN").unwrap();
            let step = x.step(Some(case));
            assert!(is_failed(&step), "{case:?} gave {step:?}");
            assert!(is_failed(&x.step(Some(b"\0alice\0secret"))));
        }
    }

    #[test]
    fn plain_after_empty_challenge_needs_a_response() {
        let mut x = SaslExchange::new("PLAIN").unwrap();
        x.step(None);
        assert!(is_failed(&x.step(None)));
    }

    #[test]
    fn login_asks_for_name_then_password() {
        let mut x = SaslExchange::new("LOGIN").unwrap();
        assert_eq!(x.step(None), SaslStep::Challenge(b"Username:".to_vec()));
        assert_eq!(
            x.step(Some(b"alice")),
            SaslStep::Challenge(b"Password:".to_vec())
        );
        assert_eq!(
            x.step(Some(b"s\0e\xffcret")),
            done("alice", b"s\0e\xffcret")
        );
        assert!(is_failed(&x.step(Some(b"again"))));
    }

    #[test]
    fn login_initial_response_is_the_user_name() {
        let mut x = SaslExchange::new("LOGIN").unwrap();
        assert_eq!(
            x.step(Some(b"alice")),
            SaslStep::Challenge(b"Password:".to_vec())
        );
        assert_eq!(x.step(Some(b"pw")), done("alice", b"pw"));
    }

    #[test]
    fn login_rejects_bad_names_and_missing_responses() {
        for name in [&b""[..], b"\xff\xfe"] {
            let mut x = SaslExchange::new("LOGIN").unwrap();
            x.step(None);
            assert!(is_failed(&x.step(Some(name))));
        }
        let mut x = SaslExchange::new("LOGIN").unwrap();
        x.step(None);
        assert!(is_failed(&x.step(None)));
        let mut x = SaslExchange::new("LOGIN").unwrap();
        x.step(Some(b"alice"));
        assert!(is_failed(&x.step(None)));
    }

    #[test]
    fn failure_reasons_and_debug_never_show_secrets() {
        let mut x = SaslExchange::new("PLAIN").unwrap();
        let step = x.step(Some(b"bob\0alice\0hunter2"));
        assert!(!format!("{step:?}").contains("hunter2"));
        let mut x = SaslExchange::new("PLAIN").unwrap();
        let step = x.step(Some(b"\0alice\0hunter2"));
        assert!(!format!("{step:?}").contains("hunter2"));
        let mut x = SaslExchange::new("LOGIN").unwrap();
        x.step(Some(b"alice"));
        x.step(Some(b"hunter2"));
        assert!(!format!("{x:?}").contains("hunter2"));
    }
}
