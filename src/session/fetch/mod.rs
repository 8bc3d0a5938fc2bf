//! FETCH and UID FETCH (RFC 9051 section 6.4.5, RFC 7162 CHANGEDSINCE).
//!
//! Responses are rendered on blocking threads in batches ([`render`]) and queued as the client
//! reads them ([`send`]): message bodies go from the blob to the outbox in pieces of
//! [`PIECE`] octets, so a FETCH of any number of messages of any size holds about one piece
//! and the outbox's bound per connection. Items are answered once each, and a command whose
//! work would be out of proportion is refused ([`items`]).

mod items;
mod render;

use std::collections::HashSet;
use std::sync::Arc;

use actix::ResponseActFuture;
use bytes::Bytes;
use roost_proto::encode::Part;
use roost_proto::{
    Code, Data, FetchAttribute, FetchItems, FetchModifiers, Flag, Response, SequenceSet, Status,
    StoreAction, Tag,
};

use self::render::{render_batch, BlobRange, Decode, FetchError, Plan, Rendered, PIECE};
use super::messages::{Outbox, Outgoing, ReadMode, Reply};
use super::names::mailbox_error;
use super::{ready, resync, run, Session};
use crate::mailbox::{MailboxHandle, StoreFlags};
use crate::store::{FlagSet, MessageEntry};

/// Messages rendered per blocking task when message files are read, and the in-memory
/// octets (BINARY, HEADER.FIELDS) that stop a batch early.
const BODY_BATCH: usize = 32;
const BODY_BATCH_OCTETS: u64 = 1024 * 1024;
/// Messages per batch when only flags and metadata from the index are asked for.
const INDEX_BATCH: usize = 1024;

