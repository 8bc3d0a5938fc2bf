//! Proptest strategies for arbitrary protocol values, shared by the property tests.
//!
//! Test binaries include this module with `#[path = "strategies/mod.rs"] mod strategies;`; each
//! uses part of it, so unused items are allowed here. The command strategies ([`command`]) make
//! only values the command grammar can express, because their property is an exact round
//! trip. The response strategies ([`response`]) come in two flavours ([`Values`]): everything
//! the types allow (for the writer's framing invariants) and values that a response decoder
//! must give back unchanged (for a write → decode round trip). Every restriction is commented
//! where it is made.
//!
//! This module holds the primitives both sides share: tags, atoms, byte strings, mailbox
//! names, sequence sets, flags and dates.

#![allow(dead_code)]

pub mod command;
pub mod response;

use bytes::Bytes;
use proptest::prelude::*;
use roost_proto::*;

/// Proptest settings for these tests. Case counts are kept modest so the crate's tests stay
/// well under a minute in debug; `PROPTEST_CASES` raises them for a longer run. Failures are
/// not persisted to files in the source tree: every bug found gets a named regression test.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Which values a strategy may produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Anything the types allow, including text the writer must sanitise and values outside
    /// the grammar (the writer still has to produce well-framed output).
    Any,
    /// Only values the writer puts on the wire faithfully, so decoding gives them back.
    Faithful,
}

/// Characters a tag may hold (`tag = 1*<any ASTRING-CHAR except "+">`).
fn tag_chars() -> Vec<u8> {
    (0x21..=0x7e).filter(|&b| is_tag_char(b)).collect()
}

/// Characters an atom may hold (`ATOM-CHAR`).
fn atom_chars() -> Vec<u8> {
    (0x21..=0x7e).filter(|&b| is_atom_char(b)).collect()
}

pub fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        3 => "[A-Za-z][0-9]{1,4}".prop_map(|s| Tag::new(s).unwrap()),
        1 => prop::collection::vec(prop::sample::select(tag_chars()), 1..10)
            .prop_map(|v| Tag::new(String::from_utf8(v).unwrap()).unwrap()),
    ]
}

/// Any atom, mostly word-like, sometimes with the odd ATOM-CHAR (`=`, `]`-free, `+`, `$`, ...).
pub fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        3 => "[A-Za-z][A-Za-z0-9=.-]{0,10}".prop_map(|s| Atom::new(s).unwrap()),
        1 => prop::collection::vec(prop::sample::select(atom_chars()), 1..12)
            .prop_map(|v| Atom::new(String::from_utf8(v).unwrap()).unwrap()),
        1 => Just(Atom::new("NIL").unwrap()),
    ]
}

/// A byte that tends to hit the writer's choices: quoting, escaping, literals.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => b'a'..=b'z',
        2 => b'0'..=b'9',
        3 => prop::sample::select(b" \"\\(){}%*[]<>&~+-./:$=".to_vec()),
        1 => prop::sample::select(b"\r\n\t\x01\x7f".to_vec()),
        1 => 0x80u8..=0xff,
        1 => any::<u8>(),
    ]
}

/// Arbitrary bytes (8-bit, CR, LF, NUL, quotes, spaces), sometimes long enough that the
/// writer must use a literal whatever they hold.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => prop::collection::vec(interesting_byte(), 0..24),
        2 => "[A-Za-z0-9.-]{1,12}".prop_map(String::into_bytes),
        1 => Just(b"NIL".to_vec()),
        1 => Just(Vec::new()),
        1 => prop::collection::vec(b'a'..=b'z', 1001..1040),
    ]
}

/// [`bytes`] without NUL: `string` is `quoted / literal`, and neither may hold NUL
/// (`CHAR8 = %x01-ff`); only `literal8` can.
pub fn bytes_no_nul() -> impl Strategy<Value = Vec<u8>> {
    bytes().prop_map(|mut v| {
        v.retain(|&b| b != 0);
        v
    })
}

/// A mailbox name as wire bytes: ASCII names, INBOX in any case, modified UTF-7, raw UTF-8,
/// spaces, quotes and arbitrary 8-bit bytes. Built with [`MailboxName::from_wire`], which
/// normalises INBOX exactly as the parser does.
///
/// Restriction: no NUL, which neither a quoted string nor a `literal` can carry.
pub fn mailbox_name() -> impl Strategy<Value = MailboxName> {
    prop_oneof![
        2 => prop::sample::select(vec!["INBOX", "inbox", "InBoX", "Sent", "Drafts", "NIL"])
            .prop_map(|s| s.as_bytes().to_vec()),
        2 => "[A-Za-z0-9 /._&-]{1,20}".prop_map(String::into_bytes),
        2 => "\\PC{0,8}".prop_map(|s| roost_proto::utf7::encode(&s)),
        1 => "\\PC{0,8}".prop_map(String::into_bytes),
        3 => bytes_no_nul(),
    ]
    .prop_map(MailboxName::from_wire)
}

