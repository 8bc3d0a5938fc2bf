//! Command parser unit tests: error reasons and grammar corners (RFC 9051 section 9).

use bytes::Bytes;

use super::command;
use crate::decode::DecodeErrorKind;
use crate::limits::Limits;
use crate::types::*;

fn parse(wire: &str) -> Result<Command, crate::decode::DecodeError> {
    command(&Bytes::copy_from_slice(wire.as_bytes()), &Limits::default())
}

fn reason(wire: &str) -> String {
    parse(wire).unwrap_err().reason
}

#[test]
fn reasons_say_what_was_expected() {
    assert_eq!(reason("a RENAME x\r\n"), "expected SP after mailbox name");
    assert_eq!(reason("a SELECT \"abc\r\n"), "unterminated quoted string");
    assert_eq!(reason("a SELECT (x\r\n"), "expected mailbox name");
    assert_eq!(
        reason("a LOGIN \"u\" \"p\r\n"),
        "unterminated quoted string"
    );
    assert_eq!(
        reason("a NOOP x\r\n"),
        "unexpected characters after command"
    );
    assert_eq!(reason("a XPIG-LATIN\r\n"), "unknown command");
    assert_eq!(reason("a\r\n"), "expected SP after tag");
    assert_eq!(reason("+ NOOP\r\n"), "expected tag");
}

#[test]
fn errors_carry_the_tag_when_read() {
    let e = parse("A7 FETCH 1 (FLAGS\r\n").unwrap_err();
    assert_eq!(e.tag, Some(Tag::new("A7").unwrap()));
    assert_eq!(e.kind, DecodeErrorKind::Syntax);
    assert_eq!(parse("(x NOOP\r\n").unwrap_err().tag, None);
}

#[test]
fn nesting_maps_to_too_complex() {
    let wire = format!("a SEARCH {}ALL{}\r\n", "(".repeat(40), ")".repeat(40));
    assert_eq!(parse(&wire).unwrap_err().kind, DecodeErrorKind::TooComplex);
    let wire = format!("a SEARCH {}ALL{}\r\n", "(".repeat(20), ")".repeat(20));
    assert!(parse(&wire).is_ok());
}

#[test]
fn section_parts_and_texts() {
    let c = parse("a FETCH 1 (BODY[1.2.3] BODY[4.TEXT] BODY.PEEK[2.MIME]<5.6>)\r\n").unwrap();
    let CommandBody::Fetch { items, .. } = c.body else {
        panic!()
    };
    let FetchItems::List(items) = items else {
        panic!()
    };
    assert_eq!(
        items,
        vec![
            FetchAttribute::BodySection {
                peek: false,
                section: Section {
                    part: vec![1, 2, 3],
                    text: None
                },
                partial: None
            },
            FetchAttribute::BodySection {
                peek: false,
                section: Section {
                    part: vec![4],
                    text: Some(SectionText::Text)
                },
                partial: None
            },
            FetchAttribute::BodySection {
                peek: true,
                section: Section {
                    part: vec![2],
                    text: Some(SectionText::Mime)
                },
                partial: Some(Partial {
                    offset: 5,
                    length: 6
                })
            },
        ]
    );
    assert!(parse("a FETCH 1 BODY[1.]\r\n").is_err());
    assert!(parse("a FETCH 1 BODY[]<1.0>\r\n").is_err());
    assert!(parse("a FETCH 1 BODY[]<4294967296.1>\r\n").is_err());
}

#[test]
fn store_forms() {
    let c = parse("a STORE 1 -FLAGS \\Seen $x\r\n").unwrap();
    assert_eq!(
        c.body,
        CommandBody::Store {
            uid: false,
            set: SequenceSet::Ranges(vec![SeqRange::single(SeqBound::Value(1))]),
            unchanged_since: None,
            action: StoreAction::Remove,
            silent: false,
            flags: vec![Flag::Seen, Flag::Keyword(Atom::new("$x").unwrap())],
        }
    );
    assert!(parse("a STORE 1 *FLAGS (\\Seen)\r\n").is_err());
    assert!(parse("a STORE 1 (UNCHANGEDSINCE x) FLAGS ()\r\n").is_err());
}

#[test]
fn qresync_without_known_uids_but_with_seq_match() {
    let c = parse("a SELECT INBOX (QRESYNC (1 2 (1:2 5:6)) CONDSTORE)\r\n").unwrap();
    let CommandBody::Select { params, .. } = c.body else {
        panic!()
    };
    assert!(params.condstore);
    let q = params.qresync.unwrap();
    assert_eq!((q.uid_validity, q.mod_seq, q.known_uids), (1, 2, None));
    assert!(q.seq_match.is_some());
}

#[test]
fn search_modseq_entry_must_be_a_flag_entry() {
    assert!(parse("a SEARCH MODSEQ \"/x\" all 5\r\n").is_err());
    assert!(parse("a SEARCH MODSEQ \"/flags/\\\\seen\" bogus 5\r\n").is_err());
    assert!(parse("a SEARCH MODSEQ \"/flags/\\\\seen\" priv 5\r\n").is_ok());
}

#[test]
fn create_use_and_list_select_options() {
    let c = parse("a CREATE x (USE ())\r\n").unwrap();
    assert_eq!(
        c.body,
        CommandBody::Create {
            mailbox: MailboxName::from_wire("x"),
            special_use: vec![]
        }
    );
    assert!(parse("a CREATE x (FOO (\\Sent))\r\n").is_err());
    assert!(parse("a LIST (SPECIAL-USE RECURSIVEMATCH) \"\" *\r\n").is_ok());
    assert!(parse("a LIST (BOGUS) \"\" *\r\n").is_err());
    assert!(parse("a LIST \"\" * RETURN (BOGUS)\r\n").is_err());
}

