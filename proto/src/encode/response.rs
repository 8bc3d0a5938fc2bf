//! The server's response writer: typed [`Response`]s to wire bytes (RFC 9051 section 7).
//!
//! Every response is one line ending in CRLF, except where literals interrupt it. Values pick
//! their smallest faithful form: atoms where the grammar allows an `astring` and the content is
//! all `ASTRING-CHAR` (as the RFC's own examples write mailbox names), quoted strings for short
//! 7-bit text (8-bit only once the client accepts UTF-8), literals otherwise. Message data is
//! always a literal and goes through [`Output::put_bytes`], so large bodies are not copied.

use base64::Engine as _;
use bytes::Bytes;

use super::fetch::fetch_value;
use super::wire::{self, Sink};
use super::{EncodeContext, Output};
use crate::types::{
    Code, Continue, Data, Esearch, EsearchItem, ListData, ListExtended, MetadataCode,
    MetadataEntries, NameEncoding, NamespaceDesc, QuotaResource, Response, Status, StatusKind,
    StatusValue,
};

/// Writes one response, including its final CRLF.
pub fn write_response(resp: &Response, ctx: &EncodeContext, out: &mut Output) {
    let mut s = ResponseSink { out, ctx };
    match resp {
        Response::Status(st) => status(&mut s, st),
        Response::Data(d) => data(&mut s, d),
        Response::Continue(c) => continuation(&mut s, c),
    }
    wire::crlf(&mut s);
}

/// The response as one buffer (tests, small responses).
pub fn response_to_vec(resp: &Response, ctx: &EncodeContext) -> Vec<u8> {
    let mut out = Output::new();
    write_response(resp, ctx, &mut out);
    out.to_vec()
}

/// Server-side [`Sink`]: literals are always synchronizing-style `{N}` (the client never
/// acknowledges them) and large ones are handed to [`Output`] without a copy.
pub(crate) struct ResponseSink<'a> {
    out: &'a mut Output,
    pub(crate) ctx: &'a EncodeContext,
}

impl Sink for ResponseSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out.put(bytes);
    }

    fn literal(&mut self, data: &[u8], binary: bool) {
        self.out
            .put(&wire::literal_header(binary, data.len(), false));
        self.out.put(data);
    }

    fn literal_bytes(&mut self, data: &Bytes, binary: bool) {
        self.out
            .put(&wire::literal_header(binary, data.len(), false));
        self.out.put_bytes(data);
    }

    fn hole(&mut self, len: u64, binary: bool) {
        let header =
            wire::literal_header(binary, usize::try_from(len).unwrap_or(usize::MAX), false);
        self.out.put(&header);
        self.out.put_hole(len);
    }

    fn utf8_quoted(&self) -> bool {
        self.ctx.utf8_quoted
    }
}

/// A UTF-8 mailbox name on the wire: modified UTF-7 for IMAP4rev1, UTF-8 otherwise.
fn wire_name(name: &str, names: NameEncoding) -> std::borrow::Cow<'_, [u8]> {
    match names {
        NameEncoding::ModifiedUtf7 => crate::utf7::encode(name).into(),
        NameEncoding::Utf8 => name.as_bytes().into(),
    }
}

/// `mailbox` in an `astring` position.
pub(crate) fn mailbox(s: &mut ResponseSink<'_>, name: &str) {
    let bytes = wire_name(name, s.ctx.names);
    wire::astring(s, &bytes);
}

/// A mailbox name where the grammar or the RFC examples use `string` (OLDNAME, NAMESPACE).
fn mailbox_string(s: &mut ResponseSink<'_>, name: &str) {
    let bytes = wire_name(name, s.ctx.names);
    wire::string(s, &bytes);
}

fn kind_word(kind: StatusKind) -> &'static [u8] {
    match kind {
        StatusKind::Ok => b"OK",
        StatusKind::No => b"NO",
        StatusKind::Bad => b"BAD",
    }
}

