//! Strategies for arbitrary [`Response`]s and [`EncodeContext`]s, covering every status,
//! response code, continuation and data response, FETCH item, ENVELOPE and BODYSTRUCTURE.
//!
//! With [`Values::Any`] they make whatever the types allow, for the writer's framing
//! invariants: text with CR, LF, NUL and 8-bit characters, sets with `*` and `$`, empty lists
//! the grammar forbids. With [`Values::Faithful`] they make only values a response decoder
//! must give back unchanged after `write_response`; each restriction is commented where it is
//! made. The response decoder's round-trip test reuses them.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::strategy::Union;
use roost_proto::encode::EncodeContext;
use roost_proto::*;

use super::*;

/// The connection set-ups the writer distinguishes: IMAP4rev1 (modified UTF-7, 7-bit quoted
/// strings), IMAP4rev2 / `UTF8=ACCEPT` (UTF-8 both), and the two mixed ones.
pub fn context() -> impl Strategy<Value = EncodeContext> {
    (any::<bool>(), any::<bool>()).prop_map(|(utf8_names, utf8_quoted)| EncodeContext {
        names: if utf8_names {
            NameEncoding::Utf8
        } else {
            NameEncoding::ModifiedUtf7
        },
        utf8_quoted,
    })
}

/// One arbitrary response.
pub fn response(v: Values) -> impl Strategy<Value = Response> {
    prop_oneof![
        2 => status(v).prop_map(Response::Status),
        1 => continuation(v).prop_map(Response::Continue),
        6 => data(v).prop_map(Response::Data),
    ]
}

/// Human-readable `text`.
///
/// Faithful restrictions: `text = 1*TEXT-CHAR`, so no CR, LF or NUL and not empty; 7-bit,
/// since the writer turns 8-bit characters into `?` for IMAP4rev1 clients; it does not start
/// with `[` (a decoder would read a response code) and does not end like a literal
/// announcement `{N}` (the writer appends a space there so no client takes it for one).
pub fn text(v: Values) -> BoxedStrategy<String> {
    match v {
        Values::Faithful => "[ -~]{0,30}"
            .prop_map(|s| format!("x{s}"))
            .prop_filter("ends like a literal", |t| !ends_like_literal(t))
            .boxed(),
        Values::Any => prop_oneof![
            4 => "[ -~]{0,30}",
            2 => "\\PC{0,20}",
            1 => "[a-z \r\n\x00\\]\\[{}0-9+~é]{0,20}",
            1 => Just("Done {3}".to_string()),
            1 => Just("{0+}".to_string()),
            1 => Just(String::new()),
        ]
        .boxed(),
    }
}

/// Whether `t` ends with `{N}`, `{N+}` (a literal announcement, as a line-based reader sees it).
pub fn ends_like_literal(t: &str) -> bool {
    let Some(inner) = t.strip_suffix('}') else {
        return false;
    };
    let inner = inner.strip_suffix('+').unwrap_or(inner);
    let digits = inner.len() - inner.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    digits > 0 && inner[..inner.len() - digits].ends_with('{')
}

fn status_kind() -> impl Strategy<Value = StatusKind> {
    prop::sample::select(vec![StatusKind::Ok, StatusKind::No, StatusKind::Bad])
}

/// Every shape of status response, with and without a code.
pub fn status(v: Values) -> impl Strategy<Value = Status> {
    let code = || prop::option::of(code(v));
    prop_oneof![
        (tag(), status_kind(), code(), text(v)).prop_map(|(tag, kind, code, text)| {
            Status::Tagged {
                tag,
                kind,
                code,
                text,
            }
        }),
        (status_kind(), code(), text(v)).prop_map(|(kind, code, text)| Status::Untagged {
            kind,
            code,
            text
        }),
        (code(), text(v)).prop_map(|(code, text)| Status::PreAuth { code, text }),
        (code(), text(v)).prop_map(|(code, text)| Status::Bye { code, text }),
    ]
}

