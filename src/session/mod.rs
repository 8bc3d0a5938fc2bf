//! The Session actor: one per connection, the state machine of RFC 9051 section 3.
//!
//! It never touches a socket. The connection's I/O task sends it decoded input
//! ([`ClientInput`]) and writes what it puts in its [`Outbox`]; the supervisor sends it
//! [`Shutdown`]. Handlers for command groups live in sibling modules (`any_state`, `login`,
//! `idle`) and push their responses through [`Session::write`].

mod any_state;
mod append;
mod bearer;
mod bulk;
pub mod capability;
mod compress;
pub mod context;
mod copy;
mod expunge;
mod fetch;
mod flags;
mod gate;
mod idle;
mod list;
mod login;
mod mailbox;
pub mod messages;
mod metadata;
pub mod names;
mod notify;
mod pattern;
mod quota;
mod resync;
mod scram;
mod search;
mod select;
mod sequence;
mod sort;
pub mod state;
mod thread;
mod uid_list;
mod updates;
pub mod view;

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use roost_proto::encode::{write_response, EncodeContext, Output};
use roost_proto::{
    Code, Command, CommandBody, Continue, DecodeErrorKind, NameEncoding, Response, Status, Tag,
};
use tracing::Span;

use self::capability::CapabilityContext;
use self::messages::{
    ClientInput, Disconnected, Outbox, Outgoing, ReadMode, Reply, Shutdown, Stage,
};
use self::scram::Exchange;
use self::state::{State, StateKind};
use crate::shared::Shared;
use crate::supervisor::{Register, Unregister};
use crate::telemetry::metrics::{self, ConnState, StateGauge};
use crate::telemetry::spans::{self, CommandScope};

/// What the connection is, as far as the session needs to know.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub id: u64,
    /// `None` for a session over stdin/stdout (`roost imap`).
    pub peer: Option<SocketAddr>,
    pub tls: bool,
    /// The negotiated TLS version (`TLSv1_3`) when the connection started with TLS.
    pub tls_version: Option<&'static str>,
    /// What SCRAM-SHA-256-PLUS binds to; `None` without TLS.
    pub channel_bindings: Option<crate::net::channel_binding::ChannelBindings>,
    /// A plain connection on a listener that offers STARTTLS.
    pub starttls_available: bool,
    /// When the connection was accepted: the login deadline counts from here.
    pub connected: tokio::time::Instant,
}

impl ConnectionInfo {
    /// A session of this host's `roost imap` (over stdin/stdout or the control socket).
    pub fn local(id: u64) -> ConnectionInfo {
        ConnectionInfo {
            id,
            peer: None,
            tls: false,
            tls_version: None,
            channel_bindings: None,
            starttls_available: false,
            connected: tokio::time::Instant::now(),
        }
    }

    /// stdin/stdout, or a loopback peer.
    fn is_local(&self) -> bool {
        self.peer.is_none_or(|p| p.ip().is_loopback())
    }

    /// LOGIN and AUTHENTICATE need TLS, a loopback peer, or the operator's permission.
    pub fn login_allowed(&self, auth: &crate::config::AuthConfig) -> bool {
        self.tls || (auth.loopback_is_secure && self.is_local()) || auth.allow_plaintext
    }
}

/// A command that is waiting for more input from the client.
enum Pending {
    None,
    /// AUTHENTICATE in progress: the next line is a SASL response.
    Sasl {
        tag: Tag,
        exchange: Exchange,
    },
    /// IDLE in progress: the next line must be `DONE`.
    Idle {
        tag: Tag,
        keepalive: SpawnHandle,
        /// Counts this session in `roost_sessions_idle` while it idles.
        _gauge: metrics::HeldGauge,
    },
}

