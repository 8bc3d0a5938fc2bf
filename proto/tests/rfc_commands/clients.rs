//! Commands real clients send (`../shared/notes/clients.md`), which must decode.

use bytes::BytesMut;
use roost_proto::*;

fn decode(wire: &str) -> Command {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(wire.as_bytes());
    loop {
        match d.decode(&mut buf) {
            Decoded::LiteralAnnounced { .. } => {}
            Decoded::Command(c) => {
                assert!(buf.is_empty());
                return c;
            }
            other => panic!("{wire:?}: {other:?}"),
        }
    }
}

#[test]
fn client_commands_decode() {
    for wire in [
        // Thunderbird (clients.md section 2)
        "1 select \"INBOX\"\r\n",
        "2 UID fetch 1:* (FLAGS)\r\n",
        "3 UID fetch 1:* (FLAGS) (CHANGEDSINCE 12)\r\n",
        "4 UID fetch 5 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To Received)])\r\n",
        "5 UID fetch 7 (UID RFC822.SIZE BODY[]<0.65536>)\r\n",
        "6 STATUS \"box\" (UIDNEXT MESSAGES UNSEEN RECENT)\r\n",
        "7 uid store 4:9 +FLAGS (\\Deleted)\r\n",
        "8 uid move 4:9 \"Trash\"\r\n",
        "9 uid expunge 4:9\r\n",
        "10 list (subscribed) \"\" \"*\" return (special-use)\r\n",
        "11 lsub \"\" \"*\"\r\n",
        "12 append \"Sent\" (\\Seen) \"07-Feb-1994 21:52:25 -0800\" {3+}\r\nabc\r\n",
        "13 uid SEARCH UNDELETED HEADER Message-ID <id@host>\r\n",
        "14 ID (\"name\" \"Thunderbird\" \"version\" \"128.0\")\r\n",
        "15 COMPRESS DEFLATE\r\n",
        "16 ENABLE UTF8=ACCEPT\r\n",
        "17 authenticate PLAIN\r\n",
        "18 login \"u\" \"p\\\\\\\"q\"\r\n",
        // K-9 (section 3)
        "19 UID SEARCH 951:1000 SINCE 1-Feb-2024 NOT DELETED\r\n",
        "20 UID SEARCH *:*\r\n",
        "21 SEARCH 1:* UNSEEN NOT DELETED\r\n",
        "22 UID FETCH 1,2,3 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (date subject from content-type to cc bcc reply-to message-id references in-reply-to list-post list-unsubscribe sender X-K9mail-Identity Chat-Version)])\r\n",
        "23 UID FETCH 1 (BODYSTRUCTURE BODY.PEEK[]<0.4096> BODY.PEEK[TEXT]<0.4096> BODY.PEEK[1.2])\r\n",
        "24 LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n",
        "25 AUTHENTICATE XOAUTH2 dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==\r\n",
        // Apple Mail (section 4)
        "8.1049 UID FETCH 265 (BODY.PEEK[1]<208.78> BODY.PEEK[2]<2027.77>)\r\n",
        "26 LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (UNSEEN))\r\n",
        // NeoMutt (section 6)
        "27 FETCH 1:5 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SENDER SUBJECT TO CC MESSAGE-ID REFERENCES CONTENT-TYPE CONTENT-DESCRIPTION IN-REPLY-TO REPLY-TO LINES LIST-POST LIST-SUBSCRIBE LIST-UNSUBSCRIBE X-LABEL X-ORIGINAL-TO)])\r\n",
        "28 UID FETCH 1:5 (FLAGS) (CHANGEDSINCE 4 VANISHED)\r\n",
        // mbsync (section 7)
        "29 UID STORE 5 +FLAGS.SILENT (\\Seen \\Flagged)\r\n",
        "30 UID FETCH * (UID)\r\n",
        // OfflineIMAP, go-imap (section 8)
        "31 SEARCH (UID 5:* SINCE 1-Jan-2020 SMALLER 100000)\r\n",
        "32 UID SEARCH (UID 1:5 UNSEEN)\r\n",
        // Misc grammar corners
        "33 FETCH 1 (BODY[1.2.MIME] BODY[3.HEADER.FIELDS.NOT (X-A)] BINARY.PEEK[1]<0.10> BINARY.SIZE[2] BINARY[] RFC822 RFC822.HEADER RFC822.TEXT ENVELOPE MODSEQ)\r\n",
        "34 FETCH 1:* FAST\r\n",
        "35 FETCH 1 FULL\r\n",
        "36 SEARCH OR (FROM a TO b) (NEW OLD RECENT) SENTON 1-Jan-2020 SENTBEFORE \"2-Jan-2020\" SENTSINCE 3-Jan-2020 ON 4-Jan-2020 BEFORE 5-Jan-2020 BCC x CC y BODY z SUBJECT s ANSWERED UNANSWERED DRAFT UNDRAFT FLAGGED UNFLAGGED SEEN DELETED UNDELETED KEYWORD k UNKEYWORD k2 ALL LARGER 5\r\n",
        "37 EXAMINE INBOX (CONDSTORE)\r\n",
        "38 SETQUOTA \"\" ()\r\n",
        "39 ID ()\r\n",
        "  40 NOOP\r\n",
        "41 CHECK\r\n",
        "42 STORE 1 FLAGS ()\r\n",
    ] {
        decode(wire);
    }
}

