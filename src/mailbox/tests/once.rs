//! Keyed writes (issue 19 finding 5): a repeat of a forwarded write's key is answered with
//! the first result, whether the first is committed, still running, or was committed by an
//! earlier run of the node (a new owner loads the keys from the log).

use super::{message, registry};
use crate::mailbox::request::{Answer, MailboxOp};
use crate::mailbox::{Appended, MailboxHandle};
use crate::store::requests::RequestKey;

fn keyed_append(key: u128, text: &str) -> MailboxOp {
    MailboxOp::Once {
        key: RequestKey(key),
        op: Box::new(MailboxOp::Append {
            messages: vec![message(text, vec![])],
        }),
    }
}

fn appended(answer: Result<Answer, crate::mailbox::MailboxError>) -> Appended {
    match answer {
        Ok(Answer::Appended(a)) => a,
        other => panic!("not appended: {other:?}"),
    }
}

/// alice's INBOX in a registry on `dir` (a node's run: a new registry is a restart).
async fn inbox_of(
    dir: &std::path::Path,
) -> (std::sync::Arc<crate::mailbox::Registry>, MailboxHandle) {
    let registry = registry(dir);
    let account = registry.account("alice").await.unwrap();
    let inbox = account.open("INBOX").await.unwrap();
    (registry, inbox)
}

#[actix_rt::test]
async fn a_repeated_key_is_answered_as_before_without_writing_again() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, inbox) = inbox_of(dir.path()).await;
    // Two sends of one key at once (the repeat arriving while the first still writes), then
    // one later: all three answered with the same UID, one message stored.
    let (first, second) = tokio::join!(
        inbox.run(keyed_append(42, "once")),
        inbox.run(keyed_append(42, "once"))
    );
    let (first, second) = (appended(first), appended(second));
    assert_eq!(first.uids, [1]);
    assert_eq!(second.uids, [1]);
    assert_eq!(
        appended(inbox.run(keyed_append(42, "once")).await).uids,
        [1]
    );
    assert_eq!(
        appended(inbox.run(keyed_append(43, "other")).await).uids,
        [2]
    );
    assert_eq!(inbox.status().await.unwrap().messages, 2);

    // After a restart (or on the next owner), the key is known from the log.
    drop((inbox, registry));
    let (_registry, inbox) = inbox_of(dir.path()).await;
    assert_eq!(
        appended(inbox.run(keyed_append(42, "once")).await).uids,
        [1]
    );
    assert_eq!(inbox.status().await.unwrap().messages, 2);
}

#[actix_rt::test]
async fn a_repeated_keyed_move_is_carried_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, inbox) = inbox_of(dir.path()).await;
    let account = registry.account("alice").await.unwrap();
    let archive = account.open("Archive").await.unwrap();
    for text in ["a", "b"] {
        inbox.append(vec![message(text, vec![])]).await.unwrap();
    }
    let key = Some(RequestKey(7));
    let moved = inbox
        .copy_keyed(vec![1, 2], &archive, true, key)
        .await
        .unwrap();
    assert_eq!(moved.destination_uids, [1, 2]);
    // The repeat finds its sources gone, and the destination answers with what it did.
    let again = inbox
        .copy_keyed(vec![1, 2], &archive, true, key)
        .await
        .unwrap();
    assert_eq!(again.source_uids, [1, 2]);
    assert_eq!(again.destination_uids, [1, 2]);
    assert_eq!(archive.status().await.unwrap().messages, 2);
    assert_eq!(inbox.status().await.unwrap().messages, 0);
    // A COPY under a new key copies.
    let copied = archive
        .copy_keyed(vec![1], &inbox, false, Some(RequestKey(8)))
        .await
        .unwrap();
    assert_eq!(copied.destination_uids, [3]);
    let again = archive
        .copy_keyed(vec![1], &inbox, false, Some(RequestKey(8)))
        .await
        .unwrap();
    assert_eq!(again.destination_uids, [3]);
    assert_eq!(inbox.status().await.unwrap().messages, 1);
}

#[actix_rt::test]
async fn a_repeated_store_with_unchangedsince_reports_its_own_change_not_modified() {
    use crate::mailbox::StoreFlags;
    use roost_proto::{Flag, StoreAction};
    let dir = tempfile::tempdir().unwrap();
    let (_registry, inbox) = inbox_of(dir.path()).await;
    inbox.append(vec![message("a", vec![])]).await.unwrap();
    let since = inbox.status().await.unwrap().highest_mod_seq;
    let store = MailboxOp::Once {
        key: RequestKey(9),
        op: Box::new(MailboxOp::Store(StoreFlags {
            uids: vec![1],
            action: StoreAction::Add,
            flags: vec![Flag::Flagged],
            unchanged_since: Some(since),
        })),
    };
    for _ in 0..2 {
        match inbox.run(store.clone()).await {
            Ok(Answer::Stored(outcome)) => {
                assert_eq!(outcome.changed, [1]);
                assert!(outcome.modified.is_empty());
                assert_eq!(outcome.mod_seq, since + 1);
            }
            other => panic!("{other:?}"),
        }
    }
    let expunge = MailboxOp::Once {
        key: RequestKey(10),
        op: Box::new(MailboxOp::Expunge(crate::mailbox::ExpungeScope::Exactly(
            vec![1],
        ))),
    };
    for _ in 0..2 {
        match inbox.run(expunge.clone()).await {
            Ok(Answer::Expunged(expunged)) => assert_eq!(expunged.uids, [1]),
            other => panic!("{other:?}"),
        }
    }
}