fn status(s: &mut ResponseSink<'_>, st: &Status) {
    // Used only when both the code and the text are missing: rev1 requires text, and some
    // clients (Outlook on BYE) fail on an empty one.
    let (code, text, fallback) = match st {
        Status::Tagged {
            tag,
            kind,
            code,
            text,
        } => {
            s.put(tag.as_str().as_bytes());
            wire::sp(s);
            s.put(kind_word(*kind));
            (code, text, default_text(*kind))
        }
        Status::Untagged { kind, code, text } => {
            s.put(b"* ");
            s.put(kind_word(*kind));
            (code, text, default_text(*kind))
        }
        Status::PreAuth { code, text } => {
            s.put(b"* PREAUTH");
            (code, text, "Logged in")
        }
        Status::Bye { code, text } => {
            s.put(b"* BYE");
            (code, text, "Logging out")
        }
    };
    let text = if code.is_none() && text.is_empty() {
        fallback
    } else {
        text.as_str()
    };
    wire::sp(s);
    resp_text(s, code.as_ref(), text);
}

fn default_text(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Ok => "Completed",
        StatusKind::No => "Failed",
        StatusKind::Bad => "Invalid",
    }
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`. With a code and no text the SP is left
/// out, as the RFC's examples write it (`* OK [UIDVALIDITY 1]`).
fn resp_text(s: &mut ResponseSink<'_>, code: Option<&Code>, text: &str) {
    if let Some(c) = code {
        s.put(b"[");
        resp_code(s, c);
        s.put(b"]");
        if !text.is_empty() {
            wire::sp(s);
        }
    }
    wire::line_end_text(s, text);
}

/// The name of a code that has no arguments, or `None` for codes with arguments.
fn bare_code(c: &Code) -> Option<&'static str> {
    Some(match c {
        Code::Alert => "ALERT",
        Code::AlreadyExists => "ALREADYEXISTS",
        Code::AuthenticationFailed => "AUTHENTICATIONFAILED",
        Code::AuthorizationFailed => "AUTHORIZATIONFAILED",
        Code::Cannot => "CANNOT",
        Code::ClientBug => "CLIENTBUG",
        Code::Closed => "CLOSED",
        Code::ContactAdmin => "CONTACTADMIN",
        Code::Corruption => "CORRUPTION",
        Code::Expired => "EXPIRED",
        Code::ExpungeIssued => "EXPUNGEISSUED",
        Code::HasChildren => "HASCHILDREN",
        Code::InUse => "INUSE",
        Code::Limit => "LIMIT",
        Code::NonExistent => "NONEXISTENT",
        Code::NoPerm => "NOPERM",
        Code::OverQuota => "OVERQUOTA",
        Code::Parse => "PARSE",
        Code::PrivacyRequired => "PRIVACYREQUIRED",
        Code::ReadOnly => "READ-ONLY",
        Code::ReadWrite => "READ-WRITE",
        Code::ServerBug => "SERVERBUG",
        Code::TryCreate => "TRYCREATE",
        Code::UidNotSticky => "UIDNOTSTICKY",
        Code::Unavailable => "UNAVAILABLE",
        Code::UnknownCte => "UNKNOWN-CTE",
        Code::TooBig => "TOOBIG",
        Code::UseAttr => "USEATTR",
        Code::CompressionActive => "COMPRESSIONACTIVE",
        Code::NoModSeq => "NOMODSEQ",
        Code::NotificationOverflow => "NOTIFICATIONOVERFLOW",
        _ => return None,
    })
}

fn resp_code(s: &mut ResponseSink<'_>, c: &Code) {
    if let Some(name) = bare_code(c) {
        s.put(name.as_bytes());
        return;
    }
    match c {
        Code::AppendUid { uid_validity, uids } => {
            s.put(b"APPENDUID ");
            wire::number(s, u64::from(*uid_validity));
            wire::sp(s);
            wire::sequence_set(s, uids);
        }
        Code::BadCharset(charsets) => {
            s.put(b"BADCHARSET");
            if !charsets.is_empty() {
                wire::sp(s);
                wire::paren_list(s, charsets, |s, c| wire::atom_or_string(s, c.as_bytes()));
            }
        }
        Code::Capability(caps) => capability_data(s, b"CAPABILITY", caps),
        Code::BadEvent(events) => {
            s.put(b"BADEVENT ");
            wire::paren_list(s, events, |s, e| s.put(e.as_str().as_bytes()));
        }
        Code::CopyUid {
            uid_validity,
            source,
            destination,
        } => {
            s.put(b"COPYUID ");
            wire::number(s, u64::from(*uid_validity));
            wire::sp(s);
            wire::sequence_set(s, source);
            wire::sp(s);
            wire::sequence_set(s, destination);
        }
        Code::PermanentFlags(flags) => {
            s.put(b"PERMANENTFLAGS ");
            wire::flag_list(s, flags);
        }
        Code::UidNext(n) => wire::named_number(s, b"UIDNEXT", u64::from(*n)),
        Code::UidValidity(n) => wire::named_number(s, b"UIDVALIDITY", u64::from(*n)),
        Code::HighestModSeq(n) => wire::named_number(s, b"HIGHESTMODSEQ", *n),
        Code::Modified(set) => {
            s.put(b"MODIFIED ");
            wire::sequence_set(s, set);
        }
        Code::MailboxId(id) => {
            s.put(b"MAILBOXID ");
            wire::object_id(s, Some(id));
        }
        Code::NoUpdate(tag) => {
            s.put(b"NOUPDATE ");
            wire::quoted(s, tag.as_bytes());
        }
        Code::Metadata(m) => {
            s.put(b"METADATA ");
            match m {
                MetadataCode::LongEntries(n) => wire::named_number(s, b"LONGENTRIES", *n),
                MetadataCode::MaxSize(n) => wire::named_number(s, b"MAXSIZE", *n),
                MetadataCode::TooMany => s.put(b"TOOMANY"),
                MetadataCode::NoPrivate => s.put(b"NOPRIVATE"),
            }
        }
        Code::Other(atom, text) => {
            s.put(atom.as_str().as_bytes());
            if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
                wire::sp(s);
                wire::text(s, t, Some(b']'));
            }
        }
        // Every argument-less code was written by `bare_code`.
        _ => {}
    }
}

/// `NAME cap cap ...` for CAPABILITY and ENABLED (data and response code alike).
fn capability_data(s: &mut impl Sink, name: &[u8], caps: &[crate::types::Atom]) {
    s.put(name);
    for c in caps {
        wire::sp(s);
        s.put(c.as_str().as_bytes());
    }
}

fn continuation(s: &mut ResponseSink<'_>, c: &Continue) {
    // `+` is always followed by SP, even when nothing follows it: an empty SASL challenge
    // is `+ ` and clients wait for exactly that.
    s.put(b"+ ");
    match c {
        Continue::Text { code, text } => resp_text(s, code.as_ref(), text),
        Continue::Base64(bytes) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            s.put(b64.as_bytes());
        }
    }
}

fn data(s: &mut ResponseSink<'_>, d: &Data) {
    s.put(b"* ");
    match d {
        Data::Capability(caps) => capability_data(s, b"CAPABILITY", caps),
        Data::Enabled(caps) => capability_data(s, b"ENABLED", caps),
        Data::List(l) => list_data(s, b"LIST ", l),
        Data::Lsub(l) => list_data(s, b"LSUB ", l),
        Data::Namespace {
            personal,
            other,
            shared,
        } => {
            s.put(b"NAMESPACE");
            for ns in [personal, other, shared] {
                wire::sp(s);
                namespace(s, ns);
            }
        }
        Data::Status {
            mailbox: name,
            items,
        } => {
            s.put(b"STATUS ");
            mailbox(s, name);
            wire::sp(s);
            wire::paren_list(s, items, status_value);
        }
        Data::Esearch(e) => esearch(s, e),
        Data::Search { ids, mod_seq } => number_list(s, b"SEARCH", ids, *mod_seq),
        Data::Sort { ids, mod_seq } => number_list(s, b"SORT", ids, *mod_seq),
        Data::Thread(threads) => {
            s.put(b"THREAD");
            if !threads.is_empty() {
                wire::sp(s);
            }
            for t in threads {
                super::sort::thread_list(s, t);
            }
        }
        Data::Flags(flags) => {
            s.put(b"FLAGS ");
            wire::flag_list(s, flags);
        }
        Data::Exists(n) => number_then(s, *n, b" EXISTS"),
        Data::Recent(n) => number_then(s, *n, b" RECENT"),
        Data::Expunge(n) => number_then(s, *n, b" EXPUNGE"),
        Data::Vanished { earlier, uids } => {
            s.put(if *earlier {
                b"VANISHED (EARLIER) ".as_slice()
            } else {
                b"VANISHED ".as_slice()
            });
            wire::sequence_set(s, uids);
        }
        Data::Fetch { seq, items } => {
            number_then(s, *seq, b" FETCH ");
            wire::paren_list(s, items, fetch_value);
        }
        Data::Id(params) => {
            s.put(b"ID ");
            match params.as_deref() {
                Some(p) if !p.is_empty() => wire::paren_list(s, p, |s, (k, v)| {
                    wire::string(s, k.as_bytes());
                    wire::sp(s);
                    wire::nstring(s, v.as_deref().map(str::as_bytes));
                }),
                _ => s.put(b"NIL"),
            }
        }
        Data::Quota { root, resources } => {
            s.put(b"QUOTA ");
            wire::astring(s, root.as_bytes());
            wire::sp(s);
            wire::paren_list(s, resources, quota_resource);
        }
        Data::QuotaRoot {
            mailbox: name,
            roots,
        } => {
            s.put(b"QUOTAROOT ");
            mailbox(s, name);
            for r in roots {
                wire::sp(s);
                wire::astring(s, r.as_bytes());
            }
        }
        Data::Metadata {
            mailbox: name,
            entries,
        } => {
            s.put(b"METADATA ");
            mailbox(s, name);
            wire::sp(s);
            match entries {
                MetadataEntries::Values(values) => wire::metadata_entry_values(s, values),
                MetadataEntries::Names(names) => {
                    for (i, n) in names.iter().enumerate() {
                        if i > 0 {
                            wire::sp(s);
                        }
                        wire::astring(s, n.as_str().as_bytes());
                    }
                }
            }
        }
    }
}

fn number_then(s: &mut impl Sink, n: u32, word: &[u8]) {
    wire::number(s, u64::from(n));
    s.put(word);
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
/// [SP mbox-list-extended]`.
fn list_data(s: &mut ResponseSink<'_>, word: &[u8], l: &ListData) {
    s.put(word);
    wire::paren_list(s, &l.attributes, |s, a| {
        s.put(b"\\");
        s.put(a.as_str().as_bytes());
    });
    wire::sp(s);
    wire::delimiter(s, l.delimiter);
    wire::sp(s);
    mailbox(s, &l.mailbox);
    if !l.extended.is_empty() {
        wire::sp(s);
        wire::paren_list(s, &l.extended, |s, e| list_extended(s, e));
    }
}

