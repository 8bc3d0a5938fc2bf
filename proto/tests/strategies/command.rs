//! Strategies for arbitrary valid [`Command`]s, covering every [`CommandBody`] variant and its
//! sub-structures.
//!
//! The property these feed is `decode(write(cmd)) == cmd`, so each strategy makes only values
//! the command grammar (RFC 9051 section 9 and the extension RFCs) can express. Where the
//! types allow more than the grammar, the restriction is stated in a comment beside the
//! strategy that makes it.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::strategy::Union;
use roost_proto::*;

use super::*;

/// One arbitrary command.
pub fn command() -> impl Strategy<Value = Command> {
    (tag(), command_body()).prop_map(|(tag, body)| Command { tag, body })
}

/// Every variant of [`CommandBody`], each about equally likely.
pub fn command_body() -> impl Strategy<Value = CommandBody> {
    use CommandBody as C;
    Union::new(vec![
        prop::sample::select(vec![
            C::Capability,
            C::Noop,
            C::Logout,
            C::StartTls,
            C::Namespace,
            C::Idle,
            C::Check,
            C::Close,
            C::Unselect,
            C::Unauthenticate,
            C::Expunge,
        ])
        .boxed(),
        id().boxed(),
        authenticate().boxed(),
        login().boxed(),
        // Restriction: `enable = "ENABLE" 1*(SP capability)`, at least one.
        prop::collection::vec(atom(), 1..4)
            .prop_map(|capabilities| C::Enable { capabilities })
            .boxed(),
        (mailbox_name(), select_params())
            .prop_map(|(mailbox, params)| C::Select { mailbox, params })
            .boxed(),
        (mailbox_name(), select_params())
            .prop_map(|(mailbox, params)| C::Examine { mailbox, params })
            .boxed(),
        (mailbox_name(), prop::collection::vec(atom(), 0..3))
            .prop_map(|(mailbox, special_use)| C::Create {
                mailbox,
                special_use,
            })
            .boxed(),
        mailbox_name()
            .prop_map(|mailbox| C::Delete { mailbox })
            .boxed(),
        (mailbox_name(), mailbox_name())
            .prop_map(|(from, to)| C::Rename { from, to })
            .boxed(),
        mailbox_name()
            .prop_map(|mailbox| C::Subscribe { mailbox })
            .boxed(),
        mailbox_name()
            .prop_map(|mailbox| C::Unsubscribe { mailbox })
            .boxed(),
        list().prop_map(C::List).boxed(),
        (mailbox_name(), list_pattern())
            .prop_map(|(reference, pattern)| C::Lsub { reference, pattern })
            .boxed(),
        (mailbox_name(), status_items())
            .prop_map(|(mailbox, items)| C::Status { mailbox, items })
            .boxed(),
        append().boxed(),
        atom()
            .prop_map(|algorithm| C::Compress { algorithm })
            .boxed(),
        bytes_no_nul().prop_map(|root| C::GetQuota { root }).boxed(),
        mailbox_name()
            .prop_map(|mailbox| C::GetQuotaRoot { mailbox })
            .boxed(),
        // `setquota-resource = resource-name SP resource-limit`, the limit a `number64`.
        (
            bytes_no_nul(),
            prop::collection::vec((atom(), number64()), 0..4),
        )
            .prop_map(|(root, limits)| C::SetQuota { root, limits })
            .boxed(),
        (
            mailbox_name(),
            prop::option::of(number64()),
            prop::sample::select(vec![Depth::Zero, Depth::One, Depth::Infinity]),
            prop::collection::vec(entry_name(), 1..4),
        )
            .prop_map(|(mailbox, max_size, depth, entries)| C::GetMetadata {
                mailbox,
                options: MetadataOptions { max_size, depth },
                entries,
            })
            .boxed(),
        // `entry-values` holds at least one pair.
        (
            mailbox_name(),
            prop::collection::vec((entry_name(), metadata_value()), 1..4),
        )
            .prop_map(|(mailbox, entries)| C::SetMetadata { mailbox, entries })
            .boxed(),
        sequence_set()
            .prop_map(|uids| C::UidExpunge { uids })
            .boxed(),
        notify().prop_map(C::Notify).boxed(),
        search().prop_map(C::Search).boxed(),
        sort().prop_map(C::Sort).boxed(),
        thread().prop_map(C::Thread).boxed(),
        fetch().boxed(),
        store().boxed(),
        (any::<bool>(), sequence_set(), mailbox_name())
            .prop_map(|(uid, set, mailbox)| C::Copy { uid, set, mailbox })
            .boxed(),
        (any::<bool>(), sequence_set(), mailbox_name())
            .prop_map(|(uid, set, mailbox)| C::Move { uid, set, mailbox })
            .boxed(),
    ])
}

