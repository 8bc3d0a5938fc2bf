//! FETCH and UID FETCH (RFC 9051 section 6.4.5, RFC 7162 CHANGEDSINCE).
//!
//! Message bodies are read and responses rendered on blocking threads, in batches, and
//! streamed into the outbox as they are ready (waiting while the client reads), so a FETCH
//! of a whole mailbox never holds more than one batch in memory.

use std::collections::HashSet;
use std::sync::Arc;

use actix::ResponseActFuture;
use bytes::Bytes;
use roost_proto::encode::{write_response, EncodeContext, Output};
use roost_proto::{
    Code, Data, DateTime, FetchAttribute, FetchItems, FetchModifiers, FetchValue, Flag, Response,
    Section, SectionText, SequenceSet, Status, StoreAction, Tag,
};

use super::flags::reported_flags;
use super::messages::{Outgoing, ReadMode, Reply};
use super::names::mailbox_error;
use super::{ready, run, Session};
use crate::mailbox::{MailboxError, MailboxHandle, StoreFlags};
use crate::message::{self, BinaryError, MessageMeta};
use crate::store::{FlagSet, MessageEntry};

/// Messages rendered per blocking task when bodies are read, and the octets that stop a
/// batch early (one large message is still one batch).
const BODY_BATCH: usize = 32;
const BODY_BATCH_OCTETS: u64 = 8 * 1024 * 1024;
/// Messages per batch when only flags and metadata from the index are asked for.
const INDEX_BATCH: usize = 1024;

/// Everything rendering needs, captured from the session so it can run off the actor.
struct Plan {
    attrs: Vec<FetchAttribute>,
    rev2: bool,
    condstore: bool,
    encode: EncodeContext,
    /// UIDs that are `\Recent` for this session.
    recent: HashSet<u32>,
    needs_raw: bool,
    needs_meta: bool,
}

#[derive(Debug)]
enum FetchError {
    Mailbox(MailboxError),
    UnknownCte(String),
    Gone,
}

