//! Property tests of the response writer: whatever `Response` it is given, under any
//! connection set-up, its output frames correctly.
//!
//! Checked for arbitrary responses (`strategies/response.rs`, [`Values::Any`] and
//! [`Values::Faithful`]):
//! - the output is a sequence of CRLF-terminated lines, each `{N}` / `~{N}` at a line's end
//!   followed by exactly N octets of literal data, and nothing else;
//! - no CR or LF appears outside literal data except in the CRLF that ends a line, so a
//!   response can never be split or another injected;
//! - outside literals, every octet is 7-bit for IMAP4rev1 and the text is UTF-8 otherwise;
//! - each response is one logical line opening with its tag, `*` or `+`;
//! - the zero-copy chunks join to the same bytes as `response_to_vec`.
//!
//! And for mailbox names: under modified UTF-7 the name on the wire is 7-bit and
//! `utf7::decode` gives the name back; under UTF-8 the wire carries the name's own bytes.

#[path = "strategies/mod.rs"]
mod strategies;

use proptest::prelude::*;
use roost_proto::encode::{response_to_vec, write_response, EncodeContext, Output};
use roost_proto::*;

use strategies::response::{context, mailbox_string, response};
use strategies::{config, Values};

/// One response as the framing rules cut it: its line pieces (without CRLF) and the literal
/// data between them.
#[derive(Debug, Default)]
struct Framed {
    lines: Vec<Vec<u8>>,
    literals: Vec<Vec<u8>>,
}

/// `{N}` or `~{N}` at the end of a line: the literal's length. A server never sends `{N+}`.
fn literal_at_end(line: &[u8]) -> Result<Option<usize>, String> {
    let Some(inner) = line.strip_suffix(b"}") else {
        return Ok(None);
    };
    if inner.ends_with(b"+")
        && inner
            .iter()
            .rev()
            .skip(1)
            .take_while(|b| b.is_ascii_digit())
            .count()
            > 0
    {
        return Err("a non-synchronizing literal in a response".into());
    }
    let digits = inner
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let open = inner.len() - digits;
    if digits == 0 || open == 0 || inner[open - 1] != b'{' {
        return Ok(None);
    }
    let n = std::str::from_utf8(&inner[open..])
        .unwrap()
        .parse::<usize>()
        .map_err(|e| format!("literal length: {e}"))?;
    Ok(Some(n))
}

/// Cuts writer output into responses, or says what breaks the framing rules.
fn frame(out: &[u8]) -> Result<Vec<Framed>, String> {
    let mut responses = Vec::new();
    let mut cur = Framed::default();
    let mut i = 0;
    while i < out.len() {
        let lf = i + out[i..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("no CRLF after {:?}", String::from_utf8_lossy(&out[i..])))?;
        if lf == i || out[lf - 1] != b'\r' {
            return Err(format!("bare LF at {lf}"));
        }
        let line = &out[i..lf - 1];
        if let Some(cr) = line.iter().position(|&b| b == b'\r') {
            return Err(format!("bare CR at {}", i + cr));
        }
        cur.lines.push(line.to_vec());
        i = lf + 1;
        match literal_at_end(line)? {
            Some(n) => {
                let data = out
                    .get(i..i + n)
                    .ok_or_else(|| format!("literal of {n} cut short"))?;
                cur.literals.push(data.to_vec());
                i += n;
            }
            None => responses.push(std::mem::take(&mut cur)),
        }
    }
    if !cur.lines.is_empty() {
        return Err("output ends inside a response".into());
    }
    Ok(responses)
}

