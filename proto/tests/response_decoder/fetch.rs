//! FETCH responses: message attributes, sections, ENVELOPE and BODYSTRUCTURE
//! (RFC 9051 section 7.5.2, RFC 7162, RFC 8474).

use super::*;

fn fetch(input: &[u8]) -> (u32, Vec<FetchValue>) {
    match one_with(&mut decoder(), input) {
        Response::Data(Data::Fetch { seq, items }) => (seq, items),
        other => panic!("not FETCH: {other:?}"),
    }
}

fn addr(name: Option<&str>, mailbox: &str, host: &str) -> Address {
    Address {
        name: name.and_then(b),
        adl: None,
        mailbox: b(mailbox),
        host: b(host),
    }
}

fn text_part(params: &[(&str, &str)], octets: u32, lines: u32) -> SinglePart {
    SinglePart {
        media_type: b"TEXT".to_vec(),
        subtype: b"PLAIN".to_vec(),
        params: params
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
        id: None,
        description: None,
        encoding: b"7BIT".to_vec(),
        octets,
        kind: SingleKind::Text { lines },
    }
}

fn single(body: SinglePart) -> BodyStructure {
    BodyStructure::Single {
        body,
        extension: SinglePartExtension::default(),
    }
}

#[test]
fn fetch_full_from_rfc9051_section_8() {
    let input = concat!(
        "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" ",
        "RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" ",
        "\"IMAP4rev2 WG mtg summary and minutes\" ",
        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ",
        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ",
        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ",
        "((NIL NIL \"imap\" \"cac.washington.edu\")) ",
        "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) ",
        "NIL NIL \"<B27397-0100000@cac.washington.ed>\") ",
        "BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"
    );
    let (seq, items) = fetch(input.as_bytes());
    assert_eq!(seq, 12);
    let gray = addr(Some("Terry Gray"), "gray", "cac.washington.edu");
    let date = DateTime::new(Date::new(1996, 7, 17).unwrap(), 2, 44, 25, -420).unwrap();
    let envelope = Envelope {
        date: b("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
        subject: b("IMAP4rev2 WG mtg summary and minutes"),
        from: vec![gray.clone()],
        sender: vec![gray.clone()],
        reply_to: vec![gray],
        to: vec![addr(None, "imap", "cac.washington.edu")],
        cc: vec![
            addr(None, "minutes", "CNRI.Reston.VA.US"),
            addr(Some("John Klensin"), "KLENSIN", "MIT.EDU"),
        ],
        bcc: vec![],
        in_reply_to: None,
        message_id: b("<B27397-0100000@cac.washington.ed>"),
    };
    assert_eq!(
        items,
        vec![
            FetchValue::Flags(vec![Flag::Seen]),
            FetchValue::InternalDate(date),
            FetchValue::Rfc822Size(4286),
            FetchValue::Envelope(Box::new(envelope)),
            FetchValue::Body(Box::new(single(text_part(
                &[("CHARSET", "US-ASCII")],
                3028,
                92
            )))),
        ]
    );
}

#[test]
fn body_header_literal() {
    let header = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nSubject: x\r\n\r\n";
    let input = format!(
        "* 12 FETCH (BODY[HEADER] {{{}}}\r\n{header} UID 7)\r\n",
        header.len()
    );
    let (_, items) = fetch(input.as_bytes());
    assert_eq!(
        items,
        vec![
            FetchValue::BodySection {
                section: Section {
                    part: vec![],
                    text: Some(SectionText::Header)
                },
                origin: None,
                data: Some(Bytes::from(header))
            },
            FetchValue::Uid(7)
        ]
    );
}

#[test]
fn sections_are_read_back_as_written() {
    let section = |s: &str| {
        let (_, items) = fetch(format!("* 1 FETCH (BODY{s} NIL)\r\n").as_bytes());
        match items.as_slice() {
            [FetchValue::BodySection {
                section, origin, ..
            }] => (section.clone(), *origin),
            other => panic!("{other:?}"),
        }
    };
    let sec = |part: Vec<u32>, text| Section { part, text };
    assert_eq!(section("[]"), (sec(vec![], None), None));
    assert_eq!(section("[]<42>"), (sec(vec![], None), Some(42)));
    assert_eq!(section("[1.2.3]"), (sec(vec![1, 2, 3], None), None));
    assert_eq!(
        section("[4.2.MIME]"),
        (sec(vec![4, 2], Some(SectionText::Mime)), None)
    );
    assert_eq!(
        section("[TEXT]<0>"),
        (sec(vec![], Some(SectionText::Text)), Some(0))
    );
    assert_eq!(
        section("[1.HEADER.FIELDS (From \"X Odd\" {2}\r\nTo)]"),
        (
            sec(
                vec![1],
                Some(SectionText::HeaderFields(vec![
                    b"From".to_vec(),
                    b"X Odd".to_vec(),
                    b"To".to_vec()
                ]))
            ),
            None
        )
    );
    assert_eq!(
        section("[HEADER.FIELDS.NOT (Received)]"),
        (
            sec(
                vec![],
                Some(SectionText::HeaderFieldsNot(vec![b"Received".to_vec()]))
            ),
            None
        )
    );
    assert!(error(b"* 1 FETCH (BODY[MIME] NIL)\r\n")
        .reason
        .contains("section"));
}

#[test]
fn binary_modseq_object_ids_and_rfc822() {
    let (_, items) = fetch(
        b"* 3 FETCH (BINARY[1]<0> ~{3}\r\na\0b BINARY.SIZE[2] 1234 BINARY[] \"x\" MODSEQ (12121231000) \
          EMAILID (M6d99ac3275bb4e) THREADID NIL RFC822.HEADER NIL RFC822.TEXT \"t\" RFC822 {1}\r\nm)\r\n",
    );
    assert_eq!(
        items,
        vec![
            FetchValue::Binary {
                part: vec![1],
                origin: Some(0),
                data: Some(Bytes::from_static(b"a\0b"))
            },
            FetchValue::BinarySize {
                part: vec![2],
                size: 1234
            },
            FetchValue::Binary {
                part: vec![],
                origin: None,
                data: Some(Bytes::from_static(b"x"))
            },
            FetchValue::ModSeq(12121231000),
            FetchValue::EmailId("M6d99ac3275bb4e".into()),
            FetchValue::ThreadId(None),
            FetchValue::Rfc822Header(None),
            FetchValue::Rfc822Text(Some(Bytes::from_static(b"t"))),
            FetchValue::Rfc822(Some(Bytes::from_static(b"m"))),
        ]
    );
    let (_, items) = fetch(b"* 1 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))\r\n");
    assert_eq!(
        items[1],
        FetchValue::ThreadId(Some("T64b478a75b7ea9".into()))
    );
}

#[test]
fn multipart_body_from_rfc9051_section_7_5_2() {
    let input = concat!(
        "* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)",
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") ",
        "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\"))\r\n"
    );
    let (_, items) = fetch(input.as_bytes());
    let mut second = text_part(&[("CHARSET", "US-ASCII"), ("NAME", "cc.diff")], 4554, 73);
    second.id = b("<960723163407.20117h@cac.washington.edu>");
    second.description = b("Compiler diff");
    second.encoding = b"BASE64".to_vec();
    let expected = BodyStructure::Multi {
        parts: vec![
            single(text_part(&[("CHARSET", "US-ASCII")], 1152, 23)),
            single(second),
        ],
        subtype: b"MIXED".to_vec(),
        extension: MultiPartExtension::default(),
    };
    assert_eq!(items, vec![FetchValue::Body(Box::new(expected))]);
}

#[test]
fn nested_bodystructure_with_extension_data() {
    // multipart/mixed of: text/plain with full extension data, an image without, and a
    // message/rfc822 holding a multipart/alternative; extra body-extension values skipped.
    let input = concat!(
        "* 9 FETCH (BODYSTRUCTURE (",
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"QUOTED-PRINTABLE\" 120 4 ",
        "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"INLINE\" NIL) (\"en\" \"de\") \"http://x/y\" 42 (\"ext\" 1))",
        "(\"IMAGE\" \"PNG\" (\"NAME\" \"a.png\") \"<id@x>\" NIL \"BASE64\" 3000 NIL ",
        "(\"ATTACHMENT\" (\"FILENAME\" \"a.png\")) \"en\" NIL)",
        "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 500 ",
        "(NIL \"Fwd\" NIL NIL NIL NIL NIL NIL NIL NIL) ",
        "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL)",
        "(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 20 2 NIL NIL NIL NIL) \"ALTERNATIVE\" ",
        "(\"BOUNDARY\" \"b2\") NIL NIL NIL) 30 NIL NIL NIL NIL) ",
        "\"MIXED\" (\"BOUNDARY\" \"b1\") NIL (\"EN\") NIL))\r\n"
    );
    let (_, items) = fetch(input.as_bytes());
    let p = |k: &str, v: &str| (k.as_bytes().to_vec(), v.as_bytes().to_vec());
    let mut plain = text_part(&[("CHARSET", "UTF-8")], 120, 4);
    plain.encoding = b"QUOTED-PRINTABLE".to_vec();
    let plain = BodyStructure::Single {
        body: plain,
        extension: SinglePartExtension {
            md5: b("Q2hlY2sgSW50ZWdyaXR5IQ=="),
            disposition: Some(Disposition {
                kind: b"INLINE".to_vec(),
                params: vec![],
            }),
            language: vec![b"en".to_vec(), b"de".to_vec()],
            location: b("http://x/y"),
        },
    };
    let image = BodyStructure::Single {
        body: SinglePart {
            media_type: b"IMAGE".to_vec(),
            subtype: b"PNG".to_vec(),
            params: vec![p("NAME", "a.png")],
            id: b("<id@x>"),
            description: None,
            encoding: b"BASE64".to_vec(),
            octets: 3000,
            kind: SingleKind::Basic,
        },
        extension: SinglePartExtension {
            md5: None,
            disposition: Some(Disposition {
                kind: b"ATTACHMENT".to_vec(),
                params: vec![p("FILENAME", "a.png")],
            }),
            language: vec![b"en".to_vec()],
            location: None,
        },
    };
    let leaf = |sub: &str, octets, lines| {
        let mut t = text_part(&[], octets, lines);
        t.subtype = sub.as_bytes().to_vec();
        single(t)
    };
    let inner = BodyStructure::Multi {
        parts: vec![leaf("PLAIN", 10, 1), leaf("HTML", 20, 2)],
        subtype: b"ALTERNATIVE".to_vec(),
        extension: MultiPartExtension {
            params: vec![p("BOUNDARY", "b2")],
            ..Default::default()
        },
    };
    let message = single(SinglePart {
        media_type: b"MESSAGE".to_vec(),
        subtype: b"RFC822".to_vec(),
        params: vec![],
        id: None,
        description: None,
        encoding: b"7BIT".to_vec(),
        octets: 500,
        kind: SingleKind::Message {
            envelope: Box::new(Envelope {
                subject: b("Fwd"),
                ..Default::default()
            }),
            body: Box::new(inner),
            lines: 30,
        },
    });
    let expected = BodyStructure::Multi {
        parts: vec![plain, image, message],
        subtype: b"MIXED".to_vec(),
        extension: MultiPartExtension {
            params: vec![p("BOUNDARY", "b1")],
            disposition: None,
            language: vec![b"EN".to_vec()],
            location: None,
        },
    };
    assert_eq!(items, vec![FetchValue::BodyStructure(Box::new(expected))]);
}
