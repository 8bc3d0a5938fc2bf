//! The client-side response decoder against the RFCs' own examples (RFC 9051 section 7,
//! RFC 7162, RFC 2971, RFC 9208, RFC 5258, RFC 4315, RFC 8474), streaming input, limits and
//! garbage.

use bytes::{Bytes, BytesMut};
use roost_proto::response::{ResponseContext, ResponseDecoder, ResponseError, ResponseErrorKind};
use roost_proto::*;

// --- helpers

fn decoder() -> ResponseDecoder {
    ResponseDecoder::new(ResponseContext {
        names: NameEncoding::Utf8,
        limits: Limits::default(),
    })
}

/// Decodes exactly one response from `input` (CRLF added) and checks nothing is left over.
fn one(input: &str) -> Response {
    one_with(&mut decoder(), format!("{input}\r\n").as_bytes())
}

fn one_with(dec: &mut ResponseDecoder, input: &[u8]) -> Response {
    let mut buf = BytesMut::from(input);
    let resp = dec.decode(&mut buf).unwrap_or_else(|e| panic!("{e}"));
    assert!(buf.is_empty(), "left over: {:?}", buf);
    resp.expect("complete response")
}

fn data(input: &str) -> Data {
    match one(input) {
        Response::Data(d) => d,
        other => panic!("not data: {other:?}"),
    }
}

fn error(input: &[u8]) -> ResponseError {
    let mut buf = BytesMut::from(input);
    match decoder().decode(&mut buf) {
        Err(e) => e,
        other => panic!("expected an error for {input:?}, got {other:?}"),
    }
}

fn atom(s: &str) -> Atom {
    Atom::new(s).unwrap()
}

fn atoms(list: &[&str]) -> Vec<Atom> {
    list.iter().map(|s| atom(s)).collect()
}

fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}

fn b(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

/// A sequence set from its wire form (test inputs only: numbers, `:` and `*`).
fn set(s: &str) -> SequenceSet {
    let bound = |p: &str| match p {
        "*" => SeqBound::Star,
        n => SeqBound::Value(n.parse().unwrap()),
    };
    SequenceSet::Ranges(
        s.split(',')
            .map(|r| match r.split_once(':') {
                Some((a, z)) => SeqRange {
                    start: bound(a),
                    end: bound(z),
                },
                None => SeqRange::single(bound(r)),
            })
            .collect(),
    )
}

fn untagged(kind: StatusKind, code: Option<Code>, text: &str) -> Response {
    Response::Status(Status::untagged(kind, code, text))
}

// --- status responses (RFC 9051 section 7.1)

#[test]
fn status_responses_from_rfc9051_section_7_1() {
    use StatusKind::*;
    assert_eq!(
        one("* OK IMAP4rev2 server ready"),
        untagged(Ok, None, "IMAP4rev2 server ready")
    );
    assert_eq!(
        one("* OK [ALERT] System shutdown in 10 minutes"),
        untagged(Ok, Some(Code::Alert), "System shutdown in 10 minutes")
    );
    assert_eq!(
        one("A001 OK LOGIN completed"),
        Response::Status(Status::ok(tag("A001"), None, "LOGIN completed"))
    );
    assert_eq!(
        one("* NO Disk is 98% full, please delete unnecessary data"),
        untagged(No, None, "Disk is 98% full, please delete unnecessary data")
    );
    assert_eq!(
        one("A223 NO COPY failed: disk is full"),
        Response::Status(Status::no(tag("A223"), None, "COPY failed: disk is full"))
    );
    assert_eq!(
        one("A044 BAD No such command as \"BLURDYBLOOP\""),
        Response::Status(Status::bad(
            tag("A044"),
            None,
            "No such command as \"BLURDYBLOOP\""
        ))
    );
    assert_eq!(
        one("* PREAUTH IMAP4rev2 server logged in as Smith"),
        Response::Status(Status::PreAuth {
            code: None,
            text: "IMAP4rev2 server logged in as Smith".into()
        })
    );
    assert_eq!(
        one("* BYE Autologout; idle for too long"),
        Response::Status(Status::bye(None, "Autologout; idle for too long"))
    );
    assert_eq!(
        one("a002 OK [READ-WRITE] SELECT completed"),
        Response::Status(Status::ok(
            tag("a002"),
            Some(Code::ReadWrite),
            "SELECT completed"
        ))
    );
}

#[test]
fn status_text_loses_exactly_one_separator() {
    assert_eq!(
        one("* OK [UIDVALIDITY 1]"),
        untagged(StatusKind::Ok, Some(Code::UidValidity(1)), "")
    );
    assert_eq!(
        one("* OK [ALERT]  two"),
        untagged(StatusKind::Ok, Some(Code::Alert), " two")
    );
    assert_eq!(one("* OK  two"), untagged(StatusKind::Ok, None, " two"));
    assert_eq!(one("* OK"), untagged(StatusKind::Ok, None, ""));
    // A "[" that never closes is text, not a broken code.
    assert_eq!(
        one("* NO [oops no bracket"),
        untagged(StatusKind::No, None, "[oops no bracket")
    );
}

#[test]
fn status_text_ending_in_braces_is_not_a_literal() {
    let mut buf = BytesMut::from(&b"A1 BAD expected {5}\r\n* 3 EXISTS\r\n"[..]);
    let mut dec = decoder();
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(Response::Status(Status::bad(
            tag("A1"),
            None,
            "expected {5}"
        )))
    );
    assert_eq!(
        dec.decode(&mut buf).unwrap(),
        Some(Response::Data(Data::Exists(3)))
    );
}

