//! METADATA (RFC 5464) beyond the RFC's own examples: entry-name rules (section 3.2), malformed
//! commands, and commands and responses going through the writer and back through the parser.

use bytes::{Bytes, BytesMut};
use roost_proto::encode::{command_to_vec, response_to_vec, EncodeContext};
use roost_proto::response::{ResponseContext, ResponseDecoder};
use roost_proto::*;

fn decode(wire: &[u8]) -> Result<Command, DecodeError> {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(wire);
    loop {
        match d.decode(&mut buf) {
            Decoded::LiteralAnnounced { .. } => continue,
            Decoded::Command(c) => return Ok(c),
            Decoded::Error(e) => return Err(e),
            Decoded::Incomplete => panic!("incomplete: {:?}", String::from_utf8_lossy(wire)),
        }
    }
}

fn decode_response(wire: &[u8]) -> Response {
    let mut d = ResponseDecoder::new(ResponseContext {
        names: NameEncoding::Utf8,
        limits: Limits::default(),
    });
    let mut buf = BytesMut::from(wire);
    let resp = d.decode(&mut buf).unwrap().expect("complete response");
    assert!(buf.is_empty());
    resp
}

fn entry(name: &str) -> EntryName {
    EntryName::new(name.as_bytes()).unwrap()
}

