//! Tests with real TLS handshakes over in-memory duplex streams, verifying certificates
//! the way a client would.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::*;

/// What the client saw after a successful handshake.
struct Seen {
    leaf: CertificateDer<'static>,
    alpn: Option<Vec<u8>>,
    version: Option<rustls::ProtocolVersion>,
}

/// Runs a handshake between `server` and `client` for `name`, then has the server send a
/// greeting the client must read, proving the session carries data.
async fn handshake(
    server: TlsAcceptor,
    client: Arc<ClientConfig>,
    name: &str,
) -> Result<Seen, String> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server_task = tokio::spawn(async move {
        let mut tls = server.accept(server_io).await?;
        tls.write_all(b"* OK roost ready\r\n").await?;
        tls.flush().await?;
        // Keep the stream open until the client has read the greeting.
        let mut buf = [0u8; 1];
        let _ = tls.read(&mut buf).await;
        Ok::<_, std::io::Error>(())
    });
    let name = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
    let mut tls = TlsConnector::from(client)
        .connect(name, client_io)
        .await
        .map_err(|e| format!("client handshake: {e}"))?;
    let mut greeting = [0u8; 18];
    tls.read_exact(&mut greeting)
        .await
        .map_err(|e| format!("client read: {e}"))?;
    assert_eq!(&greeting, b"* OK roost ready\r\n");
    let (_, conn) = tls.get_ref();
    let seen = Seen {
        leaf: conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .cloned()
            .ok_or("no peer certificate")?,
        alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        version: conn.protocol_version(),
    };
    drop(tls);
    server_task
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("server: {e}"))?;
    Ok(seen)
}

/// Generates the default pair under a fresh data directory.
fn generated() -> (tempfile::TempDir, TlsFiles) {
    let data = tempfile::tempdir().expect("tempdir");
    let files = load_or_generate(None, data.path()).expect("generate");
    (data, files)
}

/// Writes a fresh self-signed pair for `localhost` into `dir/<stem>.{crt,key}` the way a
/// rotation tool would: complete temporary files renamed into place.
fn write_pair(dir: &Path, stem: &str) -> TlsFiles {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    let files = TlsFiles {
        cert: dir.join(format!("{stem}.crt")),
        key: dir.join(format!("{stem}.key")),
    };
    replace(&files.key, signing_key.serialize_pem().as_bytes());
    replace(&files.cert, cert.pem().as_bytes());
    files
}

fn replace(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("new");
    fs::write(&tmp, contents).expect("write");
    fs::rename(&tmp, path).expect("rename");
}

/// A trust bundle holding every certificate in `certs`, so one client accepts either the
/// old or the new certificate and the test can look at which one it got.
fn bundle(dir: &Path, certs: &[&Path]) -> PathBuf {
    let path = dir.join("bundle.pem");
    let pem: Vec<u8> = certs
        .iter()
        .flat_map(|c| fs::read(c).expect("read"))
        .collect();
    fs::write(&path, pem).expect("write bundle");
    path
}

fn leaf_of(path: &Path) -> CertificateDer<'static> {
    resolver::read_certs(path).expect("certs").remove(0)
}

