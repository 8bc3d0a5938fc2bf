//! Quota accounting (RFC 9208) by the owner's actors: exact under concurrent writes into
//! several mailboxes, refused writes leave nothing, MOVE inside the account is not refused.

use super::{message, registry_with_quota};
use roost_proto::{Flag, StoreAction};

use crate::mailbox::{MailboxError, QuotaPolicy, StoreFlags};
use crate::store::quota::Limits;

fn policy(messages: u64) -> QuotaPolicy {
    QuotaPolicy {
        default: Limits {
            storage_kib: None,
            messages: Some(messages),
        },
        users: None,
    }
}

#[actix_rt::test]
async fn concurrent_appends_into_two_mailboxes_never_pass_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with_quota(dir.path(), policy(50));
    let account = registry.account("alice").await.unwrap();
    let inbox = account.open("INBOX").await.unwrap();
    let archive = account.open("Archive").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..80 {
        let target = if i % 2 == 0 { &inbox } else { &archive }.clone();
        tasks.push(actix_rt::spawn(async move {
            target.append(vec![message(&format!("m{i}"), vec![])]).await
        }));
    }
    let (mut stored, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => stored += 1,
            Err(MailboxError::OverQuota(_)) => refused += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((stored, refused), (50, 30));
    let held = inbox.status().await.unwrap().messages + archive.status().await.unwrap().messages;
    assert_eq!(held, 50);
    let report = account.quota().await.unwrap();
    assert_eq!(report.usage.messages, 50);
    assert_eq!(report.limits.messages, Some(50));

    // At the limit: COPY is refused, MOVE inside the account is not, EXPUNGE frees.
    let copied = inbox.copy_to(vec![1], &archive).await;
    assert!(
        matches!(copied, Err(MailboxError::OverQuota(_))),
        "{copied:?}"
    );
    let moved = inbox.move_to(vec![1], &archive).await.unwrap();
    assert_eq!(moved.source_uids, [1]);
    assert_eq!(account.quota().await.unwrap().usage.messages, 50);
    let deleted = StoreFlags {
        uids: vec![3],
        action: StoreAction::Add,
        flags: vec![Flag::Deleted],
        unchanged_since: None,
    };
    inbox.store(deleted).await.unwrap();
    assert_eq!(inbox.expunge(Some(vec![3])).await.unwrap().uids, [3]);
    assert_eq!(account.quota().await.unwrap().usage.messages, 49);
    inbox
        .append(vec![message("fits again", vec![])])
        .await
        .unwrap();

    // A refused APPEND leaves no file behind.
    let blob_dir = inbox.blob_path(crate::store::BlobId(0));
    let blobs = || {
        std::fs::read_dir(blob_dir.parent().unwrap())
            .unwrap()
            .count()
    };
    let before = blobs();
    let refused = inbox.append(vec![message("over", vec![])]).await;
    assert!(matches!(refused, Err(MailboxError::OverQuota(_))));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(before, blobs());
}

#[actix_rt::test]
async fn an_administrators_limit_is_kept_and_unlimited_accounts_count_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    {
        let registry = registry_with_quota(dir.path(), QuotaPolicy::default());
        let account = registry.account("bob").await.unwrap();
        let inbox = account.open("INBOX").await.unwrap();
        for i in 0..3 {
            inbox
                .append(vec![message(&format!("m{i}"), vec![])])
                .await
                .unwrap();
        }
        let report = account.quota().await.unwrap();
        assert!(report.limits.is_unlimited());
        assert_eq!(report.usage.messages, 3);
        let limits = Limits {
            storage_kib: Some(1),
            messages: Some(3),
        };
        assert_eq!(account.set_quota(limits).await.unwrap().limits, limits);
        let refused = inbox.append(vec![message("x", vec![])]).await;
        assert!(matches!(refused, Err(MailboxError::OverQuota(_))));
    }
    // A restart (a fresh registry): the limit is read back, the usage counted from disk.
    let registry = registry_with_quota(dir.path(), QuotaPolicy::default());
    let account = registry.account("bob").await.unwrap();
    let report = account.quota().await.unwrap();
    assert_eq!(report.limits.messages, Some(3));
    assert_eq!(report.usage.messages, 3);
}
