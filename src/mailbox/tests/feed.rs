//! The account feed: what a watcher hears of account and mailbox changes, and that a watch
//! ends when dropped.

use std::sync::{Arc, Mutex};

use super::{message, registry};
use crate::mailbox::feed::{AccountEvent, Watcher};

fn recorder() -> (Watcher, Arc<Mutex<Vec<AccountEvent>>>) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    let watcher: Watcher = Arc::new(move |event: &AccountEvent| {
        sink.lock().unwrap().push(event.clone());
        true
    });
    (watcher, heard)
}

#[actix_rt::test]
async fn a_watcher_hears_durable_changes_with_the_counts_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let account = registry(dir.path()).account("alice").await.unwrap();
    let (watcher, heard) = recorder();
    let watch = account.watch(watcher).await.unwrap();
    account.create("Lists/Lemonade".into(), None).await.unwrap();
    let mailbox = account.open("Lists/Lemonade").await.unwrap();
    mailbox
        .append(vec![message("a", vec![]), message("b", vec![])])
        .await
        .unwrap();
    account.subscribe("Lists".into()).await.unwrap();
    account
        .rename("Lists".into(), "Old/Lists".into())
        .await
        .unwrap();
    let events = heard.lock().unwrap().clone();
    let created = |name: &str| AccountEvent::Created { name: name.into() };
    assert_eq!(
        events[0],
        created("Lists"),
        "the parent made on the way first"
    );
    assert_eq!(events[1], created("Lists/Lemonade"));
    let AccountEvent::Messages {
        name,
        changes,
        status,
        ..
    } = &events[2]
    else {
        panic!("{events:?}")
    };
    assert_eq!(name, "Lists/Lemonade");
    assert!(changes.new && !changes.expunged && !changes.flags);
    assert_eq!((status.messages, status.uid_next, status.unseen), (2, 3, 2));
    assert_eq!(
        events[3],
        AccountEvent::Subscription {
            name: "Lists".into(),
            subscribed: true
        }
    );
    assert_eq!(events[4], created("Old"));
    assert_eq!(
        events[5],
        AccountEvent::Renamed {
            from: "Lists".into(),
            to: "Old/Lists".into()
        },
        "children move with their parent and are not listed"
    );
    assert_eq!(events.len(), 6, "{events:?}");

    drop(watch);
    // The unwatch is a message to the account actor: ordered before the next operation.
    account.create("Later".into(), None).await.unwrap();
    assert_eq!(
        heard.lock().unwrap().len(),
        6,
        "a dropped watch hears nothing"
    );
}
