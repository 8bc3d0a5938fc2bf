//! Unit tests of the command writer: canonical forms and literal fragmentation.

use bytes::Bytes;

use super::{command_to_vec, write_command, CommandFragment, LiteralMode};
use crate::types::*;

fn cmd(body: CommandBody) -> Command {
    Command {
        tag: Tag::new("A1").unwrap(),
        body,
    }
}

fn text(body: CommandBody) -> String {
    String::from_utf8(command_to_vec(&cmd(body))).unwrap()
}

fn mbox(s: &str) -> MailboxName {
    MailboxName::from_wire(s.as_bytes())
}

fn range(a: u32, b: SeqBound) -> SeqRange {
    SeqRange {
        start: SeqBound::Value(a),
        end: b,
    }
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

#[test]
fn simple_commands() {
    assert_eq!(text(CommandBody::Capability), "A1 CAPABILITY\r\n");
    assert_eq!(text(CommandBody::Unselect), "A1 UNSELECT\r\n");
    assert_eq!(text(CommandBody::Idle), "A1 IDLE\r\n");
    assert_eq!(text(CommandBody::StartTls), "A1 STARTTLS\r\n");
    assert_eq!(
        text(CommandBody::Enable {
            capabilities: vec![Atom::new("UTF8=ACCEPT").unwrap()]
        }),
        "A1 ENABLE UTF8=ACCEPT\r\n"
    );
    assert_eq!(
        text(CommandBody::Compress {
            algorithm: Atom::new("DEFLATE").unwrap()
        }),
        "A1 COMPRESS DEFLATE\r\n"
    );
}

#[test]
fn login_and_authenticate() {
    assert_eq!(
        text(CommandBody::Login {
            username: b"fred".to_vec(),
            password: Secret::new(b"p \"w\"".to_vec()),
        }),
        "A1 LOGIN fred \"p \\\"w\\\"\"\r\n"
    );
    let auth = |ir: Option<&[u8]>| {
        text(CommandBody::Authenticate {
            mechanism: Atom::new("PLAIN").unwrap(),
            initial_response: ir.map(|r| Secret::new(r.to_vec())),
        })
    };
    assert_eq!(auth(None), "A1 AUTHENTICATE PLAIN\r\n");
    assert_eq!(auth(Some(b"")), "A1 AUTHENTICATE PLAIN =\r\n");
    assert_eq!(auth(Some(b"\0u\0p")), "A1 AUTHENTICATE PLAIN AHUAcA==\r\n");
}

#[test]
fn literals_split_into_fragments() {
    let login = cmd(CommandBody::Login {
        username: b"fred".to_vec(),
        password: Secret::new(b"a\r\nb".to_vec()),
    });
    assert_eq!(
        write_command(&login, LiteralMode::Sync),
        vec![
            CommandFragment::Line(b"A1 LOGIN fred {4}\r\n".to_vec()),
            CommandFragment::Literal(Bytes::from_static(b"a\r\nb")),
            CommandFragment::Line(b"\r\n".to_vec()),
        ]
    );
    assert_eq!(
        command_to_vec(&login),
        b"A1 LOGIN fred {4+}\r\na\r\nb\r\n".to_vec()
    );
}

#[test]
fn multiappend_with_flags_dates_binary_and_utf8() {
    let dt = DateTime::new(date(1994, 2, 7), 21, 52, 25, -480).unwrap();
    let msg = |data: &'static [u8], binary, utf8, flags: Vec<Flag>, date| AppendMessage {
        flags,
        date,
        data: Bytes::from_static(data),
        binary,
        utf8,
    };
    let append = cmd(CommandBody::Append {
        mailbox: mbox("saved-messages"),
        messages: vec![
            msg(b"hello", false, false, vec![Flag::Seen], Some(dt)),
            msg(b"a\0b", true, false, vec![], None),
            msg(b"caf\xc3\xa9", false, true, vec![], None),
        ],
    });
    let frags = write_command(&append, LiteralMode::Sync);
    assert_eq!(
        frags,
        vec![
            CommandFragment::Line(
                b"A1 APPEND saved-messages (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\n"
                    .to_vec()
            ),
            CommandFragment::Literal(Bytes::from_static(b"hello")),
            CommandFragment::Line(b" ~{3}\r\n".to_vec()),
            CommandFragment::Literal(Bytes::from_static(b"a\0b")),
            CommandFragment::Line(b" UTF8 (~{5}\r\n".to_vec()),
            CommandFragment::Literal(Bytes::from_static(b"caf\xc3\xa9")),
            CommandFragment::Line(b")\r\n".to_vec()),
        ]
    );
}

