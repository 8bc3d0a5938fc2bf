//! Every client command example (`C:` lines) of RFC 9051 section 6 and of the extension RFCs
//! Roost implements, fed through [`CommandDecoder`] and compared with the typed command; then
//! streaming behaviour: byte-at-a-time input, literals, limits, garbage.
//!
//! Examples the RFCs wrap over several lines for print are joined with one SP. Each row cites
//! the section it comes from.

use bytes::{Bytes, BytesMut};
use roost_proto::*;

// --- helpers -----------------------------------------------------------------------------

fn mb(s: &str) -> MailboxName {
    MailboxName::from_wire(s.as_bytes())
}

fn atom(s: &str) -> Atom {
    Atom::new(s).unwrap()
}

fn kw(s: &str) -> Flag {
    Flag::Keyword(atom(s))
}

/// A sequence set written as in the RFC; parsed here independently of the crate's parser.
fn set(s: &str) -> SequenceSet {
    if s == "$" {
        return SequenceSet::Saved;
    }
    let bound = |b: &str| {
        if b == "*" {
            SeqBound::Star
        } else {
            SeqBound::Value(b.parse().unwrap())
        }
    };
    SequenceSet::Ranges(
        s.split(',')
            .map(|r| match r.split_once(':') {
                Some((a, b)) => SeqRange {
                    start: bound(a),
                    end: bound(b),
                },
                None => SeqRange::single(bound(r)),
            })
            .collect(),
    )
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn list(
    sel: Vec<ListSelectOption>,
    r: &str,
    pats: &[&str],
    ret: Vec<ListReturnOption>,
) -> CommandBody {
    CommandBody::List(ListCommand {
        selection: sel,
        reference: mb(r),
        patterns: pats.iter().map(|p| b(p)).collect(),
        returns: ret,
    })
}

fn search(
    uid: bool,
    returns: Option<Vec<SearchReturn>>,
    charset: Option<&str>,
    criteria: Vec<SearchKey>,
) -> CommandBody {
    CommandBody::Search(SearchCommand {
        uid,
        returns,
        charset: charset.map(str::to_string),
        criteria,
    })
}

fn sort(
    uid: bool,
    returns: Option<Vec<SearchReturn>>,
    criteria: &[(bool, SortKey)],
    charset: &str,
    search: Vec<SearchKey>,
) -> CommandBody {
    CommandBody::Sort(SortCommand {
        uid,
        returns,
        criteria: criteria
            .iter()
            .map(|&(reverse, key)| SortCriterion { reverse, key })
            .collect(),
        charset: charset.into(),
        search,
    })
}

fn thread(algorithm: ThreadAlgorithm, charset: &str, search: Vec<SearchKey>) -> CommandBody {
    CommandBody::Thread(ThreadCommand {
        uid: false,
        algorithm,
        charset: charset.into(),
        search,
    })
}

fn fetch(uid: bool, s: &str, items: FetchItems) -> CommandBody {
    CommandBody::Fetch {
        uid,
        set: set(s),
        items,
        modifiers: FetchModifiers::default(),
    }
}

fn store(
    uid: bool,
    s: &str,
    unchanged_since: Option<u64>,
    action: StoreAction,
    silent: bool,
    flags: Vec<Flag>,
) -> CommandBody {
    CommandBody::Store {
        uid,
        set: set(s),
        unchanged_since,
        action,
        silent,
        flags,
    }
}

fn qresync(v: u32, m: u64, known: Option<&str>, seq_match: Option<(&str, &str)>) -> CommandBody {
    CommandBody::Select {
        mailbox: mb("INBOX"),
        params: SelectParams {
            condstore: false,
            qresync: Some(QResync {
                uid_validity: v,
                mod_seq: m,
                known_uids: known.map(set),
                seq_match: seq_match.map(|(a, b)| (set(a), set(b))),
            }),
        },
    }
}

fn not_from(s: &str) -> SearchKey {
    SearchKey::Not(Box::new(SearchKey::From(b(s))))
}

/// Decodes exactly one command from `wire` (answering literal announcements), with nothing
/// left over.
fn decode_one(wire: &[u8]) -> Result<Command, DecodeError> {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(wire);
    loop {
        match d.decode(&mut buf) {
            Decoded::LiteralAnnounced { .. } => continue,
            Decoded::Command(c) => {
                assert!(buf.is_empty(), "bytes left after {wire:?}: {buf:?}");
                return Ok(c);
            }
            Decoded::Error(e) => return Err(e),
            Decoded::Incomplete => panic!("incomplete: {:?}", String::from_utf8_lossy(wire)),
        }
    }
}

fn append_example(len_line: &str, body: &str) -> Vec<u8> {
    let mut v = len_line.as_bytes().to_vec();
    v.extend_from_slice(body.as_bytes());
    v.extend_from_slice(b"\r\n");
    v
}

const APPEND_BODY_326: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

const APPEND_BODY_297: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@example.com>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@example.com\r\n\
Message-Id: <B27397-0100000@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

fn append_seen(body: &str) -> CommandBody {
    CommandBody::Append {
        mailbox: mb("saved-messages"),
        messages: vec![AppendMessage {
            flags: vec![Flag::Seen],
            date: None,
            data: Bytes::copy_from_slice(body.as_bytes()),
            binary: false,
            utf8: false,
        }],
    }
}

// --- the table ----------------------------------------------------------------------------

fn rows() -> Vec<(&'static str, Vec<u8>, Command)> {
    use CommandBody as C;
    use FetchAttribute as A;
    use ListReturnOption as R;
    use ListSelectOption as S;
    use SearchKey as K;
    use SearchReturn as SR;
    let mut rows: Vec<(&'static str, Vec<u8>, Command)> = Vec::new();
    let mut add = |section: &'static str, wire: &[u8], body: CommandBody| {
        let tag_end = wire.iter().position(|&c| c == b' ').unwrap();
        let tag = Tag::new(std::str::from_utf8(&wire[..tag_end]).unwrap()).unwrap();
        rows.push((section, wire.to_vec(), Command { tag, body }));
    };
    let simple_list = |r: &str, p: &str| list(vec![], r, &[p], vec![]);

    // RFC 9051 section 6.1 any state
    for (t, w) in [
        ("a441", "CAPABILITY"),
        ("abcd", "CAPABILITY"),
        ("a002", "NOOP"),
        ("a047", "NOOP"),
        ("A023", "LOGOUT"),
    ] {
        add(
            "9051 6.1",
            format!("{t} {w}\r\n").as_bytes(),
            match w {
                "CAPABILITY" => C::Capability,
                "NOOP" => C::Noop,
                _ => C::Logout,
            },
        );
    }
    // 6.2.1 STARTTLS
    add("9051 6.2.1", b"a002 STARTTLS\r\n", C::StartTls);
    add("9051 6.2.1", b"a003 CAPABILITY\r\n", C::Capability);
    add(
        "9051 6.2.1",
        b"a004 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
        C::Authenticate {
            mechanism: atom("PLAIN"),
            initial_response: Some(Secret::new(b("test\0test\0test"))),
        },
    );
    // 6.2.2 AUTHENTICATE
    add(
        "9051 6.2.2",
        b"A001 AUTHENTICATE GSSAPI\r\n",
        C::Authenticate {
            mechanism: atom("GSSAPI"),
            initial_response: None,
        },
    );
    add(
        "9051 6.2.2",
        b"A01 AUTHENTICATE PLAIN\r\n",
        C::Authenticate {
            mechanism: atom("PLAIN"),
            initial_response: None,
        },
    );
    add(
        "9051 6.2.2",
        b"A01 AUTHENTICATE EXTERNAL =\r\n",
        C::Authenticate {
            mechanism: atom("EXTERNAL"),
            initial_response: Some(Secret::new(vec![])),
        },
    );
    // 6.2.3 LOGIN
    add(
        "9051 6.2.3",
        b"a001 LOGIN SMITH SESAME\r\n",
        C::Login {
            username: b("SMITH"),
            password: Secret::new(b("SESAME")),
        },
    );
    // 6.3.1 ENABLE
    add(
        "9051 6.3.1",
        b"t2 ENABLE CONDSTORE X-GOOD-IDEA\r\n",
        C::Enable {
            capabilities: vec![atom("CONDSTORE"), atom("X-GOOD-IDEA")],
        },
    );
    add(
        "9051 6.3.1",
        b"a1 ENABLE CONDSTORE\r\n",
        C::Enable {
            capabilities: vec![atom("CONDSTORE")],
        },
    );
    // 6.3.2 SELECT, 6.3.3 EXAMINE
    add(
        "9051 6.3.2",
        b"A142 SELECT INBOX\r\n",
        C::Select {
            mailbox: mb("INBOX"),
            params: SelectParams::default(),
        },
    );
    add(
        "9051 6.3.3",
        b"A932 EXAMINE blurdybloop\r\n",
        C::Examine {
            mailbox: mb("blurdybloop"),
            params: SelectParams::default(),
        },
    );
    // 6.3.4 CREATE
    add(
        "9051 6.3.4",
        b"A003 CREATE owatagusiam/\r\n",
        C::Create {
            mailbox: mb("owatagusiam/"),
            special_use: vec![],
        },
    );
    add(
        "9051 6.3.4",
        b"A004 CREATE owatagusiam/blurdybloop\r\n",
        C::Create {
            mailbox: mb("owatagusiam/blurdybloop"),
            special_use: vec![],
        },
    );
    add(
        "9051 6.3.4",
        b"A004 CREATE \"Sent Mail\"\r\n",
        C::Create {
            mailbox: mb("Sent Mail"),
            special_use: vec![],
        },
    );
    add(
        "9051 6.3.4",
        b"A005 CREATE \"Delete Items\"\r\n",
        C::Create {
            mailbox: mb("Delete Items"),
            special_use: vec![],
        },
    );
    add(
        "9051 6.3.4",
        b"A006 CREATE \"#mh/Deleted Items\"\r\n",
        C::Create {
            mailbox: mb("#mh/Deleted Items"),
            special_use: vec![],
        },
    );
    add(
        "9051 6.3.4",
        b"A005 CREATE NonNormalized\r\n",
        C::Create {
            mailbox: mb("NonNormalized"),
            special_use: vec![],
        },
    );
    add(
        "9051 6.3.4",
        b"A002 CREATE \"INBOX.Sent Mail\"\r\n",
        C::Create {
            mailbox: mb("INBOX.Sent Mail"),
            special_use: vec![],
        },
    );
    // 6.3.5 DELETE
    for (t, m) in [
        ("A683", "blurdybloop"),
        ("A684", "foo"),
        ("A685", "foo/bar"),
        ("A687", "foo"),
        ("A83", "blurdybloop"),
        ("A84", "foo"),
    ] {
        add(
            "9051 6.3.5",
            format!("{t} DELETE {m}\r\n").as_bytes(),
            C::Delete { mailbox: mb(m) },
        );
    }
    // 6.3.6 RENAME
    add(
        "9051 6.3.6",
        b"A683 RENAME blurdybloop sarasoop\r\n",
        C::Rename {
            from: mb("blurdybloop"),
            to: mb("sarasoop"),
        },
    );
    add(
        "9051 6.3.6",
        b"A684 RENAME foo zowie\r\n",
        C::Rename {
            from: mb("foo"),
            to: mb("zowie"),
        },
    );
    add(
        "9051 6.3.6",
        b"Z433 RENAME INBOX old-mail\r\n",
        C::Rename {
            from: mb("INBOX"),
            to: mb("old-mail"),
        },
    );
    add(
        "9051 6.3.6",
        b"1001 RENAME X Y\r\n",
        C::Rename {
            from: mb("X"),
            to: mb("Y"),
        },
    );
    // 6.3.7/6.3.8 SUBSCRIBE, UNSUBSCRIBE
    add(
        "9051 6.3.7",
        b"A002 SUBSCRIBE #news.comp.mail.mime\r\n",
        C::Subscribe {
            mailbox: mb("#news.comp.mail.mime"),
        },
    );
    add(
        "9051 6.3.8",
        b"A002 UNSUBSCRIBE #news.comp.mail.mime\r\n",
        C::Unsubscribe {
            mailbox: mb("#news.comp.mail.mime"),
        },
    );
    add(
        "9051 6.3.6",
        b"1002 SUBSCRIBE Y\r\n",
        C::Subscribe { mailbox: mb("Y") },
    );
    add(
        "9051 6.3.6",
        b"1003 UNSUBSCRIBE X\r\n",
        C::Unsubscribe { mailbox: mb("X") },
    );
    // 6.3.9 LIST
    add(
        "9051 6.3.9",
        b"A101 LIST \"\" \"\"\r\n",
        simple_list("", ""),
    );
    add(
        "9051 6.3.9",
        b"A102 LIST #news.comp.mail.misc \"\"\r\n",
        simple_list("#news.comp.mail.misc", ""),
    );
    add(
        "9051 6.3.9",
        b"A103 LIST /usr/staff/jones \"\"\r\n",
        simple_list("/usr/staff/jones", ""),
    );
    add(
        "9051 6.3.9",
        b"A202 LIST ~/Mail/ %\r\n",
        simple_list("~/Mail/", "%"),
    );
    for t in ["A682", "A685", "A686", "A82", "A85", "Z432", "Z434"] {
        add(
            "9051 6.3.5",
            format!("{t} LIST \"\" *\r\n").as_bytes(),
            simple_list("", "*"),
        );
    }
    add("9051 6.3.5", b"A86 LIST \"\" %\r\n", simple_list("", "%"));
    for t in ["A01", "C01", "D01"] {
        add(
            "9051 6.3.9.8",
            format!("{t} LIST \"\" \"*\"\r\n").as_bytes(),
            simple_list("", "*"),
        );
    }
    for t in ["A02", "C02", "D02"] {
        add(
            "9051 6.3.9.8",
            format!("{t} LIST (SUBSCRIBED) \"\" \"*\"\r\n").as_bytes(),
            list(vec![S::Subscribed], "", &["*"], vec![]),
        );
    }
    add(
        "9051 6.3.9.8",
        b"A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
        list(vec![], "", &["%"], vec![R::Children]),
    );
    add(
        "9051 6.3.9.8",
        b"A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)\r\n",
        list(vec![S::Remote], "", &["%"], vec![R::Children]),
    );
    add(
        "9051 6.3.9.8",
        b"A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\"\r\n",
        list(vec![S::Remote, S::Subscribed], "", &["*"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"A06 LIST (REMOTE) \"\" \"*\" RETURN (SUBSCRIBED)\r\n",
        list(vec![S::Remote], "", &["*"], vec![R::Subscribed]),
    );
    add(
        "9051 6.3.9.8",
        b"C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n",
        list(vec![S::Subscribed, S::RecursiveMatch], "", &["%"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)\r\n",
        list(
            vec![S::Subscribed, S::RecursiveMatch],
            "",
            &["%"],
            vec![R::Children],
        ),
    );
    add(
        "9051 6.3.9.8",
        b"CA3 LIST \"\" \"%\" RETURN (CHILDREN)\r\n",
        list(vec![], "", &["%"], vec![R::Children]),
    );
    add(
        "9051 6.3.9.8",
        b"D03 LIST (RECURSIVEMATCH SUBSCRIBED) \"\" \"*\"\r\n",
        list(vec![S::RecursiveMatch, S::Subscribed], "", &["*"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"D03 LIST (RECURSIVEMATCH SUBSCRIBED) \"\" \"*2\"\r\n",
        list(vec![S::RecursiveMatch, S::Subscribed], "", &["*2"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"a1 LIST \"\" (\"foo\")\r\n",
        list(vec![], "", &["foo"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"a1 LIST (REMOTE) \"\" *\r\n",
        list(vec![S::Remote], "", &["*"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"a2 LIST () \"\" %\r\n",
        list(vec![], "", &["%"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"a2 LIST (SUBSCRIBED) \"\" \"foo/*\"\r\n",
        list(vec![S::Subscribed], "", &["foo/*"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"a3 LIST (REMOTE) \"\" %\r\n",
        list(vec![S::Remote], "", &["%"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"a3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" foo RETURN (CHILDREN)\r\n",
        list(
            vec![S::Subscribed, S::RecursiveMatch],
            "",
            &["foo"],
            vec![R::Children],
        ),
    );
    add(
        "9051 6.3.9.8",
        b"a3.1 LIST \"\" (% music/rock)\r\n",
        list(vec![], "", &["%", "music/rock"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n",
        list(
            vec![],
            "",
            &["%"],
            vec![R::Status(vec![StatusItem::Messages, StatusItem::Unseen])],
        ),
    );
    add(
        "9051 6.3.9.8",
        b"A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES))\r\n",
        list(
            vec![S::Subscribed, S::RecursiveMatch],
            "",
            &["%"],
            vec![R::Status(vec![StatusItem::Messages])],
        ),
    );
    add(
        "9051 6.3.9.8",
        b"A002 LIST (SPECIAL-USE) \"\" \"*\"\r\n",
        list(vec![S::SpecialUse], "", &["*"], vec![]),
    );
    add(
        "9051 6.3.9.8",
        b"A003 LIST (SPECIAL-USE) \"#mh/\" \"*\"\r\n",
        list(vec![S::SpecialUse], "#mh/", &["*"], vec![]),
    );
    // 6.3.10 NAMESPACE
    add("9051 6.3.10", b"A001 NAMESPACE\r\n", C::Namespace);
    add(
        "9051 6.3.10",
        b"A002 LIST \"\" \"#Users/%\"\r\n",
        simple_list("", "#Users/%"),
    );
    add(
        "9051 6.3.10",
        b"A002 LIST \"\" \"Other Users/%\"\r\n",
        simple_list("", "Other Users/%"),
    );
    add(
        "9051 6.3.10",
        b"A002 LIST \"\" \"~mark/%\"\r\n",
        simple_list("", "~mark/%"),
    );
    add(
        "9051 6.3.10",
        b"A003 LIST \"\" \"#Users/Mike/%\"\r\n",
        simple_list("", "#Users/Mike/%"),
    );
    // 6.3.11 STATUS
    add(
        "9051 6.3.11",
        b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
        C::Status {
            mailbox: mb("blurdybloop"),
            items: vec![StatusItem::UidNext, StatusItem::Messages],
        },
    );
    // 6.3.12 APPEND
    add(
        "9051 6.3.12",
        &append_example(
            &format!(
                "A003 APPEND saved-messages (\\Seen) {{{}}}\r\n",
                APPEND_BODY_326.len()
            ),
            APPEND_BODY_326,
        ),
        append_seen(APPEND_BODY_326),
    );
    add(
        "9051 6.3.12",
        &append_example(
            &format!(
                "A003 APPEND saved-messages (\\Seen) {{{}+}}\r\n",
                APPEND_BODY_297.len()
            ),
            APPEND_BODY_297,
        ),
        append_seen(APPEND_BODY_297),
    );
    // 6.3.13 IDLE
    add("9051 6.3.13", b"A002 IDLE\r\n", C::Idle);
    add("9051 6.3.13", b"A004 IDLE\r\n", C::Idle);
    // 6.4.1-6.4.3
    add("9051 6.4.1", b"A341 CLOSE\r\n", C::Close);
    add("9051 6.4.2", b"A342 UNSELECT\r\n", C::Unselect);
    add("8437 3", b"a1 UNAUTHENTICATE\r\n", C::Unauthenticate);
    add("9051 6.4.3", b"A202 EXPUNGE\r\n", C::Expunge);
    // 6.4.4 SEARCH
    add(
        "9051 6.4.4",
        b"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        search(
            false,
            Some(vec![SR::Min, SR::Count]),
            None,
            vec![K::Flagged, K::Since(date(1994, 2, 1)), not_from("Smith")],
        ),
    );
    add(
        "9051 6.4.4",
        b"A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        search(
            false,
            Some(vec![]),
            None,
            vec![K::Flagged, K::Since(date(1994, 2, 1)), not_from("Smith")],
        ),
    );
    add(
        "9051 6.4.4",
        b"A284 SEARCH TEXT \"string not in mailbox\"\r\n",
        search(false, None, None, vec![K::Text(b("string not in mailbox"))]),
    );
    add(
        "9051 6.4.4",
        "A285 SEARCH CHARSET UTF-8 TEXT {12}\r\nотпуск\r\n".as_bytes(),
        search(false, None, Some("UTF-8"), vec![K::Text(b("отпуск"))]),
    );
    add(
        "9051 6.4.4",
        b"A284 SEARCH RETURN (MIN) UNSEEN\r\n",
        search(false, Some(vec![SR::Min]), None, vec![K::Unseen]),
    );
    add(
        "9051 6.4.4",
        b"A285 UID SEARCH RETURN (MIN MAX) 1:5000\r\n",
        search(
            true,
            Some(vec![SR::Min, SR::Max]),
            None,
            vec![K::SequenceSet(set("1:5000"))],
        ),
    );
    add(
        "9051 6.4.4",
        b"A286 SEARCH RETURN (COUNT) DELETED\r\n",
        search(false, Some(vec![SR::Count]), None, vec![K::Deleted]),
    );
    // 6.4.4.4 SAVE examples
    add(
        "9051 6.4.4.4",
        b"A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        search(
            false,
            Some(vec![SR::Save]),
            None,
            vec![K::Flagged, K::Since(date(1994, 2, 1)), not_from("Smith")],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"A283 FETCH $ (UID INTERNALDATE FLAGS BODY.PEEK[HEADER])\r\n",
        fetch(
            false,
            "$",
            FetchItems::List(vec![
                A::Uid,
                A::InternalDate,
                A::Flags,
                A::BodySection {
                    peek: true,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::Header),
                    },
                    partial: None,
                },
            ]),
        ),
    );
    add(
        "9051 6.4.4.4",
        b"A300 SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM \"Smith\"\r\n",
        search(
            false,
            Some(vec![SR::Save]),
            None,
            vec![K::Since(date(2004, 1, 1)), not_from("Smith")],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"A301 UID SEARCH UID $ SMALLER 4096\r\n",
        search(true, None, None, vec![K::Uid(set("$")), K::Smaller(4096)]),
    );
    add(
        "5032 4",
        b"a1 SEARCH UNSEEN YOUNGER 259200\r\n",
        search(false, None, None, vec![K::Unseen, K::Younger(259_200)]),
    );
    add(
        "9051 6.4.4.4",
        b"A301 UID SEARCH $ SMALLER 4096\r\n",
        search(
            true,
            None,
            None,
            vec![K::SequenceSet(set("$")), K::Smaller(4096)],
        ),
    );
    let or_saved = || {
        K::And(vec![K::Or(
            Box::new(K::SequenceSet(set("$"))),
            Box::new(K::SequenceSet(set("1,3000:3021"))),
        )])
    };
    add(
        "9051 6.4.4.4",
        "P283 SEARCH CHARSET UTF-8 (OR $ 1,3000:3021) TEXT {8+}\r\nмать\r\n".as_bytes(),
        search(
            false,
            None,
            Some("UTF-8"),
            vec![or_saved(), K::Text(b("мать"))],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"B283 SEARCH RETURN (SAVE) CHARSET KOI8-R (OR $ 1,3000:3021) TEXT {4}\r\nXXXX\r\n",
        search(
            false,
            Some(vec![SR::Save]),
            Some("KOI8-R"),
            vec![or_saved(), K::Text(b("XXXX"))],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"E282 SEARCH RETURN (SAVE) SINCE 28-Oct-2006 NOT FROM \"Eric\"\r\n",
        search(
            false,
            Some(vec![SR::Save]),
            None,
            vec![K::Since(date(2006, 10, 28)), not_from("Eric")],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"E283 COPY $ \"Other Messages\"\r\n",
        C::Copy {
            uid: false,
            set: set("$"),
            mailbox: mb("Other Messages"),
        },
    );
    add(
        "9051 6.4.4.4",
        b"F282 SEARCH RETURN (SAVE) KEYWORD $Junk\r\n",
        search(
            false,
            Some(vec![SR::Save]),
            None,
            vec![K::Keyword(atom("$Junk"))],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"F283 COPY $ \"Junk\"\r\n",
        C::Copy {
            uid: false,
            set: set("$"),
            mailbox: mb("Junk"),
        },
    );
    add(
        "9051 6.4.4.4",
        b"F284 STORE $ +FLAGS.Silent (\\Deleted)\r\n",
        store(
            false,
            "$",
            None,
            StoreAction::Add,
            true,
            vec![Flag::Deleted],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"G283 SEARCH RETURN (ALL) SINCE 28-Oct-2006 FROM \"Eric\"\r\n",
        search(
            false,
            Some(vec![SR::All]),
            None,
            vec![K::Since(date(2006, 10, 28)), K::From(b("Eric"))],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"C283 SEARCH RETURN (ALL SAVE) SINCE 12-Feb-2006 NOT FROM \"Smith\"\r\n",
        search(
            false,
            Some(vec![SR::All, SR::Save]),
            None,
            vec![K::Since(date(2006, 2, 12)), not_from("Smith")],
        ),
    );
    add(
        "9051 6.4.4.4",
        b"C286 SEARCH RETURN (MAX SAVE MIN COUNT) SINCE 12-Feb-2006 NOT FROM \"Smith\"\r\n",
        search(
            false,
            Some(vec![SR::Max, SR::Save, SR::Min, SR::Count]),
            None,
            vec![K::Since(date(2006, 2, 12)), not_from("Smith")],
        ),
    );
    // 6.4.5 FETCH
    add(
        "9051 6.4.5",
        b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
        fetch(
            false,
            "2:4",
            FetchItems::List(vec![
                A::Flags,
                A::BodySection {
                    peek: false,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFields(vec![b("DATE"), b("FROM")])),
                    },
                    partial: None,
                },
            ]),
        ),
    );
    add(
        "9051 6.4.6",
        b"A003 FETCH 4 ALL\r\n",
        fetch(false, "4", FetchItems::All),
    );
    add(
        "9051 6.4.9",
        b"A999 UID FETCH 4827313:4828442 FLAGS\r\n",
        fetch(true, "4827313:4828442", FetchItems::List(vec![A::Flags])),
    );
    // 6.4.6 STORE, 6.4.7 COPY, 6.4.8 MOVE, 6.4.9 UID
    add(
        "9051 6.4.6",
        b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
        store(
            false,
            "2:4",
            None,
            StoreAction::Add,
            false,
            vec![Flag::Deleted],
        ),
    );
    add(
        "9051 6.4.7",
        b"A003 COPY 2:4 MEETING\r\n",
        C::Copy {
            uid: false,
            set: set("2:4"),
            mailbox: mb("MEETING"),
        },
    );
    add(
        "9051 6.4.8",
        b"a UID MOVE 42:69 foo\r\n",
        C::Move {
            uid: true,
            set: set("42:69"),
            mailbox: mb("foo"),
        },
    );
    add(
        "9051 6.4.9",
        b"A003 UID EXPUNGE 3000:3002\r\n",
        C::UidExpunge {
            uids: set("3000:3002"),
        },
    );

    // RFC 4315 UIDPLUS section 4
    add(
        "4315 4",
        b"A004 COPY 2:4 meeting\r\n",
        C::Copy {
            uid: false,
            set: set("2:4"),
            mailbox: mb("meeting"),
        },
    );
    add(
        "4315 4",
        b"A005 UID COPY 305:310 meeting\r\n",
        C::Copy {
            uid: true,
            set: set("305:310"),
            mailbox: mb("meeting"),
        },
    );
    add(
        "4315 4",
        b"A006 COPY 2 funny\r\n",
        C::Copy {
            uid: false,
            set: set("2"),
            mailbox: mb("funny"),
        },
    );
    add(
        "4315 4",
        b"A007 SELECT funny\r\n",
        C::Select {
            mailbox: mb("funny"),
            params: SelectParams::default(),
        },
    );

    // RFC 7162 CONDSTORE/QRESYNC
    add(
        "7162 3.1.8",
        b"A142 SELECT INBOX (CONDSTORE)\r\n",
        C::Select {
            mailbox: mb("INBOX"),
            params: SelectParams {
                condstore: true,
                qresync: None,
            },
        },
    );
    add(
        "7162 3.1.2",
        b"A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)\r\n",
        C::Status {
            mailbox: mb("blurdybloop"),
            items: vec![
                StatusItem::UidNext,
                StatusItem::Messages,
                StatusItem::HighestModSeq,
            ],
        },
    );
    add(
        "7162 3.1.3",
        b"a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)\r\n",
        store(
            true,
            "6,4,8",
            Some(12121230045),
            StoreAction::Add,
            true,
            vec![Flag::Deleted],
        ),
    );
    add(
        "7162 3.1.3",
        b"a104 STORE * (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted $Processed)\r\n",
        store(
            false,
            "*",
            Some(12121230045),
            StoreAction::Add,
            true,
            vec![Flag::Deleted, kw("$Processed")],
        ),
    );
    add(
        "7162 3.1.3",
        b"c101 STORE 50 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\\Deleted)\r\n",
        store(
            false,
            "50",
            Some(12121230045),
            StoreAction::Remove,
            true,
            vec![Flag::Deleted],
        ),
    );
    add(
        "7162 3.1.3",
        b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
        store(
            false,
            "7,5,9",
            Some(320162338),
            StoreAction::Add,
            true,
            vec![Flag::Deleted],
        ),
    );
    add(
        "7162 3.1.3",
        b"a102 STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)\r\n",
        store(
            false,
            "12",
            Some(0),
            StoreAction::Add,
            true,
            vec![kw("$MDNSent")],
        ),
    );
    add(
        "7162 3.1.3",
        b"a106 STORE 100:150 (UNCHANGEDSINCE 212030000000) +FLAGS.SILENT ($Processed)\r\n",
        store(
            false,
            "100:150",
            Some(212030000000),
            StoreAction::Add,
            true,
            vec![kw("$Processed")],
        ),
    );
    add(
        "7162 3.1.3",
        b"b108 STORE 101 (UNCHANGEDSINCE 303011130956) +FLAGS.SILENT ($Processed)\r\n",
        store(
            false,
            "101",
            Some(303011130956),
            StoreAction::Add,
            true,
            vec![kw("$Processed")],
        ),
    );
    add(
        "7162 3.1.3",
        b"A150 STORE 1:2 (UNCHANGEDSINCE 96) +FLAGS.SILENT \\Seen\r\n",
        store(
            false,
            "1:2",
            Some(96),
            StoreAction::Add,
            true,
            vec![Flag::Seen],
        ),
    );
    add(
        "7162 3.1.3",
        b"A151 STORE 3 +FLAGS.SILENT \\Seen\r\n",
        store(false, "3", None, StoreAction::Add, true, vec![Flag::Seen]),
    );
    add(
        "7162 3.1.3",
        b"B001 STORE 1:7 (UNCHANGEDSINCE 320172338) +FLAGS (\\SEEN)\r\n",
        store(
            false,
            "1:7",
            Some(320172338),
            StoreAction::Add,
            false,
            vec![Flag::Seen],
        ),
    );
    add(
        "7162 3.1.3",
        b"b003 STORE 2 (UNCHANGEDSINCE 320172340) +FLAGS (\\Seen)\r\n",
        store(
            false,
            "2",
            Some(320172340),
            StoreAction::Add,
            false,
            vec![Flag::Seen],
        ),
    );
    add(
        "7162 3.1.3",
        b"A330 STORE 7 -FLAGS.SILENT (\\Answered \\Seen)\r\n",
        store(
            false,
            "7",
            None,
            StoreAction::Remove,
            true,
            vec![Flag::Answered, Flag::Seen],
        ),
    );
    add(
        "7162 3.1.4",
        b"s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
        C::Fetch {
            uid: true,
            set: set("1:*"),
            items: FetchItems::List(vec![A::Flags]),
            modifiers: FetchModifiers {
                changed_since: Some(12345),
                vanished: false,
            },
        },
    );
    add(
        "7162 3.1.5",
        b"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
        search(
            false,
            None,
            None,
            vec![K::ModSeq {
                entry: Some((b("/flags/\\draft"), EntryType::All)),
                mod_seq: 620162338,
            }],
        ),
    );
    add(
        "7162 3.1.5",
        b"t SEARCH OR NOT MODSEQ 720162338 LARGER 50000\r\n",
        search(
            false,
            None,
            None,
            vec![K::Or(
                Box::new(K::Not(Box::new(K::ModSeq {
                    entry: None,
                    mod_seq: 720162338,
                }))),
                Box::new(K::Larger(50000)),
            )],
        ),
    );
    add(
        "7162 3.1.5",
        b"a SEARCH RETURN (ALL) MODSEQ 1234\r\n",
        search(
            false,
            Some(vec![SR::All]),
            None,
            vec![K::ModSeq {
                entry: None,
                mod_seq: 1234,
            }],
        ),
    );
    add(
        "7162 3.1.6",
        b"a FETCH 1:3 (MODSEQ)\r\n",
        fetch(false, "1:3", FetchItems::List(vec![A::ModSeq])),
    );
    add(
        "7162 3.2.5",
        b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        qresync(67890007, 20050715194045000, Some("41,43:211,214:541"), None),
    );
    add(
        "7162 3.2.5",
        b"A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n",
        qresync(67890007, 90060115194045000, Some("41:211,214:541"), None),
    );
    add(
        "7162 3.2.5",
        b"A04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997))\r\n",
        qresync(67890007, 90060115194045000, Some("1:29997"), None),
    );
    add("7162 3.2.5", b"B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
        qresync(67890007, 90060115194045000, Some("1:29997"), Some(("5000,7500,9000,9990:9999", "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997"))));
    add(
        "7162 3.2.5",
        b"A142 SELECT INBOX (QRESYNC (3857529045 20010715194032001 1:198))\r\n",
        qresync(3857529045, 20010715194032001, Some("1:198"), None),
    );
    add(
        "7162 3.2.6",
        b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
        C::Fetch {
            uid: true,
            set: set("300:500"),
            items: FetchItems::List(vec![A::Flags]),
            modifiers: FetchModifiers {
                changed_since: Some(12345),
                vanished: true,
            },
        },
    );
    add(
        "7162 3.2.6",
        b"s101 UID SEARCH 300:500\r\n",
        search(true, None, None, vec![K::SequenceSet(set("300:500"))]),
    );

    // RFC 5258 LIST-EXTENDED section 5
    add(
        "5258 5",
        b"BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")\r\n",
        list(vec![], "", &["INBOX", "Drafts", "Sent/%"], vec![]),
    );
    add(
        "5258 5",
        b"a1 LIST \"\" (\"foo\" \"foo/*\")\r\n",
        list(vec![], "", &["foo", "foo/*"], vec![]),
    );

    // RFC 2971 ID section 3.1
    add("2971 3.1", b"a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n", C::Id {
        params: Some(vec![(b("name"), Some(b("sodr"))), (b("version"), Some(b("19.34"))), (b("vendor"), Some(b("Pink Floyd Music Limited")))]),
    });
    add("2971 3.1", b"a042 ID NIL\r\n", C::Id { params: None });

    // RFC 9208 QUOTA section 4
    add(
        "9208 4.2",
        b"G0001 GETQUOTA \"!partition/sda4\"\r\n",
        C::GetQuota {
            root: b("!partition/sda4"),
        },
    );
    add(
        "9208 4.2",
        b"S0000 GETQUOTA \"#user/alice\"\r\n",
        C::GetQuota {
            root: b("#user/alice"),
        },
    );
    add(
        "9208 4.3",
        b"G0002 GETQUOTAROOT INBOX\r\n",
        C::GetQuotaRoot {
            mailbox: mb("INBOX"),
        },
    );
    add(
        "9208 4.4",
        b"S0001 SETQUOTA \"#user/alice\" (STORAGE 510)\r\n",
        C::SetQuota {
            root: b("#user/alice"),
            limits: vec![(atom("STORAGE"), 510)],
        },
    );
    add(
        "9208 4.4",
        b"S0002 SETQUOTA \"!partition/sda4\" (STORAGE 99999999)\r\n",
        C::SetQuota {
            root: b("!partition/sda4"),
            limits: vec![(atom("STORAGE"), 99999999)],
        },
    );
    add(
        "9208 4.3",
        b"S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)\r\n",
        C::Status {
            mailbox: mb("INBOX"),
            items: vec![
                StatusItem::Messages,
                StatusItem::Deleted,
                StatusItem::DeletedStorage,
            ],
        },
    );

    // RFC 6154 special-use section 5
    add(
        "6154 5.1",
        b"t1 LIST \"\" \"%\" RETURN (SPECIAL-USE)\r\n",
        list(vec![], "", &["%"], vec![R::SpecialUse]),
    );
    add(
        "6154 5.2",
        b"t3 LIST (SPECIAL-USE) \"\" \"*\"\r\n",
        list(vec![S::SpecialUse], "", &["*"], vec![]),
    );
    add(
        "6154 5.3",
        b"t2 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n",
        C::Create {
            mailbox: mb("MySpecial"),
            special_use: vec![atom("Drafts"), atom("Sent")],
        },
    );
    add(
        "6154 5.3",
        b"t3 CREATE Everything (USE (\\All))\r\n",
        C::Create {
            mailbox: mb("Everything"),
            special_use: vec![atom("All")],
        },
    );

    // RFC 4978 COMPRESS section 4
    add("4978 4", b"a starttls\r\n", C::StartTls);
    add(
        "4978 4",
        b"b login arnt tnra\r\n",
        C::Login {
            username: b("arnt"),
            password: Secret::new(b("tnra")),
        },
    );
    add(
        "4978 4",
        b"c compress deflate\r\n",
        C::Compress {
            algorithm: atom("deflate"),
        },
    );

    // RFC 8474 OBJECTID section 7
    add(
        "8474 7",
        b"10 status bar (mailboxid)\r\n",
        C::Status {
            mailbox: mb("bar"),
            items: vec![StatusItem::MailboxId],
        },
    );
    add(
        "8474 7",
        b"11 list \"\" \"*\" return (status (mailboxid))\r\n",
        list(
            vec![],
            "",
            &["*"],
            vec![R::Status(vec![StatusItem::MailboxId])],
        ),
    );
    add(
        "8474 7",
        b"22 fetch 1:* (emailid threadid)\r\n",
        fetch(
            false,
            "1:*",
            FetchItems::List(vec![A::EmailId, A::ThreadId]),
        ),
    );
    add(
        "8970 3.2",
        b"A1 FETCH 1 (PREVIEW)\r\n",
        fetch(
            false,
            "1",
            FetchItems::List(vec![A::Preview { lazy: false }]),
        ),
    );
    add(
        "8970 5",
        b"B1 FETCH 1:4 (ENVELOPE PREVIEW (LAZY))\r\n",
        fetch(
            false,
            "1:4",
            FetchItems::List(vec![A::Envelope, A::Preview { lazy: true }]),
        ),
    );
    add(
        "8474 7",
        b"23 move 2 foo\r\n",
        C::Move {
            uid: false,
            set: set("2"),
            mailbox: mb("foo"),
        },
    );
    add(
        "8474 7",
        b"25 select \"foo\"\r\n",
        C::Select {
            mailbox: mb("foo"),
            params: SelectParams::default(),
        },
    );
    add(
        "8474 7",
        b"27 search emailid M6d99ac3275bb4e\r\n",
        search(
            false,
            None,
            None,
            vec![K::EmailId("M6d99ac3275bb4e".into())],
        ),
    );
    add(
        "8474 7",
        b"28 search threadid T64b478a75b7ea9\r\n",
        search(
            false,
            None,
            None,
            vec![K::ThreadId("T64b478a75b7ea9".into())],
        ),
    );
    add(
        "8474 7",
        b"5 append inbox \"20-Mar-2018 03:07:37 +1100\" {5}\r\nHello\r\n",
        C::Append {
            mailbox: mb("INBOX"),
            messages: vec![AppendMessage {
                flags: vec![],
                date: Some(DateTime::new(date(2018, 3, 20), 3, 7, 37, 660).unwrap()),
                data: Bytes::from_static(b"Hello"),
                binary: false,
                utf8: false,
            }],
        },
    );

    // RFC 7888 LITERAL+ section 3
    add(
        "7888 3",
        b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n",
        C::Login {
            username: b("FRED FOOBAR"),
            password: Secret::new(b("fat man")),
        },
    );
    add(
        "7888 3",
        b"A001 LOGIN \"FRED FOOBAR\" \"fat man\"\r\n",
        C::Login {
            username: b("FRED FOOBAR"),
            password: Secret::new(b("fat man")),
        },
    );

    // RFC 5256 section 3 (SORT and THREAD)
    add(
        "5256 3",
        b"A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
        sort(
            false,
            None,
            &[(false, SortKey::Subject)],
            "UTF-8",
            vec![K::Since(date(1994, 2, 1))],
        ),
    );
    add(
        "5256 3",
        b"A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n",
        sort(
            false,
            None,
            &[(false, SortKey::Subject), (true, SortKey::Date)],
            "UTF-8",
            vec![K::All],
        ),
    );
    add(
        "5256 3",
        b"A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"\r\n",
        sort(
            false,
            None,
            &[(false, SortKey::Subject)],
            "US-ASCII",
            vec![K::Text(b("not in mailbox"))],
        ),
    );
    add(
        "5256 3",
        b"A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n",
        thread(
            ThreadAlgorithm::OrderedSubject,
            "UTF-8",
            vec![K::Since(date(2000, 3, 5))],
        ),
    );
    add(
        "5256 3",
        b"A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"\r\n",
        thread(
            ThreadAlgorithm::OrderedSubject,
            "US-ASCII",
            vec![K::Text(b("gewp"))],
        ),
    );
    add(
        "5256 3",
        b"A285 THREAD REFERENCES UTF-8 SINCE 5-MAR-2000\r\n",
        thread(
            ThreadAlgorithm::References,
            "UTF-8",
            vec![K::Since(date(2000, 3, 5))],
        ),
    );
    // RFC 5267 section 3.3 (ESORT) and 4.4 (PARTIAL)
    add(
        "5267 3.3",
        b"E01 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk\r\n",
        sort(
            true,
            Some(vec![]),
            &[(true, SortKey::Date)],
            "UTF-8",
            vec![K::Undeleted, K::Unkeyword(atom("$Junk"))],
        ),
    );
    for (wire, first, last) in [
        (
            &b"A02 UID SEARCH RETURN (PARTIAL 23500:24000) UNDELETED\r\n"[..],
            23500,
            24000,
        ),
        (
            b"A03 UID SEARCH RETURN (PARTIAL 1:500) UNDELETED\r\n",
            1,
            500,
        ),
        (
            b"A04 UID SEARCH RETURN (PARTIAL 24000:24500) UNDELETED\r\n",
            24000,
            24500,
        ),
    ] {
        add(
            "5267 4.4",
            wire,
            search(
                true,
                Some(vec![SR::Partial(PartialRange { first, last })]),
                None,
                vec![K::Undeleted],
            ),
        );
    }
    // RFC 5465 section 3.1 (as corrected: the printed example leaves out the parentheses
    // around the events and MessageExpunge, which sections 5 and 8 require)
    let header_fields = || A::BodySection {
        peek: true,
        section: Section {
            part: vec![],
            text: Some(SectionText::HeaderFields(vec![
                b("from"),
                b("to"),
                b("subject"),
            ])),
        },
        partial: None,
    };
    let selected = |attributes| EventGroup {
        filter: MailboxFilter::Selected,
        events: vec![
            NotifyEvent::MessageNew(attributes),
            NotifyEvent::MessageExpunge,
        ],
    };
    let messages_of = |filter| EventGroup {
        filter,
        events: vec![NotifyEvent::MessageNew(vec![]), NotifyEvent::MessageExpunge],
    };
    let lists = || messages_of(MailboxFilter::Subtree(vec![mb("Lists")]));
    add(
        "5465 3.1",
        b"b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))\r\n",
        C::Notify(NotifyCommand::Set {
            status: true,
            groups: vec![selected(vec![A::Uid, header_fields()]), lists()],
        }),
    );
    add(
        "5465 3.1",
        b"e notify set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))\r\n",
        C::Notify(NotifyCommand::Set {
            status: false,
            groups: vec![
                selected(vec![A::Uid, header_fields()]),
                lists(),
                messages_of(MailboxFilter::Mailboxes(vec![mb("misc")])),
            ],
        }),
    );
    // RFC 5465 section 6
    add(
        "5465 6",
        b"a notify set (mailboxes INBOX (Messagenew messageExpunge)) (personal (SubscriptionChange))\r\n",
        C::Notify(NotifyCommand::Set {
            status: false,
            groups: vec![
                messages_of(MailboxFilter::Mailboxes(vec![mb("INBOX")])),
                EventGroup {
                    filter: MailboxFilter::Personal,
                    events: vec![NotifyEvent::SubscriptionChange],
                },
            ],
        }),
    );
    add(
        "5465 6",
        b"a notify set (selected (Messagenew (uid flags) messageExpunge)) (personal (MessageNew FlagChange MessageExpunge))\r\n",
        C::Notify(NotifyCommand::Set {
            status: false,
            groups: vec![
                selected(vec![A::Uid, A::Flags]),
                EventGroup {
                    filter: MailboxFilter::Personal,
                    events: vec![
                        NotifyEvent::MessageNew(vec![]),
                        NotifyEvent::FlagChange,
                        NotifyEvent::MessageExpunge,
                    ],
                },
            ],
        }),
    );
    add(
        "5465 3.1",
        b"a notify none\r\n",
        C::Notify(NotifyCommand::None),
    );
    // RFC 5957 section 4 (its sort keys; the RFC has no command example)
    add(
        "5957 4",
        b"D1 UID SORT (DISPLAYFROM REVERSE DISPLAYTO) UTF-8 ALL\r\n",
        sort(
            true,
            None,
            &[(false, SortKey::DisplayFrom), (true, SortKey::DisplayTo)],
            "UTF-8",
            vec![K::All],
        ),
    );
    // RFC 5464 METADATA sections 4.2 to 4.4 (examples wrapped for print joined with one SP)
    let entry = |n: &str| EntryName::new_or_root(n.as_bytes()).unwrap();
    let get = |m: &str, max_size, depth, entries: &[&str]| C::GetMetadata {
        mailbox: mb(m),
        options: MetadataOptions { max_size, depth },
        entries: entries.iter().map(|e| entry(e)).collect(),
    };
    let set_md = |m: &str, entries: &[(&str, Option<&str>)]| C::SetMetadata {
        mailbox: mb(m),
        entries: entries
            .iter()
            .map(|(e, v)| (entry(e), v.map(|v| Bytes::from(v.to_string()))))
            .collect(),
    };
    add(
        "5464 4.2",
        b"a GETMETADATA \"\" /shared/comment\r\n",
        get("", None, Depth::Zero, &["/shared/comment"]),
    );
    add(
        "5464 4.2",
        b"a GETMETADATA \"INBOX\" /private/comment\r\n",
        get("INBOX", None, Depth::Zero, &["/private/comment"]),
    );
    add(
        "5464 4.2",
        b"a GETMETADATA \"INBOX\" (/shared/comment /private/comment)\r\n",
        get(
            "INBOX",
            None,
            Depth::Zero,
            &["/shared/comment", "/private/comment"],
        ),
    );
    add(
        "5464 4.2.1",
        b"a GETMETADATA \"INBOX\" (MAXSIZE 1024) (/shared/comment /private/comment)\r\n",
        get(
            "INBOX",
            Some(1024),
            Depth::Zero,
            &["/shared/comment", "/private/comment"],
        ),
    );
    add(
        "5464 4.2.2",
        b"a GETMETADATA \"INBOX\" (DEPTH 1) (/private/filters/values)\r\n",
        get("INBOX", None, Depth::One, &["/private/filters/values"]),
    );
    add(
        "5464 4.3",
        // The line break before ")" is the RFC's layout: 33 octets end at "lines.".
        b"a SETMETADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)\r\n",
        set_md(
            "INBOX",
            &[(
                "/private/comment",
                Some("My new comment across\r\ntwo lines."),
            )],
        ),
    );
    add(
        "5464 4.3",
        b"a SETMETADATA INBOX (/private/comment NIL)\r\n",
        set_md("INBOX", &[("/private/comment", None)]),
    );
    add(
        "5464 4.3",
        b"a SETMETADATA INBOX (/private/comment \"My new comment\" /shared/comment \"This one is for you!\")\r\n",
        set_md(
            "INBOX",
            &[
                ("/private/comment", Some("My new comment")),
                ("/shared/comment", Some("This one is for you!")),
            ],
        ),
    );
    add(
        "5464 4.3",
        b"a SETMETADATA INBOX (/private/comment \"My new comment\")\r\n",
        set_md("INBOX", &[("/private/comment", Some("My new comment"))]),
    );
    add(
        "5464 4.4.1",
        b"a GETMETADATA \"INBOX\" /private/comment /shared/comment\r\n",
        get(
            "INBOX",
            None,
            Depth::Zero,
            &["/private/comment", "/shared/comment"],
        ),
    );
    // Section 5's grammar places the options before the mailbox.
    add(
        "5464 5",
        b"a GETMETADATA (MAXSIZE 10 DEPTH infinity) \"\" /private\r\n",
        get("", Some(10), Depth::Infinity, &["/private"]),
    );
    add(
        "5464 5",
        b"a SETMETADATA \"\" (/private/vendor/deltachat/token ~{3}\r\na\0b)\r\n",
        C::SetMetadata {
            mailbox: mb(""),
            entries: vec![(
                entry("/private/vendor/deltachat/token"),
                Some(Bytes::from_static(b"a\0b")),
            )],
        },
    );
    rows
}

#[test]
fn every_rfc_client_example_decodes() {
    let rows = rows();
    assert!(rows.len() > 100, "only {} rows", rows.len());
    eprintln!("{} RFC examples", rows.len());
    for (section, wire, expected) in &rows {
        let got = decode_one(wire).unwrap_or_else(|e| {
            panic!(
                "RFC {section}: {:?} failed: {e:?}",
                String::from_utf8_lossy(wire)
            )
        });
        assert_eq!(
            &got,
            expected,
            "RFC {section}: {:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn every_rfc_client_example_decodes_one_byte_at_a_time() {
    for (section, wire, expected) in rows() {
        let mut d = CommandDecoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut got = None;
        for &byte in &wire {
            buf.extend_from_slice(&[byte]);
            loop {
                match d.decode(&mut buf) {
                    Decoded::Incomplete => break,
                    Decoded::LiteralAnnounced { .. } => {}
                    Decoded::Command(c) => got = Some(c),
                    Decoded::Error(e) => panic!("RFC {section}: {e:?}"),
                }
            }
        }
        assert_eq!(got.as_ref(), Some(&expected), "RFC {section}");
        assert!(buf.is_empty());
    }
}

// --- fuzz seeds ----------------------------------------------------------------------------

/// The seed corpus of the fuzz targets (`proto/fuzz/corpus/<target>/seed-*`), made from this
/// table: `command` gets one file per distinct example, `command_roundtrip` one file per RFC
/// section with that section's examples pipelined, as a client sends them.
fn fuzz_seeds() -> Vec<(String, Vec<u8>)> {
    let rows = rows();
    let mut seeds = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (_, wire, _) in &rows {
        if seen.insert(wire.clone()) {
            seeds.push((format!("command/seed-{:03}", seeds.len()), wire.clone()));
        }
    }
    let mut sections: Vec<(&str, Vec<u8>)> = Vec::new();
    for (section, wire, _) in &rows {
        match sections.iter_mut().find(|(s, _)| s == section) {
            Some((_, all)) => all.extend_from_slice(wire),
            None => sections.push((section, wire.clone())),
        }
    }
    for (section, wire) in sections {
        let name = section.replace([' ', '.'], "-");
        seeds.push((format!("command_roundtrip/seed-{name}"), wire));
    }
    seeds
}

fn fuzz_corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// Writes the seed corpus. Run it after changing the table:
/// `cargo test -p roost-proto --test rfc_commands -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes files into proto/fuzz/corpus; run by hand when the table changes"]
fn write_fuzz_seeds() {
    let dir = fuzz_corpus_dir();
    for target in ["command", "command_roundtrip"] {
        let d = dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
            {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
    for (name, wire) in fuzz_seeds() {
        std::fs::write(dir.join(name), wire).unwrap();
    }
}

/// The committed seeds are what the table makes (and stay under 300 files).
#[test]
fn fuzz_seeds_are_up_to_date() {
    let seeds = fuzz_seeds();
    assert!(seeds.len() <= 300, "{} seed files", seeds.len());
    let dir = fuzz_corpus_dir();
    let mut on_disk = Vec::new();
    for target in ["command", "command_roundtrip"] {
        for entry in std::fs::read_dir(dir.join(target)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("seed-") {
                on_disk.push(format!("{target}/{name}"));
            }
        }
    }
    on_disk.sort();
    let mut expected: Vec<String> = seeds.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    let stale = "fuzz seeds are stale: run \
                 cargo test -p roost-proto --test rfc_commands -- --ignored write_fuzz_seeds";
    assert_eq!(on_disk, expected, "{stale}");
    for (name, wire) in &seeds {
        assert_eq!(
            &std::fs::read(dir.join(name)).unwrap(),
            wire,
            "{name}: {stale}"
        );
    }
}

#[path = "rfc_commands/clients.rs"]
mod clients;
#[path = "rfc_commands/streaming.rs"]
mod streaming;
