//! `response-data` other than FETCH: capabilities, mailbox data (LIST, LSUB, STATUS,
//! NAMESPACE, FLAGS, SEARCH, ESEARCH), message counts, VANISHED, ID and QUOTA (RFC 9051
//! sections 7.2 to 7.4, RFC 3501, RFC 5258, RFC 7162, RFC 2971, RFC 9208).

use super::{astring_utf8, atoms, fetch, lossy, mailbox, object_id, skip_value, sp_before_item};
use crate::parse::cursor::{Cursor, PResult};
use crate::types::{
    Atom, Data, Esearch, EsearchItem, ListData, ListExtended, MetadataEntries, NameEncoding,
    NamespaceDesc, PartialRange, QuotaResource, SequenceSet, StatusItem, StatusValue, Tag, Thread,
};

/// `response-data = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data /
/// capability-data / enable-data / ...) CRLF`, after `"*" SP` and once the status words are
/// ruled out.
pub(super) fn response_data(c: &mut Cursor<'_>, names: NameEncoding) -> PResult<Data> {
    if matches!(c.peek(), Some(b'0'..=b'9')) {
        return message_data(c);
    }
    let word = c.word().to_ascii_uppercase();
    Ok(match word.as_slice() {
        b"CAPABILITY" => Data::Capability(atoms(c)?),
        b"ENABLED" => Data::Enabled(atoms(c)?),
        b"LIST" => {
            c.sp_after("LIST")?;
            Data::List(mailbox_list(c, names)?)
        }
        b"LSUB" => {
            c.sp_after("LSUB")?;
            Data::Lsub(mailbox_list(c, names)?)
        }
        b"NAMESPACE" => {
            c.sp_after("NAMESPACE")?;
            let personal = namespace(c, names)?;
            c.sp_after("personal namespaces")?;
            let other = namespace(c, names)?;
            c.sp_after("other users' namespaces")?;
            let shared = namespace(c, names)?;
            Data::Namespace {
                personal,
                other,
                shared,
            }
        }
        b"STATUS" => {
            c.sp_after("STATUS")?;
            let mailbox = mailbox(c, names)?;
            c.sp_after("mailbox name")?;
            let items = c.paren_list("status items", true, status_att_val)?;
            Data::Status { mailbox, items }
        }
        b"ESEARCH" => Data::Esearch(esearch_response(c)?),
        b"SEARCH" => {
            let (ids, mod_seq) = number_list(c)?;
            Data::Search { ids, mod_seq }
        }
        b"SORT" => {
            let (ids, mod_seq) = number_list(c)?;
            Data::Sort { ids, mod_seq }
        }
        b"THREAD" => {
            let mut threads = Vec::new();
            if c.peek() == Some(b' ') && c.peek_at(1) == Some(b'(') {
                c.sp()?;
                while c.peek() == Some(b'(') {
                    threads.push(thread_list(c)?);
                }
            }
            Data::Thread(threads)
        }
        b"FLAGS" => {
            c.sp_after("FLAGS")?;
            Data::Flags(c.paren_list("flag list", true, Cursor::flag_perm)?)
        }
        b"VANISHED" => {
            c.sp_after("VANISHED")?;
            let earlier = c.peek() == Some(b'(');
            if earlier {
                c.eat(b'(');
                c.expect_keyword("EARLIER")?;
                c.expect(b')', "expected \")\" after EARLIER")?;
                c.sp_after("(EARLIER)")?;
            }
            Data::Vanished {
                earlier,
                uids: c.sequence_set()?,
            }
        }
        b"ID" => {
            c.sp_after("ID")?;
            Data::Id(id_params(c)?)
        }
        b"QUOTA" => {
            c.sp_after("QUOTA")?;
            let root = astring_utf8(c, "quota root")?;
            c.sp_after("quota root")?;
            let resources = c.paren_list("quota resources", true, quota_resource)?;
            Data::Quota { root, resources }
        }
        b"QUOTAROOT" => {
            c.sp_after("QUOTAROOT")?;
            let mailbox = mailbox(c, names)?;
            let mut roots = Vec::new();
            while sp_before_item(c) {
                roots.push(astring_utf8(c, "quota root")?);
            }
            Data::QuotaRoot { mailbox, roots }
        }
        b"METADATA" => {
            c.sp_after("METADATA")?;
            let mailbox = mailbox(c, names)?;
            c.sp_after("mailbox name")?;
            Data::Metadata {
                mailbox,
                entries: metadata_entries(c)?,
            }
        }
        _ => return Err(c.error("unknown untagged response")),
    })
}