/// RFC 5465 `NOTIFY`: only what sections 5 and 6.1 allow (MessageNew and MessageExpunge
/// together, FlagChange with both, at most one SELECTED group holding message events, fetch
/// attributes only there); no `event-ext` atoms, which could spell a known event.
fn notify() -> impl Strategy<Value = NotifyCommand> {
    use NotifyEvent as E;
    let message_events = prop_oneof![
        Just(vec![]),
        Just(vec![E::MessageNew(vec![]), E::MessageExpunge]),
        Just(vec![
            E::MessageExpunge,
            E::MessageNew(vec![]),
            E::FlagChange
        ]),
        Just(vec![
            E::MessageNew(vec![]),
            E::MessageExpunge,
            E::AnnotationChange
        ]),
    ];
    let other_events = (
        message_events.clone(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mut events, name, subscription, metadata)| {
            if name {
                events.push(E::MailboxName);
            }
            if subscription {
                events.push(E::SubscriptionChange);
            }
            if metadata {
                events.extend([E::MailboxMetadataChange, E::ServerMetadataChange]);
            }
            events
        });
    let names = || prop::collection::vec(mailbox_name(), 1..3);
    let filter = prop_oneof![
        Just(MailboxFilter::Inboxes),
        Just(MailboxFilter::Personal),
        Just(MailboxFilter::Subscribed),
        names().prop_map(MailboxFilter::Subtree),
        names().prop_map(MailboxFilter::Mailboxes),
    ];
    let group = (filter, other_events).prop_map(|(filter, events)| EventGroup { filter, events });
    let selected = (
        any::<bool>(),
        prop::collection::vec(fetch_attribute(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(delayed, attributes, flags)| {
            let mut events = vec![E::MessageNew(attributes), E::MessageExpunge];
            if flags {
                events.push(E::FlagChange);
            }
            EventGroup {
                filter: if delayed {
                    MailboxFilter::SelectedDelayed
                } else {
                    MailboxFilter::Selected
                },
                events,
            }
        });
    prop_oneof![
        Just(NotifyCommand::None),
        (
            any::<bool>(),
            prop::option::of(selected),
            prop::collection::vec(group, 0..3),
        )
            .prop_filter("at least one group", |(_, s, g)| s.is_some()
                || !g.is_empty())
            .prop_map(|(status, selected, others)| NotifyCommand::Set {
                status,
                groups: selected.into_iter().chain(others).collect(),
            }),
    ]
}

/// RFC 2971 `ID`: `NIL`, `()` or field/value pairs, a value possibly `NIL`.
fn id() -> impl Strategy<Value = CommandBody> {
    prop::option::of(prop::collection::vec(
        (bytes_no_nul(), prop::option::of(bytes_no_nul())),
        0..4,
    ))
    .prop_map(|params| CommandBody::Id { params })
}

/// AUTHENTICATE with no initial response, an empty one (`=`), or binary data (base64).
fn authenticate() -> impl Strategy<Value = CommandBody> {
    (
        atom(),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
    )
        .prop_map(|(mechanism, ir)| CommandBody::Authenticate {
            mechanism,
            initial_response: ir.map(Secret::new),
        })
}

/// LOGIN with user names and passwords of any bytes but NUL (`astring`).
fn login() -> impl Strategy<Value = CommandBody> {
    (bytes_no_nul(), bytes_no_nul()).prop_map(|(username, password)| CommandBody::Login {
        username,
        password: Secret::new(password),
    })
}

/// SELECT/EXAMINE parameters: CONDSTORE, QRESYNC with every optional part.
///
/// Restrictions (RFC 7162 section 3.2.5): `uidvalidity = nz-number`, and the QRESYNC
/// `mod-sequence-value` is non-zero and at most 2^63 - 1.
fn select_params() -> impl Strategy<Value = SelectParams> {
    let qresync = (
        1u32..=u32::MAX,
        nz_number64(),
        prop::option::of(sequence_set()),
        prop::option::of((sequence_set(), sequence_set())),
    )
        .prop_map(|(uid_validity, mod_seq, known_uids, seq_match)| QResync {
            uid_validity,
            mod_seq,
            known_uids,
            seq_match,
        });
    (any::<bool>(), prop::option::of(qresync))
        .prop_map(|(condstore, qresync)| SelectParams { condstore, qresync })
}

/// Restriction: `"(" status-att *(SP status-att) ")"`, at least one item.
fn status_items() -> impl Strategy<Value = Vec<StatusItem>> {
    prop::collection::vec(prop::sample::select(StatusItem::ALL.to_vec()), 1..5)
}

/// LIST in every form: selection options, several patterns, RETURN options with STATUS.
///
/// Restrictions: at least one pattern (`"(" list-mailbox *(SP list-mailbox) ")"`);
/// RECURSIVEMATCH only with SUBSCRIBED or SPECIAL-USE beside it (RFC 5258 section 6,
/// `list-select-mod-opt` needs a `list-select-base-opt`); `STATUS` with at least one item.
fn list() -> impl Strategy<Value = ListCommand> {
    let select_opt = prop::sample::select(vec![
        ListSelectOption::Subscribed,
        ListSelectOption::Remote,
        ListSelectOption::RecursiveMatch,
        ListSelectOption::SpecialUse,
    ]);
    let return_opt = prop_oneof![
        3 => prop::sample::select(vec![
            ListReturnOption::Subscribed,
            ListReturnOption::Children,
            ListReturnOption::SpecialUse,
        ]),
        1 => status_items().prop_map(ListReturnOption::Status),
    ];
    (
        prop::collection::vec(select_opt, 0..4).prop_filter("RECURSIVEMATCH alone", |sel| {
            !sel.contains(&ListSelectOption::RecursiveMatch)
                || sel.iter().any(|o| {
                    matches!(
                        o,
                        ListSelectOption::Subscribed | ListSelectOption::SpecialUse
                    )
                })
        }),
        mailbox_name(),
        prop::collection::vec(list_pattern(), 1..4),
        prop::collection::vec(return_opt, 0..4),
    )
        .prop_map(|(selection, reference, patterns, returns)| ListCommand {
            selection,
            reference,
            patterns,
            returns,
        })
}

/// One message of APPEND: flags, date, and data as `literal`, `literal8` or `UTF8 (literal8)`.
///
/// Restrictions: a plain `literal` holds no NUL (`CHAR8`), only `literal8` may; the `UTF8`
/// form always carries a `literal8` (RFC 6855 section 4), so `utf8` implies `binary`.
fn append_message() -> impl Strategy<Value = AppendMessage> {
    let data = prop_oneof![
        6 => prop::collection::vec(any::<u8>(), 0..200),
        1 => prop::collection::vec(any::<u8>(), 2000..5000),
    ];
    (flags(), prop::option::of(date_time()), data, 0u8..3).prop_map(
        |(flags, date, mut data, form)| {
            let (binary, utf8) = match form {
                0 => (false, false),
                1 => (true, false),
                _ => (true, true),
            };
            if !binary {
                data.retain(|&b| b != 0);
            }
            AppendMessage {
                flags,
                date,
                data: Bytes::from(data),
                binary,
                utf8,
            }
        },
    )
}

/// APPEND, MULTIAPPEND included. Restriction: at least one message.
fn append() -> impl Strategy<Value = CommandBody> {
    (
        mailbox_name(),
        prop::collection::vec(append_message(), 1..4),
    )
        .prop_map(|(mailbox, messages)| CommandBody::Append { mailbox, messages })
}

/// SEARCH and UID SEARCH with RETURN options, CHARSET and nested keys.
///
/// Restrictions: at least one key (`search-program`); `charset = atom / quoted`, so a
/// charset name holds no CR, LF or NUL.
pub fn search() -> impl Strategy<Value = SearchCommand> {
    (
        any::<bool>(),
        search_returns(),
        prop::option::of(charset()),
        prop::collection::vec(search_key(), 1..4),
    )
        .prop_map(|(uid, returns, charset, criteria)| SearchCommand {
            uid,
            returns,
            charset,
            criteria,
        })
}

/// `[RETURN (...)]`, PARTIAL's range of two `nz-number`s.
fn search_returns() -> impl Strategy<Value = Option<Vec<SearchReturn>>> {
    let partial = (1u32..=u32::MAX, 1u32..=u32::MAX)
        .prop_map(|(first, last)| SearchReturn::Partial(PartialRange { first, last }));
    prop::option::of(prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                SearchReturn::Min,
                SearchReturn::Max,
                SearchReturn::All,
                SearchReturn::Count,
                SearchReturn::Save,
            ]),
            1 => partial,
        ],
        0..4,
    ))
}

