//! Account state: defaults, CREATE/DELETE/RENAME rules, subscriptions, UIDVALIDITY.

use std::path::Path;
use std::sync::Arc;

use crate::store::account::{self, open_account, AccountState};
use crate::store::{PlanError, SpecialUse, Store, StoreMetrics};

const NOW: u64 = 1_700_000_000;

fn open(dir: &Path, now: u64) -> Store<AccountState> {
    open_account(dir, 1000, Arc::new(StoreMetrics::default()), now)
        .unwrap()
        .0
}

fn names(store: &Store<AccountState>) -> Vec<String> {
    let mut v: Vec<String> = store
        .state()
        .mailboxes
        .iter()
        .map(|m| m.name.clone())
        .collect();
    v.sort();
    v
}

fn apply(
    store: &mut Store<AccountState>,
    plan: impl FnOnce(&AccountState) -> Vec<account::AccountRecord>,
) {
    let records = plan(store.state());
    store.stage(records).unwrap();
    store.commit().unwrap();
}

#[test]
fn a_new_account_has_the_default_mailboxes_subscribed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), NOW);
    assert_eq!(
        names(&store),
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    );
    let sent = store.state().by_name("Sent").unwrap();
    assert_eq!(sent.special_use, Some(SpecialUse::Sent));
    assert_eq!(store.state().subscriptions.len(), 6);
    let mut validities: Vec<u32> = store
        .state()
        .mailboxes
        .iter()
        .map(|m| m.uid_validity)
        .collect();
    validities.dedup();
    assert_eq!(validities.len(), 6);
}

#[test]
fn create_makes_missing_parents_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), NOW);
    let (records, name) = store.state().plan_create("a/b/c/", None, NOW).unwrap();
    assert_eq!(name, "a/b/c");
    assert_eq!(records.len(), 3);
    apply(&mut store, |_| records);
    assert!(store.state().by_name("a/b").is_some());
    assert!(matches!(
        store.state().plan_create("a/b", None, NOW),
        Err(PlanError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.state().plan_create("inbox", None, NOW),
        Err(PlanError::AlreadyExists(n)) if n == "INBOX"
    ));
    for bad in ["", "/", "a//b", "/a", "x*", "tab\there"] {
        assert!(
            matches!(
                store.state().plan_create(bad, None, NOW),
                Err(PlanError::Cannot(_))
            ),
            "{bad:?}"
        );
    }
    let (records, name) = store.state().plan_create("Inbox/Sub", None, NOW).unwrap();
    assert_eq!(name, "INBOX/Sub");
    assert_eq!(records.len(), 1);
}

#[test]
fn delete_refuses_inbox_children_and_unknown_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), NOW);
    apply(&mut store, |s| s.plan_create("p/c", None, NOW).unwrap().0);
    assert!(matches!(
        store.state().plan_delete("INBOX"),
        Err(PlanError::Cannot(_))
    ));
    assert!(matches!(
        store.state().plan_delete("p"),
        Err(PlanError::HasChildren(_))
    ));
    assert!(matches!(
        store.state().plan_delete("nope"),
        Err(PlanError::NonExistent(_))
    ));
    apply(&mut store, |s| s.plan_delete("p/c").unwrap().0);
    apply(&mut store, |s| s.plan_delete("p").unwrap().0);
    assert!(store.state().by_name("p").is_none());
}

#[test]
fn rename_moves_children_and_creates_parents() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), NOW);
    apply(&mut store, |s| s.plan_create("a/x/y", None, NOW).unwrap().0);
    let id = store.state().by_name("a/x").unwrap().id;
    let plan = store.state().plan_rename("a", "n/m", NOW).unwrap();
    assert_eq!(
        plan.renamed,
        [
            ("a".into(), "n/m".into()),
            ("a/x".into(), "n/m/x".into()),
            ("a/x/y".into(), "n/m/x/y".into())
        ]
    );
    apply(&mut store, |_| plan.records);
    assert_eq!(store.state().by_name("n/m/x").unwrap().id, id);
    assert!(store.state().by_name("n").is_some());
    assert!(store.state().by_name("a").is_none());
    assert!(matches!(
        store.state().plan_rename("n", "n/m/z", NOW),
        Err(PlanError::Cannot(_))
    ));
    assert!(matches!(
        store.state().plan_rename("n", "Sent", NOW),
        Err(PlanError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.state().plan_rename("zz", "q", NOW),
        Err(PlanError::NonExistent(_))
    ));
}

