//! The one typed configuration: TOML file < `ROOST_*` environment < command-line flags.
//!
//! The file is read into a table, the `ROOST_*` setting variables are set in it ([`env`]), and
//! the result is read into [`Config`]; flags (and their own variables, through clap) arrive as
//! [`Overrides`] and are applied on top. Every field has a default, so `roost serve` with no
//! file starts a working single-node server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::oauth::OAuthSettings;
use crate::auth::throttle::ThrottlePolicy;
use crate::cluster::link::tls::LinkTlsConfig;
use crate::cluster::redis::access::RedisAccess;
use crate::net::tls::TlsFiles;

pub mod env;
pub mod ldap;
pub mod metadata;

pub use ldap::{DirectoryKind, LdapConfig};
pub use metadata::MetadataConfig;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// This node's name in logs and traces (and, later, in the cluster). Default: the host name.
    pub node_id: String,
    /// Where mail, users and generated certificates live.
    pub data_dir: PathBuf,
    /// The local control socket `roost imap` hands its session to this node through.
    /// Default: `<data_dir>/control/<node_id>.sock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_socket: Option<PathBuf>,
    pub listeners: Vec<ListenerConfig>,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub cluster: ClusterConfig,
    pub lmtp: LmtpConfig,
    pub http: HttpConfig,
    pub telemetry: TelemetryConfig,
    pub store: StoreConfig,
    pub quota: QuotaConfig,
    pub metadata: MetadataConfig,
}

/// Quota (RFC 9208): the limits of accounts whose users-file line sets none, and who may
/// change limits with SETQUOTA.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// STORAGE limit of each account in KiB (sum of message sizes); unset: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_kib: Option<u64>,
    /// MESSAGE limit of each account (number of messages); unset: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// Users who may read and set every account's quota (`GETQUOTA`/`SETQUOTA "#user/NAME"`).
    pub admins: Vec<String>,
}

impl QuotaConfig {
    pub fn default_limits(&self) -> crate::store::quota::Limits {
        crate::store::quota::Limits {
            storage_kib: self.storage_kib,
            messages: self.messages,
        }
    }
}

/// One listening socket.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    pub address: SocketAddr,
    /// `starttls` (plain, STARTTLS offered; port 143), `implicit` (TLS from the first byte;
    /// port 993) or `none` (plain only, for trusted sockets).
    #[serde(default)]
    pub tls: ListenerTls,
    /// Connections on this listener are pre-authenticated as this user (`* PREAUTH`). Only for
    /// trusted sockets (a local proxy that already authenticated the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preauth_user: Option<String>,
    /// `imap` (the default) or `lmtp` (mail delivery from an MTA, RFC 2033; plain TCP, for
    /// the MTA's network only; see `[lmtp]`).
    #[serde(default, skip_serializing_if = "Protocol::is_imap")]
    pub protocol: Protocol,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Imap,
    Lmtp,
}

impl Protocol {
    fn is_imap(&self) -> bool {
        *self == Protocol::Imap
    }
}

/// Mail delivery over LMTP (RFC 2033): the `protocol = "lmtp"` listeners and `socket`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LmtpConfig {
    /// A Unix socket to take LMTP on as well (Postfix `lmtp:unix:...`), mode 0660.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
    /// Recipient domains this server delivers for; empty: any domain. Users are looked up
    /// as `local@domain`, then as `local`.
    pub domains: Vec<String>,
    /// `bob+lists@example.org` delivers to `bob`; empty to turn detail addresses off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_separator: Option<String>,
    /// Deliver `bob+lists@...` into bob's folder `lists` when it exists (else INBOX).
    pub detail_to_folder: bool,
    /// Recipients per transaction (more get `452 4.5.3`).
    pub max_recipients: usize,
    /// A message with the same Message-ID delivered to the same user within this many
    /// seconds is not delivered again (an MTA retrying after a lost answer); 0 turns it off.
    pub duplicate_window_secs: u64,
    /// How long the client may be silent (per command and per data block).
    pub timeout_secs: u64,
    /// Concurrent LMTP connections per node; more are refused with `421 4.3.2`.
    pub max_connections: usize,
}

