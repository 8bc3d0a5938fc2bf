//! Rendering a batch of FETCH responses on a blocking thread. Body sections that are ranges of
//! the stored message are not read here: the response gets a hole, and the batch carries the
//! opened blob and the range, which [`super::send`] streams in small pieces. Only BINARY and
//! HEADER.FIELDS read a message into memory, one message at a time, each part decoded once.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use roost_proto::encode::{write_response, EncodeContext, Output, Part};
use roost_proto::{
    Data, DateTime, FetchAttribute, FetchValue, Partial, Response, Section, SectionText,
    StreamedItem,
};

use super::items::{needs_meta, needs_raw, opens_blob};
use crate::mailbox::{MailboxError, MailboxHandle};
use crate::message::{self, BinaryError, Cte, MessageMeta, SectionSource, StreamDecoder};
use crate::session::flags::reported_flags;
use crate::store::MessageEntry;

/// Everything rendering needs, captured from the session so it can run off the actor.
pub struct Plan {
    pub attrs: Vec<FetchAttribute>,
    pub rev2: bool,
    pub condstore: bool,
    pub encode: EncodeContext,
    /// UIDs that are `\Recent` for this session.
    pub recent: HashSet<u32>,
    /// UIDs whose `\Seen` this command set: their FLAGS go in the response.
    pub seen_now: HashSet<u32>,
}

impl Plan {
    pub fn needs_raw(&self) -> bool {
        self.attrs.iter().any(needs_raw)
    }

    fn needs_meta(&self) -> bool {
        self.attrs.iter().any(needs_meta)
    }

    fn opens_blob(&self) -> bool {
        self.attrs.iter().any(opens_blob)
    }
}

#[derive(Debug)]
pub enum FetchError {
    Mailbox(MailboxError),
    UnknownCte(String),
    /// The connection ended (or a blob could not be read after its length was announced,
    /// which leaves no way to continue the response).
    Gone,
}

/// Octets of an opened blob that fill one hole.
pub struct BlobRange {
    pub file: Arc<File>,
    pub range: Range<usize>,
    /// For BINARY: the range is encoded; the hole takes `take` decoded octets from `skip`.
    pub decode: Option<Decode>,
}

#[derive(Debug, Clone, Copy)]
pub struct Decode {
    pub cte: Cte,
    pub skip: usize,
    pub take: usize,
}

/// Encoded parts larger than this are decoded as they are sent, never whole in memory.
const DECODE_IN_MEMORY: usize = 256 * 1024;
/// Octets of a blob read at a time.
pub const PIECE: usize = 64 * 1024;

pub struct Rendered {
    /// The responses, with a hole for each entry of `blobs`, in order.
    pub parts: Vec<Part>,
    pub blobs: Vec<BlobRange>,
    /// `(uid, modseq)` of the flags this batch reported.
    pub reported: Vec<(u32, u64)>,
    /// UIDs left out because their files were gone: expunged by another session meanwhile,
    /// or (if the mailbox still lists them) lost.
    pub missing: Vec<u32>,
    /// UIDs left out because their files could not be read (an I/O error).
    pub damaged: Vec<u32>,
}

/// One message's files, as far as the items need them.
struct Loaded {
    blob: Option<Arc<File>>,
    raw: Option<Bytes>,
    meta: Option<MessageMeta>,
    /// `BINARY[part]` decoded once for all the items that name the part.
    decoded: HashMap<Vec<u32>, Bytes>,
}

