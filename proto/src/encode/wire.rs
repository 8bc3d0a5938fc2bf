//! Primitive values shared by the response and command writers: numbers, atoms, strings,
//! sequence sets, flags, dates and parenthesised lists (RFC 9051 sections 4 and 9).
//!
//! Both writers go through the [`Sink`] trait, because the only thing that differs between
//! them is how a literal is framed: the server announces `{N}` and sends the data straight
//! after, the client may have to stop and wait for `+` (which [`super::command`] models as a
//! fragment boundary).

use bytes::Bytes;

use crate::types::{
    is_astring_char, is_atom_char, Date, DateTime, Flag, SeqBound, SeqRange, SequenceSet, MONTHS,
};

/// Strings longer than this are written as literals even when they could be quoted: a long
/// quoted string gains nothing, and many clients read literals into a buffer of known size.
pub(crate) const MAX_QUOTED: usize = 1000;

/// Where encoded bytes go.
pub(crate) trait Sink {
    /// Appends protocol bytes to the current line.
    fn put(&mut self, bytes: &[u8]);

    /// Writes a literal announcement and its data. `binary` selects `literal8` (`~{N}`).
    fn literal(&mut self, data: &[u8], binary: bool);

    /// Like [`Sink::literal`] for data that is already shared, so large message bodies are not
    /// copied.
    fn literal_bytes(&mut self, data: &Bytes, binary: bool) {
        self.literal(data, binary);
    }

    /// A literal (a literal8 when `binary`) of `len` octets that the caller sends itself (a
    /// streamed message body).
    /// Only the server's [`Output`](super::Output) can leave a hole; other sinks write the
    /// literal's header and nothing else, which no caller asks of them.
    fn hole(&mut self, len: u64, binary: bool) {
        self.put(&literal_header(
            binary,
            usize::try_from(len).unwrap_or(usize::MAX),
            false,
        ));
    }

    /// Whether 8-bit UTF-8 may be sent inside quoted strings (`UTF8=ACCEPT` / IMAP4rev2).
    fn utf8_quoted(&self) -> bool;
}

pub(crate) fn sp(s: &mut impl Sink) {
    s.put(b" ");
}

pub(crate) fn crlf(s: &mut impl Sink) {
    s.put(b"\r\n");
}

/// Decimal digits of `n` without allocating.
pub(crate) fn number(s: &mut impl Sink, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.put(&buf[i..]);
}

/// The `{N}` / `~{N}` header of a literal whose data the caller sends next, e.g. `{342}`.
pub(crate) fn literal_header(binary: bool, len: usize, non_sync: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    if binary {
        v.push(b'~');
    }
    v.push(b'{');
    v.extend_from_slice(len.to_string().as_bytes());
    if non_sync {
        v.push(b'+');
    }
    v.extend_from_slice(b"}\r\n");
    v
}

/// Whether `data` can be sent as a `quoted` string (RFC 9051 `QUOTED-CHAR`).
pub(crate) fn is_quotable(data: &[u8], utf8: bool) -> bool {
    data.len() <= MAX_QUOTED
        && !data.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
        && (data.is_ascii() || (utf8 && std::str::from_utf8(data).is_ok()))
}

/// `quoted`: the caller has checked [`is_quotable`]; `"` and `\` are escaped.
pub(crate) fn quoted(s: &mut impl Sink, data: &[u8]) {
    s.put(b"\"");
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'"' || b == b'\\' {
            s.put(&data[start..i]);
            s.put(b"\\");
            start = i;
        }
    }
    s.put(&data[start..]);
    s.put(b"\"");
}

/// `string`: quoted when possible, otherwise a literal.
pub(crate) fn string(s: &mut impl Sink, data: &[u8]) {
    if is_quotable(data, s.utf8_quoted()) {
        quoted(s, data);
    } else {
        s.literal(data, false);
    }
}