/// Names of the codes with a variant of their own: `Code::Other` with one of these names would
/// be read back as that variant.
pub const KNOWN_CODES: &[&str] = &[
    "ALERT",
    "ALREADYEXISTS",
    "APPENDUID",
    "AUTHENTICATIONFAILED",
    "AUTHORIZATIONFAILED",
    "BADCHARSET",
    "CANNOT",
    "CAPABILITY",
    "CLIENTBUG",
    "CLOSED",
    "CONTACTADMIN",
    "COPYUID",
    "CORRUPTION",
    "EXPIRED",
    "EXPUNGEISSUED",
    "HASCHILDREN",
    "INUSE",
    "LIMIT",
    "NONEXISTENT",
    "NOPERM",
    "OVERQUOTA",
    "PARSE",
    "PERMANENTFLAGS",
    "PRIVACYREQUIRED",
    "READ-ONLY",
    "READ-WRITE",
    "SERVERBUG",
    "TRYCREATE",
    "UIDNEXT",
    "UIDNOTSTICKY",
    "UIDVALIDITY",
    "UNAVAILABLE",
    "UNKNOWN-CTE",
    "TOOBIG",
    "USEATTR",
    "COMPRESSIONACTIVE",
    "HIGHESTMODSEQ",
    "NOMODSEQ",
    "MODIFIED",
    "MAILBOXID",
    "METADATA",
];

/// A response-set of sequence numbers or UIDs.
///
/// Faithful restriction: the server always knows the numbers, so no `*` and no `$`
/// (`uid-set` of RFC 4315 has neither).
fn set(v: Values) -> BoxedStrategy<SequenceSet> {
    match v {
        Values::Faithful => uid_set().boxed(),
        Values::Any => sequence_set().boxed(),
    }
}

/// A flag as a response carries it.
///
/// Faithful restriction: no `Extension` named like a system flag (see [`flag`]); `perm`
/// allows `\*`, which only PERMANENTFLAGS may hold (`flag-perm`).
fn response_flag(v: Values, perm: bool) -> BoxedStrategy<Flag> {
    let system_named =
        atom().prop_map(|a| Flag::Extension(Atom::new(a.as_str().to_ascii_uppercase()).unwrap()));
    match (v, perm) {
        (Values::Faithful, false) => flag().boxed(),
        (Values::Faithful, true) => prop_oneof![4 => flag(), 1 => Just(Flag::Wildcard)].boxed(),
        (Values::Any, _) => prop_oneof![
            4 => flag(),
            1 => Just(Flag::Wildcard),
            1 => system_named,
            1 => Just(Flag::Extension(Atom::new("Seen").unwrap())),
        ]
        .boxed(),
    }
}

fn response_flags(v: Values, perm: bool) -> impl Strategy<Value = Vec<Flag>> {
    prop::collection::vec(response_flag(v, perm), 0..5)
}

/// A charset name in `BADCHARSET (...)`.
///
/// Faithful restriction: `charset = atom / quoted`, so 7-bit without CR, LF or NUL, and short
/// enough to be quoted (a literal cannot appear inside a response code).
fn charset(v: Values) -> BoxedStrategy<String> {
    match v {
        Values::Faithful => prop_oneof!["[A-Za-z0-9-]{1,12}", "[ -~]{0,12}",].boxed(),
        Values::Any => prop_oneof!["[A-Za-z0-9-]{1,12}", "\\PC{0,12}", "[a\r\n\x00]{0,4}"].boxed(),
    }
}

/// An object id (RFC 8474). Faithful restriction: `objectid = 1*255(ALPHA / DIGIT / "_" /
/// "-")`.
fn response_object_id(v: Values) -> BoxedStrategy<String> {
    match v {
        Values::Faithful => object_id().boxed(),
        Values::Any => prop_oneof![3 => object_id(), 1 => "\\PC{0,10}"].boxed(),
    }
}

