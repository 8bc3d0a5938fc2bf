//! CAPABILITY, NOOP, LOGOUT, ID (RFC 9051 section 6.1, RFC 2971) and ENABLE (section 6.3.1).

use actix::Context;
use roost_proto::{Atom, Code, Data, Response, Status, StatusKind, Tag};

use super::messages::ReadMode;
use super::Session;

/// The longest ID value logged from a client, so a hostile ID cannot flood the log.
const ID_VALUE_LOG_LIMIT: usize = 128;

impl Session {
    /// RFC 9051 section 6.1.1.
    pub(super) fn handle_capability(&mut self, tag: Tag) -> ReadMode {
        let caps = self.capabilities();
        self.write(Response::Data(Data::Capability(caps)));
        self.write_status(Status::ok(tag, None, "CAPABILITY completed"));
        ReadMode::Command
    }

    /// RFC 9051 section 6.1.2. Pending updates go out with it once mailboxes exist.
    pub(super) fn handle_noop(&mut self, tag: Tag) -> ReadMode {
        self.write_status(Status::ok(tag, None, "NOOP completed"));
        ReadMode::Command
    }

    /// RFC 9051 section 6.1.3: `* BYE`, then the tagged OK, then close.
    pub(super) fn handle_logout(&mut self, tag: Tag, ctx: &mut Context<Self>) -> ReadMode {
        // News of the selected mailbox goes before the BYE: nothing may follow it but the
        // tagged OK (RFC 9051 section 6.1.3).
        self.write_notifications();
        self.notify = None;
        self.flush_updates();
        self.write_status(Status::bye(None, "Logging out"));
        self.write_status(Status::ok(tag, None, "LOGOUT completed"));
        self.close(ctx).read
    }

    /// RFC 2971: log what the client says about itself and answer with our name and version.
    pub(super) fn handle_id(
        &mut self,
        tag: Tag,
        params: Option<roost_proto::IdParams>,
    ) -> ReadMode {
        // RFC 2971 allows 30 fields of 30-octet names and 1,024-octet values; what a client
        // sends beyond that, and any control character, never reaches the log as is.
        let shown: Vec<String> = params
            .iter()
            .flatten()
            .take(ID_FIELDS_LOGGED)
            .map(|(k, v)| {
                let v = v.as_deref().unwrap_or_default();
                format!(
                    "{}={}",
                    loggable(k, ID_NAME_LOG_LIMIT),
                    loggable(v, ID_VALUE_LOG_LIMIT)
                )
            })
            .collect();
        tracing::info!(client_id = %shown.join(" "), "client identified itself");
        let ours = vec![
            ("name".to_owned(), Some("Roost".to_owned())),
            (
                "version".to_owned(),
                Some(env!("CARGO_PKG_VERSION").to_owned()),
            ),
        ];
        self.write(Response::Data(Data::Id(Some(ours))));
        self.write_status(Status::ok(tag, None, "ID completed"));
        ReadMode::Command
    }

    /// RFC 9051 section 6.3.1: enable what we know, ignore the rest (clients send ENABLE
    /// blindly), and list only what was actually turned on.
    pub(super) fn handle_enable(&mut self, tag: Tag, requested: &[Atom]) -> ReadMode {
        let mut enabled = Vec::new();
        for cap in requested {
            let known = if cap.eq_ignore_case("IMAP4rev2") {
                self.rev2 = true;
                true
            } else if cap.eq_ignore_case("CONDSTORE") {
                self.enable_condstore();
                true
            } else if cap.eq_ignore_case("QRESYNC") {
                // RFC 7162 section 3.2.3: QRESYNC implies CONDSTORE.
                self.qresync = true;
                self.enable_condstore();
                true
            } else if cap.eq_ignore_case("UTF8=ACCEPT") {
                self.utf8_accept = true;
                true
            } else {
                false
            };
            if known {
                enabled.push(cap.clone());
            }
        }
        self.write(Response::Data(Data::Enabled(enabled)));
        self.write_status(Status::ok(tag, None, "ENABLE completed"));
        ReadMode::Command
    }
}

impl Session {
    /// RFC 7162 section 3.1: a CONDSTORE enabling command turns MODSEQ on in every later
    /// FETCH response; the first one run with a mailbox selected also reports that mailbox's
    /// HIGHESTMODSEQ (as far as this session has heard, so the client misses no change).
    pub(super) fn enable_condstore(&mut self) {
        if self.condstore {
            return;
        }
        self.condstore = true;
        if let Some(selected) = self.state.selected() {
            let highest = selected.view.heard();
            self.write(Response::Status(Status::untagged(
                StatusKind::Ok,
                Some(Code::HighestModSeq(highest)),
                "Highest",
            )));
        }
    }
}

/// ID fields logged per command (RFC 2971 allows 30).
const ID_FIELDS_LOGGED: usize = 30;
/// Characters of an ID field name that reach the log (RFC 2971 allows 30 octets).
const ID_NAME_LOG_LIMIT: usize = 30;

/// A client's string as it may appear in a log line: lossily decoded, cut to `limit`
/// characters, and with control characters (a line feed could forge a log line) escaped.
fn loggable(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for c in text.chars().take(limit) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(limit).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod loggable_tests {
    use super::loggable;

    #[test]
    fn client_strings_cannot_forge_log_lines_or_flood_the_log() {
        assert_eq!(
            loggable(b"x\nINFO login succeeded user=\"admin\"", 100),
            "x\\nINFO login succeeded user=\"admin\""
        );
        assert_eq!(loggable(b"ab\r\ncd\x1b[31m", 100), "ab\\r\\ncd\\u{1b}[31m");
        let long = vec![b'a'; 8 << 20];
        assert_eq!(loggable(&long, 5), "aaaaa…");
    }
}
