//! THREAD and UID THREAD (RFC 5256 section 3): the search runs as SEARCH's does (where the
//! mailbox lives, on a blocking thread); each match's metadata and header block (for
//! References) are read on the same thread, then threaded.

use std::io::Read;
use std::sync::Arc;

use actix::ResponseActFuture;
use roost_proto::{Data, Response, Status, Tag, ThreadCommand};

use super::messages::{ReadMode, Reply};
use super::search::Matched;
use super::{ready, run, Session};
use crate::message::order_facts::{FactsCache, OrderFacts};
use crate::message::thread::{self, ThreadMessage};
use crate::message::SearchError;
use crate::store::BlobId;

impl Session {
    pub(super) fn handle_thread(
        &mut self,
        tag: Tag,
        command: ThreadCommand,
    ) -> ResponseActFuture<Self, Reply> {
        let Some(job) = self.search_job(Some(command.charset.clone()), command.search.clone())
        else {
            return ready(self.reply(ReadMode::Command));
        };
        let (uid, algorithm) = (command.uid, command.algorithm);
        let work = job.run(move |found| {
            let messages = thread_facts(&found, uid)?;
            Ok(thread::thread(algorithm, &messages))
        });
        run(self, work, move |session, result, _| {
            match result {
                Ok(threads) => {
                    session.write(Response::Data(Data::Thread(threads)));
                    session.write_status(Status::ok(tag, None, "THREAD completed"));
                    session.after_search();
                }
                Err(f) => session.write_search_failure(tag, f),
            }
            ReadMode::Command
        })
    }
}

/// What threading needs of each match, from the node's cache of ordering facts.
fn thread_facts(found: &Matched<'_>, uid: bool) -> Result<Vec<ThreadMessage>, SearchError> {
    let facts = order_facts(found)?;
    Ok(found
        .matches
        .iter()
        .zip(facts)
        .map(|(&(m, entry), facts)| {
            let number = if uid { m.uid } else { m.seq };
            ThreadMessage::new(number, m.seq, entry.internal_date, facts)
        })
        .collect())
}

/// The ordering facts of each match, in order: cached, or computed from its metadata and
/// the header octets of its blob.
pub(super) fn order_facts(found: &Matched<'_>) -> Result<Vec<Arc<OrderFacts>>, SearchError> {
    let blobs: Vec<BlobId> = found.matches.iter().map(|(_, e)| e.blob).collect();
    let load = |blob| {
        let meta = found
            .handle
            .load_meta(blob)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut header = Vec::new();
        std::fs::File::open(found.handle.blob_path(blob))?
            .take(meta.header_len() as u64)
            .read_to_end(&mut header)?;
        Ok(OrderFacts::new(&meta, &header))
    };
    FactsCache::global()
        .facts(&blobs, load)
        .map_err(|e| SearchError::Io(e.to_string()))
}
