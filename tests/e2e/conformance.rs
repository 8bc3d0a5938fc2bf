//! Rules of the advertised capabilities that real clients depend on, each as the RFC states
//! it (issue 12): CONDSTORE enabling (RFC 7162 section 3.1), OBJECTID on CREATE (RFC 8474),
//! LIST-EXTENDED RECURSIVEMATCH and LSUB parents (RFC 5258, RFC 3501), LIST references, the
//! DELETE and mailbox-name answers, and what SEARCH and APPEND make of message text.

use crate::support::{code_value, sample_message, Client, Server};

fn highest_mod_seq(lines: &[String]) -> Option<u64> {
    code_value(lines, "HIGHESTMODSEQ").map(|v| v.parse().unwrap())
}

/// RFC 7162 section 3.1: each CONDSTORE enabling command turns MODSEQ on for every later
/// flag update, and the first one run with a mailbox selected reports HIGHESTMODSEQ.
#[tokio::test]
async fn every_condstore_enabling_command_reports_highestmodseq_once_then_modseq_always() {
    let server = Server::start();
    let mut setup = Client::logged_in(&server).await;
    setup.seed("INBOX", 3).await;
    let enabling = [
        "FETCH 1 (MODSEQ)",
        "FETCH 1 (FLAGS) (CHANGEDSINCE 1)",
        "SEARCH MODSEQ 1",
        "STATUS INBOX (HIGHESTMODSEQ)",
        "STORE 3 (UNCHANGEDSINCE 999999) +FLAGS (\\Draft)",
        "ENABLE CONDSTORE",
    ];
    for command in enabling {
        let mut c = Client::logged_in(&server).await;
        let selected = c.ok("SELECT INBOX").await;
        assert_eq!(highest_mod_seq(&selected), None, "{selected:?}");
        let plain = c.ok("STORE 1 +FLAGS (\\Seen)").await;
        assert!(!plain[0].contains("MODSEQ"), "{command}: {plain:?}");
        let first = c.ok(command).await;
        let reported = highest_mod_seq(&first);
        assert!(reported.is_some_and(|n| n >= 1), "{command}: {first:?}");
        let again = c.ok(command).await;
        assert_eq!(highest_mod_seq(&again), None, "{command}: {again:?}");
        let flagged = c.ok("STORE 2 +FLAGS (\\Flagged)").await;
        assert!(flagged[0].contains(" MODSEQ ("), "{command}: {flagged:?}");
        // Another session's change reaches this one with its MODSEQ too.
        setup.ok("SELECT INBOX").await;
        setup.ok("STORE 2 -FLAGS (\\Flagged)").await;
        let news = c.ok("NOOP").await;
        assert!(
            news.iter()
                .any(|l| l.starts_with("* 2 FETCH") && l.contains("MODSEQ")),
            "{command}: {news:?}"
        );
        c.ok("LOGOUT").await;
    }
}

/// RFC 7162 section 3.1.3 (and its examples 3-5): `.SILENT` leaves out the flags but not the
/// MODSEQ of the messages the conditional STORE changed.
#[tokio::test]
async fn a_silent_conditional_store_still_returns_modseq_of_what_it_changed() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.seed("INBOX", 3).await;
    let selected = c.ok("SELECT INBOX (CONDSTORE)").await;
    let highest = highest_mod_seq(&selected).unwrap();
    c.ok("STORE 2 +FLAGS.SILENT (\\Answered)").await;
    let lines = c
        .command(
            "s",
            &format!("UID STORE 1:3 (UNCHANGEDSINCE {highest}) +FLAGS.SILENT (\\Deleted)"),
        )
        .await;
    let (untagged, tagged) = lines.split_at(lines.len() - 1);
    assert_eq!(untagged.len(), 2, "{lines:?}");
    for (line, uid) in untagged.iter().zip([1, 3]) {
        assert!(
            line.starts_with(&format!("* {uid} FETCH (UID {uid} MODSEQ (")),
            "{lines:?}"
        );
        assert!(!line.contains("FLAGS"), "{lines:?}");
    }
    assert!(tagged[0].starts_with("s OK [MODIFIED 2]"), "{lines:?}");
}