#[test]
fn select_with_condstore_and_qresync() {
    let params = SelectParams {
        condstore: true,
        qresync: Some(QResync {
            uid_validity: 67890007,
            mod_seq: 20050715194045000,
            known_uids: Some(SequenceSet::Ranges(vec![range(41, SeqBound::Value(211))])),
            seq_match: Some((
                SequenceSet::Ranges(vec![SeqRange::single(SeqBound::Value(1))]),
                SequenceSet::Ranges(vec![SeqRange::single(SeqBound::Value(41))]),
            )),
        }),
    };
    assert_eq!(
        text(CommandBody::Select {
            mailbox: mbox("inbox"),
            params
        }),
        "A1 SELECT INBOX (CONDSTORE QRESYNC (67890007 20050715194045000 41:211 (1 41)))\r\n"
    );
    assert_eq!(
        text(CommandBody::Examine {
            mailbox: mbox("a b"),
            params: SelectParams::default()
        }),
        "A1 EXAMINE \"a b\"\r\n"
    );
}

#[test]
fn list_forms() {
    let list = |selection, patterns: Vec<&str>, returns| {
        text(CommandBody::List(ListCommand {
            selection,
            reference: mbox(""),
            patterns: patterns
                .into_iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            returns,
        }))
    };
    assert_eq!(list(vec![], vec!["*"], vec![]), "A1 LIST \"\" *\r\n");
    assert_eq!(
        list(
            vec![ListSelectOption::Subscribed, ListSelectOption::RecursiveMatch],
            vec!["%", "a b"],
            vec![
                ListReturnOption::SpecialUse,
                ListReturnOption::Status(vec![StatusItem::Unseen, StatusItem::MailboxId]),
            ],
        ),
        "A1 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"a b\") RETURN (SPECIAL-USE STATUS (UNSEEN MAILBOXID))\r\n"
    );
    assert_eq!(
        text(CommandBody::Lsub {
            reference: mbox("#news."),
            pattern: b"comp.mail.*".to_vec()
        }),
        "A1 LSUB #news. comp.mail.*\r\n"
    );
    assert_eq!(
        text(CommandBody::Create {
            mailbox: mbox("MyDrafts"),
            special_use: vec![Atom::new("Drafts").unwrap()]
        }),
        "A1 CREATE MyDrafts (USE (\\Drafts))\r\n"
    );
}

#[test]
fn search_keys() {
    let search = SearchCommand {
        uid: true,
        returns: Some(vec![SearchReturn::Min, SearchReturn::Count]),
        charset: Some("UTF-8".into()),
        criteria: vec![
            SearchKey::Or(
                Box::new(SearchKey::From(b"Smith".to_vec())),
                Box::new(SearchKey::Not(Box::new(SearchKey::Subject(
                    b"a b".to_vec(),
                )))),
            ),
            SearchKey::And(vec![
                SearchKey::Since(date(1994, 2, 1)),
                SearchKey::Larger(1000),
            ]),
            SearchKey::Header(b"Message-ID".to_vec(), b"<x@y>".to_vec()),
            SearchKey::Uid(SequenceSet::Saved),
            SearchKey::SequenceSet(SequenceSet::Ranges(vec![range(1, SeqBound::Star)])),
            SearchKey::Body("ü".as_bytes().to_vec()),
            SearchKey::ModSeq {
                entry: Some((b"/flags/\\draft".to_vec(), EntryType::All)),
                mod_seq: 620162338,
            },
            SearchKey::Keyword(Atom::new("$Junk").unwrap()),
            SearchKey::EmailId("M1".into()),
            SearchKey::Undeleted,
        ],
    };
    assert_eq!(
        text(CommandBody::Search(search)),
        "A1 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR FROM Smith NOT SUBJECT \"a b\" \
         (SINCE 1-Feb-1994 LARGER 1000) HEADER Message-ID <x@y> UID $ 1:* BODY {2+}\r\nü \
         MODSEQ \"/flags/\\\\draft\" all 620162338 KEYWORD $Junk EMAILID M1 UNDELETED\r\n"
    );
    let plain = SearchCommand {
        uid: false,
        returns: Some(vec![]),
        charset: None,
        criteria: vec![SearchKey::All],
    };
    assert_eq!(
        text(CommandBody::Search(plain)),
        "A1 SEARCH RETURN () ALL\r\n"
    );
}

