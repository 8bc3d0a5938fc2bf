//! Mailbox actor: group commit, events after commit, STORE, EXPUNGE, COPY/MOVE, `\Recent`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use roost_proto::{Atom, Flag, StoreAction};

use super::{message, registry, Listener};
use crate::mailbox::{Change, MailboxError, StoreFlags};
use crate::store::FlagSet;

fn keyword(name: &str) -> Flag {
    Flag::Keyword(Atom::new(name).unwrap())
}

fn store(uids: Vec<u32>, action: StoreAction, flags: Vec<Flag>, since: Option<u64>) -> StoreFlags {
    StoreFlags {
        uids,
        action,
        flags,
        unchanged_since: since,
    }
}

#[actix_rt::test]
async fn concurrent_appends_share_fsyncs_and_get_distinct_uids() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let inbox = registry
        .account("alice")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    let before = registry.metrics().log_syncs.load(Ordering::Relaxed);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let inbox = inbox.clone();
        tasks.push(actix_rt::spawn(async move {
            inbox.append(vec![message(&format!("m{i}"), vec![])]).await
        }));
    }
    let mut uids = Vec::new();
    for task in tasks {
        let appended = task.await.unwrap().unwrap();
        uids.extend(appended.uids);
    }
    uids.sort_unstable();
    assert_eq!(uids, (1..=60).collect::<Vec<u32>>());
    let syncs = registry.metrics().log_syncs.load(Ordering::Relaxed) - before;
    println!("60 concurrent appends: {syncs} log fsyncs");
    assert!(syncs < 60, "no group commit: {syncs} fsyncs");
    let status = inbox.status().await.unwrap();
    assert_eq!((status.messages, status.uid_next), (60, 61));

    // Everything acknowledged is on disk: a fresh registry (a restart) sees it.
    drop(inbox);
    let again = registry_restart(dir.path()).await;
    assert_eq!(again.status().await.unwrap().messages, 60);
}

async fn registry_restart(dir: &std::path::Path) -> crate::mailbox::MailboxHandle {
    let registry = registry(dir);
    registry
        .account("alice")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap()
}

