//! The spans of a session and its commands, defined in one place so that logs, traces and
//! `docs/observability.md` agree on names and fields.
//!
//! `imap.session` lives as long as the Session actor; each command gets an `imap.command`
//! child from its arrival to its tagged response, so IDLE and a multi-line AUTHENTICATE are
//! one span each. [`CommandScope`] also feeds the command metrics when the command completes.

use std::fmt::Display;
use std::net::SocketAddr;
use std::time::Instant;

use tracing::field::Empty;
use tracing::Span;

use super::metrics;

/// `imap.session`: `user` is recorded at login, `tls_version` at STARTTLS.
pub fn session_span(
    id: u64,
    peer: Option<SocketAddr>,
    tls_version: Option<&str>,
    node: &str,
) -> Span {
    let span = tracing::info_span!(
        "imap.session",
        otel.kind = "server",
        session = id,
        peer = %peer.map_or_else(|| "stdio".to_owned(), |p| p.to_string()),
        tls = tls_version.is_some(),
        tls_version = Empty,
        node = %node,
        user = Empty,
    );
    if let Some(version) = tls_version {
        span.record("tls_version", version);
    }
    span
}

/// Records a completed STARTTLS on the session span.
pub fn record_tls(session: &Span, version: Option<&str>) {
    session.record("tls", true);
    if let Some(version) = version {
        session.record("tls_version", version);
    }
}

/// One command in progress: its span, and what its metrics need when it completes.
#[derive(Debug)]
pub struct CommandScope {
    span: Span,
    command: &'static str,
    started: Instant,
    bytes_out: usize,
}

impl CommandScope {
    /// Opens `imap.command` under `session`. `bytes_in` is the command's size on the wire:
    /// its line and literals.
    pub fn start(
        session: &Span,
        command: &'static str,
        tag: &dyn Display,
        bytes_in: usize,
    ) -> Self {
        let span = tracing::info_span!(
            parent: session,
            "imap.command",
            name = command,
            tag = %tag,
            mailbox = Empty,
            status = Empty,
            bytes_in = bytes_in as u64,
            bytes_out = Empty,
        );
        CommandScope {
            span,
            command,
            started: Instant::now(),
            bytes_out: 0,
        }
    }

    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The mailbox the command acts on.
    pub fn record_mailbox(&self, name: &str) {
        self.span.record("mailbox", name);
    }

    /// Counts response bytes written for this command (untagged data and the completion).
    pub fn add_bytes_out(&mut self, n: usize) {
        self.bytes_out += n;
    }

    /// The command completed with `status` (`OK`, `NO`, `BAD`, or `none` when the connection
    /// ended first): records the span's last fields and the command metrics. The span closes
    /// when the last clone of it is dropped.
    pub fn complete(self, status: &'static str) {
        self.span.record("status", status);
        self.span.record("bytes_out", self.bytes_out as u64);
        metrics::command_completed(self.command, status, self.started.elapsed());
    }
}
