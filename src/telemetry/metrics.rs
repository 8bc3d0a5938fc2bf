//! Prometheus metrics: every `roost_*` name, its help text, and the small helpers the rest of
//! the server calls to record them.
//!
//! Recording goes through the `metrics` facade, so it costs an atomic operation and is a
//! no-op until [`install`] sets the recorder (as in `roost imap` and unit tests). Label values
//! are fixed sets (command names, states, reasons), never user data, to keep the number of
//! series bounded. `docs/observability.md` lists the same names; keep them in step.

use std::time::{Duration, Instant};

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

pub const CONNECTIONS: &str = "roost_connections";
pub const CONNECTIONS_ACCEPTED: &str = "roost_connections_accepted_total";
pub const CONNECTIONS_REFUSED: &str = "roost_connections_refused_total";
pub const SESSIONS_IDLE: &str = "roost_sessions_idle";
pub const SESSIONS_COMPRESSED: &str = "roost_sessions_compressed";
pub const COMMANDS: &str = "roost_commands_total";
pub const COMMAND_DURATION: &str = "roost_command_duration_seconds";
pub const BYTES_RECEIVED: &str = "roost_bytes_received_total";
pub const BYTES_SENT: &str = "roost_bytes_sent_total";
pub const WRITE_TIMEOUTS: &str = "roost_connections_write_timeouts_total";
pub const AUTH_FAILURES: &str = "roost_auth_failures_total";
pub const AUTH_ATTEMPTS: &str = "roost_auth_attempts_total";
pub const AUTH_REFUSALS: &str = "roost_auth_refusals_total";
pub const AUTH_TOKEN_FAILURES: &str = "roost_auth_token_failures_total";
pub const AUTH_VERIFICATIONS: &str = "roost_auth_verifications_total";
pub const AUTH_VERIFY_QUEUE: &str = "roost_auth_verify_queue";
pub const AUTH_CACHE: &str = "roost_auth_cache_total";
pub const MAILBOXES_OPEN: &str = "roost_mailboxes_open";
pub const STORE_FSYNC: &str = "roost_store_fsync_duration_seconds";
pub const STORE_TRANSACTIONS: &str = "roost_store_transactions_total";
pub const STORE_SNAPSHOTS: &str = "roost_store_snapshots_total";
pub const STORE_RECOVERY: &str = "roost_store_recovery_total";
pub const SPANS_DROPPED: &str = "roost_otlp_spans_dropped_total";
pub const BUILD_INFO: &str = "roost_build_info";
pub const DRAINING: &str = "roost_draining";
pub const ACCOUNTS_OWNED: &str = "roost_accounts_owned";
pub const LEASE_RENEWALS: &str = "roost_lease_renewals_total";
pub const LINK_REQUESTS: &str = "roost_node_link_requests_total";
pub const LINK_BYTES: &str = "roost_node_link_bytes_total";
pub const LMTP_DELIVERIES: &str = "roost_lmtp_deliveries_total";

/// Command latency: most commands take well under a millisecond; IDLE and a throttled failed
/// login take seconds, so the buckets reach a minute.
const COMMAND_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];
/// fsync on a local SSD is tens of microseconds to a few milliseconds; on NFS or CephFS it
/// can take much longer, which is what this histogram is for.
const FSYNC_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5,
];

/// Installs the process-wide recorder and describes every metric.
///
/// # Errors
/// When a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(COMMAND_DURATION.into()), COMMAND_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(STORE_FSYNC.into()), FSYNC_BUCKETS)?
        .install_recorder()?;
    describe();
    initialize_series();
    Ok(handle)
}

