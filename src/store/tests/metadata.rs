//! METADATA entries in the account state: records, replay, limits, queries, and snapshots
//! from before METADATA.

use std::path::Path;
use std::sync::Arc;

use crate::store::account::{open_account, AccountRecord, AccountState};
use crate::store::metadata::{
    MetadataChange, MetadataLimits, MetadataOwner, MetadataQuery, MetadataRefusal, QueryDepth,
};
use crate::store::{PlanError, Store, StoreMetrics};

const NOW: u64 = 1_700_000_000;

fn open(dir: &Path, compact_after: u64) -> Store<AccountState> {
    open_account(dir, compact_after, Arc::new(StoreMetrics::default()), NOW)
        .unwrap()
        .0
}

fn set(name: &str, value: Option<&str>) -> MetadataChange {
    (name.to_string(), value.map(|v| v.as_bytes().to_vec()))
}

fn write(store: &mut Store<AccountState>, records: Vec<AccountRecord>) {
    store.stage(records).unwrap();
    store.commit().unwrap();
}

fn set_metadata(store: &mut Store<AccountState>, mailbox: &str, changes: Vec<MetadataChange>) {
    let record = store
        .state()
        .plan_set_metadata(mailbox, changes, &MetadataLimits::default())
        .unwrap();
    write(store, vec![record]);
}

fn value(store: &Store<AccountState>, mailbox: &str, name: &str) -> Option<String> {
    let owner = store.state().metadata_owner(mailbox).unwrap();
    let entries = store.state().metadata.entries(owner)?;
    entries
        .get(name)
        .map(|v| String::from_utf8(v.clone()).unwrap())
}

fn query(entries: &[&str], depth: QueryDepth, max_size: Option<u64>) -> MetadataQuery {
    MetadataQuery {
        entries: entries.iter().map(|e| e.to_string()).collect(),
        depth,
        max_size,
    }
}

#[test]
fn entries_replay_follow_rename_and_go_with_delete() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), 1000);
    let (records, _) = store.state().plan_create("Projects", None, NOW).unwrap();
    write(&mut store, records);
    set_metadata(&mut store, "", vec![set("/shared/comment", Some("server"))]);
    set_metadata(
        &mut store,
        "Projects",
        vec![
            set("/private/comment", Some("first")),
            set("/shared/comment", Some("shared")),
            set("/private/comment", Some("second")),
        ],
    );
    set_metadata(
        &mut store,
        "INBOX",
        vec![set("/private/comment", Some("inbox"))],
    );
    drop(store);
    let mut store = open(dir.path(), 1000);
    assert_eq!(
        value(&store, "", "/shared/comment").as_deref(),
        Some("server")
    );
    assert_eq!(
        value(&store, "Projects", "/private/comment").as_deref(),
        Some("second")
    );

    let plan = store.state().plan_rename("Projects", "Work", NOW).unwrap();
    write(&mut store, plan.records);
    assert_eq!(
        value(&store, "Work", "/shared/comment").as_deref(),
        Some("shared")
    );
    // RFC 5464 section 4.1: renaming INBOX copies its entries; INBOX keeps them too.
    let plan = store.state().plan_rename("INBOX", "Old", NOW).unwrap();
    write(&mut store, plan.records);
    assert_eq!(
        value(&store, "Old", "/private/comment").as_deref(),
        Some("inbox")
    );
    assert_eq!(
        value(&store, "INBOX", "/private/comment").as_deref(),
        Some("inbox")
    );

    let (records, id) = store.state().plan_delete("Work").unwrap();
    write(&mut store, records);
    assert!(store
        .state()
        .metadata
        .entries(MetadataOwner::Mailbox(id))
        .is_none());
    let (records, _) = store.state().plan_create("Work", None, NOW).unwrap();
    write(&mut store, records);
    assert_eq!(value(&store, "Work", "/shared/comment"), None);
    assert!(matches!(
        store.state().metadata_owner("Nowhere"),
        Err(PlanError::NonExistent(_))
    ));
    drop(store);
    let store = open(dir.path(), 1000);
    assert_eq!(value(&store, "Work", "/shared/comment"), None);
    assert_eq!(
        value(&store, "INBOX", "/private/comment").as_deref(),
        Some("inbox")
    );
}

