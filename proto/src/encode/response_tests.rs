//! Unit tests of the response writer for what the RFC examples do not show: extension data,
//! literals, name encodings, sanitising and zero-copy output.

use bytes::Bytes;

use super::{response_to_vec, write_response, EncodeContext, Output};
use crate::types::*;

fn rev1() -> EncodeContext {
    EncodeContext::default()
}

fn rev2() -> EncodeContext {
    EncodeContext {
        names: NameEncoding::Utf8,
        utf8_quoted: true,
    }
}

fn wire(resp: Response, ctx: EncodeContext) -> String {
    String::from_utf8(response_to_vec(&resp, &ctx)).unwrap()
}

fn fetch(items: Vec<FetchValue>) -> Response {
    Response::Data(Data::Fetch { seq: 1, items })
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn text_part(subtype: &str, octets: u32, lines: u32) -> SinglePart {
    SinglePart {
        media_type: b("TEXT"),
        subtype: b(subtype),
        params: vec![(b("CHARSET"), b("UTF-8"))],
        id: None,
        description: None,
        encoding: b("QUOTED-PRINTABLE"),
        octets,
        kind: SingleKind::Text { lines },
    }
}

fn single(part: SinglePart, extension: SinglePartExtension) -> BodyStructure {
    BodyStructure::Single {
        body: part,
        extension,
    }
}

#[test]
fn bodystructure_writes_every_extension_slot_as_nil_when_empty() {
    let body = single(text_part("PLAIN", 10, 1), SinglePartExtension::default());
    assert_eq!(
        wire(
            fetch(vec![FetchValue::BodyStructure(Box::new(body.clone()))]),
            rev1()
        ),
        "* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \
         \"QUOTED-PRINTABLE\" 10 1 NIL NIL NIL NIL))\r\n"
    );
    assert_eq!(
        wire(fetch(vec![FetchValue::Body(Box::new(body))]), rev1()),
        "* 1 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \
         \"QUOTED-PRINTABLE\" 10 1))\r\n"
    );
}

#[test]
fn multipart_with_disposition_language_and_location() {
    let attachment = SinglePart {
        media_type: b("APPLICATION"),
        subtype: b("PDF"),
        params: vec![(b("NAME"), b("a b.pdf"))],
        id: Some(b("<id@x>")),
        description: Some(b("report")),
        encoding: b("BASE64"),
        octets: 4000,
        kind: SingleKind::Basic,
    };
    let ext = SinglePartExtension {
        md5: Some(b("Q2hlY2s=")),
        disposition: Some(Disposition {
            kind: b("attachment"),
            params: vec![(b("FILENAME"), b("a b.pdf"))],
        }),
        language: vec![b("en"), b("de")],
        location: Some(b("http://x/a.pdf")),
    };
    let multi = BodyStructure::Multi {
        parts: vec![
            single(text_part("HTML", 20, 2), SinglePartExtension::default()),
            single(attachment, ext),
        ],
        subtype: b("MIXED"),
        extension: MultiPartExtension {
            params: vec![(b("BOUNDARY"), b("xyz"))],
            disposition: None,
            language: vec![b("en")],
            location: None,
        },
    };
    assert_eq!(
        wire(fetch(vec![FetchValue::BodyStructure(Box::new(multi.clone()))]), rev1()),
        "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") NIL NIL \
         \"QUOTED-PRINTABLE\" 20 2 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a b.pdf\") \
         \"<id@x>\" \"report\" \"BASE64\" 4000 \"Q2hlY2s=\" (\"attachment\" (\"FILENAME\" \"a b.pdf\")) \
         (\"en\" \"de\") \"http://x/a.pdf\") \"MIXED\" (\"BOUNDARY\" \"xyz\") NIL \"en\" NIL))\r\n"
    );
    assert_eq!(
        wire(fetch(vec![FetchValue::Body(Box::new(multi))]), rev1()),
        "* 1 FETCH (BODY ((\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") NIL NIL \"QUOTED-PRINTABLE\" 20 2)\
         (\"APPLICATION\" \"PDF\" (\"NAME\" \"a b.pdf\") \"<id@x>\" \"report\" \"BASE64\" 4000) \
         \"MIXED\"))\r\n"
    );
}