#[actix_rt::test]
async fn attached_sessions_hear_of_appends_flags_and_expunges_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let inbox = registry
        .account("bob")
        .await
        .unwrap()
        .open("inbox")
        .await
        .unwrap();
    let listener = Listener::start();
    let attached = inbox.attach(listener.recipient(), false).await.unwrap();
    assert!(attached.snapshot.entries.is_empty());
    assert_eq!(attached.snapshot.info.name, "INBOX");

    let appended = inbox
        .append(vec![
            message("a", vec![Flag::Seen, keyword("$Work")]),
            message("b", vec![]),
        ])
        .await
        .unwrap();
    assert_eq!(appended.uids, [1, 2]);
    assert_eq!(appended.uid_validity, inbox.info().uid_validity);
    let changes = listener.wait_for(1).await;
    let Change::Appended {
        entries,
        keywords,
        recent,
    } = &changes[0]
    else {
        panic!("{changes:?}")
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(&keywords[..], ["$Work"]);
    assert_eq!(recent, &[1, 2], "the only read-write session gets \\Recent");
    assert!(entries[0]
        .flags
        .contains(FlagSet::SEEN | FlagSet::keyword_bit(0)));
    assert!(inbox.blob_path(entries[0].blob).exists());

    let outcome = inbox
        .store(store(
            vec![1, 2],
            StoreAction::Add,
            vec![Flag::Deleted, Flag::Recent],
            None,
        ))
        .await
        .unwrap();
    assert_eq!(outcome.entries.len(), 2);
    assert!(outcome
        .entries
        .iter()
        .all(|e| e.flags.contains(FlagSet::DELETED)));
    let changes = listener.wait_for(2).await;
    assert!(matches!(&changes[1], Change::Flags { entries, .. } if entries.len() == 2));

    let blob = entries[0].blob;
    assert_eq!(inbox.expunge(Some(vec![1])).await.unwrap().uids, [1]);
    let changes = listener.wait_for(3).await;
    let Change::Expunged { uids } = &changes[2] else {
        panic!("{changes:?}")
    };
    assert_eq!(uids, &[1]);
    for _ in 0..100 {
        if !inbox.blob_path(blob).exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!inbox.blob_path(blob).exists(), "expunged blob removed");

    // A STORE that changes nothing reports the message but announces nothing.
    inbox
        .store(store(vec![2], StoreAction::Add, vec![Flag::Deleted], None))
        .await
        .unwrap();
    inbox.detach(attached.id);
    inbox.append(vec![message("c", vec![])]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(listener.changes().len(), 3, "{:?}", listener.changes());
}

#[actix_rt::test]
async fn store_honours_unchangedsince_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let inbox = registry
        .account("carol")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    inbox
        .append(vec![message("a", vec![]), message("b", vec![])])
        .await
        .unwrap();
    let touched = inbox
        .store(store(vec![1], StoreAction::Add, vec![Flag::Seen], None))
        .await
        .unwrap();
    let modseq_1 = touched.entries[0].mod_seq;
    let (entries, _) = inbox.entries(vec![2, 99]).await.unwrap();
    let modseq_2 = entries[0].mod_seq;
    assert!(modseq_1 > modseq_2);

    let outcome = inbox
        .store(store(
            vec![1, 2],
            StoreAction::Add,
            vec![Flag::Flagged],
            Some(modseq_2),
        ))
        .await
        .unwrap();
    assert_eq!(outcome.modified, [1]);
    assert_eq!(outcome.entries.len(), 1);
    assert_eq!(outcome.entries[0].uid, 2);
    assert!(
        outcome.entries[0].mod_seq > modseq_1,
        "MODSEQ strictly increases"
    );

    let err = inbox
        .store(store(
            vec![1],
            StoreAction::Add,
            vec![Flag::Extension(Atom::new("Bogus").unwrap())],
            None,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, MailboxError::Cannot(_)));
    let many: Vec<Flag> = (0..=FlagSet::MAX_KEYWORDS)
        .map(|i| keyword(&format!("k{i}")))
        .collect();
    let err = inbox
        .store(store(vec![1], StoreAction::Add, many, None))
        .await
        .unwrap_err();
    assert!(matches!(err, MailboxError::Limit(_)), "{err:?}");

    let big = crate::mailbox::NewMessage {
        data: bytes::Bytes::from(vec![b'x'; (1 << 20) + 1]),
        flags: vec![],
        internal_date: None,
    };
    assert_eq!(
        inbox.append(vec![big]).await.unwrap_err(),
        MailboxError::TooBig
    );
}

#[actix_rt::test]
async fn expunge_removes_only_deleted_messages() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let inbox = registry
        .account("dave")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    let msgs = (0..4).map(|i| {
        message(
            &i.to_string(),
            if i < 3 { vec![Flag::Deleted] } else { vec![] },
        )
    });
    inbox.append(msgs.collect()).await.unwrap();
    assert_eq!(inbox.expunge(Some(vec![1, 4])).await.unwrap().uids, [1]);
    assert_eq!(inbox.expunge(None).await.unwrap().uids, [2, 3]);
    assert!(inbox.expunge(None).await.unwrap().uids.is_empty());
    assert_eq!(inbox.status().await.unwrap().messages, 1);
}

