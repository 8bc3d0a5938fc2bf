//! What SORT (by DATE and SUBJECT) and THREAD order a message by, computed once from its
//! metadata and header block and kept in a bounded node-wide cache by blob.
//!
//! A blob's content never changes (COPY and MOVE share it, EXPUNGE deletes it), so the facts
//! of a blob never go stale: the cache needs no invalidation, only a bound on its size.
//! Without it every SORT and THREAD of a 100,000-message mailbox would read and decode
//! 100,000 metadata files (and THREAD as many header blocks) again.

mod cache;

pub use cache::FactsCache;

use super::header;
use super::sort::{base_subject, keys};
use super::thread::message_id;
use super::MessageMeta;

/// One message's ordering facts (RFC 5256 sections 2.1, 2.2 and 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// The Date header's instant in UTC seconds; `None` when absent or unparsable (the
    /// caller falls back to INTERNALDATE).
    pub sent: Option<i64>,
    /// The collation key of the base subject (subjects compare case-insensitively).
    pub subject: String,
    /// Whether base subject extraction removed a reply or forward marker.
    pub reply_or_forward: bool,
    /// The normalised Message-ID, when valid.
    pub message_id: Option<String>,
    /// The references of RFC 5256 section 3 (REFERENCES), oldest first.
    pub references: Vec<String>,
}

impl OrderFacts {
    /// The facts of a message from its metadata and its header block (for References,
    /// which ENVELOPE does not carry).
    pub fn new(meta: &MessageMeta, header: &[u8]) -> Self {
        let env = &meta.env;
        let base = env
            .subject
            .as_deref()
            .map(base_subject::of_header)
            .unwrap_or(base_subject::BaseSubject {
                text: String::new(),
                reply_or_forward: false,
            });
        let references = header::first(header, "References").map(|f| header::unfold(f.value));
        OrderFacts {
            sent: keys::sent_date(env),
            subject: keys::collation_key(&base.text),
            reply_or_forward: base.reply_or_forward,
            message_id: env.message_id.as_deref().and_then(message_id::first),
            references: message_id::references(references.as_deref(), env.in_reply_to.as_deref()),
        }
    }

    /// What the facts hold on the heap, for the cache's bound.
    fn heap_bytes(&self) -> usize {
        self.subject.capacity()
            + self.message_id.as_ref().map_or(0, String::capacity)
            + self.references.capacity() * std::mem::size_of::<String>()
            + self.references.iter().map(String::capacity).sum::<usize>()
    }
}
