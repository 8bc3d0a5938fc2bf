//! Unit tests of the cursor primitives (RFC 9051 section 9 rules).

use super::*;
use crate::types::Date;

/// Runs `f` over `input`; the message is leaked so results may borrow from it (tests only).
fn with<T>(input: &[u8], f: impl FnOnce(&mut Cursor<'static>) -> T) -> (T, usize) {
    let bytes: &'static Bytes = Box::leak(Box::new(Bytes::copy_from_slice(input)));
    let limits = Limits::default();
    let mut c = Cursor::new(bytes, &limits);
    let out = f(&mut c);
    (out, c.pos())
}

fn with_limits<T>(input: &[u8], limits: Limits, f: impl FnOnce(&mut Cursor<'_>) -> T) -> T {
    let bytes = Bytes::copy_from_slice(input);
    let mut c = Cursor::new(&bytes, &limits);
    f(&mut c)
}

#[test]
fn numbers_are_checked() {
    assert_eq!(with(b"4294967295 ", |c| c.number()).0, Ok(u32::MAX));
    assert!(with(b"4294967296", |c| c.number()).0.is_err());
    assert!(with(b"99999999999999999999999", |c| c.number64())
        .0
        .is_err());
    assert_eq!(
        with(b"9223372036854775807", |c| c.number64()).0,
        Ok(i64::MAX as u64)
    );
    assert!(with(b"9223372036854775808", |c| c.number64()).0.is_err());
    assert!(with(b"0", |c| c.nz_number()).0.is_err());
    assert!(with(b"x", |c| c.number()).0.is_err());
    assert_eq!(with(b"007", |c| c.number()).0, Ok(7));
}

#[test]
fn atoms_stop_at_specials() {
    assert_eq!(with(b"abc(def", |c| c.atom()), (Ok("abc"), 3));
    assert_eq!(with(b"a]b", |c| c.atom()), (Ok("a"), 1));
    assert!(with(b" x", |c| c.atom()).0.is_err());
    assert!(with(b"\x80", |c| c.atom()).0.is_err());
}

#[test]
fn astring_forms() {
    assert_eq!(
        with(b"a]b c", |c| c.astring().map(|s| s.into_owned())).0,
        Ok(b"a]b".to_vec())
    );
    assert_eq!(
        with(br#""a \"q\" \\ b" "#, |c| c
            .astring()
            .map(|s| s.into_owned())),
        (Ok(br#"a "q" \ b"#.to_vec()), 14)
    );
    assert_eq!(
        with(b"{3}\r\nabc rest", |c| c.astring().map(|s| s.into_owned())),
        (Ok(b"abc".to_vec()), 8)
    );
    assert_eq!(
        with(b"{3+}\nabc", |c| c.astring().map(|s| s.into_owned())).0,
        Ok(b"abc".to_vec())
    );
    assert!(with(b"{5}\r\nabc", |c| c.astring()).0.is_err());
    assert!(with(b"~{3}\r\nabc", |c| c.string()).0.is_err());
    assert!(with(b"{18446744073709551615}\r\n", |c| c.astring())
        .0
        .is_err());
}

#[test]
fn quoted_errors() {
    let e = with(b"\"abc", |c| c.quoted()).0.unwrap_err();
    assert_eq!(e.reason, "unterminated quoted string");
    assert!(with(b"\"a\r\nb\"", |c| c.quoted()).0.is_err());
    assert!(with(b"\"a\\nb\"", |c| c.quoted()).0.is_err());
    assert!(with(b"\"a\0b\"", |c| c.quoted()).0.is_err());
    assert!(matches!(
        with(b"\"plain\"", |c| c.quoted()).0,
        Ok(Cow::Borrowed(b"plain"))
    ));
    assert_eq!(
        with("\"Grüße\"".as_bytes(), |c| c
            .quoted()
            .map(|s| s.into_owned()))
        .0,
        Ok("Grüße".as_bytes().to_vec())
    );
}

#[test]
fn literal8_and_zero_copy() {
    let bytes = Bytes::from_static(b"~{3}\r\na\0b)");
    let limits = Limits::default();
    let mut c = Cursor::new(&bytes, &limits);
    let (data, binary) = c.literal_bytes().unwrap();
    assert!(binary);
    assert_eq!(&data[..], b"a\0b");
    assert_eq!(c.peek(), Some(b')'));
    // The slice shares the message's allocation.
    assert_eq!(data.as_ptr(), bytes[6..].as_ptr());
}

#[test]
fn nstring_and_nil() {
    assert_eq!(with(b"NIL", |c| c.nstring()).0, Ok(None));
    assert_eq!(with(b"nil", |c| c.nstring()).0, Ok(None));
    assert!(with(b"NILS", |c| c.nstring()).0.is_err());
}

#[test]
fn mailbox_normalises_inbox() {
    assert!(with(b"iNbOx", |c| c.mailbox()).0.unwrap().is_inbox());
    assert!(with(b"\"inbox\"", |c| c.mailbox()).0.unwrap().is_inbox());
    assert!(!with(b"INBOX.x", |c| c.mailbox()).0.unwrap().is_inbox());
    let e = with(b"(x", |c| c.mailbox()).0.unwrap_err();
    assert_eq!(e.reason, "expected mailbox name");
}

#[test]
fn list_mailbox_allows_wildcards() {
    assert_eq!(
        with(b"%/*] x", |c| c.list_mailbox().map(|s| s.into_owned())).0,
        Ok(b"%/*]".to_vec())
    );
}

#[test]
fn tags() {
    assert_eq!(with(b"a.1 X", |c| c.tag()).0, Ok(Tag::new("a.1").unwrap()));
    assert!(with(b"+ X", |c| c.tag()).0.is_err());
    assert!(with(b"* X", |c| c.tag()).0.is_err());
    assert_eq!(with(b"a+b", |c| c.tag()), (Ok(Tag::new("a").unwrap()), 1));
}

#[test]
fn flags() {
    assert_eq!(
        with(b"(\\Seen \\answered $Forwarded \\X-Ext)", |c| c.flag_list()).0,
        Ok(vec![
            Flag::Seen,
            Flag::Answered,
            Flag::Keyword(crate::types::Atom::new("$Forwarded").unwrap()),
            Flag::Extension(crate::types::Atom::new("X-Ext").unwrap()),
        ])
    );
    assert_eq!(with(b"()", |c| c.flag_list()).0, Ok(vec![]));
    assert!(with(b"(\\Seen )", |c| c.flag_list()).0.is_err());
    assert!(with(b"(\\)", |c| c.flag_list()).0.is_err());
    assert!(with(b"\\*", |c| c.flag()).0.is_err());
    assert_eq!(with(b"\\*", |c| c.flag_perm()).0, Ok(Flag::Wildcard));
}

#[test]
fn sequence_sets() {
    use SeqBound::*;
    assert_eq!(
        with(b"2,4:7,9,12:*", |c| c.sequence_set()).0,
        Ok(SequenceSet::Ranges(vec![
            SeqRange::single(Value(2)),
            SeqRange {
                start: Value(4),
                end: Value(7)
            },
            SeqRange::single(Value(9)),
            SeqRange {
                start: Value(12),
                end: Star
            },
        ]))
    );
    assert_eq!(
        with(b"*:*", |c| c.sequence_set()).0,
        Ok(SequenceSet::Ranges(vec![SeqRange::single(Star)]))
    );
    assert_eq!(with(b"$", |c| c.sequence_set()).0, Ok(SequenceSet::Saved));
    assert!(with(b"0:5", |c| c.sequence_set()).0.is_err());
    assert!(with(b"1,", |c| c.sequence_set()).0.is_err());
    assert!(with(b"1:", |c| c.sequence_set()).0.is_err());
    let limits = Limits {
        max_set_ranges: 3,
        ..Limits::default()
    };
    let e = with_limits(b"1,2,3,4", limits, |c| c.sequence_set()).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TooComplex);
}

#[test]
fn dates() {
    assert_eq!(
        with(b"1-Feb-1994", |c| c.date()).0,
        Ok(Date::new(1994, 2, 1).unwrap())
    );
    assert_eq!(
        with(b"\"01-feb-1994\"", |c| c.date()).0,
        Ok(Date::new(1994, 2, 1).unwrap())
    );
    assert!(with(b"30-Feb-1994", |c| c.date()).0.is_err());
    assert!(with(b"1-Fob-1994", |c| c.date()).0.is_err());
    assert!(with(b"111-Feb-1994", |c| c.date()).0.is_err());
    let dt = with(b"\"17-Jul-1996 02:44:25 -0700\"", |c| c.date_time())
        .0
        .unwrap();
    assert_eq!(dt.date, Date::new(1996, 7, 17).unwrap());
    assert_eq!((dt.hour, dt.minute, dt.second), (2, 44, 25));
    assert_eq!(dt.zone_minutes, -420);
    let dt = with(b"\" 7-Jul-1996 02:44:25 +0130\"", |c| c.date_time())
        .0
        .unwrap();
    assert_eq!((dt.date.day, dt.zone_minutes), (7, 90));
    assert!(with(b"\"17-Jul-1996 25:44:25 -0700\"", |c| c.date_time())
        .0
        .is_err());
    assert!(with(b"\"17-Jul-1996 02:44:25 0700\"", |c| c.date_time())
        .0
        .is_err());
    assert!(with(b"\"17-Jul-1996 02:44:25 -0799\"", |c| c.date_time())
        .0
        .is_err());
}

#[test]
fn keywords_match_whole_words_case_insensitively() {
    assert_eq!(with(b"body[", |c| c.keyword("BODY")), (true, 4));
    assert_eq!(with(b"BODYSTRUCTURE", |c| c.keyword("BODY")), (false, 0));
    assert_eq!(
        with(b"rfc822.size ", |c| c.keyword("RFC822.SIZE")),
        (true, 11)
    );
}

#[test]
fn nesting_is_limited() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    fn nested(c: &mut Cursor<'_>) -> PResult<usize> {
        c.paren_list("list", true, |c| nested(c).map(|n| n + 1))
            .map(|v| v.into_iter().max().unwrap_or(0))
    }
    assert!(with_limits(b"((()))", limits.clone(), nested).is_ok());
    let e = with_limits(b"(((())))", limits, nested).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TooComplex);
}

#[test]
fn finish_rejects_trailing_bytes() {
    assert!(with(b"\r\n", |c| c.finish()).0.is_ok());
    assert!(with(b"\n", |c| c.finish()).0.is_ok());
    assert_eq!(
        with(b" x\r\n", |c| c.finish()).0.unwrap_err().reason,
        "unexpected characters after command"
    );
    assert!(with(b"\r\nx", |c| c.finish()).0.is_err());
}

#[test]
fn literal_announcements_at_line_end() {
    let h = |l: &[u8]| literal_at_end(l);
    assert_eq!(
        h(b"a APPEND x {12}"),
        Some(LiteralHeader {
            length: 12,
            non_sync: false,
            binary: false
        })
    );
    assert_eq!(
        h(b"~{0+}"),
        Some(LiteralHeader {
            length: 0,
            non_sync: true,
            binary: true
        })
    );
    assert_eq!(h(b"a {}"), None);
    assert_eq!(h(b"a {1a}"), None);
    assert_eq!(h(b"a 12}"), None);
    assert_eq!(
        h(b"{99999999999999999999999}").map(|l| l.length),
        Some(u64::MAX)
    );
}

#[test]
fn errors_never_panic_on_truncation() {
    for input in [
        &b"\""[..],
        b"{",
        b"{1",
        b"{1}",
        b"{1}\r",
        b"~",
        b"\"1-Feb",
        b"1-",
        b"\\",
        b"(",
    ] {
        let _ = with(input, |c| {
            (
                c.clone_pos_probe(|c| c.astring().is_ok()),
                c.clone_pos_probe(|c| c.date_time().is_ok()),
                c.clone_pos_probe(|c| c.date().is_ok()),
                c.clone_pos_probe(|c| c.flag_list().is_ok()),
                c.clone_pos_probe(|c| c.literal_bytes().is_ok()),
            )
        });
    }
}

impl Cursor<'_> {
    /// Runs `f` and rewinds, for tests that try several rules on one input.
    fn clone_pos_probe(&mut self, f: impl FnOnce(&mut Self) -> bool) -> bool {
        let pos = self.pos;
        let r = f(self);
        self.pos = pos;
        self.depth = 0;
        r
    }
}
