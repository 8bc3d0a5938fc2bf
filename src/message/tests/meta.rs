//! The `.meta` encoding (round trip, rejection of anything else) and robustness of parsing and
//! section extraction on arbitrary bytes.

use bytes::Bytes;
use proptest::prelude::*;
use roost_proto::{Section, SectionText};

use super::golden::messages;
use crate::message::{
    binary, binary_size, search, section, Candidate, MessageMeta, MetaError, SearchEnv,
};
use crate::store::{BlobId, FlagSet, MessageEntry};

#[test]
fn to_bytes_starts_with_the_version_and_round_trips() {
    let meta = MessageMeta::parse(b"Subject: x\r\n\r\nbody\r\n");
    let bytes = meta.to_bytes();
    assert_eq!(bytes[0], 3);
    assert_eq!(meta.preview(), "body");
    assert_eq!(MessageMeta::from_bytes(&bytes), Ok(meta));
}

/// Version 2 files: version 3 without the checksum.
fn version_2(meta: &MessageMeta) -> Vec<u8> {
    let mut v2 = meta.to_bytes();
    v2[0] = 2;
    v2.truncate(v2.len() - 4);
    v2
}

#[test]
fn version_2_files_still_load() {
    let meta = MessageMeta::parse(b"Subject: x\r\n\r\nbody\r\n");
    assert_eq!(MessageMeta::from_bytes(&version_2(&meta)), Ok(meta));
}

/// Version 1 files (before PREVIEW was kept) still load, with an empty preview.
#[test]
fn version_1_files_still_load() {
    let meta = MessageMeta::parse(b"Subject: x\r\n\r\nbody\r\n");
    let mut v1 = version_2(&meta);
    v1[0] = 1;
    // Version 2 appends the preview (`Some("body")`: tag 1, length 4, the text).
    v1.truncate(v1.len() - 6);
    let loaded = MessageMeta::from_bytes(&v1).unwrap();
    assert_eq!(loaded.envelope(), meta.envelope());
    assert_eq!(loaded.preview(), "");
}

#[test]
fn from_bytes_rejects_garbage() {
    let good = MessageMeta::parse(b"Subject: x\r\n\r\nbody\r\n").to_bytes();
    let corrupt = |b: &[u8]| matches!(MessageMeta::from_bytes(b), Err(MetaError::Corrupt(_)));
    assert!(corrupt(b""));
    assert!(corrupt(b"\x01"));
    assert!(corrupt(b"\x04whatever"), "unknown version");
    assert!(corrupt(b"\x00"));
    assert!(corrupt(&good[..good.len() - 1]), "truncated");
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(corrupt(&trailing), "trailing bytes");
    let mut flipped = good.clone();
    flipped[3] ^= 0x10;
    assert!(corrupt(&flipped), "a flipped bit");
    let mut zeroed = good.clone();
    zeroed[1..].fill(0);
    assert!(
        corrupt(&zeroed),
        "zeroes where a crash left unwritten blocks"
    );
    let mut other_version = good;
    other_version[0] = 4;
    assert!(corrupt(&other_version));
}

/// Every section form a client can ask for, on paths up to three deep.
fn all_sections() -> Vec<Section> {
    let texts = [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields(vec![
            b"subject".to_vec(),
            b"x".to_vec(),
        ])),
        Some(SectionText::HeaderFieldsNot(vec![b"from".to_vec()])),
    ];
    let mut paths: Vec<Vec<u32>> = vec![vec![]];
    for a in 0..4 {
        paths.push(vec![a]);
        for b in 1..3 {
            paths.push(vec![a, b]);
            paths.push(vec![a, b, 1]);
        }
    }
    paths
        .iter()
        .flat_map(|p| {
            texts.iter().map(|t| Section {
                part: p.clone(),
                text: t.clone(),
            })
        })
        .collect()
}

fn exercise(raw: &[u8]) {
    let raw = Bytes::copy_from_slice(raw);
    let meta = MessageMeta::parse(&raw);
    let _ = meta.envelope();
    let _ = meta.body_structure();
    assert_eq!(
        MessageMeta::from_bytes(&meta.to_bytes()).as_ref(),
        Ok(&meta)
    );
    for sec in all_sections() {
        if let Some(data) = section(&raw, &meta, &sec) {
            assert!(data.len() <= raw.len() + 2);
        }
        let _ = binary(&raw, &meta, &sec.part);
        let _ = binary_size(&raw, &meta, &sec.part);
    }
    search_content(&raw, &meta);
}

/// Runs every content key over the message.
fn search_content(raw: &Bytes, meta: &MessageMeta) {
    use roost_proto::{Date, SearchKey as K};
    let entry = MessageEntry {
        uid: 1,
        mod_seq: 1,
        flags: FlagSet(0),
        internal_date: 0,
        size: raw.len() as u32,
        blob: BlobId(1),
        saved: 0,
    };
    let load = |_: BlobId| Ok((raw.clone(), meta.clone()));
    let env = SearchEnv {
        keywords: &[],
        largest_seq: 1,
        largest_uid: 1,
        saved: None,
        charset: None,
        load: &load,
    };
    let d = Date::new(2000, 1, 1).unwrap();
    let keys = [
        K::Body(b"a".to_vec()),
        K::Text(b"\xc3".to_vec()),
        K::Header(b"subject".to_vec(), Vec::new()),
        K::From(b"b".to_vec()),
        K::SentOn(d),
    ];
    let cands = [Candidate {
        seq: 1,
        entry: &entry,
        recent: false,
    }];
    for k in keys {
        assert!(search(&[k], &cands, &env).is_ok());
    }
}

#[test]
fn golden_messages_cut_anywhere_never_panic() {
    for (_, raw) in messages() {
        for cut in 0..raw.len().min(2000) {
            exercise(&raw[..cut]);
        }
    }
}

/// Bytes biased towards MIME structure, so the fuzzing reaches multipart and message parts.
fn mime_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"Content-Type: multipart/mixed; boundary=b\r\n".to_vec()),
        Just(b"Content-Type: message/rfc822\r\n".to_vec()),
        Just(b"Content-Type: multipart/digest; boundary=\"b\"\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: quoted-printable\r\n".to_vec()),
        Just(b"From: \"a\" <b@c>, g: d@e;\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"--b\r\n".to_vec()),
        Just(b"--b--\r\n".to_vec()),
        Just(b" folded\r\n".to_vec()),
        Just(b"=?utf-8?q?x=C3?=".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    ];
    proptest::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parse_and_section_never_panic_on_arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&raw);
    }

    #[test]
    fn parse_and_section_never_panic_on_mime_like_bytes(raw in mime_ish()) {
        exercise(&raw);
    }

    #[test]
    fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = MessageMeta::from_bytes(&bytes);
    }
}
