//! SEARCH evaluation (RFC 9051 section 6.4.4, RFC 3501 for NEW/OLD/RECENT, RFC 7162 MODSEQ,
//! RFC 8474 EMAILID/THREADID) over the mailbox's message entries.
//!
//! The criteria are compiled first: search strings are decoded from CHARSET and case-folded
//! once, so an unknown charset fails before any message is touched. Each message is then
//! checked with the keys that need only its entry first; its octets and metadata are loaded
//! (at most once) only when a header, body, text or sent-date key still has to decide.
//!
//! Choices where the RFCs leave room: BEFORE/ON/SINCE compare the UTC date of INTERNALDATE;
//! SENT* compare the Date header's date in its own zone, falling back to INTERNALDATE when
//! there is no usable Date; MODSEQ ignores the entry name (one MODSEQ per message, as RFC
//! 7162 section 3.1.5 allows); THREADID matches nothing until threads exist.

mod date;
pub(crate) mod text;

use bytes::Bytes;
use roost_proto::{SearchKey, SequenceSet};

use super::{Candidate, MessageMeta, SearchEnv, SearchError};
use crate::store::FlagSet;
pub(crate) use text::part_text;
use text::HeaderText;

/// A search key with its arguments prepared.
enum Key {
    Const(bool),
    /// All of these flag bits set (`true`) or not all set (`false`).
    Flags(u64, bool),
    Recent,
    Internal(Cmp, (i64, u32, u32)),
    /// RFC 8514: the day the message was saved into the mailbox.
    Saved(Cmp, (i64, u32, u32)),
    Sent(Cmp, (i64, u32, u32)),
    Larger(u64),
    Smaller(u64),
    /// INTERNALDATE before this Unix time (`OLDER`) or at or after it (`YOUNGER`).
    Age {
        cutoff: i64,
        older: bool,
    },
    Uid(SequenceSet),
    Seq(SequenceSet),
    ModSeq(u64),
    EmailId(String),
    /// Field name (lowercase) and folded needle; an empty needle tests presence.
    Header(Vec<u8>, String),
    Body(String),
    Text(String),
    Not(Box<Key>),
    Or(Box<Key>, Box<Key>),
    And(Vec<Key>),
}

#[derive(Clone, Copy)]
enum Cmp {
    Before,
    On,
    Since,
}

impl Cmp {
    fn test(self, have: (i64, u32, u32), want: (i64, u32, u32)) -> bool {
        match self {
            Cmp::Before => have < want,
            Cmp::On => have == want,
            Cmp::Since => have >= want,
        }
    }
}

impl Key {
    /// Whether deciding this key may need the message loaded.
    fn needs_content(&self) -> bool {
        match self {
            Key::Sent(..) | Key::Header(..) | Key::Body(_) | Key::Text(_) => true,
            Key::Not(k) => k.needs_content(),
            Key::Or(a, b) => a.needs_content() || b.needs_content(),
            Key::And(v) => v.iter().any(Key::needs_content),
            _ => false,
        }
    }
}

/// Prepares the criteria: decodes and folds strings, resolves keywords.
struct Compiler<'e, 'a> {
    env: &'e SearchEnv<'a>,
}

impl Compiler<'_, '_> {
    fn needle(&self, bytes: &[u8]) -> Result<String, SearchError> {
        let charset = self.env.charset.map(str::as_bytes);
        text::decode_charset(bytes, charset)
            .map(|s| text::fold(&s))
            .ok_or_else(|| SearchError::BadCharset(self.env.charset.unwrap_or("").to_owned()))
    }

    fn header(&self, name: &[u8], value: &[u8]) -> Result<Key, SearchError> {
        Ok(Key::Header(name.to_ascii_lowercase(), self.needle(value)?))
    }

    fn keyword(&self, name: &str, want: bool) -> Key {
        match self
            .env
            .keywords
            .iter()
            .position(|k| k.eq_ignore_ascii_case(name))
            .filter(|&i| i < FlagSet::MAX_KEYWORDS)
        {
            Some(i) => Key::Flags(FlagSet::keyword_bit(i), want),
            // A keyword no message has: KEYWORD matches nothing, UNKEYWORD everything.
            None => Key::Const(!want),
        }
    }

