//! Mailbox commands over the wire: LIST, LSUB, CREATE, DELETE, RENAME, SUBSCRIBE, STATUS,
//! NAMESPACE (RFC 9051 section 6.3).

use crate::support::*;

#[tokio::test]
async fn a_new_account_has_the_special_use_mailboxes() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let lines = c.ok("LIST \"\" \"*\"").await;
    assert_eq!(
        lines,
        [
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n",
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk\r\n",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n",
        ]
    );
    assert_eq!(
        c.ok("LIST \"\" \"\"").await,
        ["* LIST (\\Noselect) \"/\" \"\"\r\n"]
    );
    assert_eq!(
        c.ok("NAMESPACE").await,
        ["* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"]
    );
}

#[tokio::test]
async fn create_rename_delete_with_hierarchy() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE Work/Projects/Roost").await;
    assert_eq!(
        c.ok("LIST \"\" \"Work*\"").await,
        [
            "* LIST (\\HasChildren) \"/\" Work\r\n",
            "* LIST (\\HasChildren) \"/\" Work/Projects\r\n",
            "* LIST (\\HasNoChildren) \"/\" Work/Projects/Roost\r\n",
        ]
    );
    // The reference is prefixed as it is (RFC 9051 section 6.3.9): `Work` + `%`.
    assert_eq!(
        c.ok("LIST Work %").await,
        ["* LIST (\\HasChildren) \"/\" Work\r\n"]
    );
    assert_eq!(
        c.ok("LIST Work/ %").await,
        ["* LIST (\\HasChildren) \"/\" Work/Projects\r\n"]
    );
    let again = c.command("c2", "CREATE Work").await;
    assert!(again[0].starts_with("c2 NO [ALREADYEXISTS]"), "{again:?}");
    c.ok("RENAME Work Jobs").await;
    assert_eq!(c.ok("LIST \"\" Jobs/Projects/Roost").await.len(), 1);
    assert!(c.ok("LIST \"\" Work*").await.is_empty());
    let refused = c.command("d1", "DELETE INBOX").await;
    assert!(refused[0].starts_with("d1 NO "), "{refused:?}");
    c.ok("DELETE Jobs/Projects/Roost").await;
    let missing = c.command("d2", "DELETE Nope").await;
    assert!(missing[0].starts_with("d2 NO [NONEXISTENT]"), "{missing:?}");
    let bad = c.command("c3", "CREATE \"a//b\"").await;
    assert!(bad[0].starts_with("c3 NO [CANNOT]"), "{bad:?}");
}

#[tokio::test]
async fn create_special_use_and_list_extended_selection() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE Everything (USE (\\All))").await;
    let lines = c
        .ok("LIST (SPECIAL-USE) \"\" \"*\" RETURN (SPECIAL-USE)")
        .await;
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("\\All) \"/\" Everything")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.ends_with(" INBOX\r\n")));
    let bad = c.command("u1", "CREATE X (USE (\\Nonsense))").await;
    assert!(bad[0].starts_with("u1 NO [USEATTR]"), "{bad:?}");
}

#[tokio::test]
async fn subscriptions_lsub_and_list_subscribed_with_nonexistent() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE Lists").await;
    c.ok("SUBSCRIBE Lists").await;
    c.ok("SUBSCRIBE Gone").await;
    c.ok("SUBSCRIBE Sent").await;
    // The special-use mailboxes of a new account start subscribed, as clients expect.
    assert_eq!(
        c.ok("LSUB \"\" \"*\"").await,
        [
            "* LSUB (\\Archive) \"/\" Archive\r\n",
            "* LSUB (\\Drafts) \"/\" Drafts\r\n",
            "* LSUB (\\Noselect) \"/\" Gone\r\n",
            "* LSUB () \"/\" INBOX\r\n",
            "* LSUB (\\Junk) \"/\" Junk\r\n",
            "* LSUB () \"/\" Lists\r\n",
            "* LSUB (\\Sent) \"/\" Sent\r\n",
            "* LSUB (\\Trash) \"/\" Trash\r\n",
        ]
    );
    assert_eq!(
        c.ok("LIST (SUBSCRIBED) \"\" \"[GLS]*\" RETURN (SPECIAL-USE)")
            .await,
        Vec::<String>::new(),
        "no wildcard classes in IMAP patterns"
    );
    assert_eq!(
        c.ok("LIST (SUBSCRIBED) \"\" \"*\" RETURN (SPECIAL-USE)")
            .await[2..6],
        [
            "* LIST (\\NonExistent \\Subscribed) \"/\" Gone\r\n",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX\r\n",
            "* LIST (\\HasNoChildren \\Junk \\Subscribed) \"/\" Junk\r\n",
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" Lists\r\n",
        ]
    );
    c.ok("UNSUBSCRIBE Gone").await;
    assert_eq!(c.ok("LSUB \"\" G*").await.len(), 0);
}

#[tokio::test]
async fn status_and_list_status() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.append("INBOX", "\\Seen", &sample_message(1)).await;
    c.append("INBOX", "", &sample_message(2)).await;
    let status = c
        .ok("STATUS INBOX (MESSAGES UNSEEN UIDNEXT RECENT SIZE DELETED)")
        .await;
    let size = sample_message(1).len() + sample_message(2).len();
    assert_eq!(
        status,
        [format!(
            "* STATUS INBOX (MESSAGES 2 UNSEEN 1 UIDNEXT 3 RECENT 2 SIZE {size} DELETED 0)\r\n"
        )]
    );
    let lines = c
        .ok("LIST \"\" \"INBOX\" RETURN (STATUS (MESSAGES UNSEEN))")
        .await;
    assert_eq!(
        lines,
        [
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n",
            "* STATUS INBOX (MESSAGES 2 UNSEEN 1)\r\n"
        ]
    );
    let missing = c.command("s1", "STATUS Nope (MESSAGES)").await;
    assert!(missing[0].starts_with("s1 NO [NONEXISTENT]"), "{missing:?}");
}

#[tokio::test]
async fn modified_utf7_names_for_imap4rev1_and_utf8_after_enable() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.ok("CREATE \"Entw&APw-rfe\"").await;
    assert_eq!(
        c.ok("LIST \"\" \"Entw*\"").await,
        ["* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\r\n"]
    );
    let mut d = Client::logged_in(&server).await;
    d.ok("ENABLE IMAP4rev2").await;
    assert_eq!(
        d.ok("LIST \"\" \"Entw*\"").await,
        ["* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\r\n"]
    );
    // Not modified UTF-7: no mailbox can have the name (issue 12).
    let bad = c.command("b1", "CREATE \"&Jjo!\"").await;
    assert!(bad[0].starts_with("b1 NO [CANNOT] "), "{bad:?}");
}
