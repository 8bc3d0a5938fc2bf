//! STARTTLS, LOGIN and AUTHENTICATE (RFC 9051 sections 6.2.1–6.2.3, RFC 4959 SASL-IR):
//! transition (4) from Not Authenticated to Authenticated.

use actix::{ActorFutureExt, Context, WrapFuture};
use roost_proto::decode::SaslLine;
use roost_proto::{Atom, Code, Continue, Response, Secret, Status, Tag};

use super::messages::{ReadMode, Reply};
use super::scram::Exchange;
use super::state::State;
use super::{ready, Pending, Session};
use crate::auth::sasl::{SaslExchange, SaslStep};
use crate::auth::scram::Mechanism;
use crate::auth::throttle::Refused;
use crate::auth::{AuthError, LoginVerified};
use crate::telemetry::metrics::{self, AuthFailure};
use actix::ResponseActFuture;

impl Session {
    /// RFC 9051 section 6.2.1. The I/O task performs the handshake after writing the OK and
    /// discards anything the client pipelined in plaintext behind the command.
    pub(super) fn handle_starttls(&mut self, tag: Tag) -> ReadMode {
        if self.info.tls {
            self.write_status(Status::bad(tag, None, "TLS is already active"));
            return ReadMode::Command;
        }
        if !self.info.starttls_available {
            self.write_status(Status::bad(
                tag,
                None,
                "STARTTLS is not offered on this port",
            ));
            return ReadMode::Command;
        }
        self.write_status(Status::ok(tag, None, "Begin TLS negotiation now"));
        ReadMode::StartTls
    }

    /// Refuses a login attempt over plaintext from a remote address (LOGINDISABLED).
    fn refuse_plaintext(&mut self, tag: Tag) -> Option<ResponseActFuture<Self, Reply>> {
        if self.login_allowed() {
            return None;
        }
        self.write_plaintext_refusal(tag);
        Some(Box::pin(actix::fut::ready(self.reply(ReadMode::Command))))
    }

    fn write_plaintext_refusal(&mut self, tag: Tag) {
        metrics::auth_failed(AuthFailure::Plaintext);
        self.write_status(Status::no(
            tag,
            Some(Code::PrivacyRequired),
            "Plaintext login is disabled: use STARTTLS or the implicit TLS port first",
        ));
    }

    /// A LOGIN announced its password as a synchronizing literal where plaintext login is
    /// disabled: the I/O task refused the literal instead of sending `+`, so the password
    /// never crossed the network; this answers the dropped command.
    pub(super) fn handle_plaintext_login_literal(
        &mut self,
        tag: Option<Tag>,
        ctx: &mut Context<Self>,
    ) -> Reply {
        match tag {
            Some(tag) => self.write_plaintext_refusal(tag),
            // The decoder refuses untagged literals itself; answer sensibly all the same.
            None => self.write_status(Status::untagged(
                roost_proto::StatusKind::No,
                Some(Code::PrivacyRequired),
                "Plaintext login is disabled",
            )),
        }
        self.finish(ctx, ReadMode::Command)
    }

    /// RFC 9051 section 6.2.3.
    pub(super) fn handle_login(
        &mut self,
        tag: Tag,
        username: Vec<u8>,
        password: Secret<Vec<u8>>,
    ) -> ResponseActFuture<Self, Reply> {
        if let Some(refused) = self.refuse_plaintext(tag.clone()) {
            return refused;
        }
        // A user name that is not UTF-8 cannot exist; it still goes through the same
        // password check so the answer takes as long as any other failure.
        let username = String::from_utf8_lossy(&username).into_owned();
        self.verify(tag, username, password)
    }