/// A LIST pattern (`list-mailbox`), with wildcards. Restriction: no NUL (see
/// [`mailbox_name`]).
pub fn list_pattern() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::sample::select(vec!["*", "%", "", "INBOX", "Archive/%", "~/Mail/*"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => "[A-Za-z%*/]{1,10}".prop_map(String::into_bytes),
        2 => bytes_no_nul(),
    ]
}

fn seq_value() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 1u32..100, 1 => 1u32..=u32::MAX, 1 => Just(u32::MAX)]
}

fn seq_bound(star: bool) -> BoxedStrategy<SeqBound> {
    if star {
        prop_oneof![4 => seq_value().prop_map(SeqBound::Value), 1 => Just(SeqBound::Star)].boxed()
    } else {
        seq_value().prop_map(SeqBound::Value).boxed()
    }
}

fn ranges(star: bool) -> impl Strategy<Value = Vec<SeqRange>> {
    prop::collection::vec(
        (seq_bound(star), seq_bound(star), any::<bool>()).prop_map(|(a, b, single)| {
            if single {
                SeqRange::single(a)
            } else {
                SeqRange { start: a, end: b }
            }
        }),
        1..5,
    )
}

/// `sequence-set` as a command carries it: numbers, ranges (either order), `*`, and `$`.
///
/// Restriction: at least one range, and no zero (`seq-number = nz-number / "*"`).
pub fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        6 => ranges(true).prop_map(SequenceSet::Ranges),
        1 => Just(SequenceSet::Saved),
    ]
}

/// A `uid-set` as responses carry it (APPENDUID, COPYUID, VANISHED): the server always
/// knows the numbers, so no `*` and no `$`.
pub fn uid_set() -> impl Strategy<Value = SequenceSet> {
    ranges(false).prop_map(SequenceSet::Ranges)
}

/// Flag names that `Flag::parse` maps to a variant of their own: an `Extension` with one of
/// these names would come back as that variant.
pub const SYSTEM_FLAG_NAMES: &[&str] =
    &["answered", "flagged", "deleted", "seen", "draft", "recent"];

/// `\Atom` flag extensions other than the system flags.
fn flag_extension() -> impl Strategy<Value = Flag> {
    atom()
        .prop_filter("a system flag name", |a| {
            !SYSTEM_FLAG_NAMES.iter().any(|n| a.eq_ignore_case(n))
        })
        .prop_map(Flag::Extension)
}

/// A `flag` as STORE and APPEND carry it.
///
/// Restrictions: no `\*` (that is `flag-perm`, only in PERMANENTFLAGS), and an `Extension`
/// never carries a system flag's name (`Flag::Extension("Seen")` is written `\Seen`, which is
/// `Flag::Seen`: the type has two spellings of one flag, the wire has one).
pub fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        prop::sample::select(vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
            Flag::Recent,
        ]),
        atom().prop_map(Flag::Keyword),
        flag_extension(),
    ]
}

pub fn flags() -> impl Strategy<Value = Vec<Flag>> {
    prop::collection::vec(flag(), 0..5)
}

pub fn date() -> impl Strategy<Value = Date> {
    (1u16..=9999, 1u8..=12, 1u8..=31)
        .prop_filter_map("no such day", |(y, m, d)| Date::new(y, m, d).ok())
}

pub fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..61, -1439i16..=1439)
        .prop_map(|(d, h, mi, s, z)| DateTime::new(d, h, mi, s, z).unwrap())
}

/// `number64`: 0 to 2^63 - 1 (RFC 9051 section 9).
pub fn number64() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0u64..1000, 1 => 0u64..=i64::MAX as u64, 1 => Just(i64::MAX as u64)]
}

/// `nz-number64`.
pub fn nz_number64() -> impl Strategy<Value = u64> {
    number64().prop_map(|n| n.max(1))
}

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")` (RFC 8474 section 7), `NIL` included: it is a
/// valid object id.
pub fn object_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9_-]{1,40}",
        1 => "[A-Za-z0-9_-]{255}",
        1 => Just("NIL".to_string()),
    ]
}

/// A METADATA entry name (RFC 5464 section 3.2): `/private` or `/shared` in any case, then
/// one to three components. Components start with `x` so none is `vendor`, whose subtree
/// needs four components.
pub fn entry_name() -> impl Strategy<Value = EntryName> {
    (
        prop::sample::select(vec!["/private", "/shared", "/PRIVATE", "/Shared"]),
        prop::collection::vec("x[a-zA-Z0-9._-]{0,6}", 1..4),
    )
        .prop_map(|(scope, parts)| {
            EntryName::new(format!("{scope}/{}", parts.join("/")).as_bytes())
                .expect("a valid entry name")
        })
}

/// A METADATA value: `NIL` or any octets (NUL makes it a `literal8`).
pub fn metadata_value() -> impl Strategy<Value = MetadataValue> {
    prop::option::of(bytes().prop_map(Bytes::from))
}