#[test]
fn entry_names_follow_rfc5464_section_3_2() {
    for good in [
        "/shared/comment",
        "/private/comment",
        "/PRIVATE/Comment",
        "/shared/vendor/deltachat/irohrelay",
        "/private/vendor/vendor.dovecot/pvt/server/x",
        "/private/filters/values/boss",
    ] {
        assert!(EntryName::new(good.as_bytes()).is_ok(), "{good}");
    }
    for (bad, why) in [
        ("", "start"),
        ("comment", "start"),
        ("/comment", "start"),
        ("/public/comment", "start"),
        ("/shared", "two components"),
        ("/shared/", "end with"),
        ("/shared/comment/", "end with"),
        ("/shared//comment", "//"),
        ("/shared/*", "\"*\""),
        ("/shared/a%b", "\"*\""),
        ("/shared/vendor/acme", "vendor"),
        ("/private/vendor", "vendor"),
        ("/shared/caf\u{e9}", "ASCII"),
        ("/shared/a\tb", "ASCII"),
    ] {
        let err = EntryName::new(bad.as_bytes()).unwrap_err();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
    assert!(EntryName::new(format!("/shared/{}", "a".repeat(MAX_ENTRY_NAME)).as_bytes()).is_err());
    assert!(EntryName::new_or_root(b"/shared").is_ok());
    assert!(EntryName::new_or_root(b"/private").is_ok());
    assert_eq!(entry("/PRIVATE/Comment").key(), "/private/comment");
    assert_eq!(entry("/PRIVATE/Comment").scope(), EntryScope::Private);
    assert_eq!(entry("/shared/comment").scope(), EntryScope::Shared);
}

#[test]
fn malformed_metadata_commands_are_refused_with_a_reason() {
    for (wire, why) in [
        (&b"a GETMETADATA \"\" \"/shared/*\"\r\n"[..], "\"*\""),
        (b"a GETMETADATA \"\" comment\r\n", "/private or /shared"),
        (b"a GETMETADATA \"\" (DEPTH 2) /shared/comment\r\n", "DEPTH"),
        (
            b"a GETMETADATA \"\" (COLOUR red) /shared/comment\r\n",
            "unknown GETMETADATA option",
        ),
        (b"a GETMETADATA \"\" ()\r\n", "empty"),
        (b"a GETMETADATA \"\"\r\n", "SP"),
        (b"a SETMETADATA \"\" (/shared/comment)\r\n", "SP"),
        (b"a SETMETADATA \"\" /shared/comment \"x\"\r\n", "("),
        (b"a SETMETADATA \"\" (/shared/comment x)\r\n", "entry value"),
        (b"a SETMETADATA \"\" (/shared//c \"x\")\r\n", "//"),
        (b"a SETMETADATA \"\" (/private \"x\")\r\n", "two components"),
        (
            b"a SETMETADATA INBOX (/shared/vendor/x \"y\")\r\n",
            "vendor",
        ),
    ] {
        let e = decode(wire).unwrap_err();
        assert_eq!(e.tag.as_ref().map(Tag::as_str), Some("a"));
        assert!(
            e.reason.contains(why),
            "{:?}: {}",
            String::from_utf8_lossy(wire),
            e.reason
        );
    }
}

#[test]
fn metadata_commands_survive_the_writer_and_the_parser() {
    let commands = [
        CommandBody::GetMetadata {
            mailbox: MailboxName::from_wire(b"".to_vec()),
            options: MetadataOptions::default(),
            entries: vec![entry("/shared/comment")],
        },
        CommandBody::GetMetadata {
            mailbox: MailboxName::from_wire(b"Lists/rust".to_vec()),
            options: MetadataOptions {
                max_size: Some(0),
                depth: Depth::Infinity,
            },
            entries: vec![
                EntryName::new_or_root(b"/private").unwrap(),
                entry("/shared/comment"),
            ],
        },
        CommandBody::GetMetadata {
            mailbox: MailboxName::from_wire(b"INBOX".to_vec()),
            options: MetadataOptions {
                max_size: None,
                depth: Depth::One,
            },
            entries: vec![entry("/private/a")],
        },
        CommandBody::SetMetadata {
            mailbox: MailboxName::from_wire(b"INBOX".to_vec()),
            entries: vec![
                (entry("/private/comment"), None),
                (entry("/shared/comment"), Some(Bytes::from_static(b""))),
                (
                    entry("/shared/x"),
                    Some(Bytes::from_static(b"two\r\nlines")),
                ),
                (entry("/shared/y"), Some(Bytes::from_static(b"nul\0byte"))),
                (entry("/shared/z"), Some(Bytes::from(vec![b'q'; 5000]))),
            ],
        },
    ];
    for body in commands {
        let cmd = Command {
            tag: Tag::new("t1").unwrap(),
            body,
        };
        let wire = command_to_vec(&cmd);
        assert_eq!(
            decode(&wire).unwrap(),
            cmd,
            "{}",
            String::from_utf8_lossy(&wire)
        );
    }
}

#[test]
fn metadata_responses_survive_the_writer_and_the_decoder() {
    let responses = [
        Response::Data(Data::Metadata {
            mailbox: "".into(),
            entries: MetadataEntries::Values(vec![
                (
                    entry("/shared/comment"),
                    Some(Bytes::from_static(b"a \"quoted\" one")),
                ),
                (entry("/private/x"), Some(Bytes::from_static(b"bin\0ary"))),
                (
                    entry("/private/y"),
                    Some(Bytes::from_static(b"line\r\nbreak")),
                ),
                (entry("/private/z"), None),
            ]),
        }),
        Response::Data(Data::Metadata {
            mailbox: "Sent".into(),
            entries: MetadataEntries::Names(vec![entry("/shared/comment"), entry("/private/a")]),
        }),
        Response::Status(Status::no(
            Tag::new("x").unwrap(),
            Some(Code::Metadata(MetadataCode::MaxSize(65536))),
            "too big",
        )),
        Response::Status(Status::ok(
            Tag::new("x").unwrap(),
            Some(Code::Metadata(MetadataCode::LongEntries(7))),
            "done",
        )),
    ];
    let ctx = EncodeContext {
        names: NameEncoding::Utf8,
        utf8_quoted: true,
    };
    for resp in responses {
        let wire = response_to_vec(&resp, &ctx);
        assert_eq!(
            decode_response(&wire),
            resp,
            "{}",
            String::from_utf8_lossy(&wire)
        );
    }
}