    fn compile(&self, k: &SearchKey) -> Result<Key, SearchError> {
        use SearchKey as S;
        Ok(match k {
            S::All => Key::Const(true),
            S::Answered => Key::Flags(FlagSet::ANSWERED, true),
            S::Deleted => Key::Flags(FlagSet::DELETED, true),
            S::Draft => Key::Flags(FlagSet::DRAFT, true),
            S::Flagged => Key::Flags(FlagSet::FLAGGED, true),
            S::Seen => Key::Flags(FlagSet::SEEN, true),
            S::Unanswered => Key::Flags(FlagSet::ANSWERED, false),
            S::Undeleted => Key::Flags(FlagSet::DELETED, false),
            S::Undraft => Key::Flags(FlagSet::DRAFT, false),
            S::Unflagged => Key::Flags(FlagSet::FLAGGED, false),
            S::Unseen => Key::Flags(FlagSet::SEEN, false),
            S::Keyword(a) => self.keyword(a.as_str(), true),
            S::Unkeyword(a) => self.keyword(a.as_str(), false),
            S::New => Key::And(vec![Key::Recent, Key::Flags(FlagSet::SEEN, false)]),
            S::Old => Key::Not(Box::new(Key::Recent)),
            S::Recent => Key::Recent,
            S::Before(d) => Key::Internal(Cmp::Before, date::key(d)),
            S::On(d) => Key::Internal(Cmp::On, date::key(d)),
            S::Since(d) => Key::Internal(Cmp::Since, date::key(d)),
            // RFC 8514 section 4.3: the save date, disregarding time and zone like BEFORE.
            S::SavedBefore(d) => Key::Saved(Cmp::Before, date::key(d)),
            S::SavedOn(d) => Key::Saved(Cmp::On, date::key(d)),
            S::SavedSince(d) => Key::Saved(Cmp::Since, date::key(d)),
            // Every mailbox keeps save dates.
            S::SaveDateSupported => Key::Const(true),
            S::SentBefore(d) => Key::Sent(Cmp::Before, date::key(d)),
            S::SentOn(d) => Key::Sent(Cmp::On, date::key(d)),
            S::SentSince(d) => Key::Sent(Cmp::Since, date::key(d)),
            S::Larger(n) => Key::Larger(*n),
            S::Smaller(n) => Key::Smaller(*n),
            // RFC 5032: ages in seconds against the server's clock, now.
            S::Older(n) => Key::Age {
                cutoff: unix_now() - i64::from(*n),
                older: true,
            },
            S::Younger(n) => Key::Age {
                cutoff: unix_now() - i64::from(*n),
                older: false,
            },
            S::Uid(set) => Key::Uid(set.clone()),
            S::SequenceSet(set) => Key::Seq(set.clone()),
            S::ModSeq { mod_seq, .. } => Key::ModSeq(*mod_seq),
            S::EmailId(id) => Key::EmailId(id.clone()),
            // Threads are not computed yet: every message has THREADID NIL (RFC 8474
            // section 5.2), which no THREADID key matches.
            S::ThreadId(_) => Key::Const(false),
            S::Bcc(v) => self.header(b"bcc", v)?,
            S::Cc(v) => self.header(b"cc", v)?,
            S::From(v) => self.header(b"from", v)?,
            S::To(v) => self.header(b"to", v)?,
            S::Subject(v) => self.header(b"subject", v)?,
            S::Header(name, v) => self.header(name, v)?,
            S::Body(v) => Key::Body(self.needle(v)?),
            S::Text(v) => Key::Text(self.needle(v)?),
            S::Not(k) => Key::Not(Box::new(self.compile(k)?)),
            S::Or(a, b) => Key::Or(Box::new(self.compile(a)?), Box::new(self.compile(b)?)),
            S::And(v) => Key::And(self.compile_all(v)?),
        })
    }

    /// Compiles an AND list, entry-only keys first so content is loaded only when needed.
    fn compile_all(&self, keys: &[SearchKey]) -> Result<Vec<Key>, SearchError> {
        let mut v = keys
            .iter()
            .map(|k| self.compile(k))
            .collect::<Result<Vec<_>, _>>()?;
        v.sort_by_key(Key::needs_content);
        Ok(v)
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What has been loaded of one message, kept for the rest of its evaluation.
struct Loaded {
    raw: Bytes,
    meta: MessageMeta,
    headers: Option<Vec<HeaderText>>,
    body: Option<String>,
}

/// TEXT sees header lines whole (`name: value`), as the header is part of the message text.
fn header_line_matches(h: &HeaderText, needle: &str) -> bool {
    h.value.contains(needle)
        || format!("{}: {}", String::from_utf8_lossy(&h.name), h.value).contains(needle)
}

impl Loaded {
    fn headers(&mut self) -> &[HeaderText] {
        if self.headers.is_none() {
            let block = self
                .raw
                .get(self.meta.root.header.range())
                .unwrap_or_default();
            self.headers = Some(text::header_texts(block));
        }
        self.headers.as_deref().unwrap_or_default()
    }

    fn body(&mut self) -> &str {
        if self.body.is_none() {
            self.body = Some(text::body_text(&self.raw, &self.meta.root));
        }
        self.body.as_deref().unwrap_or_default()
    }
}

/// One candidate's evaluation.
struct Eval<'c, 'e, 'a> {
    cand: &'c Candidate<'c>,
    env: &'e SearchEnv<'a>,
    loaded: Option<Loaded>,
}

impl Eval<'_, '_, '_> {
    fn content(&mut self) -> Result<&mut Loaded, SearchError> {
        let loaded = match self.loaded.take() {
            Some(l) => l,
            None => {
                let (raw, meta) = (self.env.load)(self.cand.entry.blob)
                    .map_err(|e| SearchError::Io(e.to_string()))?;
                Loaded {
                    raw,
                    meta,
                    headers: None,
                    body: None,
                }
            }
        };
        Ok(self.loaded.insert(loaded))
    }