#[test]
fn response_codes() {
    let code = |s: &str| match one(&format!("* OK [{s}] x")) {
        Response::Status(Status::Untagged { code, .. }) => code.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code("APPENDUID 38505 3955"),
        Code::AppendUid {
            uid_validity: 38505,
            uids: set("3955")
        }
    );
    assert_eq!(
        code("COPYUID 38505 304,319:320 3956:3958"),
        Code::CopyUid {
            uid_validity: 38505,
            source: set("304,319:320"),
            destination: set("3956:3958")
        }
    );
    assert_eq!(code("UIDNOTSTICKY"), Code::UidNotSticky);
    assert_eq!(
        code("PERMANENTFLAGS (\\Deleted \\Seen \\*)"),
        Code::PermanentFlags(vec![Flag::Deleted, Flag::Seen, Flag::Wildcard])
    );
    assert_eq!(code("PERMANENTFLAGS ()"), Code::PermanentFlags(vec![]));
    assert_eq!(
        code("CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI"),
        Code::Capability(atoms(&["IMAP4rev2", "STARTTLS", "AUTH=GSSAPI"]))
    );
    assert_eq!(code("UIDNEXT 4392"), Code::UidNext(4392));
    assert_eq!(
        code("UIDVALIDITY 3857529045"),
        Code::UidValidity(3857529045)
    );
    assert_eq!(
        code("HIGHESTMODSEQ 715194045007"),
        Code::HighestModSeq(715194045007)
    );
    assert_eq!(code("NOMODSEQ"), Code::NoModSeq);
    assert_eq!(code("MODIFIED 7,9"), Code::Modified(set("7,9")));
    assert_eq!(
        code("MAILBOXID (F2212ea87-6097-4256-9d51-71338625)"),
        Code::MailboxId("F2212ea87-6097-4256-9d51-71338625".into())
    );
    assert_eq!(
        code("BADCHARSET (UTF-8 \"x y\")"),
        Code::BadCharset(vec!["UTF-8".into(), "x y".into()])
    );
    assert_eq!(code("BADCHARSET"), Code::BadCharset(vec![]));
    assert_eq!(code("read-only"), Code::ReadOnly);
    assert_eq!(code("UNKNOWN-CTE"), Code::UnknownCte);
    assert_eq!(code("X-FOO"), Code::Other(atom("X-FOO"), None));
    assert_eq!(
        code("X-FOO some (text) 1"),
        Code::Other(atom("X-FOO"), Some("some (text) 1".into()))
    );
    // Known codes that break their grammar, as two RFC 9051 examples do, are kept raw.
    assert_eq!(
        code("UIDVALIDITY 9877410381"),
        Code::Other(atom("UIDVALIDITY"), Some("9877410381".into()))
    );
    assert_eq!(
        code("BADCHARSET UTF-8"),
        Code::Other(atom("BADCHARSET"), Some("UTF-8".into()))
    );
}

// --- continuation requests

