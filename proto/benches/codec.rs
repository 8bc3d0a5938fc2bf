//! Codec throughput: decoding a realistic client command mix and writing a realistic server
//! response mix, each beside a baseline over the same bytes so figures read as ratios.
//!
//! Run: `cargo bench -p roost-proto --bench codec -- --warm-up-time 1 --measurement-time 3`.
//!
//! The command mix is what the clients of `shared/notes/clients.md` send in a sync round:
//! Thunderbird's and K-9's header FETCHes with long `HEADER.FIELDS` lists, macOS partial part
//! fetches, UID SEARCH, STORE +FLAGS, LIST RETURN (SPECIAL-USE STATUS (UNSEEN)), STATUS, NOOP,
//! IDLE/DONE, and one APPEND of a 50 KB message. `parse/lines` is the same mix without the
//! APPEND, where the parser rather than the literal copy sets the pace. The baselines are a
//! naive byte-by-byte line splitter (no memchr) and a plain copy of the bytes.
//!
//! The response mix is a SELECT's worth of untagged data plus FETCH with ENVELOPE,
//! BODYSTRUCTURE and FLAGS, a 50 KB `BODY[]`, ESEARCH, LIST and STATUS. Its baseline copies
//! the output bytes. `write/no_body` leaves out the `BODY[]`, which the writer hands over
//! without copying.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use roost_proto::decode::IdleLine;
use roost_proto::encode::{write_response, EncodeContext, Output};
use roost_proto::*;

/// A 50 KB message body: header, then quoted-printable-ish text lines.
fn message(size: usize) -> Vec<u8> {
    let mut m =
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nFrom: Fred Foobar <foobar@example.com>\r\n\
Subject: afternoon meeting\r\nTo: mooch@example.com\r\nMessage-Id: <B27397-0100000@example.com>\r\n\
MIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
            .to_vec();
    let line = b"Hello Joe, do you think we can meet at 3:30 tomorrow? The agenda is attached.\r\n";
    while m.len() + line.len() <= size {
        m.extend_from_slice(line);
    }
    m.resize(size, b'.');
    m
}

/// The client command mix; `with_append` adds the 50 KB APPEND.
fn command_mix(with_append: bool) -> Vec<u8> {
    let uids: Vec<String> = (1000..1100).map(|n| n.to_string()).collect();
    let mut s = String::new();
    let lines = [
        "1 NOOP".to_string(),
        // Thunderbird (clients.md section 2).
        "2 UID fetch 4001:4500 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc \
         Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To \
         Content-Type Reply-To Received)])"
            .to_string(),
        "3 UID fetch 4501:* (FLAGS)".to_string(),
        "4 uid store 4001:4010 +FLAGS (\\Deleted)".to_string(),
        "5 STATUS \"Archive\" (UIDNEXT MESSAGES UNSEEN RECENT)".to_string(),
        // K-9 (section 3).
        "6 UID SEARCH 951:1000 SINCE 1-Feb-2024 NOT DELETED".to_string(),
        format!(
            "7 UID FETCH {} (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (date \
             subject from content-type to cc bcc reply-to message-id references in-reply-to \
             list-post list-unsubscribe sender X-K9mail-Identity Chat-Version)])",
            uids.join(",")
        ),
        "8 SEARCH 1:* UNSEEN NOT DELETED".to_string(),
        // Apple Mail (section 4).
        "8.1049 UID FETCH 265 (BODY.PEEK[1]<208.78> BODY.PEEK[2]<2027.77>)".to_string(),
        "9 LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (UNSEEN))".to_string(),
        "10 UID STORE 4002 +FLAGS.SILENT (\\Seen)".to_string(),
        "11 UID MOVE 4003 \"Trash\"".to_string(),
        "12 IDLE".to_string(),
    ];
    for l in &lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    // The IDLE above ends with DONE, as every client sends it before the next command.
    s.push_str("DONE\r\n13 NOOP\r\n");
    let mut v = s.into_bytes();
    if with_append {
        let body = message(50 * 1024);
        v.extend_from_slice(
            format!(
                "14 APPEND \"Sent\" (\\Seen) \" 7-Feb-2024 21:52:25 -0800\" {{{}+}}\r\n",
                body.len()
            )
            .as_bytes(),
        );
        v.extend_from_slice(&body);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Decodes every command in `buf`, reading DONE after IDLE; returns how many.
fn decode_all(decoder: &mut CommandDecoder, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    loop {
        match decoder.decode(buf) {
            Decoded::Command(c) => {
                n += 1;
                if c.body == CommandBody::Idle {
                    assert_eq!(decoder.decode_idle_line(buf), IdleLine::Done);
                }
                black_box(c);
            }
            Decoded::Incomplete => return n,
            other => panic!("benchmark input did not decode: {other:?}"),
        }
    }
}

/// The baseline: cut at every LF with a plain loop, no memchr, no interpretation.
fn naive_lines(data: &[u8]) -> usize {
    let mut lines = 0;
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            black_box(&data[start..i]);
            lines += 1;
            start = i + 1;
        }
    }
    lines
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, wire) in [("mix", command_mix(true)), ("lines", command_mix(false))] {
        let expected = decode_all(
            &mut CommandDecoder::new(Limits::default()),
            &mut BytesMut::from(&wire[..]),
        );
        assert_eq!(expected, 14 + usize::from(name == "mix"));
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    (
                        CommandDecoder::new(Limits::default()),
                        BytesMut::from(&wire[..]),
                    )
                },
                |(mut d, mut buf)| decode_all(&mut d, &mut buf),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("{name}/baseline_naive_lines"), |b| {
            b.iter(|| naive_lines(black_box(&wire)))
        });
        group.bench_function(format!("{name}/baseline_copy"), |b| {
            b.iter(|| black_box(black_box(&wire[..]).to_vec()))
        });
    }
    group.finish();
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn addr(name: &str, mailbox: &str, host: &str) -> Address {
    Address {
        name: Some(b(name)),
        adl: None,
        mailbox: Some(b(mailbox)),
        host: Some(b(host)),
    }
}

