//! STORE and UID STORE (RFC 9051 section 6.4.6, RFC 7162 UNCHANGEDSINCE), and the
//! conversion between the store's flag bits and protocol flags.

use actix::ResponseActFuture;
use roost_proto::{
    Code, Data, FetchValue, Flag, Response, SequenceSet, Status, StatusKind, StoreAction, Tag,
};

use super::bulk::BulkWriter;
use super::messages::{ReadMode, Reply};
use super::names::mailbox_error;
use super::{ready, run, Session};
use crate::mailbox::{MailboxError, StoreFlags};
use crate::store::{FlagSet, MessageEntry};

/// The protocol flags of a flag set, system flags first, then keywords in table order.
pub fn flag_list(set: FlagSet, keywords: &[String]) -> Vec<Flag> {
    let system = [
        (FlagSet::ANSWERED, Flag::Answered),
        (FlagSet::FLAGGED, Flag::Flagged),
        (FlagSet::DELETED, Flag::Deleted),
        (FlagSet::SEEN, Flag::Seen),
        (FlagSet::DRAFT, Flag::Draft),
    ];
    let mut flags: Vec<Flag> = system
        .into_iter()
        .filter(|(bit, _)| set.contains(*bit))
        .map(|(_, f)| f)
        .collect();
    for (i, keyword) in keywords.iter().enumerate().take(FlagSet::MAX_KEYWORDS) {
        if set.contains(FlagSet::keyword_bit(i)) {
            if let Ok(flag) = Flag::parse(keyword) {
                flags.push(flag);
            }
        }
    }
    flags
}

/// The FLAGS of a message as a session reports them: `\Recent` only to IMAP4rev1 sessions.
pub fn reported_flags(
    entry: &MessageEntry,
    keywords: &[String],
    recent: bool,
    rev2: bool,
) -> Vec<Flag> {
    let mut flags = flag_list(entry.flags, keywords);
    if recent && !rev2 {
        flags.push(Flag::Recent);
    }
    flags
}

/// `* FLAGS` and `* OK [PERMANENTFLAGS]` for a mailbox with this keyword table: sent at SELECT
/// and again whenever a new keyword comes into use, before any FETCH shows it (RFC 9051
/// section 7.3.5: the FLAGS response announces the flags a client will see). `\*` (new
/// keywords may be created) is offered only while the mailbox's keyword table has room.
pub fn offered_flags(keywords: &[String], read_only: bool) -> [Response; 2] {
    let mut flags = flag_list(FlagSet(!0), keywords);
    flags.retain(|f| *f != Flag::Recent);
    let permanent = if read_only {
        Vec::new()
    } else {
        let mut p = flags.clone();
        if keywords.len() < FlagSet::MAX_KEYWORDS {
            p.push(Flag::Wildcard);
        }
        p
    };
    [
        Response::Data(Data::Flags(flags)),
        Response::Status(Status::untagged(
            StatusKind::Ok,
            Some(Code::PermanentFlags(permanent)),
            "Flags permitted",
        )),
    ]
}

/// `\Recent` is not a flag a client may set (RFC 9051 section 9: `flag` excludes it, and
/// RFC 3501 says so in its grammar): STORE and APPEND that name it are answered `BAD`.
/// A keyword named `NIL` is a valid atom, but in a flag list every client reads it as the
/// nil value, so it is refused too.
///
/// Why `flags` cannot be stored or appended, if they cannot (answered `BAD`).
pub fn refused_flags(flags: &[Flag]) -> Option<&'static str> {
    flags.iter().find_map(|f| match f {
        Flag::Recent => Some("\\Recent is set by the server and cannot be stored"),
        Flag::Keyword(k) if k.eq_ignore_case("NIL") => {
            Some("NIL cannot be a keyword: clients would read it as nil")
        }
        _ => None,
    })
}

/// How a session's FETCH responses that report flags look, fixed for one command.
#[derive(Clone, Copy, Debug)]
pub struct FlagsFetch {
    pub rev2: bool,
    /// CONDSTORE is on: MODSEQ goes with the flags.
    pub condstore: bool,
    /// UID goes with the flags: a UID command, or an unsolicited update.
    pub with_uid: bool,
}

impl FlagsFetch {
    pub fn response(
        &self,
        seq: u32,
        entry: &MessageEntry,
        keywords: &[String],
        recent: bool,
    ) -> Response {
        let mut items = vec![FetchValue::Flags(reported_flags(
            entry, keywords, recent, self.rev2,
        ))];
        if self.with_uid {
            items.push(FetchValue::Uid(entry.uid));
        }
        if self.condstore {
            items.push(FetchValue::ModSeq(entry.mod_seq));
        }
        Response::Data(Data::Fetch { seq, items })
    }

    /// What a silent conditional STORE still owes the client for a message it changed (RFC
    /// 7162 section 3.1.3): the MODSEQ its change got, so the client's cache stays right.
    pub fn mod_seq_response(&self, seq: u32, uid: u32, mod_seq: u64) -> Response {
        let mut items = Vec::with_capacity(2);
        if self.with_uid {
            items.push(FetchValue::Uid(uid));
        }
        items.push(FetchValue::ModSeq(mod_seq));
        Response::Data(Data::Fetch { seq, items })
    }
}

impl Session {
    pub(super) fn flags_fetch_format(&self, with_uid: bool) -> FlagsFetch {
        FlagsFetch {
            rev2: self.rev2,
            condstore: self.condstore,
            with_uid,
        }
    }