pub struct Session {
    info: ConnectionInfo,
    state: State,
    shared: Arc<Shared>,
    out: Outbox,
    span: Span,
    /// The command in progress, from its arrival to its tagged response.
    command: Option<CommandScope>,
    /// This session's place in `roost_connections{state}`.
    state_gauge: StateGauge,
    /// IMAP4rev2 enabled with `ENABLE IMAP4rev2`; otherwise IMAP4rev1 rules apply.
    rev2: bool,
    pending: Pending,
    /// A command is running asynchronously (e.g. a password check).
    busy: bool,
    /// Shutdown arrived while busy: say BYE as soon as the command completes.
    shutdown_requested: bool,
    bad_commands: u32,
    /// The connection's I/O task is gone: stop at the next opportunity.
    broken: bool,
    /// CONDSTORE enabled (RFC 7162 section 3.1): MODSEQ in unsolicited FETCH responses.
    condstore: bool,
    /// QRESYNC enabled (RFC 7162 section 3.2.3): `VANISHED` instead of `* n EXPUNGE`, and
    /// the QRESYNC SELECT parameter and VANISHED FETCH modifier are allowed.
    qresync: bool,
    /// `UTF8=ACCEPT` enabled (RFC 6855): names and quoted strings in UTF-8.
    utf8_accept: bool,
    /// Whether the command in progress may be interrupted by `* n EXPUNGE` (not during
    /// FETCH, STORE or SEARCH: RFC 9051 section 7.5.1).
    expunges_allowed: bool,
    /// The selected mailbox closed (deleted, moved) while a command ran: report it after.
    deferred_close: Option<String>,
    /// An idling client's news waits for it to read what is queued.
    flush_waits_for_room: bool,
    /// A SELECT or EXAMINE is attaching: mailbox events that arrive meanwhile, in order.
    events_while_selecting: Option<Vec<crate::mailbox::MailboxEvent>>,
    /// NOTIFY (RFC 5465) in force, if any.
    notify: Option<notify::Notifier>,
    /// NOTIFY news waits for the client to read what is queued.
    notify_waits_for_room: bool,
    /// The selected mailbox's news (NOTIFY SELECTED) waits for the same.
    selected_waits_for_room: bool,
    /// New messages told with EXISTS whose NOTIFY FETCH is still to be sent.
    notify_new: Vec<u32>,
    /// New messages this connection added itself, which get no NOTIFY FETCH.
    notify_own_new: Vec<u32>,
    /// COMPRESS=DEFLATE is active (RFC 4978): a second COMPRESS is refused.
    compressed: bool,
}

impl Session {
    /// A session that greets with `* OK` (or `* PREAUTH` when `preauth` proves a user).
    pub fn new(
        info: ConnectionInfo,
        shared: Arc<Shared>,
        out: Outbox,
        preauth: Option<crate::auth::LoginVerified>,
    ) -> Session {
        let span =
            spans::session_span(info.id, info.peer, info.tls_version, &shared.config.node_id);
        let state = match preauth {
            Some(proof) => {
                span.record("user", proof.user());
                State::NotAuthenticated { auth_failures: 0 }.authenticate(proof)
            }
            None => State::NotAuthenticated { auth_failures: 0 },
        };
        let state_gauge = StateGauge::new(conn_state(state.kind()));
        Session {
            info,
            state,
            shared,
            out,
            span,
            command: None,
            state_gauge,
            rev2: false,
            pending: Pending::None,
            busy: false,
            shutdown_requested: false,
            bad_commands: 0,
            broken: false,
            condstore: false,
            qresync: false,
            utf8_accept: false,
            expunges_allowed: true,
            deferred_close: None,
            flush_waits_for_room: false,
            events_while_selecting: None,
            notify: None,
            notify_waits_for_room: false,
            selected_waits_for_room: false,
            notify_new: Vec::new(),
            notify_own_new: Vec::new(),
            compressed: false,
        }
    }

    /// How mailbox names are encoded on this connection.
    fn name_encoding(&self) -> NameEncoding {
        if self.rev2 || self.utf8_accept {
            NameEncoding::Utf8
        } else {
            NameEncoding::ModifiedUtf7
        }
    }

    fn encode_context(&self) -> EncodeContext {
        if self.rev2 || self.utf8_accept {
            EncodeContext {
                names: NameEncoding::Utf8,
                utf8_quoted: true,
            }
        } else {
            EncodeContext {
                names: NameEncoding::ModifiedUtf7,
                utf8_quoted: false,
            }
        }
    }

