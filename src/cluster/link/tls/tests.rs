//! Mutual TLS on node links over real loopback TCP: who gets in, who does not, and rotation.
//!
//! Refusals are checked where they matter: the service never sees a request from a refused
//! connection (its calls are counted), however far the client got.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::*;
use crate::cluster::link::codec::{self, Frame};
use crate::cluster::link::test_pki::{NodeFiles, TestCa};
use crate::cluster::link::tests::{ask, closed_by_server, start_with, Server};
use crate::cluster::link::{LinkClient, LinkError, LinkSecurity, LocalNode};

const LOOPBACK: &str = "127.0.0.1";

fn config(files: &NodeFiles) -> LinkTlsConfig {
    LinkTlsConfig {
        cert: files.cert.clone(),
        key: files.key.clone(),
        ca: files.ca.clone(),
        reload_interval_secs: 30,
    }
}

/// Node `node`'s TLS, its certificate valid for its id and the loopback address it is
/// dialed at, signed by `ca`; files under `dir/<node>/`.
fn node_tls(ca: &TestCa, dir: &Path, node: &str) -> Arc<LinkTls> {
    let files = write_node(ca, dir, node, &[node, LOOPBACK]);
    LinkTls::load(&config(&files), node, "127.0.0.1:7143").expect("node TLS loads")
}

fn write_node(ca: &TestCa, dir: &Path, node: &str, names: &[&str]) -> NodeFiles {
    let dir = dir.join(node);
    std::fs::create_dir_all(&dir).unwrap();
    ca.write_node(&dir, "node", names)
}

async fn tls_server(ca: &TestCa, dir: &Path, node: &str) -> Server {
    let tls = node_tls(ca, dir, node);
    start_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        LinkSecurity::Tls(tls),
    )
    .await
}

fn tls_client(tls: Arc<LinkTls>, node: &str, server: &Server) -> LinkClient {
    let local = LocalNode::new(node.to_owned(), LinkSecurity::Tls(tls));
    LinkClient::new(local, server.address.to_string())
}

/// A hand-built client trusting `ca_pem`, presenting `identity` (certificate and key PEM)
/// if given: what an attacker, or a misconfigured node, would run.
fn raw_connector(ca_pem: &str, identity: Option<&(String, String)>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(crate::net::tls::provider())
        .with_protocol_versions(VERSIONS)
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    };
    TlsConnector::from(Arc::new(config))
}

/// Connects with `connector`, says `Hello` as `node` and sends a request at once. True when
/// the server refused: the handshake failed, or the connection was closed without an answer.
async fn refused(server: &Server, connector: &TlsConnector, node: &str) -> bool {
    let tcp = TcpStream::connect(server.address).await.unwrap();
    let name = ServerName::try_from(LOOPBACK).unwrap();
    // TLS 1.3: the client's handshake completes before the server has judged its certificate,
    // so a refusal may show only on the first read.
    let Ok(mut stream) = connector.connect(name, tcp).await else {
        return true;
    };
    let hello = Frame::Hello { node: node.into() };
    let request = Frame::Request {
        id: 1,
        payload: b"hello".to_vec(),
    };
    for frame in [hello, request] {
        if codec::write_frame(&mut stream, &frame).await.is_err() {
            return true;
        }
    }
    closed_by_server(&mut stream).await
}