#[test]
fn mixed_case_names_and_inbox() {
    let c = decode("a1 sElEcT inbox\r\n");
    assert_eq!(
        c.body,
        CommandBody::Select {
            mailbox: MailboxName::from_wire("INBOX"),
            params: SelectParams::default()
        }
    );
}

#[test]
fn header_fields_are_kept_as_written() {
    let c = decode("a1 FETCH 1 BODY.PEEK[HEADER.FIELDS (date Subject)]\r\n");
    let CommandBody::Fetch { items, .. } = c.body else {
        panic!()
    };
    assert_eq!(
        items,
        FetchItems::List(vec![FetchAttribute::BodySection {
            peek: true,
            section: Section {
                part: vec![],
                text: Some(SectionText::HeaderFields(vec![
                    b"date".to_vec(),
                    b"Subject".to_vec()
                ]))
            },
            partial: None
        }])
    );
}

#[test]
fn invalid_forms_are_refused() {
    for wire in [
        "a FETCH 1 (FLAGS) (VANISHED)\r\n",
        "a FETCH 1 (FLAGS) (CHANGEDSINCE 5 VANISHED)\r\n",
        "a LIST (RECURSIVEMATCH) \"\" *\r\n",
        "a SEARCH\r\n",
        "a SEARCH FOO\r\n",
        "a FETCH 0 FLAGS\r\n",
        "a FETCH 1 BODY[MIME]\r\n",
        "a FETCH 1 BODY.PEEK\r\n",
        "a STORE 1 FLAGS\r\n",
        "a SELECT INBOX (FOO)\r\n",
        "a  NOOP\r\n",
        "a NOOP \r\n",
        "a LOGIN a\r\n",
        "a APPEND INBOX\r\n",
        "a APPEND INBOX (\\Seen)\r\n",
        "a STATUS INBOX (BOGUS)\r\n",
        "a AUTHENTICATE PLAIN !!!\r\n",
        "a UID NOOP\r\n",
        "a SEARCH SINCE 31-Feb-2020\r\n",
        "a ENABLE\r\n",
    ] {
        let mut d = CommandDecoder::new(Limits::default());
        let mut buf = BytesMut::from(wire.as_bytes());
        match d.decode(&mut buf) {
            Decoded::Error(e) => assert_eq!(e.tag, Some(Tag::new("a").unwrap()), "{wire:?}"),
            other => panic!("{wire:?} should fail, got {other:?}"),
        }
    }
}