/// One `mbox-list-extended-item`; tags and selection options are quoted, as RFC 5258 and
/// RFC 9051 write them.
fn list_extended(s: &mut ResponseSink<'_>, e: &ListExtended) {
    match e {
        ListExtended::ChildInfo(opts) => {
            s.put(b"\"CHILDINFO\" ");
            wire::paren_list(s, opts, |s, o| wire::string(s, o.as_bytes()));
        }
        ListExtended::OldName(name) => {
            s.put(b"\"OLDNAME\" (");
            mailbox_string(s, name);
            s.put(b")");
        }
    }
}

/// `namespace = nil / "(" 1*namespace-descr ")"`; descriptors are not separated by SP.
fn namespace(s: &mut ResponseSink<'_>, descs: &[NamespaceDesc]) {
    if descs.is_empty() {
        s.put(b"NIL");
        return;
    }
    s.put(b"(");
    for d in descs {
        s.put(b"(");
        mailbox_string(s, &d.prefix);
        wire::sp(s);
        wire::delimiter(s, d.delimiter);
        s.put(b")");
    }
    s.put(b")");
}

fn status_value(s: &mut impl Sink, v: &StatusValue) {
    match v {
        StatusValue::Number(item, n) => wire::named_number(s, item.name().as_bytes(), *n),
        StatusValue::MailboxId(id) => {
            s.put(b"MAILBOXID ");
            wire::object_id(s, Some(id));
        }
    }
}