#[test]
fn message_rfc822_nests_envelope_and_body() {
    let inner = single(text_part("PLAIN", 5, 1), SinglePartExtension::default());
    let msg = SinglePart {
        media_type: b("MESSAGE"),
        subtype: b("RFC822"),
        params: vec![],
        id: None,
        description: None,
        encoding: b("7BIT"),
        octets: 100,
        kind: SingleKind::Message {
            envelope: Box::new(Envelope {
                subject: Some(b("hi")),
                ..Envelope::default()
            }),
            body: Box::new(inner),
            lines: 7,
        },
    };
    let body = single(msg, SinglePartExtension::default());
    assert_eq!(
        wire(fetch(vec![FetchValue::Body(Box::new(body))]), rev1()),
        "* 1 FETCH (BODY (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 \
         (NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL) \
         (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"QUOTED-PRINTABLE\" 5 1) 7))\r\n"
    );
}

#[test]
fn envelope_groups_and_8bit_subjects() {
    let group_start = Address {
        mailbox: Some(b("undisclosed")),
        ..Address::default()
    };
    let member = Address {
        name: Some(b("A \"Q\" B")),
        mailbox: Some(b("a")),
        host: Some(b("x.org")),
        ..Address::default()
    };
    let env = Envelope {
        subject: Some(b("Grüße")),
        to: vec![group_start, member, Address::default()],
        ..Envelope::default()
    };
    let resp = || fetch(vec![FetchValue::Envelope(Box::new(env.clone()))]);
    assert_eq!(
        wire(resp(), rev1()),
        "* 1 FETCH (ENVELOPE (NIL {7}\r\nGrüße NIL NIL NIL \
         ((NIL NIL \"undisclosed\" NIL)(\"A \\\"Q\\\" B\" NIL \"a\" \"x.org\")(NIL NIL NIL NIL)) \
         NIL NIL NIL NIL))\r\n"
    );
    assert!(wire(resp(), rev2()).contains("(NIL \"Grüße\" NIL"));
}

#[test]
fn body_sections_echo_the_request() {
    let section = Section {
        part: vec![1, 2],
        text: Some(SectionText::HeaderFields(vec![
            b("date"),
            b("X-K9mail-Identity"),
        ])),
    };
    let resp = fetch(vec![FetchValue::BodySection {
        section,
        origin: Some(10),
        data: Some(Bytes::from_static(b"Date: x\r\n")),
    }]);
    assert_eq!(
        wire(resp, rev1()),
        "* 1 FETCH (BODY[1.2.HEADER.FIELDS (date X-K9mail-Identity)]<10> {9}\r\nDate: x\r\n)\r\n"
    );
    let other = |text, part: Vec<u32>| {
        wire(
            fetch(vec![FetchValue::BodySection {
                section: Section { part, text },
                origin: None,
                data: None,
            }]),
            rev1(),
        )
    };
    assert_eq!(other(None, vec![]), "* 1 FETCH (BODY[] NIL)\r\n");
    assert_eq!(
        other(Some(SectionText::Mime), vec![3]),
        "* 1 FETCH (BODY[3.MIME] NIL)\r\n"
    );
    assert_eq!(
        other(Some(SectionText::Text), vec![]),
        "* 1 FETCH (BODY[TEXT] NIL)\r\n"
    );
    assert_eq!(
        other(Some(SectionText::HeaderFieldsNot(vec![b("a b")])), vec![]),
        "* 1 FETCH (BODY[HEADER.FIELDS.NOT (\"a b\")] NIL)\r\n"
    );
    // Message data is a literal even when it could be quoted.
    let small = fetch(vec![FetchValue::Rfc822Text(Some(Bytes::from_static(
        b"hi",
    )))]);
    assert_eq!(wire(small, rev1()), "* 1 FETCH (RFC822.TEXT {2}\r\nhi)\r\n");
}