#[tokio::test]
async fn generated_certificate_completes_a_verified_handshake_for_each_local_name() {
    let (_data, files) = generated();
    let resolver = CertResolver::load(&files).expect("load");
    let server = acceptor(resolver).expect("server config");
    let client = client_config_trusting(&files.cert).expect("client config");
    for name in ["localhost", "127.0.0.1", "::1"] {
        let seen = handshake(server.clone(), client.clone(), name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(seen.leaf, leaf_of(&files.cert), "{name}");
        assert_eq!(seen.alpn.as_deref(), Some(ALPN_IMAP), "{name}");
    }
}

#[tokio::test]
async fn generated_certificate_is_rejected_for_other_names() {
    let (_data, files) = generated();
    let server = acceptor(CertResolver::load(&files).expect("load")).expect("config");
    let client = client_config_trusting(&files.cert).expect("client config");
    assert!(handshake(server, client, "mail.example.org").await.is_err());
}

#[tokio::test]
async fn tls12_only_client_is_served() {
    let (_data, files) = generated();
    let server = acceptor(CertResolver::load(&files).expect("load")).expect("config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(leaf_of(&files.cert)).expect("root");
    let client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let seen = handshake(server, Arc::new(client), "localhost")
        .await
        .expect("handshake");
    assert_eq!(seen.version, Some(rustls::ProtocolVersion::TLSv1_2));
    // No ALPN offered, none negotiated: plain IMAP clients are unaffected.
    assert_eq!(seen.alpn, None);
}

#[tokio::test]
async fn client_offering_only_another_alpn_protocol_is_refused() {
    let (_data, files) = generated();
    let server = acceptor(CertResolver::load(&files).expect("load")).expect("config");
    let mut client = (*client_config_trusting(&files.cert).expect("client")).clone();
    client.alpn_protocols = vec![b"h2".to_vec()];
    assert!(handshake(server, Arc::new(client), "localhost")
        .await
        .is_err());
}

#[test]
fn generation_happens_once_with_a_private_key_file() {
    let (data, files) = generated();
    assert_eq!(files.cert, data.path().join("tls/cert.pem"));
    assert_eq!(files.key, data.path().join("tls/key.pem"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&files.key), 0o600);
        assert_eq!(mode(&data.path().join("tls")), 0o700);
    }
    let first = fs::read(&files.cert).expect("read");
    let again = load_or_generate(None, data.path()).expect("second start");
    assert_eq!(again, files);
    assert_eq!(fs::read(&files.cert).expect("read"), first, "regenerated");
}

#[test]
fn configured_files_are_used_as_given_and_nothing_is_generated() {
    let data = tempfile::tempdir().expect("tempdir");
    let files = TlsFiles {
        cert: "/etc/roost/cert.pem".into(),
        key: "/etc/roost/key.pem".into(),
    };
    assert_eq!(
        load_or_generate(Some(&files), data.path()).expect("configured"),
        files
    );
    assert!(!data.path().join("tls").exists());
}

#[test]
fn half_of_the_generated_pair_is_an_error_naming_both_files() {
    let (data, files) = generated();
    fs::remove_file(&files.key).expect("remove");
    let err = load_or_generate(None, data.path()).expect_err("half pair");
    assert!(matches!(err, TlsError::Incomplete { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&*files.key.to_string_lossy()), "{msg}");
    assert!(msg.contains(&*files.cert.to_string_lossy()), "{msg}");
}

#[tokio::test]
async fn reload_switches_the_certificate_for_new_handshakes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = write_pair(dir.path(), "live");
    let old_leaf = leaf_of(&old.cert);
    let old_copy = dir.path().join("old.crt");
    fs::copy(&old.cert, &old_copy).expect("copy");

    let resolver = CertResolver::load(&old).expect("load");
    let server = acceptor(resolver.clone()).expect("config");
    assert!(
        !resolver.reload().expect("unchanged"),
        "nothing changed yet"
    );

    let new = write_pair(dir.path(), "live");
    assert_eq!(new, old, "same paths, new contents");
    let new_leaf = leaf_of(&new.cert);
    assert_ne!(new_leaf, old_leaf);
    let client =
        client_config_trusting(&bundle(dir.path(), &[&old_copy, &new.cert])).expect("client");

    assert!(resolver.reload().expect("reload"));
    let seen = handshake(server, client, "localhost")
        .await
        .expect("handshake");
    assert_eq!(seen.leaf, new_leaf);
    assert!(!resolver.reload().expect("unchanged"), "already loaded");
}

#[tokio::test]
async fn broken_replacement_keeps_the_old_certificate_and_is_reported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    let old_leaf = leaf_of(&files.cert);
    let resolver = CertResolver::load(&files).expect("load");
    let server = acceptor(resolver.clone()).expect("config");
    let client = client_config_trusting(&files.cert).expect("client");

    // Half a rotation: a new certificate next to the old key.
    let other = write_pair(dir.path(), "other");
    replace(&files.cert, &fs::read(&other.cert).expect("read"));
    let err = resolver.reload().expect_err("mismatched pair");
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err:?}");
    assert!(
        !resolver.reload().expect("same broken state"),
        "reported twice"
    );

    let seen = handshake(server.clone(), client, "localhost")
        .await
        .expect("old certificate still served");
    assert_eq!(seen.leaf, old_leaf);

    // Rotation completes: the key arrives and the pair is picked up.
    replace(&files.key, &fs::read(&other.key).expect("read"));
    assert!(resolver.reload().expect("complete pair"));
    let client = client_config_trusting(&other.cert).expect("client");
    let seen = handshake(server, client, "localhost")
        .await
        .expect("new certificate served");
    assert_eq!(seen.leaf, leaf_of(&other.cert));
}

#[test]
fn garbage_replacement_is_refused_and_the_old_pair_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    let resolver = CertResolver::load(&files).expect("load");
    let before = resolver.current();
    replace(&files.cert, b"not a certificate\n");
    let err = resolver.reload().expect_err("no certificate");
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");
    assert!(Arc::ptr_eq(&before, &resolver.current()));
}