#[test]
fn renaming_inbox_moves_its_id_and_leaves_a_fresh_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), NOW);
    apply(&mut store, |s| {
        s.plan_create("INBOX/kept", None, NOW).unwrap().0
    });
    let inbox = store.state().by_name("INBOX").unwrap().clone();
    let plan = store.state().plan_rename("INBOX", "Old/Mail", NOW).unwrap();
    assert_eq!(plan.renamed, [("INBOX".into(), "Old/Mail".into())]);
    assert_eq!(plan.moved, [inbox.id]);
    apply(&mut store, |_| plan.records);
    let old = store.state().by_name("Old/Mail").unwrap();
    assert_eq!((old.id, old.uid_validity), (inbox.id, inbox.uid_validity));
    let fresh = store.state().by_name("INBOX").unwrap();
    assert_ne!(fresh.id, inbox.id);
    assert!(fresh.uid_validity > inbox.uid_validity);
    assert!(store.state().by_name("INBOX/kept").is_some());
}

#[test]
fn subscriptions_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), NOW);
    apply(&mut store, |s| {
        s.plan_subscription("Not/There", true).unwrap()
    });
    apply(&mut store, |s| s.plan_subscription("Junk", false).unwrap());
    assert!(store
        .state()
        .plan_subscription("Junk", false)
        .unwrap()
        .is_empty());
    drop(store);
    let store = open(dir.path(), NOW);
    let subs = &store.state().subscriptions;
    assert!(subs.contains(&"Not/There".to_string()));
    assert!(!subs.contains(&"Junk".to_string()));
}

#[test]
fn uid_validity_is_never_reused_for_a_name_even_when_the_clock_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), NOW);
    let mut seen = Vec::new();
    for round in 0..5u64 {
        // The clock jumps back on every round.
        let now = NOW - round * 100;
        apply(&mut store, |s| s.plan_create("box", None, now).unwrap().0);
        seen.push(store.state().by_name("box").unwrap().uid_validity);
        apply(&mut store, |s| s.plan_delete("box").unwrap().0);
        drop(store);
        store = open(dir.path(), now);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn recovery_recreates_a_lost_inbox_relists_unknown_directories_and_removes_deleted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), NOW);
    let stray = account::mailbox_dir(dir.path(), crate::store::MailboxId(999));
    std::fs::create_dir_all(stray.join("blobs")).unwrap();
    let deleted = account::mailboxes_dir(dir.path()).join(".deleted-0000000000000007");
    std::fs::create_dir_all(deleted.join("blobs")).unwrap();
    drop(store);
    let (store, report) =
        open_account(dir.path(), 1000, Arc::new(StoreMetrics::default()), NOW).unwrap();
    assert!(stray.exists());
    assert!(!deleted.exists());
    assert_eq!(report.removed, [deleted]);
    assert_eq!(report.relisted, 1);
    let found = store
        .state()
        .by_name("Recovered/M00000000000003e7")
        .unwrap();
    assert_eq!(found.id, crate::store::MailboxId(999));
    assert!(store.state().by_name("Recovered").is_some());
    assert!(store.state().next_id > 999);
    assert!(store.state().by_name("INBOX").is_some());
}

#[test]
fn account_directory_names_are_safe_and_distinct() {
    let cases = [
        "alice",
        "Alice",
        "../etc",
        "a/b",
        "",
        "%",
        "bob@example.com",
        "ü",
    ];
    let encoded: Vec<String> = cases.iter().map(|u| account::account_dir_name(u)).collect();
    for name in &encoded {
        assert!(!name.is_empty() && !name.contains('/') && name != "." && name != "..");
    }
    let mut unique = encoded.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), cases.len(), "{encoded:?}");
    assert_eq!(account::account_dir_name("alice"), "alice");
    for (user, name) in cases.iter().zip(&encoded) {
        assert_eq!(account::account_user_name(name).as_deref(), Some(*user));
    }
    assert_eq!(account::account_user_name("%4"), None);
}

#[test]
fn a_fenced_open_leaves_deleted_and_unlisted_mailboxes_alone() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), NOW));
    let mailboxes = account::mailboxes_dir(dir.path());
    let marked = mailboxes.join(format!("{}999", crate::store::recovery::DELETED_PREFIX));
    std::fs::create_dir_all(&marked).unwrap();
    let (store, report) = account::open_account_while(
        dir.path(),
        1000,
        Arc::new(StoreMetrics::default()),
        NOW,
        &account::Owner {
            may_change: &|| false,
            writer: Some(3),
        },
    )
    .unwrap();
    assert!(marked.exists(), "{report}");
    assert!(report.removed.is_empty());
    drop(store);
    drop(open(dir.path(), NOW));
    assert!(!marked.exists(), "the owner removes it");
}

