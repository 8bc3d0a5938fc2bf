//! Checked newtypes for the values the IMAP grammar is built from (RFC 9051 section 4).

use std::fmt;

/// Error returned when a value does not satisfy the grammar rule its type stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// The ABNF rule the value had to match, e.g. `"atom"` or `"tag"`.
    pub rule: &'static str,
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid {}", self.rule)
    }
}

impl std::error::Error for InvalidValue {}

/// `ATOM-CHAR`: any CHAR except `atom-specials` (RFC 9051 section 9).
pub fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e)
        && !matches!(
            b,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`: atom characters plus `]`.
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `tag = 1*<any ASTRING-CHAR except "+">`.
pub fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
pub fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// A command tag, echoed on the tagged completion response.
///
/// ```text
/// tag = 1*<any ASTRING-CHAR except "+">
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// # Errors
    /// When `s` is empty or holds a character that may not appear in a tag.
    pub fn new(s: impl Into<String>) -> Result<Self, InvalidValue> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(is_tag_char) {
            Ok(Tag(s))
        } else {
            Err(InvalidValue { rule: "tag" })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An atom: a non-empty run of `ATOM-CHAR`. Used for capability names, keywords, mechanism
/// names and other protocol tokens. Comparison is byte-exact; use [`Atom::eq_ignore_case`]
/// where the protocol says case does not matter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(String);

impl Atom {
    /// # Errors
    /// When `s` is empty or holds an atom-special.
    pub fn new(s: impl Into<String>) -> Result<Self, InvalidValue> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(is_atom_char) {
            Ok(Atom(s))
        } else {
            Err(InvalidValue { rule: "atom" })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({})", self.0)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that must never be printed: passwords, SASL responses.
///
/// `Debug` always prints `<redacted>`, in every build, so test logs cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself. Named loudly so every use is easy to find.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A mailbox name as it appeared on the wire (`mailbox = "INBOX" / astring`).
///
/// The bytes are kept undecoded: an IMAP4rev1 client sends modified UTF-7 (RFC 3501
/// section 5.1.3), an IMAP4rev2 or `UTF8=ACCEPT` client sends UTF-8, and only the session knows
/// which is in force when the command runs. [`MailboxName::decode`] turns it into UTF-8.
/// Any case-variant of `INBOX` is normalised to `INBOX` by the parser.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MailboxName(Vec<u8>);

/// How mailbox names are encoded on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NameEncoding {
    /// Modified UTF-7 (IMAP4rev1 without `UTF8=ACCEPT`).
    #[default]
    ModifiedUtf7,
    /// Plain UTF-8 (IMAP4rev2 enabled, or `UTF8=ACCEPT`).
    Utf8,
}

impl MailboxName {
    /// Wraps wire bytes, normalising any case of `INBOX` to `INBOX`.
    pub fn from_wire(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        if bytes.eq_ignore_ascii_case(b"INBOX") {
            MailboxName(b"INBOX".to_vec())
        } else {
            MailboxName(bytes)
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn is_inbox(&self) -> bool {
        self.0 == b"INBOX"
    }

    /// Decodes the wire name into UTF-8 under the connection's encoding.
    ///
    /// # Errors
    /// When the bytes are not valid modified UTF-7 or UTF-8 respectively.
    pub fn decode(&self, encoding: NameEncoding) -> Result<String, InvalidValue> {
        match encoding {
            NameEncoding::ModifiedUtf7 => crate::utf7::decode(&self.0),
            NameEncoding::Utf8 => String::from_utf8(self.0.clone()).map_err(|_| InvalidValue {
                rule: "UTF-8 mailbox name",
            }),
        }
    }

    /// Encodes a UTF-8 name for the wire under the connection's encoding.
    pub fn encode(name: &str, encoding: NameEncoding) -> Self {
        match encoding {
            NameEncoding::ModifiedUtf7 => MailboxName::from_wire(crate::utf7::encode(name)),
            NameEncoding::Utf8 => MailboxName::from_wire(name.as_bytes()),
        }
    }
}

impl fmt::Debug for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailboxName({:?})", String::from_utf8_lossy(&self.0))
    }
}

/// A message flag or keyword (RFC 9051 section 2.3.2).
///
/// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension`
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Answered,
    Flagged,
    Deleted,
    Seen,
    Draft,
    /// `\Recent`: only in responses, and only to IMAP4rev1 sessions.
    Recent,
    /// `\*` in PERMANENTFLAGS: the client may create new keywords.
    Wildcard,
    /// A keyword such as `$Forwarded` or `NonJunk`.
    Keyword(Atom),
    /// Another system flag, `\Something`; the atom is without the backslash.
    Extension(Atom),
}

impl Flag {
    /// Parses the text of a flag as written on the wire (`\Seen`, `$Junk`, `\*`).
    ///
    /// # Errors
    /// When the text is not a flag.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let invalid = InvalidValue { rule: "flag" };
        if let Some(rest) = text.strip_prefix('\\') {
            let lower = rest.to_ascii_lowercase();
            Ok(match lower.as_str() {
                "answered" => Flag::Answered,
                "flagged" => Flag::Flagged,
                "deleted" => Flag::Deleted,
                "seen" => Flag::Seen,
                "draft" => Flag::Draft,
                "recent" => Flag::Recent,
                "*" => Flag::Wildcard,
                _ => Flag::Extension(Atom::new(rest).map_err(|_| invalid)?),
            })
        } else {
            Ok(Flag::Keyword(Atom::new(text).map_err(|_| invalid)?))
        }
    }

    /// The wire text of the flag.
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        match self {
            Flag::Answered => Cow::Borrowed("\\Answered"),
            Flag::Flagged => Cow::Borrowed("\\Flagged"),
            Flag::Deleted => Cow::Borrowed("\\Deleted"),
            Flag::Seen => Cow::Borrowed("\\Seen"),
            Flag::Draft => Cow::Borrowed("\\Draft"),
            Flag::Recent => Cow::Borrowed("\\Recent"),
            Flag::Wildcard => Cow::Borrowed("\\*"),
            Flag::Keyword(a) => Cow::Borrowed(a.as_str()),
            Flag::Extension(a) => Cow::Owned(format!("\\{a}")),
        }
    }
}