    /// RFC 9051 section 6.2.2, with the SASL-IR initial response.
    pub(super) fn handle_authenticate(
        &mut self,
        tag: Tag,
        mechanism: &Atom,
        initial_response: Option<Secret<Vec<u8>>>,
    ) -> ResponseActFuture<Self, Reply> {
        if let Some(refused) = self.refuse_plaintext(tag.clone()) {
            return refused;
        }
        if let Some(scram) = Mechanism::from_name(mechanism.as_str()) {
            return self.handle_scram_start(tag, scram, initial_response);
        }
        let exchange = SaslExchange::new(mechanism.as_str())
            .or_else(|| self.bearer_exchange(mechanism.as_str()));
        let Some(exchange) = exchange else {
            metrics::auth_failed(AuthFailure::Sasl);
            self.write_status(Status::no(
                tag,
                None,
                format!("unsupported authentication mechanism {mechanism}"),
            ));
            return ready(self.reply(ReadMode::Command));
        };
        self.sasl_step(
            tag,
            Exchange::Sasl(exchange),
            initial_response.as_ref().map(|r| r.expose().as_slice()),
        )
    }

    /// A line of the AUTHENTICATE exchange arrived.
    pub(super) fn handle_sasl_line(
        &mut self,
        line: SaslLine,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Reply> {
        let Pending::Sasl { tag, exchange } = std::mem::replace(&mut self.pending, Pending::None)
        else {
            return ready(self.finish(ctx, ReadMode::Command));
        };
        match line {
            SaslLine::Response(bytes) => self.sasl_step(tag, exchange, Some(bytes.expose())),
            // RFC 9051 section 6.2.2 answers a cancel with BAD; it counts as a bad command
            // too, or a client could cancel exchanges forever without being closed.
            SaslLine::Cancel => {
                self.write_status(Status::bad(tag, None, "AUTHENTICATE cancelled"));
                ready(self.after_bad(ctx))
            }
            SaslLine::Bad(reason) => {
                metrics::auth_failed(AuthFailure::Sasl);
                self.write_status(Status::bad(tag, None, reason));
                ready(self.finish(ctx, ReadMode::Command))
            }
            SaslLine::Incomplete => {
                self.pending = Pending::Sasl { tag, exchange };
                ready(self.reply(ReadMode::SaslLine))
            }
        }
    }

    fn sasl_step(
        &mut self,
        tag: Tag,
        exchange: Exchange,
        response: Option<&[u8]>,
    ) -> ResponseActFuture<Self, Reply> {
        let mut exchange = match exchange {
            Exchange::Sasl(exchange) => exchange,
            Exchange::Scram(scram) => return self.scram_step(tag, scram, response),
        };
        match exchange.step(response) {
            SaslStep::Challenge(challenge) => {
                self.write(Response::Continue(Continue::Base64(challenge)));
                self.pending = Pending::Sasl {
                    tag,
                    exchange: Exchange::Sasl(exchange),
                };
                ready(self.reply(ReadMode::SaslLine))
            }
            SaslStep::Done(credentials) => {
                self.verify(tag, credentials.username, credentials.password)
            }
            SaslStep::Bearer(credentials) => self.verify_bearer(tag, exchange, credentials),
            SaslStep::Rejected => self.bearer_rejected(tag),
            SaslStep::Failed(reason) => {
                metrics::auth_failed(AuthFailure::Sasl);
                self.write_status(Status::no(tag, Some(Code::AuthenticationFailed), reason));
                ready(self.reply(ReadMode::Command))
            }
        }
    }

    /// The client's address, for the throttle; loopback for `roost imap` sessions.
    pub(super) fn peer_ip(&self) -> std::net::IpAddr {
        self.info
            .peer
            .map_or(std::net::Ipv4Addr::LOCALHOST.into(), |p| p.ip())
    }

    /// Checks the password off the actor thread and completes the command.
    fn verify(
        &mut self,
        tag: Tag,
        username: String,
        password: Secret<Vec<u8>>,
    ) -> ResponseActFuture<Self, Reply> {
        self.busy = true;
        let shared = self.shared.clone();
        let peer = self.peer_ip();
        let check = async move { shared.auth.login(&username, password.expose(), peer).await };
        Box::pin(
            check
                .into_actor(self)
                .map(move |result, session, ctx| session.complete_login(tag, result, ctx)),
        )
    }

    /// RFC 8437 section 3: back to Not Authenticated. Every piece of session state goes
    /// (the selected mailbox without an expunge, the account, ENABLEd extensions, counts of
    /// bad commands); the TLS layer stays. The OK comes first, so a pipelined AUTHENTICATE
    /// is read in the new state.
    pub(super) fn handle_unauthenticate(&mut self, tag: Tag) -> ReadMode {
        self.state = State::NotAuthenticated { auth_failures: 0 };
        self.rev2 = false;
        self.condstore = false;
        self.qresync = false;
        self.notify = None;
        self.utf8_accept = false;
        self.bad_commands = 0;
        self.deferred_close = None;
        self.events_while_selecting = None;
        self.write_status(Status::ok(tag, None, "UNAUTHENTICATE completed"));
        self.end_compression();
        ReadMode::Command
    }

    pub(super) fn complete_login(
        &mut self,
        tag: Tag,
        result: Result<LoginVerified, AuthError>,
        ctx: &mut Context<Self>,
    ) -> Reply {
        self.complete_login_saying(tag, result, "Authentication failed", ctx)
    }

    /// [`Session::complete_login`] with the text of the `NO` for a failed check.
    pub(super) fn complete_login_saying(
        &mut self,
        tag: Tag,
        result: Result<LoginVerified, AuthError>,
        failed: &str,
        ctx: &mut Context<Self>,
    ) -> Reply {
        match result {
            Ok(proof) if matches!(self.state, State::NotAuthenticated { .. }) => {
                self.span.record("user", proof.user());
                tracing::info!(parent: &self.span, user = proof.user(), "logged in");
                self.state = std::mem::replace(&mut self.state, State::Logout).authenticate(proof);
                let caps = Some(Code::Capability(self.capabilities()));
                self.write_status(Status::ok(tag, caps, "Logged in"));
            }
            Ok(_) => self.write_status(Status::bad(tag, None, "already authenticated")),
            Err(AuthError::Failed) => {
                tracing::info!(parent: &self.span, "authentication failed");
                metrics::auth_failed(AuthFailure::Credentials);
                self.write_status(Status::no(tag, Some(Code::AuthenticationFailed), failed));
                return self.after_login_failure(ctx);
            }
            Err(AuthError::Throttled(refused)) => {
                tracing::info!(parent: &self.span, "authentication refused: too many failures");
                metrics::auth_failed(AuthFailure::Throttled);
                let whose = match refused {
                    Refused::Address { .. } => "from your address",
                    Refused::User { .. } => "for this user",
                };
                let wait = refused.retry_after().as_secs_f64().ceil().max(1.0);
                self.write_status(Status::no(
                    tag,
                    Some(Code::Unavailable),
                    format!("Too many failed logins {whose}, try again in {wait} s"),
                ));
                return self.after_login_failure(ctx);
            }
            Err(AuthError::Unavailable(why)) => {
                tracing::error!(parent: &self.span, error = %why, "user database unavailable");
                self.write_status(Status::no(
                    tag,
                    Some(Code::Unavailable),
                    "Authentication is temporarily unavailable, try again later",
                ));
            }
        }
        self.finish(ctx, ReadMode::Command)
    }

    /// Counts a failed or refused login; after `limits.max_login_failures` of them the
    /// connection is closed, so a guesser must reconnect (and pass the connection limits)
    /// for each few tries.
    pub(super) fn after_login_failure(&mut self, ctx: &mut Context<Self>) -> Reply {
        let limit = self.shared.config.limits.max_login_failures;
        if let State::NotAuthenticated { auth_failures } = &mut self.state {
            *auth_failures += 1;
            if *auth_failures >= limit {
                return self.bye(ctx, "Too many failed logins");
            }
        }
        self.finish(ctx, ReadMode::Command)
    }
}