pub fn render_batch(
    plan: &Plan,
    handle: &MailboxHandle,
    batch: &[(u32, MessageEntry)],
    keywords: &[String],
) -> Result<Rendered, FetchError> {
    let mut out = Output::new();
    let mut rendered = Rendered {
        parts: Vec::new(),
        blobs: Vec::new(),
        reported: Vec::new(),
        missing: Vec::new(),
        damaged: Vec::new(),
    };
    for (seq, entry) in batch {
        // One message's files failing leaves that message out, not the range: the tagged
        // response says which (fetch/mod.rs).
        let mut loaded = match load(plan, handle, entry) {
            Ok(Some(loaded)) => loaded,
            Ok(None) => {
                rendered.missing.push(entry.uid);
                continue;
            }
            Err(FetchError::Mailbox(MailboxError::Storage(e))) => {
                tracing::warn!(uid = entry.uid, blob = %entry.blob, error = %e, "cannot read a message for FETCH");
                rendered.damaged.push(entry.uid);
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut items = Vec::with_capacity(plan.attrs.len() + 2);
        let mut flags_reported = false;
        for attr in &plan.attrs {
            flags_reported |= matches!(attr, FetchAttribute::Flags);
            let value = value(
                plan,
                attr,
                entry,
                keywords,
                &mut loaded,
                &mut rendered.blobs,
            )?;
            items.push(value);
        }
        let recent = plan.recent.contains(&entry.uid);
        if plan.seen_now.contains(&entry.uid) && !flags_reported {
            flags_reported = true;
            items.push(FetchValue::Flags(reported_flags(
                entry, keywords, recent, plan.rev2,
            )));
        }
        if plan.seen_now.contains(&entry.uid)
            && plan.condstore
            && !plan.attrs.contains(&FetchAttribute::Uid)
        {
            // RFC 7162 section 3.2.4: a flag change the FETCH caused carries UID and MODSEQ.
            items.push(FetchValue::Uid(entry.uid));
        }
        if flags_reported && plan.condstore && !plan.attrs.contains(&FetchAttribute::ModSeq) {
            items.push(FetchValue::ModSeq(entry.mod_seq));
        }
        if flags_reported {
            rendered.reported.push((entry.uid, entry.mod_seq));
        }
        write_response(
            &Response::Data(Data::Fetch { seq: *seq, items }),
            &plan.encode,
            &mut out,
        );
    }
    rendered.parts = out.into_parts();
    Ok(rendered)
}

/// Opens and reads what the items need; `None` when the message's files are gone (expunged
/// by another session after the entries were read). The blob is opened before any of its
/// length is announced, so it stays readable to the end of the response even if it is
/// deleted meanwhile.
fn load(
    plan: &Plan,
    handle: &MailboxHandle,
    entry: &MessageEntry,
) -> Result<Option<Loaded>, FetchError> {
    let storage = |e: std::io::Error| FetchError::Mailbox(MailboxError::Storage(e.to_string()));
    let blob = if plan.opens_blob() {
        match File::open(handle.blob_path(entry.blob)) {
            // Checked before any length is announced: a short or odd file would otherwise
            // end the connection in the middle of a literal.
            Ok(file) => match file.metadata() {
                Ok(m) if m.is_file() && m.len() == u64::from(entry.size) => Some(Arc::new(file)),
                Ok(m) => {
                    return Err(storage(std::io::Error::other(format!(
                        "message file of {} bytes, {} expected",
                        m.len(),
                        entry.size
                    ))))
                }
                Err(e) => return Err(storage(e)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage(e)),
        }
    } else {
        None
    };
    let raw = match (&blob, plan.needs_raw()) {
        (Some(file), true) => Some(read_all(file).map_err(storage)?),
        _ => None,
    };
    let meta = if plan.needs_meta() {
        match handle.load_meta(entry.blob) {
            Ok(meta) => Some(meta),
            Err(MailboxError::NonExistent(_)) => return Ok(None),
            Err(e) => return Err(FetchError::Mailbox(e)),
        }
    } else {
        None
    };
    Ok(Some(Loaded {
        blob,
        raw,
        meta,
        decoded: HashMap::new(),
    }))
}

fn read_all(file: &File) -> std::io::Result<Bytes> {
    use std::io::Read;
    let mut data = Vec::new();
    (&*file).read_to_end(&mut data)?;
    Ok(Bytes::from(data))
}

fn value(
    plan: &Plan,
    attr: &FetchAttribute,
    entry: &MessageEntry,
    keywords: &[String],
    loaded: &mut Loaded,
    blobs: &mut Vec<BlobRange>,
) -> Result<FetchValue, FetchError> {
    let meta = |loaded: &Loaded| loaded.meta.clone().ok_or(FetchError::Gone);
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
        FetchAttribute::SaveDate => {
            FetchValue::SaveDate(Some(DateTime::from_unix_timestamp(entry.saved)))
        }
        FetchAttribute::Rfc822Size => FetchValue::Rfc822Size(u64::from(entry.size)),
        FetchAttribute::Envelope => FetchValue::Envelope(Box::new(meta(loaded)?.envelope())),
        FetchAttribute::Body => FetchValue::Body(Box::new(meta(loaded)?.body_structure())),
        FetchAttribute::BodyStructure => {
            FetchValue::BodyStructure(Box::new(meta(loaded)?.body_structure()))
        }
        FetchAttribute::Uid => FetchValue::Uid(entry.uid),
        FetchAttribute::BodySection {
            section, partial, ..
        } => {
            let item = StreamedItem::Body {
                section: section.clone(),
                origin: partial.map(|p| p.offset),
            };
            section_value(entry, loaded, blobs, section, *partial, item)
        }
        FetchAttribute::Rfc822 | FetchAttribute::Rfc822Header | FetchAttribute::Rfc822Text => {
            let (section, item) = match attr {
                FetchAttribute::Rfc822 => (Section::default(), StreamedItem::Rfc822),
                FetchAttribute::Rfc822Header => (
                    text_section(SectionText::Header),
                    StreamedItem::Rfc822Header,
                ),
                _ => (text_section(SectionText::Text), StreamedItem::Rfc822Text),
            };
            section_value(entry, loaded, blobs, &section, None, item)
        }
        FetchAttribute::Binary { part, partial, .. } => {
            binary_value(entry, loaded, blobs, part, *partial)?
        }
        FetchAttribute::BinarySize { part } => FetchValue::BinarySize {
            part: part.clone(),
            size: binary_size(entry, loaded, part)?,
        },
        FetchAttribute::ModSeq => FetchValue::ModSeq(entry.mod_seq),
        FetchAttribute::EmailId => FetchValue::EmailId(entry.blob.to_string()),
        FetchAttribute::ThreadId => FetchValue::ThreadId(None),
        // Kept in the metadata since the append, so never an undue delay: even `(LAZY)`
        // gets the text (RFC 8970 section 4.1 allows NIL, never requires it).
        FetchAttribute::Preview { .. } => {
            FetchValue::Preview(Some(meta(loaded)?.preview().to_owned()))
        }
    })
}

fn text_section(text: SectionText) -> Section {
    Section {
        part: Vec::new(),
        text: Some(text),
    }
}

/// A body section: a hole streamed from the blob when it is a range of the message, else
/// built in memory (HEADER.FIELDS), else empty (no such part).
fn section_value(
    entry: &MessageEntry,
    loaded: &Loaded,
    blobs: &mut Vec<BlobRange>,
    section: &Section,
    partial: Option<Partial>,
    item: StreamedItem,
) -> FetchValue {
    let size = entry.size as usize;
    let data = match message::section_source(loaded.meta.as_ref(), size, section) {
        SectionSource::Range(range) => {
            let range = match partial {
                Some(p) => message::partial_range(range, p.offset, p.length),
                None => range,
            };
            if let Some(file) = &loaded.blob {
                let len = range.len() as u64;
                blobs.push(BlobRange {
                    file: file.clone(),
                    range,
                    decode: None,
                });
                return FetchValue::Streamed { item, len };
            }
            Bytes::new()
        }
        SectionSource::Derived => {
            let built = match (&loaded.raw, &loaded.meta) {
                (Some(raw), Some(meta)) => message::section(raw, meta, section),
                _ => None,
            };
            let built = built.unwrap_or_default();
            match partial {
                Some(p) => message::partial(built, p.offset, p.length),
                None => built,
            }
        }
        SectionSource::Missing => Bytes::new(),
    };
    match item {
        StreamedItem::Body { section, origin } => FetchValue::BodySection {
            section,
            origin,
            data: Some(data),
        },
        StreamedItem::Rfc822 => FetchValue::Rfc822(Some(data)),
        StreamedItem::Rfc822Header => FetchValue::Rfc822Header(Some(data)),
        StreamedItem::Rfc822Text => FetchValue::Rfc822Text(Some(data)),
        StreamedItem::Binary { part, origin, .. } => FetchValue::Binary {
            part,
            origin,
            data: Some(data),
        },
    }
}

/// A part's encoded octets in the blob, or why there are none.
enum BinarySource {
    /// Decoded at once (small parts), cached for the other items naming the part.
    Decoded(Bytes),
    /// Decoded as it is sent.
    Large { range: Range<usize>, cte: Cte },
}

fn binary_source(
    entry: &MessageEntry,
    loaded: &mut Loaded,
    part: &[u32],
) -> Result<BinarySource, FetchError> {
    if let Some(data) = loaded.decoded.get(part) {
        return Ok(BinarySource::Decoded(data.clone()));
    }
    let (Some(meta), Some(file)) = (&loaded.meta, &loaded.blob) else {
        return Err(FetchError::Gone);
    };
    let (range, cte) = match message::binary_source(meta, entry.size as usize, part) {
        Ok(found) => found,
        Err(BinaryError::NoSuchPart) => return Ok(BinarySource::Decoded(Bytes::new())),
        Err(BinaryError::UnknownCte(cte)) => return Err(FetchError::UnknownCte(cte)),
    };
    if range.len() > DECODE_IN_MEMORY {
        return Ok(BinarySource::Large { range, cte });
    }
    let mut encoded = vec![0u8; range.len()];
    read_at(file, &mut encoded, range.start)?;
    let data = cte.decode(&Bytes::from(encoded));
    loaded.decoded.insert(part.to_vec(), data.clone());
    Ok(BinarySource::Decoded(data))
}

fn read_at(file: &File, buf: &mut [u8], at: usize) -> Result<(), FetchError> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, at as u64)
        .map_err(|e| FetchError::Mailbox(MailboxError::Storage(e.to_string())))
}