/// Creates the series with fixed label sets at zero, so dashboards and alerts see `0` rather
/// than no data before the first event. (Per-command series appear with their first use.)
fn initialize_series() {
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    gauge!(DRAINING).set(0.0);
    gauge!(SESSIONS_IDLE).set(0.0);
    gauge!(SESSIONS_COMPRESSED).set(0.0);
    for state in [
        ConnState::NotAuthenticated,
        ConnState::Authenticated,
        ConnState::Selected,
        ConnState::Logout,
    ] {
        gauge!(CONNECTIONS, "state" => state.label()).set(0.0);
    }
    for listener in ["starttls", "implicit", "none"] {
        counter!(CONNECTIONS_ACCEPTED, "listener" => listener).absolute(0);
    }
    for reason in [
        RefuseReason::RefusedNetwork,
        RefuseReason::ServerFull,
        RefuseReason::AddressFull,
        RefuseReason::AddressUnauthenticatedFull,
        RefuseReason::Draining,
    ] {
        counter!(CONNECTIONS_REFUSED, "reason" => reason.label()).absolute(0);
    }
    for reason in [
        AuthFailure::Credentials,
        AuthFailure::Sasl,
        AuthFailure::Plaintext,
        AuthFailure::Throttled,
        AuthFailure::Token,
    ] {
        counter!(AUTH_FAILURES, "reason" => reason.label()).absolute(0);
    }
    for reason in crate::auth::oauth::TokenError::LABELS {
        counter!(AUTH_TOKEN_FAILURES, "reason" => *reason).absolute(0);
    }
    for reason in ["address", "user"] {
        counter!(AUTH_REFUSALS, "reason" => reason).absolute(0);
    }
    for result in ["hit", "miss"] {
        counter!(AUTH_CACHE, "result" => result).absolute(0);
    }
    counter!(AUTH_ATTEMPTS).absolute(0);
    counter!(AUTH_VERIFICATIONS).absolute(0);
    gauge!(AUTH_VERIFY_QUEUE).set(0.0);
    for reason in [DropReason::QueueFull, DropReason::ExportFailed] {
        counter!(SPANS_DROPPED, "reason" => reason.label()).absolute(0);
    }
    counter!(BYTES_RECEIVED).absolute(0);
    counter!(BYTES_SENT).absolute(0);
    counter!(WRITE_TIMEOUTS).absolute(0);
}

fn describe() {
    describe_counter!(
        LMTP_DELIVERIES,
        "LMTP recipients by outcome: delivered, duplicate, temporary (4xx), refused (5xx)"
    );
    describe_gauge!(
        ACCOUNTS_OWNED,
        "Accounts whose lease this node holds (cluster mode)."
    );
    describe_counter!(
        LEASE_RENEWALS,
        "Account lease renewals, by result (ok, lost, failed)."
    );
    describe_counter!(
        LINK_REQUESTS,
        "Node-link requests, by direction (sent, served) and result (ok, error)."
    );
    describe_counter!(
        LINK_BYTES,
        "Node-link payload bytes, by direction (sent, received)."
    );
    describe_gauge!(
        CONNECTIONS,
        "Open IMAP sessions by protocol state (RFC 9051 section 3)."
    );
    describe_counter!(
        CONNECTIONS_ACCEPTED,
        "Connections accepted, by listener kind."
    );
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections greeted with * BYE and closed, by reason."
    );
    describe_gauge!(SESSIONS_IDLE, "Sessions in IDLE.");
    describe_gauge!(
        SESSIONS_COMPRESSED,
        "Connections with COMPRESS=DEFLATE (RFC 4978) active."
    );
    describe_counter!(
        WRITE_TIMEOUTS,
        "Connections dropped because the client read nothing for the write timeout."
    );
    describe_counter!(
        COMMANDS,
        "Commands completed, by command name and response status."
    );
    describe_histogram!(
        COMMAND_DURATION,
        Unit::Seconds,
        "Time from a command's arrival to its tagged response, by command name."
    );
    describe_counter!(
        BYTES_RECEIVED,
        Unit::Bytes,
        "IMAP bytes read from clients (after TLS, before COMPRESS inflates them)."
    );
    describe_counter!(
        BYTES_SENT,
        Unit::Bytes,
        "IMAP bytes written to clients (after COMPRESS, before TLS)."
    );
    describe_counter!(
        AUTH_FAILURES,
        "Failed LOGIN and AUTHENTICATE attempts, by reason."
    );
    describe_counter!(
        AUTH_ATTEMPTS,
        "Passwords presented (LOGIN, or a finished AUTHENTICATE exchange)."
    );
    describe_counter!(
        AUTH_REFUSALS,
        "Login attempts refused without checking the password, by whose failure budget was spent (address, user)."
    );
    describe_counter!(
        AUTH_VERIFICATIONS,
        "argon2id password verifications run (cache hits and refusals run none)."
    );
    describe_gauge!(
        AUTH_VERIFY_QUEUE,
        "Login attempts waiting for a password verification slot."
    );
    describe_counter!(
        AUTH_CACHE,
        "Login cache lookups, by result (hit: no argon2 needed)."
    );
    describe_gauge!(MAILBOXES_OPEN, "Mailbox actors running on this node.");
    describe_histogram!(
        STORE_FSYNC,
        Unit::Seconds,
        "Duration of store fsyncs, by what was synced."
    );
    describe_counter!(
        STORE_TRANSACTIONS,
        "Mailbox and account log transactions written."
    );
    describe_counter!(STORE_SNAPSHOTS, "Log compactions into snapshots.");
    describe_counter!(
        STORE_RECOVERY,
        "What startup recovery found and did, by action: damaged journals, unlisted messages and mailboxes listed again, files quarantined, entries whose message file is missing."
    );
    describe_counter!(
        SPANS_DROPPED,
        "Trace spans not delivered to the OTLP collector, by reason."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label says which build runs."
    );
    describe_gauge!(DRAINING, "1 while the node drains after SIGTERM.");
}

