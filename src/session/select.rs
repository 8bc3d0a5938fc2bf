//! SELECT and EXAMINE (RFC 9051 sections 6.3.2-6.3.3), with CONDSTORE (RFC 7162 section
//! 3.1.8) and QRESYNC (section 3.2.5): the mailbox's untagged description, then for a
//! resynchronising client what vanished and what changed since its MODSEQ, then the tagged
//! OK. Everything before the tagged OK goes out through the bulk writer, so a resync of a
//! large mailbox waits for a slow client instead of piling up in memory.

use actix::{AsyncContext, Context, ResponseActFuture};
use roost_proto::{
    Code, Data, ListData, MailboxName, QResync, Response, SelectParams, Status, StatusKind, Tag,
};

use super::bulk::BulkWriter;
use super::flags::{offered_flags, FlagsFetch};
use super::mailbox::atom;
use super::messages::{ReadMode, Reply};
use super::names::{mailbox_error, DELIMITER};
use super::state::SelectedMailbox;
use super::view::View;
use super::{ready, resync, run, Session};
use crate::mailbox::{Attachment, MailboxError, MailboxHandle, Snapshot};
use crate::store::vanished::Since;
use crate::store::FlagSet;

/// How this session's SELECT answer looks, fixed when the command starts.
#[derive(Clone, Copy)]
struct Format {
    rev2: bool,
    condstore: bool,
    read_only: bool,
}

