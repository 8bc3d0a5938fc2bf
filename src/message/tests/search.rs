//! SEARCH: every key of `SearchKey`, CHARSET, encoded-words, and how often messages load.

use std::cell::Cell;

use bytes::Bytes;
use roost_proto::{Atom, Date, SearchKey as K, SeqBound, SeqRange, SequenceSet};

use super::golden::message;
use crate::message::{search, Candidate, MessageMeta, SearchEnv, SearchError};
use crate::store::{BlobId, FlagSet, MessageEntry};

/// The mailbox: (golden message, flags, INTERNALDATE), UIDs 10, 20, 30, ...
const MAILBOX: &[(&str, u64, i64)] = &[
    // 2024-03-12 09:14:03 UTC
    ("01-plain", FlagSet::SEEN | FlagSet::ANSWERED, 1_710_234_843),
    // 2024-03-16 23:59:59 UTC
    (
        "05-quoted-printable",
        FlagSet::FLAGGED | FlagSet::keyword_bit(0),
        1_710_633_599,
    ),
    // 2024-03-17 00:00:00 UTC
    (
        "06-encoded-words",
        FlagSet::DELETED | FlagSet::DRAFT,
        1_710_633_600,
    ),
    (
        "07-groups",
        FlagSet::keyword_bit(1) | FlagSet::SEEN,
        1_710_780_000,
    ),
    ("02-alternative", 0, 1_710_363_731),
    ("10-8bit-headers", FlagSet::SEEN, 1_710_962_420),
    ("04-forward", FlagSet::SEEN, 1_710_500_400),
    // No Date header: SENT* fall back to INTERNALDATE (2024-03-25).
    ("14-malformed", 0, 1_711_360_000),
];

struct Fixture {
    entries: Vec<MessageEntry>,
    raws: Vec<Bytes>,
    loads: Cell<usize>,
}

impl Fixture {
    fn new() -> Fixture {
        let raws: Vec<Bytes> = MAILBOX.iter().map(|m| Bytes::from(message(m.0))).collect();
        let entries = MAILBOX
            .iter()
            .zip(&raws)
            .enumerate()
            .map(|(i, (&(_, flags, date), raw))| MessageEntry {
                uid: (i as u32 + 1) * 10,
                mod_seq: i as u64 + 1,
                flags: FlagSet(flags),
                internal_date: date,
                size: raw.len() as u32,
                blob: BlobId(0xabc0 + i as u128),
                saved: date,
            })
            .collect();
        Fixture {
            entries,
            raws,
            loads: Cell::new(0),
        }
    }

    fn run_with(
        &self,
        keys: Vec<K>,
        charset: Option<&str>,
        saved: Option<&[u32]>,
    ) -> Result<Vec<u32>, SearchError> {
        let keywords = ["$Work".to_owned(), "Urgent".to_owned()];
        let load = |blob: BlobId| {
            self.loads.set(self.loads.get() + 1);
            let raw = self.raws[(blob.0 - 0xabc0) as usize].clone();
            let meta = MessageMeta::parse(&raw);
            Ok((raw, meta))
        };
        let candidates: Vec<Candidate<'_>> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, entry)| Candidate {
                seq: i as u32 + 1,
                entry,
                // The last two arrived in this session.
                recent: i >= 6,
            })
            .collect();
        let env = SearchEnv {
            keywords: &keywords,
            largest_seq: candidates.len() as u32,
            largest_uid: self.entries.last().map_or(0, |e| e.uid),
            saved,
            charset,
            load: &load,
        };
        search(&keys, &candidates, &env)
    }

    fn run(&self, keys: Vec<K>) -> Vec<u32> {
        self.run_with(keys, None, None).unwrap()
    }
}