/// `Code::Other`.
///
/// Faithful restrictions: the name is no known code's (see [`KNOWN_CODES`]); the text holds no
/// `]`, which would end the code, does not start with a space (it follows one), and is absent
/// rather than empty (`Some("")` is written the same as `None`).
fn other_code(v: Values) -> BoxedStrategy<Code> {
    match v {
        Values::Faithful => (
            atom().prop_filter("a known code", |a| {
                !KNOWN_CODES.iter().any(|k| a.eq_ignore_case(k))
            }),
            prop::option::of("[!-\\\\^-~][ -\\\\^-~]{0,19}"),
        )
            .prop_map(|(a, t)| Code::Other(a, t))
            .boxed(),
        Values::Any => (
            prop_oneof![
                atom(),
                prop::sample::select(KNOWN_CODES).prop_map(|k| Atom::new(k).unwrap())
            ],
            prop::option::of(text(v)),
        )
            .prop_map(|(a, t)| Code::Other(a, t))
            .boxed(),
    }
}

/// Every `resp-text-code`.
///
/// Faithful restriction: `uidvalidity` and `UIDNEXT` are `nz-number`s.
pub fn code(v: Values) -> impl Strategy<Value = Code> {
    use Code as C;
    let nz = || 1u32..=u32::MAX;
    // The thirty codes without arguments share one arm, weighted so each still turns up.
    Union::new_weighted(vec![
        (
            10,
            prop::sample::select(vec![
                C::Alert,
                C::AlreadyExists,
                C::AuthenticationFailed,
                C::AuthorizationFailed,
                C::Cannot,
                C::ClientBug,
                C::Closed,
                C::ContactAdmin,
                C::Corruption,
                C::Expired,
                C::ExpungeIssued,
                C::HasChildren,
                C::InUse,
                C::Limit,
                C::NonExistent,
                C::NoPerm,
                C::OverQuota,
                C::Parse,
                C::PrivacyRequired,
                C::ReadOnly,
                C::ReadWrite,
                C::ServerBug,
                C::TryCreate,
                C::UidNotSticky,
                C::Unavailable,
                C::UnknownCte,
                C::TooBig,
                C::UseAttr,
                C::CompressionActive,
                C::NoModSeq,
                C::NotificationOverflow,
            ])
            .boxed(),
        ),
        (
            1,
            (nz(), set(v))
                .prop_map(|(uid_validity, uids)| C::AppendUid { uid_validity, uids })
                .boxed(),
        ),
        (
            1,
            prop::collection::vec(charset(v), 0..3)
                .prop_map(C::BadCharset)
                .boxed(),
        ),
        (
            1,
            prop::collection::vec(atom(), 0..4)
                .prop_map(C::Capability)
                .boxed(),
        ),
        (
            1,
            prop::collection::vec(atom(), 1..4)
                .prop_map(C::BadEvent)
                .boxed(),
        ),
        (
            1,
            (nz(), set(v), set(v))
                .prop_map(|(uid_validity, source, destination)| C::CopyUid {
                    uid_validity,
                    source,
                    destination,
                })
                .boxed(),
        ),
        (
            1,
            response_flags(v, true).prop_map(C::PermanentFlags).boxed(),
        ),
        (1, nz().prop_map(C::UidNext).boxed()),
        (1, nz().prop_map(C::UidValidity).boxed()),
        (1, number64().prop_map(C::HighestModSeq).boxed()),
        (1, set(v).prop_map(C::Modified).boxed()),
        (1, response_object_id(v).prop_map(C::MailboxId).boxed()),
        (
            1,
            prop_oneof![
                number64().prop_map(MetadataCode::LongEntries),
                number64().prop_map(MetadataCode::MaxSize),
                Just(MetadataCode::TooMany),
                Just(MetadataCode::NoPrivate),
            ]
            .prop_map(C::Metadata)
            .boxed(),
        ),
        (1, other_code(v)),
    ])
}

