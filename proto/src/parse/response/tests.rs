//! Unit tests of the response parser pieces: framing, `resp-text`, extension skipping and
//! body-structure shapes.

use bytes::{Bytes, BytesMut};

use super::frame::Framer;
use super::*;
use crate::limits::Limits;
use crate::response::ResponseErrorKind;
use crate::types::{BodyStructure, Code, Data, SingleKind};

/// Frames `input` fed in one go; returns each complete response's length and every error.
fn frame_all(input: &[u8], limits: &Limits) -> Vec<Result<Vec<u8>, ResponseErrorKind>> {
    let mut framer = Framer::default();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match framer.next(&mut buf, limits) {
            Ok(None) => break,
            Ok(Some(n)) => out.push(Ok(buf.split_to(n).to_vec())),
            Err(e) => out.push(Err(e.kind)),
        }
    }
    out
}

#[test]
fn framing_follows_literals_only_outside_status_lines() {
    let limits = Limits::default();
    // The literal's data looks like another announcement; it is data all the same.
    let input = b"* 1 FETCH (BODY[] {5}\r\n{2}\r\n)\r\n* OK {4}\r\n+ {1}\nA1 NO {9}\r\n";
    let framed = frame_all(input, &limits);
    assert_eq!(
        framed,
        vec![
            Ok(b"* 1 FETCH (BODY[] {5}\r\n{2}\r\n)\r\n".to_vec()),
            Ok(b"* OK {4}\r\n".to_vec()),
            Ok(b"+ {1}\n".to_vec()),
            Ok(b"A1 NO {9}\r\n".to_vec()),
        ]
    );
}

#[test]
fn framing_waits_for_literal_data_and_the_rest_of_the_line() {
    let limits = Limits::default();
    let mut framer = Framer::default();
    let mut buf = BytesMut::from(&b"* LIST () \"/\" {4}\r\nab"[..]);
    assert_eq!(framer.next(&mut buf, &limits), Ok(None));
    buf.extend_from_slice(b"\r\n");
    assert_eq!(framer.next(&mut buf, &limits), Ok(None));
    buf.extend_from_slice(b"\r\n* 1 EXISTS");
    assert_eq!(framer.next(&mut buf, &limits), Ok(Some(25)));
}

#[test]
fn framing_limits() {
    let limits = Limits {
        max_line: 30,
        max_literal: 10,
        max_literals: 2,
        max_command: 60,
        ..Limits::default()
    };
    let kinds = |input: &[u8]| {
        frame_all(input, &limits)
            .into_iter()
            .map(|r| r.map(|v| v.len()))
            .collect::<Vec<_>>()
    };
    use ResponseErrorKind::*;
    // Too many literals: refused at the third; its data and line are dropped.
    assert_eq!(
        kinds(b"* 1 FETCH ({1}\r\na {1}\r\nb {1}\r\nc)\r\n* 1 EXISTS\r\n"),
        vec![Err(TooBig), Ok(12)]
    );
    // A literal over max_literal.
    assert_eq!(
        kinds(b"* 1 FETCH ({11}\r\n01234567890)\r\n* 1 EXISTS\r\n"),
        vec![Err(TooBig), Ok(12)]
    );
    // A whole response over max_command.
    assert_eq!(
        kinds(b"* 1 FETCH ({10}\r\n0123456789 {10}\r\n0123456789 {10}\r\n0123456789)\r\n"),
        vec![Err(TooBig)]
    );
    // Each line is held to max_line, not the whole response.
    assert_eq!(
        kinds(b"* 1 FETCH (BODY[HEADER] {2}\r\nab BODY[TEXT] {2}\r\ncd)\r\n"),
        vec![Ok(53)]
    );
    assert_eq!(
        kinds(b"* OK 0123456789012345678901234567890123456789\r\n* 1 EXISTS\r\n"),
        vec![Err(LineTooLong), Ok(12)]
    );
    // An over-long line that announces a literal: the literal is dropped too.
    assert_eq!(
        kinds(b"* 1 FETCH (BODY[HEADER.FIELDS (A B C D)] {2}\r\n\r\n)\r\n* 1 EXISTS\r\n"),
        vec![Err(LineTooLong), Ok(12)]
    );
}

fn parse(input: &[u8]) -> PResult<Response> {
    let msg = Bytes::copy_from_slice(input);
    let limits = Limits::default();
    let mut c = Cursor::new(&msg, &limits);
    response(&mut c, NameEncoding::Utf8, false)
}