impl Session {
    pub(super) fn handle_fetch(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        items: &FetchItems,
        modifiers: FetchModifiers,
    ) -> ResponseActFuture<Self, Reply> {
        let Some(selected) = self.state.selected() else {
            return ready(self.reply(ReadMode::Command));
        };
        if modifiers.vanished {
            self.write_status(Status::bad(
                tag,
                None,
                "VANISHED needs QRESYNC, which this server does not offer",
            ));
            return ready(self.reply(ReadMode::Command));
        }
        let mut attrs = items.expand();
        if uid && !attrs.contains(&FetchAttribute::Uid) {
            attrs.insert(0, FetchAttribute::Uid); // RFC 9051 section 6.4.8: UID FETCH always reports UID
        }
        if modifiers.changed_since.is_some() {
            self.condstore = true; // RFC 7162 section 3.1: CHANGEDSINCE enables CONDSTORE
            if !attrs.contains(&FetchAttribute::ModSeq) {
                attrs.push(FetchAttribute::ModSeq);
            }
        }
        let targets = if uid {
            selected.view.resolve_uids(set)
        } else {
            selected.view.resolve_seqs(set)
        };
        let marks_seen = !selected.read_only && attrs.iter().any(sets_seen);
        let plan = Plan {
            needs_raw: attrs.iter().any(needs_raw),
            needs_meta: attrs.iter().any(needs_meta),
            recent: targets
                .iter()
                .map(|&(_, u)| u)
                .filter(|&u| selected.view.is_recent(u))
                .collect(),
            attrs,
            rev2: self.rev2,
            condstore: self.condstore,
            encode: self.encode_context(),
        };
        let handle = selected.handle.clone();
        let outbox = self.out.clone();
        let changed_since = modifiers.changed_since;
        let work = async move {
            let seqs: std::collections::HashMap<u32, u32> =
                targets.iter().map(|&(s, u)| (u, s)).collect();
            let uids: Vec<u32> = targets.iter().map(|&(_, u)| u).collect();
            let seen_now = if marks_seen {
                mark_seen(&handle, &uids).await?
            } else {
                HashSet::new()
            };
            let (mut entries, keywords) =
                handle.entries(uids).await.map_err(FetchError::Mailbox)?;
            if let Some(since) = changed_since {
                entries.retain(|e| e.mod_seq > since);
            }
            let plan = Arc::new(plan);
            let seen_now = Arc::new(seen_now);
            let mut reported = Vec::new();
            for batch in batches(&entries, plan.needs_raw) {
                let batch: Vec<(u32, MessageEntry)> = batch
                    .iter()
                    .filter_map(|e| Some((*seqs.get(&e.uid)?, *e)))
                    .collect();
                let (plan, handle, keywords, seen_now) = (
                    plan.clone(),
                    handle.clone(),
                    keywords.clone(),
                    seen_now.clone(),
                );
                let rendered = tokio::task::spawn_blocking(move || {
                    render_batch(&plan, &handle, &batch, &keywords, &seen_now)
                })
                .await
                .map_err(|_| FetchError::Gone)??;
                reported.extend(rendered.reported);
                outbox
                    .send_wait(Outgoing::Data(rendered.chunks))
                    .await
                    .map_err(|_| FetchError::Gone)?;
            }
            Ok::<_, FetchError>(reported)
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok(reported) => {
                    if let Some(m) = session.state.selected_mut() {
                        for (uid, mod_seq) in reported {
                            m.view.reported_flags(uid, mod_seq);
                        }
                    }
                    session.write_status(Status::ok(tag, None, "FETCH completed"));
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

fn batches(entries: &[MessageEntry], bodies: bool) -> Vec<&[MessageEntry]> {
    if !bodies {
        return entries.chunks(INDEX_BATCH).collect();
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

fn sets_seen(a: &FetchAttribute) -> bool {
    matches!(
        a,
        FetchAttribute::BodySection { peek: false, .. }
            | FetchAttribute::Binary { peek: false, .. }
            | FetchAttribute::Rfc822
            | FetchAttribute::Rfc822Text
    )
}

fn needs_raw(a: &FetchAttribute) -> bool {
    matches!(
        a,
        FetchAttribute::BodySection { .. }
            | FetchAttribute::Binary { .. }
            | FetchAttribute::BinarySize { .. }
            | FetchAttribute::Rfc822
            | FetchAttribute::Rfc822Header
            | FetchAttribute::Rfc822Text
    )
}

fn needs_meta(a: &FetchAttribute) -> bool {
    needs_raw(a)
        || matches!(
            a,
            FetchAttribute::Envelope | FetchAttribute::Body | FetchAttribute::BodyStructure
        )
}

struct Rendered {
    chunks: Vec<Bytes>,
    /// `(uid, modseq)` of the flags this batch reported.
    reported: Vec<(u32, u64)>,
}

fn render_batch(
    plan: &Plan,
    handle: &MailboxHandle,
    batch: &[(u32, MessageEntry)],
    keywords: &[String],
    seen_now: &HashSet<u32>,
) -> Result<Rendered, FetchError> {
    let mut out = Output::new();
    let mut reported = Vec::new();
    for (seq, entry) in batch {
        let message = load(plan, handle, entry)?;
        let Some((raw, meta)) = message else {
            continue; // expunged meanwhile: RFC 9051 lets the server omit it
        };
        let mut items = Vec::with_capacity(plan.attrs.len() + 1);
        let mut flags_reported = false;
        for attr in &plan.attrs {
            if matches!(attr, FetchAttribute::Flags) {
                flags_reported = true;
            }
            items.push(value(
                plan,
                attr,
                entry,
                keywords,
                raw.as_ref(),
                meta.as_ref(),
            )?);
        }
        if seen_now.contains(&entry.uid) && !flags_reported {
            flags_reported = true;
            items.push(FetchValue::Flags(reported_flags(
                entry,
                keywords,
                plan.recent.contains(&entry.uid),
                plan.rev2,
            )));
        }
        if flags_reported && plan.condstore && !plan.attrs.contains(&FetchAttribute::ModSeq) {
            items.push(FetchValue::ModSeq(entry.mod_seq));
        }
        if flags_reported {
            reported.push((entry.uid, entry.mod_seq));
        }
        write_response(
            &Response::Data(Data::Fetch { seq: *seq, items }),
            &plan.encode,
            &mut out,
        );
    }
    Ok(Rendered {
        chunks: out.into_chunks(),
        reported,
    })
}

type Loaded = Option<(Option<Bytes>, Option<MessageMeta>)>;

/// Reads what the requested items need; `None` when the message's files are gone (expunged
/// by another session after the entries were read).
fn load(plan: &Plan, handle: &MailboxHandle, entry: &MessageEntry) -> Result<Loaded, FetchError> {
    let raw = if plan.needs_raw {
        match std::fs::read(handle.blob_path(entry.blob)) {
            Ok(bytes) => Some(Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(FetchError::Mailbox(MailboxError::Storage(e.to_string()))),
        }
    } else {
        None
    };
    let meta = if plan.needs_meta {
        match handle.load_meta(entry.blob) {
            Ok(meta) => Some(meta),
            Err(MailboxError::NonExistent(_)) => return Ok(None),
            Err(e) => return Err(FetchError::Mailbox(e)),
        }
    } else {
        None
    };
    Ok(Some((raw, meta)))
}

fn value(
    plan: &Plan,
    attr: &FetchAttribute,
    entry: &MessageEntry,
    keywords: &[String],
    raw: Option<&Bytes>,
    meta: Option<&MessageMeta>,
) -> Result<FetchValue, FetchError> {
    let raw = || raw.cloned().unwrap_or_default();
    let meta = || meta.ok_or(FetchError::Gone);
    Ok(match attr {
        FetchAttribute::Flags => FetchValue::Flags(reported_flags(
            entry,
            keywords,
            plan.recent.contains(&entry.uid),
            plan.rev2,
        )),
        FetchAttribute::InternalDate => {
            FetchValue::InternalDate(DateTime::from_unix_timestamp(entry.internal_date))
        }
        FetchAttribute::Rfc822Size => FetchValue::Rfc822Size(u64::from(entry.size)),
        FetchAttribute::Envelope => FetchValue::Envelope(Box::new(meta()?.envelope())),
        FetchAttribute::Body => FetchValue::Body(Box::new(meta()?.body_structure())),
        FetchAttribute::BodyStructure => {
            FetchValue::BodyStructure(Box::new(meta()?.body_structure()))
        }
        FetchAttribute::Uid => FetchValue::Uid(entry.uid),
        FetchAttribute::BodySection {
            section, partial, ..
        } => {
            let data = message::section(&raw(), meta()?, section).unwrap_or_default();
            let data = match partial {
                Some(p) => message::partial(data, p.offset, p.length),
                None => data,
            };
            FetchValue::body_section(section.clone(), *partial, Some(data))
        }
        FetchAttribute::Binary { part, partial, .. } => {
            let data = binary(&raw(), meta()?, part)?;
            let data = match partial {
                Some(p) => message::partial(data, p.offset, p.length),
                None => data,
            };
            FetchValue::Binary {
                part: part.clone(),
                origin: partial.map(|p| p.offset),
                data: Some(data),
            }
        }
        FetchAttribute::BinarySize { part } => {
            let size = match message::binary_size(&raw(), meta()?, part) {
                Ok(size) => u64::from(size),
                Err(BinaryError::NoSuchPart) => 0,
                Err(BinaryError::UnknownCte(cte)) => return Err(FetchError::UnknownCte(cte)),
            };
            FetchValue::BinarySize {
                part: part.clone(),
                size,
            }
        }
        FetchAttribute::ModSeq => FetchValue::ModSeq(entry.mod_seq),
        FetchAttribute::EmailId => FetchValue::EmailId(entry.blob.to_string()),
        FetchAttribute::ThreadId => FetchValue::ThreadId(None),
        FetchAttribute::Rfc822 => FetchValue::Rfc822(Some(raw())),
        FetchAttribute::Rfc822Header => {
            let section = Section {
                part: Vec::new(),
                text: Some(SectionText::Header),
            };
            FetchValue::Rfc822Header(Some(
                message::section(&raw(), meta()?, &section).unwrap_or_default(),
            ))
        }
        FetchAttribute::Rfc822Text => {
            let section = Section {
                part: Vec::new(),
                text: Some(SectionText::Text),
            };
            FetchValue::Rfc822Text(Some(
                message::section(&raw(), meta()?, &section).unwrap_or_default(),
            ))
        }
    })
}

fn binary(raw: &Bytes, meta: &MessageMeta, part: &[u32]) -> Result<Bytes, FetchError> {
    match message::binary(raw, meta, part) {
        Ok(data) => Ok(data),
        Err(BinaryError::NoSuchPart) => Ok(Bytes::new()),
        Err(BinaryError::UnknownCte(cte)) => Err(FetchError::UnknownCte(cte)),
    }
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
        }
    }

    #[test]
    fn body_batches_stop_at_count_or_octets_but_never_split_one_message() {
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