#[test]
fn binary_uses_literal8_only_for_nul() {
    let bin = |data: Option<&'static [u8]>| {
        wire(
            fetch(vec![FetchValue::Binary {
                part: vec![2],
                origin: None,
                data: data.map(Bytes::from_static),
            }]),
            rev1(),
        )
    };
    assert_eq!(bin(Some(b"a\0b")), "* 1 FETCH (BINARY[2] ~{3}\r\na\0b)\r\n");
    assert_eq!(bin(Some(b"ab")), "* 1 FETCH (BINARY[2] {2}\r\nab)\r\n");
    assert_eq!(bin(None), "* 1 FETCH (BINARY[2] NIL)\r\n");
    let size = fetch(vec![FetchValue::BinarySize {
        part: vec![],
        size: 7,
    }]);
    assert_eq!(wire(size, rev1()), "* 1 FETCH (BINARY.SIZE[] 7)\r\n");
}

#[test]
fn object_ids_modseq_and_dates() {
    let date = DateTime::new(Date::new(2024, 3, 5).unwrap(), 9, 8, 7, 60).unwrap();
    let resp = fetch(vec![
        FetchValue::ModSeq(5),
        FetchValue::EmailId("M1".into()),
        FetchValue::ThreadId(None),
        FetchValue::InternalDate(date),
        FetchValue::Rfc822(None),
        FetchValue::Rfc822Header(Some(Bytes::from_static(b"\r\n"))),
    ]);
    assert_eq!(
        wire(resp, rev1()),
        "* 1 FETCH (MODSEQ (5) EMAILID (M1) THREADID NIL INTERNALDATE \" 5-Mar-2024 09:08:07 +0100\" \
         RFC822 NIL RFC822.HEADER {2}\r\n\r\n)\r\n"
    );
}

#[test]
fn large_message_data_is_not_copied() {
    let body = Bytes::from(vec![b'x'; 4096]);
    let mut out = Output::new();
    let resp = fetch(vec![FetchValue::Rfc822(Some(body.clone()))]);
    write_response(&resp, &rev1(), &mut out);
    let chunks = out.into_chunks();
    assert_eq!(chunks.len(), 3);
    assert_eq!(&chunks[0][..], b"* 1 FETCH (RFC822 {4096}\r\n");
    assert_eq!(chunks[1].as_ptr(), body.as_ptr(), "body chunk is shared");
    assert_eq!(&chunks[2][..], b")\r\n");
}

#[test]
fn mailbox_names_follow_the_connection_encoding() {
    let list = |name: &str| {
        Response::Data(Data::List(ListData {
            attributes: vec![Atom::new("HasNoChildren").unwrap()],
            delimiter: Some('/'),
            mailbox: name.into(),
            extended: vec![],
        }))
    };
    assert_eq!(
        wire(list("台北/日本語"), rev1()),
        "* LIST (\\HasNoChildren) \"/\" &U,BTFw-/&ZeVnLIqe-\r\n"
    );
    assert_eq!(
        wire(list("台北/日本語"), rev2()),
        "* LIST (\\HasNoChildren) \"/\" \"台北/日本語\"\r\n"
    );
    assert_eq!(
        wire(list("a b"), rev1()),
        "* LIST (\\HasNoChildren) \"/\" \"a b\"\r\n"
    );
    assert_eq!(
        wire(list("NIL"), rev1()),
        "* LIST (\\HasNoChildren) \"/\" \"NIL\"\r\n"
    );
    let lsub = Response::Data(Data::Lsub(ListData {
        attributes: vec![],
        delimiter: None,
        mailbox: "Tom & Jerry".into(),
        extended: vec![],
    }));
    assert_eq!(wire(lsub, rev1()), "* LSUB () NIL \"Tom &- Jerry\"\r\n");
    let ns = Response::Data(Data::Namespace {
        personal: vec![NamespaceDesc {
            prefix: "Boîte/".into(),
            delimiter: Some('/'),
        }],
        other: vec![],
        shared: vec![],
    });
    assert_eq!(
        wire(ns, rev1()),
        "* NAMESPACE ((\"Bo&AO4-te/\" \"/\")) NIL NIL\r\n"
    );
}