/// `charset = atom / quoted`, so a charset name holds no CR, LF or NUL.
fn charset() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["UTF-8", "US-ASCII", "ISO-8859-1", "NIL", ""])
            .prop_map(str::to_string),
        1 => "[^\r\n\x00]{0,12}",
        1 => "[ -~]{1001,1010}",
    ]
}

/// SORT and UID SORT (RFC 5256, RFC 5267 `RETURN`, RFC 5957 keys). Restrictions: at least
/// one sort criterion and one search key.
pub fn sort() -> impl Strategy<Value = SortCommand> {
    let criterion = (any::<bool>(), prop::sample::select(SortKey::ALL.to_vec()))
        .prop_map(|(reverse, key)| SortCriterion { reverse, key });
    (
        any::<bool>(),
        search_returns(),
        prop::collection::vec(criterion, 1..4),
        charset(),
        prop::collection::vec(search_key(), 1..3),
    )
        .prop_map(|(uid, returns, criteria, charset, search)| SortCommand {
            uid,
            returns,
            criteria,
            charset,
            search,
        })
}

/// THREAD and UID THREAD (RFC 5256).
pub fn thread() -> impl Strategy<Value = ThreadCommand> {
    (
        any::<bool>(),
        prop::sample::select(vec![
            ThreadAlgorithm::OrderedSubject,
            ThreadAlgorithm::References,
        ]),
        charset(),
        prop::collection::vec(search_key(), 1..3),
    )
        .prop_map(|(uid, algorithm, charset, search)| ThreadCommand {
            uid,
            algorithm,
            charset,
            search,
        })
}

