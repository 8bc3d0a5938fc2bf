//! The write operations of the Mailbox actor: the blocking preparation each needs before
//! it can join a batch (blob writes for APPEND, hard links for COPY), its plan and staging
//! inside the batch, and its announcement and answer once the batch is durable.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use actix::prelude::*;
use roost_proto::Flag;

use super::account::unix_now;
use super::actor::Mailbox;
use super::commit::{refuse, Done, Write};
use super::feed::MessageChanges;
use super::{
    Appended, ExpungeScope, Expunged, MailboxError, NewMessage, Reply, StoreFlags, StoreOutcome,
};
use crate::store::blobs::{self, BlobWrite};
use crate::store::mailbox::{self as store_mailbox, ExpungeSelect, MailboxRecord, NewEntry};
use crate::store::quota::Usage;
use crate::store::requests::{Outcome, RequestKey};
use crate::store::{BlobId, MessageEntry};

/// What a planned write does to the account's quota usage (see `usage.rs`).
enum QuotaChange {
    None,
    /// Messages added; `enforce` is false for a MOVE inside the account. `blobs` are the
    /// files written or linked for them, removed again if the write is refused.
    Add {
        usage: Usage,
        enforce: bool,
        blobs: Vec<BlobId>,
    },
    Free(Usage),
}

