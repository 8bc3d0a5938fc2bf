//! Message commands over the wire: APPEND, SELECT/EXAMINE, FETCH, STORE, SEARCH, COPY,
//! MOVE, EXPUNGE, CLOSE, UNSELECT (RFC 9051 sections 6.3.12 and 6.4).

use crate::support::*;

/// The value of a `[CODE value]` in a line, e.g. `UIDVALIDITY`.
fn code_value(lines: &[String], code: &str) -> String {
    crate::support::code_value(lines, code).unwrap_or_else(|| panic!("no {code} in {lines:?}"))
}

#[tokio::test]
async fn append_then_select_reports_the_mailbox_as_imap4rev1_expects() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let uid = c
        .append("INBOX", "\\Flagged $Work", &sample_message(1))
        .await;
    assert_eq!(uid, 1);
    let lines = c.command("s1", "SELECT INBOX").await;
    let validity = code_value(&lines, "UIDVALIDITY");
    let id = code_value(&lines, "MAILBOXID");
    assert_eq!(
        lines,
        [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n".to_owned(),
            "* 1 EXISTS\r\n".to_owned(),
            "* 1 RECENT\r\n".to_owned(),
            "* OK [UNSEEN 1] First unseen\r\n".to_owned(),
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n".to_owned(),
            format!("* OK [UIDVALIDITY {validity}] UIDs valid\r\n"),
            "* OK [UIDNEXT 2] Predicted next UID\r\n".to_owned(),
            format!("* OK [MAILBOXID {id}] Ok\r\n"),
            "s1 OK [READ-WRITE] SELECT completed\r\n".to_owned(),
        ]
    );
    assert!(id.starts_with("(M"), "{id}");
    let examine = c.command("e1", "EXAMINE INBOX").await;
    assert!(
        examine.last().unwrap().starts_with("e1 OK [READ-ONLY]"),
        "{examine:?}"
    );
    assert!(
        examine.iter().any(|l| l.contains("[PERMANENTFLAGS ()]")),
        "{examine:?}"
    );
}

#[tokio::test]
async fn fetch_returns_exactly_what_was_asked() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let message = sample_message(7);
    c.append("INBOX", "\\Seen", &message).await;
    c.ok("SELECT INBOX").await;
    let lines = c.ok("FETCH 1 (FLAGS RFC822.SIZE)").await;
    assert_eq!(
        lines,
        [format!(
            "* 1 FETCH (FLAGS (\\Seen \\Recent) RFC822.SIZE {})\r\n",
            message.len()
        )]
    );
    // UID FETCH always carries UID; BODY.PEEK does not set \Seen; the literal is the message.
    c.send("f2 UID FETCH 1 (BODY.PEEK[])\r\n").await;
    assert_eq!(
        c.line().await,
        format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\n", message.len())
    );
    let mut body = String::new();
    while body.len() < message.len() {
        body.push_str(&c.line().await);
    }
    assert_eq!(body, message);
    assert_eq!(c.line().await, ")\r\n");
    assert_eq!(c.until_tagged("f2").await, ["f2 OK FETCH completed\r\n"]);
    // HEADER.FIELDS echoed as asked, partial with its origin.
    c.send("f3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject)] BODY.PEEK[TEXT]<6.3>)\r\n")
        .await;
    assert_eq!(
        c.line().await,
        "* 1 FETCH (BODY[HEADER.FIELDS (subject)] {22}\r\n"
    );
    assert_eq!(c.line().await, "Subject: Message 7\r\n");
    assert_eq!(c.line().await, "\r\n");
    assert_eq!(c.line().await, " BODY[TEXT]<6> {3}\r\n");
    assert_eq!(c.line().await, "Bob)\r\n");
    assert_eq!(c.until_tagged("f3").await, ["f3 OK FETCH completed\r\n"]);
    let env = c.ok("FETCH 1 ENVELOPE").await;
    assert_eq!(
        env,
        ["* 1 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700\" \"Message 7\" ((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Bob\" NIL \"bob\" \"example.com\")) NIL NIL NIL \"<7@example.com>\"))\r\n"]
    );
}

