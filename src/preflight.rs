//! What `roost serve` checks before it binds anything, and `roost check-config` checks too.
//!
//! [`Config::load`](crate::config::Config::load) checks that the settings fit together; this
//! module checks them against the machine: that the data directory is a writable directory,
//! that no two sockets share an address, and that the TLS and Redis files named can be read
//! and used (the OAuth key set's CA file too). Nothing here binds, connects or creates anything (the write probe in an existing
//! data directory is removed at once), so `check-config` may run where the server will.

use std::net::SocketAddr;
use std::path::Path;

use crate::auth::authenticator::SetupError;
use crate::auth::ldap::LdapSettings;
use crate::auth::oauth::fetch::JwksSource;
use crate::cluster::link::tls::LinkTls;
use crate::cluster::node::JoinError;
use crate::cluster::redis::access::RedisAccess;
use crate::config::{Config, DirectoryKind};
use crate::net::tls;
use crate::server::{ListenRole, ServeError};

/// What is wrong with the data directory, found at start rather than at the first command.
#[derive(Debug, thiserror::Error)]
pub enum DataDirProblem {
    #[error("it exists but is not a directory")]
    NotADirectory,
    #[error("cannot create it: {0}")]
    Create(std::io::Error),
    #[error("it does not exist, and {} cannot hold it: {reason}", parent.display())]
    Parent {
        parent: std::path::PathBuf,
        reason: &'static str,
    },
    #[error("this process (uid {uid}) cannot write in it: {source}")]
    NotWritable { uid: u32, source: std::io::Error },
}

/// Every check `serve` makes before binding; `check-config` runs exactly this.
///
/// # Errors
/// The first problem found, naming the path or the setting to change.
pub fn check(config: &Config) -> Result<(), ServeError> {
    check_addresses(config)?;
    check_files(config)
}

/// What `check-config --settings-only` runs: the checks that hold on any machine (so not
/// the files and directories named, which may exist only where the server will run).
///
/// # Errors
/// As [`check`].
pub fn check_settings(config: &Config) -> Result<(), ServeError> {
    check_addresses(config)
}

/// The data directory, TLS and Redis files on this machine.
fn check_files(config: &Config) -> Result<(), ServeError> {
    check_data_dir(&config.data_dir)?;
    if let Some(files) = &config.tls.files {
        tls::CertResolver::load(files)?;
    }
    if config.auth.directory == DirectoryKind::Ldap {
        // Reads the service password file and the CA; connects to nothing.
        LdapSettings::load(&config.auth.ldap).map_err(ServeError::Users)?;
    }
    if config.cluster.redis_url.is_some() {
        if let Some(link_tls) = &config.cluster.link_tls {
            let advertised = config.cluster.advertise_address(&config.node_id);
            LinkTls::load(link_tls, &config.node_id, &advertised)
                .map_err(|e| ServeError::Cluster(JoinError::LinkTls(e)))?;
        }
    }
    if config.auth.oauth.enabled {
        // Parses the key set URL and reads its CA file; fetches nothing.
        JwksSource::from_settings(&config.auth.oauth).map_err(SetupError::from)?;
    }
    if let Some(access) = RedisAccess::from_config(&config.cluster) {
        // Reads the password file and CA; connects to nothing.
        access
            .client()
            .map_err(|e| ServeError::Cluster(JoinError::RedisAccess(e)))?;
    }
    Ok(())
}

/// The data directory is a directory this process can write in or, when it does not exist
/// yet, its nearest existing ancestor is one it can create it in.
///
/// # Errors
/// [`ServeError::DataDir`] with the absolute path and the problem.
pub fn check_data_dir(dir: &Path) -> Result<(), ServeError> {
    let fail = |problem| data_dir_error(dir, problem);
    if dir.exists() {
        if !dir.is_dir() {
            return Err(fail(DataDirProblem::NotADirectory));
        }
        let probe = dir.join(format!(".write-check-{}", std::process::id()));
        return std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|source| {
                fail(DataDirProblem::NotWritable {
                    uid: current_uid(),
                    source,
                })
            });
    }
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let Some(parent) = absolute.ancestors().skip(1).find(|p| p.exists()) else {
        return Ok(());
    };
    let reason = if !parent.is_dir() {
        "it is not a directory"
    } else if !is_writable(parent) {
        "this process cannot write in it"
    } else {
        return Ok(());
    };
    Err(fail(DataDirProblem::Parent {
        parent: parent.to_owned(),
        reason,
    }))
}

/// The error for the data directory `dir`, named by its absolute path.
pub fn data_dir_error(dir: &Path, problem: DataDirProblem) -> ServeError {
    ServeError::DataDir {
        path: std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()),
        problem,
    }
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn is_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// No two sockets of this node on one address (port 0, "any free port", never collides).
fn check_addresses(config: &Config) -> Result<(), ServeError> {
    let mut sockets: Vec<(SocketAddr, ListenRole)> = config
        .listeners
        .iter()
        .map(|l| (l.address, ListenRole::of(l)))
        .collect();
    if config.http.enabled {
        sockets.push((config.http.listen, ListenRole::HTTP));
    }
    if config.cluster.redis_url.is_some() {
        sockets.push((config.cluster.link_listen, ListenRole::LINK));
    }
    for (i, (address, second)) in sockets.iter().enumerate() {
        let taken = sockets[..i]
            .iter()
            .find(|(other, _)| other.port() != 0 && overlap(*other, *address));
        if let Some((_, first)) = taken {
            return Err(ServeError::SameAddress {
                address: *address,
                first: *first,
                second: *second,
            });
        }
    }
    Ok(())
}

/// Whether two listening addresses cannot both be bound: same port, and the same IP or a
/// wildcard (0.0.0.0, ::) on either side of the same family.
fn overlap(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}