/// multipart/mixed (multipart/alternative (text/plain, text/html), application/pdf).
fn body_structure() -> BodyStructure {
    let text = |subtype: &str, octets, lines| BodyStructure::Single {
        body: SinglePart {
            media_type: b("TEXT"),
            subtype: b(subtype),
            params: vec![(b("CHARSET"), b("UTF-8"))],
            id: None,
            description: None,
            encoding: b("QUOTED-PRINTABLE"),
            octets,
            kind: SingleKind::Text { lines },
        },
        extension: SinglePartExtension::default(),
    };
    let pdf = BodyStructure::Single {
        body: SinglePart {
            media_type: b("APPLICATION"),
            subtype: b("PDF"),
            params: vec![(b("NAME"), b("agenda.pdf"))],
            id: None,
            description: None,
            encoding: b("BASE64"),
            octets: 48_213,
            kind: SingleKind::Basic,
        },
        extension: SinglePartExtension {
            md5: None,
            disposition: Some(Disposition {
                kind: b("attachment"),
                params: vec![(b("FILENAME"), b("agenda.pdf"))],
            }),
            language: vec![],
            location: None,
        },
    };
    BodyStructure::Multi {
        parts: vec![
            BodyStructure::Multi {
                parts: vec![text("PLAIN", 1_234, 40), text("HTML", 4_321, 80)],
                subtype: b("ALTERNATIVE"),
                extension: MultiPartExtension {
                    params: vec![(b("BOUNDARY"), b("----=_alt_1"))],
                    ..Default::default()
                },
            },
            pdf,
        ],
        subtype: b("MIXED"),
        extension: MultiPartExtension {
            params: vec![(b("BOUNDARY"), b("----=_mixed_1"))],
            ..Default::default()
        },
    }
}

fn envelope(i: u32) -> Envelope {
    Envelope {
        date: Some(b("Wed, 17 Jul 2024 02:23:25 -0700")),
        subject: Some(format!("Re: quarterly numbers, round {i}").into_bytes()),
        from: vec![addr("Terry Gray", "gray", "cac.washington.example")],
        sender: vec![addr("Terry Gray", "gray", "cac.washington.example")],
        reply_to: vec![addr("Terry Gray", "gray", "cac.washington.example")],
        to: vec![addr("", "imap", "cac.washington.example")],
        cc: vec![
            addr("Minutes", "minutes", "CNRI.Reston.VA.example"),
            addr("John Klensin", "KLENSIN", "MIT.EDU.example"),
        ],
        bcc: vec![],
        in_reply_to: None,
        message_id: Some(format!("<B27397-{i}@cac.washington.example>").into_bytes()),
    }
}