#[test]
fn limits_refuse_the_whole_command_and_never_a_removal() {
    let limits = MetadataLimits {
        max_value: 1024,
        max_entries: 10,
        max_total: 4000,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), 1000);
    let plan = |store: &Store<AccountState>, changes| {
        store.state().plan_set_metadata("INBOX", changes, &limits)
    };
    let big = "x".repeat(1025);
    assert_eq!(
        plan(
            &store,
            vec![set("/private/a", Some("ok")), set("/private/b", Some(&big))]
        )
        .unwrap_err(),
        PlanError::Metadata(MetadataRefusal::MaxSize(1024))
    );
    let ten: Vec<_> = (0..10)
        .map(|i| set(&format!("/private/e{i}"), Some("v")))
        .collect();
    let record = plan(&store, ten).unwrap();
    write(&mut store, vec![record]);
    assert_eq!(
        plan(&store, vec![set("/private/new", Some("v"))]).unwrap_err(),
        PlanError::Metadata(MetadataRefusal::TooMany)
    );
    // Replacing one and removing one to make room pass.
    assert!(plan(&store, vec![set("/private/e0", Some("w"))]).is_ok());
    assert!(plan(
        &store,
        vec![set("/private/e0", None), set("/private/new", Some("v"))]
    )
    .is_ok());
    // The account's total, over the server and every mailbox.
    let kib = "y".repeat(1000);
    let server = |changes| store.state().plan_set_metadata("", changes, &limits);
    assert!(server(vec![
        set("/shared/a", Some(&kib)),
        set("/shared/b", Some(&kib))
    ])
    .is_ok());
    let four: Vec<_> = (0..4)
        .map(|i| set(&format!("/shared/k{i}"), Some(&kib)))
        .collect();
    assert_eq!(
        server(four).unwrap_err(),
        PlanError::Metadata(MetadataRefusal::OverQuota(4000))
    );
}

#[test]
fn queries_follow_depth_maxsize_and_request_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), 1000);
    set_metadata(
        &mut store,
        "INBOX",
        vec![
            set("/private/filters/values", Some("top")),
            set("/private/filters/values/small", Some("SMALLER 5000")),
            set(
                "/private/filters/values/boss",
                Some("FROM \"boss@example.com\""),
            ),
            set("/private/filters/values/boss/deeper", Some("d")),
            set("/private/filters/valuesx", Some("not below")),
            set("/shared/comment", Some(&"c".repeat(2199))),
            set("/private/comment", Some("My own comment")),
        ],
    );
    let owner = store.state().metadata_owner("INBOX").unwrap();
    let find = |q: MetadataQuery| {
        let found = store.state().metadata.find(owner, &q);
        let names: Vec<String> = found.values.into_iter().map(|(n, _)| n).collect();
        (names, found.longest_skipped)
    };
    let v = "/private/filters/values";
    assert_eq!(find(query(&[v], QueryDepth::Zero, None)).0, [v]);
    assert_eq!(
        find(query(&[v], QueryDepth::One, None)).0,
        [
            v,
            "/private/filters/values/boss",
            "/private/filters/values/small"
        ]
    );
    assert_eq!(find(query(&[v], QueryDepth::Infinity, None)).0.len(), 4);
    assert_eq!(
        find(query(
            &["/shared/comment", "/private/comment"],
            QueryDepth::Zero,
            Some(1024)
        )),
        (vec!["/private/comment".to_string()], Some(2199))
    );
    assert_eq!(
        find(query(
            &["/shared/comment", "/private/comment"],
            QueryDepth::Zero,
            None
        ))
        .0,
        ["/shared/comment", "/private/comment"]
    );
    assert_eq!(
        find(query(&["/private"], QueryDepth::Infinity, None))
            .0
            .len(),
        6
    );
    assert!(find(query(&["/private/none"], QueryDepth::Infinity, None))
        .0
        .is_empty());
}

#[test]
fn snapshots_keep_entries_and_a_snapshot_from_before_metadata_loads() {
    #[derive(serde::Serialize)]
    struct V1 {
        next_id: u64,
        last_uid_validity: u32,
        mailboxes: Vec<crate::store::MailboxInfo>,
        subscriptions: Vec<String>,
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1000);
    let now = store.state().clone();
    drop(store);
    super::mailbox::write_old_snapshot(
        dir.path(),
        V1 {
            next_id: now.next_id,
            last_uid_validity: now.last_uid_validity,
            mailboxes: now.mailboxes.clone(),
            subscriptions: now.subscriptions.clone(),
        },
    );
    // A compaction after every transaction: every write below is a snapshot of the new kind.
    let mut store = open(dir.path(), 1);
    assert_eq!(store.state().mailboxes, now.mailboxes);
    set_metadata(
        &mut store,
        "",
        vec![set("/private/vendor/roost/test", Some("kept"))],
    );
    set_metadata(
        &mut store,
        "INBOX",
        vec![set("/shared/comment", Some("also"))],
    );
    drop(store);
    let store = open(dir.path(), 1);
    assert_eq!(
        value(&store, "", "/private/vendor/roost/test").as_deref(),
        Some("kept")
    );
    assert_eq!(
        value(&store, "INBOX", "/shared/comment").as_deref(),
        Some("also")
    );
}