/// `continue-req`.
///
/// Faithful restrictions: `+ SP (resp-text / base64)` is ambiguous on its own, so the text of
/// `Continue::Text` always holds a space or another character base64 lacks, and a
/// `Continue::Base64` challenge is never empty (`+ ` alone reads as empty text).
pub fn continuation(v: Values) -> impl Strategy<Value = Continue> {
    let challenge = match v {
        Values::Faithful => prop::collection::vec(any::<u8>(), 1..40).boxed(),
        Values::Any => prop::collection::vec(any::<u8>(), 0..40).boxed(),
    };
    let go_ahead = match v {
        Values::Faithful => "[A-Za-z]{1,8}( [A-Za-z0-9.]{1,8}){1,3}".boxed(),
        Values::Any => text(v),
    };
    prop_oneof![
        (prop::option::of(code(v)), go_ahead)
            .prop_map(|(code, text)| Continue::Text { code, text }),
        challenge.prop_map(Continue::Base64),
    ]
}

/// A mailbox name as the server holds it (UTF-8): ASCII, non-ASCII, `&`, controls.
pub fn mailbox_string() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec!["INBOX", "Sent", "Entwürfe", "&", "~peter/mail/台北/日本語", "NIL", ""])
            .prop_map(str::to_string),
        2 => "[A-Za-z0-9 /._&-]{1,20}",
        3 => "\\PC{0,12}",
        1 => "[a\t\r\n\"\\\\&]{0,8}",
    ]
}

/// A hierarchy delimiter.
///
/// Faithful restriction: `DQUOTE QUOTED-CHAR DQUOTE`, a printable 7-bit character; the writer
/// writes `NIL` for one it cannot quote.
fn delimiter(v: Values) -> BoxedStrategy<Option<char>> {
    match v {
        Values::Faithful => prop::option::of(prop_oneof![
            3 => Just('/'),
            1 => Just('.'),
            1 => Just('\\'),
            1 => Just('"'),
            1 => prop::char::range(' ', '~'),
        ])
        .boxed(),
        Values::Any => prop::option::of(any::<char>()).boxed(),
    }
}

fn list_data(v: Values) -> impl Strategy<Value = ListData> {
    let extended = prop::collection::vec(
        prop_oneof![
            prop::collection::vec("[A-Z]{1,10}", 1..3).prop_map(ListExtended::ChildInfo),
            mailbox_string().prop_map(ListExtended::OldName),
        ],
        0..3,
    );
    (
        prop::collection::vec(atom(), 0..4),
        delimiter(v),
        mailbox_string(),
        extended,
    )
        .prop_map(|(attributes, delimiter, mailbox, extended)| ListData {
            attributes,
            delimiter,
            mailbox,
            extended,
        })
}

fn namespaces(v: Values) -> impl Strategy<Value = Vec<NamespaceDesc>> {
    prop::collection::vec(
        (mailbox_string(), delimiter(v))
            .prop_map(|(prefix, delimiter)| NamespaceDesc { prefix, delimiter }),
        0..3,
    )
}

/// A `status-att-val`.
///
/// Faithful restrictions: `MAILBOXID` carries an object id, never a number; each number is in
/// its item's range (`number` or `nz-number` for the 32-bit items, `number64` or
/// `mod-sequence-valzer` for SIZE, HIGHESTMODSEQ and DELETED-STORAGE).
fn status_value(v: Values) -> BoxedStrategy<StatusValue> {
    let any_item = prop::sample::select(StatusItem::ALL.to_vec());
    match v {
        Values::Faithful => prop_oneof![
            (any_item, number64())
                .prop_filter("MAILBOXID takes an object id", |(i, _)| {
                    *i != StatusItem::MailboxId
                })
                .prop_map(|(item, n)| {
                    let n = match item {
                        StatusItem::UidNext | StatusItem::UidValidity => {
                            (n % u64::from(u32::MAX)).max(1)
                        }
                        StatusItem::Messages
                        | StatusItem::Unseen
                        | StatusItem::Deleted
                        | StatusItem::Recent => n % (u64::from(u32::MAX) + 1),
                        _ => n,
                    };
                    StatusValue::Number(item, n)
                }),
            object_id().prop_map(StatusValue::MailboxId),
        ]
        .boxed(),
        Values::Any => prop_oneof![
            (any_item, any::<u64>()).prop_map(|(i, n)| StatusValue::Number(i, n)),
            response_object_id(v).prop_map(StatusValue::MailboxId),
        ]
        .boxed(),
    }
}

