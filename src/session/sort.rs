//! SORT and UID SORT (RFC 5256 section 3, RFC 5957 DISPLAY keys, RFC 5267 ESORT `RETURN`):
//! the search runs as SEARCH's does (where the mailbox lives, on a blocking thread), then the
//! matches are ordered on the same thread from the metadata ENVELOPE is built from.

use actix::ResponseActFuture;
use roost_proto::{Data, SortCommand, SortCriterion, Status, Tag};

use super::messages::{ReadMode, Reply};
use super::search::{mentions_modseq, meta_of, Match, Matched, PlainAnswer, SearchResult};
use super::{ready, run, Session};
use crate::message::{self, Candidate, SearchError};

impl Session {
    pub(super) fn handle_sort(
        &mut self,
        tag: Tag,
        sort: SortCommand,
    ) -> ResponseActFuture<Self, Reply> {
        let Some(update) = self.context_request(&tag, sort.returns.as_deref()) else {
            return ready(self.reply(ReadMode::Command));
        };
        let uses_modseq = sort.search.iter().any(mentions_modseq);
        if uses_modseq && self.state.selected().is_some() {
            self.enable_condstore(); // RFC 7162 section 3.1: the MODSEQ key enables it
        }
        let Some(job) = self.search_job(Some(sort.charset.clone()), sort.search.clone()) else {
            return ready(self.reply(ReadMode::Command));
        };
        let criteria = sort.criteria.clone();
        let update = update.then(|| {
            let charset = Some(sort.charset.clone());
            self.new_context(
                &tag,
                sort.uid,
                charset,
                &sort.search,
                Some(criteria.clone()),
            )
        });
        let work = job.run(move |found| in_order(&criteria, &found));
        run(self, work, move |session, result, _| {
            match result {
                Ok(sorted) => {
                    let plain: PlainAnswer = |ids, mod_seq| Data::Sort { ids, mod_seq };
                    let result = SearchResult {
                        uid: sort.uid,
                        uses_modseq,
                        matches: &sorted,
                    };
                    session.answer_result(&tag, sort.returns.as_deref(), Some(plain), &result);
                    if let Some(context) = update {
                        session.add_context(context, &sorted);
                    }
                    session.write_status(Status::ok(tag, None, "SORT completed"));
                    session.after_search();
                }
                Err(f) => session.write_search_failure(tag, f),
            }
            ReadMode::Command
        })
    }
}

/// The matches of a search in the order of `criteria`, on the blocking thread of the search.
pub(super) fn in_order(
    criteria: &[SortCriterion],
    found: &Matched<'_>,
) -> Result<Vec<Match>, SearchError> {
    let candidates: Vec<Candidate<'_>> = found
        .matches
        .iter()
        .map(|&(m, entry)| Candidate {
            seq: m.seq,
            entry,
            recent: false,
        })
        .collect();
    let order = if message::sort::by_facts(criteria) {
        message::sort::sort_by_facts(criteria, &candidates, &found.order_facts()?)
    } else {
        let load = |blob| meta_of(found.handle, blob);
        message::sort::sort(criteria, &candidates, &load)?
    };
    Ok(order.into_iter().map(|i| found.matches[i].0).collect())
}
