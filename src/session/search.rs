//! SEARCH and UID SEARCH (RFC 9051 section 6.4.4: ESEARCH and `RETURN`, SAVE and `$`;
//! RFC 3501's `* SEARCH` for IMAP4rev1 sessions; RFC 7162 MODSEQ).

use actix::ResponseActFuture;
use bytes::Bytes;
use roost_proto::{
    Code, Data, Esearch, EsearchItem, Response, SearchCommand, SearchKey, SearchReturn,
    SequenceSet, Status, Tag,
};

use super::messages::{ReadMode, Reply};
use super::names::mailbox_error;
use super::{ready, run, Session};
use crate::mailbox::MailboxError;
use crate::message::{self, Candidate, SearchEnv, SearchError};
use crate::store::MessageEntry;

enum Failure {
    Mailbox(MailboxError),
    Search(SearchError),
}

/// The charsets SEARCH accepts, for `[BADCHARSET (...)]`.
const CHARSETS: &[&str] = &["UTF-8", "US-ASCII", "ISO-8859-1"];

impl Session {
    pub(super) fn handle_search(
        &mut self,
        tag: Tag,
        search: SearchCommand,
    ) -> ResponseActFuture<Self, Reply> {
        if self.state.selected().is_none() {
            return ready(self.reply(ReadMode::Command));
        }
        let uses_modseq = search.criteria.iter().any(mentions_modseq);
        if uses_modseq {
            self.enable_condstore(); // RFC 7162 section 3.1: the MODSEQ key enables it
        }
        let Some(selected) = self.state.selected() else {
            return ready(self.reply(ReadMode::Command));
        };
        let handle = selected.handle.clone();
        let view_uids: Vec<u32> = selected.view.uids().to_vec();
        let recent: Vec<bool> = view_uids
            .iter()
            .map(|&u| selected.view.is_recent(u))
            .collect();
        let saved = selected.view.saved_search.clone();
        let charset = search.charset.clone();
        let criteria = search.criteria.clone();
        let work = async move {
            let (entries, keywords) = handle.index(&view_uids).await.map_err(Failure::Mailbox)?;
            let matched = tokio::task::spawn_blocking(move || {
                evaluate(
                    &handle,
                    &view_uids,
                    &recent,
                    &entries,
                    &keywords,
                    saved.as_deref(),
                    charset.as_deref(),
                    &criteria,
                )
            })
            .await
            .map_err(|_| Failure::Mailbox(MailboxError::Storage("search task failed".into())))?;
            matched.map_err(Failure::Search)
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok(matches) => {
                    session.answer_search(tag, &search, uses_modseq, &matches);
                    let searched = session.state.selected().map_or(0, |m| m.view.uids().len());
                    crate::memory::after_command(searched);
                }
                Err(Failure::Mailbox(e)) => session.write_status(mailbox_error(tag, &e)),
                Err(Failure::Search(SearchError::BadCharset(_))) => {
                    session.write_status(Status::no(
                        tag,
                        Some(Code::BadCharset(
                            CHARSETS.iter().map(|s| (*s).to_owned()).collect(),
                        )),
                        "unsupported charset",
                    ))
                }
                Err(Failure::Search(SearchError::Io(e))) => {
                    session.write_status(mailbox_error(tag, &MailboxError::Storage(e)))
                }
            }
            ReadMode::Command
        })
    }

    /// Writes the result in the form the session and the command ask for.
    fn answer_search(
        &mut self,
        tag: Tag,
        search: &SearchCommand,
        uses_modseq: bool,
        matches: &[(u32, u32, u64)],
    ) {
        let numbers: Vec<u32> = matches
            .iter()
            .map(|&(seq, uid, _)| if search.uid { uid } else { seq })
            .collect();
        let highest = uses_modseq
            .then(|| matches.iter().map(|m| m.2).max())
            .flatten();
        match &search.returns {
            None if !self.rev2 => {
                self.write(Response::Data(Data::Search {
                    ids: numbers,
                    mod_seq: highest,
                }));
            }
            returns => {
                let asked: Vec<SearchReturn> = match returns {
                    Some(r) if !r.is_empty() => r.clone(),
                    _ => vec![SearchReturn::All], // no RETURN, or RETURN (): ALL
                };
                if asked.contains(&SearchReturn::Save) {
                    if let Some(m) = self.state.selected_mut() {
                        m.view.saved_search = Some(matches.iter().map(|m| m.1).collect());
                    }
                }
                let mut items = Vec::new();
                for r in &asked {
                    match r {
                        SearchReturn::Min => {
                            items.extend(numbers.iter().min().map(|&n| EsearchItem::Min(n)))
                        }
                        SearchReturn::Max => {
                            items.extend(numbers.iter().max().map(|&n| EsearchItem::Max(n)))
                        }
                        SearchReturn::All if !numbers.is_empty() => items.push(EsearchItem::All(
                            SequenceSet::from_numbers(numbers.iter().copied()),
                        )),
                        SearchReturn::Count => items.push(EsearchItem::Count(numbers.len() as u32)),
                        SearchReturn::All | SearchReturn::Save => {}
                    }
                }
                if let Some(m) = highest.filter(|_| !numbers.is_empty()) {
                    items.push(EsearchItem::ModSeq(m));
                }
                // RETURN (SAVE) alone produces no ESEARCH response (RFC 9051 section 6.4.4.1).
                let only_save = asked.iter().all(|r| *r == SearchReturn::Save);
                if !only_save {
                    let esearch = Esearch {
                        correlator: Some(tag.clone()),
                        uid: search.uid,
                        items,
                    };
                    self.write(Response::Data(Data::Esearch(esearch)));
                }
            }
        }
        self.write_status(Status::ok(tag, None, "SEARCH completed"));
    }
}

