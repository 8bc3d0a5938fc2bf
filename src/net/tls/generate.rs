//! Choosing the TLS files, and generating a self-signed pair when none are configured.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, SanType,
};

use super::{TlsError, TlsFiles};

/// How long a generated certificate is valid. 825 days is the longest Apple platforms
/// accept for a TLS server certificate, even one the user has chosen to trust.
const VALIDITY: Duration = Duration::from_secs(825 * 24 * 60 * 60);

/// Backdating `notBefore` by a day tolerates clients whose clocks run behind.
const BACKDATE: Duration = Duration::from_secs(24 * 60 * 60);

/// Returns the files to serve: `configured` if given, otherwise `<data_dir>/tls/cert.pem`
/// and `<data_dir>/tls/key.pem`, generating a self-signed pair there on first start.
///
/// The generated certificate names `localhost`, `127.0.0.1`, `::1` and this machine's
/// host name. The key file is created with mode 0600 and the directory with 0700. When
/// the data-directory pair is used, a warning is logged on every start, because clients
/// will not trust it unless told to.
///
/// Configured files are returned as given; [`super::CertResolver::load`] checks them.
///
/// # Errors
///
/// [`TlsError::Incomplete`] if only one of the two default files exists (regenerating
/// would silently replace a certificate clients may have pinned);
/// [`TlsError::Read`] if their presence cannot be checked; [`TlsError::Write`] or
/// [`TlsError::Generate`] if generation fails.
pub fn load_or_generate(
    configured: Option<&TlsFiles>,
    data_dir: &Path,
) -> Result<TlsFiles, TlsError> {
    if let Some(files) = configured {
        return Ok(files.clone());
    }
    let dir = data_dir.join("tls");
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    // Nodes that first start at once on one shared data directory must not generate two
    // pairs into the same files (a certificate of one beside the key of the other): the
    // check and the generation run under an exclusive lock on `tls/.lock`.
    create_private_dir(&dir)?;
    let lock_path = dir.join(".lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|source| TlsError::Write {
            path: lock_path,
            source,
        })?;
    let found = (exists(&files.cert)?, exists(&files.key)?);
    match found {
        (true, true) => tracing::warn!(
            cert = %files.cert.display(),
            "no TLS certificate configured; serving the one in the data directory, \
             self-signed unless replaced, so clients must be told to trust it"
        ),
        (false, false) => {
            let names = generate(&dir, &files)?;
            tracing::warn!(
                cert = %files.cert.display(),
                names = %names.join(", "),
                "no TLS certificate configured; generated a self-signed certificate, \
                 so clients must be told to trust it"
            );
        }
        (true, false) => {
            return Err(TlsError::Incomplete {
                present: files.cert,
                missing: files.key,
            })
        }
        (false, true) => {
            return Err(TlsError::Incomplete {
                present: files.key,
                missing: files.cert,
            })
        }
    }
    drop(lock);
    Ok(files)
}

fn exists(path: &Path) -> Result<bool, TlsError> {
    path.try_exists().map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Generates the pair into `files` and returns the names it covers.
fn generate(dir: &Path, files: &TlsFiles) -> Result<Vec<String>, TlsError> {
    create_private_dir(dir)?;

    let host = host_name();
    let mut sans = vec![
        SanType::DnsName("localhost".try_into()?),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    if let Some(host) = &host {
        sans.push(SanType::DnsName(host.as_str().try_into()?));
    }
    let names = sans.iter().map(san_to_string).collect();

    let mut params = CertificateParams::default();
    params.subject_alt_names = sans;
    params.distinguished_name.push(
        DnType::CommonName,
        format!(
            "Roost self-signed ({})",
            host.as_deref().unwrap_or("localhost")
        ),
    );
    // rcgen's defaults run from 1975 to 4096; clients reject such spans (see VALIDITY).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(BACKDATE);
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + now;
    params.not_after = params.not_before + VALIDITY;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];

    // ECDSA P-256: small, fast, and accepted by every client that speaks TLS 1.2.
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;

    // Key first: a crash between the two leaves a key without a certificate, which
    // `load_or_generate` reports instead of pairing the key with a stale certificate.
    write_atomically(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomically(&files.cert, cert.pem().as_bytes(), 0o644)?;
    Ok(names)
}

fn san_to_string(san: &SanType) -> String {
    match san {
        SanType::DnsName(name) => name.as_str().to_owned(),
        SanType::IpAddress(ip) => ip.to_string(),
        other => format!("{other:?}"),
    }
}

/// This machine's host name if it is usable as a certificate DNS name.
///
/// Read from procfs (Linux) or `$HOSTNAME`, to avoid a dependency for one call. Names
/// that are not valid DNS names (an underscore, say) are left out rather than failing
/// generation, since a certificate for `localhost` is still useful.
fn host_name() -> Option<String> {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())?;
    let name = raw.trim().to_ascii_lowercase();
    if name.is_empty() || name == "localhost" {
        return None;
    }
    match rustls_pki_types::DnsName::try_from(name.as_str()) {
        Ok(_) => Some(name),
        Err(_) => {
            tracing::debug!(host = %name, "host name is not a valid DNS name; left out of the certificate");
            None
        }
    }
}

fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `contents` to a temporary file created with `mode`, then renames it over
/// `path`, so `path` never holds a partial file and the key is never world-readable,
/// even for an instant.
fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    // A leftover from a crash may have other permissions; `mode` only applies on creation.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(contents).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(err)
}