#[test]
fn continuation_text_and_sasl() {
    assert_eq!(
        one("+ Ready for literal data"),
        Response::Continue(Continue::Text {
            code: None,
            text: "Ready for literal data".into()
        })
    );
    assert_eq!(
        one("+ [ALERT] idling"),
        Response::Continue(Continue::Text {
            code: Some(Code::Alert),
            text: "idling".into()
        })
    );
    assert_eq!(
        one("+"),
        Response::Continue(Continue::Text {
            code: None,
            text: String::new()
        })
    );
    let mut dec = decoder();
    dec.expect_sasl(true);
    assert_eq!(
        one_with(&mut dec, b"+ \r\n"),
        Response::Continue(Continue::Base64(vec![]))
    );
    assert_eq!(
        one_with(&mut dec, b"+ YWJj\r\n"),
        Response::Continue(Continue::Base64(b"abc".to_vec()))
    );
    let mut buf = BytesMut::from(&b"+ not base64!\r\n"[..]);
    assert!(dec.decode(&mut buf).is_err());
    dec.expect_sasl(false);
    assert_eq!(
        one_with(&mut dec, b"+ YWJj\r\n"),
        Response::Continue(Continue::Text {
            code: None,
            text: "YWJj".into()
        })
    );
}

// --- untagged data (RFC 9051 sections 7.2 to 7.4 and extensions)

#[test]
fn capability_and_enabled() {
    assert_eq!(
        data("* CAPABILITY IMAP4rev2 ID LITERAL+ X-GOOD-IDEA"),
        Data::Capability(atoms(&["IMAP4rev2", "ID", "LITERAL+", "X-GOOD-IDEA"]))
    );
    assert_eq!(
        data("* ENABLED CONDSTORE QRESYNC"),
        Data::Enabled(atoms(&["CONDSTORE", "QRESYNC"]))
    );
    assert_eq!(data("* ENABLED"), Data::Enabled(vec![]));
    assert_eq!(
        data("* CAPABILITY IMAP4rev2 "),
        Data::Capability(atoms(&["IMAP4rev2"]))
    );
}

fn list(attrs: &[&str], delim: Option<char>, name: &str, ext: Vec<ListExtended>) -> ListData {
    ListData {
        attributes: atoms(attrs),
        delimiter: delim,
        mailbox: name.into(),
        extended: ext,
    }
}