    fn matches(&mut self, k: &Key) -> Result<bool, SearchError> {
        let e = self.cand.entry;
        Ok(match k {
            Key::Const(b) => *b,
            Key::Flags(bits, want) => e.flags.contains(*bits) == *want,
            Key::Recent => self.cand.recent,
            Key::Internal(cmp, d) => cmp.test(date::utc_date(e.internal_date), *d),
            Key::Saved(cmp, d) => cmp.test(date::utc_date(e.saved), *d),
            Key::Larger(n) => u64::from(e.size) > *n,
            Key::Age { cutoff, older } => (e.internal_date < *cutoff) == *older,
            Key::Smaller(n) => u64::from(e.size) < *n,
            Key::Uid(set) => self.in_set(set, e.uid, self.env.largest_uid),
            Key::Seq(set) => self.in_set(set, self.cand.seq, self.env.largest_seq),
            Key::ModSeq(m) => e.mod_seq >= *m,
            Key::EmailId(id) => e.blob.to_string() == *id,
            Key::Sent(cmp, d) => {
                let internal = e.internal_date;
                let l = self.content()?;
                let sent = l.root_date().unwrap_or_else(|| date::utc_date(internal));
                cmp.test(sent, *d)
            }
            Key::Header(name, needle) => self
                .content()?
                .headers()
                .iter()
                .any(|h| h.name == *name && h.value.contains(needle.as_str())),
            Key::Body(needle) => self.content()?.body().contains(needle.as_str()),
            Key::Text(needle) => {
                let l = self.content()?;
                l.headers().iter().any(|h| header_line_matches(h, needle))
                    || l.body().contains(needle.as_str())
            }
            Key::Not(k) => !self.matches(k)?,
            Key::Or(a, b) => {
                // Try the side that needs no content first.
                let (a, b) = if a.needs_content() { (b, a) } else { (a, b) };
                self.matches(a)? || self.matches(b)?
            }
            Key::And(v) => {
                for k in v {
                    if !self.matches(k)? {
                        return Ok(false);
                    }
                }
                true
            }
        })
    }

    /// `$` stands for the UIDs saved by `SEARCH RETURN (SAVE)` whether it appears as a UID
    /// set or a sequence set (RFC 5182 section 2.1); nothing when no result was saved.
    fn in_set(&self, set: &SequenceSet, n: u32, largest: u32) -> bool {
        match set {
            SequenceSet::Saved => self
                .env
                .saved
                .is_some_and(|s| s.contains(&self.cand.entry.uid)),
            set => set.contains(n, largest),
        }
    }
}

impl Loaded {
    /// SENT* use the Date header's own calendar date; a message without a usable Date
    /// header is dated by its INTERNALDATE (as Dovecot does).
    fn root_date(&self) -> Option<(i64, u32, u32)> {
        self.meta.env.date.as_deref().and_then(date::header_date)
    }
}

pub(crate) fn search(
    criteria: &[SearchKey],
    candidates: &[Candidate<'_>],
    env: &SearchEnv<'_>,
) -> Result<Vec<u32>, SearchError> {
    // RFC 9051 section 6.4.4: an unsupported CHARSET is `NO [BADCHARSET]` whatever the
    // keys, even ones with no string for it to apply to.
    if let Some(charset) = env.charset {
        if text::decode_charset(b"", Some(charset.as_bytes())).is_none() {
            return Err(SearchError::BadCharset(charset.to_owned()));
        }
    }
    let key = Key::And(Compiler { env }.compile_all(criteria)?);
    let mut out = Vec::new();
    for cand in candidates {
        let mut eval = Eval {
            cand,
            env,
            loaded: None,
        };
        if eval.matches(&key)? {
            out.push(cand.entry.uid);
        }
    }
    Ok(out)
}
