//! SEARCH and UID SEARCH (RFC 9051 section 6.4.4: ESEARCH and `RETURN`, SAVE and `$`;
//! RFC 3501's `* SEARCH` for IMAP4rev1 sessions; RFC 7162 MODSEQ).

use std::io::Read;
use std::sync::Arc;

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
use crate::message::order_facts::{FactsCache, OrderFacts};
use crate::message::{self, Candidate, MessageMeta, SearchEnv, SearchError};
use crate::store::{BlobId, MessageEntry};

/// Why a search-based command (SEARCH, SORT, THREAD) failed.
pub(super) enum Failure {
    Mailbox(MailboxError),
    Search(SearchError),
}

/// The charsets SEARCH accepts, for `[BADCHARSET (...)]`.
const CHARSETS: &[&str] = &["UTF-8", "US-ASCII", "ISO-8859-1"];

/// One message the search matched.
#[derive(Debug, Clone, Copy)]
pub(super) struct Match {
    pub seq: u32,
    pub uid: u32,
    pub mod_seq: u64,
}

/// A snapshot of the selected mailbox's view and a command's search criteria, to be run
/// away from the session actor: on the node that holds the mailbox's index (through the
/// handle) and on a blocking thread.
pub(super) struct SearchJob {
    handle: crate::mailbox::MailboxHandle,
    view_uids: Vec<u32>,
    recent: Vec<bool>,
    saved: Option<Vec<u32>>,
    charset: Option<String>,
    criteria: Vec<SearchKey>,
}

/// What a job's follow-up step gets on the blocking thread: the matches with their index
/// entries (in mailbox order) and the mailbox handle to load metadata through.
pub(super) struct Matched<'a> {
    pub handle: &'a crate::mailbox::MailboxHandle,
    pub matches: Vec<(Match, &'a MessageEntry)>,
}

impl Matched<'_> {
    /// The ordering facts (SORT, THREAD) of each match, in order: from the node's cache, or
    /// computed from the message's metadata and the header octets of its blob.
    pub(super) fn order_facts(&self) -> Result<Vec<Arc<OrderFacts>>, SearchError> {
        let blobs: Vec<BlobId> = self.matches.iter().map(|(_, e)| e.blob).collect();
        let load = |blob| {
            let meta = meta_of(self.handle, blob)?;
            let mut header = Vec::new();
            std::fs::File::open(self.handle.blob_path(blob))?
                .take(meta.header_len() as u64)
                .read_to_end(&mut header)?;
            Ok(OrderFacts::new(&meta, &header))
        };
        FactsCache::global()
            .facts(&blobs, load)
            .map_err(|e| SearchError::Io(e.to_string()))
    }
}