/// `nstring`: `NIL` or a string.
pub(crate) fn nstring(s: &mut impl Sink, data: Option<&[u8]>) {
    match data {
        Some(d) => string(s, d),
        None => s.put(b"NIL"),
    }
}

/// `astring`: an atom when every byte is `ASTRING-CHAR`, else a string.
///
/// `NIL` is quoted even though it is a valid atom, because generic response parsers (which
/// many clients have) read a bare `NIL` as nil rather than as a name.
pub(crate) fn astring(s: &mut impl Sink, data: &[u8]) {
    if !data.is_empty() && data.iter().all(|&b| is_astring_char(b)) && !is_nil(data) {
        s.put(data);
    } else {
        string(s, data);
    }
}

/// An atom when every byte is `ATOM-CHAR` (e.g. a charset name or an object id), else a
/// string.
pub(crate) fn atom_or_string(s: &mut impl Sink, data: &[u8]) {
    if !data.is_empty() && data.iter().all(|&b| is_atom_char(b)) && !is_nil(data) {
        s.put(data);
    } else {
        string(s, data);
    }
}

fn is_nil(data: &[u8]) -> bool {
    data.eq_ignore_ascii_case(b"NIL")
}

/// Message data (`BODY[...]`, `RFC822*`, `BINARY`): always a literal, never copied when large;
/// `NIL` when absent.
pub(crate) fn nliteral(s: &mut impl Sink, data: Option<&Bytes>, binary: bool) {
    match data {
        Some(d) => s.literal_bytes(d, binary),
        None => s.put(b"NIL"),
    }
}

/// A METADATA `value = nstring / literal8` (RFC 5464 section 5): `literal8` when the value
/// holds a NUL, which neither a quoted string nor a `literal` may carry.
pub(crate) fn metadata_value(s: &mut impl Sink, value: Option<&Bytes>) {
    match value {
        Some(v) if v.contains(&0) => s.literal_bytes(v, true),
        Some(v) if is_quotable(v, s.utf8_quoted()) => quoted(s, v),
        Some(v) => s.literal_bytes(v, false),
        None => s.put(b"NIL"),
    }
}

/// `entry-values = "(" entry-value *(SP entry-value) ")"` (RFC 5464 section 5).
pub(crate) fn metadata_entry_values<S: Sink>(
    s: &mut S,
    entries: &[(crate::types::EntryName, Option<Bytes>)],
) {
    paren_list(s, entries, |s, (name, value)| {
        astring(s, name.as_str().as_bytes());
        sp(s);
        metadata_value(s, value.as_ref());
    });
}

/// `(a b c)`: each item written by `f`, separated by SP.
pub(crate) fn paren_list<S: Sink, T>(s: &mut S, items: &[T], mut f: impl FnMut(&mut S, &T)) {
    s.put(b"(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            sp(s);
        }
        f(s, item);
    }
    s.put(b")");
}

/// `NIL` for an empty list, else `(a b c)`; used for `body-fld-param` and friends.
pub(crate) fn nil_or_list<S: Sink, T>(s: &mut S, items: &[T], f: impl FnMut(&mut S, &T)) {
    if items.is_empty() {
        s.put(b"NIL");
    } else {
        paren_list(s, items, f);
    }
}

pub(crate) fn flag(s: &mut impl Sink, f: &Flag) {
    s.put(f.as_text().as_bytes());
}

/// `flag-list = "(" [flag *(SP flag)] ")"`.
pub(crate) fn flag_list(s: &mut impl Sink, flags: &[Flag]) {
    paren_list(s, flags, |s, f| flag(s, f));
}

fn seq_bound(s: &mut impl Sink, b: SeqBound) {
    match b {
        SeqBound::Value(n) => number(s, u64::from(n)),
        SeqBound::Star => s.put(b"*"),
    }
}

fn seq_range(s: &mut impl Sink, r: &SeqRange) {
    seq_bound(s, r.start);
    if r.start != r.end {
        s.put(b":");
        seq_bound(s, r.end);
    }
}