#[test]
fn fetch_items_sections_and_modifiers() {
    let fetch = |items, modifiers| {
        text(CommandBody::Fetch {
            uid: true,
            set: SequenceSet::Ranges(vec![range(1, SeqBound::Star)]),
            items,
            modifiers,
        })
    };
    assert_eq!(
        fetch(FetchItems::Fast, FetchModifiers::default()),
        "A1 UID FETCH 1:* FAST\r\n"
    );
    assert_eq!(
        fetch(
            FetchItems::List(vec![FetchAttribute::Flags]),
            FetchModifiers {
                changed_since: Some(12345),
                vanished: true
            }
        ),
        "A1 UID FETCH 1:* FLAGS (CHANGEDSINCE 12345 VANISHED)\r\n"
    );
    let items = FetchItems::List(vec![
        FetchAttribute::Uid,
        FetchAttribute::Rfc822Size,
        FetchAttribute::BodySection {
            peek: true,
            section: Section {
                part: vec![],
                text: Some(SectionText::HeaderFields(vec![
                    b"From".to_vec(),
                    b"To".to_vec(),
                ])),
            },
            partial: None,
        },
        FetchAttribute::BodySection {
            peek: false,
            section: Section::default(),
            partial: Some(Partial {
                offset: 0,
                length: 65536,
            }),
        },
        FetchAttribute::Binary {
            peek: true,
            part: vec![1, 2],
            partial: None,
        },
        FetchAttribute::BinarySize { part: vec![1] },
        FetchAttribute::ModSeq,
        FetchAttribute::ThreadId,
    ]);
    assert_eq!(
        fetch(items, FetchModifiers::default()),
        "A1 UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To)] BODY[]<0.65536> \
         BINARY.PEEK[1.2] BINARY.SIZE[1] MODSEQ THREADID)\r\n"
    );
}

#[test]
fn store_copy_move_expunge() {
    let set = SequenceSet::from_numbers([2, 3, 4, 9]);
    assert_eq!(
        text(CommandBody::Store {
            uid: false,
            set: set.clone(),
            unchanged_since: Some(320162338),
            action: StoreAction::Add,
            silent: true,
            flags: vec![Flag::Deleted, Flag::Keyword(Atom::new("$Junk").unwrap())],
        }),
        "A1 STORE 2:4,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted $Junk)\r\n"
    );
    assert_eq!(
        text(CommandBody::Move {
            uid: true,
            set: set.clone(),
            mailbox: mbox("Trash")
        }),
        "A1 UID MOVE 2:4,9 Trash\r\n"
    );
    assert_eq!(
        text(CommandBody::Copy {
            uid: false,
            set: set.clone(),
            mailbox: mbox("&ZeVnLIqe-")
        }),
        "A1 COPY 2:4,9 &ZeVnLIqe-\r\n"
    );
    assert_eq!(
        text(CommandBody::UidExpunge { uids: set }),
        "A1 UID EXPUNGE 2:4,9\r\n"
    );
}

