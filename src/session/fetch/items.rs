//! What a FETCH asks for, checked before any message is read: duplicate items answered once,
//! and a work budget so one command cannot occupy the node.

use std::collections::HashSet;

use roost_proto::{FetchAttribute, SectionText};

/// Body-derived items × messages one FETCH may ask for. `UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS
/// (...)])` on 1,000,000 messages is within it; a thousand BINARY items on every message of a
/// large mailbox is not.
pub const WORK_LIMIT: u64 = 5_000_000;

/// The items in the order asked, each once. `BODY[x]` and `BODY.PEEK[x]` are answered the same
/// way (`BODY[x]`), so they count as one; whether `\Seen` is set is decided before this.
pub fn dedupe(attrs: Vec<FetchAttribute>) -> Vec<FetchAttribute> {
    let mut seen = HashSet::new();
    attrs
        .into_iter()
        .map(|a| match a {
            FetchAttribute::BodySection {
                section, partial, ..
            } => FetchAttribute::BodySection {
                peek: true,
                section,
                partial,
            },
            FetchAttribute::Binary { part, partial, .. } => FetchAttribute::Binary {
                peek: true,
                part,
                partial,
            },
            other => other,
        })
        .filter(|a| seen.insert(a.clone()))
        .collect()
}

/// Whether the item sets `\Seen` (RFC 9051 section 6.4.5).
pub fn sets_seen(a: &FetchAttribute) -> bool {
    matches!(
        a,
        FetchAttribute::BodySection { peek: false, .. }
            | FetchAttribute::Binary { peek: false, .. }
            | FetchAttribute::Rfc822
            | FetchAttribute::Rfc822Text
    )
}

/// Items read from the message's files rather than the index.
pub fn is_heavy(a: &FetchAttribute) -> bool {
    needs_meta(a) || streams(a)
}

/// Distinct BINARY items one FETCH may ask for: each may decode a whole part (a client asks
/// for one or a few; thousands of partials of one large part would decode it thousands of
/// times).
pub const BINARY_LIMIT: usize = 64;

/// Whether `messages` × the heavy items is within [`WORK_LIMIT`], and the BINARY items
/// within [`BINARY_LIMIT`].
pub fn within_budget(attrs: &[FetchAttribute], messages: usize) -> bool {
    let heavy = attrs.iter().filter(|a| is_heavy(a)).count() as u64;
    let binary = attrs
        .iter()
        .filter(|a| {
            matches!(
                a,
                FetchAttribute::Binary { .. } | FetchAttribute::BinarySize { .. }
            )
        })
        .count();
    heavy.saturating_mul(messages as u64) <= WORK_LIMIT && binary <= BINARY_LIMIT
}

/// Sent straight from the message's blob: sections that are a range of the stored octets.
pub fn streams(a: &FetchAttribute) -> bool {
    match a {
        FetchAttribute::BodySection { section, .. } => !is_derived(&section.text),
        FetchAttribute::Rfc822 | FetchAttribute::Rfc822Header | FetchAttribute::Rfc822Text => true,
        _ => false,
    }
}

/// Needs the whole message in memory: selecting header fields.
pub fn needs_raw(a: &FetchAttribute) -> bool {
    matches!(a, FetchAttribute::BodySection { section, .. } if is_derived(&section.text))
}

/// Reads the message's blob: body ranges, and BINARY parts (read and decoded part by part).
pub fn opens_blob(a: &FetchAttribute) -> bool {
    streams(a)
        || needs_raw(a)
        || matches!(
            a,
            FetchAttribute::Binary { .. } | FetchAttribute::BinarySize { .. }
        )
}

/// Needs the MIME structure parsed at append.
pub fn needs_meta(a: &FetchAttribute) -> bool {
    match a {
        FetchAttribute::BodySection { section, .. } => {
            !(section.part.is_empty() && section.text.is_none())
        }
        FetchAttribute::Rfc822 => false,
        FetchAttribute::Envelope
        | FetchAttribute::Body
        | FetchAttribute::BodyStructure
        | FetchAttribute::Binary { .. }
        | FetchAttribute::BinarySize { .. }
        | FetchAttribute::Rfc822Header
        | FetchAttribute::Rfc822Text
        | FetchAttribute::Preview { .. } => true,
        _ => false,
    }
}

fn is_derived(text: &Option<SectionText>) -> bool {
    matches!(
        text,
        Some(SectionText::HeaderFields(_) | SectionText::HeaderFieldsNot(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_proto::Section;

    fn binary(peek: bool, part: u32) -> FetchAttribute {
        FetchAttribute::Binary {
            peek,
            part: vec![part],
            partial: None,
        }
    }

    #[test]
    fn repeated_items_are_answered_once_whatever_their_peek() {
        let mut many = vec![FetchAttribute::Uid, binary(false, 1)];
        many.extend(std::iter::repeat_n(binary(true, 1), 4_333));
        many.push(binary(true, 2));
        many.push(FetchAttribute::Uid);
        assert_eq!(
            dedupe(many),
            vec![FetchAttribute::Uid, binary(true, 1), binary(true, 2)]
        );
    }

    #[test]
    fn the_budget_counts_body_items_per_message() {
        let whole = FetchAttribute::BodySection {
            peek: true,
            section: Section::default(),
            partial: None,
        };
        assert!(streams(&whole) && !needs_meta(&whole) && !needs_raw(&whole));
        let light = [FetchAttribute::Uid, FetchAttribute::Flags];
        assert!(within_budget(&light, 100_000_000));
        assert!(within_budget(std::slice::from_ref(&whole), 1_000_000));
        let heavy: Vec<_> = (1..=60).map(|p| binary(true, p)).collect();
        assert!(within_budget(&heavy, 1_000) && !within_budget(&heavy, 100_000));
        let partials: Vec<_> = (0..65)
            .map(|o| FetchAttribute::Binary {
                peek: true,
                part: vec![1],
                partial: Some(roost_proto::Partial {
                    offset: o,
                    length: 10,
                }),
            })
            .collect();
        assert!(!within_budget(&partials, 1), "at most 64 BINARY items");
    }
}
