//! The value a message sorts by under each sort key (RFC 5256 section 3, RFC 5957 section
//! 4), computed once per message and command from the stored ENVELOPE fields.
//!
//! Strings are compared by their i;unicode-casemap key (RFC 5051, as RFC 5256 section 7
//! requires): each character's titlecase, then NFKD decomposition, compared octet by octet.

use roost_proto::SortKey;

use super::super::address::Addr;
use super::super::envelope::Env;
use super::super::search::text::decode_header_value;
use super::base_subject;
use crate::message::order_facts::OrderFacts;
use crate::store::MessageEntry;

/// One message's value under one key. A key's values are all of one variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Value {
    Number(i64),
    /// A [`collation_key`]; the empty string (an absent header) sorts first.
    Text(String),
}

/// Whether the key needs the message's ENVELOPE (else the index entry is enough).
pub(crate) fn needs_envelope(key: SortKey) -> bool {
    !matches!(key, SortKey::Arrival | SortKey::Size)
}

/// What a message's index entry tells: INTERNALDATE (UTC seconds) and RFC822.SIZE.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    pub internal_date: i64,
    pub size: u32,
}

impl From<&MessageEntry> for Facts {
    fn from(e: &MessageEntry) -> Self {
        Facts {
            internal_date: e.internal_date,
            size: e.size,
        }
    }
}

/// The value of `key` for a message; `env` is `None` only for keys that need no envelope.
pub(crate) fn value(key: SortKey, facts: Facts, env: Option<&Env>) -> Value {
    let absent = Env::default();
    let env = env.unwrap_or(&absent);
    let text = |s: String| Value::Text(collation_key(&s));
    match key {
        SortKey::Arrival => Value::Number(facts.internal_date),
        SortKey::Size => Value::Number(i64::from(facts.size)),
        SortKey::Date => Value::Number(sent_date(env).unwrap_or(facts.internal_date)),
        SortKey::Subject => text(subject(env)),
        SortKey::From => text(first_mailbox(&env.from)),
        SortKey::To => text(first_mailbox(&env.to)),
        SortKey::Cc => text(first_mailbox(&env.cc)),
        SortKey::DisplayFrom => text(display(&env.from)),
        SortKey::DisplayTo => text(display(&env.to)),
    }
}

/// The value of `key` from a message's cached ordering facts, for the keys they cover.
pub(crate) fn fact_value(key: SortKey, facts: &Facts, of: &OrderFacts) -> Option<Value> {
    Some(match key {
        SortKey::Arrival => Value::Number(facts.internal_date),
        SortKey::Size => Value::Number(i64::from(facts.size)),
        SortKey::Date => Value::Number(of.sent.unwrap_or(facts.internal_date)),
        SortKey::Subject => Value::Text(of.subject.clone()),
        SortKey::From | SortKey::To | SortKey::Cc | SortKey::DisplayFrom | SortKey::DisplayTo => {
            return None
        }
    })
}

/// The i;unicode-casemap key of `s` (RFC 5051 section 2): each character replaced by its
/// simple titlecase, then the result decomposed (NFKD). Rust's uppercase mapping stands in
/// for titlecase where it is one character (they differ only for the four Latin digraphs
/// and a few Greek letters with ypogegrammeni); where uppercasing makes several characters
/// (`ß`), the simple mapping is the character itself.
pub(crate) fn collation_key(s: &str) -> String {
    let titled: String = s
        .chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect();
    icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd()
        .normalize(&titled)
        .into_owned()
}

/// The base subject (RFC 5256 section 2.1) of the Subject header; empty when absent.
pub(crate) fn subject(env: &Env) -> String {
    env.subject
        .as_deref()
        .map(|s| base_subject::of_header(s).text)
        .unwrap_or_default()
}

/// The sent date of RFC 5256 section 2.2: the Date header's instant in UTC seconds; `None`
/// when there is no Date header or it cannot be parsed (the caller uses INTERNALDATE).
pub(crate) fn sent_date(env: &Env) -> Option<i64> {
    let raw = env.date.as_deref()?;
    let dt = mail_parser::DateTime::parse_rfc822(&String::from_utf8_lossy(raw))?;
    let valid = (1..=12).contains(&dt.month) && (1..=31).contains(&dt.day) && dt.year > 0;
    valid.then(|| dt.to_timestamp())
}