/// A session's protocol state as the `state` label of [`CONNECTIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    NotAuthenticated,
    Authenticated,
    Selected,
    Logout,
}

impl ConnState {
    fn label(self) -> &'static str {
        match self {
            ConnState::NotAuthenticated => "not_authenticated",
            ConnState::Authenticated => "authenticated",
            ConnState::Selected => "selected",
            ConnState::Logout => "logout",
        }
    }
}

/// One session's contribution to [`CONNECTIONS`]: moves between state labels and leaves the
/// gauge when dropped, so a session that ends in any way is never left counted.
#[derive(Debug)]
pub struct StateGauge {
    current: ConnState,
}

impl StateGauge {
    pub fn new(state: ConnState) -> Self {
        gauge!(CONNECTIONS, "state" => state.label()).increment(1.0);
        StateGauge { current: state }
    }

    pub fn set(&mut self, state: ConnState) {
        if state != self.current {
            gauge!(CONNECTIONS, "state" => self.current.label()).decrement(1.0);
            gauge!(CONNECTIONS, "state" => state.label()).increment(1.0);
            self.current = state;
        }
    }
}

impl Drop for StateGauge {
    fn drop(&mut self) {
        gauge!(CONNECTIONS, "state" => self.current.label()).decrement(1.0);
    }
}

/// Counts one in a gauge without labels for as long as it is held.
#[derive(Debug)]
pub struct HeldGauge(&'static str);

impl HeldGauge {
    /// One session in [`SESSIONS_IDLE`].
    pub fn idle() -> Self {
        HeldGauge::hold(SESSIONS_IDLE)
    }

    /// One connection in [`SESSIONS_COMPRESSED`].
    pub fn compressed() -> Self {
        HeldGauge::hold(SESSIONS_COMPRESSED)
    }

    fn hold(name: &'static str) -> Self {
        gauge!(name).increment(1.0);
        HeldGauge(name)
    }
}

impl Drop for HeldGauge {
    fn drop(&mut self) {
        gauge!(self.0).decrement(1.0);
    }
}

pub fn connection_accepted(listener: &'static str) {
    counter!(CONNECTIONS_ACCEPTED, "listener" => listener).increment(1);
}

/// Why a connection was refused before a session started.
#[derive(Clone, Copy, Debug)]
pub enum RefuseReason {
    RefusedNetwork,
    ServerFull,
    AddressFull,
    /// Too many connections from the address have not logged in.
    AddressUnauthenticatedFull,
    Draining,
}

impl RefuseReason {
    fn label(self) -> &'static str {
        match self {
            RefuseReason::RefusedNetwork => "refused_network",
            RefuseReason::ServerFull => "server_full",
            RefuseReason::AddressFull => "address_full",
            RefuseReason::AddressUnauthenticatedFull => "address_unauthenticated_full",
            RefuseReason::Draining => "draining",
        }
    }
}

pub fn connection_refused(reason: RefuseReason) {
    counter!(CONNECTIONS_REFUSED, "reason" => reason.label()).increment(1);
}

pub fn command_completed(command: &'static str, status: &'static str, elapsed: Duration) {
    counter!(COMMANDS, "command" => command, "status" => status).increment(1);
    histogram!(COMMAND_DURATION, "command" => command).record(elapsed.as_secs_f64());
}

pub fn bytes_received(n: usize) {
    counter!(BYTES_RECEIVED).increment(n as u64);
}

/// A connection was dropped because its client stopped reading.
pub fn write_timed_out() {
    counter!(WRITE_TIMEOUTS).increment(1);
}

pub fn bytes_sent(n: usize) {
    counter!(BYTES_SENT).increment(n as u64);
}

/// Why a login attempt failed.
#[derive(Clone, Copy, Debug)]
pub enum AuthFailure {
    /// Unknown user or wrong password.
    Credentials,
    /// A malformed or unsupported SASL exchange.
    Sasl,
    /// LOGIN or AUTHENTICATE over plaintext where that is disabled.
    Plaintext,
    /// Refused by the throttle without checking the password.
    Throttled,
    /// An OAuth bearer token was refused (the reason is in [`AUTH_TOKEN_FAILURES`]).
    Token,
}

impl AuthFailure {
    fn label(self) -> &'static str {
        match self {
            AuthFailure::Credentials => "credentials",
            AuthFailure::Sasl => "sasl",
            AuthFailure::Plaintext => "plaintext",
            AuthFailure::Throttled => "throttled",
            AuthFailure::Token => "token",
        }
    }
}

pub fn auth_failed(reason: AuthFailure) {
    counter!(AUTH_FAILURES, "reason" => reason.label()).increment(1);
}