impl Default for LmtpConfig {
    fn default() -> Self {
        LmtpConfig {
            socket: None,
            domains: Vec::new(),
            detail_separator: Some("+".into()),
            detail_to_folder: true,
            max_recipients: 100,
            duplicate_window_secs: 3600,
            timeout_secs: 300,
            max_connections: 200,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ListenerTls {
    #[default]
    Starttls,
    Implicit,
    None,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain and private key. When absent, a self-signed certificate is
    /// generated in `<data_dir>/tls/` on first start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<TlsFiles>,
    /// How often the certificate files are checked for changes (cert-manager rotation).
    pub reload_interval_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            files: None,
            reload_interval_secs: 30,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The users file (`name:argon2id-hash` lines). Default: `<data_dir>/users`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users_file: Option<PathBuf>,
    /// Allow LOGIN and AUTHENTICATE without TLS from non-loopback addresses. Off by default:
    /// passwords would cross the network in the clear.
    pub allow_plaintext: bool,
    /// Treat loopback connections as secure (LOGIN allowed without TLS). Turn off when a
    /// proxy on the same host forwards remote clients.
    pub loopback_is_secure: bool,
    /// Create user `demo` with a random password (printed once) when no user exists.
    pub create_demo_user: bool,
    /// Users whose last successful login is remembered (so the next one skips argon2);
    /// 0 turns the cache off.
    pub cache_size: usize,
    /// How long a remembered login stays valid.
    pub cache_ttl_secs: u64,
    /// PBKDF2 iterations for the SCRAM-SHA-256 keys `roost user add/passwd` store (RFC 7677
    /// asks for at least 4096); also what unknown users appear to have.
    pub scram_iterations: u32,
    pub throttle: ThrottlePolicy,
    pub oauth: OAuthSettings,
    /// Where users and passwords come from: `file` (`users_file`) or `ldap` (`[auth.ldap]`).
    pub directory: DirectoryKind,
    pub ldap: LdapConfig,
}

impl AuthConfig {
    pub fn policy(&self) -> crate::auth::AuthPolicy {
        crate::auth::AuthPolicy {
            throttle: self.throttle.clone(),
            cache: crate::auth::cache::CachePolicy {
                size: self.cache_size,
                ttl: Duration::from_secs(self.cache_ttl_secs),
            },
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            users_file: None,
            allow_plaintext: false,
            loopback_is_secure: true,
            create_demo_user: true,
            cache_size: 10_000,
            cache_ttl_secs: 3600,
            scram_iterations: 10_000,
            throttle: ThrottlePolicy::default(),
            oauth: OAuthSettings::default(),
            directory: DirectoryKind::File,
            ldap: LdapConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest command line in octets (literals not counted).
    pub max_line: usize,
    /// Largest literal (and so the largest APPENDed message) in octets.
    pub max_literal: u64,
    /// Largest literal before login (enough for LOGIN and AUTHENTICATE); larger ones are
    /// refused before the client sends them.
    pub max_literal_unauthenticated: u64,
    /// Open connections on this node, over all listeners.
    pub max_connections: usize,
    /// Open connections from one IP address (IPv6: one /64).
    pub max_connections_per_ip: usize,
    /// Connections from one IP address (IPv6: one /64) that have not logged in yet.
    pub max_unauthenticated_per_ip: usize,
    /// Time from connect to login (RFC 9051 section 5.4 allows a short one); input does not
    /// extend it.
    pub timeout_unauthenticated_secs: u64,
    /// Inactivity after login; RFC 9051 section 5.4 requires at least 30 minutes.
    pub timeout_authenticated_secs: u64,
    /// How long the client may read nothing while output waits for it before the connection
    /// is dropped (a client that stopped reading; counted in
    /// `roost_connections_write_timeouts_total`).
    pub write_timeout_secs: u64,
    /// Interval of `* OK Still here` during IDLE, so NAT boxes keep the connection.
    pub idle_keepalive_secs: u64,
    /// NOTIFY (RFC 5465): mailboxes and mailbox-list changes a session may have waiting
    /// for a client that does not read (news of one mailbox is kept once, the latest);
    /// beyond it the session gets `* OK [NOTIFICATIONOVERFLOW]` and NOTIFY stops.
    pub notify_backlog: usize,
    /// How long in-flight commands may take to finish after SIGTERM.
    pub drain_timeout_secs: u64,
    /// BAD responses before login after which the connection is closed.
    pub max_bad_commands_unauthenticated: u32,
    /// Failed or refused logins on one connection after which it is closed with `* BYE`.
    pub max_login_failures: u32,
    /// Client networks that are greeted with `* BYE` and disconnected (CIDR notation).
    pub refused_networks: Vec<ipnet::IpNet>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_literal_unauthenticated: 8 * 1024,
            max_connections: 50_000,
            max_connections_per_ip: 100,
            max_unauthenticated_per_ip: 10,
            timeout_unauthenticated_secs: 60,
            timeout_authenticated_secs: 30 * 60,
            write_timeout_secs: 300,
            idle_keepalive_secs: 120,
            notify_backlog: 1000,
            drain_timeout_secs: 20,
            max_bad_commands_unauthenticated: 10,
            max_login_failures: 3,
            refused_networks: Vec::new(),
        }
    }
}

impl LimitsConfig {
    pub fn protocol_limits(&self) -> roost_proto::Limits {
        roost_proto::Limits {
            max_line: self.max_line,
            max_literal: self.max_literal,
            ..Default::default()
        }
    }

    /// The decoder's limits before login: small literals, and so small commands, so that
    /// unauthenticated connections cost little memory whatever they send.
    pub fn protocol_limits_unauthenticated(&self) -> roost_proto::Limits {
        let literal = self.max_literal_unauthenticated.min(self.max_literal);
        roost_proto::Limits {
            max_line: self.max_line,
            max_literal: literal,
            max_literal_minus: literal,
            max_command: self.max_line as u64 + 4 * literal,
            max_literals: 4,
            ..Default::default()
        }
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `roost=debug,info`; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

/// Clustering. Without `redis_url` the node runs alone (embedded mode) and the rest is unused.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The shared Redis (`redis://[user:password@]host:port/db`, or `rediss://` for TLS). May
    /// hold a password: shown redacted by `check-config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// PEM CA certificate(s) that sign the Redis server's certificate (`rediss://` only).
    /// Default: the system's trust store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_ca: Option<PathBuf>,
    /// Redis ACL user name (with `redis_password_file`), instead of a user in the URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_username: Option<String>,
    /// File holding the Redis password (as a Kubernetes Secret is mounted); read at start,
    /// never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_password_file: Option<PathBuf>,
    /// `host:port` other nodes reach this node's link at. Default: `<node_id>:<link port>`
    /// (on a Kubernetes StatefulSet with a headless service, set it to the pod's DNS name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_address: Option<String>,
    /// Where the node link listens for other nodes.
    pub link_listen: SocketAddr,
    /// How long an account lease lasts without renewal: the failover time after a node dies.
    pub lease_ttl_ms: u64,
    /// Node links over plain TCP, for a network only cluster nodes can reach. Anyone who can
    /// connect to `link_listen` can then read and change every mailbox. Logs a WARN at start.
    pub link_plaintext: bool,
    /// Mutual TLS on node links: this node's certificate and key, and the cluster CA. Needed
    /// (or `link_plaintext = true`) when `redis_url` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_tls: Option<LinkTlsConfig>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: None,
            redis_ca: None,
            redis_username: None,
            redis_password_file: None,
            advertise_address: None,
            link_listen: SocketAddr::from(([0, 0, 0, 0], 7143)),
            lease_ttl_ms: 10_000,
            link_plaintext: false,
            link_tls: None,
        }
    }
}

impl ClusterConfig {
    /// Where other nodes reach this one's link.
    pub fn advertise_address(&self, node_id: &str) -> String {
        self.advertise_address
            .clone()
            .unwrap_or_else(|| format!("{node_id}:{}", self.link_listen.port()))
    }

    pub fn lease_timing(&self) -> crate::cluster::LeaseTiming {
        crate::cluster::LeaseTiming {
            ttl: Duration::from_millis(self.lease_ttl_ms),
        }
    }

    /// The cluster settings fit together (no file is read: that happens at start).
    fn validate(&self, node_id: &str) -> Result<(), String> {
        if self.lease_ttl_ms < 1000 {
            return Err("cluster.lease_ttl_ms must be at least 1000".into());
        }
        if self.link_tls.is_some() && self.link_plaintext {
            return Err(
                "cluster.link_tls and cluster.link_plaintext = true contradict each other; \
                 keep one"
                    .into(),
            );
        }
        if let Some(tls) = &self.link_tls {
            crate::cluster::link::identity::node_name(node_id)
                .map_err(|e| format!("node_id: {e}"))?;
            if tls.reload_interval_secs == 0 {
                return Err("cluster.link_tls.reload_interval_secs must be positive".into());
            }
        }
        let Some(access) = RedisAccess::from_config(self) else {
            return Ok(());
        };
        access.check().map_err(|e| e.to_string())?;
        if self.link_tls.is_none() && !self.link_plaintext {
            return Err(
                "cluster.redis_url is set but node links are unprotected: anyone reaching \
                 cluster.link_listen could read and change every mailbox. Configure mutual TLS \
                 with [cluster.link_tls] (cert, key, ca), or set cluster.link_plaintext = true \
                 if only cluster nodes can reach that port"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The URL with its password replaced by `***`, for display.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        // `redis://name@host`: a bare user name, no secret.
        None => userinfo.to_owned(),
    };
    format!("{scheme}://{user}@{host}{path}")
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The HTTP endpoint's default port (on 127.0.0.1).
pub const DEFAULT_HTTP_PORT: u16 = 9143;

/// The operator's HTTP endpoint: `/metrics`, `/healthz`, `/readyz`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Off: no HTTP listener and no metrics are collected.
    pub enabled: bool,
    /// Loopback by default: metrics say who is connected and how much; on Kubernetes listen
    /// on the pod address (`0.0.0.0:9143`) so probes and Prometheus reach it. Port 9143 (like
    /// 1143, 1993 and 7143) avoids 9090, Prometheus' own port, and the exporters' 9100s.
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_HTTP_PORT)),
        }
    }
}