impl Session {
    pub(super) fn handle_fetch(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        items: &FetchItems,
        modifiers: FetchModifiers,
    ) -> ResponseActFuture<Self, Reply> {
        if self.state.selected().is_none() {
            return ready(self.reply(ReadMode::Command));
        }
        // RFC 7162 section 3.2.6.
        let refused_vanished = match (modifiers.vanished, uid, self.qresync) {
            (false, ..) => None,
            (true, false, _) => Some("VANISHED is a UID FETCH modifier"),
            (true, true, false) => Some("VANISHED needs ENABLE QRESYNC first"),
            (true, true, true) if modifiers.changed_since.is_none() => {
                Some("VANISHED goes with CHANGEDSINCE")
            }
            (true, true, true) => None,
        };
        if let Some(reason) = refused_vanished {
            self.write_status(Status::bad(tag, None, reason));
            return ready(self.reply(ReadMode::Command));
        }
        let mut attrs = items.expand();
        if uid && !attrs.contains(&FetchAttribute::Uid) {
            attrs.insert(0, FetchAttribute::Uid); // RFC 9051 section 6.4.8: UID FETCH always reports UID
        }
        if modifiers.changed_since.is_some() && !attrs.contains(&FetchAttribute::ModSeq) {
            attrs.push(FetchAttribute::ModSeq);
        }
        if attrs.contains(&FetchAttribute::ModSeq) {
            // RFC 7162 section 3.1: FETCH MODSEQ and CHANGEDSINCE enable CONDSTORE.
            self.enable_condstore();
        }
        let Some(selected) = self.state.selected() else {
            return ready(self.reply(ReadMode::Command));
        };
        let marks_seen = !selected.read_only && attrs.iter().any(items::sets_seen);
        let attrs = items::dedupe(attrs);
        let targets = if uid {
            selected.view.resolve_uids(set)
        } else {
            selected.view.resolve_seqs(set)
        };
        if !items::within_budget(&attrs, targets.len()) {
            let text = format!(
                "FETCH of {} messages with these items is too much work for one command \
                 (at most {} body items in all, {} BINARY items); fetch less at a time",
                targets.len(),
                items::WORK_LIMIT,
                items::BINARY_LIMIT
            );
            self.write_status(Status::no(tag, Some(Code::Limit), text));
            return ready(self.reply(ReadMode::Command));
        }
        let recent: HashSet<u32> = targets
            .iter()
            .map(|&(_, u)| u)
            .filter(|&u| selected.view.is_recent(u))
            .collect();
        let mut plan = Plan {
            attrs,
            rev2: self.rev2,
            condstore: self.condstore,
            encode: self.encode_context(),
            recent,
            seen_now: HashSet::new(),
        };
        let (announced, read_only) = (selected.announced_keywords, selected.read_only);
        let handle = selected.handle.clone();
        let outbox = self.out.clone();
        let changed_since = modifiers.changed_since;
        let messages = targets.len();
        // Asked what vanished: the UIDs asked about that this view no longer holds.
        let vanished_query = modifiers.vanished.then(|| {
            let view = &selected.view;
            let known = resync::ranges_of(set, view.max_uid());
            (
                known,
                view.uids().to_vec(),
                view.max_uid().saturating_add(1),
            )
        });
        let work = async move {
            if let (Some((known, present, uid_next)), Some(since)) = (vanished_query, changed_since)
            {
                let record = handle
                    .vanished_since(since)
                    .await
                    .map_err(FetchError::Mailbox)?;
                let gone = resync::vanished_earlier(&record, &known, &present, uid_next, 1);
                if let Some(uids) = resync::to_set(&gone) {
                    let line = Response::Data(Data::Vanished {
                        earlier: true,
                        uids,
                    });
                    send_responses(&outbox, &plan.encode, [line]).await?;
                }
            }
            let uids: Vec<u32> = targets.iter().map(|&(_, u)| u).collect();
            if marks_seen {
                plan.seen_now = mark_seen(&handle, &uids).await?;
            }
            let asked = uids.len();
            let (mut entries, keywords) =
                handle.entries(uids).await.map_err(FetchError::Mailbox)?;
            // Messages the session knows that another session expunged meanwhile are left
            // out; the tagged OK says so with [EXPUNGEISSUED] (RFC 9051 section 7.1).
            let mut sent = Sent {
                vanished: asked.saturating_sub(entries.len()),
                ..Sent::default()
            };
            if let Some(since) = changed_since {
                entries.retain(|e| e.mod_seq > since);
            }
            if keywords.len() > announced {
                // Keywords new to this session are offered before a FETCH shows them.
                let lines = super::flags::offered_flags(&keywords, read_only);
                send_responses(&outbox, &plan.encode, lines).await?;
                sent.keywords = keywords.len();
            }
            sent.add(render_and_send(plan, &handle, &targets, &entries, &keywords, &outbox).await?);
            if !sent.missing.is_empty() {
                // Files gone: expunged meanwhile, unless the mailbox still lists the message.
                let missing = std::mem::take(&mut sent.missing);
                let asked = missing.len();
                let (still, _) = handle.entries(missing).await.map_err(FetchError::Mailbox)?;
                sent.vanished += asked - still.len();
                // Still listed without its file: lost, not expunged. That message alone
                // fails, with [CORRUPTION] (docs/storage.md).
                for entry in &still {
                    tracing::error!(uid = entry.uid, blob = %entry.blob, mailbox = %handle.info().name, "message listed without its file");
                }
                sent.damaged.extend(still.iter().map(|e| e.uid));
            }
            Ok::<_, FetchError>(sent)
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok(sent) => {
                    if let Some(m) = session.state.selected_mut() {
                        m.announced_keywords = m.announced_keywords.max(sent.keywords);
                        for (uid, mod_seq) in sent.reported {
                            m.view.shown_flags(uid, mod_seq);
                        }
                    }
                    let status = if !sent.damaged.is_empty() {
                        damaged_status(tag, &sent.damaged)
                    } else if sent.vanished > 0 {
                        Status::ok(
                            tag,
                            Some(Code::ExpungeIssued),
                            "FETCH completed; some messages were expunged meanwhile",
                        )
                    } else {
                        Status::ok(tag, None, "FETCH completed")
                    };
                    session.write_status(status);
                    crate::memory::after_command(messages);
                }
                Err(FetchError::Mailbox(e)) => session.write_status(mailbox_error(tag, &e)),
                Err(FetchError::UnknownCte(cte)) => session.write_status(Status::no(
                    tag,
                    Some(Code::UnknownCte),
                    format!("cannot decode content-transfer-encoding {cte}"),
                )),
                Err(FetchError::Gone) => session.broken = true,
            }
            ReadMode::Command
        })
    }
}