#[actix_rt::test]
async fn move_copies_durably_then_expunges_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let account = registry.account("erin").await.unwrap();
    let inbox = account.open("INBOX").await.unwrap();
    let archive = account.open("Archive").await.unwrap();
    let mut flagged = message("keep", vec![Flag::Flagged, keyword("Work")]);
    flagged.internal_date = Some(1_234_567_890);
    inbox
        .append(vec![message("x", vec![]), flagged])
        .await
        .unwrap();
    let (source, _) = inbox.entries(vec![2]).await.unwrap();

    let listener = Listener::start();
    archive.attach(listener.recipient(), false).await.unwrap();
    let moved = inbox.move_to(vec![2, 77], &archive).await.unwrap();
    assert_eq!(moved.source_uids, [2]);
    assert_eq!(moved.destination_uids, [1]);
    assert_eq!(moved.uid_validity, archive.info().uid_validity);

    let (dest, keywords) = archive.entries(vec![1]).await.unwrap();
    assert_eq!(dest[0].internal_date, 1_234_567_890);
    assert_eq!(dest[0].blob, source[0].blob, "EMAILID survives MOVE");
    assert_eq!(
        crate::store::mailbox::flag_names(&keywords, dest[0].flags),
        ["\\Flagged", "Work"]
    );
    assert!(archive.blob_path(dest[0].blob).exists());
    assert_eq!(inbox.status().await.unwrap().messages, 1);
    let changes = listener.wait_for(1).await;
    assert!(matches!(&changes[0], Change::Appended { recent, .. } if recent == &[1]));

    // COPY into the same mailbox shares the blob; expunging one copy keeps the file.
    let copied = archive.copy_to(vec![1], &archive).await.unwrap();
    assert_eq!(copied.destination_uids, [2]);
    archive
        .store(store(vec![1], StoreAction::Add, vec![Flag::Deleted], None))
        .await
        .unwrap();
    archive.expunge(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(archive.blob_path(dest[0].blob).exists());
    assert_eq!(archive.status().await.unwrap().messages, 1);
}

#[actix_rt::test]
async fn recent_goes_to_exactly_one_read_write_session() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let inbox = registry
        .account("fay")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    inbox
        .append(vec![message("1", vec![]), message("2", vec![])])
        .await
        .unwrap();
    assert_eq!(inbox.status().await.unwrap().recent, 2);

    let examine = Listener::start();
    let ro = inbox.attach(examine.recipient(), true).await.unwrap();
    assert_eq!(ro.recent, [1, 2], "EXAMINE sees them without claiming");
    let first = Listener::start();
    let a = inbox.attach(first.recipient(), false).await.unwrap();
    assert_eq!(a.recent, [1, 2]);
    assert_eq!(inbox.status().await.unwrap().recent, 0);
    let second = Listener::start();
    let b = inbox.attach(second.recipient(), false).await.unwrap();
    assert!(b.recent.is_empty());

    inbox.append(vec![message("3", vec![])]).await.unwrap();
    let recent_of = |l: &Listener| match &l.changes()[0] {
        Change::Appended { recent, .. } => recent.clone(),
        other => panic!("{other:?}"),
    };
    first.wait_for(1).await;
    second.wait_for(1).await;
    examine.wait_for(1).await;
    assert_eq!(recent_of(&first), [3]);
    assert!(recent_of(&second).is_empty());
    assert!(recent_of(&examine).is_empty());

    // With no read-write session attached, new messages wait for the next one.
    inbox.detach(a.id);
    inbox.detach(b.id);
    inbox.append(vec![message("4", vec![])]).await.unwrap();
    assert_eq!(inbox.status().await.unwrap().recent, 1);
    let third = Listener::start();
    assert_eq!(
        inbox.attach(third.recipient(), false).await.unwrap().recent,
        [4]
    );
}

#[actix_rt::test]
async fn idle_mailbox_actors_stop_and_restart_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let account = registry.account("gus").await.unwrap();
    let inbox = account.open("INBOX").await.unwrap();
    inbox
        .append(vec![message("1", vec![Flag::Answered])])
        .await
        .unwrap();
    assert_eq!(registry.shared.running_mailboxes(), 1);
    drop(inbox);
    for _ in 0..100 {
        if registry.shared.running_mailboxes() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(registry.shared.running_mailboxes(), 0);
    let inbox = account.open("INBOX").await.unwrap();
    let (entries, _) = inbox.entries(vec![1]).await.unwrap();
    assert!(entries[0].flags.contains(FlagSet::ANSWERED));
    // A handle keeps its actor alive past the linger time.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(registry.shared.running_mailboxes(), 1);
}