/// The mail store (the `[store]` table).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Transactions a mailbox or account log takes before it is compacted into a snapshot:
    /// fewer means shorter recovery replays and more snapshot writes.
    pub compact_after_transactions: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            compact_after_transactions: crate::mailbox::Options::default().compact_after,
        }
    }
}

/// OpenTelemetry trace export over OTLP/HTTP. The standard `OTEL_*` environment variables
/// win over these keys (see `telemetry::otlp`); with no endpoint anywhere nothing is exported.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Base URL of an OTLP/HTTP collector, e.g. `http://otel-collector:4318`; `/v1/traces` is
    /// appended unless the URL already has a path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// Extra request headers (authentication tokens): redacted by `roost check-config`.
    #[serde(serialize_with = "serialize_redacted")]
    pub otlp_headers: BTreeMap<String, String>,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Fraction of new traces sampled (0.0 to 1.0); a sampled parent is always followed.
    pub sampling_ratio: f64,
    /// Longest wait before a batch of finished spans is sent.
    pub batch_delay_ms: u64,
    /// Timeout of one export request, and the most the shutdown flush may wait.
    pub export_timeout_ms: u64,
    /// Finished spans waiting for export; more are dropped (and counted) rather than queued.
    pub max_queue_size: usize,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            otlp_headers: BTreeMap::new(),
            service_name: "roost".into(),
            sampling_ratio: 1.0,
            batch_delay_ms: 5000,
            export_timeout_ms: 5000,
            max_queue_size: 2048,
        }
    }
}