#[tokio::test]
async fn non_peek_body_fetch_sets_seen_and_reports_flags() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.append("INBOX", "", &sample_message(1)).await;
    c.ok("SELECT INBOX").await;
    let lines = c.command("f1", "FETCH 1 (BODY[TEXT])").await;
    assert!(lines[0].starts_with("* 1 FETCH (BODY[TEXT] {"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("FLAGS (\\Seen \\Recent)")),
        "{lines:?}"
    );
    assert_eq!(c.ok("SEARCH UNSEEN").await, ["* SEARCH\r\n"]);
}

#[tokio::test]
async fn store_search_and_esearch() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    for n in 1..=5 {
        c.append("INBOX", "", &sample_message(n)).await;
    }
    c.ok("SELECT INBOX").await;
    assert_eq!(
        c.ok("STORE 2:3 +FLAGS (\\Seen $Important)").await,
        [
            // A keyword new to the mailbox is offered first (RFC 9051 section 7.3.5).
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted\r\n",
            "* 2 FETCH (FLAGS (\\Seen $Important \\Recent))\r\n",
            "* 3 FETCH (FLAGS (\\Seen $Important \\Recent))\r\n"
        ]
    );
    assert_eq!(
        c.ok("UID STORE 3 -FLAGS.SILENT (\\Seen)").await,
        Vec::<String>::new()
    );
    assert_eq!(c.ok("SEARCH SEEN").await, ["* SEARCH 2\r\n"]);
    assert_eq!(
        c.ok("UID SEARCH KEYWORD $Important").await,
        ["* SEARCH 2 3\r\n"]
    );
    assert_eq!(
        c.ok("SEARCH SUBJECT \"message 4\"").await,
        ["* SEARCH 4\r\n"]
    );
    assert_eq!(
        c.ok("SEARCH OR BODY \"message 1.\" NOT UNSEEN").await,
        ["* SEARCH 1 2\r\n"]
    );
    let esearch = c
        .command("e1", "SEARCH RETURN (MIN MAX COUNT) UNSEEN")
        .await;
    assert_eq!(
        esearch,
        [
            "* ESEARCH (TAG \"e1\") MIN 1 MAX 5 COUNT 4\r\n",
            "e1 OK SEARCH completed\r\n"
        ]
    );
    // SAVE and $ (RFC 9051 section 6.4.4.1).
    assert_eq!(
        c.ok("SEARCH RETURN (SAVE) KEYWORD $Important").await,
        Vec::<String>::new()
    );
    assert_eq!(
        c.ok("FETCH $ (UID)").await,
        ["* 2 FETCH (UID 2)\r\n", "* 3 FETCH (UID 3)\r\n"]
    );
    // K-9 sends sequence ranges inside UID SEARCH.
    assert_eq!(
        c.ok("UID SEARCH 4:5 NOT DELETED").await,
        ["* SEARCH 4 5\r\n"]
    );
    let bad = c.command("b1", "SEARCH CHARSET KOI9-X TEXT x").await;
    assert!(bad[0].starts_with("b1 NO [BADCHARSET"), "{bad:?}");
}

#[tokio::test]
async fn imap4rev2_sessions_get_esearch_and_no_recent() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.ok("ENABLE IMAP4rev2").await;
    c.append("INBOX", "", &sample_message(1)).await;
    let select = c.ok("SELECT INBOX").await;
    assert_eq!(select[0], "* 1 EXISTS\r\n");
    assert!(!select.iter().any(|l| l.contains("RECENT")), "{select:?}");
    assert!(
        select.iter().any(|l| l == "* LIST () \"/\" INBOX\r\n"),
        "{select:?}"
    );
    assert_eq!(
        c.command("s", "SEARCH ALL").await,
        [
            "* ESEARCH (TAG \"s\") ALL 1\r\n",
            "s OK SEARCH completed\r\n"
        ]
    );
    assert_eq!(c.ok("FETCH 1 FLAGS").await, ["* 1 FETCH (FLAGS ())\r\n"]);
}

