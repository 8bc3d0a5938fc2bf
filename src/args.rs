//! The command-line flags, grouped by the subcommands that use them.
//!
//! `--config` and `--data-dir` are global: they may come before or after the subcommand
//! (`roost user add bob --data-dir d`), as may a group's flags around its own subcommands
//! (`roost user add bob --users-file f`). Every other flag is declared only on the subcommands
//! whose work it changes, so each `--help` lists what matters there. Each flag has a
//! `ROOST_*` variable; both win over the file. Flags are `Option`s, so an absent flag leaves
//! the file's value: the default each help text names is the built-in one, used when neither
//! the file nor the variable sets it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use roost::config::{LogFormat, Overrides};

/// Flags every subcommand takes, before or after its name.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML) [default: none, built-in settings]
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "ROOST_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Where mail, users and generated certificates live (`data_dir`) [default: roost-data]
    #[arg(long, global = true, env = "ROOST_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `roost user`: the users file only.
#[derive(Debug, Clone, Default, Args)]
pub struct UsersArgs {
    /// The users file (`auth.users_file`) [default: <data_dir>/users]
    #[arg(long, global = true, env = "ROOST_USERS_FILE", value_name = "FILE")]
    pub users_file: Option<PathBuf>,
}

/// `roost cluster`: how to reach the cluster's Redis.
#[derive(Debug, Clone, Default, Args)]
pub struct RedisArgs {
    /// Redis URL for clustering (`cluster.redis_url`); may hold a password [default: none,
    /// the node runs alone]
    #[arg(
        long,
        global = true,
        env = "ROOST_REDIS_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub redis_url: Option<String>,
}

/// `roost imap` and `roost import`: what finds the data directory's writer and the user.
#[derive(Debug, Clone, Default, Args)]
pub struct NodeArgs {
    /// This node's name in logs, traces and the cluster (`node_id`) [default: the host name]
    #[arg(long, global = true, env = "ROOST_NODE_ID", value_name = "NAME")]
    pub node_id: Option<String>,
    /// The local control socket `roost imap` reaches the running node through
    /// (`control_socket`) [default: <data_dir>/control/<node_id>.sock]
    #[arg(long, global = true, env = "ROOST_CONTROL_SOCKET", value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    #[command(flatten)]
    pub users: UsersArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
}

/// `roost serve` and `roost imap`, which log.
#[derive(Debug, Clone, Default, Args)]
pub struct LogArgs {
    /// Log format (`log.format`) [default: text]
    #[arg(long, env = "ROOST_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// `roost serve` and `roost check-config`: every setting with a flag.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Plain + STARTTLS listener; replaces the file's `starttls` listeners
    /// [default: 127.0.0.1:1143]
    #[arg(long, env = "ROOST_IMAP_LISTEN", value_name = "ADDR")]
    pub imap_listen: Option<SocketAddr>,
    /// Implicit-TLS listener; replaces the file's `implicit` listeners [default: 127.0.0.1:1993]
    #[arg(long, env = "ROOST_IMAPS_LISTEN", value_name = "ADDR")]
    pub imaps_listen: Option<SocketAddr>,
    /// LMTP listener for the MTA; replaces the file's `lmtp` listeners [default: none]
    #[arg(long, env = "ROOST_LMTP_LISTEN", value_name = "ADDR")]
    pub lmtp_listen: Option<SocketAddr>,
    /// PEM certificate chain (`tls.files.cert`, with --tls-key) [default: a self-signed
    /// certificate generated in <data_dir>/tls/]
    #[arg(
        long,
        env = "ROOST_TLS_CERT",
        requires = "tls_key",
        value_name = "FILE"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (`tls.files.key`, with --tls-cert) [default: generated with the
    /// certificate]
    #[arg(
        long,
        env = "ROOST_TLS_KEY",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_key: Option<PathBuf>,
    /// Allow LOGIN without TLS from non-loopback addresses (`auth.allow_plaintext`)
    /// [default: false]
    #[arg(long, env = "ROOST_ALLOW_PLAINTEXT", value_name = "BOOL")]
    pub allow_plaintext: Option<bool>,
    #[command(flatten)]
    pub log: LogArgs,
    /// How long in-flight commands may take after SIGTERM (`limits.drain_timeout_secs`)
    /// [default: 20]
    #[arg(long, env = "ROOST_DRAIN_TIMEOUT_SECS", value_name = "SECS")]
    pub drain_timeout_secs: Option<u64>,
    /// `host:port` other nodes reach this node's link at (`cluster.advertise_address`)
    /// [default: <node_id>:<link port>]
    #[arg(long, env = "ROOST_ADVERTISE_ADDRESS", value_name = "HOST:PORT")]
    pub advertise_address: Option<String>,
    /// Node link listening address (`cluster.link_listen`) [default: 0.0.0.0:7143]
    #[arg(long, env = "ROOST_LINK_LISTEN", value_name = "ADDR")]
    pub link_listen: Option<SocketAddr>,
    /// Account lease TTL in milliseconds (`cluster.lease_ttl_ms`) [default: 10000]
    #[arg(long, env = "ROOST_LEASE_TTL_MS", value_name = "MS")]
    pub lease_ttl_ms: Option<u64>,
    /// Address of the metrics and health endpoint (`http.listen`) [default: 127.0.0.1:9143]
    #[arg(long, env = "ROOST_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
}

impl GlobalArgs {
    /// The overrides these flags give; a subcommand's own flags are added to them.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            ..Overrides::default()
        }
    }
}

impl UsersArgs {
    pub fn apply(&self, o: &mut Overrides) {
        o.users_file.clone_from(&self.users_file);
    }
}

impl RedisArgs {
    pub fn apply(&self, o: &mut Overrides) {
        o.redis_url.clone_from(&self.redis_url);
    }
}

impl LogArgs {
    pub fn apply(&self, o: &mut Overrides) {
        o.log_format = self.log_format;
    }
}

impl NodeArgs {
    pub fn apply(&self, o: &mut Overrides) {
        o.node_id.clone_from(&self.node_id);
        o.control_socket.clone_from(&self.control_socket);
        self.users.apply(o);
        self.redis.apply(o);
    }
}

impl ServeArgs {
    pub fn apply(&self, o: &mut Overrides) {
        self.node.apply(o);
        o.imap_listen = self.imap_listen;
        o.imaps_listen = self.imaps_listen;
        o.lmtp_listen = self.lmtp_listen;
        o.tls_cert.clone_from(&self.tls_cert);
        o.tls_key.clone_from(&self.tls_key);
        o.allow_plaintext = self.allow_plaintext;
        self.log.apply(o);
        o.drain_timeout_secs = self.drain_timeout_secs;
        o.advertise_address.clone_from(&self.advertise_address);
        o.link_listen = self.link_listen;
        o.lease_ttl_ms = self.lease_ttl_ms;
        o.http_listen = self.http_listen;
    }
}
