//! Streaming behaviour: split input, pipelined responses, limits, and hostile bytes.

use super::*;

/// Feeds `input` `chunk` bytes at a time and collects every result.
fn feed(
    dec: &mut ResponseDecoder,
    input: &[u8],
    chunk: usize,
) -> Vec<Result<Response, ResponseError>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match dec.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(r)) => out.push(Ok(r)),
                Err(e) => out.push(Err(e)),
            }
        }
    }
    assert!(buf.is_empty(), "left over: {buf:?}");
    out
}

fn big_fetch() -> (Vec<u8>, Bytes) {
    let body: Vec<u8> = (0..3000u32)
        .map(|i| {
            if i % 77 == 76 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let mut input = format!("* 7 FETCH (UID 9 BODY[] {{{}}}\r\n", body.len()).into_bytes();
    input.extend_from_slice(&body);
    input.extend_from_slice(b" FLAGS (\\Seen))\r\n");
    (input, Bytes::from(body))
}

#[test]
fn body_literal_fed_one_byte_at_a_time() {
    let (input, body) = big_fetch();
    let mut dec = decoder();
    let mut buf = BytesMut::new();
    for (i, &byte) in input.iter().enumerate() {
        buf.extend_from_slice(&[byte]);
        let got = dec.decode(&mut buf).unwrap();
        if i + 1 < input.len() {
            assert_eq!(got, None, "complete too early at octet {i}");
            continue;
        }
        assert_eq!(
            got,
            Some(Response::Data(Data::Fetch {
                seq: 7,
                items: vec![
                    FetchValue::Uid(9),
                    FetchValue::BodySection {
                        section: Section::default(),
                        origin: None,
                        data: Some(body.clone()),
                    },
                    FetchValue::Flags(vec![Flag::Seen]),
                ]
            }))
        );
    }
    assert!(buf.is_empty());
}

#[test]
fn pipelined_responses_in_any_chunking() {
    let (fetch, _) = big_fetch();
    let mut input = b"* 3 EXISTS\r\n".to_vec();
    input.extend_from_slice(&fetch);
    input.extend_from_slice(b"* LIST () \"/\" {5}\r\na b c\r\nA1 OK done\n+ go\r\n");
    let expected = feed(&mut decoder(), &input, input.len());
    assert_eq!(expected.len(), 5);
    assert!(expected.iter().all(Result::is_ok), "{expected:?}");
    for chunk in [1, 2, 3, 7, 64, 1000] {
        assert_eq!(
            feed(&mut decoder(), &input, chunk),
            expected,
            "chunk {chunk}"
        );
    }
}

fn small_limits() -> ResponseDecoder {
    ResponseDecoder::new(ResponseContext {
        names: NameEncoding::Utf8,
        limits: Limits {
            max_line: 100,
            max_literal: 50,
            max_depth: 8,
            ..Limits::default()
        },
    })
}

#[test]
fn over_long_line_is_refused_then_skipped() {
    let mut input = b"* OK ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 500));
    input.extend_from_slice(b"\r\n* 1 EXISTS\r\n");
    for chunk in [1, 10, 1000] {
        let out = feed(&mut small_limits(), &input, chunk);
        assert_eq!(out.len(), 2, "chunk {chunk}: {out:?}");
        let err = out[0].as_ref().unwrap_err();
        assert_eq!(err.kind, ResponseErrorKind::LineTooLong);
        assert!(err.line.starts_with("* OK xxx") && err.line.len() <= 120);
        assert_eq!(out[1], Ok(Response::Data(Data::Exists(1))));
    }
}

#[test]
fn over_size_literal_is_refused_and_its_data_dropped() {
    let mut input = b"* 1 FETCH (BODY[] {200}\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'*', 200));
    input.extend_from_slice(b")\r\n* 2 EXISTS\r\n");
    for chunk in [1, 9, 1000] {
        let out = feed(&mut small_limits(), &input, chunk);
        assert_eq!(out.len(), 2, "chunk {chunk}: {out:?}");
        assert_eq!(out[0].as_ref().unwrap_err().kind, ResponseErrorKind::TooBig);
        assert_eq!(out[1], Ok(Response::Data(Data::Exists(2))));
    }
}

#[test]
fn deep_nesting_is_too_complex() {
    let mut input = b"* 1 FETCH (BODYSTRUCTURE ".to_vec();
    input.extend(std::iter::repeat_n(b'(', 20));
    input.extend_from_slice(b"\r\n");
    let out = feed(&mut small_limits(), &input, input.len());
    assert_eq!(
        out[0].as_ref().unwrap_err().kind,
        ResponseErrorKind::TooComplex
    );
}

#[test]
fn syntax_errors_consume_the_response_and_decoding_goes_on() {
    let input = b"* FROB 1\r\n* 1 FETCH (NOPE 1)\r\nA1 MAYBE x\r\n\r\n* 4 EXISTS\r\n";
    let out = feed(&mut decoder(), input, 3);
    assert_eq!(out.len(), 5);
    assert!(out[..4]
        .iter()
        .all(|r| matches!(r, Err(e) if e.kind == ResponseErrorKind::Syntax)));
    assert_eq!(out[4], Ok(Response::Data(Data::Exists(4))));
    let e = out[0].as_ref().unwrap_err();
    assert_eq!(e.line, "* FROB 1");
    assert!(e.to_string().contains("unknown untagged response"), "{e}");
}

/// Valid responses to mutate, so the parser gets deep before failing.
const SEEDS: &[&[u8]] = &[
    b"* 9 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"QP\" 12 4 \"md5\" (\"INLINE\" NIL) (\"en\" \"de\") \"loc\" 42)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 5 (NIL \"s\" ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 2 1) 3) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL) UID 4)\r\n",
    b"* 1 FETCH (BODY[1.HEADER.FIELDS (From {2}\r\nTo)]<0> {3}\r\nabc BINARY[2] ~{2}\r\n\0\0 MODSEQ (5) EMAILID (M1) THREADID NIL)\r\n",
    b"* LIST (\\HasChildren) \"/\" {3}\r\nfoo (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (\"x\") X (1 (2)))\r\n",
    b"* NAMESPACE ((\"\" \"/\")(\"#mh/\" \"/\" \"X\" (\"a\"))) NIL ((\"s\" NIL))\r\n",
    b"* ESEARCH (TAG \"A1\") UID MIN 1 MAX 9 ALL 1:3,5:* COUNT 4 MODSEQ 7 X (1)\r\n",
    b"A1 OK [COPYUID 1 1:2,4 5:7] [PERMANENTFLAGS (\\Seen \\*)] done\r\n",
    b"* STATUS x (MESSAGES 1 MAILBOXID (F1)) \r\n* ID (\"a\" NIL) \r\n* QUOTA r (STORAGE 1 2)\r\n+ YWJj\r\n",
];

#[test]
fn garbage_never_panics() {
    let alphabet = b"()[]{}<>~\"\\ *+.:,0123456789\r\nNIL{3}\r\n~{1}\r\n";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    for round in 0..3000 {
        let mut input = SEEDS[next(SEEDS.len())].to_vec();
        for _ in 0..=next(4) {
            let at = next(input.len() + 1);
            match next(4) {
                0 => input.insert(at, alphabet[next(alphabet.len())]),
                1 if at < input.len() => {
                    input.remove(at);
                }
                2 => input.truncate(at),
                _ => {
                    let end = (at + next(40)).min(input.len());
                    let copy = input[at..end].to_vec();
                    let to = next(input.len() + 1);
                    input.splice(to..to, copy);
                }
            }
        }
        roost_proto::fuzzing::decode_responses(&input);
        let mut dec = small_limits();
        dec.expect_sasl(round % 2 == 0);
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(_)) | Err(_) = dec.decode(&mut buf) {}
    }
    for bytes in [
        &b""[..],
        b"\n",
        b"*\n",
        b"* \n",
        b"+\n",
        b"A1\n",
        b"* 1\n",
        b"\xff\xfe\r\n",
    ] {
        roost_proto::fuzzing::decode_responses(bytes);
        let mut buf = BytesMut::from(bytes);
        let _ = decoder().decode(&mut buf);
    }
}

#[test]
fn seeds_are_valid() {
    for seed in SEEDS {
        let out = feed(&mut decoder(), seed, 5);
        assert!(
            out.iter().all(Result::is_ok),
            "{:?}: {out:?}",
            String::from_utf8_lossy(seed)
        );
    }
}
