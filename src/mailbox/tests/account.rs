//! Account actor: CREATE, DELETE, RENAME (incl. INBOX) with attached sessions, subscriptions.

use super::{message, registry, Listener};
use crate::mailbox::{Change, MailboxError};
use crate::store::SpecialUse;

#[actix_rt::test]
async fn a_new_account_lists_the_default_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let account = registry(dir.path()).account("hal").await.unwrap();
    let view = account.view().await.unwrap();
    let names: Vec<&str> = view.mailboxes.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    );
    let junk = view.mailboxes.iter().find(|m| m.name == "Junk").unwrap();
    assert_eq!(junk.special_use, Some(SpecialUse::Junk));
    assert_eq!(view.subscriptions.len(), 6);
}

#[actix_rt::test]
async fn create_delete_and_subscriptions_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let account = registry(dir.path()).account("ida").await.unwrap();
        let info = account.create("Lists/rust".into(), None).await.unwrap();
        assert_eq!(info.name, "Lists/rust");
        assert!(matches!(
            account.create("Lists".into(), None).await,
            Err(MailboxError::AlreadyExists(_))
        ));
        account.subscribe("Lists/rust".into()).await.unwrap();
        account.unsubscribe("Trash".into()).await.unwrap();
        assert!(matches!(
            account.delete("Lists".into()).await,
            Err(MailboxError::HasChildren(_))
        ));
        assert!(matches!(
            account.delete("INBOX".into()).await,
            Err(MailboxError::Cannot(_))
        ));
        account.delete("Sent".into()).await.unwrap();
        assert!(matches!(
            account.open("Sent").await,
            Err(MailboxError::NonExistent(_))
        ));
    }
    let account = registry(dir.path()).account("ida").await.unwrap();
    let view = account.view().await.unwrap();
    assert!(view.mailboxes.iter().any(|m| m.name == "Lists"));
    assert!(!view.mailboxes.iter().any(|m| m.name == "Sent"));
    assert!(view.subscriptions.contains(&"Lists/rust".to_string()));
    assert!(
        view.subscriptions.contains(&"Sent".to_string()),
        "DELETE keeps subscriptions"
    );
    assert!(!view.subscriptions.contains(&"Trash".to_string()));
}

#[actix_rt::test]
async fn delete_closes_attached_sessions_and_removes_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let account = registry(dir.path()).account("jo").await.unwrap();
    account.create("Old".into(), None).await.unwrap();
    let old = account.open("Old").await.unwrap();
    old.append(vec![message("bye", vec![])]).await.unwrap();
    let (entries, _) = old.entries(vec![1]).await.unwrap();
    let blob = old.blob_path(entries[0].blob);
    let listener = Listener::start();
    old.attach(listener.recipient(), false).await.unwrap();

    account.delete("Old".into()).await.unwrap();
    let changes = listener.wait_for(1).await;
    assert!(matches!(&changes[0], Change::Closed { reason } if reason.contains("deleted")));
    assert!(!blob.exists());
    assert!(matches!(
        old.status().await,
        Err(MailboxError::NonExistent(_))
    ));
    // A new mailbox of the same name is a new mailbox with a new UIDVALIDITY.
    let again = account.create("Old".into(), None).await.unwrap();
    assert!(again.uid_validity > old.info().uid_validity);
    assert_eq!(
        account
            .open("Old")
            .await
            .unwrap()
            .status()
            .await
            .unwrap()
            .messages,
        0
    );
}

#[actix_rt::test]
async fn rename_moves_children_and_closes_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let account = registry(dir.path()).account("kim").await.unwrap();
    account.create("Work/2024".into(), None).await.unwrap();
    let year = account.open("Work/2024").await.unwrap();
    year.append(vec![message("report", vec![])]).await.unwrap();
    let listener = Listener::start();
    year.attach(listener.recipient(), false).await.unwrap();

    let renamed = account
        .rename("Work".into(), "Done/Work".into())
        .await
        .unwrap();
    assert_eq!(
        renamed,
        [
            ("Work".into(), "Done/Work".into()),
            ("Work/2024".into(), "Done/Work/2024".into())
        ]
    );
    let changes = listener.wait_for(1).await;
    assert!(matches!(&changes[0], Change::Closed { .. }));
    let moved = account.open("Done/Work/2024").await.unwrap();
    assert_eq!(moved.info().name, "Done/Work/2024");
    assert_eq!(moved.info().uid_validity, year.info().uid_validity);
    assert_eq!(moved.status().await.unwrap().messages, 1);
    assert!(matches!(
        account.open("Work").await,
        Err(MailboxError::NonExistent(_))
    ));
    assert!(matches!(
        account.rename("Done".into(), "Done/Inner".into()).await,
        Err(MailboxError::Cannot(_))
    ));
}

#[actix_rt::test]
async fn renaming_inbox_moves_its_messages_and_leaves_it_empty() {
    let dir = tempfile::tempdir().unwrap();
    let account = registry(dir.path()).account("lee").await.unwrap();
    let inbox = account.open("INBOX").await.unwrap();
    inbox
        .append(vec![message("1", vec![]), message("2", vec![])])
        .await
        .unwrap();
    let listener = Listener::start();
    inbox.attach(listener.recipient(), false).await.unwrap();

    account
        .rename("INBOX".into(), "Saved".into())
        .await
        .unwrap();
    assert!(matches!(
        &listener.wait_for(1).await[0],
        Change::Closed { .. }
    ));
    let saved = account.open("Saved").await.unwrap();
    assert_eq!(saved.status().await.unwrap().messages, 2);
    let fresh = account.open("INBOX").await.unwrap();
    let status = fresh.status().await.unwrap();
    assert_eq!((status.messages, status.uid_next), (0, 1));
    assert!(status.uid_validity > inbox.info().uid_validity);
}