#[cfg(unix)]
#[tokio::test]
async fn kubernetes_style_symlink_swap_is_picked_up() {
    use std::os::unix::fs::symlink;
    // The kubelet's Secret volume layout: tls.crt -> ..data/tls.crt, ..data -> ..<ts>/,
    // and an update renames a new ..data symlink over the old one.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let install = |ts: &str| {
        let versioned = root.join(ts);
        fs::create_dir(&versioned).expect("mkdir");
        let pair = write_pair(&versioned, "tls");
        let tmp_link = root.join("..data_tmp");
        symlink(ts, &tmp_link).expect("symlink");
        fs::rename(&tmp_link, root.join("..data")).expect("swap");
        pair
    };
    let first = install("..2024_01");
    symlink("..data/tls.crt", root.join("tls.crt")).expect("symlink");
    symlink("..data/tls.key", root.join("tls.key")).expect("symlink");
    let files = TlsFiles {
        cert: root.join("tls.crt"),
        key: root.join("tls.key"),
    };
    let resolver = CertResolver::load(&files).expect("load");
    assert_eq!(resolver.current().cert[0], leaf_of(&first.cert));

    let second = install("..2024_02");
    assert!(resolver.reload().expect("reload"));
    assert_eq!(resolver.current().cert[0], leaf_of(&second.cert));
}

#[tokio::test]
async fn reloader_task_picks_up_a_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    let resolver = CertResolver::load(&files).expect("load");
    let task = resolver.spawn_reloader(Duration::from_millis(20));
    write_pair(dir.path(), "live");
    let new_leaf = leaf_of(&files.cert);
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while resolver.current().cert[0] != new_leaf {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    task.abort();
    assert!(
        waited.is_ok(),
        "reloader did not pick up the new certificate"
    );
}

#[tokio::test]
async fn reloader_task_ends_when_the_resolver_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    let resolver = CertResolver::load(&files).expect("load");
    let task = resolver.spawn_reloader(Duration::from_millis(10));
    drop(resolver);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("task still running")
        .expect("task failed");
}

#[test]
fn missing_key_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    fs::remove_file(&files.key).expect("remove");
    let err = CertResolver::load(&files).expect_err("no key file");
    assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&*files.key.to_string_lossy()), "{msg}");
}

#[test]
fn pem_without_a_certificate_is_no_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    // A key where the certificate should be: valid PEM, wrong contents.
    fs::copy(&files.key, &files.cert).expect("copy");
    let err = CertResolver::load(&files).expect_err("no certificate");
    assert!(
        matches!(&err, TlsError::NoCertificate { path } if *path == files.cert),
        "{err:?}"
    );
    assert!(err.to_string().contains(&*files.cert.to_string_lossy()));
}

#[test]
fn pem_without_a_key_is_no_private_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    fs::copy(&files.cert, &files.key).expect("copy");
    let err = CertResolver::load(&files).expect_err("no key");
    assert!(
        matches!(&err, TlsError::NoPrivateKey { path } if *path == files.key),
        "{err:?}"
    );
}

#[test]
fn malformed_pem_is_a_pem_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    fs::write(
        &files.cert,
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let err = CertResolver::load(&files).expect_err("bad pem");
    assert!(
        matches!(&err, TlsError::Pem { path, .. } if *path == files.cert),
        "{err:?}"
    );
}

#[test]
fn key_of_another_certificate_is_a_mismatch_naming_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write_pair(dir.path(), "a");
    let b = write_pair(dir.path(), "b");
    let files = TlsFiles {
        cert: a.cert.clone(),
        key: b.key.clone(),
    };
    let err = CertResolver::load(&files).expect_err("mismatch");
    assert!(
        matches!(&err, TlsError::KeyMismatch { cert, key } if *cert == a.cert && *key == b.key),
        "{err:?}"
    );
}

#[test]
fn chain_and_key_in_one_file_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_pair(dir.path(), "live");
    let combined = dir.path().join("combined.pem");
    let mut pem = fs::read(&files.cert).expect("read");
    pem.extend(fs::read(&files.key).expect("read"));
    fs::write(&combined, pem).expect("write");
    let one = TlsFiles {
        cert: combined.clone(),
        key: combined,
    };
    CertResolver::load(&one).expect("combined file");
}

#[test]
fn tls_files_deserialize_and_reject_unknown_fields() {
    let files: TlsFiles = toml::from_str("cert = \"/c.pem\"\nkey = \"/k.pem\"\n").expect("toml");
    assert_eq!(files.cert, PathBuf::from("/c.pem"));
    assert!(toml::from_str::<TlsFiles>("cert = \"/c\"\nkey = \"/k\"\nkye = \"/x\"\n").is_err());
}