#[test]
fn resp_text_with_and_without_code() {
    let status = |input: &[u8]| match parse(input) {
        Ok(Response::Status(Status::Untagged { code, text, .. })) => (code, text),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        status(b"* OK [CLOSED]\r\n"),
        (Some(Code::Closed), String::new())
    );
    assert_eq!(
        status(b"* OK [X-A b] [c] d\r\n"),
        (
            Some(Code::Other(
                crate::types::Atom::new("X-A").unwrap(),
                Some("b".into())
            )),
            "[c] d".into()
        )
    );
    // 8-bit text is kept, invalid UTF-8 replaced rather than refused.
    assert_eq!(status(b"* OK caf\xc3\xa9 \xff\n").1, "caf\u{e9} \u{fffd}");
    assert_eq!(
        status(b"* OK [ALERT]x\r\n"),
        (Some(Code::Alert), "x".into())
    );
    // A bracket that is no code is text; a known code that breaks its grammar is kept raw.
    assert_eq!(status(b"* OK [] x\r\n"), (None, "[] x".into()));
    assert_eq!(
        status(b"* OK [UIDNEXT 1 2] x\r\n"),
        (
            Some(Code::Other(
                crate::types::Atom::new("UIDNEXT").unwrap(),
                Some("1 2".into())
            )),
            "x".into()
        )
    );
}

/// RFC 5267's ADDTO, REMOVEFROM and NOUPDATE as the section 4.3 examples write them.
#[test]
fn context_updates_and_noupdate() {
    use crate::types::{Esearch, EsearchItem, SequenceSet};
    let Ok(Response::Data(Data::Esearch(e))) =
        parse(b"* ESEARCH (TAG \"C01\") UID ADDTO (1 2733 1 2732) REMOVEFROM (0 32768)\r\n")
    else {
        panic!()
    };
    assert_eq!(
        e,
        Esearch {
            correlator: Some(crate::types::Tag::new("C01").unwrap()),
            uid: true,
            items: vec![
                EsearchItem::AddTo(vec![
                    (1, SequenceSet::from_numbers([2733])),
                    (1, SequenceSet::from_numbers([2732])),
                ]),
                EsearchItem::RemoveFrom(vec![(0, SequenceSet::from_numbers([32768]))]),
            ],
        }
    );
    assert!(parse(b"* ESEARCH (TAG \"C01\") ADDTO ()\r\n").is_err());
    let Ok(Response::Status(Status::Untagged { code, .. })) =
        parse(b"* NO [NOUPDATE \"B02\"] Too many contexts\r\n")
    else {
        panic!()
    };
    assert_eq!(code, Some(Code::NoUpdate("B02".into())));
}

#[test]
fn unknown_extension_values_are_skipped_whole() {
    let list = parse(b"* LIST () \"/\" x (\"X\" (1 (2 {1}\r\n) \"q\") ~{1}\r\n\0) \"Y\" 1:*)\r\n");
    assert!(matches!(list, Ok(Response::Data(Data::List(l))) if l.extended.is_empty()));
    assert!(parse(b"* LIST () \"/\" x (\"X\" (1 ()\r\n").is_err());
}

#[test]
fn single_part_shape_comes_from_the_data() {
    let body = |input: &str| {
        let wire = format!("* 1 FETCH (BODYSTRUCTURE {input})\r\n");
        match parse(wire.as_bytes()) {
            Ok(Response::Data(Data::Fetch { mut items, .. })) => match items.pop() {
                Some(crate::types::FetchValue::BodyStructure(b)) => *b,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    };
    let kind = |b: BodyStructure| match b {
        BodyStructure::Single { body, .. } => body.kind,
        BodyStructure::Multi { .. } => panic!("multipart"),
    };
    assert_eq!(
        kind(body(r#"("APPLICATION" "X" NIL NIL NIL "8BIT" 5 7)"#)),
        SingleKind::Text { lines: 7 }
    );
    assert_eq!(
        kind(body(r#"("TEXT" "PLAIN" NIL NIL NIL "8BIT" 5 NIL)"#)),
        SingleKind::Basic
    );
    assert_eq!(
        kind(body(r#"("TEXT" "PLAIN" NIL NIL NIL "8BIT" 5)"#)),
        SingleKind::Basic
    );
    match body(
        r#"(("TEXT" "PLAIN" NIL NIL NIL "8BIT" 5 1) ("TEXT" "HTML" NIL NIL NIL "8BIT" 6 1) "ALTERNATIVE")"#,
    ) {
        BodyStructure::Multi { parts, .. } => assert_eq!(parts.len(), 2),
        other => panic!("{other:?}"),
    }
}