    /// Queues a response for the client. Before a tagged completion, the changes to the
    /// selected mailbox that the client may now be told go out first.
    fn write(&mut self, response: Response) {
        let completion = match &response {
            Response::Status(Status::Tagged { kind, .. }) => Some(*kind),
            _ => None,
        };
        if completion.is_some() {
            self.write_notifications();
            self.flush_updates();
        }
        let mut out = Output::new();
        write_response(&response, &self.encode_context(), &mut out);
        let chunks = out.into_chunks();
        self.count_bytes_out(chunks.iter().map(bytes::Bytes::len).sum());
        if self.out.send(Outgoing::Data(chunks)).is_err() {
            self.broken = true;
        }
        if let Some(kind) = completion {
            if let Some(command) = self.command.take() {
                command.complete(status_label(kind));
            }
        }
    }

    /// Adds output queued for the command in progress to its span.
    fn count_bytes_out(&mut self, octets: usize) {
        if let Some(command) = &mut self.command {
            command.add_bytes_out(octets);
        }
    }

    fn write_status(&mut self, status: Status) {
        self.write(Response::Status(status));
    }

    fn write_continue(&mut self, text: &str) {
        self.write(Response::Continue(Continue::Text {
            code: None,
            text: text.to_owned(),
        }));
    }

    /// Ends the connection: the I/O task flushes what is queued, closes TLS and the socket,
    /// then reports [`Disconnected`], which stops the actor. Staying alive until then keeps the
    /// session registered, so a drain waits until the close_notify has been sent.
    fn close(&mut self, ctx: &mut Context<Self>) -> Reply {
        self.notify = None; // nothing may follow a BYE
        self.state = std::mem::replace(&mut self.state, State::Logout).logout();
        self.state_gauge.set(ConnState::Logout);
        if self.out.send(Outgoing::Close).is_err() {
            // Nobody drains the queue: stopping drops it, which ends the I/O task too.
            ctx.stop();
        }
        Reply::close()
    }

    fn bye(&mut self, ctx: &mut Context<Self>, text: &str) -> Reply {
        self.write_status(Status::bye(None, text));
        self.close(ctx)
    }

    fn capability_context(&self) -> CapabilityContext {
        CapabilityContext {
            authenticated: self.state.account().is_some(),
            tls: self.info.tls,
            starttls_available: self.info.starttls_available,
            login_allowed: self.login_allowed(),
            bearer: self.shared.auth.oauth_enabled(),
            scram: self.shared.auth.keeps_scram_keys(),
            append_limit: self.shared.config.limits.max_literal,
            quota_admin: self.is_quota_admin(),
        }
    }

    fn capabilities(&self) -> Vec<roost_proto::Atom> {
        capability::capabilities(self.capability_context())
    }

    fn login_allowed(&self) -> bool {
        self.info.login_allowed(&self.shared.config.auth)
    }

    /// How the I/O task reads next, with the deadline for the current state.
    fn reply(&self, read: ReadMode) -> Reply {
        let stage = match (&self.pending, &self.state) {
            (Pending::Idle { .. }, _) => Stage::Idling,
            (_, State::NotAuthenticated { .. }) => Stage::LoggingIn,
            _ => Stage::LoggedIn,
        };
        let mut reply =
            Reply::waiting(read, stage, &self.shared.config.limits, self.info.connected);
        reply.login_disabled = stage == Stage::LoggingIn && !self.login_allowed();
        reply
    }

    /// The reply after a command finished: honours a shutdown that arrived meanwhile and a
    /// broken outbox.
    fn finish(&mut self, ctx: &mut Context<Self>, read: ReadMode) -> Reply {
        self.busy = false;
        self.refresh_contexts(ctx);
        self.fetch_told_new(ctx);
        if matches!(self.pending, Pending::None) {
            // Still open here means no tagged response was written (the connection broke).
            if let Some(command) = self.command.take() {
                command.complete("none");
            }
        }
        if let Some(reason) = self.deferred_close.take() {
            if let Some(closing) = self.close_selected(ctx, &reason) {
                return closing;
            }
        }
        self.observe_state();
        if self.broken {
            return self.close(ctx);
        }
        if self.shutdown_requested && read != ReadMode::Close {
            return self.bye(ctx, "Server shutting down");
        }
        self.reply(read)
    }