    #[allow(clippy::too_many_arguments)] // the fields of one STORE command
    pub(super) fn handle_store(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        flags: Vec<Flag>,
    ) -> ResponseActFuture<Self, Reply> {
        if let Some(refused) = self.refuse_read_only(&tag) {
            return refused;
        }
        if let Some(reason) = refused_flags(&flags) {
            self.write_status(Status::bad(tag, None, reason));
            return ready(self.reply(ReadMode::Command));
        }
        if self.state.selected().is_none() {
            return ready(self.reply(ReadMode::Command));
        }
        if unchanged_since.is_some() {
            self.enable_condstore(); // RFC 7162 section 3.1: UNCHANGEDSINCE enables it
        }
        let Some(selected) = self.state.selected() else {
            return ready(self.reply(ReadMode::Command));
        };
        // `(seq, uid)` ascending in both: the view's sequence numbers cannot change while the
        // command runs (expunges are held back during STORE, RFC 9051 section 7.5.1).
        let pairs = if uid {
            selected.view.resolve_uids(set)
        } else {
            selected.view.resolve_seqs(set)
        };
        let recent: Vec<u32> = pairs
            .iter()
            .map(|&(_, u)| u)
            .filter(|&u| selected.view.is_recent(u))
            .collect();
        let handle = selected.handle.clone();
        let conditional = unchanged_since.is_some();
        let request = StoreFlags {
            uids: pairs.iter().map(|&(_, u)| u).collect(),
            action,
            flags,
            unchanged_since,
        };
        // RFC 7162 section 3.2.4: with CONDSTORE on, STORE's answers carry UID too.
        let format = self.flags_fetch_format(uid || self.condstore);
        let (announced, read_only) = (selected.announced_keywords, selected.read_only);
        let mut bulk = BulkWriter::new(self.out.clone(), self.encode_context());
        let work = async move {
            let mut outcome = handle.store(request).await.map_err(StoreError::Mailbox)?;
            outcome.changed.sort_unstable();
            outcome.contended.sort_unstable();
            if outcome.keywords.len() > announced {
                for line in offered_flags(&outcome.keywords, read_only) {
                    bulk.push(&line).await.map_err(|_| StoreError::Gone)?;
                }
            }
            for entry in &outcome.entries {
                let Ok(i) = pairs.binary_search_by_key(&entry.uid, |&(_, u)| u) else {
                    continue;
                };
                let line = if !silent {
                    let recent = recent.binary_search(&entry.uid).is_ok();
                    format.response(pairs[i].0, entry, &outcome.keywords, recent)
                } else if conditional && outcome.changed.binary_search(&entry.uid).is_ok() {
                    format.mod_seq_response(pairs[i].0, entry.uid, outcome.mod_seq)
                } else {
                    continue;
                };
                bulk.push(&line).await.map_err(|_| StoreError::Gone)?;
            }
            let octets = bulk.finish().await.map_err(|_| StoreError::Gone)?;
            Ok((outcome, octets))
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok((outcome, octets)) => {
                    session.count_bytes_out(octets);
                    crate::memory::after_command(outcome.entries.len());
                    if let Some(m) = session.state.selected_mut() {
                        if !outcome.changed.is_empty() {
                            m.contexts.changed(); // the STORE's answer told the client
                        }
                        m.announced_keywords = m.announced_keywords.max(outcome.keywords.len());
                        for entry in &outcome.entries {
                            if m.view.seq_of(entry.uid).is_none() {
                                continue;
                            }
                            let changed = outcome.changed.binary_search(&entry.uid).is_ok();
                            if silent {
                                // The client knows only its own change, not one made beside it.
                                if changed {
                                    let contended =
                                        outcome.contended.binary_search(&entry.uid).is_ok();
                                    m.view.stored_silently(entry, outcome.mod_seq, contended);
                                }
                                continue;
                            }
                            // Shown: the answer had the flags as they are now.
                            m.view.shown_flags(entry.uid, entry.mod_seq);
                            if changed {
                                m.view.stored_flags(entry.uid, outcome.mod_seq);
                            }
                        }
                        m.view.learn_keywords(outcome.keywords.clone());
                    }
                    let code = (!outcome.modified.is_empty()).then(|| {
                        let numbers: Vec<u32> = if uid {
                            outcome.modified.clone()
                        } else {
                            let view = session.state.selected().map(|m| &m.view);
                            outcome
                                .modified
                                .iter()
                                .filter_map(|&u| view.and_then(|v| v.seq_of(u)))
                                .collect()
                        };
                        Code::Modified(SequenceSet::from_numbers(numbers))
                    });
                    let text = if code.is_some() {
                        "Conditional STORE failed for some messages"
                    } else {
                        "STORE completed"
                    };
                    session.write_status(Status::ok(tag, code, text));
                }
                Err(StoreError::Mailbox(e)) => session.write_status(mailbox_error(tag, &e)),
                Err(StoreError::Gone) => session.broken = true,
            }
            ReadMode::Command
        })
    }
}

enum StoreError {
    Mailbox(MailboxError),
    /// The connection ended while the answer was being written.
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits_become_protocol_flags_in_a_stable_order() {
        let keywords = vec!["$Forwarded".to_owned(), "Work".to_owned()];
        let set = FlagSet(FlagSet::SEEN | FlagSet::ANSWERED | FlagSet::keyword_bit(1));
        assert_eq!(
            flag_list(set, &keywords),
            vec![Flag::Answered, Flag::Seen, Flag::parse("Work").unwrap()]
        );
    }
}