#[test]
fn id_quota_status_rename() {
    assert_eq!(text(CommandBody::Id { params: None }), "A1 ID NIL\r\n");
    assert_eq!(
        text(CommandBody::Id {
            params: Some(vec![
                (b"name".to_vec(), Some(b"x".to_vec())),
                (b"os".to_vec(), None)
            ])
        }),
        "A1 ID (\"name\" \"x\" \"os\" NIL)\r\n"
    );
    assert_eq!(
        text(CommandBody::SetQuota {
            root: b"".to_vec(),
            limits: vec![(Atom::new("STORAGE").unwrap(), 512)]
        }),
        "A1 SETQUOTA \"\" (STORAGE 512)\r\n"
    );
    assert_eq!(
        text(CommandBody::GetQuotaRoot {
            mailbox: mbox("INBOX")
        }),
        "A1 GETQUOTAROOT INBOX\r\n"
    );
    assert_eq!(
        text(CommandBody::GetQuota {
            root: b"#user/alice".to_vec()
        }),
        "A1 GETQUOTA #user/alice\r\n"
    );
    assert_eq!(
        text(CommandBody::Status {
            mailbox: mbox("blurdybloop"),
            items: vec![StatusItem::UidNext, StatusItem::Messages]
        }),
        "A1 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n"
    );
    assert_eq!(
        text(CommandBody::Rename {
            from: mbox("a"),
            to: mbox("b c")
        }),
        "A1 RENAME a \"b c\"\r\n"
    );
}

/// Parses what the writer wrote: it must be the command it was given.
fn reparses(body: CommandBody) -> String {
    let c = cmd(body);
    let wire = command_to_vec(&c);
    let parsed = crate::parse::parse_command(
        Bytes::copy_from_slice(&wire),
        &crate::limits::Limits::default(),
    );
    assert_eq!(
        parsed.as_ref(),
        Ok(&c),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );
    String::from_utf8_lossy(&wire).into_owned()
}

fn search_for(charset: Option<&str>, key: SearchKey) -> CommandBody {
    CommandBody::Search(SearchCommand {
        uid: false,
        returns: None,
        charset: charset.map(str::to_string),
        criteria: vec![key],
    })
}

/// Regression (found by the round-trip property test): `KEYWORD NIL` was written
/// `KEYWORD "NIL"`, which the parser refuses, since `flag-keyword` is an atom.
#[test]
fn keyword_nil_is_written_as_an_atom() {
    for key in [
        SearchKey::Keyword(Atom::new("NIL").unwrap()),
        SearchKey::Unkeyword(Atom::new("nil").unwrap()),
    ] {
        let wire = reparses(search_for(None, key));
        assert!(!wire.contains('"'), "{wire}");
    }
}

/// Regression: `EMAILID NIL` was written `EMAILID "NIL"`; `objectid` (RFC 8474 section 7) has
/// no quoted form.
#[test]
fn object_id_nil_is_not_quoted() {
    assert_eq!(
        reparses(search_for(None, SearchKey::EmailId("NIL".into()))),
        "A1 SEARCH EMAILID NIL\r\n"
    );
    assert_eq!(
        reparses(search_for(None, SearchKey::ThreadId("nil".into()))),
        "A1 SEARCH THREADID nil\r\n"
    );
}

/// Regression: a charset that could not be an atom and was not 7-bit or was over 1000 octets
/// was written as a literal, but `charset = atom / quoted`.
#[test]
fn charset_is_an_atom_or_quoted_never_a_literal() {
    let long = "x".repeat(1200) + " y";
    for cs in ["UTF-8", "", "NIL", "a b", "Ünïcode", long.as_str()] {
        let wire = reparses(search_for(Some(cs), SearchKey::All));
        assert!(!wire.contains('{'), "{wire}");
    }
}

/// Regression: the MODSEQ entry name (`DQUOTE "/flags/" attr-flag DQUOTE`) was written as a
/// literal when it held 8-bit octets; it is always quoted.
#[test]
fn modseq_entry_name_is_always_quoted() {
    let key = SearchKey::ModSeq {
        entry: Some(("/flags/Érledigt".as_bytes().to_vec(), EntryType::Shared)),
        mod_seq: 7,
    };
    assert_eq!(
        reparses(search_for(None, key)),
        "A1 SEARCH MODSEQ \"/flags/Érledigt\" shared 7\r\n"
    );
}