    /// Moves this session to its current state's label in `roost_connections`. Called where
    /// a command ends and where a selection ends on its own ([`Session::close_selected`]).
    fn observe_state(&mut self) {
        self.state_gauge.set(conn_state(self.state.kind()));
    }

    fn handle_command(
        &mut self,
        command: Command,
        octets: usize,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Reply> {
        let Command { tag, body } = command;
        let scope = CommandScope::start(&self.span, body.name(), &tag, octets);
        if let Some(mailbox) = self.mailbox_of(&body) {
            scope.record_mailbox(&mailbox);
        }
        let span = scope.span().clone();
        self.command = Some(scope);
        let _entered = span.enter();
        self.expunges_allowed = !matches!(
            body,
            CommandBody::Fetch { .. }
                | CommandBody::Store { .. }
                | CommandBody::Search(_)
                | CommandBody::Sort(_)
                | CommandBody::Thread(_)
        );
        if let Err(reason) = gate::check(self.state.kind(), &body) {
            self.write_status(Status::bad(tag, None, reason));
            return ready(self.after_bad(ctx));
        }
        let exists = self.state.selected().map(|m| m.view.exists());
        if let Some(reason) = exists.and_then(|n| sequence::out_of_range(&body, n)) {
            self.write_status(Status::bad(tag, None, reason));
            return ready(self.after_bad(ctx));
        }
        use CommandBody as C;
        let outcome = match body {
            C::Capability => self.handle_capability(tag),
            C::Noop => self.handle_noop(tag),
            C::Logout => self.handle_logout(tag, ctx),
            C::Id { params } => self.handle_id(tag, params),
            C::Enable { capabilities } => self.handle_enable(tag, &capabilities),
            C::StartTls => self.handle_starttls(tag),
            C::Login { username, password } => return self.handle_login(tag, username, password),
            C::Authenticate {
                mechanism,
                initial_response,
            } => return self.handle_authenticate(tag, &mechanism, initial_response),
            C::Idle => self.handle_idle(tag, ctx),
            C::Notify(command) => return self.handle_notify(tag, command, ctx),
            C::Check => self.handle_noop(tag),
            C::Namespace => self.handle_namespace(tag),
            C::Select { mailbox, params } => {
                return self.handle_select(tag, &mailbox, params, false, ctx)
            }
            C::Examine { mailbox, params } => {
                return self.handle_select(tag, &mailbox, params, true, ctx)
            }
            C::Create {
                mailbox,
                special_use,
            } => return self.handle_create(tag, &mailbox, &special_use),
            C::Delete { mailbox } => return self.handle_delete(tag, &mailbox),
            C::Rename { from, to } => return self.handle_rename(tag, &from, &to),
            C::Subscribe { mailbox } => return self.handle_subscribe(tag, &mailbox, true),
            C::Unsubscribe { mailbox } => return self.handle_subscribe(tag, &mailbox, false),
            C::List(list) => return self.handle_list(tag, list),
            C::Lsub { reference, pattern } => return self.handle_lsub(tag, &reference, pattern),
            C::Status { mailbox, items } => return self.handle_status(tag, &mailbox, items),
            C::Append { mailbox, messages } => return self.handle_append(tag, &mailbox, messages),
            C::Close => return self.handle_close(tag, ctx),
            C::Unselect => self.handle_unselect(tag),
            C::Unauthenticate => self.handle_unauthenticate(tag),
            C::CancelUpdate { tags } => self.handle_cancel_update(tag, &tags),
            C::Expunge => return self.handle_expunge(tag, None),
            C::UidExpunge { uids } => return self.handle_expunge(tag, Some(uids)),
            C::Search(search) => return self.handle_search(tag, search),
            C::Sort(sort) => return self.handle_sort(tag, sort),
            C::Thread(thread) => return self.handle_thread(tag, thread),
            C::Fetch {
                uid,
                set,
                items,
                modifiers,
            } => return self.handle_fetch(tag, uid, &set, &items, modifiers),
            C::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            } => return self.handle_store(tag, uid, &set, unchanged_since, action, silent, flags),
            C::Copy { uid, set, mailbox } => {
                return self.handle_copy(tag, uid, &set, &mailbox, false)
            }
            C::Move { uid, set, mailbox } => {
                return self.handle_copy(tag, uid, &set, &mailbox, true)
            }
            C::GetQuota { root } => return self.handle_getquota(tag, &root),
            C::GetQuotaRoot { mailbox } => return self.handle_getquotaroot(tag, &mailbox),
            C::SetQuota { root, limits } => return self.handle_setquota(tag, &root, &limits),
            C::GetMetadata {
                mailbox,
                options,
                entries,
            } => return self.handle_getmetadata(tag, &mailbox, options, entries),
            C::SetMetadata { mailbox, entries } => {
                return self.handle_setmetadata(tag, &mailbox, entries)
            }
            C::Compress { algorithm } => self.handle_compress(tag, &algorithm),
        };
        ready(self.finish(ctx, outcome))
    }