/// `sequence-set`, e.g. `2,4:7,9,12:*`, or `$`.
pub(crate) fn sequence_set(s: &mut impl Sink, set: &SequenceSet) {
    match set {
        SequenceSet::Ranges(ranges) => {
            for (i, r) in ranges.iter().enumerate() {
                if i > 0 {
                    s.put(b",");
                }
                seq_range(s, r);
            }
        }
        SequenceSet::Saved => s.put(b"$"),
    }
}

fn month(m: u8) -> &'static [u8] {
    // Out-of-range months cannot come from `Date::new`; fall back rather than panic.
    MONTHS
        .get(usize::from(m).wrapping_sub(1))
        .copied()
        .unwrap_or("Jan")
        .as_bytes()
}

fn two_digits(s: &mut impl Sink, n: u8, pad: u8) {
    let n = n.min(99);
    let hi = if n >= 10 { b'0' + n / 10 } else { pad };
    s.put(&[hi, b'0' + n % 10]);
}

fn four_digits(s: &mut impl Sink, n: u16) {
    let n = n.min(9999);
    s.put(&[
        b'0' + (n / 1000) as u8,
        b'0' + (n / 100 % 10) as u8,
        b'0' + (n / 10 % 10) as u8,
        b'0' + (n % 10) as u8,
    ]);
}

/// `date-time`, e.g. `"17-Jul-1996 02:44:25 -0700"`; the day is space-padded
/// (`date-day-fixed`).
pub(crate) fn date_time(s: &mut impl Sink, dt: &DateTime) {
    s.put(b"\"");
    two_digits(s, dt.date.day, b' ');
    s.put(b"-");
    s.put(month(dt.date.month));
    s.put(b"-");
    four_digits(s, dt.date.year);
    sp(s);
    two_digits(s, dt.hour, b'0');
    s.put(b":");
    two_digits(s, dt.minute, b'0');
    s.put(b":");
    two_digits(s, dt.second, b'0');
    sp(s);
    let zone = dt.zone_minutes.clamp(-1439, 1439);
    s.put(if zone < 0 { b"-" } else { b"+" });
    let abs = zone.unsigned_abs();
    two_digits(s, (abs / 60) as u8, b'0');
    two_digits(s, (abs % 60) as u8, b'0');
    s.put(b"\"");
}

/// `date-text`, e.g. `1-Feb-1994` (SEARCH dates: no padding, no quotes).
pub(crate) fn date(s: &mut impl Sink, d: &Date) {
    number(s, u64::from(d.day));
    s.put(b"-");
    s.put(month(d.month));
    s.put(b"-");
    four_digits(s, d.year);
}

/// A hierarchy delimiter: `DQUOTE QUOTED-CHAR DQUOTE` or `NIL`.
pub(crate) fn delimiter(s: &mut impl Sink, d: Option<char>) {
    let mut buf = [0u8; 4];
    match d {
        Some(c) if is_quotable(c.encode_utf8(&mut buf).as_bytes(), s.utf8_quoted()) => {
            quoted(s, c.encode_utf8(&mut buf).as_bytes());
        }
        _ => s.put(b"NIL"),
    }
}

/// `text`: any characters except CR and LF (RFC 9051 section 9). Line breaks and NUL become
/// spaces so a response can never be split or injected into; non-ASCII is replaced by `?`
/// unless the client accepts UTF-8, since rev1 `text` is 7-bit. `forbid` names one more byte
/// to replace (`]` inside a response code).
pub(crate) fn text(s: &mut impl Sink, t: &str, forbid: Option<u8>) {
    text_inner(s, t, forbid);
}

/// [`text`] at the end of a line. Text that ends like a literal announcement (`Done {3}`)
/// gets one trailing space: a client that finds literals by looking at line ends (imap-codec's
/// fragmentizer, this crate's own decoders) would otherwise wait for three octets of literal
/// data, or take the start of the next response for them.
pub(crate) fn line_end_text(s: &mut impl Sink, t: &str) {
    if text_inner(s, t, None) {
        s.put(b" ");
    }
}