#[test]
fn list_responses_from_rfc9051_and_rfc5258() {
    let cases = [
        (
            r#"* LIST (\Noselect) "/" ~/Mail/foo"#,
            list(&["Noselect"], Some('/'), "~/Mail/foo", vec![]),
        ),
        (
            r#"* LIST (\Marked \NoInferiors) "/" "inbox""#,
            list(&["Marked", "NoInferiors"], Some('/'), "inbox", vec![]),
        ),
        (
            r#"* LIST () "." #news.comp.mail.mime"#,
            list(&[], Some('.'), "#news.comp.mail.mime", vec![]),
        ),
        (
            r#"* LIST (\Noselect) NIL """#,
            list(&["Noselect"], None, "", vec![]),
        ),
        (
            r#"* LIST (\Subscribed \NonExistent) "/" "Fruit/Peach""#,
            list(
                &["Subscribed", "NonExistent"],
                Some('/'),
                "Fruit/Peach",
                vec![],
            ),
        ),
        (
            r#"* LIST () "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))"#,
            list(
                &[],
                Some('/'),
                "Foo",
                vec![ListExtended::ChildInfo(vec!["SUBSCRIBED".into()])],
            ),
        ),
        (
            r#"* LIST () "." "foo" (CHILDINFO ("SUBSCRIBED"))"#,
            list(
                &[],
                Some('.'),
                "foo",
                vec![ListExtended::ChildInfo(vec!["SUBSCRIBED".into()])],
            ),
        ),
        (
            r#"* LIST () "/" "NewMailbox" ("OLDNAME" ("OldMailbox"))"#,
            list(
                &[],
                Some('/'),
                "NewMailbox",
                vec![ListExtended::OldName("OldMailbox".into())],
            ),
        ),
        (
            // RFC 5258 section 5: unknown extended items are skipped.
            r#"* LIST (\Marked) ":" Tables (tablecloth (("edge" "lacy") ("color" "red")) Sample "text")"#,
            list(&["Marked"], Some(':'), "Tables", vec![]),
        ),
        (
            r#"* LIST () "\\" "a\\b""#,
            list(&[], Some('\\'), "a\\b", vec![]),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(data(input), Data::List(expected), "{input}");
    }
    assert_eq!(
        data(r#"* LSUB () "." #news.comp.mail.misc"#),
        Data::Lsub(list(&[], Some('.'), "#news.comp.mail.misc", vec![]))
    );
    // UTF-8 names under IMAP4rev2.
    assert_eq!(
        data("* LIST () \"/\" \"Entw\u{fc}rfe\""),
        Data::List(list(&[], Some('/'), "Entw\u{fc}rfe", vec![]))
    );
    // Attributes must have their backslash.
    assert!(error(b"* LIST (Noselect) \"/\" foo\r\n")
        .reason
        .contains('\\'));
}

#[test]
fn namespace_responses() {
    let ns = |p: &str, d: char| NamespaceDesc {
        prefix: p.into(),
        delimiter: Some(d),
    };
    assert_eq!(
        data(r#"* NAMESPACE (("" "/")) NIL NIL"#),
        Data::Namespace {
            personal: vec![ns("", '/')],
            other: vec![],
            shared: vec![]
        }
    );
    assert_eq!(
        data(
            r##"* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/")("#ftp/" "/")("#news." "."))"##
        ),
        Data::Namespace {
            personal: vec![ns("", '/')],
            other: vec![ns("~", '/')],
            shared: vec![
                ns("#shared/", '/'),
                ns("#public/", '/'),
                ns("#ftp/", '/'),
                ns("#news.", '.')
            ]
        }
    );
    assert_eq!(
        data(r##"* NAMESPACE (("" "/")("#mh/" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL NIL"##),
        Data::Namespace {
            personal: vec![ns("", '/'), ns("#mh/", '/')],
            other: vec![],
            shared: vec![]
        }
    );
}

#[test]
fn status_esearch_search_flags() {
    use StatusItem::*;
    assert_eq!(
        data("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)"),
        Data::Status {
            mailbox: "blurdybloop".into(),
            items: vec![
                StatusValue::Number(Messages, 231),
                StatusValue::Number(UidNext, 44292)
            ]
        }
    );
    assert_eq!(
        data("* STATUS foo (MAILBOXID (F2212ea87-6097-4256-9d51-71338625) HIGHESTMODSEQ 7 DELETED-STORAGE 9)"),
        Data::Status {
            mailbox: "foo".into(),
            items: vec![
                StatusValue::MailboxId("F2212ea87-6097-4256-9d51-71338625".into()),
                StatusValue::Number(HighestModSeq, 7),
                StatusValue::Number(DeletedStorage, 9),
            ]
        }
    );
    let es = |corr: Option<&str>, uid, items| {
        Data::Esearch(Esearch {
            correlator: corr.map(tag),
            uid,
            items,
        })
    };
    use EsearchItem as E;
    assert_eq!(
        data(r#"* ESEARCH (TAG "A282") MIN 2 COUNT 3"#),
        es(Some("A282"), false, vec![E::Min(2), E::Count(3)])
    );
    assert_eq!(
        data(r#"* ESEARCH (TAG "A285") UID MIN 7 MAX 3800"#),
        es(Some("A285"), true, vec![E::Min(7), E::Max(3800)])
    );
    assert_eq!(
        data(r#"* ESEARCH (TAG "A284")"#),
        es(Some("A284"), false, vec![])
    );
    assert_eq!(
        data("* ESEARCH UID COUNT 17 ALL 4:18,21,28"),
        es(None, true, vec![E::Count(17), E::All(set("4:18,21,28"))])
    );
    assert_eq!(
        data(r#"* ESEARCH (TAG "a") ALL 1:3,5 MODSEQ 1236"#),
        es(
            Some("a"),
            false,
            vec![E::All(set("1:3,5")), E::ModSeq(1236)]
        )
    );
    // Unknown return data (here RFC 6203 RELEVANCY) is skipped.
    assert_eq!(
        data(r#"* ESEARCH (TAG "t") RELEVANCY (99 50) COUNT 2"#),
        es(Some("t"), false, vec![E::Count(2)])
    );
    assert_eq!(
        data("* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)"),
        Data::Search {
            ids: vec![2, 5, 6, 7, 11, 12, 18, 19, 20, 23],
            mod_seq: Some(917162500)
        }
    );
    assert_eq!(
        data("* SEARCH"),
        Data::Search {
            ids: vec![],
            mod_seq: None
        }
    );
    assert_eq!(
        data("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)"),
        Data::Flags(vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
            Flag::Keyword(atom("$Forwarded"))
        ])
    );
}

#[test]
fn message_counts_and_vanished() {
    assert_eq!(data("* 23 EXISTS"), Data::Exists(23));
    assert_eq!(data("* 5 RECENT"), Data::Recent(5));
    assert_eq!(data("* 44 EXPUNGE"), Data::Expunge(44));
    assert_eq!(
        data("* VANISHED (EARLIER) 41,43:116,118,120:211,214:540"),
        Data::Vanished {
            earlier: true,
            uids: set("41,43:116,118,120:211,214:540")
        }
    );
    assert_eq!(
        data("* VANISHED 405,407"),
        Data::Vanished {
            earlier: false,
            uids: set("405,407")
        }
    );
}

#[test]
fn id_and_quota() {
    assert_eq!(data("* ID NIL"), Data::Id(None));
    assert_eq!(
        data(
            r#"* ID ("name" "Cyrus" "version" "1.5" "os" "sunos" "os-version" "5.5" "support-url" "mailto:cyrus-bugs+@andrew.cmu.edu" "x" NIL)"#
        ),
        Data::Id(Some(
            [
                ("name", Some("Cyrus")),
                ("version", Some("1.5")),
                ("os", Some("sunos")),
                ("os-version", Some("5.5")),
                ("support-url", Some("mailto:cyrus-bugs+@andrew.cmu.edu")),
                ("x", None),
            ]
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .to_vec()
        ))
    );
    let res = |n: &str, usage, limit| QuotaResource {
        name: atom(n),
        usage,
        limit,
    };
    assert_eq!(
        data(r##"* QUOTA "#user/alice" (STORAGE 54 111 MESSAGE 42 1000)"##),
        Data::Quota {
            root: "#user/alice".into(),
            resources: vec![res("STORAGE", 54, 111), res("MESSAGE", 42, 1000)]
        }
    );
    assert_eq!(
        data(r##"* QUOTAROOT INBOX "#user/alice" "!partition/sda4""##),
        Data::QuotaRoot {
            mailbox: "INBOX".into(),
            roots: vec!["#user/alice".into(), "!partition/sda4".into()]
        }
    );
    assert_eq!(
        data("* QUOTAROOT comp.mail.mime"),
        Data::QuotaRoot {
            mailbox: "comp.mail.mime".into(),
            roots: vec![]
        }
    );
}

#[path = "response_decoder/fetch.rs"]
mod fetch;
#[path = "response_decoder/stream.rs"]
mod stream;

/// The long THREAD examples of RFC 5256 section 3 (one line on the wire) decode, and write
/// back as they were.
#[test]
fn rfc5256_thread_examples_decode_and_write_back() {
    for wire in [
        "* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)\
         (177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)\
         (196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)",
        "* THREAD (166)(167)(168)(169)(172)((170)(179))(171)(173)((174)(175)(176)(178)(181)(180))\
         ((177)(183)(182)(188 (184)(189))(185 186)(187))(190)(191)(192)(193)((194)(195 196))\
         (197 198)(199)(200 202)(201)(203)(204)(205 206 207)(208)",
        "* THREAD (2)(3 6 (4 23)(44 7 96))",
        "* THREAD ((3)(5))",
    ] {
        let resp = one(wire);
        assert!(matches!(resp, Response::Data(Data::Thread(_))), "{wire}");
        let written = roost_proto::encode::response_to_vec(
            &resp,
            &roost_proto::encode::EncodeContext::default(),
        );
        assert_eq!(String::from_utf8_lossy(&written), format!("{wire}\r\n"));
    }
}

/// Thread lists the grammar does not allow are refused: a lone sub-thread, an empty list,
/// a number glued to a sub-thread, a trailing space.
#[test]
fn malformed_thread_lists_are_errors() {
    for wire in [
        "* THREAD ()\r\n",
        "* THREAD (1 (2))\r\n",
        "* THREAD ((2))\r\n",
        "* THREAD (1(2)(3))\r\n",
        "* THREAD (1 )\r\n",
        "* THREAD (0)\r\n",
    ] {
        error(wire.as_bytes());
    }
}

#[test]
fn sort_and_partial_data() {
    assert_eq!(
        data("* SORT 5 3 (MODSEQ 9)"),
        Data::Sort {
            ids: vec![5, 3],
            mod_seq: Some(9)
        }
    );
    assert_eq!(
        data("* ESEARCH (TAG \"A1\") PARTIAL (1:2 NIL)"),
        Data::Esearch(Esearch {
            correlator: Some(tag("A1")),
            uid: false,
            items: vec![EsearchItem::Partial {
                range: PartialRange { first: 1, last: 2 },
                results: None
            }],
        })
    );
}