#[test]
fn response_text_cannot_break_the_line() {
    let st = Response::Status(Status::no(
        Tag::new("A1").unwrap(),
        Some(Code::Other(
            Atom::new("X-INFO").unwrap(),
            Some("a]b\r\n".into()),
        )),
        "bad\r\n* OK injected",
    ));
    assert_eq!(
        wire(st, rev1()),
        "A1 NO [X-INFO a b  ] bad  * OK injected\r\n"
    );
    let bye = Response::Status(Status::bye(None, ""));
    assert_eq!(wire(bye, rev1()), "* BYE Logging out\r\n");
    let pre = Response::Status(Status::PreAuth {
        code: None,
        text: "café".into(),
    });
    assert_eq!(wire(pre.clone(), rev1()), "* PREAUTH caf?\r\n");
    assert_eq!(wire(pre, rev2()), "* PREAUTH café\r\n");
}

#[test]
fn codes_with_arguments() {
    let code = |c: Code| {
        wire(
            Response::Status(Status::untagged(StatusKind::Ok, Some(c), "x")),
            rev1(),
        )
    };
    assert_eq!(
        code(Code::BadCharset(vec!["UTF-8".into(), "US ASCII".into()])),
        "* OK [BADCHARSET (UTF-8 \"US ASCII\")] x\r\n"
    );
    assert_eq!(code(Code::BadCharset(vec![])), "* OK [BADCHARSET] x\r\n");
    assert_eq!(
        code(Code::PermanentFlags(vec![
            Flag::Keyword(Atom::new("$Junk").unwrap()),
            Flag::Wildcard
        ])),
        "* OK [PERMANENTFLAGS ($Junk \\*)] x\r\n"
    );
    assert_eq!(code(Code::UnknownCte), "* OK [UNKNOWN-CTE] x\r\n");
    assert_eq!(
        code(Code::CompressionActive),
        "* OK [COMPRESSIONACTIVE] x\r\n"
    );
    assert_eq!(code(Code::TooBig), "* OK [TOOBIG] x\r\n");
    assert_eq!(
        code(Code::NoUpdate("B02".into())),
        "* OK [NOUPDATE \"B02\"] x\r\n"
    );
}

#[test]
fn continuations() {
    let c = |c: Continue| wire(Response::Continue(c), rev1());
    assert_eq!(c(Continue::Base64(vec![])), "+ \r\n");
    assert_eq!(c(Continue::Base64(b"hi".to_vec())), "+ aGk=\r\n");
    assert_eq!(
        c(Continue::Text {
            code: None,
            text: String::new()
        }),
        "+ \r\n"
    );
    assert_eq!(
        c(Continue::Text {
            code: Some(Code::Alert),
            text: "go".into()
        }),
        "+ [ALERT] go\r\n"
    );
}

#[test]
fn savedate_is_a_date_time_or_nil() {
    let dt = crate::types::DateTime::from_unix_timestamp(1_420_134_653);
    assert_eq!(
        wire(fetch(vec![FetchValue::SaveDate(Some(dt))]), rev2()),
        "* 1 FETCH (SAVEDATE \" 1-Jan-2015 17:50:53 +0000\")\r\n"
    );
    assert_eq!(
        wire(fetch(vec![FetchValue::SaveDate(None)]), rev2()),
        "* 1 FETCH (SAVEDATE NIL)\r\n"
    );
}