/// `esearch-response`. Faithful restrictions: MIN and MAX are `nz-number`s.
fn esearch(v: Values) -> impl Strategy<Value = Esearch> {
    let item = prop_oneof![
        (1u32..=u32::MAX).prop_map(EsearchItem::Min),
        (1u32..=u32::MAX).prop_map(EsearchItem::Max),
        set(v).prop_map(EsearchItem::All),
        any::<u32>().prop_map(EsearchItem::Count),
        nz_number64().prop_map(EsearchItem::ModSeq),
        (1u32..=u32::MAX, 1u32..=u32::MAX, prop::option::of(set(v))).prop_map(
            |(first, last, results)| EsearchItem::Partial {
                range: PartialRange { first, last },
                results,
            }
        ),
    ];
    (
        prop::option::of(tag()),
        any::<bool>(),
        prop::collection::vec(item, 0..4),
    )
        .prop_map(|(correlator, uid, items)| Esearch {
            correlator,
            uid,
            items,
        })
}

/// Every untagged data response.
///
/// Faithful restrictions: `CAPABILITY` lists at least one capability; `* ID ()` is written
/// `* ID NIL`, so ID parameters are `None` or non-empty; `* SEARCH` carries `(MODSEQ n)`
/// only after at least one number (RFC 7162 section 3.1.5) and its numbers are `nz-number`s;
/// `EXPUNGE` takes an `nz-number`; FETCH is for an `nz-number` and holds at least one item.
pub fn data(v: Values) -> impl Strategy<Value = Data> {
    use Data as D;
    let faithful = v == Values::Faithful;
    let nz = || 1u32..=u32::MAX;
    let id_params = prop::option::of(prop::collection::vec(
        ("\\PC{0,10}", prop::option::of("\\PC{0,10}")),
        usize::from(faithful)..4,
    ));
    Union::new(vec![
        prop::collection::vec(atom(), usize::from(faithful)..5)
            .prop_map(D::Capability)
            .boxed(),
        prop::collection::vec(atom(), 0..4)
            .prop_map(D::Enabled)
            .boxed(),
        list_data(v).prop_map(D::List).boxed(),
        list_data(v).prop_map(D::Lsub).boxed(),
        (namespaces(v), namespaces(v), namespaces(v))
            .prop_map(|(personal, other, shared)| D::Namespace {
                personal,
                other,
                shared,
            })
            .boxed(),
        (
            mailbox_string(),
            prop::collection::vec(status_value(v), 0..5),
        )
            .prop_map(|(mailbox, items)| D::Status { mailbox, items })
            .boxed(),
        esearch(v).prop_map(D::Esearch).boxed(),
        (
            prop::collection::vec(nz(), 0..6),
            prop::option::of(nz_number64()),
        )
            .prop_map(move |(ids, mod_seq)| D::Search {
                mod_seq: mod_seq.filter(|_| !faithful || !ids.is_empty()),
                ids,
            })
            .boxed(),
        (
            prop::collection::vec(nz(), 0..6),
            prop::option::of(nz_number64()),
        )
            .prop_map(move |(ids, mod_seq)| D::Sort {
                mod_seq: mod_seq.filter(|_| !faithful || !ids.is_empty()),
                ids,
            })
            .boxed(),
        prop::collection::vec(thread(), 0..4)
            .prop_map(D::Thread)
            .boxed(),
        response_flags(v, false).prop_map(D::Flags).boxed(),
        any::<u32>().prop_map(D::Exists).boxed(),
        any::<u32>().prop_map(D::Recent).boxed(),
        nz().prop_map(D::Expunge).boxed(),
        (any::<bool>(), set(v))
            .prop_map(|(earlier, uids)| D::Vanished { earlier, uids })
            .boxed(),
        (nz(), prop::collection::vec(fetch_value(v), 1..5))
            .prop_map(|(seq, items)| D::Fetch { seq, items })
            .boxed(),
        id_params.prop_map(D::Id).boxed(),
        (
            mailbox_string(),
            prop::collection::vec(
                (atom(), number64(), number64()).prop_map(|(name, usage, limit)| QuotaResource {
                    name,
                    usage,
                    limit,
                }),
                0..3,
            ),
        )
            .prop_map(|(root, resources)| D::Quota { root, resources })
            .boxed(),
        (
            mailbox_string(),
            prop::collection::vec(mailbox_string(), 0..3),
        )
            .prop_map(|(mailbox, roots)| D::QuotaRoot { mailbox, roots })
            .boxed(),
        // `entry-values` and `entry-list` hold at least one entry.
        (
            mailbox_string(),
            prop_oneof![
                prop::collection::vec((entry_name(), metadata_value()), 1..4)
                    .prop_map(MetadataEntries::Values),
                prop::collection::vec(entry_name(), 1..4).prop_map(MetadataEntries::Names),
            ],
        )
            .prop_map(|(mailbox, entries)| D::Metadata { mailbox, entries })
            .boxed(),
    ])
}