/// RFC 7162 section 3.1.5's ESEARCH form: `RETURN (ALL)` with a MODSEQ entry returns every
/// match and the highest MODSEQ among them.
#[tokio::test]
async fn search_return_all_with_a_modseq_entry_returns_every_match() {
    let server = Server::start();
    let mut c = Client::logged_in_rev2(&server).await;
    c.seed("INBOX", 4).await;
    let selected = c.ok("SELECT INBOX (CONDSTORE)").await;
    let before = highest_mod_seq(&selected).unwrap();
    c.ok("STORE 2:3 +FLAGS (\\Seen)").await;
    let lines = c
        .ok(&format!(
            "SEARCH RETURN (ALL) 2:3 MODSEQ \"/flags/\\\\seen\" all {before}"
        ))
        .await;
    let after = c.ok("FETCH 3 (MODSEQ)").await;
    let modseq = after[0]
        .split("MODSEQ (")
        .nth(1)
        .unwrap()
        .trim_end_matches(")\r\n")
        .trim_end_matches(')')
        .to_owned();
    assert_eq!(
        lines,
        [format!(
            "* ESEARCH (TAG \"ok\") ALL 2:3 MODSEQ {modseq}\r\n"
        )]
    );
}

/// RFC 8474 section 4.1: CREATE tells the new mailbox's id, the one STATUS reports.
#[tokio::test]
async fn create_answers_the_new_mailbox_id() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let created = c.command("c", "CREATE Projects").await;
    let id = code_value(&created, "MAILBOXID").expect("CREATE names the MAILBOXID");
    let status = c.ok("STATUS Projects (MAILBOXID)").await;
    assert_eq!(status, [format!("* STATUS Projects (MAILBOXID {id})\r\n")]);
}

/// `NIL` is an atom, but in a flag list every client reads it as nil: it is never a flag.
#[tokio::test]
async fn nil_is_refused_as_a_keyword_and_never_listed() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.seed("INBOX", 1).await;
    c.ok("SELECT INBOX").await;
    for (tag, command) in [
        ("s1", "STORE 1 FLAGS (NIL)"),
        ("s2", "STORE 1 +FLAGS (\\Seen nil)"),
        ("a1", "APPEND INBOX (NIL) {1+}\r\nx"),
    ] {
        let lines = c.command(tag, command).await;
        assert!(lines[0].starts_with(&format!("{tag} BAD ")), "{lines:?}");
    }
    let flags = c.ok("FETCH 1 (FLAGS)").await;
    assert_eq!(flags, ["* 1 FETCH (FLAGS (\\Recent))\r\n"]);
    let selected = c.ok("EXAMINE INBOX").await;
    assert!(!selected.iter().any(|l| l.contains("NIL")), "{selected:?}");
}

/// RFC 5258 section 5, example 8 (A, A1, A2, C) and section 4 (`\HasChildren` with
/// CHILDINFO); RFC 3501 section 6.3.9 (LSUB `%` lists an unsubscribed parent `\Noselect`).
/// On an account of 500 folders, where only a few are subscribed.
#[tokio::test]
async fn recursivematch_childinfo_and_lsub_parents_as_the_rfc_examples() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    for name in ["Foo", "Foo/Bar", "Foo/Baz", "Moo"] {
        c.ok(&format!("CREATE {name}")).await;
    }
    for i in 0..496 {
        c.ok(&format!("CREATE Bulk{}/f{i}", i % 10)).await;
    }
    for name in ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"] {
        c.ok(&format!("UNSUBSCRIBE {name}")).await;
    }
    c.ok("SUBSCRIBE Foo/Baz").await;
    c.ok("SUBSCRIBE Gone/Child").await; // neither it nor its parent exists
    let recursive = "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"";
    assert_eq!(
        c.ok(recursive).await,
        [
            "* LIST (\\HasChildren) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
            "* LIST (\\NonExistent) \"/\" Gone (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
        ]
    );
    // With `*` the subscribed children are listed themselves: no redundant CHILDINFO.
    assert_eq!(
        c.ok("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"*\"").await,
        [
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" Foo/Baz\r\n",
            "* LIST (\\NonExistent \\Subscribed) \"/\" Gone/Child\r\n",
        ]
    );
    assert_eq!(
        c.ok("LSUB \"\" \"%\"").await,
        [
            "* LSUB (\\Noselect) \"/\" Foo\r\n",
            "* LSUB (\\Noselect) \"/\" Gone\r\n",
        ]
    );
    assert_eq!(
        c.ok("LSUB \"\" \"Foo/%\"").await,
        ["* LSUB () \"/\" Foo/Baz\r\n"]
    );
    // A1: a subscribed parent keeps CHILDINFO for its subscribed child.
    c.ok("SUBSCRIBE Foo").await;
    let a1 = c.ok(&format!("{recursive} RETURN (CHILDREN)")).await;
    assert_eq!(
        a1[0],
        "* LIST (\\HasChildren \\Subscribed) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
    );
    // C: only Foo and Moo subscribed.
    c.ok("UNSUBSCRIBE Foo/Baz").await;
    c.ok("UNSUBSCRIBE Gone/Child").await;
    c.ok("SUBSCRIBE Moo").await;
    assert_eq!(
        c.ok(&format!("{recursive} RETURN (CHILDREN)")).await,
        [
            "* LIST (\\HasChildren \\Subscribed) \"/\" Foo\r\n",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" Moo\r\n",
        ]
    );
}