#[test]
fn authenticate_initial_response() {
    let c = parse("a AUTHENTICATE PLAIN AGEAYg==\r\n").unwrap();
    let CommandBody::Authenticate {
        initial_response, ..
    } = c.body
    else {
        panic!()
    };
    assert_eq!(initial_response.unwrap().expose(), b"\0a\0b");
}

/// RFC 5267: CONTEXT and UPDATE return options, CANCELUPDATE with one or more quoted tags.
#[test]
fn context_return_options_and_cancelupdate() {
    use crate::types::SearchReturn;
    let c = parse("a UID SEARCH RETURN (UPDATE CONTEXT COUNT) DELETED\r\n").unwrap();
    let CommandBody::Search(s) = c.body else {
        panic!()
    };
    assert_eq!(
        s.returns.unwrap(),
        vec![
            SearchReturn::Update,
            SearchReturn::Context,
            SearchReturn::Count
        ]
    );
    let c = parse("a CANCELUPDATE \"B01\" \"x\"\r\n").unwrap();
    assert_eq!(
        c.body,
        CommandBody::CancelUpdate {
            tags: vec!["B01".into(), "x".into()]
        }
    );
    assert!(parse("a CANCELUPDATE\r\n").is_err());
    assert!(parse("a CANCELUPDATE B01\r\n").is_err());
}

/// RFC 8514 section 5: the SAVEDATE fetch attribute and the four search keys.
#[test]
fn savedate_fetch_attribute_and_search_keys() {
    use crate::types::{FetchAttribute, FetchItems, SearchKey};
    let c = parse("a FETCH 998 (SAVEDATE)\r\n").unwrap();
    let CommandBody::Fetch { items, .. } = c.body else {
        panic!()
    };
    assert_eq!(items, FetchItems::List(vec![FetchAttribute::SaveDate]));
    let c = parse("a SEARCH SAVEDON 28-Dec-2014 SAVEDBEFORE 1-Jan-2015 SAVEDSINCE 2-Jan-2015 SAVEDATESUPPORTED\r\n").unwrap();
    let CommandBody::Search(s) = c.body else {
        panic!()
    };
    assert!(matches!(
        s.criteria.as_slice(),
        [
            SearchKey::SavedOn(_),
            SearchKey::SavedBefore(_),
            SearchKey::SavedSince(_),
            SearchKey::SaveDateSupported
        ]
    ));
    assert!(parse("a SEARCH SAVEDON\r\n").is_err());
}

/// `PREVIEW` as the last FETCH item may be followed by the FETCH modifiers, which also open
/// with a parenthesis: only `(LAZY)` belongs to PREVIEW (RFC 8970 section 4).
#[test]
fn a_bare_preview_leaves_the_fetch_modifiers_alone() {
    use crate::types::{FetchAttribute, FetchItems};
    let c = parse("a FETCH 1 PREVIEW (CHANGEDSINCE 5)\r\n").unwrap();
    let CommandBody::Fetch {
        items, modifiers, ..
    } = c.body
    else {
        panic!()
    };
    assert_eq!(
        items,
        FetchItems::List(vec![FetchAttribute::Preview { lazy: false }])
    );
    assert_eq!(modifiers.changed_since, Some(5));
    let c = parse("a FETCH 1 PREVIEW (LAZY)\r\n").unwrap();
    let CommandBody::Fetch { items, .. } = c.body else {
        panic!()
    };
    assert_eq!(
        items,
        FetchItems::List(vec![FetchAttribute::Preview { lazy: true }])
    );
    assert!(parse("a FETCH 1 PREVIEW (BOGUS)\r\n").is_err());
}

#[test]
fn notify_breaking_rfc_5465_sections_5_and_6_1_is_an_error() {
    for (wire, why) in [
        (
            "a NOTIFY SET (personal (MessageNew))\r\n",
            "MessageNew and MessageExpunge must be given together",
        ),
        (
            "a NOTIFY SET (personal (MessageExpunge))\r\n",
            "MessageNew and MessageExpunge must be given together",
        ),
        (
            "a NOTIFY SET (personal (FlagChange))\r\n",
            "FlagChange and AnnotationChange need MessageNew and MessageExpunge",
        ),
        (
            "a NOTIFY SET (selected (MailboxName))\r\n",
            "MailboxName is not a message event: not allowed with SELECTED",
        ),
        (
            "a NOTIFY SET (selected NONE) (selected-delayed NONE)\r\n",
            "only one SELECTED or SELECTED-DELAYED group is allowed",
        ),
        (
            "a NOTIFY SET (inboxes (MessageNew (uid) MessageExpunge))\r\n",
            "fetch attributes of MessageNew are only allowed with SELECTED",
        ),
        // The printed example of RFC 5465 section 3.1, without its parentheses.
        (
            "b notify set status (selected MessageNew (uid) MessageExpunge)\r\n",
            "expected \"(\" to open events",
        ),
        ("a NOTIFY\r\n", "expected SP after NOTIFY"),
        ("a NOTIFY SET\r\n", "expected SP after SET"),
        ("a NOTIFY ALL\r\n", "expected SET or NONE after NOTIFY"),
    ] {
        assert_eq!(reason(wire), why, "{wire:?}");
    }
}

#[test]
fn notify_keeps_unknown_events_for_the_server_to_refuse() {
    let Ok(Command {
        body: CommandBody::Notify(NotifyCommand::Set { groups, .. }),
        ..
    }) = parse("a NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange XFoo))\r\n")
    else {
        panic!("not a NOTIFY SET")
    };
    let names: Vec<&str> = groups[0].events.iter().map(NotifyEvent::name).collect();
    assert_eq!(
        names,
        ["MessageNew", "MessageExpunge", "AnnotationChange", "XFoo"]
    );
}