/// The contents of a `string` in ENVELOPE and BODYSTRUCTURE.
///
/// Faithful restriction: no NUL, which neither a quoted string nor a `literal` may hold
/// (`CHAR8 = %x01-ff`).
fn str_bytes(v: Values) -> BoxedStrategy<Vec<u8>> {
    match v {
        Values::Faithful => bytes_no_nul().boxed(),
        Values::Any => bytes().boxed(),
    }
}

/// `nstring` contents: `None` or a string.
fn nstring(v: Values) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(str_bytes(v))
}

fn address(v: Values) -> impl Strategy<Value = Address> {
    (nstring(v), nstring(v), nstring(v), nstring(v)).prop_map(|(name, adl, mailbox, host)| {
        Address {
            name,
            adl,
            mailbox,
            host,
        }
    })
}

fn addresses(v: Values) -> impl Strategy<Value = Vec<Address>> {
    prop::collection::vec(address(v), 0..3)
}

pub fn envelope(v: Values) -> impl Strategy<Value = Envelope> {
    (
        (
            nstring(v),
            nstring(v),
            addresses(v),
            addresses(v),
            addresses(v),
        ),
        (
            addresses(v),
            addresses(v),
            addresses(v),
            nstring(v),
            nstring(v),
        ),
    )
        .prop_map(
            |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| {
                Envelope {
                    date,
                    subject,
                    from,
                    sender,
                    reply_to,
                    to,
                    cc,
                    bcc,
                    in_reply_to,
                    message_id,
                }
            },
        )
}

fn params(v: Values) -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    prop::collection::vec((str_bytes(v), str_bytes(v)), 0..3)
}

fn disposition(v: Values) -> impl Strategy<Value = Option<Disposition>> {
    prop::option::of(
        (
            prop_oneof![
                Just(b"inline".to_vec()),
                Just(b"attachment".to_vec()),
                str_bytes(v)
            ],
            params(v),
        )
            .prop_map(|(kind, params)| Disposition { kind, params }),
    )
}

fn languages(v: Values) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop_oneof![Just(b"en".to_vec()), str_bytes(v)], 0..3)
}

/// The fields every single part has, for a media type chosen by the caller.
fn single_part_fields(
    v: Values,
    media_type: Vec<u8>,
    subtype: Vec<u8>,
    kind: SingleKind,
) -> impl Strategy<Value = SinglePart> {
    (
        params(v),
        nstring(v),
        nstring(v),
        prop_oneof![
            Just(b"7BIT".to_vec()),
            Just(b"BASE64".to_vec()),
            str_bytes(v)
        ],
        any::<u32>(),
    )
        .prop_map(
            move |(params, id, description, encoding, octets)| SinglePart {
                media_type: media_type.clone(),
                subtype: subtype.clone(),
                params,
                id,
                description,
                encoding,
                octets,
                kind: kind.clone(),
            },
        )
}