/// `metadata-resp = "METADATA" SP mailbox SP (entry-values / entry-list)` after the mailbox
/// (RFC 5464 section 5).
fn metadata_entries(c: &mut Cursor<'_>) -> PResult<MetadataEntries> {
    use crate::parse::metadata::{entry, entry_values};
    if c.peek() == Some(b'(') {
        return Ok(MetadataEntries::Values(entry_values(c)?));
    }
    let mut names = vec![entry(c)?];
    while sp_before_item(c) {
        names.push(entry(c)?);
    }
    Ok(MetadataEntries::Names(names))
}

/// `message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))`, and the counts of
/// `mailbox-data` (`number SP "EXISTS"`, IMAP4rev1 `number SP "RECENT"`).
fn message_data(c: &mut Cursor<'_>) -> PResult<Data> {
    let n = c.number()?;
    c.sp_after("number")?;
    let word = c.word().to_ascii_uppercase();
    Ok(match word.as_slice() {
        b"EXISTS" => Data::Exists(n),
        b"RECENT" => Data::Recent(n),
        b"EXPUNGE" => Data::Expunge(n),
        b"FETCH" => {
            c.sp_after("FETCH")?;
            Data::Fetch {
                seq: n,
                items: fetch::msg_att(c)?,
            }
        }
        _ => return Err(c.error("expected EXISTS, RECENT, EXPUNGE or FETCH")),
    })
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
/// [SP mbox-list-extended]`. Attributes are kept without their backslash.
fn mailbox_list(c: &mut Cursor<'_>, names: NameEncoding) -> PResult<ListData> {
    let attributes = c.paren_list("mailbox attributes", true, |c| {
        c.expect(b'\\', "expected \"\\\" before mailbox attribute")?;
        let name = c.atom()?;
        Atom::new(name).map_err(|_| c.error("invalid mailbox attribute"))
    })?;
    c.sp_after("mailbox attributes")?;
    let delimiter = delimiter(c)?;
    c.sp_after("hierarchy delimiter")?;
    let mailbox = mailbox(c, names)?;
    let mut extended = Vec::new();
    if c.eat(b' ') {
        let items = c.paren_list("extended list data", true, |c| {
            mbox_list_extended_item(c, names)
        })?;
        extended = items.into_iter().flatten().collect();
    }
    Ok(ListData {
        attributes,
        delimiter,
        mailbox,
        extended,
    })
}

/// `mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val`; `None` for
/// items the types do not hold, which are skipped.
fn mbox_list_extended_item(
    c: &mut Cursor<'_>,
    names: NameEncoding,
) -> PResult<Option<ListExtended>> {
    let tag = c.astring()?.to_ascii_uppercase();
    c.sp_after("extended item name")?;
    match tag.as_slice() {
        b"CHILDINFO" => {
            let opts = c.paren_list("CHILDINFO options", true, |c| {
                astring_utf8(c, "CHILDINFO option")
            })?;
            Ok(Some(ListExtended::ChildInfo(opts)))
        }
        b"OLDNAME" => {
            c.expect(b'(', "expected \"(\" after OLDNAME")?;
            let name = mailbox(c, names)?;
            c.expect(b')', "expected \")\" after old name")?;
            Ok(Some(ListExtended::OldName(name)))
        }
        _ => skip_value(c).map(|()| None),
    }
}

/// A hierarchy delimiter: `DQUOTE QUOTED-CHAR DQUOTE` or `NIL`.
fn delimiter(c: &mut Cursor<'_>) -> PResult<Option<char>> {
    if c.nil() {
        return Ok(None);
    }
    let q = c.quoted()?;
    let mut chars = std::str::from_utf8(&q).unwrap_or_default().chars();
    match (chars.next(), chars.next()) {
        (Some(ch), None) => Ok(Some(ch)),
        _ => Err(c.error("hierarchy delimiter must be one character")),
    }
}

/// `namespace = nil / "(" 1*namespace-descr ")"` (RFC 9051 section 7.3.3).
fn namespace(c: &mut Cursor<'_>, names: NameEncoding) -> PResult<Vec<NamespaceDesc>> {
    if c.nil() {
        return Ok(Vec::new());
    }
    c.expect(b'(', "expected \"(\" or NIL for namespace")?;
    c.enter()?;
    let mut descs = Vec::new();
    loop {
        descs.push(namespace_descr(c, names)?);
        // Descriptors follow each other without SP; tolerate one anyway.
        c.eat(b' ');
        if c.eat(b')') {
            break;
        }
    }
    c.leave();
    Ok(descs)
}

/// `namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
/// [namespace-response-extensions] ")"`; the extensions are skipped.
fn namespace_descr(c: &mut Cursor<'_>, names: NameEncoding) -> PResult<NamespaceDesc> {
    c.expect(b'(', "expected \"(\" to open namespace")?;
    c.enter()?;
    let prefix = mailbox(c, names)?;
    c.sp_after("namespace prefix")?;
    let delimiter = delimiter(c)?;
    while c.eat(b' ') {
        skip_value(c)?;
    }
    c.expect(b')', "expected \")\" to close namespace")?;
    c.leave();
    Ok(NamespaceDesc { prefix, delimiter })
}

/// `status-att-val`: `MESSAGES 231`, ..., `MAILBOXID (id)` (RFC 8474).
fn status_att_val(c: &mut Cursor<'_>) -> PResult<StatusValue> {
    let name = c.word();
    if name.eq_ignore_ascii_case(b"MAILBOXID") {
        c.sp_after("MAILBOXID")?;
        return object_id(c).map(StatusValue::MailboxId);
    }
    let item = std::str::from_utf8(name)
        .ok()
        .and_then(StatusItem::from_name)
        .ok_or_else(|| c.error("unknown status item"))?;
    c.sp_after("status item")?;
    Ok(StatusValue::Number(item, c.number64()?))
}

/// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`.
/// Return data Roost does not know (`search-ret-data-ext`) is skipped.
fn esearch_response(c: &mut Cursor<'_>) -> PResult<Esearch> {
    let mut e = Esearch {
        correlator: None,
        uid: false,
        items: Vec::new(),
    };
    if c.peek() == Some(b' ') && c.peek_at(1) == Some(b'(') {
        c.sp()?;
        c.eat(b'(');
        c.expect_keyword("TAG")?;
        c.sp_after("TAG")?;
        let tag = astring_utf8(c, "tag")?;
        e.correlator = Some(Tag::new(tag).map_err(|_| c.error("invalid tag in correlator"))?);
        c.expect(b')', "expected \")\" after search correlator")?;
    }
    while sp_before_item(c) {
        let name = c.word().to_ascii_uppercase();
        if name == b"UID" && !e.uid && e.items.is_empty() {
            e.uid = true;
            continue;
        }
        if name.is_empty() {
            return Err(c.error("expected search return data"));
        }
        c.sp_after("search return item")?;
        e.items.push(match name.as_slice() {
            b"MIN" => EsearchItem::Min(c.number()?),
            b"MAX" => EsearchItem::Max(c.number()?),
            b"COUNT" => EsearchItem::Count(c.number()?),
            b"ALL" => EsearchItem::All(c.sequence_set()?),
            b"MODSEQ" => EsearchItem::ModSeq(c.number64()?),
            b"PARTIAL" => partial_data(c)?,
            b"ADDTO" => EsearchItem::AddTo(positioned(c)?),
            b"REMOVEFROM" => EsearchItem::RemoveFrom(positioned(c)?),
            _ => {
                skip_value(c)?;
                continue;
            }
        });
    }
    Ok(e)
}

/// `ret-data-partial = "PARTIAL" SP "(" partial-range SP partial-results ")"` (RFC 5267),
/// after `PARTIAL SP`.
fn partial_data(c: &mut Cursor<'_>) -> PResult<EsearchItem> {
    c.expect(b'(', "expected \"(\" after PARTIAL")?;
    let first = c.nz_number()?;
    c.expect(b':', "expected \":\" in partial range")?;
    let range = PartialRange {
        first,
        last: c.nz_number()?,
    };
    c.sp_after("partial range")?;
    let results = if c.nil() {
        None
    } else {
        Some(c.sequence_set()?)
    };
    c.expect(b')', "expected \")\" after partial results")?;
    Ok(EsearchItem::Partial { range, results })
}

/// `"(" context-position SP sequence-set *(SP context-position SP sequence-set) ")"`, the
/// payload of `ADDTO` and `REMOVEFROM` (RFC 5267 section 5).
fn positioned(c: &mut Cursor<'_>) -> PResult<Vec<(u32, SequenceSet)>> {
    c.expect(b'(', "expected \"(\" before context positions")?;
    let mut pairs = Vec::new();
    loop {
        let position = c.number()?;
        c.sp_after("context position")?;
        pairs.push((position, c.sequence_set()?));
        if !c.eat(b' ') {
            break;
        }
    }
    c.expect(b')', "expected \")\" after context positions")?;
    Ok(pairs)
}

/// IMAP4rev1 `mailbox-data =/ "SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value
/// ")"]` (RFC 3501, RFC 7162 section 3.1.5); `* SORT` (RFC 5256) has the same shape.
fn number_list(c: &mut Cursor<'_>) -> PResult<(Vec<u32>, Option<u64>)> {
    let mut ids = Vec::new();
    let mut mod_seq = None;
    while sp_before_item(c) {
        match c.peek() {
            Some(b'(') => {
                c.eat(b'(');
                c.expect_keyword("MODSEQ")?;
                c.sp_after("MODSEQ")?;
                mod_seq = Some(c.number64()?);
                c.expect(b')', "expected \")\" after MODSEQ value")?;
                break;
            }
            _ => ids.push(c.number()?),
        }
    }
    Ok((ids, mod_seq))
}

/// `thread-list = "(" (thread-members / thread-nested) ")"` (RFC 5256 section 5); each level
/// counts against the nesting limit.
fn thread_list(c: &mut Cursor<'_>) -> PResult<Thread> {
    c.expect(b'(', "expected \"(\" to open a thread")?;
    c.enter()?;
    let mut t = Thread::default();
    while matches!(c.peek(), Some(b'0'..=b'9')) {
        t.members.push(c.nz_number()?);
        if !c.eat(b' ') {
            if c.peek() == Some(b'(') {
                return Err(c.error("expected SP before nested threads"));
            }
            break;
        }
        if !matches!(c.peek(), Some(b'0'..=b'9' | b'(')) {
            return Err(c.error("expected a message number or a thread"));
        }
    }
    while c.peek() == Some(b'(') {
        t.children.push(thread_list(c)?);
    }
    c.leave();
    let valid = t.children.len() != 1 && (!t.members.is_empty() || t.children.len() >= 2);
    if !valid || c.peek() != Some(b')') {
        return Err(c.error("invalid thread list"));
    }
    c.eat(b')');
    Ok(t)
}

/// `id-params-list = "(" *(string SP nstring) ")" / nil` (RFC 2971 section 3.2).
#[allow(clippy::type_complexity)]
fn id_params(c: &mut Cursor<'_>) -> PResult<Option<Vec<(String, Option<String>)>>> {
    if c.nil() {
        return Ok(None);
    }
    c.paren_list("ID parameters", true, |c| {
        let key = lossy(&c.string()?);
        c.sp_after("ID field name")?;
        let value = c.nstring()?.map(|v| lossy(&v));
        Ok((key, value))
    })
    .map(Some)
}

/// `quota-resource = resource-name SP resource-usage SP resource-limit` (RFC 9208).
fn quota_resource(c: &mut Cursor<'_>) -> PResult<QuotaResource> {
    let name = c.atom()?;
    let name = Atom::new(name).map_err(|_| c.error("invalid resource name"))?;
    c.sp_after("resource name")?;
    let usage = c.number64()?;
    c.sp_after("resource usage")?;
    let limit = c.number64()?;
    Ok(QuotaResource { name, usage, limit })
}
