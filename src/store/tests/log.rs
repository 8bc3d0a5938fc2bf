//! Record framing: round trip, corruption, torn tails, empty files.

use std::fs;

use crate::store::log::{self, LogError};

fn frames(values: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        log::encode(&v.to_string(), &mut out).unwrap();
    }
    out
}

#[test]
fn records_round_trip() {
    let bytes = frames(&["one", "two", "three"]);
    let decoded = log::decode_all::<String>(&bytes, log::MAX_RECORD);
    assert_eq!(decoded.records, ["one", "two", "three"]);
    assert_eq!(decoded.good_len, bytes.len() as u64);
    assert_eq!(decoded.error, None);
}

#[test]
fn empty_and_missing_files_are_empty_logs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.0");
    let (records, cut) = log::read_and_repair::<String>(&path, &|| true).unwrap();
    assert!(records.is_empty() && cut.is_none());
    fs::write(&path, b"").unwrap();
    let (records, cut) = log::read_and_repair::<String>(&path, &|| true).unwrap();
    assert!(records.is_empty() && cut.is_none());
}

#[test]
fn a_damaged_record_mid_file_is_skipped_and_the_records_after_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.0");
    let mut bytes = frames(&["first", "second", "third"]);
    let second = frames(&["first"]).len();
    let second_len = frames(&["second"]).len();
    bytes[second + 9] ^= 0x40; // a payload byte of the second record
    fs::write(&path, &bytes).unwrap();

    let (records, cut) = log::read_and_repair::<String>(&path, &|| true).unwrap();
    assert_eq!(records, ["first", "third"]);
    let cut = cut.expect("reported");
    assert_eq!(
        cut.error,
        LogError::Corrupt {
            offset: second as u64,
            reason: "checksum mismatch"
        }
    );
    assert_eq!(cut.dropped_bytes, second_len as u64);
    assert_eq!(cut.resynced_records, 1);
    // The whole original is kept; the log now holds exactly the good frames.
    assert_eq!(fs::read(cut.kept_at.unwrap()).unwrap(), bytes);
    assert_eq!(fs::read(&path).unwrap(), frames(&["first", "third"]));
    let (again, cut) = log::read_and_repair::<String>(&path, &|| true).unwrap();
    assert_eq!(
        (again, cut),
        (vec!["first".to_string(), "third".into()], None)
    );
}

#[test]
fn a_flipped_length_bit_does_not_hide_the_records_after_it() {
    let whole = frames(&["one", "two", "three", "four"]);
    let at = frames(&["one"]).len();
    for bit in 0..32 {
        let mut bytes = whole.clone();
        bytes[at + bit / 8] ^= 1 << (bit % 8);
        let found = log::decode_resync::<String>(&bytes, log::MAX_RECORD);
        assert_eq!(found.records, ["one", "three", "four"], "bit {bit}");
        assert!(
            matches!(found.first_error, Some(LogError::Corrupt { .. })),
            "bit {bit}: {:?}",
            found.first_error
        );
    }
}

#[test]
fn torn_tail_is_truncated_and_reported_for_every_cut_point() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.0");
    let whole = frames(&["alpha", "beta"]);
    let first = frames(&["alpha"]).len();
    for cut_at in first + 1..whole.len() {
        fs::write(&path, &whole[..cut_at]).unwrap();
        let (records, cut) = log::read_and_repair::<String>(&path, &|| true).unwrap();
        assert_eq!(records, ["alpha"], "cut at {cut_at}");
        let cut = cut.unwrap();
        assert_eq!(
            cut.error,
            LogError::TornTail {
                offset: first as u64
            }
        );
        assert_eq!(cut.dropped_bytes, (cut_at - first) as u64);
        assert!(cut.kept_at.is_none());
        assert_eq!(fs::metadata(&path).unwrap().len(), first as u64);
    }
}

#[test]
fn a_garbled_last_record_is_a_torn_tail() {
    let mut bytes = frames(&["alpha", "beta"]);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let decoded = log::decode_all::<String>(&bytes, log::MAX_RECORD);
    assert_eq!(decoded.records, ["alpha"]);
    assert!(matches!(decoded.error, Some(LogError::TornTail { .. })));
}

#[test]
fn garbage_never_panics_and_a_huge_length_is_corruption() {
    let mut bytes = vec![0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0];
    bytes.extend_from_slice(&[0; 64]);
    let decoded = log::decode_all::<Vec<String>>(&bytes, log::MAX_RECORD);
    assert!(matches!(
        decoded.error,
        Some(LogError::Corrupt { offset: 0, .. })
    ));
    for seed in 0..200u32 {
        let junk: Vec<u8> = (0..seed)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
            .collect();
        let _ = log::decode_all::<Vec<(u32, String)>>(&junk, log::MAX_RECORD);
    }
}

#[test]
fn a_record_with_valid_checksum_but_wrong_shape_is_corruption() {
    let mut bytes = Vec::new();
    log::encode(&(1u8, 2u8, 3u8), &mut bytes).unwrap();
    // Decoding a single u8 leaves trailing bytes.
    let decoded = log::decode_all::<u8>(&bytes, log::MAX_RECORD);
    assert_eq!(
        decoded.error,
        Some(LogError::Corrupt {
            offset: 0,
            reason: "trailing bytes in record"
        })
    );
}