    /// Answers input that could not be decoded.
    fn handle_invalid(
        &mut self,
        error: roost_proto::DecodeError,
        ctx: &mut Context<Self>,
    ) -> Reply {
        let code =
            matches!(error.kind, DecodeErrorKind::LiteralTooBig { .. }).then_some(Code::TooBig);
        let status = match error.tag {
            Some(tag) => Status::bad(tag, code, error.reason),
            None => Status::untagged(roost_proto::StatusKind::Bad, code, error.reason),
        };
        self.write_status(status);
        self.after_bad(ctx)
    }

    /// Counts a BAD; too many before login end the connection (a client speaking another
    /// protocol, or a scanner).
    fn after_bad(&mut self, ctx: &mut Context<Self>) -> Reply {
        self.bad_commands += 1;
        let limit = self.shared.config.limits.max_bad_commands_unauthenticated;
        if matches!(self.state, State::NotAuthenticated { .. }) && self.bad_commands >= limit {
            return self.bye(ctx, "Too many invalid commands");
        }
        self.finish(ctx, ReadMode::Command)
    }

    /// The mailbox a command acts on, for its span: the one the command names, or the
    /// selected one for the commands of the Selected state (COPY and MOVE: the source).
    fn mailbox_of(&self, body: &CommandBody) -> Option<String> {
        use CommandBody as C;
        let acts_on_selected = matches!(
            body,
            C::Check
                | C::Close
                | C::Unselect
                | C::Expunge
                | C::UidExpunge { .. }
                | C::Search(_)
                | C::Sort(_)
                | C::Thread(_)
                | C::Fetch { .. }
                | C::Store { .. }
                | C::Copy { .. }
                | C::Move { .. }
        );
        let named = match body {
            C::Select { mailbox, .. }
            | C::Examine { mailbox, .. }
            | C::Create { mailbox, .. }
            | C::Delete { mailbox }
            | C::Subscribe { mailbox }
            | C::Unsubscribe { mailbox }
            | C::Status { mailbox, .. }
            | C::Append { mailbox, .. }
            | C::GetQuotaRoot { mailbox }
            | C::GetMetadata { mailbox, .. }
            | C::SetMetadata { mailbox, .. } => Some(mailbox),
            C::Rename { from, .. } => Some(from),
            _ => None,
        };
        match (named, &self.state) {
            (Some(name), _) => Some(
                name.decode(self.name_encoding())
                    .unwrap_or_else(|_| String::from_utf8_lossy(name.as_bytes()).into_owned()),
            ),
            (None, State::Selected { mailbox, .. }) if acts_on_selected => {
                Some(mailbox.handle.info().name.clone())
            }
            (None, _) => None,
        }
    }
}

/// The `state` label of a session in `roost_connections`.
fn conn_state(kind: StateKind) -> ConnState {
    match kind {
        StateKind::NotAuthenticated => ConnState::NotAuthenticated,
        StateKind::Authenticated => ConnState::Authenticated,
        StateKind::Selected => ConnState::Selected,
        StateKind::Logout => ConnState::Logout,
    }
}

/// The `status` of a completed command, in span fields and metric labels.
fn status_label(kind: roost_proto::StatusKind) -> &'static str {
    match kind {
        roost_proto::StatusKind::Ok => "OK",
        roost_proto::StatusKind::No => "NO",
        roost_proto::StatusKind::Bad => "BAD",
    }
}