/// Header values are usually credentials: print the names only.
fn serialize_redacted<S: serde::Serializer>(
    map: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.keys().map(|k| (k, "<redacted>")))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_id: default_node_id(),
            data_dir: PathBuf::from("roost-data"),
            control_socket: None,
            listeners: vec![
                ListenerConfig {
                    address: "127.0.0.1:1143".parse().expect("valid literal address"),
                    tls: ListenerTls::Starttls,
                    preauth_user: None,
                    protocol: Protocol::Imap,
                },
                ListenerConfig {
                    address: "127.0.0.1:1993".parse().expect("valid literal address"),
                    tls: ListenerTls::Implicit,
                    preauth_user: None,
                    protocol: Protocol::Imap,
                },
            ],
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            cluster: ClusterConfig::default(),
            lmtp: LmtpConfig::default(),
            http: HttpConfig::default(),
            telemetry: TelemetryConfig::default(),
            store: StoreConfig::default(),
            quota: QuotaConfig::default(),
            metadata: MetadataConfig::default(),
        }
    }
}

fn default_node_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "roost".into())
}

/// Settings given by environment (`ROOST_*`) or flags (declared by the binary's `args`
/// module, per subcommand); each wins over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Configuration file (TOML).
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub node_id: Option<String>,
    /// The local control socket `roost imap` reaches the running node through
    /// (`control_socket`; default `<data_dir>/control/<node_id>.sock`).
    pub control_socket: Option<PathBuf>,
    /// Plain + STARTTLS listener address (replaces the file's `starttls` listeners).
    pub imap_listen: Option<SocketAddr>,
    /// Implicit-TLS listener address (replaces the file's `implicit` listeners).
    pub imaps_listen: Option<SocketAddr>,
    /// LMTP listener address for the MTA (replaces the file's `lmtp` listeners).
    pub lmtp_listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub users_file: Option<PathBuf>,
    /// Allow LOGIN without TLS from non-loopback addresses.
    pub allow_plaintext: Option<bool>,
    pub log_format: Option<LogFormat>,
    pub drain_timeout_secs: Option<u64>,
    /// Redis URL for clustering (`cluster.redis_url`); may hold a password.
    pub redis_url: Option<String>,
    /// `host:port` other nodes reach this node's link at (`cluster.advertise_address`).
    pub advertise_address: Option<String>,
    /// Node link listening address (`cluster.link_listen`).
    pub link_listen: Option<SocketAddr>,
    /// Account lease TTL in milliseconds (`cluster.lease_ttl_ms`).
    pub lease_ttl_ms: Option<u64>,
    /// Address of the metrics and health endpoint (`http.listen`).
    pub http_listen: Option<SocketAddr>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {variable}: {reason}")]
    Env { variable: String, reason: String },
    #[error("the configuration (file and ROOST_* variables: {variables}) is invalid: {source}")]
    Layered {
        variables: String,
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads the file named in `overrides` (if any), then the `ROOST_*` setting variables
    /// ([`env`]), then applies the flags, and validates the result.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, a variable is malformed, or the result is
    /// inconsistent.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        // Variables that are not Unicode cannot be settings (nor anything `std::env::vars`
        // would survive).
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        let config = Self::layered(overrides, vars)?;
        config.validate()?;
        Ok(config)
    }

    /// The three layers (file, the setting variables among `vars`, flags) without validation.
    ///
    /// # Errors
    /// As [`Config::load`], except for validation.
    pub fn layered(
        overrides: &Overrides,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let file = match &overrides.config {
            Some(path) => Some((path, Self::read(path)?)),
            None => None,
        };
        let mut table = match &file {
            Some((path, text)) => {
                text.parse::<toml::Table>()
                    .map_err(|source| ConfigError::Parse {
                        path: path.to_path_buf(),
                        source: Box::new(source),
                    })?
            }
            None => toml::Table::new(),
        };
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let mut config: Config = if env::apply(&mut table, vars.iter().cloned())? {
            let names: Vec<&str> = vars
                .iter()
                .map(|(name, _)| name.as_str())
                .filter(|n| n.starts_with(env::PREFIX))
                .collect();
            toml::Value::Table(table)
                .try_into()
                .map_err(|source| ConfigError::Layered {
                    variables: names.join(", "),
                    source: Box::new(source),
                })?
        } else {
            match &file {
                // From the text, so that errors point at the line.
                Some((path, text)) => {
                    toml::from_str(text).map_err(|source| ConfigError::Parse {
                        path: path.to_path_buf(),
                        source: Box::new(source),
                    })?
                }
                None => Config::default(),
            }
        };
        config.apply(overrides);
        Ok(config)
    }

    fn read(path: &Path) -> Result<String, ConfigError> {
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })
    }

    fn apply(&mut self, o: &Overrides) {
        if let Some(v) = &o.data_dir {
            self.data_dir = v.clone();
        }
        if let Some(v) = &o.node_id {
            self.node_id = v.clone();
        }
        if let Some(v) = &o.control_socket {
            self.control_socket = Some(v.clone());
        }
        for (address, kind) in [
            (o.imap_listen, ListenerTls::Starttls),
            (o.imaps_listen, ListenerTls::Implicit),
        ] {
            if let Some(address) = address {
                self.listeners
                    .retain(|l| l.tls != kind || l.protocol != Protocol::Imap);
                self.listeners.push(ListenerConfig {
                    address,
                    tls: kind,
                    preauth_user: None,
                    protocol: Protocol::Imap,
                });
            }
        }
        if let Some(address) = o.lmtp_listen {
            self.listeners.retain(|l| l.protocol != Protocol::Lmtp);
            self.listeners.push(ListenerConfig {
                address,
                tls: ListenerTls::None,
                preauth_user: None,
                protocol: Protocol::Lmtp,
            });
        }
        if let (Some(cert), Some(key)) = (&o.tls_cert, &o.tls_key) {
            self.tls.files = Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        if let Some(v) = &o.users_file {
            self.auth.users_file = Some(v.clone());
        }
        if let Some(v) = o.allow_plaintext {
            self.auth.allow_plaintext = v;
        }
        if let Some(v) = o.log_format {
            self.log.format = v;
        }
        if let Some(v) = o.drain_timeout_secs {
            self.limits.drain_timeout_secs = v;
        }
        if let Some(v) = &o.redis_url {
            self.cluster.redis_url = Some(v.clone());
        }
        if let Some(v) = &o.advertise_address {
            self.cluster.advertise_address = Some(v.clone());
        }
        if let Some(v) = o.link_listen {
            self.cluster.link_listen = v;
        }
        if let Some(v) = o.lease_ttl_ms {
            self.cluster.lease_ttl_ms = v;
        }
        if let Some(v) = o.http_listen {
            self.http.listen = v;
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |s: &str| Err(ConfigError::Invalid(s.to_owned()));
        if self.listeners.is_empty() {
            return invalid("no listeners configured");
        }
        if self.limits.timeout_authenticated_secs < 30 * 60 {
            return invalid(
                "limits.timeout_authenticated_secs must be at least 1800 (RFC 9051 section 5.4)",
            );
        }
        if self.limits.max_line < 1024 {
            return invalid("limits.max_line must be at least 1024 octets");
        }
        if self.limits.max_literal_unauthenticated < 1024 {
            return invalid("limits.max_literal_unauthenticated must be at least 1024 octets");
        }
        if self.limits.write_timeout_secs == 0 {
            return invalid("limits.write_timeout_secs must be positive");
        }
        if self.limits.notify_backlog == 0 {
            return invalid("limits.notify_backlog must be positive");
        }
        if self.limits.idle_keepalive_secs == 0 {
            return invalid("limits.idle_keepalive_secs must be positive");
        }
        crate::telemetry::check_filter(&self.log.filter).map_err(|e| {
            ConfigError::Invalid(format!(
                "log.filter {:?} is not a valid filter: {e}",
                self.log.filter
            ))
        })?;
        // Zero would refuse every login or every connection: surely a mistake.
        if self.limits.max_unauthenticated_per_ip == 0
            || self.limits.max_login_failures == 0
            || self.auth.throttle.max_failures == 0
        {
            return invalid(
                "limits.max_unauthenticated_per_ip, limits.max_login_failures and \
                 auth.throttle.max_failures must be positive",
            );
        }
        if self.auth.directory == DirectoryKind::Ldap {
            self.auth.ldap.validate().map_err(ConfigError::Invalid)?;
        }
        if self.auth.scram_iterations < crate::auth::scram::MIN_ITERATIONS {
            return invalid("auth.scram_iterations must be at least 4096 (RFC 7677 section 4)");
        }
        self.cluster
            .validate(&self.node_id)
            .map_err(ConfigError::Invalid)?;
        self.auth.oauth.validate().map_err(ConfigError::Invalid)?;
        self.metadata.validate().map_err(ConfigError::Invalid)?;
        let t = &self.telemetry;
        if !(0.0..=1.0).contains(&t.sampling_ratio) {
            return invalid("telemetry.sampling_ratio must be between 0.0 and 1.0");
        }
        if t.export_timeout_ms == 0 || t.batch_delay_ms == 0 || t.max_queue_size == 0 {
            return invalid(
                "telemetry.export_timeout_ms, batch_delay_ms and max_queue_size must be positive",
            );
        }
        if let Some(endpoint) = &t.otlp_endpoint {
            crate::telemetry::otlp::check_endpoint(endpoint)
                .map_err(|e| ConfigError::Invalid(format!("telemetry.otlp_endpoint: {e}")))?;
        }
        Ok(())
    }

    /// Where this node's control socket is (see `control_socket`).
    pub fn control_socket(&self) -> PathBuf {
        self.control_socket.clone().unwrap_or_else(|| {
            let name: String = self
                .node_id
                .chars()
                .map(|c| if c == '/' || c == '\0' { '_' } else { c })
                .collect();
            self.data_dir.join("control").join(format!("{name}.sock"))
        })
    }

    pub fn users_file(&self) -> PathBuf {
        self.auth
            .users_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("users"))
    }

    /// The effective configuration as TOML, for `roost check-config`. Secrets are redacted:
    /// the Redis password in the URL and OTLP header values; user passwords live in the users
    /// file, the Redis password in `cluster.redis_password_file` and keys in their PEM files,
    /// which are only named.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        shown.cluster.redis_url = shown.cluster.redis_url.as_deref().map(redact_url);
        toml::to_string_pretty(&shown)
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_has_starttls_and_implicit_listeners() {
        let c = Config::default();
        assert_eq!(c.listeners.len(), 2);
        assert_eq!(c.listeners[0].address.port(), 1143);
        assert_eq!(c.listeners[1].tls, ListenerTls::Implicit);
    }

    #[test]
    fn file_values_are_overridden_by_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        std::fs::write(
            &path,
            "data_dir = \"/var/lib/roost\"\n[[listeners]]\naddress = \"0.0.0.0:143\"\n[limits]\nmax_line = 8192\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some(path),
            node_id: Some("n1".into()),
            ..Default::default()
        };
        let c = Config::load(&o).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/roost"));
        assert_eq!(c.node_id, "n1");
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(c.limits.max_line, 8192);
    }

    #[test]
    fn unknown_keys_and_short_timeouts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "dat_dir = \"x\"\n").unwrap();
        let err = Config::load(&Overrides {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("dat_dir"), "{err}");
        std::fs::write(&path, "[limits]\ntimeout_authenticated_secs = 60\n").unwrap();
        let err = Config::load(&Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("5.4"), "{err}");
    }

    #[test]
    fn zero_login_limits_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        for text in [
            "[limits]\nmax_unauthenticated_per_ip = 0\n",
            "[limits]\nmax_login_failures = 0\n",
            "[auth.throttle]\nmax_failures = 0\n",
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(&Overrides {
                config: Some(path.clone()),
                ..Default::default()
            })
            .unwrap_err();
            assert!(
                err.to_string().contains("must be positive"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn cluster_settings_come_from_file_and_flags_and_the_password_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        std::fs::write(
            &path,
            "node_id = \"n1\"\n[cluster]\nredis_url = \"redis://roost:s3cret@redis:6379/2\"\nlease_ttl_ms = 5000\n\
             link_plaintext = true\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some(path.clone()),
            link_listen: Some("0.0.0.0:9000".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::load(&o).unwrap();
        assert_eq!(c.cluster.lease_timing().ttl, Duration::from_secs(5));
        assert_eq!(c.cluster.advertise_address(&c.node_id), "n1:9000");
        let shown = c.to_toml();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("redis://roost:***@redis:6379/2"), "{shown}");
        let o = Overrides {
            config: Some(path),
            redis_url: Some("http://x".into()),
            ..Default::default()
        };
        assert!(Config::load(&o).is_err());
        assert!(Config::default().cluster.redis_url.is_none());
    }

    /// Loads `text` as the config file.
    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&Overrides {
            config: Some(path),
            ..Default::default()
        })
    }

    const REDIS: &str = "node_id = \"roost-0\"\n[cluster]\nredis_url = \"redis://redis:6379\"\n";
    const LINK_TLS: &str = "[cluster.link_tls]\ncert = \"/tls/tls.crt\"\nkey = \"/tls/tls.key\"\n\
                            ca = \"/tls/ca.crt\"\n";

    #[test]
    fn a_cluster_needs_link_tls_or_an_explicit_plaintext_opt_out() {
        let err = load_text(REDIS).unwrap_err().to_string();
        assert!(
            err.contains("cluster.link_tls") && err.contains("cluster.link_plaintext = true"),
            "{err}"
        );
        let c = load_text(&format!("{REDIS}link_plaintext = true\n")).unwrap();
        assert!(c.cluster.link_plaintext);
        let c = load_text(&format!("{REDIS}{LINK_TLS}")).unwrap();
        let tls = c.cluster.link_tls.as_ref().unwrap();
        assert_eq!(tls.ca, PathBuf::from("/tls/ca.crt"));
        assert_eq!(tls.reload_interval_secs, 30);
        let shown: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(shown.cluster.link_tls, c.cluster.link_tls);

        let err = load_text(&format!("{REDIS}link_plaintext = true\n{LINK_TLS}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("contradict"), "{err}");
        // A single node needs neither.
        load_text("node_id = \"n\"\n").unwrap();
    }

    #[test]
    fn with_link_tls_the_node_id_must_be_a_dns_name() {
        let text = format!("{REDIS}{LINK_TLS}").replace("roost-0", "roost_0");
        let err = load_text(&text).unwrap_err().to_string();
        assert!(err.contains("node_id") && err.contains("DNS name"), "{err}");
        let plaintext = format!("{REDIS}link_plaintext = true\n").replace("roost-0", "roost_0");
        load_text(&plaintext).unwrap();
    }

    #[test]
    fn redis_tls_and_acl_settings_are_checked_and_the_password_file_only_named() {
        let text = "node_id = \"roost-0\"\n[cluster]\nlink_plaintext = true\n\
                    redis_url = \"rediss://redis:6380\"\nredis_ca = \"/tls/redis-ca.crt\"\n\
                    redis_username = \"roost\"\nredis_password_file = \"/secrets/redis\"\n";
        let c = load_text(text).unwrap();
        let shown = c.to_toml();
        assert!(shown.contains("redis_username = \"roost\""), "{shown}");
        assert!(shown.contains("/secrets/redis"), "{shown}");

        let cases = [
            (text.replace("rediss://", "redis://"), "rediss://"),
            (
                text.replace("redis_password_file = \"/secrets/redis\"\n", ""),
                "cluster.redis_password_file",
            ),
            (
                text.replace("rediss://redis", "rediss://u:p@redis"),
                "given twice",
            ),
            (text.replace("rediss://", "http://"), "cluster.redis_url"),
        ];
        for (text, expected) in cases {
            let err = load_text(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
            assert!(!err.contains("u:p@"), "{err}");
        }
    }

    #[test]
    fn redaction_keeps_everything_but_the_password() {
        assert_eq!(redact_url("redis://:pw@h:1/0"), "redis://:***@h:1/0");
        assert_eq!(redact_url("redis://u:p@ss@h"), "redis://u:***@h");
        assert_eq!(redact_url("redis://user@h/0"), "redis://user@h/0");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(
            redact_url("redis+unix:///run/redis.sock"),
            "redis+unix:///run/redis.sock"
        );
    }

    #[test]
    fn effective_config_renders_as_toml_that_parses_back() {
        let c = Config::default();
        let text = c.to_toml();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.listeners, c.listeners);
    }

    #[test]
    fn telemetry_and_http_sections_parse_and_header_values_are_not_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        std::fs::write(
            &path,
            "[http]\nlisten = \"0.0.0.0:9100\"\n[telemetry]\notlp_endpoint = \"http://collector:4318\"\n\
             sampling_ratio = 0.25\n[telemetry.otlp_headers]\nauthorization = \"Bearer s3cret\"\n",
        )
        .unwrap();
        let c = Config::load(&Overrides {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.http.listen.port(), 9100);
        assert!(c.http.enabled);
        assert_eq!(c.telemetry.sampling_ratio, 0.25);
        assert_eq!(c.telemetry.otlp_headers["authorization"], "Bearer s3cret");
        let printed = c.to_toml();
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("authorization"), "{printed}");

        std::fs::write(&path, "[telemetry]\nsampling_ratio = 2.0\n").unwrap();
        let err = Config::load(&Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("sampling_ratio"), "{err}");
    }
}