/// Writes sanitised text; returns whether it ends like a literal announcement.
fn text_inner(s: &mut impl Sink, t: &str, forbid: Option<u8>) -> bool {
    let utf8 = s.utf8_quoted();
    let clean = |c: char| -> Option<char> {
        if matches!(c, '\r' | '\n' | '\0') || forbid.is_some_and(|f| c == char::from(f)) {
            Some(' ')
        } else if !c.is_ascii() && !utf8 {
            Some('?')
        } else {
            None
        }
    };
    let fixed: std::borrow::Cow<'_, str> = if t.chars().all(|c| clean(c).is_none()) {
        t.into()
    } else {
        t.chars()
            .map(|c| clean(c).unwrap_or(c))
            .collect::<String>()
            .into()
    };
    s.put(fixed.as_bytes());
    crate::parse::cursor::literal_at_end(fixed.as_bytes()).is_some()
}

/// `NAME n`, e.g. `UIDNEXT 4392`.
pub(crate) fn named_number(s: &mut impl Sink, name: &[u8], n: u64) {
    s.put(name);
    sp(s);
    number(s, n);
}

/// `"(" objectid ")"` or `NIL` (RFC 8474 section 7).
pub(crate) fn object_id(s: &mut impl Sink, id: Option<&String>) {
    match id {
        Some(id) => {
            s.put(b"(");
            objectid(s, id.as_bytes());
            s.put(b")");
        }
        None => s.put(b"NIL"),
    }
}

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")` (RFC 8474 section 7).
pub(crate) fn is_objectid(id: &[u8]) -> bool {
    (1..=255).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An `objectid`, written as it is: the grammar has no quoted form, so not even `NIL` (a valid
/// object id) is quoted. A value that is no object id (Roost never makes one) falls back to a
/// string so the line stays well-formed.
pub(crate) fn objectid(s: &mut impl Sink, id: &[u8]) {
    if is_objectid(id) {
        s.put(id);
    } else {
        string(s, id);
    }
}

/// A value whose grammar is `quoted` alone, or `atom / quoted` (a SEARCH charset, the MODSEQ
/// entry name of RFC 7162): quoted whatever its length or 8-bit content, since a literal would
/// not parse there. Only a value holding CR, LF or NUL, which no quoted string can carry, falls
/// back to a literal.
pub(crate) fn quoted_only(s: &mut impl Sink, data: &[u8]) {
    if data.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
        s.literal(data, false);
    } else {
        quoted(s, data);
    }
}

/// A sink that collects into a `Vec<u8>`, for unit tests of the primitives.
#[cfg(test)]
pub(crate) struct VecSink {
    pub(crate) out: Vec<u8>,
    pub(crate) utf8: bool,
}

#[cfg(test)]
impl Sink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn literal(&mut self, data: &[u8], binary: bool) {
        self.out
            .extend_from_slice(&literal_header(binary, data.len(), false));
        self.out.extend_from_slice(data);
    }

    fn utf8_quoted(&self) -> bool {
        self.utf8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(utf8: bool, f: impl FnOnce(&mut VecSink)) -> String {
        let mut s = VecSink {
            out: Vec::new(),
            utf8,
        };
        f(&mut s);
        String::from_utf8_lossy(&s.out).into_owned()
    }

    #[test]
    fn numbers() {
        assert_eq!(with(false, |s| number(s, 0)), "0");
        assert_eq!(with(false, |s| number(s, u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn strings_pick_quoted_or_literal() {
        assert_eq!(
            with(false, |s| string(s, b"a \"b\" \\c")),
            r#""a \"b\" \\c""#
        );
        assert_eq!(with(false, |s| string(s, b"")), "\"\"");
        assert_eq!(with(false, |s| string(s, b"a\r\nb")), "{4}\r\na\r\nb");
        assert_eq!(with(false, |s| string(s, "é".as_bytes())), "{2}\r\né");
        assert_eq!(with(true, |s| string(s, "é".as_bytes())), "\"é\"");
        // Not UTF-8: a literal even when UTF-8 is accepted.
        assert!(with(true, |s| string(s, b"\xff")).starts_with("{1}\r\n"));
        let long = vec![b'x'; MAX_QUOTED + 1];
        assert!(with(false, |s| string(s, &long)).starts_with("{1001}\r\n"));
    }

    #[test]
    fn astrings_are_atoms_when_possible() {
        assert_eq!(with(false, |s| astring(s, b"blurdybloop")), "blurdybloop");
        assert_eq!(with(false, |s| astring(s, b"foo]bar")), "foo]bar");
        assert_eq!(with(false, |s| astring(s, b"a b")), "\"a b\"");
        assert_eq!(with(false, |s| astring(s, b"")), "\"\"");
        assert_eq!(with(false, |s| astring(s, b"nil")), "\"nil\"");
        assert_eq!(with(false, |s| astring(s, b"50%")), "\"50%\"");
    }

    #[test]
    fn sequence_sets() {
        let set = SequenceSet::Ranges(vec![
            SeqRange::single(SeqBound::Value(2)),
            SeqRange {
                start: SeqBound::Value(4),
                end: SeqBound::Value(7),
            },
            SeqRange {
                start: SeqBound::Value(12),
                end: SeqBound::Star,
            },
        ]);
        assert_eq!(with(false, |s| sequence_set(s, &set)), "2,4:7,12:*");
        assert_eq!(with(false, |s| sequence_set(s, &SequenceSet::Saved)), "$");
    }

    #[test]
    fn date_time_is_day_padded() {
        let dt = DateTime::new(Date::new(1996, 7, 7).unwrap(), 2, 44, 25, -420).unwrap();
        assert_eq!(
            with(false, |s| date_time(s, &dt)),
            "\" 7-Jul-1996 02:44:25 -0700\""
        );
        let dt = DateTime::new(Date::new(2024, 12, 31).unwrap(), 23, 5, 0, 330).unwrap();
        assert_eq!(
            with(false, |s| date_time(s, &dt)),
            "\"31-Dec-2024 23:05:00 +0530\""
        );
        let d = Date::new(1994, 2, 1).unwrap();
        assert_eq!(with(false, |s| date(s, &d)), "1-Feb-1994");
    }

    #[test]
    fn text_is_sanitised() {
        assert_eq!(with(false, |s| text(s, "a\r\nb\0c", None)), "a  b c");
        assert_eq!(with(false, |s| text(s, "née", None)), "n?e");
        assert_eq!(with(true, |s| text(s, "née", None)), "née");
        assert_eq!(with(false, |s| text(s, "x]y", Some(b']'))), "x y");
    }

    /// Regression (found by the response writer property test): `* OK Done {3}` ended its
    /// line like a literal announcement, so a client cutting lines at `{N}` CRLF waited for
    /// three octets of literal data.
    #[test]
    fn text_never_ends_like_a_literal_announcement() {
        assert_eq!(with(false, |s| line_end_text(s, "Done {3}")), "Done {3} ");
        assert_eq!(with(false, |s| line_end_text(s, "{0+}")), "{0+} ");
        assert_eq!(with(false, |s| line_end_text(s, "x\n{12}")), "x {12} ");
        assert_eq!(with(false, |s| line_end_text(s, "{3} done")), "{3} done");
        assert_eq!(with(false, |s| line_end_text(s, "set {}")), "set {}");
        // Inside a response code the `]` follows, so nothing is added.
        assert_eq!(with(false, |s| text(s, "x {3}", Some(b']'))), "x {3}");
    }

    #[test]
    fn delimiters() {
        assert_eq!(with(false, |s| delimiter(s, Some('/'))), "\"/\"");
        assert_eq!(with(false, |s| delimiter(s, Some('\\'))), "\"\\\\\"");
        assert_eq!(with(false, |s| delimiter(s, None)), "NIL");
    }
}