/// Runs `work` (which talks to other actors or the disk) and completes the command with
/// `then`, which writes the responses and says how to read next.
fn run<T: 'static>(
    session: &mut Session,
    work: impl std::future::Future<Output = T> + 'static,
    then: impl FnOnce(&mut Session, T, &mut Context<Session>) -> ReadMode + 'static,
) -> ResponseActFuture<Session, Reply> {
    session.busy = true;
    let span = session
        .command
        .as_ref()
        .map_or_else(Span::none, |c| c.span().clone());
    // Polled inside the command span, so work done for it elsewhere (a node link request)
    // carries the command's trace context.
    let work = tracing::Instrument::instrument(work, span.clone());
    Box::pin(work.into_actor(session).map(move |value, session, ctx| {
        let _entered = span.enter();
        let read = then(session, value, ctx);
        session.finish(ctx, read)
    }))
}

impl Session {
    /// Refuses a command that changes the selected mailbox when it was opened with EXAMINE.
    fn refuse_read_only(&mut self, tag: &Tag) -> Option<ResponseActFuture<Self, Reply>> {
        if !self.state.selected().is_some_and(|m| m.read_only) {
            return None;
        }
        let text = "mailbox is read-only (EXAMINE)";
        self.write_status(Status::no(tag.clone(), Some(Code::ReadOnly), text));
        Some(ready(self.reply(ReadMode::Command)))
    }
}

/// A reply that is ready now.
fn ready(reply: Reply) -> ResponseActFuture<Session, Reply> {
    Box::pin(actix::fut::ready(reply))
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.shared.supervisor.do_send(Register {
            id: self.info.id,
            session: ctx.address().recipient(),
        });
        let caps = Some(Code::Capability(self.capabilities()));
        let greeting = match self.state.account() {
            Some(account) => Status::PreAuth {
                code: caps,
                text: format!("Logged in as {}", account.user),
            },
            None => Status::untagged(
                roost_proto::StatusKind::Ok,
                caps,
                "Roost IMAP4rev2 server ready",
            ),
        };
        tracing::debug!(parent: &self.span, "session started");
        self.write_status(greeting);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        tracing::debug!(parent: &self.span, "session ended");
        self.shared
            .supervisor
            .do_send(Unregister { id: self.info.id });
    }
}

impl Handler<ClientInput> for Session {
    type Result = ResponseActFuture<Self, Reply>;

    fn handle(&mut self, input: ClientInput, ctx: &mut Context<Self>) -> Self::Result {
        if matches!(self.state, State::Logout) {
            return ready(Reply::close());
        }
        match input {
            ClientInput::Command { command, octets } => self.handle_command(command, octets, ctx),
            ClientInput::Invalid(error) => ready(self.handle_invalid(error, ctx)),
            ClientInput::PlaintextLoginLiteral { tag } => {
                ready(self.handle_plaintext_login_literal(tag, ctx))
            }
            ClientInput::Sasl(line) => self.handle_sasl_line(line, ctx),
            ClientInput::Idle(line) => ready(self.handle_idle_line(line, ctx)),
            ClientInput::TlsEstablished {
                version,
                channel_bindings,
            } => {
                self.info.tls = true;
                self.info.tls_version = version;
                self.info.channel_bindings = channel_bindings;
                spans::record_tls(&self.span, version);
                ready(self.finish(ctx, ReadMode::Command))
            }
            ClientInput::InactivityTimeout => {
                let reason = if self.state.account().is_some() {
                    "Autologout; idle for too long"
                } else {
                    "Login time is over; connect again to log in"
                };
                ready(self.bye(ctx, reason))
            }
        }
    }
}

impl Handler<Shutdown> for Session {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        if matches!(self.state, State::Logout) {
            return; // Already closing.
        }
        if self.busy {
            self.shutdown_requested = true;
        } else {
            self.bye(ctx, "Server shutting down");
        }
    }
}

impl Handler<Disconnected> for Session {
    type Result = ();

    fn handle(&mut self, _: Disconnected, ctx: &mut Context<Self>) {
        self.state = std::mem::replace(&mut self.state, State::Logout).logout();
        ctx.stop();
    }
}