#[tokio::test]
async fn nodes_with_certificates_for_their_ids_talk() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    let server = tls_server(&ca, dir.path(), "node-a").await;
    let client = tls_client(node_tls(&ca, dir.path(), "node-b"), "node-b", &server);
    assert_eq!(ask(&client, "hello").await.unwrap(), "1:hello");
    assert_eq!(ask(&client, "again").await.unwrap(), "1:again");
    assert_eq!(server.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    let server = tls_server(&ca, dir.path(), "node-a").await;
    assert!(refused(&server, &raw_connector(&ca.pem(), None), "node-b").await);
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_client_whose_certificate_another_ca_signed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    let server = tls_server(&ca, dir.path(), "node-a").await;
    let stranger = TestCa::new("someone else's CA").node(&["node-b", LOOPBACK]);
    let connector = raw_connector(&ca.pem(), Some(&stranger));
    assert!(refused(&server, &connector, "node-b").await);
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_node_claiming_another_nodes_id_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    let server = tls_server(&ca, dir.path(), "node-a").await;
    // A valid chain from the cluster CA, but for node-b.
    let node_b = ca.node(&["node-b", LOOPBACK]);
    let connector = raw_connector(&ca.pem(), Some(&node_b));
    assert!(refused(&server, &connector, "node-c").await);
    assert!(refused(&server, &connector, "node-a").await);
    assert!(refused(&server, &connector, "127.0.0.1").await);
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
    // The same certificate with its own id is served: it was the name that was refused.
    assert!(!refused(&server, &connector, "node-b").await);
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_plaintext_hello_to_a_tls_listener_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    let server = tls_server(&ca, dir.path(), "node-a").await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let hello = Frame::Hello {
        node: "node-b".into(),
    };
    codec::write_frame(&mut stream, &hello).await.unwrap();
    let request = Frame::Request {
        id: 1,
        payload: vec![],
    };
    let _ = codec::write_frame(&mut stream, &request).await;
    // The server answers with a TLS alert at most, then closes.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the connection stayed open");
    assert!(
        codec::decode(rest.get(4..).unwrap_or_default()).is_err(),
        "{rest:?}"
    );
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_client_refuses_a_listener_not_named_for_the_address_it_dialed() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    // node-a's certificate names only `node-a`, but it is dialed at 127.0.0.1.
    let files = write_node(&ca, dir.path(), "node-a", &["node-a"]);
    let tls = LinkTls::load(&config(&files), "node-a", "node-a:7143").unwrap();
    let server = start_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        LinkSecurity::Tls(tls),
    )
    .await;
    let client = tls_client(node_tls(&ca, dir.path(), "node-b"), "node-b", &server);
    let err = ask(&client, "hello").await.unwrap_err();
    assert!(
        matches!(&err, LinkError::Unreachable(m) if m.contains("not valid for name")),
        "{err}"
    );
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_client_refuses_a_listener_another_ca_signed() {
    let dir = tempfile::tempdir().unwrap();
    let server = tls_server(&TestCa::new("impostor CA"), dir.path(), "node-a").await;
    let ca = TestCa::new("cluster CA");
    let client = tls_client(node_tls(&ca, dir.path(), "node-b"), "node-b", &server);
    let err = ask(&client, "hello").await.unwrap_err();
    assert!(matches!(&err, LinkError::Unreachable(_)), "{err}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_request_to_a_listener_that_refuses_our_certificate_fails() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    let server = tls_server(&ca, dir.path(), "node-a").await;
    // node-b trusts the cluster CA too, but its own certificate comes from another CA: its
    // side of the handshake completes, the listener's refusal comes with the first read.
    let other = TestCa::new("other CA");
    let files = write_node(&other, dir.path(), "node-b", &["node-b", LOOPBACK]);
    std::fs::write(&files.ca, format!("{}{}", other.pem(), ca.pem())).unwrap();
    let tls = LinkTls::load(&config(&files), "node-b", "127.0.0.1:7143").unwrap();
    let client = tls_client(tls, "node-b", &server);
    assert!(ask(&client, "hello").await.is_err());
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn rotated_files_are_used_by_new_connections_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let old_ca = TestCa::new("old cluster CA");
    let server_files = write_node(&old_ca, dir.path(), "node-a", &["node-a", LOOPBACK]);
    let server_tls = LinkTls::load(&config(&server_files), "node-a", "127.0.0.1:7143").unwrap();
    let server = start_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        LinkSecurity::Tls(server_tls.clone()),
    )
    .await;
    // The cluster moves to a new CA; node-b already has its new certificate.
    let new_ca = TestCa::new("new cluster CA");
    let client = tls_client(node_tls(&new_ca, dir.path(), "node-b"), "node-b", &server);
    assert!(ask(&client, "before").await.is_err());
    assert!(!server_tls.reload().unwrap(), "nothing changed yet");

    // A certificate the cluster would refuse (wrong name) is not swapped in.
    let wrong = new_ca.write_node(&dir.path().join("node-a"), "node", &["node-z", LOOPBACK]);
    assert_eq!(wrong.cert, server_files.cert);
    let err = server_tls.reload().unwrap_err();
    assert!(err.to_string().contains("node-a"), "{err}");
    assert!(ask(&client, "still old").await.is_err());

    new_ca.write_node(&dir.path().join("node-a"), "node", &["node-a", LOOPBACK]);
    assert!(server_tls.reload().unwrap());
    assert!(ask(&client, "after").await.unwrap().ends_with(":after"));
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_certificate_the_cluster_would_refuse_is_reported_at_load_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster CA");
    let load = |files: &NodeFiles, node: &str, advertised: &str| {
        LinkTls::load(&config(files), node, advertised)
            .unwrap_err()
            .to_string()
    };

    let files = write_node(&ca, dir.path(), "a", &["node-b", LOOPBACK]);
    let err = load(&files, "node-a", "127.0.0.1:7143");
    assert!(err.contains("client for node node-a"), "{err}");
    assert!(err.contains(&files.cert.display().to_string()), "{err}");

    let files = write_node(&ca, dir.path(), "b", &["node-a"]);
    let err = load(&files, "node-a", "10.1.2.3:7143");
    assert!(err.contains("listener for 10.1.2.3"), "{err}");

    // Signed by a CA other than the one in the CA file.
    let files = write_node(&TestCa::new("other"), dir.path(), "c", &["node-a"]);
    std::fs::write(&files.ca, ca.pem()).unwrap();
    let err = load(&files, "node-a", "node-a:7143");
    assert!(err.contains("UnknownIssuer"), "{err}");

    let files = write_node(&ca, dir.path(), "d", &["node-a"]);
    let err = load(&files, "node_a", "node-a:7143");
    assert!(err.contains("DNS name"), "{err}");

    std::fs::remove_file(&files.key).unwrap();
    let err = load(&files, "node-a", "node-a:7143");
    assert!(err.contains(&files.key.display().to_string()), "{err}");

    let files = write_node(&ca, dir.path(), "e", &["node-a"]);
    std::fs::write(&files.ca, "not a certificate").unwrap();
    let err = load(&files, "node-a", "node-a:7143");
    assert!(err.contains(&files.ca.display().to_string()), "{err}");
}

#[test]
fn link_tls_tables_parse_with_a_default_reload_interval_and_refuse_unknown_keys() {
    let parsed: LinkTlsConfig =
        toml::from_str("cert = \"/c.pem\"\nkey = \"/k.pem\"\nca = \"/ca.pem\"\n").unwrap();
    assert_eq!(parsed.reload_interval_secs, 30);
    assert!(toml::from_str::<LinkTlsConfig>("cert = \"/c\"\nkey = \"/k\"\n").is_err());
    assert!(toml::from_str::<LinkTlsConfig>(
        "cert = \"/c\"\nkey = \"/k\"\nca = \"/ca\"\ncrt = \"/x\"\n"
    )
    .is_err());
}
