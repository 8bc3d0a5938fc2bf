//! AUTHENTICATE SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677) in the session:
//! the waits between the exchange's states ([`crate::auth::scram`]) and the IMAP framing.
//!
//! ```text
//! C: A1 AUTHENTICATE SCRAM-SHA-256-PLUS <client-first>   (or "+ " first without SASL-IR)
//! S: + <server-first>                                     (after the keys are looked up)
//! C: <client-final>
//! S: + <server-final: v=ServerSignature>                  (after the proof checked out)
//! C: (empty line)
//! S: A1 OK [CAPABILITY ...] Logged in
//! ```
//!
//! A failure answers `NO [AUTHENTICATIONFAILED]` with the RFC 5802 `e=` value in the text:
//! IMAP has no other place for it once the exchange is over.

use actix::{ActorFutureExt, ResponseActFuture, WrapFuture};
use roost_proto::{Code, Continue, Response, Secret, Status, Tag};

use super::messages::{ReadMode, Reply};
use super::{ready, Pending, Session};
use crate::auth::sasl::SaslExchange;
use crate::auth::scram::{ExpectClientFinal, ExpectKeys, Failure, Mechanism, ProofCheck};
use crate::auth::{AuthError, LoginVerified};
use crate::telemetry::metrics::{self, AuthFailure};

/// The AUTHENTICATE exchange waiting for the client's next line.
#[derive(Debug)]
pub(super) enum Exchange {
    /// PLAIN or LOGIN.
    Sasl(SaslExchange),
    Scram(ScramStep),
}

/// Where a SCRAM exchange stands between two client lines: each variant is named for the
/// message it waits for.
#[derive(Debug)]
pub(super) enum ScramStep {
    /// An empty challenge was sent (no SASL-IR): waits for the client-first-message.
    ClientFirst(Mechanism),
    /// The server-first-message was sent: waits for the client-final-message. Boxed: it
    /// holds the keys and the messages so far, and most sessions never get here.
    ClientFinal {
        username: String,
        exchange: Box<ExpectClientFinal>,
    },
    /// The server-final-message was sent: waits for the client's empty answer. The login
    /// already succeeded (and was counted) when the proof checked out.
    Ack(LoginVerified),
}

impl Session {
    /// RFC 9051 section 6.2.2 for the SCRAM mechanisms.
    pub(super) fn handle_scram_start(
        &mut self,
        tag: Tag,
        mechanism: Mechanism,
        initial_response: Option<Secret<Vec<u8>>>,
    ) -> ResponseActFuture<Self, Reply> {
        if mechanism == Mechanism::ScramSha256Plus && self.info.channel_bindings.is_none() {
            metrics::auth_failed(AuthFailure::Sasl);
            self.write_status(Status::no(
                tag,
                None,
                "SCRAM-SHA-256-PLUS needs TLS: there is no channel to bind to",
            ));
            return ready(self.reply(ReadMode::Command));
        }
        self.scram_step(
            tag,
            ScramStep::ClientFirst(mechanism),
            initial_response.as_ref().map(|r| r.expose().as_slice()),
        )
    }

    /// Feeds the client's next line (`None`: no initial response) to the exchange.
    pub(super) fn scram_step(
        &mut self,
        tag: Tag,
        step: ScramStep,
        response: Option<&[u8]>,
    ) -> ResponseActFuture<Self, Reply> {
        match (step, response) {
            (ScramStep::ClientFirst(mechanism), None) => {
                self.scram_challenge(tag, Vec::new(), ScramStep::ClientFirst(mechanism))
            }
            (ScramStep::ClientFirst(mechanism), Some(message)) => {
                match ExpectKeys::start(mechanism, message, self.info.channel_bindings.as_ref()) {
                    Ok(start) => self.scram_lookup(tag, start),
                    Err(failure) => self.scram_failed(tag, &failure),
                }
            }
            (ScramStep::ClientFinal { username, exchange }, Some(message)) => {
                match exchange.client_final(message) {
                    Ok(check) => self.scram_verify(tag, username, check),
                    Err(failure) => self.scram_failed(tag, &failure),
                }
            }
            (ScramStep::Ack(proof), Some([])) => Box::pin(actix::fut::ready(()).map(
                move |(), session: &mut Session, ctx| session.complete_login(tag, Ok(proof), ctx),
            )),
            (ScramStep::Ack(_), Some(_)) => self.scram_failed(
                tag,
                &Failure {
                    error: crate::auth::scram::ServerError::OtherError,
                    reason: "the answer to the server-final-message must be empty",
                },
            ),
            (_, None) => self.scram_failed(
                tag,
                &Failure {
                    error: crate::auth::scram::ServerError::OtherError,
                    reason: "expected a response to the challenge",
                },
            ),
        }
    }