/// RFC 9051 section 6.3.9: with no break-out characters the canonical pattern is the
/// reference with the mailbox name appended, so the reference prefixes every name returned.
#[tokio::test]
async fn a_list_reference_is_prefixed_to_the_pattern() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    for name in ["s2IT", "s2IT/sub", "s2ITX", "other"] {
        c.ok(&format!("CREATE {name}")).await;
    }
    assert_eq!(
        c.ok("LIST \"s2IT\" \"*\"").await,
        [
            "* LIST (\\HasChildren) \"/\" s2IT\r\n",
            "* LIST (\\HasNoChildren) \"/\" s2IT/sub\r\n",
            "* LIST (\\HasNoChildren) \"/\" s2ITX\r\n",
        ]
    );
    assert_eq!(
        c.ok("LIST \"s2IT/\" \"%\"").await,
        ["* LIST (\\HasNoChildren) \"/\" s2IT/sub\r\n"]
    );
}

/// RFC 9051 section 6.3.4: a server that will not delete a name with inferiors says
/// `[HASCHILDREN]`; a name that is not valid modified UTF-7 names no mailbox.
#[tokio::test]
async fn delete_with_children_and_names_that_are_not_modified_utf7() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE Parent/Child").await;
    let refused = c.command("d", "DELETE Parent").await;
    assert!(refused[0].starts_with("d NO [HASCHILDREN] "), "{refused:?}");
    let invalid = "\"!#$&'+,-.0123456789:;<=>?@^_|[}\"";
    let select = c.command("s", &format!("SELECT {invalid}")).await;
    assert!(select[0].starts_with("s NO [NONEXISTENT] "), "{select:?}");
    let status = c
        .command("t", &format!("STATUS {invalid} (MESSAGES)"))
        .await;
    assert!(status[0].starts_with("t NO [NONEXISTENT] "), "{status:?}");
    assert!(c.ok(&format!("LIST \"\" {invalid}")).await.is_empty());
    let create = c.command("c", &format!("CREATE {invalid}")).await;
    assert!(create[0].starts_with("c NO [CANNOT] "), "{create:?}");
}

/// SEARCH reads addresses as ENVELOPE does, and TEXT sees MIME part headers (RFC 9051
/// section 6.4.4), so an attachment's file name is found.
#[tokio::test]
async fn search_matches_addresses_as_envelope_parses_them_and_attachment_names() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let message = "From: <user-from (comment)@ (comment) domain.org>\r\n\
        To: Bob <bob@example.com>\r\nSubject: cv\r\n\
        Content-Type: multipart/mixed; boundary=xx\r\n\r\n\
        --xx\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
        --xx\r\nContent-Type: application/pdf; name=resume.pdf\r\n\
        Content-Disposition: attachment; filename=resume.pdf\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--xx--\r\n";
    c.append("INBOX", "", message).await;
    c.append("INBOX", "", &sample_message(2)).await;
    c.ok("SELECT INBOX").await;
    let envelope = c.ok("FETCH 1 (ENVELOPE)").await;
    assert!(
        envelope[0].contains("((NIL NIL \"user-from\" \"domain.org\"))"),
        "{envelope:?}"
    );
    assert_eq!(
        c.ok("SEARCH FROM user-from@domain.org").await,
        ["* SEARCH 1\r\n"]
    );
    assert_eq!(c.ok("SEARCH TEXT resume.pdf").await, ["* SEARCH 1\r\n"]);
    assert_eq!(c.ok("SEARCH TO \"Bob <bob@\"").await, ["* SEARCH 1 2\r\n"]);
}

