//! `BINARY[part]` and `BINARY.SIZE[part]` on the golden messages.

use bytes::Bytes;

use super::golden::message;
use crate::message::{binary, binary_size, BinaryError, MessageMeta};

fn load(name: &str) -> (Bytes, MessageMeta) {
    let raw = Bytes::from(message(name));
    let meta = MessageMeta::parse(&raw);
    (raw, meta)
}

fn check(m: &(Bytes, MessageMeta), part: &[u32], want: &[u8]) {
    let got = binary(&m.0, &m.1, part).unwrap();
    assert_eq!(&got[..], want, "{part:?}");
    assert_eq!(binary_size(&m.0, &m.1, part).unwrap() as usize, want.len());
}

#[test]
fn base64_attachment_is_decoded() {
    let m = load("03-mixed-attachment");
    check(
        &m,
        &[2],
        b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n1 0 obj\n<</Type/Catalog>>\nendobj\ntrailer\n%%EOF\n",
    );
    check(&m, &[1], b"Please find invoice 2024-0042 attached.\r\n");
}

#[test]
fn quoted_printable_is_decoded() {
    let m = load("05-quoted-printable");
    let got = binary(&m.0, &m.1, &[1]).unwrap();
    let want = b"Hallo Anna,\r\n\r\nsch\xf6ne Gr\xfc\xdfe aus K\xf6ln. Das Wetter ist gro\xdfartig und die Stra\xdfenbahn f\xe4hrt wieder.\r\n\r\nJ\xf6rg\r\n";
    assert_eq!(&got[..], &want[..]);
    assert_eq!(binary_size(&m.0, &m.1, &[1]).unwrap() as usize, want.len());
    let m = load("02-alternative");
    check(
        &m,
        &[2],
        "<html><body><p>Spring sale: <b>20% off</b> everything – this week only.</p></body></html>\r\n"
            .as_bytes(),
    );
}

#[test]
fn seven_and_eight_bit_are_as_stored() {
    check(&load("10-8bit-headers"), &[1], "Grüße!\r\n".as_bytes());
    check(&load("15-rfc9051-parts"), &[3, 2], b"part 3.2");
    check(&load("15-rfc9051-parts"), &[4, 1], b"GIF89a");
}

#[test]
fn base64_text_in_a_single_part_message() {
    check(
        &load("06-encoded-words"),
        &[1],
        "明日の会議は午前10時からです。\nThe meeting is at 10 a.m. tomorrow.\n".as_bytes(),
    );
}

#[test]
fn truncated_base64_decodes_what_is_there() {
    let m = load("09-truncated");
    check(&m, &[3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

#[test]
fn unknown_cte_and_missing_parts_are_errors() {
    let m = load("14-malformed");
    assert_eq!(
        binary(&m.0, &m.1, &[1]),
        Err(BinaryError::UnknownCte("x-uuencode".into()))
    );
    assert_eq!(
        binary_size(&m.0, &m.1, &[1]),
        Err(BinaryError::UnknownCte("x-uuencode".into()))
    );
    assert_eq!(binary(&m.0, &m.1, &[9]), Err(BinaryError::NoSuchPart));
    assert_eq!(binary_size(&m.0, &m.1, &[0]), Err(BinaryError::NoSuchPart));
}

#[test]
fn empty_part_path_is_the_whole_message() {
    let m = load("01-plain");
    check(&m, &[], &m.0.clone());
}
