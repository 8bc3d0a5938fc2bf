//! A session that has not yet heard of a RENAME (and of the new mailbox created under the old
//! name) keeps sending STOREs and EXPUNGEs: none of them may land in the new mailbox. Remote
//! operations name the mailbox by id and UIDVALIDITY, so the owner refuses them (`Gone`)
//! and the session is closed as if the notice had arrived; local handles are bound to the
//! renamed mailbox's actor.

use crate::support::*;

/// Writes through `racer` while `other` renames `Work` away and creates a new `Work` with
/// three new messages; then checks that the new mailbox carries none of `racer`'s changes.
async fn race(racer: &mut Client, other: &mut Client) {
    other.ok("CREATE Work").await;
    for n in 0..3 {
        other.append("Work", "", &sample_message(n)).await;
    }
    racer.ok("SELECT Work").await;
    // Many writes in flight while the mailbox is renamed and recreated.
    let mut pipeline = String::new();
    for i in 0..200 {
        pipeline.push_str(&format!("s{i} UID STORE 1:3 +FLAGS.SILENT (\\Flagged)\r\n"));
        pipeline.push_str(&format!("e{i} UID EXPUNGE 1:3\r\n"));
    }
    racer.send(&pipeline).await;
    other.ok("RENAME Work Old").await;
    other.ok("CREATE Work").await;
    for n in 10..13 {
        other.append("Work", "\\Deleted", &sample_message(n)).await;
    }
    // Every pipelined command is answered: OK before the rename, refused after.
    let mut answered = 0;
    while answered < 400 {
        let line = racer.line().await;
        if line.starts_with('s') || line.starts_with('e') {
            answered += 1;
            assert!(
                line.contains(" OK ") || line.contains(" NO ") || line.contains(" BAD "),
                "{line}"
            );
        }
    }
    // The new Work: its three messages are there, untouched by the racer.
    let lines = other.ok("EXAMINE Work").await;
    assert!(lines.contains(&"* 3 EXISTS\r\n".to_owned()), "{lines:?}");
    let flags = other.ok("FETCH 1:* (FLAGS)").await;
    assert_eq!(flags.len(), 3, "{flags:?}");
    for line in &flags {
        assert!(
            !line.contains("\\Flagged"),
            "the racer wrote into the new mailbox: {line}"
        );
    }
}

#[tokio::test]
async fn writes_from_a_session_behind_a_rename_never_reach_the_new_mailbox_on_one_node() {
    let server = Server::start();
    let mut racer = Client::logged_in_rev2(&server).await;
    let mut other = Client::logged_in(&server).await;
    race(&mut racer, &mut other).await;
}

#[tokio::test]
async fn writes_from_a_session_behind_a_rename_never_reach_the_new_mailbox_across_nodes() {
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, |_| {});
    let b = Server::start_node(data.path(), "node-b", &redis, |_| {});
    let mut other = Client::logged_in(&a).await;
    other.ok("SELECT INBOX").await; // node-a owns the account
    let mut racer = Client::logged_in_rev2(&b).await; // node-b reaches it over the link
    race(&mut racer, &mut other).await;
}