impl QuotaChange {
    fn add(items: &[&NewEntry], enforce: bool, own_blobs: bool) -> QuotaChange {
        QuotaChange::Add {
            usage: Usage::of_sizes(items.iter().map(|e| e.size)),
            enforce,
            blobs: if own_blobs {
                items.iter().map(|e| e.blob).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// A write planned against the current state, not yet staged.
struct Planned {
    records: Vec<MailboxRecord>,
    done: Done,
    quota: QuotaChange,
}

pub(super) fn lock_set(
    set: &std::sync::Mutex<std::collections::HashSet<BlobId>>,
) -> std::sync::MutexGuard<'_, std::collections::HashSet<BlobId>> {
    // Every change is one insert or remove: a panic cannot leave the set half done.
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Canonical stored names of flags from a command. `\Recent` (the server's to set, RFC
/// 9051 section 2.3.2) and `\*` are ignored.
///
/// # Errors
/// `Cannot` for an unknown system flag (`\Something`): it has no defined meaning.
fn stored_names(flags: &[Flag]) -> Result<Vec<String>, MailboxError> {
    flags
        .iter()
        .filter_map(|flag| match flag {
            Flag::Recent | Flag::Wildcard => None,
            Flag::Extension(atom) => Some(Err(MailboxError::Cannot(format!(
                "unsupported system flag \\{atom}"
            )))),
            other => Some(Ok(other.as_text().into_owned())),
        })
        .collect()
}

/// What [`Mailbox::blob_ids`] decided.
enum BlobIds {
    New(Vec<BlobId>),
    /// Every message is listed already, under these UIDs.
    Listed(Vec<u32>),
}

/// Writes the blobs and metadata of an APPEND (blocking). The message octets are written
/// straight from the caller's `Bytes`: a 50 MB message is never copied.
fn write_new_blobs(
    dir: &Path,
    messages: &[NewMessage],
    ids: Vec<BlobId>,
    flags: Vec<Vec<String>>,
    parse_meta: fn(&bytes::Bytes) -> Vec<u8>,
    may_remove: &dyn Fn() -> bool,
) -> io::Result<Vec<NewEntry>> {
    let metas: Vec<Vec<u8>> = messages.iter().map(|m| parse_meta(&m.data)).collect();
    let writes: Vec<BlobWrite<'_>> = messages
        .iter()
        .zip(&ids)
        .zip(&metas)
        .map(|((m, &id), meta)| BlobWrite {
            id,
            data: &m.data,
            meta,
        })
        .collect();
    blobs::write_blobs(dir, &writes, may_remove)?;
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    Ok(messages
        .iter()
        .zip(ids)
        .zip(flags)
        .map(|((m, blob), flags)| NewEntry {
            blob,
            size: m.data.len() as u32,
            internal_date: m.internal_date.unwrap_or(now),
            flags,
        })
        .collect())
}

/// A write's records, with the record of its request key when it has one and writes
/// anything (the key is durable exactly when the write is: one transaction).
fn with_key(
    mut records: Vec<MailboxRecord>,
    key: Option<RequestKey>,
    outcome: impl FnOnce() -> Outcome,
) -> Vec<MailboxRecord> {
    if let (Some(key), false) = (key, records.is_empty()) {
        records.push(MailboxRecord::Request {
            key,
            outcome: outcome(),
        });
    }
    records
}

fn io_error(what: &str) -> impl FnOnce(io::Error) -> MailboxError + '_ {
    move |e| MailboxError::from_io(what, &e)
}

impl Mailbox {
    /// Runs `job` on a blocking task, then queues the write it yields (or answers the
    /// error); the actor keeps serving meanwhile.
    fn after_blocking<T: Send + 'static, R: Send + 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        job: impl FnOnce() -> Result<T, MailboxError> + Send + 'static,
        reply: Reply<R>,
        then: impl FnOnce(T, Reply<R>) -> Write + 'static,
    ) {
        self.batcher.pending_io += 1;
        let task = tokio::task::spawn_blocking(job);
        ctx.spawn(task.into_actor(self).map(move |ran, act, ctx| {
            act.batcher.pending_io -= 1;
            let ran = ran
                .unwrap_or_else(|e| Err(MailboxError::Storage(format!("blob I/O panicked: {e}"))));
            match ran {
                Ok(value) => act.enqueue(ctx, then(value, reply)),
                Err(e) => reply.send(Err(e)),
            }
            act.closed_when_idle();
        }));
    }

    pub(super) fn start_append(
        &mut self,
        ctx: &mut Context<Self>,
        messages: Vec<NewMessage>,
        key: Option<RequestKey>,
        reply: Reply<Appended>,
    ) {
        let max = self.shared.options.max_message_size.min(u32::MAX as usize);
        let checked = self.state().map(|_| ()).and_then(|()| {
            if messages.iter().any(|m| m.data.len() > max) {
                return Err(MailboxError::TooBig);
            }
            messages.iter().map(|m| stored_names(&m.flags)).collect()
        });
        let flags: Vec<Vec<String>> = match checked {
            Ok(flags) => flags,
            Err(e) => return reply.send(Err(e)),
        };
        let ids = match self.blob_ids(&messages, key) {
            Ok(BlobIds::New(ids)) => ids,
            Ok(BlobIds::Listed(uids)) => {
                let uid_validity = self.info.uid_validity;
                return reply.send(Ok(Appended { uid_validity, uids }));
            }
            Err(e) => return reply.send(Err(e)),
        };
        let dir = self.dir.clone();
        let parse_meta = self.shared.options.parse_meta;
        let recount = self.recount();
        let (shared, account) = (self.shared.clone(), self.key.account.clone());
        let job = move || {
            recount();
            let may_remove = || shared.check_cleanup(&account).is_ok();
            write_new_blobs(&dir, &messages, ids, flags, parse_meta, &may_remove)
                .map_err(io_error("write message"))
        };
        self.after_blocking(ctx, job, reply, move |items, reply| Write::Append {
            items,
            key,
            reply,
        });
    }

    /// The blob ids an APPEND writes: random, or under a request key the same for every
    /// attempt. A keyed APPEND whose files are listed already is answered with their UIDs
    /// instead of being stored twice (issue 19 finding 5): recovery listed the files of an
    /// earlier attempt that was refused or unanswered after they were written, or the
    /// earlier attempt was committed so long ago (a requester paused past the lease) that
    /// the mailbox no longer remembers its key.
    fn blob_ids(
        &self,
        messages: &[NewMessage],
        key: Option<RequestKey>,
    ) -> Result<BlobIds, MailboxError> {
        let random = || {
            messages
                .iter()
                .map(|_| blobs::new_blob_id())
                .collect::<io::Result<Vec<_>>>()
                .map(BlobIds::New)
                .map_err(io_error("make a message id"))
        };
        let Some(key) = key else { return random() };
        let ids = blobs::keyed_blob_ids(key, messages.len());
        let state = self.state()?;
        // Files under these names exist only if an earlier attempt wrote them (one stat
        // each; the scan of the entries only then).
        if !ids
            .iter()
            .any(|&id| blobs::blob_path(&self.dir, id).exists())
        {
            return Ok(BlobIds::New(ids));
        }
        let listed = state.uids_of_blobs(&ids);
        if listed.iter().all(Option::is_none) {
            Ok(BlobIds::New(ids))
        } else if let Some(uids) = listed.iter().copied().collect::<Option<Vec<u32>>>() {
            tracing::info!(mailbox = %self.info.id, ?uids, "a repeated APPEND found its messages listed already");
            Ok(BlobIds::Listed(uids))
        } else {
            // Part of a MULTIAPPEND listed again: the rest is stored anew, under other
            // names, so nothing listed is ever written over.
            tracing::warn!(mailbox = %self.info.id, "a repeated APPEND found part of its messages listed already; storing it anew");
            random()
        }
    }

    pub(super) fn start_store(
        &mut self,
        ctx: &mut Context<Self>,
        request: StoreFlags,
        key: Option<RequestKey>,
        reply: Reply<StoreOutcome>,
    ) {
        match stored_names(&request.flags) {
            Ok(names) => self.enqueue(
                ctx,
                Write::Store {
                    uids: request.uids,
                    action: request.action,
                    names,
                    unchanged_since: request.unchanged_since,
                    key,
                    reply,
                },
            ),
            Err(e) => reply.send(Err(e)),
        }
    }

    pub(super) fn start_expunge(
        &mut self,
        ctx: &mut Context<Self>,
        scope: ExpungeScope,
        key: Option<RequestKey>,
        reply: Reply<Expunged>,
    ) {
        self.enqueue(ctx, Write::Expunge { scope, key, reply });
    }

    /// The destination side of COPY/MOVE: flags and INTERNALDATE come along, the blob is
    /// hard-linked (same mailbox: shared, nothing to link).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_copy_in(
        &mut self,
        ctx: &mut Context<Self>,
        source_dir: PathBuf,
        entries: Vec<MessageEntry>,
        keywords: std::sync::Arc<[String]>,
        moving: bool,
        key: Option<RequestKey>,
        reply: Reply<Vec<(u32, u32)>>,
    ) {
        let Some(key) = key else {
            return self.copy_in_now(ctx, source_dir, entries, &keywords, moving, None, reply);
        };
        let recorded = |_: &Mailbox, outcome: &Outcome| match outcome {
            Outcome::Copied { pairs } => Some(pairs.clone()),
            _ => None,
        };
        self.once(ctx, key, reply, recorded, move |act, ctx, reply| {
            act.copy_in_now(
                ctx,
                source_dir,
                entries,
                &keywords,
                moving,
                Some(key),
                reply,
            );
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_in_now(
        &mut self,
        ctx: &mut Context<Self>,
        source_dir: PathBuf,
        entries: Vec<MessageEntry>,
        keywords: &[String],
        moving: bool,
        key: Option<RequestKey>,
        reply: Reply<Vec<(u32, u32)>>,
    ) {
        let items: Vec<(u32, NewEntry)> = entries
            .iter()
            .map(|e| {
                let entry = NewEntry {
                    blob: e.blob,
                    size: e.size,
                    internal_date: e.internal_date,
                    flags: store_mailbox::flag_names(keywords, e.flags),
                };
                (e.uid, entry)
            })
            .collect();
        if source_dir == self.dir {
            let write = Write::CopyIn {
                items,
                same_mailbox: true,
                moving,
                claimed: Vec::new(),
                key,
                reply,
            };
            return self.enqueue(ctx, write);
        }
        if let Err(e) = self.state() {
            return reply.send(Err(e));
        }
        // The blobs come back into this mailbox: a removal still pending for one of them (its
        // message was expunged here earlier) is called off, and no EXPUNGE until the copy is
        // planned frees them (issue: a file "already there" was deleted under the copy).
        let claimed: Vec<BlobId> = items.iter().map(|(_, e)| e.blob).collect();
        {
            let mut removing = lock_set(&self.removing);
            for blob in &claimed {
                removing.remove(blob);
                *self.incoming.entry(*blob).or_default() += 1;
            }
        }
        let dir = self.dir.clone();
        let recount = self.recount();
        let job = move || {
            recount();
            let ids: Vec<_> = items.iter().map(|(_, e)| e.blob).collect();
            let present =
                blobs::link_blobs(&source_dir, &dir, &ids).map_err(io_error("link message"))?;
            // A source expunged meanwhile is skipped, like a UID that no longer exists.
            Ok(items
                .into_iter()
                .zip(present)
                .filter_map(|(item, present)| present.then_some(item))
                .collect())
        };
        self.after_blocking(ctx, job, reply, move |items, reply| Write::CopyIn {
            items,
            same_mailbox: false,
            moving,
            claimed,
            key,
            reply,
        });
    }

    /// For a blocking job ahead of a write that adds messages: brings the account's limits
    /// and usage up to date (users file changes, mailboxes not yet counted), so the check
    /// in the batch needs no I/O.
    fn recount(&self) -> impl FnOnce() + Send + 'static {
        let usage = self.usage.clone();
        let shared = self.shared.clone();
        move || {
            if let Some(usage) = usage {
                if let Err(e) = usage.refresh(&shared.options.quota) {
                    tracing::warn!(error = %e, "cannot count the account's quota usage");
                }
            }
        }
    }

    /// Applies a planned write's quota change; a refused addition is answered here and its
    /// files removed.
    fn account_for(&mut self, planned: Planned) -> Option<Planned> {
        let Some(usage) = &self.usage else {
            return Some(planned);
        };
        match &planned.quota {
            QuotaChange::None => {}
            QuotaChange::Free(freed) => usage.remove(self.key.id, *freed),
            QuotaChange::Add {
                usage: added,
                enforce,
                blobs: written,
            } => {
                if let Err(refusal) = usage.add(self.key.id, *added, *enforce) {
                    self.remove_unlisted(written.clone());
                    planned.done.refuse(&refusal.into());
                    return None;
                }
            }
        }
        Some(planned)
    }

    /// Takes back a quota change whose write could not be staged.
    fn unaccount(&self, quota: &QuotaChange) {
        let Some(usage) = &self.usage else { return };
        match quota {
            QuotaChange::None => {}
            QuotaChange::Free(freed) => {
                let _ = usage.add(self.key.id, *freed, false);
            }
            QuotaChange::Add { usage: added, .. } => usage.remove(self.key.id, *added),
        }
    }

    /// A blocking job that removes the files of every expunge still pending. Only the
    /// account's current writer deletes, checked right before each deletion (issue 19
    /// finding 1); what a former owner leaves, the next one lists again (`$Recovered`).
    pub(super) fn pending_removals(&self) -> impl FnOnce() + Send + 'static {
        let (dir, removing) = (self.dir.clone(), self.removing.clone());
        let (shared, account) = (self.shared.clone(), self.key.account.clone());
        move || loop {
            let mut pending = lock_set(&removing);
            let Some(&blob) = pending.iter().next() else {
                return;
            };
            pending.remove(&blob);
            if shared.check_cleanup(&account).is_err() {
                pending.clear();
                return;
            }
            // Under the lock: a COPY that brings the blob back waits for the removal to
            // end, then links it again from its source.
            if let Err(e) = blobs::remove_blobs(&dir, &[blob]) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove expunged blobs (recovery will)");
            }
        }
    }

    /// Plans and stages one write of a batch; answers it at once if it is refused.
    pub(super) fn prepare(&mut self, write: Write) -> Option<Done> {
        if let Write::CopyIn { claimed, .. } = &write {
            // From here the copied entries themselves keep their blobs live.
            for blob in claimed {
                if let Some(n) = self.incoming.get_mut(blob) {
                    *n -= 1;
                    if *n == 0 {
                        self.incoming.remove(blob);
                    }
                }
            }
        }
        let planned = self.plan(write)?;
        let Planned {
            records,
            done,
            quota,
        } = self.account_for(planned)?;
        self.forget_index();
        let store = self.store.as_mut()?;
        match store.stage(records) {
            Ok(()) => Some(done),
            Err(e) => {
                self.unaccount(&quota);
                done.refuse(&e.into());
                None
            }
        }
    }

    fn plan(&self, write: Write) -> Option<Planned> {
        let state = match self.state() {
            Ok(state) => state,
            Err(e) => {
                write.refuse(&e);
                return None;
            }
        };
        let new_uids = |n: usize| (state.uid_next..).take(n);
        match write {
            Write::Append { items, key, reply } => {
                let uids: Vec<u32> = new_uids(items.len()).collect();
                let quota = QuotaChange::add(&items.iter().collect::<Vec<_>>(), true, true);
                let written: Vec<BlobId> = items.iter().map(|i| i.blob).collect();
                match state.plan_append(items) {
                    Ok(records) => Some(Planned {
                        records: with_key(records, key, || Outcome::appended(&uids)),
                        done: Done::Appended {
                            uids,
                            written,
                            reply,
                        },
                        quota,
                    }),
                    Err(e) => {
                        self.remove_unlisted(written);
                        refuse(reply, &e.into())
                    }
                }
            }
            Write::Store {
                uids,
                action,
                names,
                unchanged_since,
                key,
                reply,
            } => match state.plan_store(&uids, action, &names, unchanged_since) {
                Ok(plan) => {
                    let mod_seq = plan
                        .records
                        .iter()
                        .find_map(|r| match r {
                            MailboxRecord::Flags { mod_seq, .. } => Some(*mod_seq),
                            _ => None,
                        })
                        .unwrap_or(0);
                    let records = with_key(plan.records, key, || Outcome::Stored {
                        mod_seq,
                        matched: plan.matched.clone(),
                        changed: plan.changed.clone(),
                        modified: plan.modified.clone(),
                    });
                    let done = Done::Stored {
                        matched: plan.matched,
                        changed: plan.changed,
                        mod_seq,
                        modified: plan.modified,
                        reply,
                    };
                    Some(Planned {
                        records,
                        done,
                        quota: QuotaChange::None,
                    })
                }
                Err(e) => refuse(reply, &e.into()),
            },
            Write::Expunge { scope, key, reply } => {
                let plan = state.plan_expunge(match &scope {
                    ExpungeScope::AllDeleted => ExpungeSelect::AllDeleted,
                    ExpungeScope::DeletedAmong(uids) => ExpungeSelect::DeletedAmong(uids),
                    ExpungeScope::Exactly(uids) => ExpungeSelect::Exactly(uids),
                });
                let mod_seq = plan
                    .records
                    .iter()
                    .find_map(|r| match r {
                        MailboxRecord::Expunge { mod_seq, .. } => Some(*mod_seq),
                        _ => None,
                    })
                    .unwrap_or(0);
                let freed = Usage::of_sizes(state.lookup(&plan.uids).iter().map(|e| e.size));
                let mut freed_blobs = plan.freed_blobs;
                freed_blobs.retain(|b| !self.incoming.contains_key(b));
                let records = with_key(plan.records, key, || Outcome::Expunged {
                    mod_seq,
                    uids: plan.uids.clone(),
                });
                let done = Done::Expunged {
                    uids: plan.uids,
                    mod_seq,
                    freed: freed_blobs,
                    reply,
                };
                Some(Planned {
                    records,
                    done,
                    quota: QuotaChange::Free(freed),
                })
            }
            Write::CopyIn {
                mut items,
                same_mailbox,
                moving,
                claimed: _,
                key,
                reply,
            } => {
                if same_mailbox {
                    // Expunged since the source read: its blob may be gone; skip it.
                    items.retain(|(uid, _)| state.find(*uid).is_some());
                }
                let pairs: Vec<(u32, u32)> = items
                    .iter()
                    .map(|i| i.0)
                    .zip(new_uids(items.len()))
                    .collect();
                let entries: Vec<&NewEntry> = items.iter().map(|(_, e)| e).collect();
                // A MOVE inside one mailbox links nothing of its own: its blobs stay shared.
                let quota = QuotaChange::add(&entries, !moving, !same_mailbox);
                match state.plan_copy_in(items.into_iter().map(|(_, e)| e).collect()) {
                    Ok(records) => Some(Planned {
                        records: with_key(records, key, || Outcome::Copied {
                            pairs: pairs.clone(),
                        }),
                        done: Done::CopiedIn { pairs, reply },
                        quota,
                    }),
                    Err(e) => refuse(reply, &e.into()),
                }
            }
        }
    }

    /// Announces a durable batch to the attached sessions, then answers each request
    /// (events first, so a session sees the change before its own command completes).
    pub(super) fn complete(&mut self, done: Vec<Done>) {
        let keywords = self.keywords();
        let Some(store) = self.store.as_ref() else {
            return;
        };
        let state = store.state();
        let lookup = |uids: &[u32]| -> Vec<MessageEntry> {
            state.lookup(uids).into_iter().copied().collect()
        };
        let mut stores_per_uid: HashMap<u32, u32> = HashMap::new();
        for d in &done {
            if let Done::Stored { changed, .. } = d {
                for &uid in changed {
                    *stores_per_uid.entry(uid).or_default() += 1;
                }
            }
        }
        let mut changes = MessageChanges::default();
        for d in &done {
            match d {
                Done::Appended { .. } => changes.new = true,
                Done::CopiedIn { pairs, .. } => changes.new |= !pairs.is_empty(),
                Done::Stored { changed, .. } => changes.flags |= !changed.is_empty(),
                Done::Expunged { uids, .. } => changes.expunged |= !uids.is_empty(),
            }
        }
        for d in done {
            match d {
                Done::Appended { uids, reply, .. } => {
                    self.listeners
                        .appended(lookup(&uids), keywords.clone(), state.uid_next);
                    let uid_validity = self.info.uid_validity;
                    reply.send(Ok(Appended { uid_validity, uids }));
                }
                Done::CopiedIn { pairs, reply } => {
                    if !pairs.is_empty() {
                        let uids: Vec<u32> = pairs.iter().map(|p| p.1).collect();
                        self.listeners
                            .appended(lookup(&uids), keywords.clone(), state.uid_next);
                    }
                    reply.send(Ok(pairs));
                }
                Done::Stored {
                    matched,
                    changed,
                    mod_seq,
                    modified,
                    reply,
                } => {
                    if !changed.is_empty() {
                        self.listeners.flags(lookup(&changed), keywords.clone());
                    }
                    let contended = changed
                        .iter()
                        .copied()
                        .filter(|uid| stores_per_uid.get(uid).is_some_and(|&n| n > 1))
                        .collect();
                    reply.send(Ok(StoreOutcome {
                        entries: lookup(&matched),
                        modified,
                        keywords: keywords.clone(),
                        changed,
                        mod_seq,
                        contended,
                    }));
                }
                Done::Expunged {
                    uids,
                    mod_seq,
                    freed,
                    reply,
                } => {
                    if !uids.is_empty() {
                        self.listeners.expunged(uids.clone());
                    }
                    // Planned blobs may have come back while the expunge was being made
                    // durable: a COPY or MOVE into this mailbox that found the file still
                    // there linked nothing of its own, and is now listed (or about to be).
                    let mut freed = state.unreferenced(freed);
                    freed.retain(|b| !self.incoming.contains_key(b));
                    if !freed.is_empty() {
                        // Only now that the expunge is durable may the octets go; a COPY
                        // that brings a blob back before its turn calls its removal off.
                        lock_set(&self.removing).extend(freed.iter().copied());
                        let remove = self.pending_removals();
                        tokio::task::spawn_blocking(remove);
                    }
                    reply.send(Ok(Expunged { uids, mod_seq }));
                }
            }
        }
        self.publish(changes);
    }
}