/// `search-key`, nested through `NOT`, `OR` and parenthesised lists.
pub fn search_key() -> impl Strategy<Value = SearchKey> {
    use SearchKey as K;
    let leaf = Union::new(vec![
        prop::sample::select(vec![
            K::All,
            K::Answered,
            K::Deleted,
            K::Draft,
            K::Flagged,
            K::New,
            K::Old,
            K::Recent,
            K::Seen,
            K::Unanswered,
            K::Undeleted,
            K::Undraft,
            K::Unflagged,
            K::Unseen,
        ])
        .boxed(),
        (0u8..7, bytes_no_nul())
            .prop_map(|(which, v)| match which {
                0 => K::Bcc(v),
                1 => K::Body(v),
                2 => K::Cc(v),
                3 => K::From(v),
                4 => K::Subject(v),
                5 => K::Text(v),
                _ => K::To(v),
            })
            .boxed(),
        (bytes_no_nul(), bytes_no_nul())
            .prop_map(|(name, value)| K::Header(name, value))
            .boxed(),
        (0u8..6, date())
            .prop_map(|(which, d)| match which {
                0 => K::Before(d),
                1 => K::On(d),
                2 => K::Since(d),
                3 => K::SentBefore(d),
                4 => K::SentOn(d),
                _ => K::SentSince(d),
            })
            .boxed(),
        (any::<bool>(), atom())
            .prop_map(|(un, a)| if un { K::Unkeyword(a) } else { K::Keyword(a) })
            .boxed(),
        // `"LARGER" SP number64`.
        (any::<bool>(), number64())
            .prop_map(|(l, n)| if l { K::Larger(n) } else { K::Smaller(n) })
            .boxed(),
        // `( "OLDER" / "YOUNGER" ) SP nz-number` (RFC 5032).
        (any::<bool>(), 1..=u32::MAX)
            .prop_map(|(o, n)| if o { K::Older(n) } else { K::Younger(n) })
            .boxed(),
        sequence_set().prop_map(K::Uid).boxed(),
        sequence_set().prop_map(K::SequenceSet).boxed(),
        modseq_key().boxed(),
        (any::<bool>(), object_id())
            .prop_map(|(e, id)| if e { K::EmailId(id) } else { K::ThreadId(id) })
            .boxed(),
    ]);
    // Restriction: a parenthesised list holds at least one key
    // (`"(" search-key *(SP search-key) ")"`).
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| K::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| K::Or(Box::new(a), Box::new(b))),
            prop::collection::vec(inner, 1..4).prop_map(K::And),
        ]
    })
}

/// `MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer` (RFC 7162 section 3.1.5).
///
/// Restrictions: `entry-name = DQUOTE "/flags/" attr-flag DQUOTE`, so the name is
/// `/flags/` followed by a system flag (`\Seen`, with its backslash) or a keyword; the value
/// is at most 2^63 - 1.
fn modseq_key() -> impl Strategy<Value = SearchKey> {
    let attr_flag = prop_oneof![
        prop::sample::select(vec![
            "\\Answered",
            "\\Flagged",
            "\\Deleted",
            "\\Seen",
            "\\Draft",
            "\\draft",
        ])
        .prop_map(str::to_string),
        atom().prop_map(|a| a.to_string()),
    ];
    let entry_type =
        prop::sample::select(vec![EntryType::Private, EntryType::Shared, EntryType::All]);
    (prop::option::of((attr_flag, entry_type)), number64()).prop_map(|(entry, mod_seq)| {
        SearchKey::ModSeq {
            entry: entry.map(|(f, t)| (format!("/flags/{f}").into_bytes(), t)),
            mod_seq,
        }
    })
}

