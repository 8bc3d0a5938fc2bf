//! THREAD and UID THREAD (RFC 5256 section 3): the search runs as SEARCH's does (where the
//! mailbox lives, on a blocking thread); each match's metadata and header block (for
//! References) are read on the same thread, then threaded.

use actix::ResponseActFuture;
use roost_proto::{Data, Response, Status, Tag, ThreadCommand};

use super::messages::{ReadMode, Reply};
use super::search::Matched;
use super::{ready, run, Session};
use crate::message::thread::{self, ThreadMessage};
use crate::message::SearchError;

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
    let facts = found.order_facts()?;
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