/// Decodes `range` of `file` piece by piece, handing each decoded piece to `each` with its
/// offset in the decoded octets; `each` returns false to stop early.
pub fn decode_pieces(
    file: &File,
    range: Range<usize>,
    cte: Cte,
    mut each: impl FnMut(usize, &[u8]) -> bool,
) -> Result<usize, FetchError> {
    let mut decoder = StreamDecoder::new(cte);
    let (mut at, mut decoded_at) = (range.start, 0);
    let mut encoded = vec![0u8; PIECE];
    let mut out = Vec::with_capacity(PIECE);
    loop {
        out.clear();
        let last = at >= range.end;
        if last {
            decoder.finish(&mut out);
        } else {
            let n = PIECE.min(range.end - at);
            read_at(file, &mut encoded[..n], at)?;
            decoder.push(&encoded[..n], &mut out);
            at += n;
        }
        if !out.is_empty() {
            if !each(decoded_at, &out) {
                return Ok(decoded_at + out.len());
            }
            decoded_at += out.len();
        }
        if last {
            return Ok(decoded_at);
        }
    }
}

/// `BINARY[part]<partial>`: small parts from memory; large ones measured (length, NUL for
/// literal8) in a first pass, then streamed into a hole.
fn binary_value(
    entry: &MessageEntry,
    loaded: &mut Loaded,
    blobs: &mut Vec<BlobRange>,
    part: &[u32],
    partial: Option<Partial>,
) -> Result<FetchValue, FetchError> {
    let origin = partial.map(|p| p.offset);
    let (range, cte) = match binary_source(entry, loaded, part)? {
        BinarySource::Decoded(data) => {
            let data = match partial {
                Some(p) => message::partial(data, p.offset, p.length),
                None => data,
            };
            return Ok(FetchValue::Binary {
                part: part.to_vec(),
                origin,
                data: Some(data),
            });
        }
        BinarySource::Large { range, cte } => (range, cte),
    };
    let file = loaded.blob.clone().ok_or(FetchError::Gone)?;
    let (skip, wanted) =
        partial.map_or((0, usize::MAX), |p| (p.offset as usize, p.length as usize));
    let mut nul = false;
    let total = decode_pieces(&file, range.clone(), cte, |offset, piece| {
        let end = offset + piece.len();
        let lo = skip.max(offset);
        let hi = skip.saturating_add(wanted).min(end);
        if lo < hi && piece[lo - offset..hi - offset].contains(&0) {
            nul = true;
        }
        true
    })?;
    let take = total.saturating_sub(skip).min(wanted);
    blobs.push(BlobRange {
        file,
        range,
        decode: Some(Decode { cte, skip, take }),
    });
    Ok(FetchValue::Streamed {
        item: StreamedItem::Binary {
            part: part.to_vec(),
            origin,
            literal8: nul,
        },
        len: take as u64,
    })
}

/// `BINARY.SIZE[part]`: from the decoded part, or counted piece by piece for a large one.
fn binary_size(entry: &MessageEntry, loaded: &mut Loaded, part: &[u32]) -> Result<u64, FetchError> {
    match binary_source(entry, loaded, part)? {
        BinarySource::Decoded(data) => Ok(data.len() as u64),
        BinarySource::Large { range, cte } => {
            let file = loaded.blob.clone().ok_or(FetchError::Gone)?;
            Ok(decode_pieces(&file, range, cte, |_, _| true)? as u64)
        }
    }
}