#[actix_rt::test]
async fn searches_share_one_index_until_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let inbox = registry
        .account("dave")
        .await
        .unwrap()
        .open("INBOX")
        .await
        .unwrap();
    inbox
        .append(vec![message("a", vec![]), message("b", vec![])])
        .await
        .unwrap();
    let (first, _) = inbox.index(&[]).await.unwrap();
    let (again, _) = inbox.index(&[]).await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "no copy between writes"
    );
    inbox
        .store(store(vec![2], StoreAction::Add, vec![Flag::Seen], None))
        .await
        .unwrap();
    let (after, _) = inbox.index(&[]).await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &after));
    assert!(after[1].flags.contains(FlagSet::SEEN) && !first[1].flags.contains(FlagSet::SEEN));
}

/// MOVE a message out and COPY it straight back, many times: the source's removal of the
/// expunged file is still pending when the copy links the same blob back in. Every entry
/// the mailbox lists must keep its file (before the fix the deferred removal deleted it).
#[actix_rt::test]
async fn a_message_moved_out_and_copied_back_keeps_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let account = registry.account("alice").await.unwrap();
    let inbox = account.open("INBOX").await.unwrap();
    let archive = account.open("Archive").await.unwrap();
    let mut uid = inbox.append(vec![message("m", vec![])]).await.unwrap().uids[0];
    for _ in 0..100 {
        let moved = inbox.move_to(vec![uid], &archive).await.unwrap();
        let back = archive
            .copy_to(moved.destination_uids.clone(), &inbox)
            .await
            .unwrap();
        uid = back.destination_uids[0];
        let deleted = moved.destination_uids.clone();
        archive
            .store(store(
                deleted.clone(),
                StoreAction::Add,
                vec![Flag::Deleted],
                None,
            ))
            .await
            .unwrap();
        archive.expunge(Some(deleted)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (entries, _) = inbox.entries(vec![uid]).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert!(
        inbox.blob_path(entries[0].blob).exists(),
        "the copied-back file is gone"
    );
}

/// A message moved out and copied straight back, the copy racing the move's expunge of the
/// source: the expunge was planned (freeing the file) before the copy found the file still
/// there and linked nothing, so its removal must be called off when it completes.
#[actix_rt::test]
async fn a_copy_back_racing_the_expunge_of_a_move_keeps_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let account = registry.account("alice").await.unwrap();
    let inbox = account.open("INBOX").await.unwrap();
    let archive = account.open("Archive").await.unwrap();
    let mut copied_back = Vec::new();
    for _ in 0..100 {
        let uid = inbox.append(vec![message("m", vec![])]).await.unwrap().uids[0];
        let arrived = archive.status().await.unwrap().uid_next;
        let (from, to) = (inbox.clone(), archive.clone());
        let mover = actix_rt::spawn(async move { from.move_to(vec![uid], &to).await });
        // As soon as the archive lists it, while the inbox may still be expunging it.
        while archive.status().await.unwrap().uid_next == arrived {
            tokio::task::yield_now().await;
        }
        let back = archive.copy_to(vec![arrived], &inbox).await.unwrap();
        copied_back.extend(back.destination_uids);
        mover.await.unwrap().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (entries, _) = inbox.entries(copied_back.clone()).await.unwrap();
    assert_eq!(entries.len(), copied_back.len());
    let lost = entries
        .iter()
        .filter(|e| !inbox.blob_path(e.blob).exists())
        .count();
    assert_eq!(lost, 0, "copied-back messages whose file is gone");
}