/// Renders `entries` (in UID order) as `targets` (`(sequence number, UID)`, in UID order)
/// number them, in batches on blocking threads, and queues the responses.
async fn render_and_send(
    plan: Plan,
    handle: &MailboxHandle,
    targets: &[(u32, u32)],
    entries: &[MessageEntry],
    keywords: &Arc<[String]>,
    outbox: &Outbox,
) -> Result<Sent, FetchError> {
    let plan = Arc::new(plan);
    let mut sent = Sent::default();
    for batch in batches(entries, plan.needs_raw()) {
        // Entries are in UID order, and so are the targets: pair them by merging.
        let batch: Vec<(u32, MessageEntry)> = batch
            .iter()
            .filter_map(|e| {
                let i = targets.binary_search_by_key(&e.uid, |&(_, u)| u).ok()?;
                Some((targets[i].0, *e))
            })
            .collect();
        let (plan, handle, keywords) = (plan.clone(), handle.clone(), keywords.clone());
        let rendered =
            tokio::task::spawn_blocking(move || render_batch(&plan, &handle, &batch, &keywords))
                .await
                .map_err(|_| FetchError::Gone)??;
        sent.add(send(outbox, rendered).await?);
    }
    Ok(sent)
}

impl Session {
    /// NOTIFY's `MessageNew (fetch-att ...)` (RFC 5465 section 5.2): after `* n EXISTS`, a
    /// FETCH of each new message `(sequence number, UID)`. The session handles nothing else
    /// until it is queued, so no later response can renumber the messages before it. False
    /// when it is too much work for one go (the caller overflows instead).
    pub(super) fn fetch_new_messages(
        &mut self,
        ctx: &mut actix::Context<Self>,
        attrs: &[FetchAttribute],
        targets: Vec<(u32, u32)>,
    ) -> bool {
        let Some(selected) = self.state.selected() else {
            return true;
        };
        if !items::within_budget(attrs, targets.len()) {
            return false;
        }
        let plan = Plan {
            attrs: items::dedupe(attrs.to_vec()),
            rev2: self.rev2,
            condstore: self.condstore,
            encode: self.encode_context(),
            recent: targets
                .iter()
                .map(|&(_, u)| u)
                .filter(|&u| selected.view.is_recent(u))
                .collect(),
            seen_now: HashSet::new(),
        };
        let (handle, outbox) = (selected.handle.clone(), self.out.clone());
        let work = async move {
            let uids = targets.iter().map(|&(_, u)| u).collect();
            let (entries, keywords) = handle.entries(uids).await.map_err(FetchError::Mailbox)?;
            render_and_send(plan, &handle, &targets, &entries, &keywords, &outbox).await
        };
        use actix::{ActorFutureExt, AsyncContext, WrapFuture};
        ctx.wait(
            work.into_actor(self)
                .map(|result, session, _| match result {
                    Ok(sent) => {
                        if let Some(m) = session.state.selected_mut() {
                            for (uid, mod_seq) in sent.reported {
                                m.view.shown_flags(uid, mod_seq);
                            }
                        }
                    }
                    Err(FetchError::Gone) => session.broken = true,
                    // Expunged meanwhile, or unreadable: its EXPUNGE follows; nothing to add.
                    Err(e) => {
                        tracing::debug!(error = ?e, "FETCH of new messages for NOTIFY failed")
                    }
                }),
        );
        true
    }
}

