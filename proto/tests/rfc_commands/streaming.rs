//! Streaming behaviour of the decoder: literals, limits, discarding, garbage.

use bytes::BytesMut;
use roost_proto::decode::{IdleLine, NonSyncLiterals, SaslLine};
use roost_proto::*;

fn tag(s: &str) -> Option<Tag> {
    Some(Tag::new(s).unwrap())
}

fn expect_command(d: &mut CommandDecoder, buf: &mut BytesMut) -> Command {
    match d.decode(buf) {
        Decoded::Command(c) => c,
        other => panic!("expected a command, got {other:?}"),
    }
}

fn expect_error(d: &mut CommandDecoder, buf: &mut BytesMut) -> DecodeError {
    match d.decode(buf) {
        Decoded::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn sync_literal_is_announced_once_then_waits_for_data() {
    // RFC 9051 section 4.3: the client waits for "+" before sending the literal.
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"A001 LOGIN {11}\r\n"[..]);
    match d.decode(&mut buf) {
        Decoded::LiteralAnnounced { tag: t, length, .. } => {
            assert_eq!((t, length), (tag("A001"), 11));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
    buf.extend_from_slice(b"FRED FOOBAR {7}\r\n");
    assert!(matches!(
        d.decode(&mut buf),
        Decoded::LiteralAnnounced { length: 7, .. }
    ));
    buf.extend_from_slice(b"fat man\r\n");
    let c = expect_command(&mut d, &mut buf);
    assert_eq!(
        c.body,
        CommandBody::Login {
            username: b"FRED FOOBAR".to_vec(),
            password: Secret::new(b"fat man".to_vec()),
        }
    );
    assert!(buf.is_empty());
}

#[test]
fn literal_plus_needs_no_round_trip() {
    // RFC 7888 section 3.
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf =
        BytesMut::from(&b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\nA002 NOOP\r\n"[..]);
    assert!(matches!(
        expect_command(&mut d, &mut buf).body,
        CommandBody::Login { .. }
    ));
    assert_eq!(expect_command(&mut d, &mut buf).body, CommandBody::Noop);
}

#[test]
fn oversized_sync_literal_is_refused_before_its_data() {
    let limits = Limits {
        max_literal: 1000,
        ..Limits::default()
    };
    let mut d = CommandDecoder::new(limits);
    let mut buf = BytesMut::from(&b"A1 APPEND INBOX {1001}\r\nA2 NOOP\r\n"[..]);
    let e = expect_error(&mut d, &mut buf);
    assert_eq!(e.tag, tag("A1"));
    assert_eq!(e.kind, DecodeErrorKind::LiteralTooBig { length: 1001 });
    // The client sends nothing for a refused literal; the next line is a new command.
    assert_eq!(expect_command(&mut d, &mut buf).body, CommandBody::Noop);
}

#[test]
fn four_gigabyte_non_sync_literal_is_discarded_in_bounded_memory() {
    let mut d = CommandDecoder::new(Limits::default());
    let len: u64 = 4 * 1024 * 1024 * 1024;
    let mut buf = BytesMut::from(format!("A1 APPEND INBOX {{{len}+}}\r\n").as_bytes());
    let e = expect_error(&mut d, &mut buf);
    assert_eq!(e.kind, DecodeErrorKind::LiteralTooBig { length: len });
    let chunk = vec![b'x'; 1 << 20];
    let mut sent = 0u64;
    while sent < len {
        let n = (len - sent).min(chunk.len() as u64) as usize;
        buf.extend_from_slice(&chunk[..n]);
        sent += n as u64;
        assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
        assert!(buf.is_empty(), "discarded data must not stay buffered");
    }
    // The rest of the APPEND line after the literal, then the next command.
    buf.extend_from_slice(b" (\\Seen) {3+}\r\nabc\r\nA2 NOOP\r\n");
    let c = expect_command(&mut d, &mut buf);
    assert_eq!(
        (c.tag, c.body),
        (Tag::new("A2").unwrap(), CommandBody::Noop)
    );
}

#[test]
fn megabyte_line_is_refused_and_the_next_command_decodes() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"A1 SEARCH TEXT "[..]);
    for _ in 0..16 {
        buf.extend_from_slice(&[b'a'; 65536]);
        assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
        assert!(buf.len() <= 65536 + 2, "a long line must not be buffered");
    }
    buf.extend_from_slice(b"\r\nA2 NOOP\r\n");
    let e = expect_error(&mut d, &mut buf);
    assert_eq!((e.tag, e.kind), (tag("A1"), DecodeErrorKind::LineTooLong));
    assert_eq!(expect_command(&mut d, &mut buf).body, CommandBody::Noop);
}

#[test]
fn literal_minus_limits_non_sync_literals() {
    // RFC 7888 section 4: with LITERAL- only, {N+} above 4096 is refused.
    let mut d = CommandDecoder::new(Limits::default());
    d.set_non_sync_literals(NonSyncLiterals::LiteralMinus);
    let mut wire = b"A1 APPEND INBOX {4097+}\r\n".to_vec();
    wire.extend_from_slice(&[b'x'; 4097]);
    wire.extend_from_slice(b"\r\nA2 APPEND INBOX {4096+}\r\n");
    wire.extend_from_slice(&[b'y'; 4096]);
    wire.extend_from_slice(b"\r\n");
    let mut buf = BytesMut::from(&wire[..]);
    let e = expect_error(&mut d, &mut buf);
    assert_eq!(e.kind, DecodeErrorKind::LiteralTooBig { length: 4097 });
    let c = expect_command(&mut d, &mut buf);
    assert_eq!(c.tag, Tag::new("A2").unwrap());
}

#[test]
fn garbage_gives_errors_not_panics() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(
        &b"\x00\xff\xfe garbage\r\n* BAD\r\n+ x\r\nA1\r\nA1 \r\nA1 FROB\r\nA1 NOOP extra\r\nA2 NOOP\r\n"[..],
    );
    let mut errors = Vec::new();
    loop {
        match d.decode(&mut buf) {
            Decoded::Error(e) => errors.push(e),
            Decoded::Command(c) => {
                assert_eq!(c.tag, Tag::new("A2").unwrap());
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(errors.len(), 7);
    assert_eq!(errors[0].tag, None);
    assert_eq!(errors[5].tag, tag("A1"));
    assert_eq!(errors[5].reason, "unknown command");
    assert_eq!(errors[6].reason, "unexpected characters after command");
}

#[test]
fn deep_nesting_is_refused() {
    let mut d = CommandDecoder::new(Limits::default());
    let depth = 10_000;
    let mut wire = b"A1 SEARCH ".to_vec();
    wire.extend(std::iter::repeat_n(b'(', depth));
    wire.extend_from_slice(b"ALL");
    wire.extend(std::iter::repeat_n(b')', depth));
    wire.extend_from_slice(b"\r\nA2 SEARCH ");
    wire.extend(std::iter::repeat_n(&b"NOT "[..], depth).flatten());
    wire.extend_from_slice(b"ALL\r\n");
    let mut buf = BytesMut::from(&wire[..]);
    let e = expect_error(&mut d, &mut buf);
    assert_eq!((e.tag, e.kind), (tag("A1"), DecodeErrorKind::TooComplex));
    let e = expect_error(&mut d, &mut buf);
    assert_eq!((e.tag, e.kind), (tag("A2"), DecodeErrorKind::TooComplex));
}

#[test]
fn empty_lines_and_bare_lf_are_accepted() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"\r\n\r\n\nA1 NOOP\n\r\nA2 LOGIN {3}\nabc def\n"[..]);
    assert_eq!(expect_command(&mut d, &mut buf).body, CommandBody::Noop);
    assert!(matches!(
        d.decode(&mut buf),
        Decoded::LiteralAnnounced { length: 3, .. }
    ));
    assert_eq!(
        expect_command(&mut d, &mut buf).body,
        CommandBody::Login {
            username: b"abc".to_vec(),
            password: Secret::new(b"def".to_vec())
        }
    );
}

#[test]
fn done_and_next_command_in_one_buffer() {
    // iOS 18 sends DONE and the next command in one packet (clients.md section 4).
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"A1 IDLE\r\n"[..]);
    assert_eq!(expect_command(&mut d, &mut buf).body, CommandBody::Idle);
    buf.extend_from_slice(b"DONE\r\nA2 UID FETCH 1:* (FLAGS)\r\n");
    assert_eq!(d.decode_idle_line(&mut buf), IdleLine::Done);
    let c = expect_command(&mut d, &mut buf);
    assert_eq!(c.tag, Tag::new("A2").unwrap());
    assert!(matches!(c.body, CommandBody::Fetch { uid: true, .. }));
}

#[test]
fn authenticate_exchange() {
    // RFC 9051 section 6.2.2: AUTHENTICATE PLAIN, "+", base64 line.
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"A01 AUTHENTICATE PLAIN\r\ndGVzdAB0ZXN0AHRlc3Q=\r\n"[..]);
    assert!(matches!(
        expect_command(&mut d, &mut buf).body,
        CommandBody::Authenticate { .. }
    ));
    assert_eq!(
        d.decode_sasl_line(&mut buf),
        SaslLine::Response(Secret::new(b"test\0test\0test".to_vec()))
    );
    buf.extend_from_slice(b"*\r\n");
    assert_eq!(d.decode_sasl_line(&mut buf), SaslLine::Cancel);
}