    fn scram_challenge(
        &mut self,
        tag: Tag,
        challenge: Vec<u8>,
        next: ScramStep,
    ) -> ResponseActFuture<Self, Reply> {
        self.write(Response::Continue(Continue::Base64(challenge)));
        self.pending = Pending::Sasl {
            tag,
            exchange: Exchange::Scram(next),
        };
        ready(self.reply(ReadMode::SaslLine))
    }

    /// A malformed message or a binding that does not match: no proof was checked.
    fn scram_failed(&mut self, tag: Tag, failure: &Failure) -> ResponseActFuture<Self, Reply> {
        metrics::auth_failed(AuthFailure::Sasl);
        self.write_status(Status::no(
            tag,
            Some(Code::AuthenticationFailed),
            format!("SCRAM failed: {failure}"),
        ));
        ready(self.reply(ReadMode::Command))
    }

    /// Looks up the stored keys off the actor thread, then sends the server-first-message.
    fn scram_lookup(&mut self, tag: Tag, start: ExpectKeys) -> ResponseActFuture<Self, Reply> {
        self.busy = true;
        let shared = self.shared.clone();
        let username = start.username().to_owned();
        let name = username.clone();
        let iterations = shared.config.auth.scram_iterations;
        let lookup = async move { shared.auth.scram_keys(&name, iterations).await };
        Box::pin(
            lookup
                .into_actor(self)
                .map(move |result, session, ctx| match result {
                    Ok(keys) => {
                        let (exchange, challenge) = start.server_first(keys);
                        session.write(Response::Continue(Continue::Base64(challenge)));
                        session.pending = Pending::Sasl {
                            tag,
                            exchange: Exchange::Scram(ScramStep::ClientFinal {
                                username,
                                exchange: Box::new(exchange),
                            }),
                        };
                        session.finish(ctx, ReadMode::SaslLine)
                    }
                    Err(e) => session.complete_login(tag, Err(e), ctx),
                }),
        )
    }

    /// Checks the proof through the authenticator's throttle; on success sends the
    /// server-final-message and waits for the client's empty answer.
    fn scram_verify(
        &mut self,
        tag: Tag,
        username: String,
        check: ProofCheck,
    ) -> ResponseActFuture<Self, Reply> {
        self.busy = true;
        let shared = self.shared.clone();
        let peer = self.peer_ip();
        let verify = async move {
            shared
                .auth
                .verify_with(&username, peer, || check.verify())
                .await
        };
        Box::pin(
            verify
                .into_actor(self)
                .map(move |result, session, ctx| match result {
                    Ok((proof, server_final)) => {
                        session.write(Response::Continue(Continue::Base64(server_final)));
                        session.pending = Pending::Sasl {
                            tag,
                            exchange: Exchange::Scram(ScramStep::Ack(proof)),
                        };
                        session.finish(ctx, ReadMode::SaslLine)
                    }
                    Err(e) => session.complete_login_saying(
                        tag,
                        Err::<LoginVerified, AuthError>(e),
                        "Authentication failed (SCRAM e=invalid-proof)",
                        ctx,
                    ),
                }),
        )
    }
}