/// The tagged NO of a FETCH that sent every message it could but not these (RFC 9051
/// section 6.4.5: "NO - fetch error: can't fetch that data"; section 7.1: CORRUPTION).
fn damaged_status(tag: Tag, uids: &[u32]) -> Status {
    const SHOWN: usize = 10;
    let mut list: Vec<String> = uids.iter().take(SHOWN).map(u32::to_string).collect();
    if uids.len() > SHOWN {
        list.push(format!("and {} more", uids.len() - SHOWN));
    }
    Status::no(
        tag,
        Some(Code::Corruption),
        format!(
            "cannot read the stored message of UID {}; every other message was sent",
            list.join(" ")
        ),
    )
}

/// What a FETCH reported, for the session's view once it completes.
#[derive(Default)]
struct Sent {
    /// `(uid, modseq)` of the flags reported.
    reported: Vec<(u32, u64)>,
    vanished: usize,
    /// UIDs whose files were gone (vanished or lost: told apart at the end).
    missing: Vec<u32>,
    /// UIDs whose files could not be read.
    damaged: Vec<u32>,
    /// The keyword table length offered in `* FLAGS`, when it grew.
    keywords: usize,
}

impl Sent {
    fn add(&mut self, batch: Sent) {
        self.reported.extend(batch.reported);
        self.vanished += batch.vanished;
        self.missing.extend(batch.missing);
        self.damaged.extend(batch.damaged);
    }
}

/// Queues a rendered batch, filling each hole from its blob piece by piece.
async fn send(outbox: &Outbox, rendered: Rendered) -> Result<Sent, FetchError> {
    let mut blobs = rendered.blobs.into_iter();
    let mut pending: Vec<Bytes> = Vec::new();
    for part in rendered.parts {
        match part {
            Part::Data(bytes) => pending.push(bytes),
            Part::Hole(len) => {
                send_data(outbox, std::mem::take(&mut pending)).await?;
                let blob = blobs.next().ok_or(FetchError::Gone)?;
                let announced = blob.decode.map_or(blob.range.len(), |d| d.take);
                debug_assert_eq!(announced as u64, len);
                stream_blob(outbox, blob).await?;
            }
        }
    }
    send_data(outbox, pending).await?;
    Ok(Sent {
        reported: rendered.reported,
        missing: rendered.missing,
        damaged: rendered.damaged,
        ..Sent::default()
    })
}

/// Small responses that go before the FETCH data, written as one piece.
async fn send_responses(
    outbox: &Outbox,
    encode: &roost_proto::encode::EncodeContext,
    lines: impl IntoIterator<Item = Response>,
) -> Result<(), FetchError> {
    let mut out = roost_proto::encode::Output::new();
    for line in lines {
        roost_proto::encode::write_response(&line, encode, &mut out);
    }
    send_data(outbox, out.into_chunks()).await
}

async fn send_data(outbox: &Outbox, chunks: Vec<Bytes>) -> Result<(), FetchError> {
    if chunks.is_empty() {
        return Ok(());
    }
    outbox
        .send_wait(Outgoing::Data(chunks))
        .await
        .map_err(|_| FetchError::Gone)
}

