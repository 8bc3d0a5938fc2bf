//! AUTHENTICATE OAUTHBEARER and XOAUTH2 (RFC 7628): the session's side of a bearer-token
//! login. A refused token is answered as RFC 7628 section 3.2.2 asks: a challenge with the
//! JSON error, then, after the client's dummy response, `NO [AUTHENTICATIONFAILED]`.

use actix::{ActorFutureExt, Context, ResponseActFuture, WrapFuture};
use roost_proto::{Code, Continue, Response, Status, Tag};

use super::messages::{ReadMode, Reply};
use super::{Pending, Session};
use crate::auth::oauth::BearerCredentials;
use crate::auth::sasl::SaslExchange;
use crate::auth::AuthError;
use crate::telemetry::metrics::{self, AuthFailure};

impl Session {
    /// An exchange for `mechanism` if it is a bearer mechanism and this server takes tokens.
    pub(super) fn bearer_exchange(&self, mechanism: &str) -> Option<SaslExchange> {
        if self.shared.auth.oauth_enabled() {
            SaslExchange::bearer(mechanism)
        } else {
            None
        }
    }

    /// Checks the token off the actor; a refused one gets the error challenge.
    pub(super) fn verify_bearer(
        &mut self,
        tag: Tag,
        exchange: SaslExchange,
        credentials: BearerCredentials,
    ) -> ResponseActFuture<Self, Reply> {
        self.busy = true;
        let shared = self.shared.clone();
        let peer = self.peer_ip();
        let check = async move { shared.auth.login_bearer(&credentials, peer).await };
        Box::pin(
            check
                .into_actor(self)
                .map(move |result, session, ctx| match result {
                    Err(AuthError::Failed) => session.send_token_error(tag, exchange, ctx),
                    other => session.complete_login(tag, other, ctx),
                }),
        )
    }

    fn send_token_error(
        &mut self,
        tag: Tag,
        mut exchange: SaslExchange,
        ctx: &mut Context<Self>,
    ) -> Reply {
        tracing::info!(parent: &self.span, "authentication failed: token refused");
        metrics::auth_failed(AuthFailure::Token);
        let Some(challenge) = exchange.token_refused() else {
            return self.rejected(tag, ctx);
        };
        self.write(Response::Continue(Continue::Base64(challenge)));
        self.pending = Pending::Sasl {
            tag,
            exchange: super::scram::Exchange::Sasl(exchange),
        };
        self.finish(ctx, ReadMode::SaslLine)
    }

    /// The client answered the error challenge: the exchange ends in failure.
    pub(super) fn bearer_rejected(&mut self, tag: Tag) -> ResponseActFuture<Self, Reply> {
        Box::pin(
            actix::fut::ready(())
                .map(move |(), session: &mut Session, ctx| session.rejected(tag, ctx)),
        )
    }

    fn rejected(&mut self, tag: Tag, ctx: &mut Context<Self>) -> Reply {
        self.write_status(Status::no(
            tag,
            Some(Code::AuthenticationFailed),
            "Authentication failed",
        ));
        self.after_login_failure(ctx)
    }
}