/// The server response mix; `with_body` adds the 50 KB `BODY[]`.
fn response_mix(with_body: bool) -> Vec<Response> {
    let tag = Tag::new("A7").unwrap();
    let flags = vec![Flag::Seen, Flag::Keyword(Atom::new("$Forwarded").unwrap())];
    let mut v = vec![
        Response::Data(Data::Flags(vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ])),
        Response::Status(Status::untagged(
            StatusKind::Ok,
            Some(Code::PermanentFlags(vec![
                Flag::Deleted,
                Flag::Seen,
                Flag::Wildcard,
            ])),
            "Limited",
        )),
        Response::Data(Data::Exists(4_211)),
        Response::Status(Status::untagged(
            StatusKind::Ok,
            Some(Code::UidValidity(3_857_529_045)),
            "UIDs valid",
        )),
        Response::Status(Status::untagged(
            StatusKind::Ok,
            Some(Code::UidNext(4_392)),
            "Predicted next UID",
        )),
    ];
    for i in 0..20u32 {
        v.push(Response::Data(Data::Fetch {
            seq: 4_000 + i,
            items: vec![
                FetchValue::Uid(40_000 + i),
                FetchValue::Flags(flags.clone()),
                FetchValue::Rfc822Size(58_000 + u64::from(i)),
                FetchValue::Envelope(Box::new(envelope(i))),
                FetchValue::BodyStructure(Box::new(body_structure())),
            ],
        }));
    }
    if with_body {
        v.push(Response::Data(Data::Fetch {
            seq: 4_001,
            items: vec![
                FetchValue::Uid(40_001),
                FetchValue::body_section(
                    Section::default(),
                    None,
                    Some(Bytes::from(message(50 * 1024))),
                ),
            ],
        }));
    }
    v.push(Response::Data(Data::Esearch(Esearch {
        correlator: Some(tag.clone()),
        uid: true,
        items: vec![
            EsearchItem::Count(120),
            EsearchItem::All(SequenceSet::from_numbers(
                (40_000..40_400).filter(|n| n % 3 != 0),
            )),
        ],
    })));
    for (name, attr) in [
        ("INBOX", None),
        ("Sent", Some("Sent")),
        ("Drafts", Some("Drafts")),
        ("Trash", Some("Trash")),
        ("Junk", Some("Junk")),
        ("Archive", Some("Archive")),
        ("Archive/2023", None),
        ("Entwürfe alt", None),
    ] {
        let mut attributes = vec![Atom::new("HasNoChildren").unwrap()];
        attributes.extend(attr.map(|a| Atom::new(a).unwrap()));
        v.push(Response::Data(Data::List(ListData {
            attributes,
            delimiter: Some('/'),
            mailbox: name.to_string(),
            extended: vec![],
        })));
        v.push(Response::Data(Data::Status {
            mailbox: name.to_string(),
            items: vec![StatusValue::Number(StatusItem::Unseen, 3)],
        }));
    }
    v.push(Response::Status(Status::ok(
        tag,
        None,
        "UID FETCH completed",
    )));
    v
}

fn write_all(resps: &[Response], ctx: &EncodeContext) -> Vec<Bytes> {
    let mut out = Output::new();
    for r in resps {
        write_response(r, ctx, &mut out);
    }
    out.into_chunks()
}

fn bench_write(c: &mut Criterion) {
    let ctx = EncodeContext::default();
    let mut group = c.benchmark_group("write");
    for (name, resps) in [
        ("mix", response_mix(true)),
        ("no_body", response_mix(false)),
    ] {
        let bytes: Vec<u8> = write_all(&resps, &ctx).concat();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| b.iter(|| write_all(black_box(&resps), &ctx)));
        group.bench_function(format!("{name}/baseline_copy"), |b| {
            b.iter(|| black_box(black_box(&bytes[..]).to_vec()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parse, bench_write);
criterion_main!(benches);