impl Session {
    /// The current selection ends first, whether or not the new one succeeds (a failed
    /// SELECT leaves the session Authenticated).
    pub(super) fn handle_select(
        &mut self,
        tag: Tag,
        mailbox: &MailboxName,
        params: SelectParams,
        read_only: bool,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Reply> {
        if params.qresync.is_some() && !self.qresync {
            // RFC 7162 section 3.2.5.
            let text = "the QRESYNC parameter needs ENABLE QRESYNC first";
            self.write_status(Status::bad(tag, None, text));
            return ready(self.reply(ReadMode::Command));
        }
        let listener = ctx.address().recipient();
        self.with_name(tag, mailbox, move |session, tag, name| {
            if session.state.selected().is_some() {
                session.state =
                    std::mem::replace(&mut session.state, super::state::State::Logout).deselect();
                // RFC 7162 section 3.2.11: servers offering CONDSTORE always mark where the
                // old mailbox's responses end (clients that do not know the code ignore it).
                session.write_status(Status::untagged(
                    StatusKind::Ok,
                    Some(Code::Closed),
                    "Previous mailbox is now closed",
                ));
            }
            if params.condstore || params.qresync.is_some() {
                session.condstore = true;
            }
            let format = Format {
                rev2: session.rev2,
                condstore: session.condstore,
                read_only,
            };
            let mut bulk = BulkWriter::new(session.out.clone(), session.encode_context());
            let (registry, user) = (session.shared.registry.clone(), session.user());
            let work = async move {
                let account = registry.account(&user).await?;
                let handle = account.open(&name).await?;
                let attachment = handle.attach(listener, read_only).await?;
                let closed = |_| MailboxError::Unavailable("the client went away".into());
                for line in describe(&attachment, format) {
                    bulk.push(&line).await.map_err(closed)?;
                }
                let valid = attachment.snapshot.info.uid_validity;
                // A UIDVALIDITY that changed makes the rest meaningless (section 3.2.5).
                if let Some(q) = params.qresync.filter(|q| q.uid_validity == valid) {
                    // Any failure to read the record falls back to what is always true.
                    let since = handle
                        .vanished_since(q.mod_seq)
                        .await
                        .unwrap_or(Since::AllMissing);
                    for line in resync_lines(&attachment, &q, &since, format) {
                        bulk.push(&line).await.map_err(closed)?;
                    }
                }
                bulk.finish().await.map_err(closed)?;
                Ok::<_, MailboxError>((handle, attachment))
            };
            // Changes made after the attachment's snapshot arrive before the session is in the
            // Selected state: keep them, or this session would never hear of them.
            session.events_while_selecting = Some(Vec::new());
            run(session, work, move |session, result, ctx| {
                let early = session.events_while_selecting.take().unwrap_or_default();
                match result {
                    Ok((handle, attachment)) => {
                        let messages = attachment.snapshot.entries.len();
                        session.enter_selected(tag, handle, attachment, read_only);
                        crate::memory::after_command(messages);
                        for event in early {
                            session.apply_event(event, ctx);
                        }
                    }
                    Err(e) => session.write_status(mailbox_error(tag, &e)),
                }
                ReadMode::Command
            })
        })
    }

    fn enter_selected(
        &mut self,
        tag: Tag,
        handle: MailboxHandle,
        attachment: Attachment,
        read_only: bool,
    ) {
        let snapshot = &attachment.snapshot;
        let view = View::new(
            &snapshot.entries,
            snapshot.highest_mod_seq,
            attachment.recent.clone(),
            snapshot.keywords.clone(),
        );
        let selected = SelectedMailbox {
            handle,
            attachment: attachment.id,
            read_only,
            announced_keywords: snapshot.keywords.len(),
            view,
            contexts: Default::default(),
        };
        self.state =
            std::mem::replace(&mut self.state, super::state::State::Logout).select(selected);
        let (code, verb) = if read_only {
            (Code::ReadOnly, "EXAMINE")
        } else {
            (Code::ReadWrite, "SELECT")
        };
        self.write_status(Status::ok(tag, Some(code), format!("{verb} completed")));
    }
}

fn untagged(code: Code, text: &str) -> Response {
    Response::Status(Status::untagged(StatusKind::Ok, Some(code), text))
}

/// The untagged responses describing the mailbox (RFC 9051 section 6.3.2; RFC 3501 section
/// 6.3.1 for IMAP4rev1 sessions, which also get RECENT and UNSEEN).
fn describe(attachment: &Attachment, format: Format) -> Vec<Response> {
    let snapshot = &attachment.snapshot;
    let [flags_line, permanent_line] = offered_flags(&snapshot.keywords, format.read_only);
    let exists = Response::Data(Data::Exists(
        u32::try_from(snapshot.entries.len()).unwrap_or(u32::MAX),
    ));
    let info = &snapshot.info;
    let mut lines = Vec::with_capacity(10);
    if format.rev2 {
        lines.extend([exists, flags_line]);
    } else {
        let recent = u32::try_from(attachment.recent.len()).unwrap_or(u32::MAX);
        lines.extend([flags_line, exists, Response::Data(Data::Recent(recent))]);
        let first_unseen = snapshot
            .entries
            .iter()
            .position(|e| !e.flags.contains(FlagSet::SEEN));
        if let Some(i) = first_unseen {
            lines.push(untagged(
                Code::Other(atom("UNSEEN"), Some((i + 1).to_string())),
                "First unseen",
            ));
        }
    }
    lines.push(permanent_line);
    lines.push(untagged(Code::UidValidity(info.uid_validity), "UIDs valid"));
    lines.push(untagged(
        Code::UidNext(snapshot.uid_next),
        "Predicted next UID",
    ));
    if format.rev2 {
        lines.push(Response::Data(Data::List(ListData {
            attributes: Vec::new(),
            delimiter: Some(DELIMITER),
            mailbox: info.name.clone(),
            extended: Vec::new(),
        })));
    }
    if format.condstore {
        lines.push(untagged(
            Code::HighestModSeq(snapshot.highest_mod_seq),
            "Highest",
        ));
    }
    lines.push(untagged(Code::MailboxId(info.id.to_string()), "Ok"));
    lines
}

/// RFC 7162 section 3.2.5.1: `VANISHED (EARLIER)` for the known UIDs gone since the client's
/// MODSEQ, then `FETCH (UID FLAGS MODSEQ)` for the known messages changed since — as
/// `UID FETCH known (FLAGS) (CHANGEDSINCE modseq VANISHED)` would answer.
fn resync_lines<'a>(
    attachment: &'a Attachment,
    q: &QResync,
    since: &Since,
    format: Format,
) -> impl Iterator<Item = Response> + 'a {
    let snapshot: &Snapshot = &attachment.snapshot;
    let max_uid = snapshot.uid_next.saturating_sub(1);
    // No known UIDs given: `1:<maxuid>`, and nothing at all for a mailbox that never held
    // a message.
    let known = match &q.known_uids {
        Some(set) => resync::ranges_of(set, max_uid),
        None if max_uid == 0 => Vec::new(),
        None => vec![(1, max_uid)],
    };
    let present: Vec<u32> = snapshot.entries.iter().map(|e| e.uid).collect();
    let floor = q.seq_match.as_ref().map_or(1, |(seqs, uids)| {
        resync::seq_match_floor(seqs, uids, &present)
    });
    let gone = resync::vanished_earlier(since, &known, &present, snapshot.uid_next, floor);
    let vanished = resync::to_set(&gone).map(|uids| {
        Response::Data(Data::Vanished {
            earlier: true,
            uids,
        })
    });
    let fetch = FlagsFetch {
        rev2: format.rev2,
        condstore: true,
        with_uid: true,
    };
    let after = q.mod_seq;
    let changed = snapshot
        .entries
        .iter()
        .enumerate()
        .filter(move |(_, e)| e.mod_seq > after && in_ranges(&known, e.uid))
        .map(move |(i, e)| {
            let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let recent = attachment.recent.binary_search(&e.uid).is_ok();
            fetch.response(seq, e, &snapshot.keywords, recent)
        });
    vanished.into_iter().chain(changed)
}

fn in_ranges(ranges: &resync::Ranges, uid: u32) -> bool {
    let i = ranges.partition_point(|&(_, hi)| hi < uid);
    ranges.get(i).is_some_and(|&(lo, _)| lo <= uid)
}