fn check_framing(resps: &[Response], ctx: &EncodeContext) -> Result<(), TestCaseError> {
    let mut out = Output::new();
    for r in resps {
        write_response(r, ctx, &mut out);
    }
    let bytes = out.to_vec();
    let joined: Vec<u8> = out.into_chunks().concat();
    prop_assert_eq!(&joined, &bytes, "chunks differ from the contiguous output");
    let framed = frame(&bytes).map_err(|e| {
        TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(&bytes)))
    })?;
    prop_assert_eq!(
        framed.len(),
        resps.len(),
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    for (r, f) in resps.iter().zip(&framed) {
        let first = &f.lines[0];
        let opening = match r {
            Response::Status(Status::Tagged { tag, .. }) => format!("{tag} "),
            Response::Status(_) | Response::Data(_) => "* ".to_string(),
            Response::Continue(_) => "+ ".to_string(),
        };
        prop_assert!(
            first.starts_with(opening.as_bytes()),
            "{:?} does not open with {:?}",
            String::from_utf8_lossy(first),
            opening
        );
        for line in &f.lines {
            if ctx.utf8_quoted {
                prop_assert!(std::str::from_utf8(line).is_ok(), "not UTF-8: {:?}", line);
            } else {
                prop_assert!(
                    line.is_ascii(),
                    "8-bit for IMAP4rev1: {:?}",
                    String::from_utf8_lossy(line)
                );
            }
            prop_assert!(!line.contains(&0), "NUL outside a literal: {:?}", line);
        }
        // Each literal is as long as its announcement: `frame` took exactly N octets and
        // what follows still framed; the response is the same as written on its own.
        prop_assert_eq!(
            f.lines.iter().map(Vec::len).sum::<usize>()
                + 2 * f.lines.len()
                + f.literals.iter().map(Vec::len).sum::<usize>(),
            response_to_vec(r, ctx).len()
        );
    }
    Ok(())
}

