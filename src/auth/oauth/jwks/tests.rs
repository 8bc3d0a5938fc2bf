use super::*;

/// A P-256 public key as a JWK with `kid` (any valid point will do; this is the RFC 7517
/// appendix A.1 example key).
fn ec_jwk(kid: &str) -> serde_json::Value {
    serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid,
        "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"})
}

fn write_set(path: &std::path::Path, keys: &[serde_json::Value]) {
    std::fs::write(path, serde_json::json!({ "keys": keys }).to_string()).unwrap();
}

fn store(path: &std::path::Path, min_refetch: Duration) -> Arc<KeyStore> {
    let source = JwksSource::File(path.to_path_buf());
    KeyStore::new(source, Duration::from_secs(3600), min_refetch)
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_set_but_no_more_often_than_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    write_set(&path, &[ec_jwk("a")]);
    let slow = store(&path, Duration::from_secs(3600));
    let eager = store(&path, Duration::ZERO);
    assert!(slow.key(Some("a")).await.is_ok());
    assert!(eager.key(Some("a")).await.is_ok());
    write_set(&path, &[ec_jwk("b")]);
    // Fetched a moment ago: the rotation is not seen until the interval passes.
    assert_eq!(slow.key(Some("b")).await.err(), Some(KeyError::Unknown));
    assert!(eager.key(Some("b")).await.is_ok());
    assert_eq!(eager.key(Some("a")).await.err(), Some(KeyError::Unknown));
}

#[tokio::test]
async fn a_set_never_read_is_unavailable_and_a_later_failure_keeps_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let keys = store(&path, Duration::ZERO);
    assert!(matches!(
        keys.key(Some("a")).await,
        Err(KeyError::Unavailable(_))
    ));
    write_set(&path, &[ec_jwk("a")]);
    assert!(keys.key(Some("a")).await.is_ok());
    std::fs::write(&path, "not json").unwrap();
    assert_eq!(keys.key(Some("x")).await.err(), Some(KeyError::Unknown));
    assert!(keys.key(Some("a")).await.is_ok());
}

#[test]
fn unusable_keys_are_skipped_and_a_lone_key_serves_tokens_without_kid() {
    let mut encryption = ec_jwk("enc");
    encryption["use"] = "enc".into();
    let hmac = serde_json::json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"});
    let odd = serde_json::json!({"kty": "unknown", "kid": "odd"});
    let set = serde_json::json!({"keys": [ec_jwk("sig"), encryption, hmac, odd]});
    let keys = parse_set(set.to_string().as_bytes()).unwrap();
    assert_eq!(keys.by_kid.keys().collect::<Vec<_>>(), ["sig"]);
    assert!(keys.only.is_some());
    let two = serde_json::json!({"keys": [ec_jwk("a"), ec_jwk("b")]});
    assert!(parse_set(two.to_string().as_bytes())
        .unwrap()
        .only
        .is_none());
    assert!(parse_set(b"{\"keys\": 1}").is_err());
}