#[tokio::test]
async fn copy_move_and_expunge_with_uidplus_codes() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    for n in 1..=4 {
        c.append("INBOX", "", &sample_message(n)).await;
    }
    let sel = c.ok("SELECT INBOX").await;
    let lines = c.command("c1", "COPY 1:2 Archive").await;
    assert!(lines[0].starts_with("c1 OK [COPYUID "), "{lines:?}");
    assert!(lines[0].contains(" 1:2 1:2] COPY completed"), "{lines:?}");
    let moved = c.command("m1", "UID MOVE 3 Trash").await;
    assert!(
        moved[0].starts_with("* OK [COPYUID ") && moved[0].contains(" 3 1] Moved"),
        "{moved:?}"
    );
    assert_eq!(&moved[1..], ["* 3 EXPUNGE\r\n", "m1 OK MOVE completed\r\n"]);
    let missing = c.command("c2", "COPY 1 Nowhere").await;
    assert!(missing[0].starts_with("c2 NO [TRYCREATE]"), "{missing:?}");
    // iOS re-sends MOVE for UIDs already gone: OK, not NO.
    assert_eq!(
        c.command("m2", "UID MOVE 3 Trash").await,
        ["m2 OK MOVE completed\r\n"]
    );
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    assert_eq!(c.ok("EXPUNGE").await, ["* 1 EXPUNGE\r\n"]);
    c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)").await;
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    assert_eq!(c.ok("UID EXPUNGE 4").await, ["* 2 EXPUNGE\r\n"]);
    assert_eq!(
        c.ok("STATUS Archive (MESSAGES)").await,
        ["* STATUS Archive (MESSAGES 2)\r\n"]
    );
    // CLOSE expunges silently; UNSELECT does not.
    assert_eq!(c.ok("CLOSE").await, Vec::<String>::new());
    assert_eq!(
        c.ok("STATUS INBOX (MESSAGES)").await,
        ["* STATUS INBOX (MESSAGES 0)\r\n"]
    );
    drop(sel);
    let tried = c.command("x", "FETCH 1 FLAGS").await;
    assert!(
        tried[0].starts_with("x BAD FETCH needs a selected mailbox"),
        "{tried:?}"
    );
}

#[tokio::test]
async fn append_to_a_missing_mailbox_says_trycreate() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let msg = sample_message(1);
    let lines = c
        .command("a", &format!("APPEND Nope {{{}+}}\r\n{msg}", msg.len()))
        .await;
    assert!(lines[0].starts_with("a NO [TRYCREATE]"), "{lines:?}");
}

#[tokio::test]
async fn condstore_modseq_and_unchangedsince() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.append("INBOX", "", &sample_message(1)).await;
    c.append("INBOX", "", &sample_message(2)).await;
    let sel = c.ok("SELECT INBOX (CONDSTORE)").await;
    let highest: u64 = code_value(&sel, "HIGHESTMODSEQ").parse().unwrap();
    let fetched = c.ok("FETCH 1:2 (MODSEQ)").await;
    assert_eq!(fetched.len(), 2, "{fetched:?}");
    let stored = c
        .command(
            "u1",
            &format!("STORE 1 (UNCHANGEDSINCE {highest}) +FLAGS (\\Seen)"),
        )
        .await;
    assert!(stored.last().unwrap().starts_with("u1 OK"), "{stored:?}");
    let stale = c
        .command(
            "u2",
            &format!("STORE 1 (UNCHANGEDSINCE {}) -FLAGS (\\Seen)", highest - 1),
        )
        .await;
    assert_eq!(
        stale.last().unwrap(),
        "u2 OK [MODIFIED 1] Conditional STORE failed for some messages\r\n"
    );
    let changed = c
        .ok(&format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})"))
        .await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].starts_with("* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ ("),
        "{changed:?}"
    );
}
