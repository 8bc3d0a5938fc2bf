//! THREAD (RFC 5256 section 3): ORDEREDSUBJECT and REFERENCES over the searched messages.
//!
//! Files: `message_id` (msg-id normalisation, the References/In-Reply-To rule),
//! `ordered_subject`, `references`, `tree` (the arena both build and its wire form).

pub(crate) mod message_id;
mod ordered_subject;
mod references;
mod tree;

use std::sync::Arc;

use roost_proto::{Thread, ThreadAlgorithm};

use super::order_facts::OrderFacts;
use super::MessageMeta;

/// What threading needs of one searched message.
#[derive(Debug, Clone)]
pub struct ThreadMessage {
    /// What the response reports: the sequence number, or the UID for UID THREAD.
    pub number: u32,
    /// The message sequence number (the order of the mailbox, for ties).
    pub seq: u32,
    /// The sent date of RFC 5256 section 2.2, UTC seconds (INTERNALDATE when the Date
    /// header is absent or unparsable).
    pub sent: i64,
    /// Subject and ids, shared with the node's cache.
    pub facts: Arc<OrderFacts>,
}

impl ThreadMessage {
    pub fn new(number: u32, seq: u32, internal_date: i64, facts: Arc<OrderFacts>) -> Self {
        ThreadMessage {
            number,
            seq,
            sent: facts.sent.unwrap_or(internal_date),
            facts,
        }
    }
}

impl std::ops::Deref for ThreadMessage {
    type Target = OrderFacts;

    fn deref(&self) -> &OrderFacts {
        &self.facts
    }
}

impl MessageMeta {
    /// How many octets of the message its header takes, for reading just the header back.
    pub fn header_len(&self) -> usize {
        self.root.header.end as usize
    }
}

/// Threads `messages` (in mailbox order) with `algorithm`.
pub fn thread(algorithm: ThreadAlgorithm, messages: &[ThreadMessage]) -> Vec<Thread> {
    match algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject::thread(messages),
        ThreadAlgorithm::References => references::thread(messages),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::sort::keys;
    use super::*;

    /// A message for the algorithm tests: `id` and `refs` are header values.
    pub fn message(
        n: u32,
        sent: i64,
        subject: &str,
        reply: bool,
        id: &str,
        refs: &str,
    ) -> ThreadMessage {
        let facts = OrderFacts {
            sent: Some(sent),
            subject: keys::collation_key(subject),
            reply_or_forward: reply,
            message_id: message_id::first(id.as_bytes()),
            references: message_id::references(Some(refs.as_bytes()), None),
        };
        ThreadMessage::new(n, n, sent, Arc::new(facts))
    }

    /// The threads as a `* THREAD` response writes them, without `* THREAD `.
    pub fn render(threads: &[Thread]) -> String {
        let data = roost_proto::Response::Data(roost_proto::Data::Thread(threads.to_vec()));
        let wire = roost_proto::encode::response_to_vec(&data, &Default::default());
        let text = String::from_utf8(wire).unwrap();
        text.trim_start_matches("* THREAD")
            .trim_start()
            .trim_end()
            .to_owned()
    }

    #[test]
    fn facts_come_from_the_envelope_and_the_references_header() {
        let raw = b"Subject: Re: [l] Hi\r\nDate: 1 Jan 2001 00:00:00 +0000\r\n\
            Message-ID: <\"m\"@x>\r\nIn-Reply-To: <p@x>\r\nReferences: <r@x>\r\n <p@x>\r\n\r\nbody";
        let meta = MessageMeta::parse(raw);
        let facts = Arc::new(OrderFacts::new(&meta, &raw[..meta.header_len()]));
        let t = ThreadMessage::new(7, 3, 5, facts);
        assert_eq!(t.subject, "HI");
        assert!(t.reply_or_forward);
        assert_eq!(t.sent, 978_307_200);
        assert_eq!(t.message_id.as_deref(), Some("m@x"));
        assert_eq!(t.references, ["r@x", "p@x"]);
        let bare = MessageMeta::parse(b"In-Reply-To: <p@x>\r\n\r\n");
        let facts = Arc::new(OrderFacts::new(&bare, b"In-Reply-To: <p@x>\r\n\r\n"));
        let t = ThreadMessage::new(1, 1, 5, facts);
        assert_eq!(
            (t.sent, t.references.as_slice()),
            (5, &["p@x".to_owned()][..])
        );
    }
}