/// Sends exactly the octets announced for the hole: a range of the blob, or (BINARY) the
/// decoded octets `skip..skip + take` of an encoded range, decoded piece by piece. The length
/// was announced in the literal, so a read that fails or comes up short leaves the response
/// unfinishable: the connection ends.
async fn stream_blob(outbox: &Outbox, blob: BlobRange) -> Result<(), FetchError> {
    let gone = |e: std::io::Error| {
        tracing::warn!(error = %e, "cannot read a message body announced to the client");
        FetchError::Gone
    };
    let BlobRange {
        file,
        range,
        decode,
    } = blob;
    if let Some(Decode { cte, skip, take }) = decode {
        // Decoding is CPU work: a blocking thread decodes, the pieces come over a channel.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(2);
        let decoding = tokio::task::spawn_blocking(move || {
            let mut sent = 0;
            render::decode_pieces(&file, range, cte, |offset, piece| {
                let lo = skip.max(offset).min(offset + piece.len());
                let hi = skip.saturating_add(take).min(offset + piece.len());
                if lo < hi {
                    let part = Bytes::copy_from_slice(&piece[lo - offset..hi - offset]);
                    sent += part.len();
                    if tx.blocking_send(part).is_err() {
                        return false;
                    }
                }
                sent < take
            })
            .map(|_| sent)
        });
        while let Some(piece) = rx.recv().await {
            send_data(outbox, vec![piece]).await?;
        }
        let sent = decoding.await.map_err(|_| FetchError::Gone)??;
        if sent != take {
            return Err(gone(std::io::Error::other(
                "the part decoded shorter than announced",
            )));
        }
        return Ok(());
    }
    let mut at = range.start;
    while at < range.end {
        let len = PIECE.min(range.end - at);
        let file = file.clone();
        let piece = tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, at as u64).map(|()| buf)
        })
        .await
        .map_err(|_| FetchError::Gone)?
        .map_err(gone)?;
        at += len;
        send_data(outbox, vec![Bytes::from(piece)]).await?;
    }
    Ok(())
}

/// Sets `\Seen` on the messages that lack it (a non-PEEK body fetch, RFC 9051 section
/// 6.4.5) and returns the UIDs that changed, whose FLAGS the response then includes.
async fn mark_seen(handle: &MailboxHandle, uids: &[u32]) -> Result<HashSet<u32>, FetchError> {
    let (entries, _) = handle
        .entries(uids.to_vec())
        .await
        .map_err(FetchError::Mailbox)?;
    let unseen: Vec<u32> = entries
        .iter()
        .filter(|e| !e.flags.contains(FlagSet::SEEN))
        .map(|e| e.uid)
        .collect();
    if unseen.is_empty() {
        return Ok(HashSet::new());
    }
    let request = StoreFlags {
        uids: unseen.clone(),
        action: StoreAction::Add,
        flags: vec![Flag::Seen],
        unchanged_since: None,
    };
    handle.store(request).await.map_err(FetchError::Mailbox)?;
    Ok(unseen.into_iter().collect())
}

/// Batches of entries: by count, and for items read into memory by octets too (one large
/// message is still one batch).
fn batches(entries: &[MessageEntry], in_memory: bool) -> Vec<&[MessageEntry]> {
    if !in_memory {
        return entries.chunks(BODY_BATCH.max(INDEX_BATCH)).collect();
    }
    let mut out = Vec::new();
    let (mut start, mut octets) = (0, 0u64);
    for (i, e) in entries.iter().enumerate() {
        if i > start && (i - start >= BODY_BATCH || octets + u64::from(e.size) > BODY_BATCH_OCTETS)
        {
            out.push(&entries[start..i]);
            start = i;
            octets = 0;
        }
        octets += u64::from(e.size);
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::BlobId;

    fn entry(uid: u32, size: u32) -> MessageEntry {
        MessageEntry {
            uid,
            mod_seq: 1,
            flags: FlagSet::default(),
            internal_date: 0,
            size,
            blob: BlobId(0),
            saved: 0,
        }
    }

    #[test]
    fn in_memory_batches_stop_at_count_or_octets_but_never_split_one_message() {
        let small: Vec<_> = (1..=70).map(|u| entry(u, 100)).collect();
        assert_eq!(
            batches(&small, true)
                .iter()
                .map(|b| b.len())
                .collect::<Vec<_>>(),
            vec![32, 32, 6]
        );
        let big = vec![entry(1, 50_000_000), entry(2, 10), entry(3, 50_000_000)];
        assert_eq!(
            batches(&big, true)
                .iter()
                .map(|b| b.len())
                .collect::<Vec<_>>(),
            vec![1, 1, 1]
        );
        assert_eq!(batches(&small, false).len(), 1);
    }
}