/// `"SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]` (RFC 3501,
/// RFC 7162 section 3.1.5), and `* SORT` of RFC 5256 the same way.
fn number_list(s: &mut impl Sink, name: &[u8], ids: &[u32], mod_seq: Option<u64>) {
    s.put(name);
    for id in ids {
        wire::sp(s);
        wire::number(s, u64::from(*id));
    }
    if let Some(m) = mod_seq {
        s.put(b" (MODSEQ ");
        wire::number(s, m);
        s.put(b")");
    }
}

/// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`.
fn esearch(s: &mut impl Sink, e: &Esearch) {
    s.put(b"ESEARCH");
    if let Some(tag) = &e.correlator {
        // tag-string is an astring; the RFC examples always quote it.
        s.put(b" (TAG ");
        wire::quoted(s, tag.as_str().as_bytes());
        s.put(b")");
    }
    if e.uid {
        s.put(b" UID");
    }
    for item in &e.items {
        wire::sp(s);
        match item {
            EsearchItem::Min(n) => wire::named_number(s, b"MIN", u64::from(*n)),
            EsearchItem::Max(n) => wire::named_number(s, b"MAX", u64::from(*n)),
            EsearchItem::Count(n) => wire::named_number(s, b"COUNT", u64::from(*n)),
            EsearchItem::ModSeq(n) => wire::named_number(s, b"MODSEQ", *n),
            EsearchItem::All(set) => {
                s.put(b"ALL ");
                wire::sequence_set(s, set);
            }
            EsearchItem::Partial { range, results } => {
                s.put(b"PARTIAL (");
                super::search::partial_range(s, *range);
                wire::sp(s);
                match results {
                    Some(set) => wire::sequence_set(s, set),
                    None => s.put(b"NIL"),
                }
                s.put(b")");
            }
            EsearchItem::AddTo(pairs) => positioned(s, b"ADDTO (", pairs),
            EsearchItem::RemoveFrom(pairs) => positioned(s, b"REMOVEFROM (", pairs),
        }
    }
}

/// `ADDTO` / `REMOVEFROM` payload: `(context-position SP sequence-set *(SP ...))`.
fn positioned(s: &mut impl Sink, opening: &[u8], pairs: &[(u32, crate::types::SequenceSet)]) {
    s.put(opening);
    for (i, (position, set)) in pairs.iter().enumerate() {
        if i > 0 {
            wire::sp(s);
        }
        wire::number(s, u64::from(*position));
        wire::sp(s);
        wire::sequence_set(s, set);
    }
    s.put(b")");
}

fn quota_resource(s: &mut impl Sink, r: &QuotaResource) {
    s.put(r.name.as_str().as_bytes());
    wire::sp(s);
    wire::number(s, r.usage);
    wire::sp(s);
    wire::number(s, r.limit);
}