/// A message's metadata, with a mailbox error as the I/O error the message modules take.
pub(super) fn meta_of(
    handle: &crate::mailbox::MailboxHandle,
    blob: BlobId,
) -> std::io::Result<MessageMeta> {
    handle
        .load_meta(blob)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

impl SearchJob {
    /// Searches, then runs `then` on the matches, both on a blocking thread.
    pub(super) async fn run<T: Send + 'static>(
        self,
        then: impl FnOnce(Matched<'_>) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, Failure> {
        let SearchJob {
            handle,
            view_uids,
            recent,
            saved,
            charset,
            criteria,
        } = self;
        let (entries, keywords) = handle.index(&view_uids).await.map_err(Failure::Mailbox)?;
        let result = tokio::task::spawn_blocking(move || {
            let matches = evaluate(
                &handle,
                &view_uids,
                &recent,
                &entries,
                &keywords,
                saved.as_deref(),
                charset.as_deref(),
                &criteria,
            )?;
            then(Matched {
                handle: &handle,
                matches,
            })
        })
        .await
        .map_err(|_| Failure::Mailbox(MailboxError::Storage("search task failed".into())))?;
        result.map_err(Failure::Search)
    }
}

impl Session {
    /// Snapshots what a search needs; `None` when no mailbox is selected.
    pub(super) fn search_job(
        &self,
        charset: Option<String>,
        criteria: Vec<SearchKey>,
    ) -> Option<SearchJob> {
        let selected = self.state.selected()?;
        let view_uids: Vec<u32> = selected.view.uids().to_vec();
        let recent = view_uids
            .iter()
            .map(|&u| selected.view.is_recent(u))
            .collect();
        Some(SearchJob {
            handle: selected.handle.clone(),
            view_uids,
            recent,
            saved: selected.view.saved_search.clone(),
            charset,
            criteria,
        })
    }

    /// Checks a searching command's return options (RFC 5267). `None` when the command is
    /// answered already (BAD) or no mailbox is selected; else whether it asked for UPDATE.
    pub(super) fn context_request(
        &mut self,
        tag: &Tag,
        returns: Option<&[SearchReturn]>,
    ) -> Option<bool> {
        let selected = self.state.selected()?;
        match super::context::check_returns(returns, tag, Some(&selected.contexts)) {
            Ok(request) => Some(matches!(request, super::context::Request::Update)),
            Err(reason) => {
                self.write_status(Status::bad(tag.clone(), None, reason));
                None
            }
        }
    }

    /// What an updating context keeps of its command, with message numbers pinned to UIDs
    /// as they stand now.
    pub(super) fn new_context(
        &self,
        tag: &Tag,
        uid: bool,
        charset: Option<String>,
        criteria: &[SearchKey],
        sort: Option<Vec<roost_proto::SortCriterion>>,
    ) -> super::context::NewContext {
        let view = &self
            .state
            .selected()
            .expect("a searching command runs selected")
            .view;
        super::context::NewContext {
            tag: tag.clone(),
            uid,
            charset,
            criteria: super::context::pin(criteria, view),
            sort,
        }
    }

    /// Answers a failed SEARCH, SORT or THREAD.
    pub(super) fn write_search_failure(&mut self, tag: Tag, failure: Failure) {
        let status = match failure {
            Failure::Mailbox(e) => mailbox_error(tag, &e),
            Failure::Search(SearchError::BadCharset(_)) => Status::no(
                tag,
                Some(Code::BadCharset(
                    CHARSETS.iter().map(|s| (*s).to_owned()).collect(),
                )),
                "unsupported charset",
            ),
            // Not a server bug and nothing to undo: a stored message could not be read. A
            // partial answer could wrongly omit it, so the command fails, saying why.
            Failure::Search(SearchError::Io(e)) => {
                tracing::warn!(error = %e, "cannot read a stored message for a search");
                Status::no(
                    tag,
                    Some(Code::Corruption),
                    "cannot read a stored message of this mailbox; FETCH shows which",
                )
            }
        };
        self.write_status(status);
    }

    /// After a search-based command: lets the allocator return what the command used.
    pub(super) fn after_search(&self) {
        let searched = self.state.selected().map_or(0, |m| m.view.uids().len());
        crate::memory::after_command(searched);
    }

    pub(super) fn handle_search(
        &mut self,
        tag: Tag,
        search: SearchCommand,
    ) -> ResponseActFuture<Self, Reply> {
        let Some(update) = self.context_request(&tag, search.returns.as_deref()) else {
            return ready(self.reply(ReadMode::Command));
        };
        let uses_modseq = search.criteria.iter().any(mentions_modseq);
        if uses_modseq {
            self.enable_condstore(); // RFC 7162 section 3.1: the MODSEQ key enables it
        }
        let Some(job) = self.search_job(search.charset.clone(), search.criteria.clone()) else {
            return ready(self.reply(ReadMode::Command));
        };
        let update = update.then(|| {
            self.new_context(
                &tag,
                search.uid,
                search.charset.clone(),
                &search.criteria,
                None,
            )
        });
        let work = job.run(|m| Ok(m.matches.into_iter().map(|(m, _)| m).collect::<Vec<_>>()));
        run(self, work, move |session, result, _| {
            match result {
                Ok(matches) => {
                    session.answer_search(tag, &search, uses_modseq, &matches, update);
                    session.after_search();
                }
                Err(f) => session.write_search_failure(tag, f),
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
        matches: &[Match],
        update: Option<super::context::NewContext>,
    ) {
        let plain: Option<PlainAnswer> =
            (!self.rev2).then_some(|ids, mod_seq| Data::Search { ids, mod_seq });
        let result = SearchResult {
            uid: search.uid,
            uses_modseq,
            matches,
        };
        self.answer_result(&tag, search.returns.as_deref(), plain, &result);
        if let Some(context) = update {
            self.add_context(context, matches);
        }
        self.write_status(Status::ok(tag, None, "SEARCH completed"));
    }

    /// Writes a search-based command's result: `plain` (`* SEARCH`, `* SORT`) when there is
    /// no RETURN and the command has such a form, else ESEARCH with what RETURN asks for
    /// (`ALL` when nothing), saving the result for `$` when asked to.
    pub(super) fn answer_result(
        &mut self,
        tag: &Tag,
        returns: Option<&[SearchReturn]>,
        plain: Option<PlainAnswer>,
        result: &SearchResult<'_>,
    ) {
        let numbers: Vec<u32> = result
            .matches
            .iter()
            .map(|m| if result.uid { m.uid } else { m.seq })
            .collect();
        let highest = result
            .uses_modseq
            .then(|| result.matches.iter().map(|m| m.mod_seq).max())
            .flatten();
        if let (None, Some(plain)) = (returns, plain) {
            self.write(Response::Data(plain(numbers, highest)));
            return;
        }
        let asked = super::context::data_options(returns);
        if asked.contains(&SearchReturn::Save) {
            if let Some(m) = self.state.selected_mut() {
                let mut uids: Vec<u32> = result.matches.iter().map(|m| m.uid).collect();
                uids.sort_unstable();
                m.view.saved_search = Some(uids);
            }
        }
        let mut items = return_data(&asked, &numbers);
        if let Some(m) = highest.filter(|_| !numbers.is_empty()) {
            items.push(EsearchItem::ModSeq(m));
        }
        // RETURN (SAVE) alone produces no ESEARCH response (RFC 9051 section 6.4.4.1).
        let only_save = asked.iter().all(|r| *r == SearchReturn::Save);
        if !only_save {
            let esearch = Esearch {
                correlator: Some(tag.clone()),
                uid: result.uid,
                items,
            };
            self.write(Response::Data(Data::Esearch(esearch)));
        }
    }
}

/// The untagged response of a search-based command without RETURN: `* SEARCH` or `* SORT`
/// from the numbers and the highest MODSEQ.
pub(super) type PlainAnswer = fn(Vec<u32>, Option<u64>) -> Data;

/// A search-based command's result, in the order it is reported.
pub(super) struct SearchResult<'a> {
    /// Report UIDs rather than sequence numbers.
    pub uid: bool,
    /// The criteria used MODSEQ: report the highest MODSEQ (RFC 7162 section 3.1.5).
    pub uses_modseq: bool,
    pub matches: &'a [Match],
}

/// The ESEARCH return data for `asked` over the result `numbers`, in the order they are to be
/// reported (mailbox order for SEARCH, sort order for SORT: RFC 5267 section 3.1 makes MIN
/// and MAX the first and last sorted message, ALL and PARTIAL list them in that order).
pub(super) fn return_data(asked: &[SearchReturn], numbers: &[u32]) -> Vec<EsearchItem> {
    let mut items = Vec::new();
    for r in asked {
        match r {
            SearchReturn::Min => items.extend(numbers.first().map(|&n| EsearchItem::Min(n))),
            SearchReturn::Max => items.extend(numbers.last().map(|&n| EsearchItem::Max(n))),
            SearchReturn::All if !numbers.is_empty() => items.push(EsearchItem::All(
                SequenceSet::in_order(numbers.iter().copied()),
            )),
            SearchReturn::Count => items.push(EsearchItem::Count(numbers.len() as u32)),
            SearchReturn::Partial(range) => {
                let part = numbers
                    .get(range.indices(numbers.len()))
                    .unwrap_or_default();
                items.push(EsearchItem::Partial {
                    range: *range,
                    results: (!part.is_empty())
                        .then(|| SequenceSet::in_order(part.iter().copied())),
                });
            }
            SearchReturn::All
            | SearchReturn::Save
            | SearchReturn::Context
            | SearchReturn::Update => {}
        }
    }
    items
}

pub(super) fn mentions_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => mentions_modseq(k),
        SearchKey::Or(a, b) => mentions_modseq(a) || mentions_modseq(b),
        SearchKey::And(keys) => keys.iter().any(mentions_modseq),
        _ => false,
    }
}

/// Runs the search (on a blocking thread); returns the matches in mailbox order.
#[allow(clippy::too_many_arguments)] // the snapshot of one session's view
fn evaluate<'e>(
    handle: &crate::mailbox::MailboxHandle,
    view_uids: &[u32],
    recent: &[bool],
    entries: &'e [MessageEntry],
    keywords: &[String],
    saved: Option<&[u32]>,
    charset: Option<&str>,
    criteria: &[SearchKey],
) -> Result<Vec<(Match, &'e MessageEntry)>, SearchError> {
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
        Ok((raw, meta_of(handle, blob)?))
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
        .map(|c| {
            let m = Match {
                seq: c.seq,
                uid: c.entry.uid,
                mod_seq: c.entry.mod_seq,
            };
            (m, c.entry)
        })
        .collect())
}