/// Reads a mailbox value (`astring` or `string`) at the start of `rest`, returning its bytes
/// and what follows it.
fn read_name(rest: &[u8]) -> (Vec<u8>, &[u8]) {
    match rest.first() {
        Some(b'"') => {
            let mut v = Vec::new();
            let mut i = 1;
            loop {
                match rest[i] {
                    b'"' => return (v, &rest[i + 1..]),
                    b'\\' => {
                        v.push(rest[i + 1]);
                        i += 2;
                    }
                    c => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
        }
        Some(b'{') => {
            let close = rest.iter().position(|&b| b == b'}').unwrap();
            let n: usize = std::str::from_utf8(&rest[1..close])
                .unwrap()
                .parse()
                .unwrap();
            let start = close + 3;
            (rest[start..start + n].to_vec(), &rest[start + n..])
        }
        _ => {
            let n = rest
                .iter()
                .position(|&b| !is_astring_char(b))
                .unwrap_or(rest.len());
            (rest[..n].to_vec(), &rest[n..])
        }
    }
}

/// Responses that carry `name`, each with the text before and after it on the wire.
fn carriers(name: &str) -> Vec<(Response, &'static str, &'static str)> {
    let list = |mailbox: &str, extended| ListData {
        attributes: vec![],
        delimiter: Some('/'),
        mailbox: mailbox.to_string(),
        extended,
    };
    vec![
        (
            Response::Data(Data::List(list(name, vec![]))),
            "* LIST () \"/\" ",
            "\r\n",
        ),
        (
            Response::Data(Data::Lsub(list(name, vec![]))),
            "* LSUB () \"/\" ",
            "\r\n",
        ),
        (
            Response::Data(Data::List(list(
                "x",
                vec![ListExtended::OldName(name.to_string())],
            ))),
            "* LIST () \"/\" x (\"OLDNAME\" (",
            "))\r\n",
        ),
        (
            Response::Data(Data::Status {
                mailbox: name.to_string(),
                items: vec![],
            }),
            "* STATUS ",
            " ()\r\n",
        ),
        (
            Response::Data(Data::QuotaRoot {
                mailbox: name.to_string(),
                roots: vec![],
            }),
            "* QUOTAROOT ",
            "\r\n",
        ),
        (
            Response::Data(Data::Namespace {
                personal: vec![NamespaceDesc {
                    prefix: name.to_string(),
                    delimiter: Some('/'),
                }],
                other: vec![],
                shared: vec![],
            }),
            "* NAMESPACE ((",
            " \"/\")) NIL NIL\r\n",
        ),
    ]
}

proptest! {
    #![proptest_config(config(400))]

    /// Anything the types allow, several responses in one output.
    #[test]
    fn any_responses_frame_correctly(
        resps in prop::collection::vec(response(Values::Any), 1..4),
        ctx in context(),
    ) {
        check_framing(&resps, &ctx)?;
    }

    /// The values a response decoder must give back, one at a time.
    #[test]
    fn faithful_responses_frame_correctly(resp in response(Values::Faithful), ctx in context()) {
        check_framing(&[resp], &ctx)?;
    }

    /// Every place a mailbox name appears: modified UTF-7 round-trips through `utf7::decode`
    /// and is 7-bit; UTF-8 names go out as their own bytes.
    #[test]
    fn mailbox_names_survive_the_wire(name in mailbox_string(), utf8_quoted in any::<bool>()) {
        for names in [NameEncoding::ModifiedUtf7, NameEncoding::Utf8] {
            let ctx = EncodeContext { names, utf8_quoted };
            for (resp, before, after) in carriers(&name) {
                let wire = response_to_vec(&resp, &ctx);
                let rest = wire.strip_prefix(before.as_bytes()).unwrap_or_else(|| {
                    panic!("{:?} does not start with {before:?}", String::from_utf8_lossy(&wire))
                });
                let (got, tail) = read_name(rest);
                prop_assert_eq!(tail, after.as_bytes(), "{:?}", String::from_utf8_lossy(&wire));
                match names {
                    NameEncoding::ModifiedUtf7 => {
                        prop_assert!(got.iter().all(|&b| (0x20..0x7f).contains(&b)), "{:?}", got);
                        prop_assert_eq!(utf7::decode(&got), Ok(name.clone()));
                    }
                    NameEncoding::Utf8 => prop_assert_eq!(&got, name.as_bytes()),
                }
            }
        }
    }
}

/// The first word of a value's `Debug` form: its variant's name.
fn label<T: std::fmt::Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    s.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap()
        .to_string()
}

/// Both flavours of the strategies reach every status, continuation, data response, response
/// code and FETCH item.
#[test]
fn strategies_reach_every_variant() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;
    use strategies::response::{code, fetch_value};

    fn sample<S: Strategy>(s: S, n: usize, seen: &mut BTreeSet<String>)
    where
        S::Value: std::fmt::Debug,
    {
        let mut runner = TestRunner::deterministic();
        for _ in 0..n {
            seen.insert(label(&s.new_tree(&mut runner).unwrap().current()));
        }
    }

    let responses = "Status, Continue, Data";
    let statuses = "Tagged, Untagged, PreAuth, Bye";
    let continuations = "Text, Base64";
    let data = "Capability, Enabled, List, Lsub, Namespace, Status, Esearch, Search, Flags, \
        Exists, Recent, Expunge, Vanished, Fetch, Id, Quota, QuotaRoot";
    let codes = "Alert, AlreadyExists, AppendUid, AuthenticationFailed, AuthorizationFailed, \
        BadCharset, Cannot, Capability, ClientBug, Closed, ContactAdmin, CopyUid, Corruption, \
        Expired, ExpungeIssued, HasChildren, InUse, Limit, NonExistent, NoPerm, OverQuota, Parse, \
        PermanentFlags, PrivacyRequired, ReadOnly, ReadWrite, ServerBug, TryCreate, UidNext, \
        UidNotSticky, UidValidity, Unavailable, UnknownCte, TooBig, UseAttr, CompressionActive, \
        HighestModSeq, NoModSeq, Modified, MailboxId, NotificationOverflow, BadEvent, Other";
    let fetch_items = "Flags, InternalDate, Rfc822Size, Envelope, Body, BodyStructure, \
        BodySection, Binary, BinarySize, Uid, ModSeq, EmailId, ThreadId, Rfc822, Rfc822Header, \
        Rfc822Text";
    for v in [Values::Any, Values::Faithful] {
        let mut seen = BTreeSet::new();
        sample(response(v), 300, &mut seen);
        sample(strategies::response::status(v), 200, &mut seen);
        sample(strategies::response::continuation(v), 100, &mut seen);
        sample(strategies::response::data(v), 1000, &mut seen);
        sample(code(v), 2000, &mut seen);
        sample(fetch_value(v), 1000, &mut seen);
        let all = [responses, statuses, continuations, data, codes, fetch_items].join(",");
        let missing: Vec<&str> = all
            .split(',')
            .map(str::trim)
            .filter(|n| !seen.contains(*n))
            .collect();
        assert_eq!(missing, Vec::<&str>::new(), "{v:?}");
    }
}