fn s(v: &str) -> Vec<u8> {
    v.as_bytes().to_vec()
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn set(ranges: &[(u32, Option<u32>)]) -> SequenceSet {
    let b = |v: Option<u32>| v.map_or(SeqBound::Star, SeqBound::Value);
    SequenceSet::Ranges(
        ranges
            .iter()
            .map(|&(a, e)| SeqRange {
                start: SeqBound::Value(a),
                end: b(e),
            })
            .collect(),
    )
}

#[test]
fn system_flags_and_their_negations() {
    let f = Fixture::new();
    assert_eq!(f.run(vec![K::All]), vec![10, 20, 30, 40, 50, 60, 70, 80]);
    assert_eq!(f.run(vec![K::Seen]), vec![10, 40, 60, 70]);
    assert_eq!(f.run(vec![K::Unseen]), vec![20, 30, 50, 80]);
    assert_eq!(f.run(vec![K::Answered]), vec![10]);
    assert_eq!(f.run(vec![K::Unanswered]).len(), 7);
    assert_eq!(f.run(vec![K::Flagged]), vec![20]);
    assert_eq!(f.run(vec![K::Unflagged]).len(), 7);
    assert_eq!(f.run(vec![K::Deleted]), vec![30]);
    assert_eq!(f.run(vec![K::Undeleted]).len(), 7);
    assert_eq!(f.run(vec![K::Draft]), vec![30]);
    assert_eq!(f.run(vec![K::Undraft]).len(), 7);
    assert_eq!(f.loads.get(), 0, "flag keys need no message content");
}

#[test]
fn keywords_via_the_table() {
    let f = Fixture::new();
    let kw = |s: &str| Atom::new(s).unwrap();
    assert_eq!(f.run(vec![K::Keyword(kw("$work"))]), vec![20]);
    assert_eq!(f.run(vec![K::Keyword(kw("URGENT"))]), vec![40]);
    assert_eq!(f.run(vec![K::Keyword(kw("Nope"))]), Vec::<u32>::new());
    assert_eq!(f.run(vec![K::Unkeyword(kw("Nope"))]).len(), 8);
    assert_eq!(f.run(vec![K::Unkeyword(kw("$Work"))]).len(), 7);
}

#[test]
fn recent_new_old() {
    let f = Fixture::new();
    assert_eq!(f.run(vec![K::Recent]), vec![70, 80]);
    assert_eq!(f.run(vec![K::New]), vec![80]);
    assert_eq!(f.run(vec![K::Old]), vec![10, 20, 30, 40, 50, 60]);
}

#[test]
fn internal_date_keys_use_the_utc_date() {
    let f = Fixture::new();
    assert_eq!(f.run(vec![K::On(date(2024, 3, 16))]), vec![20]);
    assert_eq!(f.run(vec![K::On(date(2024, 3, 17))]), vec![30]);
    assert_eq!(f.run(vec![K::Before(date(2024, 3, 13))]), vec![10]);
    assert_eq!(f.run(vec![K::Since(date(2024, 3, 20))]), vec![60, 80]);
    assert_eq!(f.run(vec![K::Since(date(2024, 3, 21))]), vec![80]);
    assert_eq!(
        f.run(vec![
            K::Since(date(2024, 3, 16)),
            K::Before(date(2024, 3, 18))
        ]),
        vec![20, 30]
    );
    assert_eq!(f.loads.get(), 0);
}

#[test]
fn sent_date_keys_use_the_date_header_in_its_own_zone() {
    let f = Fixture::new();
    // "Sun, 17 Mar 2024 07:00:00 +0900" is 16 March in UTC.
    assert_eq!(f.run(vec![K::SentOn(date(2024, 3, 17))]), vec![30]);
    assert_eq!(f.run(vec![K::SentBefore(date(2024, 3, 13))]), vec![10]);
    assert_eq!(f.run(vec![K::SentSince(date(2024, 3, 20))]), vec![60, 80]);
    // No Date header: INTERNALDATE's date.
    assert_eq!(f.run(vec![K::SentOn(date(2024, 3, 25))]), vec![80]);
}

#[test]
fn sizes_modseq_and_ids() {
    let f = Fixture::new();
    let len = |i: usize| f.entries[i].size as u64;
    let all = f.run(vec![K::Larger(0)]);
    assert_eq!(all.len(), 8);
    assert_eq!(
        f.run(vec![K::Larger(len(0) - 1), K::Smaller(len(0) + 1)]),
        vec![10]
    );
    assert!(!f.run(vec![K::Larger(len(0))]).contains(&10));
    assert!(!f.run(vec![K::Smaller(len(0))]).contains(&10));
    assert_eq!(
        f.run(vec![K::ModSeq {
            entry: None,
            mod_seq: 7
        }]),
        vec![70, 80]
    );
    let id = f.entries[3].blob.to_string();
    assert_eq!(f.run(vec![K::EmailId(id)]), vec![40]);
    assert_eq!(f.run(vec![K::EmailId("E00".into())]), Vec::<u32>::new());
    assert_eq!(f.run(vec![K::ThreadId("T1".into())]), Vec::<u32>::new());
    assert_eq!(f.loads.get(), 0);
}

#[test]
fn uid_and_sequence_sets_with_star_and_saved() {
    let f = Fixture::new();
    assert_eq!(
        f.run(vec![K::Uid(set(&[(20, Some(40))]))]),
        vec![20, 30, 40]
    );
    assert_eq!(f.run(vec![K::Uid(set(&[(75, None)]))]), vec![80]);
    // `n:*` with n past the top still means the last message.
    assert_eq!(f.run(vec![K::Uid(set(&[(1000, None)]))]), vec![80]);
    assert_eq!(
        f.run(vec![K::SequenceSet(set(&[(2, Some(2)), (7, None)]))]),
        vec![20, 70, 80]
    );
    assert_eq!(f.run(vec![K::SequenceSet(set(&[(9, None)]))]), vec![80]);
    let saved = [30, 60, 999];
    for key in [
        K::Uid(SequenceSet::Saved),
        K::SequenceSet(SequenceSet::Saved),
    ] {
        assert_eq!(
            f.run_with(vec![key.clone()], None, Some(&saved)).unwrap(),
            vec![30, 60]
        );
        assert_eq!(
            f.run_with(vec![key], None, None).unwrap(),
            Vec::<u32>::new()
        );
    }
}

#[test]
fn not_or_and_nesting() {
    let f = Fixture::new();
    assert_eq!(
        f.run(vec![K::Or(Box::new(K::Flagged), Box::new(K::Deleted))]),
        vec![20, 30]
    );
    assert_eq!(
        f.run(vec![K::Not(Box::new(K::Seen)), K::Not(Box::new(K::Recent))]),
        vec![20, 30, 50]
    );
    assert_eq!(
        f.run(vec![K::And(vec![
            K::Seen,
            K::Or(
                Box::new(K::Answered),
                Box::new(K::Not(Box::new(K::Or(
                    Box::new(K::Recent),
                    Box::new(K::Keyword(Atom::new("urgent").unwrap()))
                )))),
            ),
        ])]),
        vec![10, 60]
    );
}

#[test]
fn header_key_substring_and_presence() {
    let f = Fixture::new();
    assert_eq!(
        f.run(vec![K::Header(s("message-id"), s("<QP-1@example.de>"))]),
        vec![20]
    );
    // The empty string matches every message that has the field.
    assert_eq!(f.run(vec![K::Header(s("In-Reply-To"), s(""))]), vec![10]);
    assert_eq!(
        f.run(vec![K::Header(s("X-Absent"), s(""))]),
        Vec::<u32>::new()
    );
    assert_eq!(
        f.run(vec![K::Header(s("Received"), s("ESMTPS id 4F2b"))]),
        vec![10]
    );
}

#[test]
fn address_and_subject_keys_decode_encoded_words_and_8bit() {
    let f = Fixture::new();
    // ISO-8859-1 encoded-word in 05, raw UTF-8 in 10; Unicode case folding.
    assert_eq!(f.run(vec![K::From(s("JÖRG MÜLLER"))]), vec![20, 60]);
    assert_eq!(f.run(vec![K::Subject(s("grüße"))]), vec![20, 60]);
    assert_eq!(f.run(vec![K::Subject(s("会議の予定 / meeting"))]), vec![30]);
    assert_eq!(f.run(vec![K::From(s("山田"))]), vec![30]);
    assert_eq!(f.run(vec![K::To(s("françoise"))]), vec![30]);
    // Unlabelled Latin-1 in a header.
    assert_eq!(f.run(vec![K::To(s("ZOË"))]), vec![60]);
    assert_eq!(f.run(vec![K::To(s("undisclosed-recipients"))]), vec![40]);
    assert_eq!(f.run(vec![K::Cc(s("project team"))]), vec![40]);
    assert_eq!(f.run(vec![K::Cc(s("dave, the builder"))]), vec![10]);
    assert_eq!(f.run(vec![K::Bcc(s("hidden"))]), vec![40]);
    assert_eq!(f.run(vec![K::Subject(s("lunch"))]), vec![10, 70]);
}

#[test]
fn body_searches_decoded_text_parts_only() {
    let f = Fixture::new();
    // Quoted-printable ISO-8859-1 with a soft line break inside the word.
    assert_eq!(f.run(vec![K::Body(s("STRASSENBAHN"))]), Vec::<u32>::new());
    assert_eq!(f.run(vec![K::Body(s("straßenbahn fährt"))]), vec![20]);
    // Base64 UTF-8.
    assert_eq!(f.run(vec![K::Body(s("午前10時"))]), vec![30]);
    assert_eq!(f.run(vec![K::Body(s("meeting is at 10"))]), vec![30]);
    // HTML is searched as text, so markup does not match but the words do.
    assert_eq!(
        f.run(vec![K::Body(s("everything – this week only"))]),
        vec![50]
    );
    assert_eq!(f.run(vec![K::Body(s("<b>"))]), Vec::<u32>::new());
    // Header text is not body text, except an encapsulated message's header.
    assert_eq!(f.run(vec![K::Body(s("Alice Example"))]), vec![70]);
    assert_eq!(f.run(vec![K::Body(s("list-bounces"))]), vec![70]);
}

#[test]
fn text_searches_header_and_body() {
    let f = Fixture::new();
    assert_eq!(f.run(vec![K::Text(s("alice example"))]), vec![10, 70]);
    assert_eq!(f.run(vec![K::Text(s("return-path: <alice"))]), vec![10]);
    assert_eq!(f.run(vec![K::Text(s("main street"))]), vec![10]);
}

#[test]
fn charset_decodes_the_search_strings() {
    let f = Fixture::new();
    let latin1 = b"gr\xfc\xdfe".to_vec();
    assert_eq!(
        f.run_with(vec![K::Subject(latin1.clone())], Some("ISO-8859-1"), None)
            .unwrap(),
        vec![20, 60]
    );
    assert_eq!(
        f.run_with(vec![K::Subject(s("lunch"))], Some("us-ascii"), None)
            .unwrap(),
        vec![10, 70]
    );
    assert_eq!(
        f.run_with(vec![K::Subject(s("grüße"))], Some("UTF-8"), None)
            .unwrap(),
        vec![20, 60]
    );
    assert_eq!(
        f.run_with(
            vec![K::Body(b"k\xf6ln".to_vec())],
            Some("windows-1252"),
            None
        )
        .unwrap(),
        vec![20]
    );
}

#[test]
fn unknown_charset_fails_before_loading_anything() {
    let f = Fixture::new();
    let r = f.run_with(vec![K::Seen, K::Body(s("x"))], Some("X-KLINGON"), None);
    assert_eq!(r, Err(SearchError::BadCharset("X-KLINGON".into())));
    // Even keys without strings: the charset is refused as such (RFC 9051 section 6.4.4).
    assert_eq!(
        f.run_with(vec![K::Seen], Some("X-KLINGON"), None),
        Err(SearchError::BadCharset("X-KLINGON".into()))
    );
    assert_eq!(f.loads.get(), 0);
}

#[test]
fn messages_load_only_when_needed_and_at_most_once() {
    let f = Fixture::new();
    // Only the flagged message needs its content checked.
    assert_eq!(f.run(vec![K::Subject(s("grüße")), K::Flagged]), vec![20]);
    assert_eq!(f.loads.get(), 1);
    f.loads.set(0);
    let keys = vec![
        K::Subject(s("e")),
        K::Body(s("e")),
        K::Text(s("e")),
        K::SentSince(date(1990, 1, 1)),
        K::Or(
            Box::new(K::From(s("zzz"))),
            Box::new(K::Not(Box::new(K::Header(s("x-none"), s(""))))),
        ),
    ];
    f.run(keys);
    assert_eq!(f.loads.get(), 8);
}

#[test]
fn load_failures_are_reported() {
    let f = Fixture::new();
    let keywords: [String; 0] = [];
    let entry = f.entries[0];
    let cands = [Candidate {
        seq: 1,
        entry: &entry,
        recent: false,
    }];
    let load = |_: BlobId| Err(std::io::Error::other("blob gone"));
    let env = SearchEnv {
        keywords: &keywords,
        largest_seq: 1,
        largest_uid: 10,
        saved: None,
        charset: None,
        load: &load,
    };
    assert!(matches!(
        search(&[K::Body(s("x"))], &cands, &env),
        Err(SearchError::Io(_))
    ));
    assert_eq!(search(&[K::Seen], &cands, &env), Ok(vec![10]));
}
