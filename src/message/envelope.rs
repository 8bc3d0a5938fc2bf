//! ENVELOPE (RFC 9051 section 7.5.2) from a header block: raw unfolded values for the
//! unstructured fields and parsed address lists, stored in the metadata and turned into the
//! wire type on demand.

use roost_proto::{Address, Envelope};
use serde::{Deserialize, Serialize};

use super::address::{self, Addr};
use super::header;

/// The stored envelope: values as in the header (first occurrence of each field), unfolded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Env {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Vec<Addr>,
    /// `None` when the header is absent or empty: ENVELOPE then repeats `from`.
    pub sender: Option<Vec<Addr>>,
    pub reply_to: Option<Vec<Addr>>,
    pub to: Vec<Addr>,
    pub cc: Vec<Addr>,
    pub bcc: Vec<Addr>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

impl Env {
    /// Reads the envelope fields of a header block.
    pub fn parse(block: &[u8]) -> Env {
        let text = |name: &str| header::first(block, name).map(|f| header::unfold(f.value));
        let addrs = |name: &str| {
            header::first(block, name)
                .map(|f| address::parse_list(f.value))
                .unwrap_or_default()
        };
        let non_empty = |v: Vec<Addr>| (!v.is_empty()).then_some(v);
        Env {
            date: text("Date"),
            subject: text("Subject"),
            from: addrs("From"),
            sender: non_empty(addrs("Sender")),
            reply_to: non_empty(addrs("Reply-To")),
            to: addrs("To"),
            cc: addrs("Cc"),
            bcc: addrs("Bcc"),
            in_reply_to: text("In-Reply-To"),
            message_id: text("Message-ID"),
        }
    }

    /// The wire form; Sender and Reply-To default to From (RFC 9051 section 7.5.2).
    pub fn to_envelope(&self) -> Envelope {
        let list = |v: &[Addr]| v.iter().map(to_address).collect::<Vec<_>>();
        Envelope {
            date: self.date.clone(),
            subject: self.subject.clone(),
            from: list(&self.from),
            sender: list(self.sender.as_deref().unwrap_or(&self.from)),
            reply_to: list(self.reply_to.as_deref().unwrap_or(&self.from)),
            to: list(&self.to),
            cc: list(&self.cc),
            bcc: list(&self.bcc),
            in_reply_to: self.in_reply_to.clone(),
            message_id: self.message_id.clone(),
        }
    }
}

fn to_address(a: &Addr) -> Address {
    Address {
        name: a.name.clone(),
        adl: a.adl.clone(),
        mailbox: a.mailbox.clone(),
        host: a.host.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_and_reply_to_default_to_from_when_absent_or_empty() {
        let env = Env::parse(b"From: a@x\r\nSender:\r\nSubject:  hi\r\n  there \r\n\r\n");
        let e = env.to_envelope();
        assert_eq!(e.sender, e.from);
        assert_eq!(e.reply_to, e.from);
        assert_eq!(e.subject.as_deref(), Some(&b"hi  there"[..]));
        assert_eq!(e.date, None);
    }

    #[test]
    fn first_occurrence_wins() {
        let env = Env::parse(b"Subject: one\r\nSubject: two\r\n\r\n");
        assert_eq!(env.subject.as_deref(), Some(&b"one"[..]));
    }
}