/// An OAuth bearer token was refused, for `reason` (a `TokenError` label).
pub fn auth_token_failed(reason: &'static str) {
    counter!(AUTH_TOKEN_FAILURES, "reason" => reason).increment(1);
}

/// A password was presented for checking.
pub fn auth_attempt() {
    counter!(AUTH_ATTEMPTS).increment(1);
}

/// The throttle refused an attempt without checking its password.
pub fn auth_refused(refused: crate::auth::throttle::Refused) {
    use crate::auth::throttle::Refused;
    let reason = match refused {
        Refused::Address { .. } => "address",
        Refused::User { .. } => "user",
    };
    counter!(AUTH_REFUSALS, "reason" => reason).increment(1);
}

/// An argon2id verification is starting.
pub fn auth_verification() {
    counter!(AUTH_VERIFICATIONS).increment(1);
}

/// How many attempts wait for a verification slot now.
pub fn auth_queue_depth(waiting: usize) {
    gauge!(AUTH_VERIFY_QUEUE).set(waiting as f64);
}

/// The login cache was asked, and vouched for the password (`hit`) or not.
pub fn auth_cache(hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    counter!(AUTH_CACHE, "result" => result).increment(1);
}

/// What an fsync made durable (the `kind` label of [`STORE_FSYNC`]).
#[derive(Clone, Copy, Debug)]
pub enum FsyncKind {
    /// A group commit of a mailbox or account log.
    Log,
    /// A whole file written through a temporary name (blobs, snapshots).
    File,
    /// A directory's entries (new or renamed names).
    Dir,
}

/// Runs `sync` (an fsync) and records how long it took.
///
/// # Errors
/// Whatever `sync` returns.
pub fn timed_fsync<T>(
    kind: FsyncKind,
    sync: impl FnOnce() -> std::io::Result<T>,
) -> std::io::Result<T> {
    let started = Instant::now();
    let result = sync();
    let kind = match kind {
        FsyncKind::Log => "log",
        FsyncKind::File => "file",
        FsyncKind::Dir => "dir",
    };
    histogram!(STORE_FSYNC, "kind" => kind).record(started.elapsed().as_secs_f64());
    result
}

/// Gauges and counters read from elsewhere just before a scrape.
pub struct Sampled {
    pub mailboxes_open: usize,
    pub accounts_owned: u64,
    pub store_transactions: u64,
    pub store_snapshots: u64,
    /// `(action, count)` of [`STORE_RECOVERY`].
    pub store_recovery: [(&'static str, u64); 4],
    pub draining: bool,
}

pub fn record_sampled(s: &Sampled) {
    gauge!(MAILBOXES_OPEN).set(s.mailboxes_open as f64);
    gauge!(ACCOUNTS_OWNED).set(s.accounts_owned as f64);
    counter!(STORE_TRANSACTIONS).absolute(s.store_transactions);
    counter!(STORE_SNAPSHOTS).absolute(s.store_snapshots);
    for (action, count) in s.store_recovery {
        counter!(STORE_RECOVERY, "action" => action).absolute(count);
    }
    gauge!(DRAINING).set(if s.draining { 1.0 } else { 0.0 });
}

/// Why spans were not delivered.
#[derive(Clone, Copy, Debug)]
pub enum DropReason {
    /// More finished spans waiting than `telemetry.max_queue_size`.
    QueueFull,
    /// The export request failed (collector unreachable, refused, timed out).
    ExportFailed,
}

impl DropReason {
    fn label(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::ExportFailed => "export_failed",
        }
    }
}

pub fn spans_dropped(reason: DropReason, n: u64) {
    counter!(SPANS_DROPPED, "reason" => reason.label()).increment(n);
}

/// An account lease renewal: `ok`, `lost` (another node owns it now) or `failed` (Redis).
pub fn lease_renewal(result: &'static str) {
    counter!(LEASE_RENEWALS, "result" => result).increment(1);
}

/// A node-link request this node sent (`sent`) or answered (`served`), with its payload sizes.
pub fn link_request(direction: &'static str, ok: bool, bytes_out: usize, bytes_in: usize) {
    let result = if ok { "ok" } else { "error" };
    counter!(LINK_REQUESTS, "direction" => direction, "result" => result).increment(1);
    counter!(LINK_BYTES, "direction" => "sent").increment(bytes_out as u64);
    counter!(LINK_BYTES, "direction" => "received").increment(bytes_in as u64);
}

/// One LMTP recipient's outcome: `delivered`, `duplicate`, `temporary` (4xx) or `refused` (5xx).
pub fn lmtp_delivery(result: &'static str) {
    counter!(LMTP_DELIVERIES, "result" => result).increment(1);
}