/// RFC 9051 section 2.3.4 counts octets of a CRLF message: one appended with bare LFs (curl
/// `-T` of a Unix file) is stored with CRLF, so RFC822.SIZE and BODY[] agree with it.
#[tokio::test]
async fn a_message_appended_with_bare_line_feeds_is_stored_with_crlf() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let unix = "From: a@example.com\nSubject: unix\n\nline 1\nline 2\n";
    c.append("INBOX", "", unix).await;
    c.ok("SELECT INBOX").await;
    let crlf = unix.replace('\n', "\r\n");
    assert_eq!(
        c.ok("FETCH 1 (RFC822.SIZE)").await,
        [format!("* 1 FETCH (RFC822.SIZE {})\r\n", crlf.len())]
    );
    c.send(b"b FETCH 1 (BODY.PEEK[])\r\n").await;
    let head = c.line().await;
    assert_eq!(head, format!("* 1 FETCH (BODY[] {{{}}}\r\n", crlf.len()));
    assert_eq!(c.octets(crlf.len()).await, crlf.as_bytes());
    assert_eq!(
        c.until_tagged("b").await.last().unwrap(),
        "b OK FETCH completed\r\n"
    );
}

/// RFC 9051 section 6.4.4: an unsupported CHARSET is `NO [BADCHARSET]`, whatever the keys.
#[tokio::test]
async fn an_unknown_search_charset_is_badcharset_even_without_strings() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.seed("INBOX", 2).await;
    c.ok("SELECT INBOX").await;
    for (tag, keys) in [("a", "ALL"), ("b", "SEEN"), ("c", "SUBJECT x")] {
        let lines = c
            .command(tag, &format!("SEARCH CHARSET X-KLINGON {keys}"))
            .await;
        assert!(
            lines[0].starts_with(&format!("{tag} NO [BADCHARSET (")),
            "{lines:?}"
        );
    }
    assert_eq!(
        c.ok("SEARCH CHARSET ISO-8859-1 ALL").await,
        ["* SEARCH 1 2\r\n"]
    );
}

/// OBJECTID (RFC 8474 sections 4-5), STATUS=SIZE (RFC 8438) and UTF8=ACCEPT (RFC 6855
/// sections 3-4): ids that stay with a message through COPY, sizes in octets, UTF-8 names
/// and headers once enabled.
#[tokio::test]
async fn objectid_status_size_and_utf8_accept() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let message = sample_message(1);
    c.append("INBOX", "", &message).await;
    c.ok("CREATE Copies").await;
    c.ok("SELECT INBOX").await;
    let ids = c.ok("FETCH 1 (EMAILID THREADID)").await;
    let email_id = ids[0].split("EMAILID (").nth(1).unwrap();
    let email_id = email_id[..email_id.find(')').unwrap()].to_owned();
    assert!(ids[0].ends_with(" THREADID NIL)\r\n"), "{ids:?}");
    c.ok("COPY 1 Copies").await;
    c.ok("SELECT Copies").await;
    assert_eq!(
        c.ok("FETCH 1 (EMAILID)").await,
        [format!("* 1 FETCH (EMAILID ({email_id}))\r\n")]
    );
    assert_eq!(
        c.ok(&format!("SEARCH EMAILID {email_id}")).await,
        ["* SEARCH 1\r\n"]
    );
    assert_eq!(
        c.ok("STATUS INBOX (SIZE MESSAGES)").await,
        [format!(
            "* STATUS INBOX (SIZE {} MESSAGES 1)\r\n",
            message.len()
        )]
    );
    assert_eq!(
        c.ok("ENABLE UTF8=ACCEPT").await,
        ["* ENABLED UTF8=ACCEPT\r\n"]
    );
    c.ok("CREATE \"Entwürfe\"").await;
    assert_eq!(
        c.ok("LIST \"\" \"Entw*\"").await,
        ["* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\r\n"]
    );
    let utf8 = "Subject: Grüße\r\n\r\nHallo\r\n";
    let appended = c
        .command(
            "u",
            &format!("APPEND \"Entwürfe\" UTF8 (~{{{}+}}\r\n{utf8})", utf8.len()),
        )
        .await;
    assert!(appended[0].starts_with("u OK [APPENDUID "), "{appended:?}");
    c.ok("SELECT \"Entwürfe\"").await;
    assert_eq!(
        c.ok("FETCH 1 (ENVELOPE)").await,
        ["* 1 FETCH (ENVELOPE (NIL \"Grüße\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"]
    );
}

