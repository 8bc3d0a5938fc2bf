//! SORT (RFC 5256 section 3, RFC 5957): each message's sort values computed once from the
//! metadata ENVELOPE is built from (loaded only when a key needs it), then one stable sort.
//!
//! Files: `base_subject` (RFC 5256 section 2.1), `keys` (the value of each sort key).

pub(crate) mod base_subject;
pub(crate) mod keys;

use roost_proto::SortCriterion;

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
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by(|&a, &b| {
        criteria
            .iter()
            .zip(values[a].iter().zip(&values[b]))
            .map(|(c, (va, vb))| if c.reverse { vb.cmp(va) } else { va.cmp(vb) })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| messages[a].seq.cmp(&messages[b].seq))
    });
    Ok(order)
}