/// `section-part`: restriction, each number is an `nz-number`.
fn part() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(prop_oneof![4 => 1u32..10, 1 => 1u32..=u32::MAX], 0..4)
}

/// Restriction: `partial = "<" number64 "." nz-number64 ">"`, the length non-zero.
fn partial() -> impl Strategy<Value = Option<Partial>> {
    prop::option::of(
        (any::<u32>(), 1u32..=u32::MAX).prop_map(|(offset, length)| Partial { offset, length }),
    )
}

/// Header field names as clients write them, and odd ones (any `astring`).
fn header_names() -> impl Strategy<Value = Vec<Vec<u8>>> {
    // Restriction: `header-list = "(" header-fld-name *(SP header-fld-name) ")"`, at least
    // one name.
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec![
                "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To",
                "References", "X-Priority", "Content-Type", "list-unsubscribe",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            1 => bytes_no_nul(),
        ],
        1..5,
    )
}

/// `section`. Restriction: `MIME` only after a part number (`section-text` vs
/// `section-msgtext`).
fn section() -> impl Strategy<Value = Section> {
    let text = prop::option::of(prop_oneof![
        Just(SectionText::Header),
        Just(SectionText::Text),
        Just(SectionText::Mime),
        header_names().prop_map(SectionText::HeaderFields),
        header_names().prop_map(SectionText::HeaderFieldsNot),
    ]);
    (part(), text)
        .prop_filter("MIME without a part", |(part, text)| {
            !(part.is_empty() && text == &Some(SectionText::Mime))
        })
        .prop_map(|(part, text)| Section { part, text })
}

fn fetch_attribute() -> impl Strategy<Value = FetchAttribute> {
    use FetchAttribute as A;
    prop_oneof![
        3 => prop::sample::select(vec![
            A::Envelope,
            A::Flags,
            A::InternalDate,
            A::Rfc822Size,
            A::Body,
            A::BodyStructure,
            A::Uid,
            A::ModSeq,
            A::EmailId,
            A::ThreadId,
            A::Rfc822,
            A::Rfc822Header,
            A::Rfc822Text,
            A::Preview { lazy: false },
            A::Preview { lazy: true },
        ]),
        3 => (any::<bool>(), section(), partial())
            .prop_map(|(peek, section, partial)| A::BodySection { peek, section, partial }),
        1 => (any::<bool>(), part(), partial())
            .prop_map(|(peek, part, partial)| A::Binary { peek, part, partial }),
        1 => part().prop_map(|part| A::BinarySize { part }),
    ]
}

/// FETCH and UID FETCH: macros, single items, lists, CHANGEDSINCE and VANISHED.
///
/// Restrictions: a list holds at least one item; `CHANGEDSINCE` is a `mod-sequence-value`
/// (at most 2^63 - 1); `VANISHED` only with `UID FETCH` and `CHANGEDSINCE` (RFC 7162
/// section 3.2.6).
fn fetch() -> impl Strategy<Value = CommandBody> {
    let items = prop_oneof![
        1 => prop::sample::select(vec![FetchItems::All, FetchItems::Fast, FetchItems::Full]),
        4 => prop::collection::vec(fetch_attribute(), 1..5).prop_map(FetchItems::List),
    ];
    (
        any::<bool>(),
        sequence_set(),
        items,
        prop::option::of(number64()),
        any::<bool>(),
    )
        .prop_map(
            |(uid, set, items, changed_since, vanished)| CommandBody::Fetch {
                uid,
                set,
                items,
                modifiers: FetchModifiers {
                    changed_since,
                    vanished: vanished && uid && changed_since.is_some(),
                },
            },
        )
}

/// STORE and UID STORE with UNCHANGEDSINCE, every action, `.SILENT`, empty flag lists.
///
/// Restriction: `UNCHANGEDSINCE` is a `mod-sequence-valzer` (at most 2^63 - 1).
fn store() -> impl Strategy<Value = CommandBody> {
    (
        any::<bool>(),
        sequence_set(),
        prop::option::of(number64()),
        prop::sample::select(vec![
            StoreAction::Replace,
            StoreAction::Add,
            StoreAction::Remove,
        ]),
        any::<bool>(),
        flags(),
    )
        .prop_map(
            |(uid, set, unchanged_since, action, silent, flags)| CommandBody::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            },
        )
}