/// WITHIN (RFC 5032): OLDER and YOUNGER count seconds back from the server's clock.
#[tokio::test]
async fn within_searches_by_age_in_seconds() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let old = sample_message(1);
    c.command(
        "a",
        &format!(
            "APPEND INBOX \"01-Jan-2020 10:00:00 +0000\" {{{}+}}\r\n{old}",
            old.len()
        ),
    )
    .await;
    c.append("INBOX", "", &sample_message(2)).await; // dated now
    c.ok("SELECT INBOX").await;
    assert_eq!(c.ok("SEARCH YOUNGER 3600").await, ["* SEARCH 2\r\n"]);
    assert_eq!(c.ok("SEARCH OLDER 3600").await, ["* SEARCH 1\r\n"]);
    assert_eq!(
        c.ok("SEARCH OR OLDER 4000000000 YOUNGER 60").await,
        ["* SEARCH 2\r\n"]
    );
    let zero = c.command("z", "SEARCH OLDER 0").await;
    assert!(zero[0].starts_with("z BAD "), "{zero:?}");
}

/// PREVIEW (RFC 8970 sections 3-5): the text of the first plain part, quoted lines and the
/// signature left out; `(LAZY)` accepted; 8-bit text to an IMAP4rev1 client as a literal.
#[tokio::test]
async fn preview_is_the_start_of_the_readable_text() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let message = "Subject: lunch\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
        --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        Lunch   at noon?\r\n> earlier quoted text\r\nBring Grüße.\r\n-- \r\nAlice\r\n\
        --b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n";
    c.append("INBOX", "", message).await;
    c.append("INBOX", "", "Content-Type: image/png\r\n\r\nPNG")
        .await;
    c.ok("SELECT INBOX").await;
    let text = "Lunch at noon? Bring Grüße.";
    assert_eq!(
        c.ok("FETCH 1 (PREVIEW)").await,
        [
            format!("* 1 FETCH (PREVIEW {{{}}}\r\n", text.len()),
            format!("{text})\r\n")
        ]
    );
    assert_eq!(
        c.ok("FETCH 2 (UID PREVIEW (LAZY))").await,
        ["* 2 FETCH (UID 2 PREVIEW \"\")\r\n"]
    );
    let mut rev2 = Client::logged_in_rev2(&server).await;
    rev2.ok("ENABLE UTF8=ACCEPT").await;
    rev2.ok("EXAMINE INBOX").await;
    assert_eq!(
        rev2.ok("FETCH 1 (PREVIEW)").await,
        [format!("* 1 FETCH (PREVIEW \"{text}\")\r\n")]
    );
    let bad = c.command("b", "FETCH 1 (PREVIEW (EAGER))").await;
    assert!(bad[0].starts_with("b BAD "), "{bad:?}");
}

/// APPENDLIMIT (RFC 7889): one limit for every mailbox, `limits.max_literal`, in CAPABILITY
/// (section 2 (a)), STATUS (3.1) and LIST-STATUS (3.2); a larger APPEND is refused with a
/// tagged `[TOOBIG]` before its data is sent (section 4).
#[tokio::test]
async fn appendlimit_is_advertised_reported_and_enforced() {
    let server = Server::start_with(|config| {
        crate::support::table(config, "limits").insert("max_literal".into(), 1000.into());
    });
    let mut c = Client::logged_in(&server).await;
    let caps = c.ok("CAPABILITY").await.concat();
    assert!(caps.contains(" APPENDLIMIT=1000"), "{caps}");
    let status = c.ok("STATUS INBOX (MESSAGES APPENDLIMIT)").await;
    assert_eq!(
        status[0],
        "* STATUS INBOX (MESSAGES 0 APPENDLIMIT 1000)\r\n"
    );
    let listed = c.ok("LIST \"\" INBOX RETURN (STATUS (APPENDLIMIT))").await;
    assert!(
        listed.contains(&"* STATUS INBOX (APPENDLIMIT 1000)\r\n".to_owned()),
        "{listed:?}"
    );
    c.send("t1 APPEND INBOX {2000}\r\n").await;
    let refused = c.line().await;
    assert!(
        refused.starts_with("t1 ") && refused.contains("[TOOBIG]"),
        "{refused}"
    );
    let fits = sample_message(1);
    assert!(fits.len() < 1000);
    c.append("INBOX", "", &fits).await;
}