/// A body structure, nested through multiparts and `MESSAGE/RFC822` parts.
///
/// Faithful restrictions: the shape follows the media type, as a decoder tells them apart
/// (`TEXT/*` has line counts, `MESSAGE/RFC822` and `MESSAGE/GLOBAL` an envelope and a body,
/// every other type is basic); a multipart has at least one part (`1*body`); with `extended`
/// false (BODY, not BODYSTRUCTURE) no extension data at any depth, since BODY leaves it out.
pub fn body_structure(v: Values, extended: bool) -> impl Strategy<Value = BodyStructure> {
    let faithful = v == Values::Faithful;
    let single_ext = (nstring(v), disposition(v), languages(v), nstring(v))
        .prop_map(move |(md5, disposition, language, location)| {
            if extended || !faithful {
                SinglePartExtension {
                    md5,
                    disposition,
                    language,
                    location,
                }
            } else {
                SinglePartExtension::default()
            }
        })
        .boxed();
    let basic_type = prop_oneof![
        Just(b"APPLICATION".to_vec()),
        Just(b"IMAGE".to_vec()),
        Just(b"MESSAGE".to_vec()),
        str_bytes(v),
    ]
    .prop_filter("a type with a shape of its own", move |t| {
        !faithful || !t.eq_ignore_ascii_case(b"TEXT")
    });
    let basic_subtype = prop_oneof![Just(b"OCTET-STREAM".to_vec()), str_bytes(v)];
    let basic = (basic_type, basic_subtype)
        .prop_filter("MESSAGE/RFC822 has a shape of its own", move |(t, s)| {
            !faithful
                || !(t.eq_ignore_ascii_case(b"MESSAGE")
                    && (s.eq_ignore_ascii_case(b"RFC822") || s.eq_ignore_ascii_case(b"GLOBAL")))
        })
        .prop_flat_map(move |(t, s)| single_part_fields(v, t, s, SingleKind::Basic));
    let text = (
        prop_oneof![
            Just(b"PLAIN".to_vec()),
            Just(b"HTML".to_vec()),
            str_bytes(v)
        ],
        any::<u32>(),
    )
        .prop_flat_map(move |(s, lines)| {
            single_part_fields(v, b"TEXT".to_vec(), s, SingleKind::Text { lines })
        });
    let leaf = (prop_oneof![basic, text], single_ext.clone())
        .prop_map(|(body, extension)| BodyStructure::Single { body, extension });
    let multi_ext = (params(v), disposition(v), languages(v), nstring(v))
        .prop_map(move |(params, disposition, language, location)| {
            if extended || !faithful {
                MultiPartExtension {
                    params,
                    disposition,
                    language,
                    location,
                }
            } else {
                MultiPartExtension::default()
            }
        })
        .boxed();
    leaf.prop_recursive(3, 12, 3, move |inner| {
        let message = (
            prop_oneof![Just(b"RFC822".to_vec()), Just(b"GLOBAL".to_vec())],
            envelope(v),
            inner.clone(),
            any::<u32>(),
        )
            .prop_flat_map(move |(subtype, env, body, lines)| {
                single_part_fields(
                    v,
                    b"MESSAGE".to_vec(),
                    subtype,
                    SingleKind::Message {
                        envelope: Box::new(env),
                        body: Box::new(body),
                        lines,
                    },
                )
            });
        prop_oneof![
            (message, single_ext.clone())
                .prop_map(|(body, extension)| BodyStructure::Single { body, extension }),
            (
                prop::collection::vec(inner, usize::from(faithful)..3),
                prop_oneof![
                    Just(b"MIXED".to_vec()),
                    Just(b"ALTERNATIVE".to_vec()),
                    str_bytes(v)
                ],
                multi_ext.clone(),
            )
                .prop_map(|(parts, subtype, extension)| BodyStructure::Multi {
                    parts,
                    subtype,
                    extension,
                }),
        ]
    })
}

fn part() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(1u32..20, 0..4)
}