fn mentions_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => mentions_modseq(k),
        SearchKey::Or(a, b) => mentions_modseq(a) || mentions_modseq(b),
        SearchKey::And(keys) => keys.iter().any(mentions_modseq),
        _ => false,
    }
}

/// Runs the search on a blocking thread; returns `(seq, uid, modseq)` of the matches.
#[allow(clippy::too_many_arguments)] // the snapshot of one session's view
fn evaluate(
    handle: &crate::mailbox::MailboxHandle,
    view_uids: &[u32],
    recent: &[bool],
    entries: &[MessageEntry],
    keywords: &[String],
    saved: Option<&[u32]>,
    charset: Option<&str>,
    criteria: &[SearchKey],
) -> Result<Vec<(u32, u32, u64)>, SearchError> {
    // Entries come sorted by UID: found by binary search, never copied into a map.
    let candidates: Vec<Candidate<'_>> = view_uids
        .iter()
        .zip(recent)
        .enumerate()
        .filter_map(|(i, (uid, &recent))| {
            let entry = &entries[entries.binary_search_by_key(uid, |e| e.uid).ok()?];
            Some(Candidate {
                seq: u32::try_from(i + 1).ok()?,
                entry,
                recent,
            })
        })
        .collect();
    let load = |blob| -> std::io::Result<(Bytes, crate::message::MessageMeta)> {
        let raw = Bytes::from(std::fs::read(handle.blob_path(blob))?);
        let meta = handle
            .load_meta(blob)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok((raw, meta))
    };
    let env = SearchEnv {
        keywords,
        largest_seq: u32::try_from(view_uids.len()).unwrap_or(u32::MAX),
        largest_uid: view_uids.last().copied().unwrap_or(0),
        saved,
        charset,
        load: &load,
    };
    let uids = message::search(criteria, &candidates, &env)?;
    let wanted: std::collections::HashSet<u32> = uids.into_iter().collect();
    Ok(candidates
        .iter()
        .filter(|c| wanted.contains(&c.entry.uid))
        .map(|c| (c.seq, c.entry.uid, c.entry.mod_seq))
        .collect())
}