#[test]
fn literal8_append_and_multiappend() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(
        &b"A1 APPEND Drafts (\\Draft) ~{3+}\r\na\0b (\\Seen) \"01-Jan-2020 10:00:00 +0000\" UTF8 (~{2+}\r\nhi)\r\n"[..],
    );
    let c = expect_command(&mut d, &mut buf);
    let CommandBody::Append { mailbox, messages } = c.body else {
        panic!()
    };
    assert_eq!(mailbox.as_bytes(), b"Drafts");
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (&messages[0].data[..], messages[0].binary),
        (&b"a\0b"[..], true)
    );
    assert_eq!(messages[0].flags, vec![Flag::Draft]);
    assert!(messages[1].utf8);
    assert_eq!(&messages[1].data[..], b"hi");
    assert_eq!(messages[1].date.unwrap().date.year, 2020);
}

#[test]
fn error_keeps_the_tag() {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf =
        BytesMut::from(&b"x17 SELECT\r\nx18 FETCH 1 (FLAGS\r\nx19 STATUS INBOX ()\r\n"[..]);
    for t in ["x17", "x18", "x19"] {
        let e = expect_error(&mut d, &mut buf);
        assert_eq!(e.tag, tag(t));
        assert_eq!(e.kind, DecodeErrorKind::Syntax);
        assert!(!e.reason.is_empty());
    }
}

#[test]
fn sequence_set_ranges_are_limited() {
    let limits = Limits {
        max_set_ranges: 10,
        ..Limits::default()
    };
    let mut d = CommandDecoder::new(limits);
    let mut buf = BytesMut::from(&b"A1 FETCH 1,2,3,4,5,6,7,8,9,10,11 FLAGS\r\n"[..]);
    assert_eq!(
        expect_error(&mut d, &mut buf).kind,
        DecodeErrorKind::TooComplex
    );
}
