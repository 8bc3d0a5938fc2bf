//! `BODY[section]` for every section form (RFC 9051 section 6.4.5), on the golden messages,
//! and `<partial>`.

use bytes::Bytes;
use roost_proto::{Section, SectionText};

use super::golden::message;
use crate::message::{partial, section, MessageMeta};

fn load(name: &str) -> (Bytes, MessageMeta) {
    let raw = Bytes::from(message(name));
    let meta = MessageMeta::parse(&raw);
    (raw, meta)
}

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

fn get(m: &(Bytes, MessageMeta), part: &[u32], text: Option<SectionText>) -> Option<String> {
    section(&m.0, &m.1, &sec(part, text)).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn names(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn whole_message_header_and_text() {
    let m = load("01-plain");
    let all = get(&m, &[], None).unwrap();
    assert_eq!(all.as_bytes(), &m.0[..]);
    let header = get(&m, &[], Some(SectionText::Header)).unwrap();
    let text = get(&m, &[], Some(SectionText::Text)).unwrap();
    assert!(header.starts_with("Return-Path: <alice@example.org>\r\n"));
    assert!(header.ends_with("Content-Transfer-Encoding: 7bit\r\n\r\n"));
    assert!(text.starts_with("Hi Bob,\r\n"));
    assert_eq!(header.len() + text.len(), m.0.len());
}

#[test]
fn rfc9051_section8_header_is_342_octets() {
    let m = load("12-rfc9051-section8");
    assert_eq!(get(&m, &[], Some(SectionText::Header)).unwrap().len(), 342);
}

#[test]
fn header_fields_in_message_order_with_the_blank_line() {
    let m = load("01-plain");
    let got = get(
        &m,
        &[],
        Some(SectionText::HeaderFields(names(&[
            "SUBJECT", "from", "X-Absent", "received",
        ]))),
    )
    .unwrap();
    assert_eq!(
        got,
        "Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n\
         \tby mx.example.net with ESMTPS id 4F2b; Tue, 12 Mar 2024 09:14:03 +0000\r\n\
         From: Alice Example <alice@example.org>\r\n\
         Subject: Lunch on Thursday?\r\n\r\n"
    );
    let none = get(
        &m,
        &[],
        Some(SectionText::HeaderFields(names(&["X-Nothing"]))),
    )
    .unwrap();
    assert_eq!(none, "\r\n");
}

#[test]
fn header_fields_not() {
    let m = load("08-no-content-type");
    let got = get(
        &m,
        &[],
        Some(SectionText::HeaderFieldsNot(names(&["to", "DATE"]))),
    )
    .unwrap();
    assert_eq!(
        got,
        "From: old-mailer@legacy.example\r\nSubject: plain old mail\r\n\r\n"
    );
}

#[test]
fn header_fields_without_a_blank_line_add_none() {
    let m = load("17-header-only");
    let got = get(
        &m,
        &[],
        Some(SectionText::HeaderFields(names(&["subject"]))),
    )
    .unwrap();
    assert_eq!(got, "Subject: no body and no blank line\r\n");
    assert_eq!(get(&m, &[], Some(SectionText::Text)).unwrap(), "");
    assert_eq!(get(&m, &[1], None).unwrap(), "");
}

#[test]
fn header_fields_keep_bare_lf() {
    let m = load("11-bare-lf");
    let got = get(&m, &[], Some(SectionText::HeaderFields(names(&["to"])))).unwrap();
    assert_eq!(got, "To: rcpt@example.com\n\n");
    assert_eq!(get(&m, &[1], None).unwrap(), "line one\nline two\n");
    assert_eq!(
        get(&m, &[1], Some(SectionText::Mime)).unwrap(),
        "Content-Type: text/plain; charset=us-ascii\n\n"
    );
}

/// The part table of RFC 9051 section 6.4.5, on a message with exactly that shape.
#[test]
fn rfc9051_part_numbering() {
    let m = load("15-rfc9051-parts");
    let body = |p: &[u32]| get(&m, p, None);
    assert_eq!(body(&[1]).unwrap(), "part 1");
    assert_eq!(body(&[2]).unwrap(), "cGFydCAy");
    assert!(body(&[3])
        .unwrap()
        .starts_with("From: inner3@example.com\r\n"));
    assert_eq!(
        get(&m, &[3], Some(SectionText::Header)).unwrap(),
        "From: inner3@example.com\r\nSubject: part 3\r\n\
         Content-Type: MULTIPART/MIXED; boundary=\"L3\"\r\n\r\n"
    );
    assert!(get(&m, &[3], Some(SectionText::Text))
        .unwrap()
        .starts_with("--L3\r\n"));
    assert_eq!(body(&[3, 1]).unwrap(), "part 3.1");
    assert_eq!(body(&[3, 2]).unwrap(), "part 3.2");
    assert!(body(&[4]).unwrap().starts_with("--L4\r\n"));
    assert_eq!(body(&[4, 1]).unwrap(), "R0lGODlh");
    assert_eq!(
        get(&m, &[4, 1], Some(SectionText::Mime)).unwrap(),
        "Content-Type: IMAGE/GIF\r\nContent-Transfer-Encoding: BASE64\r\n\r\n"
    );
    assert_eq!(
        get(
            &m,
            &[4, 2],
            Some(SectionText::HeaderFields(names(&["subject"])))
        )
        .unwrap(),
        "Subject: part 4.2\r\n\r\n"
    );
    assert!(get(&m, &[4, 2], Some(SectionText::Text))
        .unwrap()
        .starts_with("--L42\r\n"));
    assert_eq!(body(&[4, 2, 1]).unwrap(), "part 4.2.1");
    assert_eq!(body(&[4, 2, 2, 1]).unwrap(), "part 4.2.2.1");
    assert_eq!(body(&[4, 2, 2, 2]).unwrap(), "part 4.2.2.2");
    assert_eq!(
        get(&m, &[4, 2, 2, 2], Some(SectionText::Mime)).unwrap(),
        "Content-Type: TEXT/RICHTEXT\r\n\r\n"
    );
}

#[test]
fn nonexistent_parts_and_misplaced_specifiers_are_none() {
    let m = load("15-rfc9051-parts");
    for p in [
        &[0][..],
        &[5],
        &[1, 1],
        &[2, 1],
        &[4, 3],
        &[3, 3],
        &[4, 2, 2, 3],
        &[u32::MAX],
    ] {
        assert_eq!(get(&m, p, None), None, "{p:?}");
    }
    // HEADER and TEXT only after a MESSAGE/RFC822 part; MIME only after a part number.
    assert_eq!(get(&m, &[1], Some(SectionText::Header)), None);
    assert_eq!(get(&m, &[4], Some(SectionText::Text)), None);
    assert_eq!(get(&m, &[], Some(SectionText::Mime)), None);
}

#[test]
fn part_one_of_a_single_part_message_is_its_body() {
    let m = load("01-plain");
    let text = get(&m, &[], Some(SectionText::Text)).unwrap();
    assert_eq!(get(&m, &[1], None).unwrap(), text);
    assert_eq!(get(&m, &[2], None), None);
    assert_eq!(get(&m, &[1, 1], None), None);
    // Its MIME header is the message header.
    assert_eq!(
        get(&m, &[1], Some(SectionText::Mime)),
        get(&m, &[], Some(SectionText::Header))
    );
}

#[test]
fn encapsulated_single_part_message_numbers_its_body_as_part_one() {
    let raw = Bytes::from_static(
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n",
    );
    let m = (raw.clone(), MessageMeta::parse(&raw));
    assert_eq!(
        get(&m, &[1], None).unwrap(),
        "Subject: inner\r\n\r\ninner body\r\n"
    );
    assert_eq!(
        get(&m, &[1], Some(SectionText::Header)).unwrap(),
        "Subject: inner\r\n\r\n"
    );
    assert_eq!(get(&m, &[1, 1], None).unwrap(), "inner body\r\n");
    assert_eq!(get(&m, &[1, 1, 1], None), None);
}

#[test]
fn forwarded_message_sections() {
    let m = load("04-forward");
    assert_eq!(get(&m, &[1], None).unwrap(), "See below.\r\n");
    assert_eq!(
        get(&m, &[2, 1], None).unwrap(),
        "Are we still on for lunch?"
    );
    assert_eq!(
        get(&m, &[2, 2], None).unwrap(),
        "<p>Are we still on for lunch?</p>"
    );
    let sender = get(
        &m,
        &[2],
        Some(SectionText::HeaderFields(names(&["sender"]))),
    );
    assert_eq!(
        sender.unwrap(),
        "Sender: Mailing List <list-bounces@example.org>\r\n\r\n"
    );
}

#[test]
fn metadata_for_other_octets_gives_none_not_a_panic() {
    let (_, meta) = load("04-forward");
    let short = Bytes::from_static(b"Subject: x\r\n\r\n");
    assert_eq!(section(&short, &meta, &sec(&[2, 2], None)), None);
    assert_eq!(
        section(
            &short,
            &meta,
            &sec(&[2], Some(SectionText::HeaderFields(vec![])))
        ),
        None
    );
}

#[test]
fn partial_ranges() {
    let d = Bytes::from_static(b"0123456789");
    assert_eq!(&partial(d.clone(), 0, 4)[..], b"0123");
    assert_eq!(&partial(d.clone(), 8, 100)[..], b"89");
    assert_eq!(&partial(d.clone(), 10, 1)[..], b"");
    assert_eq!(&partial(d.clone(), 11, 1)[..], b"");
    assert_eq!(&partial(d.clone(), 3, 0)[..], b"");
    assert_eq!(&partial(d.clone(), u32::MAX, u32::MAX)[..], b"");
    assert_eq!(&partial(d, 2, u32::MAX)[..], b"23456789");
}
