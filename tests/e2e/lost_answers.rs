//! Issue 19 finding 5: a write forwarded to the account's owner whose answer is lost (the
//! node link closes, or the owner dies, right after the commit) used to be answered NO while
//! stored, so a client that retried made a duplicate. Now the session's node sends it again
//! under the same request key and the owner, or the next owner, answers the original result:
//! the client gets OK with the UIDs that were stored, and every message is there once.
//!
//! The owner loses the answer on purpose through the debug build's `ROOST_TEST_LOSE_ANSWER`
//! (see `src/cluster/fault.rs`).

use crate::support::*;

/// `a` loses its answer to the first `request` as `how` says; `b` is a plain node.
fn owner_losing(request: &str, how: &str) -> (Redis, tempfile::TempDir, Server, Server) {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let fault = format!("{request}:{how}");
    let a = Server::start_node_with_env(
        data.path(),
        "node-a",
        &redis,
        &[("ROOST_TEST_LOSE_ANSWER", &fault)],
    );
    let b = Server::start_node(data.path(), "node-b", &redis, |_| {});
    (redis, data, a, b)
}

/// Every message of INBOX with its subject, in UID order.
async fn subjects(c: &mut Client, mailbox: &str) -> Vec<String> {
    c.ok(&format!("SELECT {mailbox}")).await;
    c.ok("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .await
        .iter()
        .filter(|l| l.starts_with("Subject:"))
        .map(|l| l.trim_end().to_owned())
        .collect()
}

#[tokio::test]
async fn an_append_whose_answer_the_link_lost_is_stored_once_and_answered_ok() {
    let (_redis, _data, a, b) = owner_losing("mailbox.append", "close");
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await; // node-a owns the account
    let mut remote = Client::logged_in(&b).await;
    // The owner stores the message, then closes the link instead of answering.
    let uid = remote.append("INBOX", "", &sample_message(1)).await;
    assert_eq!(uid, 1);
    assert!(a.wait_for_log(&["test fault: closing the link"]));
    assert!(a.wait_for_log(&["a repeated request was answered as before"]));
    let uid = remote.append("INBOX", "", &sample_message(2)).await;
    assert_eq!(uid, 2);
    let mut check = Client::logged_in(&a).await;
    assert_eq!(
        subjects(&mut check, "INBOX").await,
        ["Subject: Message 1", "Subject: Message 2"]
    );
}

#[tokio::test]
async fn an_append_whose_owner_dies_right_after_the_commit_is_answered_by_the_next_owner() {
    let (_redis, _data, a, b) = owner_losing("mailbox.append", "exit");
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await;
    let mut remote = Client::logged_in(&b).await;
    // node-a commits and exits; node-b keeps asking until it owns the account (after the
    // 3 s lease), finds the key in the log and answers with the UID stored.
    let uid = remote.append("INBOX", "", &sample_message(1)).await;
    assert_eq!(uid, 1);
    assert!(b.wait_for_log(&["a repeated request was answered as before"]));
    assert_eq!(subjects(&mut remote, "INBOX").await, ["Subject: Message 1"]);
    let uid = remote.append("INBOX", "", &sample_message(2)).await;
    assert_eq!(uid, 2);
}

#[tokio::test]
async fn a_move_whose_answer_the_link_lost_is_carried_out_once_and_answered_ok() {
    let (_redis, _data, a, b) = owner_losing("mailbox.copy", "close");
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await;
    owner.append("INBOX", "", &sample_message(1)).await;
    owner.append("INBOX", "", &sample_message(2)).await;
    let mut remote = Client::logged_in_rev2(&b).await;
    remote.ok("SELECT INBOX").await;
    let lines = remote.command("m", "UID MOVE 1:2 Archive").await;
    let last = lines.last().unwrap();
    assert!(last.starts_with("m OK"), "{lines:?}");
    let copyuid = code_value(&lines, "COPYUID");
    assert!(
        copyuid.as_deref().is_some_and(|c| c.ends_with(" 1:2 1:2")),
        "{lines:?}"
    );
    let mut check = Client::logged_in(&a).await;
    assert_eq!(
        subjects(&mut check, "Archive").await,
        ["Subject: Message 1", "Subject: Message 2"]
    );
    assert!(subjects(&mut check, "INBOX").await.is_empty());
}

#[tokio::test]
async fn a_conditional_store_whose_answer_the_link_lost_is_not_reported_as_modified() {
    let (_redis, _data, a, b) = owner_losing("mailbox.store", "close");
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await;
    owner.append("INBOX", "", &sample_message(1)).await;
    let mut remote = Client::logged_in_rev2(&b).await;
    remote.ok("ENABLE CONDSTORE").await;
    let select = remote.ok("SELECT INBOX").await;
    let since = code_value(&select, "HIGHESTMODSEQ").unwrap();
    let lines = remote
        .command(
            "s",
            &format!("UID STORE 1 (UNCHANGEDSINCE {since}) +FLAGS (\\Flagged)"),
        )
        .await;
    let last = lines.last().unwrap();
    // A plain repeat would find the message changed since (by itself) and say MODIFIED.
    assert!(
        last.starts_with("s OK") && !last.contains("MODIFIED"),
        "{lines:?}"
    );
    assert!(a.wait_for_log(&["a repeated request was answered as before"]));
    let mut check = Client::logged_in(&a).await;
    check.ok("SELECT INBOX").await;
    assert_eq!(
        check.ok("FETCH 1 (FLAGS)").await,
        ["* 1 FETCH (FLAGS (\\Flagged))\r\n"]
    );
}

/// The names LIST shows.
async fn mailbox_names(c: &mut Client) -> Vec<String> {
    let mut names: Vec<String> = c
        .ok("LIST \"\" *")
        .await
        .iter()
        .filter_map(|l| {
            l.trim_end()
                .rsplit_once(' ')
                .map(|(_, n)| n.trim_matches('"').to_owned())
        })
        .collect();
    names.sort();
    names
}

/// Nodes where `a` owns the account (after `setup` there) and loses its answer to the first
/// `request` as `how` says; `command`, sent through `b`, must be answered OK, and the node
/// that answers the repeat (`a` after a closed link, `b` once `a` exited) must have found its
/// key. Returns the session on `b` (and what must live as long as it).
async fn account_command_losing_answer(
    request: &str,
    how: &str,
    setup: &[&str],
    command: &str,
) -> (Redis, tempfile::TempDir, Server, Server, Client) {
    let (redis, data, a, b) = owner_losing(request, how);
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await;
    for line in setup {
        owner.ok(line).await;
    }
    let mut remote = Client::logged_in(&b).await;
    let lines = remote.command("k", command).await;
    assert!(lines.last().unwrap().starts_with("k OK"), "{lines:?}");
    let answering = if how == "exit" { &b } else { &a };
    assert!(answering.wait_for_log(&["a repeated request was answered as before"]));
    (redis, data, a, b, remote)
}

/// Account-wide commands are forwarded under a key too: a RENAME done by the owner whose
/// answer the link lost is answered with its result when sent again, not `NO [NONEXISTENT]`
/// (the old name is gone by then), and is done once.
#[tokio::test]
async fn a_rename_whose_answer_the_link_lost_is_answered_ok_not_nonexistent() {
    let (_redis, _data, _a, _b, mut remote) = account_command_losing_answer(
        "account.rename",
        "close",
        &["CREATE Projects/2026"],
        "RENAME Projects Done",
    )
    .await;
    let names = mailbox_names(&mut remote).await;
    assert!(
        names.contains(&"Done".to_owned()) && names.contains(&"Done/2026".to_owned()),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("Projects")),
        "{names:?}"
    );
}

/// A DELETE whose answer was lost is answered OK, not `NO [NONEXISTENT]`.
#[tokio::test]
async fn a_delete_whose_answer_the_link_lost_is_answered_ok() {
    let (_redis, _data, _a, _b, mut remote) =
        account_command_losing_answer("account.delete", "close", &[], "DELETE Junk").await;
    let names = mailbox_names(&mut remote).await;
    assert!(!names.contains(&"Junk".to_owned()), "{names:?}");
}

/// A CREATE whose owner dies right after the commit is answered OK by the next owner, which
/// finds the key in the account log (a plain repeat would say `NO [ALREADYEXISTS]`).
#[tokio::test]
async fn a_create_whose_owner_dies_right_after_the_commit_is_answered_by_the_next_owner() {
    let (_redis, _data, _a, _b, mut remote) =
        account_command_losing_answer("account.create", "exit", &[], "CREATE Work").await;
    let names = mailbox_names(&mut remote).await;
    assert_eq!(
        names.iter().filter(|n| *n == "Work").count(),
        1,
        "{names:?}"
    );
    remote.ok("SELECT Work").await;
}
