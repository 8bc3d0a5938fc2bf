//! Fragmenter unit tests: framing, limits and discarding (RFC 9051 section 4.3, RFC 7888).

use bytes::BytesMut;

use crate::decode::{
    CommandDecoder, DecodeErrorKind, Decoded, IdleLine, NonSyncLiterals, SaslLine,
};
use crate::limits::Limits;
use crate::types::{CommandBody, Tag};

fn small() -> Limits {
    Limits {
        max_line: 100,
        max_literal: 50,
        max_literal_minus: 10,
        max_command: 200,
        max_literals: 2,
        ..Limits::default()
    }
}

fn body(d: Decoded) -> CommandBody {
    match d {
        Decoded::Command(c) => c.body,
        other => panic!("expected a command, got {other:?}"),
    }
}

fn err_kind(d: Decoded) -> (Option<Tag>, DecodeErrorKind) {
    match d {
        Decoded::Error(e) => (e.tag, e.kind),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn tag(s: &str) -> Option<Tag> {
    Some(Tag::new(s).unwrap())
}

#[test]
fn tag_of_reads_the_leading_tag() {
    use super::tag_of;
    assert_eq!(tag_of(b"a1 NOOP"), tag("a1"));
    assert_eq!(tag_of(b"  a1 NOOP"), tag("a1"));
    assert_eq!(tag_of(b"a1"), tag("a1"));
    assert_eq!(tag_of(b"a(1 NOOP"), None);
    assert_eq!(tag_of(b"+ x"), None);
    assert_eq!(tag_of(b""), None);
}

#[test]
fn commands_are_split_and_blank_lines_skipped() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"\r\n\n  \r\na NOOP\r\nb CAPABILITY\nc"[..]);
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Capability);
    assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
    assert_eq!(&buf[..], b"c");
}

#[test]
fn non_sync_literal_over_literal_minus_is_discarded() {
    let mut d = CommandDecoder::new(small());
    d.set_non_sync_literals(NonSyncLiterals::LiteralMinus);
    let mut buf = BytesMut::from(&b"a LOGIN {11+}\r\nhello world {3+}\r\nabc\r\nb NOOP\r\n"[..]);
    assert_eq!(
        err_kind(d.decode(&mut buf)),
        (tag("a"), DecodeErrorKind::LiteralTooBig { length: 11 })
    );
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
    assert!(buf.is_empty());
}

#[test]
fn too_many_literals() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(&b"a X {1+}\r\n1 {1+}\r\n2 {1+}\r\n3\r\nb NOOP\r\n"[..]);
    assert_eq!(
        err_kind(d.decode(&mut buf)),
        (tag("a"), DecodeErrorKind::TooComplex)
    );
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
}

#[test]
fn command_total_is_limited() {
    let mut d = CommandDecoder::new(small());
    let line = format!("a LOGIN {{50+}}\r\n{} {{50+}}\r\n", "x".repeat(50));
    let mut buf = BytesMut::from(line.as_bytes());
    // Both literals are within max_literal; together with the lines they break max_command.
    let mut more = format!(
        "{} {{50+}}\r\n{}\r\nb NOOP\r\n",
        "y".repeat(50),
        "z".repeat(50)
    );
    more.insert_str(0, "");
    buf.extend_from_slice(more.as_bytes());
    let (t, kind) = err_kind(d.decode(&mut buf));
    assert_eq!(t, tag("a"));
    assert!(matches!(
        kind,
        DecodeErrorKind::TooComplex | DecodeErrorKind::LiteralTooBig { .. }
    ));
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
}

#[test]
fn announced_literal_names_its_command() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(&b"a1 login alice {13}\r\n"[..]);
    match d.decode(&mut buf) {
        Decoded::LiteralAnnounced {
            tag,
            command,
            length: 13,
        } => {
            assert_eq!(tag.unwrap().as_str(), "a1");
            assert_eq!(command.unwrap().as_str(), "login");
        }
        other => panic!("{other:?}"),
    }
    let mut buf = BytesMut::from(&b"a1 {13}\r\n"[..]);
    let mut d = CommandDecoder::new(small());
    assert!(matches!(
        d.decode(&mut buf),
        Decoded::LiteralAnnounced { command: None, .. }
    ));
}

