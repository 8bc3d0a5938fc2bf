//! SORT (RFC 5256 section 3, RFC 5957): each message's sort values computed once from the
//! metadata ENVELOPE is built from (loaded only when a key needs it), then one stable sort.
//!
//! Files: `base_subject` (RFC 5256 section 2.1), `keys` (the value of each sort key).

pub(crate) mod base_subject;
pub(crate) mod keys;

use roost_proto::SortCriterion;

use std::sync::Arc;

use super::order_facts::OrderFacts;
use super::{Candidate, MessageMeta, SearchError};
use crate::store::BlobId;

/// Orders `messages` by `criteria`, ties broken by sequence number (RFC 5256 section 3);
/// returns indices into `messages`. Loads each message's metadata at most once, and only
/// when a criterion needs its envelope.
///
/// # Errors
/// `Io` when a message's metadata cannot be read.
pub fn sort(
    criteria: &[SortCriterion],
    messages: &[Candidate<'_>],
    load_meta: &dyn Fn(BlobId) -> std::io::Result<MessageMeta>,
) -> Result<Vec<usize>, SearchError> {
    let need_env = criteria.iter().any(|c| keys::needs_envelope(c.key));
    let mut values: Vec<Vec<keys::Value>> = Vec::with_capacity(messages.len());
    for m in messages {
        let meta = if need_env {
            Some(load_meta(m.entry.blob).map_err(|e| SearchError::Io(e.to_string()))?)
        } else {
            None
        };
        let env = meta.as_ref().map(|m| &m.env);
        values.push(
            criteria
                .iter()
                .map(|c| keys::value(c.key, m.entry.into(), env))
                .collect(),
        );
    }
    Ok(order(criteria, messages, &values))
}

/// Whether [`sort_by_facts`] can order by `criteria`: dates, subjects, arrival and size.
pub fn by_facts(criteria: &[SortCriterion]) -> bool {
    criteria
        .iter()
        .all(|c| keys::fact_value(c.key, &FACTLESS, &ABSENT).is_some())
}

const FACTLESS: keys::Facts = keys::Facts {
    internal_date: 0,
    size: 0,
};
const ABSENT: OrderFacts = OrderFacts {
    sent: None,
    subject: String::new(),
    reply_or_forward: false,
    message_id: None,
    references: Vec::new(),
};

/// Like [`sort`], from each message's cached ordering facts (`facts[i]` is
/// `messages[i]`'s), for criteria [`by_facts`] accepts.
pub fn sort_by_facts(
    criteria: &[SortCriterion],
    messages: &[Candidate<'_>],
    facts: &[Arc<OrderFacts>],
) -> Vec<usize> {
    let values: Vec<Vec<keys::Value>> = messages
        .iter()
        .zip(facts)
        .map(|(m, f)| {
            criteria
                .iter()
                .filter_map(|c| keys::fact_value(c.key, &m.entry.into(), f))
                .collect()
        })
        .collect();
    order(criteria, messages, &values)
}

/// Indices of `messages` ordered by their `values` (one per criterion), ties by sequence.
fn order(
    criteria: &[SortCriterion],
    messages: &[Candidate<'_>],
    values: &[Vec<keys::Value>],
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by(|&a, &b| {
        criteria
            .iter()
            .zip(values[a].iter().zip(&values[b]))
            .map(|(c, (va, vb))| if c.reverse { vb.cmp(va) } else { va.cmp(vb) })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| messages[a].seq.cmp(&messages[b].seq))
    });
    order
}