fn open_compacting(dir: &Path, compact_after: u64) -> Store<AccountState> {
    open_account(dir, compact_after, Arc::new(StoreMetrics::default()), NOW)
        .unwrap()
        .0
}

/// Each owner's epoch is in the account log before its changes (the first one before the
/// defaults of a new account); replay finds an epoch that went down (a former owner writing
/// after a newer one), and a snapshot carries no epochs.
#[test]
fn account_writer_epochs_replay_in_order_and_a_lower_one_after_a_higher_is_reported() {
    use crate::store::account::AccountRecord;
    let dir = tempfile::tempdir().unwrap();
    let owner = account::Owner {
        may_change: &|| true,
        writer: Some(3),
    };
    let metrics = Arc::new(StoreMetrics::default());
    let (store, _) =
        account::open_account_while(dir.path(), 1000, metrics.clone(), NOW, &owner).unwrap();
    assert_eq!(store.state().writers.latest, 3, "logged with the defaults");
    drop(store);
    let mut store = open(dir.path(), NOW);
    assert_eq!(store.state().writers.latest, 3);
    assert_eq!(store.state().mailboxes.len(), 6);
    for (epoch, name) in [(5, "a"), (4, "b"), (6, "c")] {
        apply(&mut store, |s| {
            let mut records = vec![AccountRecord::Writer { epoch }];
            records.extend(s.plan_create(name, None, NOW).unwrap().0);
            records
        });
    }
    drop(store);
    let store = open(dir.path(), NOW);
    assert_eq!(store.state().writers.regressions, vec![(5, 4)]);
    assert_eq!(store.state().writers.latest, 6);
    assert_eq!(names(&store).len(), 9, "every change is still applied");
    drop(store);
    let mut store = open_compacting(dir.path(), 1);
    apply(&mut store, |s| s.plan_subscription("a", true).unwrap());
    drop(store);
    let store = open(dir.path(), NOW);
    assert!(store.state().writers.regressions.is_empty());
    assert_eq!(store.state().writers.latest, 0);
}

/// Issue 19 finding 5 for account-wide changes: the key of a forwarded CREATE, RENAME, ... is
/// logged with the change and kept through replay and compaction, so any later owner
/// answers a repeat with the first outcome.
#[test]
fn account_request_keys_survive_replay_and_compaction() {
    use crate::store::account::AccountRecord;
    use crate::store::requests::{AccountOutcome, RequestKey};
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_compacting(dir.path(), 3);
    for n in 1..=5u128 {
        apply(&mut store, |s| {
            let mut plan = s
                .plan_rename("Archive", &format!("Archive{n}"), NOW)
                .or_else(|_| {
                    s.plan_rename(&format!("Archive{}", n - 1), &format!("Archive{n}"), NOW)
                })
                .unwrap();
            plan.records.push(AccountRecord::Request {
                key: RequestKey(n << 64),
                outcome: AccountOutcome::Renamed(plan.renamed.clone()),
            });
            plan.records
        });
    }
    let expect = |store: &Store<AccountState>| {
        for n in 1..=5u128 {
            let from = if n == 1 {
                "Archive".to_string()
            } else {
                format!("Archive{}", n - 1)
            };
            assert_eq!(
                store.state().requests.outcome(RequestKey(n << 64)),
                Some(&AccountOutcome::Renamed(vec![(
                    from,
                    format!("Archive{n}")
                )]))
            );
        }
        assert_eq!(store.state().requests.outcome(RequestKey(7)), None);
    };
    expect(&store);
    drop(store);
    assert!(dir.path().join("snapshot").exists());
    expect(&open_compacting(dir.path(), 3));
}

#[test]
fn an_account_snapshot_from_before_request_keys_loads_with_none() {
    #[derive(serde::Serialize)]
    struct V2 {
        next_id: u64,
        last_uid_validity: u32,
        mailboxes: Vec<crate::store::MailboxInfo>,
        subscriptions: Vec<String>,
        metadata: crate::store::metadata::Metadata,
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), NOW);
    apply(&mut store, |s| {
        s.plan_create("Work/2026", None, NOW).unwrap().0
    });
    let now = store.state().clone();
    drop(store);
    super::mailbox::write_old_snapshot(
        dir.path(),
        V2 {
            next_id: now.next_id,
            last_uid_validity: now.last_uid_validity,
            mailboxes: now.mailboxes.clone(),
            subscriptions: now.subscriptions.clone(),
            metadata: now.metadata.clone(),
        },
    );
    let store = open(dir.path(), NOW);
    assert_eq!(store.state(), &now);
    assert!(store.state().requests.is_empty());
}