/// An attempt refused (or unanswered) after its files were written, on an owner that could
/// not remove them (fenced): the next open lists them again, and the repeat of the key is
/// answered with their UIDs instead of storing the message twice.
#[actix_rt::test]
async fn a_repeated_append_whose_files_recovery_listed_again_is_answered_with_their_uids() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, inbox) = inbox_of(dir.path()).await;
    inbox.append(vec![message("before", vec![])]).await.unwrap();
    let key = RequestKey(0x5eed);
    let MailboxOp::Once { op, .. } = keyed_append(key.0, "left behind") else {
        unreachable!()
    };
    let MailboxOp::Append { messages } = *op else {
        unreachable!()
    };
    let [id] = crate::store::blobs::keyed_blob_ids(key, 1)[..] else {
        unreachable!()
    };
    let path = inbox.blob_path(id);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &messages[0].data).unwrap();
    drop((inbox, registry));

    let (_registry, inbox) = inbox_of(dir.path()).await;
    assert_eq!(inbox.status().await.unwrap().messages, 2);
    let recovered = inbox.entries(vec![1, 2, 3, 4]).await.unwrap().0;
    let uid = recovered.iter().find(|e| e.blob == id).unwrap().uid;
    for _ in 0..2 {
        let again = appended(inbox.run(keyed_append(key.0, "left behind")).await);
        assert_eq!(again.uids, [uid]);
    }
    assert_eq!(inbox.status().await.unwrap().messages, 2);
    // Another key is a new message.
    let other = appended(inbox.run(keyed_append(key.0 + 100, "new")).await);
    assert_ne!(other.uids, [uid]);
    assert_eq!(inbox.status().await.unwrap().messages, 3);
}

/// Account-wide changes under a key: a repeated RENAME or CREATE is answered with the first
/// result (not `NONEXISTENT` / `ALREADYEXISTS`), also after a restart, and is not made twice.
#[actix_rt::test]
async fn a_repeated_account_key_is_answered_as_before_without_changing_again() {
    use crate::mailbox::request::AccountOp;
    let keyed = |key: u128, op: AccountOp| AccountOp::Once {
        key: RequestKey(key),
        op: Box::new(op),
    };
    let rename = || AccountOp::Rename {
        from: "Archive".into(),
        to: "Old".into(),
    };
    let create = || AccountOp::Create {
        name: "Work".into(),
        special_use: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let account = registry.account("alice").await.unwrap();
    let renamed = vec![("Archive".to_string(), "Old".to_string())];
    for _ in 0..2 {
        match account.run(keyed(7, rename())).await {
            Ok(Answer::Renamed(r)) => assert_eq!(r, renamed),
            other => panic!("not renamed: {other:?}"),
        }
    }
    let Ok(Answer::Info(work)) = account.run(keyed(8, create())).await else {
        panic!("not created")
    };
    drop(account);
    drop(registry);
    let registry = super::registry(dir.path());
    let account = registry.account("alice").await.unwrap();
    match account.run(keyed(7, rename())).await {
        Ok(Answer::Renamed(r)) => assert_eq!(r, renamed),
        other => panic!("not renamed: {other:?}"),
    }
    match account.run(keyed(8, create())).await {
        Ok(Answer::Info(again)) => assert_eq!(again, work),
        other => panic!("not created: {other:?}"),
    }
    // A new key is a new command: the name exists now.
    assert!(account.run(keyed(9, create())).await.is_err());
    // A key reused for another kind of operation is refused, not misanswered.
    assert!(account.run(keyed(7, create())).await.is_err());
    let view = account.view().await.unwrap();
    let names: Vec<&str> = view.mailboxes.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"Old") && names.contains(&"Work") && !names.contains(&"Archive"));
}

/// A repeat that comes after the mailbox has forgotten its key (more keyed writes since than
/// it remembers: a requester paused past the lease retries late) still finds the message
/// its first attempt stored: the files are named from the key.
#[actix_rt::test]
async fn a_repeated_append_whose_key_was_forgotten_is_still_answered_with_its_uid() {
    use crate::store::requests::{Outcome, RecentRequests};
    let dir = tempfile::tempdir().unwrap();
    let (_registry, inbox) = inbox_of(dir.path()).await;
    let first = appended(inbox.run(keyed_append(1, "early")).await).uids;
    let others: Vec<_> = (2..RecentRequests::<Outcome>::MAX_KEYS as u128 + 10)
        .map(|k| {
            let inbox = inbox.clone();
            actix_rt::spawn(async move { inbox.run(keyed_append(k, "later")).await })
        })
        .collect();
    for answer in others {
        appended(answer.await.unwrap());
    }
    let count = inbox.status().await.unwrap().messages;
    assert_eq!(
        appended(inbox.run(keyed_append(1, "early")).await).uids,
        first
    );
    assert_eq!(inbox.status().await.unwrap().messages, count);
}