/// One end of a sequence range: a number or `*` (the largest number in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqBound {
    Value(u32),
    /// `*`: resolved by the session to the highest sequence number or UID.
    Star,
}

/// `seq-range = seq-number ":" seq-number`, or a single `seq-number` when `start == end`.
///
/// The bounds are kept as written; `4:2` means the same as `2:4` (RFC 9051 section 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqRange {
    pub start: SeqBound,
    pub end: SeqBound,
}

impl SeqRange {
    pub fn single(bound: SeqBound) -> Self {
        SeqRange {
            start: bound,
            end: bound,
        }
    }

    /// The range with both ends resolved (`*` → `largest`) and ordered low..=high.
    pub fn resolve(&self, largest: u32) -> (u32, u32) {
        let v = |b: SeqBound| match b {
            SeqBound::Value(n) => n,
            SeqBound::Star => largest,
        };
        let (a, b) = (v(self.start), v(self.end));
        (a.min(b), a.max(b))
    }
}

/// `sequence-set` of RFC 9051: ranges and numbers, or `$` (the saved search result).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Non-empty list of ranges as written.
    Ranges(Vec<SeqRange>),
    /// `$`: the result saved by `SEARCH RETURN (SAVE)` (RFC 9051 section 6.4.4.1).
    Saved,
}

impl SequenceSet {
    /// A set holding exactly the given numbers, compressed into ranges.
    pub fn from_numbers(numbers: impl IntoIterator<Item = u32>) -> Self {
        let mut v: Vec<u32> = numbers.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        Self::in_order(v)
    }

    /// A set listing the numbers in the order given (ESORT's `ALL`, RFC 5267 section 3.2):
    /// only runs of consecutive ascending numbers become ranges, nothing is reordered.
    pub fn in_order(numbers: impl IntoIterator<Item = u32>) -> Self {
        let mut ranges: Vec<SeqRange> = Vec::new();
        for n in numbers {
            if let Some(SeqRange {
                end: SeqBound::Value(e),
                ..
            }) = ranges.last_mut()
            {
                if e.checked_add(1) == Some(n) {
                    *e = n;
                    continue;
                }
            }
            ranges.push(SeqRange::single(SeqBound::Value(n)));
        }
        SequenceSet::Ranges(ranges)
    }

    /// Whether `n` is in the set, given the value `*` stands for. `$` contains nothing here:
    /// the session substitutes the saved result before asking.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SequenceSet::Ranges(r) => r.iter().any(|r| {
                let (lo, hi) = r.resolve(largest);
                lo <= n && n <= hi
            }),
            SequenceSet::Saved => false,
        }
    }
}

/// A calendar date as used by SEARCH (`date-text`, e.g. `1-Feb-1994`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    /// 1..=12
    pub month: u8,
    /// 1..=31
    pub day: u8,
}

impl Date {
    /// # Errors
    /// When the day does not exist in that month, or the year is outside 1..=9999.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InvalidValue> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if (1..=9999).contains(&year) && day >= 1 && day <= days {
            Ok(Date { year, month, day })
        } else {
            Err(InvalidValue { rule: "date" })
        }
    }
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`,
/// e.g. `"17-Jul-1996 02:44:25 -0700"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset from UTC in minutes, -1439..=1439 (`zone` is `("+" / "-") 4DIGIT`).
    pub zone_minutes: i16,
}

impl DateTime {
    /// # Errors
    /// When a time field or the zone is out of range.
    pub fn new(
        date: Date,
        hour: u8,
        minute: u8,
        second: u8,
        zone_minutes: i16,
    ) -> Result<Self, InvalidValue> {
        if hour < 24 && minute < 60 && second < 61 && zone_minutes.abs() < 24 * 60 {
            Ok(DateTime {
                date,
                hour,
                minute,
                second,
                zone_minutes,
            })
        } else {
            Err(InvalidValue { rule: "date-time" })
        }
    }

    /// Seconds since the Unix epoch (UTC).
    pub fn unix_timestamp(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.date.year),
            i64::from(self.date.month),
            i64::from(self.date.day),
        );
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone_minutes) * 60
    }

    /// The UTC date-time for a Unix timestamp (zone `+0000`).
    pub fn from_unix_timestamp(ts: i64) -> Self {
        let days = ts.div_euclid(86_400);
        let secs = ts.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        DateTime {
            date: Date {
                year: y.clamp(1, 9999) as u16,
                month: m as u8,
                day: d as u8,
            },
            hour: (secs / 3600) as u8,
            minute: (secs % 3600 / 60) as u8,
            second: (secs % 60) as u8,
            zone_minutes: 0,
        }
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Month abbreviations as IMAP writes them (`date-month`).
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
