//! Golden files: each `testdata/NAME.eml` has its ENVELOPE and BODYSTRUCTURE as the exact
//! FETCH response line a client gets (`NAME.envelope`, `NAME.bodystructure`). A mismatch, or
//! a missing expected file, writes `NAME.<kind>.failed` beside it for review (rename it to
//! accept) and fails the test.

use std::path::{Path, PathBuf};

use roost_proto::encode::{response_to_vec, EncodeContext};
use roost_proto::{Data, FetchValue, Response};

use crate::message::MessageMeta;

pub(super) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/message/testdata")
}

/// The `.eml` files, sorted by name.
pub(super) fn messages() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(testdata())
        .expect("testdata directory")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.strip_suffix(".eml")?.to_owned();
            Some((name, std::fs::read(&p).ok()?))
        })
        .collect();
    v.sort();
    v
}

/// The named message's octets.
pub(super) fn message(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join(format!("{name}.eml"))).expect("golden message")
}

fn fetch_line(item: FetchValue) -> Vec<u8> {
    let resp = Response::Data(Data::Fetch {
        seq: 1,
        items: vec![item],
    });
    response_to_vec(&resp, &EncodeContext::default())
}

/// Compares against `NAME.kind`, writing `NAME.kind.failed` on a difference.
fn check(name: &str, kind: &str, got: &[u8]) -> Option<String> {
    let expected = testdata().join(format!("{name}.{kind}"));
    let failed = testdata().join(format!("{name}.{kind}.failed"));
    match std::fs::read(&expected) {
        Ok(want) if want == got => {
            let _ = std::fs::remove_file(&failed);
            None
        }
        other => {
            std::fs::write(&failed, got).expect("write .failed");
            Some(match other {
                Ok(_) => format!("{name}.{kind} differs (see {})", failed.display()),
                Err(_) => format!("{name}.{kind} missing (see {})", failed.display()),
            })
        }
    }
}

#[test]
fn envelope_and_bodystructure_match_the_golden_files() {
    let msgs = messages();
    assert!(msgs.len() >= 15, "golden messages missing");
    let mut errors = Vec::new();
    for (name, raw) in &msgs {
        let meta = MessageMeta::parse(raw);
        let env = fetch_line(FetchValue::Envelope(Box::new(meta.envelope())));
        let body = fetch_line(FetchValue::BodyStructure(Box::new(meta.body_structure())));
        errors.extend(check(name, "envelope", &env));
        errors.extend(check(name, "bodystructure", &body));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn golden_metadata_survives_a_round_trip() {
    for (name, raw) in messages() {
        let meta = MessageMeta::parse(&raw);
        let back = MessageMeta::from_bytes(&meta.to_bytes()).expect(&name);
        assert_eq!(back, meta, "{name}");
    }
}

#[test]
fn rfc9051_section8_example_is_reproduced() {
    let meta = MessageMeta::parse(&message("12-rfc9051-section8"));
    let body = fetch_line(FetchValue::Body(Box::new(meta.body_structure())));
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "* 1 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"
    );
}