#[test]
fn id_quota_search_and_counts() {
    let d = |d: Data| wire(Response::Data(d), rev1());
    assert_eq!(d(Data::Id(Some(vec![]))), "* ID NIL\r\n");
    assert_eq!(
        d(Data::Id(Some(vec![("name".into(), None)]))),
        "* ID (\"name\" NIL)\r\n"
    );
    assert_eq!(
        d(Data::Search {
            ids: vec![],
            mod_seq: None
        }),
        "* SEARCH\r\n"
    );
    assert_eq!(d(Data::Recent(3)), "* 3 RECENT\r\n");
    assert_eq!(
        d(Data::Status {
            mailbox: "INBOX".into(),
            items: vec![
                StatusValue::Number(StatusItem::HighestModSeq, 9),
                StatusValue::Number(StatusItem::Size, 1 << 40),
            ],
        }),
        "* STATUS INBOX (HIGHESTMODSEQ 9 SIZE 1099511627776)\r\n"
    );
    assert_eq!(
        d(Data::Esearch(Esearch {
            correlator: None,
            uid: false,
            items: vec![EsearchItem::All(SequenceSet::from_numbers([1, 2, 3, 7]))],
        })),
        "* ESEARCH ALL 1:3,7\r\n"
    );
    // RFC 5267 section 4.3.3's and 4.3.1's forms.
    assert_eq!(
        d(Data::Esearch(Esearch {
            correlator: Some(crate::types::Tag::new("C01").unwrap()),
            uid: true,
            items: vec![
                EsearchItem::RemoveFrom(vec![(0, SequenceSet::from_numbers([32768]))]),
                EsearchItem::AddTo(vec![
                    (1, SequenceSet::from_numbers([2731, 2732, 2733])),
                    (5, SequenceSet::from_numbers([9])),
                ]),
            ],
        })),
        "* ESEARCH (TAG \"C01\") UID REMOVEFROM (0 32768) ADDTO (1 2731:2733 5 9)\r\n"
    );
}

/// Regression: an object id that reads `NIL` was quoted (`EMAILID ("NIL")`), but
/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")` (RFC 8474 section 7) has no quoted form.
#[test]
fn object_ids_are_never_quoted() {
    assert_eq!(
        wire(
            fetch(vec![
                FetchValue::EmailId("NIL".into()),
                FetchValue::ThreadId(Some("nil".into())),
            ]),
            rev1()
        ),
        "* 1 FETCH (EMAILID (NIL) THREADID (nil))\r\n"
    );
    assert_eq!(
        wire(
            Response::Status(Status::ok(
                Tag::new("a").unwrap(),
                Some(Code::MailboxId("NIL".into())),
                "Created"
            )),
            rev1()
        ),
        "a OK [MAILBOXID (NIL)] Created\r\n"
    );
}

#[test]
fn streamed_bodies_leave_holes_of_their_length_after_the_literal_header() {
    let response = fetch(vec![
        FetchValue::Uid(7),
        FetchValue::Streamed {
            item: StreamedItem::Body {
                section: Section {
                    part: vec![2],
                    text: None,
                },
                origin: Some(10),
            },
            len: 5,
        },
        FetchValue::Streamed {
            item: StreamedItem::Rfc822,
            len: 3,
        },
    ]);
    let mut out = Output::new();
    write_response(&response, &rev2(), &mut out);
    assert_eq!(
        out.len(),
        "* 1 FETCH (UID 7 BODY[2]<10> {5}\r\n RFC822 {3}\r\n)\r\n".len()
    );
    let parts = out.into_parts();
    assert_eq!(
        parts,
        vec![
            super::Part::Data(Bytes::from_static(b"* 1 FETCH (UID 7 BODY[2]<10> {5}\r\n")),
            super::Part::Hole(5),
            super::Part::Data(Bytes::from_static(b" RFC822 {3}\r\n")),
            super::Part::Hole(3),
            super::Part::Data(Bytes::from_static(b")\r\n")),
        ]
    );
}