/// The section a `BODY[...]` response echoes.
///
/// Faithful restrictions, as for the command: part numbers are non-zero, `MIME` comes only
/// after a part, a header list is not empty.
fn section(v: Values) -> impl Strategy<Value = Section> {
    let faithful = v == Values::Faithful;
    let names = prop::collection::vec(
        prop_oneof![
            Just(b"Subject".to_vec()),
            Just(b"From".to_vec()),
            bytes_no_nul()
        ],
        usize::from(faithful)..4,
    );
    let text = prop::option::of(prop_oneof![
        Just(SectionText::Header),
        Just(SectionText::Text),
        Just(SectionText::Mime),
        names.clone().prop_map(SectionText::HeaderFields),
        names.prop_map(SectionText::HeaderFieldsNot),
    ]);
    (part(), text)
        .prop_filter("MIME without a part", move |(p, t)| {
            !faithful || !p.is_empty() || t != &Some(SectionText::Mime)
        })
        .prop_map(|(part, text)| Section { part, text })
}

/// Message data: `None` (NIL), small, binary, and now and then large enough to be handed to
/// the output without a copy.
fn message_data() -> impl Strategy<Value = Option<Bytes>> {
    prop::option::of(
        prop_oneof![
            6 => prop::collection::vec(any::<u8>(), 0..64),
            1 => prop::collection::vec(any::<u8>(), 1024..3000),
            1 => Just(b"line\r\n{5}\r\nnot a literal\r\n".to_vec()),
        ]
        .prop_map(Bytes::from),
    )
}

/// Every FETCH response item.
///
/// Faithful restrictions: `RFC822.SIZE` is a `number64`; `UID` an `nz-number`; `MODSEQ` a
/// non-zero `mod-sequence-value`; object ids as in [`response_object_id`]; FLAGS without `\*`.
pub fn fetch_value(v: Values) -> impl Strategy<Value = FetchValue> {
    use FetchValue as F;
    Union::new(vec![
        response_flags(v, false).prop_map(F::Flags).boxed(),
        date_time().prop_map(F::InternalDate).boxed(),
        number64().prop_map(F::Rfc822Size).boxed(),
        envelope(v).prop_map(|e| F::Envelope(Box::new(e))).boxed(),
        body_structure(v, false)
            .prop_map(|b| F::Body(Box::new(b)))
            .boxed(),
        body_structure(v, true)
            .prop_map(|b| F::BodyStructure(Box::new(b)))
            .boxed(),
        (section(v), prop::option::of(any::<u32>()), message_data())
            .prop_map(|(section, origin, data)| F::BodySection {
                section,
                origin,
                data,
            })
            .boxed(),
        (part(), prop::option::of(any::<u32>()), message_data())
            .prop_map(|(part, origin, data)| F::Binary { part, origin, data })
            .boxed(),
        (part(), number64())
            .prop_map(|(part, size)| F::BinarySize { part, size })
            .boxed(),
        (1u32..=u32::MAX).prop_map(F::Uid).boxed(),
        nz_number64().prop_map(F::ModSeq).boxed(),
        response_object_id(v).prop_map(F::EmailId).boxed(),
        prop::option::of(response_object_id(v))
            .prop_map(F::ThreadId)
            .boxed(),
        // Any text, even line breaks and 8-bit (the writer picks a literal for them).
        prop::option::of("(?s).{0,40}").prop_map(F::Preview).boxed(),
        (0u8..3, message_data())
            .prop_map(|(which, d)| match which {
                0 => F::Rfc822(d),
                1 => F::Rfc822Header(d),
                _ => F::Rfc822Text(d),
            })
            .boxed(),
    ])
}

/// One `thread-list` of a `* THREAD` response, as the grammar allows it: a non-empty chain
/// of `nz-number`s then zero or at least two sub-threads, or no chain and at least two.
fn thread() -> impl Strategy<Value = Thread> {
    let chain = || prop::collection::vec(1u32..=u32::MAX, 1..4);
    let leaf = chain().prop_map(|members| Thread {
        members,
        children: vec![],
    });
    leaf.prop_recursive(3, 16, 3, move |inner| {
        (
            prop::collection::vec(1u32..=u32::MAX, 0..3),
            prop::collection::vec(inner, 2..4),
        )
            .prop_map(|(members, children)| Thread { members, children })
    })
}