#[test]
fn refused_sync_literal_drops_the_command() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(&b"a APPEND x {5}\r\n"[..]);
    assert!(matches!(
        d.decode(&mut buf),
        Decoded::LiteralAnnounced { length: 5, .. }
    ));
    d.refuse_literal();
    buf.extend_from_slice(b"b NOOP\r\n");
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
    assert!(buf.is_empty());
}

#[test]
fn literal_without_tag_is_refused_before_the_continuation() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(&b"(bad {5}\r\nb NOOP\r\n"[..]);
    assert_eq!(
        err_kind(d.decode(&mut buf)),
        (None, DecodeErrorKind::Syntax)
    );
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
}

#[test]
fn long_line_ending_in_non_sync_literal_discards_it() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(
        format!("a LOGIN {} {{4+}}\r\nNOOP\r\nb NOOP\r\n", "x".repeat(200)).as_bytes(),
    );
    assert_eq!(
        err_kind(d.decode(&mut buf)),
        (tag("a"), DecodeErrorKind::LineTooLong)
    );
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
    assert!(buf.is_empty());
}

#[test]
fn long_line_split_across_reads_ending_in_literal() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(format!("a LOGIN {}", "x".repeat(150)).as_bytes());
    assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
    assert!(buf.is_empty());
    buf.extend_from_slice(b"yyy {4+}\r");
    // The error comes once the line has ended.
    assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
    buf.extend_from_slice(b"\nNOOP\r\nb NOOP\r\n");
    assert_eq!(
        err_kind(d.decode(&mut buf)),
        (tag("a"), DecodeErrorKind::LineTooLong)
    );
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
}

#[test]
fn sasl_lines() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(&b"AGZvbwBiYXI=\r\n*\r\n\r\n!!\r\nAGZvbwBiYXI"[..]);
    assert_eq!(
        d.decode_sasl_line(&mut buf),
        SaslLine::Response(crate::types::Secret::new(b"\0foo\0bar".to_vec()))
    );
    assert_eq!(d.decode_sasl_line(&mut buf), SaslLine::Cancel);
    assert_eq!(
        d.decode_sasl_line(&mut buf),
        SaslLine::Response(crate::types::Secret::new(Vec::new()))
    );
    assert!(matches!(d.decode_sasl_line(&mut buf), SaslLine::Bad(_)));
    assert_eq!(d.decode_sasl_line(&mut buf), SaslLine::Incomplete);
    buf.extend_from_slice(b"\n");
    assert_eq!(
        d.decode_sasl_line(&mut buf),
        SaslLine::Response(crate::types::Secret::new(b"\0foo\0bar".to_vec()))
    );
}

#[test]
fn idle_done_leaves_the_next_command() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from(&b"\r\ndone\r\na NOOP\r\n"[..]);
    assert_eq!(d.decode_idle_line(&mut buf), IdleLine::Done);
    assert_eq!(&buf[..], b"a NOOP\r\n");
    let mut buf = BytesMut::from(&b"DON"[..]);
    assert_eq!(d.decode_idle_line(&mut buf), IdleLine::Incomplete);
    let mut buf = BytesMut::from(&b"a NOOP\r\n"[..]);
    assert!(matches!(d.decode_idle_line(&mut buf), IdleLine::Bad(_)));
    assert!(buf.is_empty());
}

#[test]
fn overlong_idle_line_is_bad_and_its_rest_discarded() {
    let mut d = CommandDecoder::new(small());
    let mut buf = BytesMut::from("x".repeat(150).as_bytes());
    assert!(matches!(d.decode_idle_line(&mut buf), IdleLine::Bad(_)));
    buf.extend_from_slice(b"xxx\r\na NOOP\r\n");
    assert_eq!(body(d.decode(&mut buf)), CommandBody::Noop);
}
