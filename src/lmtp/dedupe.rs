//! Duplicate suppression: a message the MTA sends again (it retried after a lost answer)
//! is not delivered twice to the same user.
//!
//! Keyed by user and Message-ID, remembered for a window after each successful delivery
//! (recording only after success, so a failed delivery is never suppressed on retry). The
//! memory is this node's: a retry that reaches another node is not recognised.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many remembered deliveries; the oldest go first.
const CAPACITY: usize = 100_000;

pub struct Dedupe {
    window: Duration,
    seen: Mutex<HashMap<(String, String), Instant>>,
}

impl Dedupe {
    pub fn new(window: Duration) -> Dedupe {
        Dedupe {
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this message was delivered to `recipient` within the window.
    pub fn seen(&self, recipient: &str, message_id: &str) -> bool {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.get(&(recipient.to_ascii_lowercase(), message_id.to_owned()))
            .is_some_and(|at| at.elapsed() < self.window)
    }

    pub fn record(&self, recipient: &str, message_id: &str) {
        if self.window.is_zero() {
            return;
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= CAPACITY {
            let window = self.window;
            seen.retain(|_, at| at.elapsed() < window);
            if seen.len() >= CAPACITY {
                if let Some(oldest) = seen
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| k.clone())
                {
                    seen.remove(&oldest);
                }
            }
        }
        seen.insert(
            (recipient.to_ascii_lowercase(), message_id.to_owned()),
            Instant::now(),
        );
    }
}

/// The Message-ID of a message (its header section only), unfolded and trimmed.
pub fn message_id(message: &[u8]) -> Option<String> {
    let end = find(message, b"\r\n\r\n").unwrap_or(message.len());
    let headers = String::from_utf8_lossy(&message[..end]);
    let mut lines = headers.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.trim().to_owned();
        while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
            value.push_str(next.trim());
            lines.next();
        }
        return (!value.is_empty()).then_some(value);
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_read_from_the_header_section_only() {
        let m = b"From: a\r\nMessage-Id:\r\n <x@y>\r\nSubject: s\r\n\r\nMessage-ID: <body@z>\r\n";
        assert_eq!(message_id(m).as_deref(), Some("<x@y>"));
        assert_eq!(message_id(b"Subject: s\r\n\r\nMessage-ID: <b@z>\r\n"), None);
    }

    #[test]
    fn a_delivery_is_remembered_per_recipient_within_the_window() {
        let d = Dedupe::new(Duration::from_secs(60));
        assert!(!d.seen("bob", "<1@x>"));
        d.record("bob", "<1@x>");
        assert!(d.seen("bob", "<1@x>"));
        assert!(!d.seen("alice", "<1@x>"));
        let off = Dedupe::new(Duration::ZERO);
        off.record("bob", "<1@x>");
        assert!(!off.seen("bob", "<1@x>"));
    }
}