/// `addr-mailbox` of the first address (RFC 5256: FROM, TO, CC); empty when none.
fn first_mailbox(list: &[Addr]) -> String {
    list.first()
        .and_then(|a| a.mailbox.as_deref())
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_default()
}

/// The DISPLAY sort value of the first address (RFC 5957 sections 3 and 4): its decoded
/// display name when that is not empty, else `mailbox@host`, else the mailbox, else empty.
fn display(list: &[Addr]) -> String {
    let Some(a) = list.first() else {
        return String::new();
    };
    let name = a
        .name
        .as_deref()
        .map(decode_header_value)
        .unwrap_or_default();
    if !name.is_empty() {
        return name;
    }
    let lossy = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    match (a.mailbox.as_deref(), a.host.as_deref()) {
        (Some(m), Some(h)) => format!("{}@{}", lossy(m), lossy(h)),
        (Some(m), None) => lossy(m),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(header: &str) -> Env {
        Env::parse(format!("{header}\r\n\r\n").as_bytes())
    }

    fn entry() -> Facts {
        Facts {
            internal_date: 1_000,
            size: 42,
        }
    }

    fn text(key: SortKey, header: &str) -> Value {
        value(key, entry(), Some(&env(header)))
    }

    #[test]
    fn address_keys_use_the_first_addr_mailbox_folded() {
        let h = "From: \"Zed\" <Alice@x.org>, bob@y.org\r\nTo: Carol <carol@z>\r\nCc: dave@w";
        assert_eq!(text(SortKey::From, h), Value::Text("ALICE".into()));
        assert_eq!(text(SortKey::To, h), Value::Text("CAROL".into()));
        assert_eq!(text(SortKey::Cc, h), Value::Text("DAVE".into()));
        assert_eq!(text(SortKey::Cc, "From: a@b"), Value::Text(String::new()));
    }

    #[test]
    fn display_keys_prefer_the_decoded_name() {
        let h = "From: =?utf-8?q?=C3=89mile?= <z@x>\r\nTo: <Bob@Host>";
        assert_eq!(
            text(SortKey::DisplayFrom, h),
            Value::Text("E\u{301}MILE".into())
        );
        assert_eq!(text(SortKey::DisplayTo, h), Value::Text("BOB@HOST".into()));
        assert_eq!(
            text(SortKey::DisplayTo, "From: a@b"),
            Value::Text(String::new())
        );
        assert_eq!(
            text(SortKey::DisplayFrom, "From: \"\" <q@r>"),
            Value::Text("Q@R".into())
        );
    }

    #[test]
    fn date_is_the_utc_instant_or_internaldate() {
        let a = text(SortKey::Date, "Date: Sun, 31 Dec 2000 16:01:33 -0800");
        let b = text(SortKey::Date, "Date: Mon, 1 Jan 2001 00:01:33 +0000");
        assert_eq!(a, b);
        assert_eq!(a, Value::Number(978_307_293));
        assert_eq!(text(SortKey::Date, "Date: garbage"), Value::Number(1_000));
        assert_eq!(text(SortKey::Date, "Subject: x"), Value::Number(1_000));
    }

    #[test]
    fn collation_is_titlecase_then_nfkd() {
        assert_eq!(collation_key("abc_"), "ABC_");
        // Titlecase puts letters before `_` (0x5F), as RFC 5051 orders them.
        assert!(collation_key("a") < collation_key("_"));
        // U+FB01 has no simple titlecase: it stays, then decomposes (RFC 5051's order).
        assert_eq!(collation_key("ﬁ Ångström"), "fi A\u{30a}NGSTRO\u{308}M");
        assert_eq!(collation_key("straße"), "STRAßE");
        assert!(collation_key("ángel") < collation_key("xavier"));
    }

    #[test]
    fn entry_keys_and_subject() {
        assert_eq!(value(SortKey::Size, entry(), None), Value::Number(42));
        assert_eq!(value(SortKey::Arrival, entry(), None), Value::Number(1_000));
        assert_eq!(
            text(SortKey::Subject, "Subject: Re: [list] Hello"),
            Value::Text("HELLO".into())
        );
    }
}
