//! One account's durable state: its mailbox list and subscriptions, the records that
//! change them, and the plans for CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE.
//!
//! Names are UTF-8 with `/` as the hierarchy separator; the first component is `INBOX`
//! whenever it is any case of it. UIDVALIDITY comes from a clock-based counter that never
//! goes back (`max(last + 1, now)`), so no name ever sees the same value twice (RFC 9051
//! section 2.3.1.1), even across DELETE/CREATE in the same second or a clock step back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::journal::{Durable, RecoveryReport, Store, StoreError, StoreMetrics};
use super::metadata::{Metadata, MetadataChange, MetadataLimits, MetadataOwner};
use super::recovery;
use super::requests::{AccountOutcome, RecentRequests, RequestKey};
use super::types::{MailboxId, MailboxInfo, PlanError, SpecialUse};
use super::writers::WriterEpochs;

pub const INBOX: &str = "INBOX";
const MAX_NAME_BYTES: usize = 1000;
const MAX_DEPTH: usize = 64;

/// Mailboxes every new account starts with (RFC 6154 special-use).
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 6] = [
    (INBOX, None),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Sent", Some(SpecialUse::Sent)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountRecord {
    CreateMailbox {
        id: MailboxId,
        name: String,
        uid_validity: u32,
        special_use: Option<SpecialUse>,
    },
    DeleteMailbox {
        id: MailboxId,
    },
    RenameMailbox {
        id: MailboxId,
        name: String,
    },
    Subscribe {
        name: String,
    },
    Unsubscribe {
        name: String,
    },
    /// One SETMETADATA (RFC 5464 section 4.3): all its changes, or none after a crash.
    SetMetadata {
        owner: MetadataOwner,
        changes: Vec<MetadataChange>,
    },
    /// In a cluster, written before the first change of each owner (Account actor): the
    /// epoch of the lease it writes under. Epochs going down along the log mean two writers
    /// ([`WriterEpochs`], docs/clustering.md).
    Writer {
        epoch: u64,
    },
    /// A change forwarded by another node under `key` (in the same transaction as the
    /// change's own records), and what it produced: a repeat of the key is answered with it.
    Request {
        key: RequestKey,
        outcome: AccountOutcome,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub next_id: u64,
    pub last_uid_validity: u32,
    pub mailboxes: Vec<MailboxInfo>,
    /// Sorted, unique.
    pub subscriptions: Vec<String>,
    /// METADATA entries of the server and of each mailbox.
    pub metadata: Metadata,
    /// Since version 3 of the snapshot: the latest changes forwarded under a request key.
    pub requests: RecentRequests<AccountOutcome>,
    /// The owners' epochs seen in the log since the snapshot (not persisted).
    #[serde(skip)]
    pub writers: WriterEpochs,
}

/// Version 2 snapshots: no request keys.
#[derive(Deserialize)]
struct AccountStateV2 {
    next_id: u64,
    last_uid_validity: u32,
    mailboxes: Vec<MailboxInfo>,
    subscriptions: Vec<String>,
    metadata: Metadata,
}

/// Version 1 snapshots: before METADATA.
#[derive(Deserialize)]
struct AccountStateV1 {
    next_id: u64,
    last_uid_validity: u32,
    mailboxes: Vec<MailboxInfo>,
    subscriptions: Vec<String>,
}

impl Durable for AccountState {
    type Record = AccountRecord;

    fn apply(&mut self, record: &AccountRecord) {
        match record {
            AccountRecord::CreateMailbox {
                id,
                name,
                uid_validity,
                special_use,
            } => {
                if self.by_id(*id).is_some() || self.by_name(name).is_some() {
                    return;
                }
                self.next_id = self.next_id.max(id.0.saturating_add(1));
                self.last_uid_validity = self.last_uid_validity.max(*uid_validity);
                self.mailboxes.push(MailboxInfo {
                    id: *id,
                    name: name.clone(),
                    uid_validity: *uid_validity,
                    special_use: *special_use,
                });
            }
            AccountRecord::DeleteMailbox { id } => {
                self.mailboxes.retain(|m| m.id != *id);
                self.metadata.remove_owner(MetadataOwner::Mailbox(*id));
            }
            AccountRecord::RenameMailbox { id, name } => {
                if self.by_name(name).is_none() {
                    if let Some(m) = self.mailboxes.iter_mut().find(|m| m.id == *id) {
                        m.name = name.clone();
                    }
                }
            }
            AccountRecord::Subscribe { name } => {
                if let Err(i) = self.subscriptions.binary_search(name) {
                    self.subscriptions.insert(i, name.clone());
                }
            }
            AccountRecord::Unsubscribe { name } => {
                if let Ok(i) = self.subscriptions.binary_search(name) {
                    self.subscriptions.remove(i);
                }
            }
            AccountRecord::SetMetadata { owner, changes } => {
                let exists = match owner {
                    MetadataOwner::Server => true,
                    MetadataOwner::Mailbox(id) => self.by_id(*id).is_some(),
                };
                if exists {
                    self.metadata.apply(*owner, changes);
                }
            }
            AccountRecord::Writer { epoch } => self.writers.saw(*epoch),
            AccountRecord::Request { key, outcome } => {
                self.requests.record(*key, outcome.clone());
            }
        }
    }

    fn from_older_snapshot(bytes: &[u8]) -> Option<(u64, Self)> {
        use super::journal::decode_snapshot_as;
        let v2 = decode_snapshot_as::<AccountStateV2>(bytes).or_else(|| {
            let (generation, v1) = decode_snapshot_as::<AccountStateV1>(bytes)?;
            let v2 = AccountStateV2 {
                next_id: v1.next_id,
                last_uid_validity: v1.last_uid_validity,
                mailboxes: v1.mailboxes,
                subscriptions: v1.subscriptions,
                metadata: Metadata::default(),
            };
            Some((generation, v2))
        });
        v2.map(|(generation, v2)| {
            let state = AccountState {
                next_id: v2.next_id,
                last_uid_validity: v2.last_uid_validity,
                mailboxes: v2.mailboxes,
                subscriptions: v2.subscriptions,
                metadata: v2.metadata,
                requests: RecentRequests::default(),
                writers: WriterEpochs::default(),
            };
            (generation, state)
        })
    }
}

/// Validates a mailbox name and puts it in canonical form: one trailing separator is
/// dropped (RFC 9051 section 6.3.4), a first component that is any case of `INBOX`
/// becomes `INBOX`.
///
/// # Errors
/// `Cannot` for empty components, control characters, LIST wildcards, or excess size.
pub fn normalize_name(name: &str) -> Result<String, PlanError> {
    let name = name.strip_suffix('/').unwrap_or(name);
    let bad = |why: &str| Err(PlanError::Cannot(format!("invalid mailbox name: {why}")));
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_BYTES || name.split('/').count() > MAX_DEPTH {
        return bad("too long");
    }
    if name.split('/').any(str::is_empty) {
        return bad("empty hierarchy level");
    }
    if name.chars().any(|c| c.is_control() || c == '*' || c == '%') {
        return bad("control or wildcard character");
    }
    let (first, rest) = name.split_once('/').unwrap_or((name, ""));
    Ok(if first.eq_ignore_ascii_case(INBOX) {
        if rest.is_empty() {
            INBOX.to_string()
        } else {
            format!("{INBOX}/{rest}")
        }
    } else {
        name.to_string()
    })
}

/// Proper ancestors of a name, outermost first (`a/b/c` → `a`, `a/b`).
fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

fn is_inferior(name: &str, of: &str) -> bool {
    name.len() > of.len() && name.starts_with(of) && name.as_bytes()[of.len()] == b'/'
}

/// What a RENAME does.
#[derive(Debug, Default)]
pub struct RenamePlan {
    pub records: Vec<AccountRecord>,
    /// `(old, new)` of every mailbox whose name changes.
    pub renamed: Vec<(String, String)>,
    /// Mailboxes whose open sessions must be closed.
    pub moved: Vec<MailboxId>,
}

/// Hands out ids and UIDVALIDITY values within one plan.
struct Allocator {
    next_id: u64,
    next_uid_validity: u32,
}

impl Allocator {
    fn create(&mut self, name: &str, special_use: Option<SpecialUse>) -> AccountRecord {
        let record = AccountRecord::CreateMailbox {
            id: MailboxId(self.next_id),
            name: name.to_string(),
            uid_validity: self.next_uid_validity,
            special_use,
        };
        self.next_id += 1;
        self.next_uid_validity = self.next_uid_validity.saturating_add(1);
        record
    }
}

impl AccountRecord {
    /// The mailbox a [`AccountRecord::CreateMailbox`] makes.
    pub fn created(&self) -> Option<MailboxInfo> {
        match self {
            AccountRecord::CreateMailbox {
                id,
                name,
                uid_validity,
                special_use,
            } => Some(MailboxInfo {
                id: *id,
                name: name.clone(),
                uid_validity: *uid_validity,
                special_use: *special_use,
            }),
            _ => None,
        }
    }
}

impl AccountState {
    pub fn by_name(&self, name: &str) -> Option<&MailboxInfo> {
        self.mailboxes.iter().find(|m| m.name == name)
    }

    pub fn by_id(&self, id: MailboxId) -> Option<&MailboxInfo> {
        self.mailboxes.iter().find(|m| m.id == id)
    }

    fn existing(&self, name: &str) -> Result<&MailboxInfo, PlanError> {
        self.by_name(name)
            .ok_or_else(|| PlanError::NonExistent(name.to_string()))
    }

    /// `now` is Unix seconds; UIDVALIDITY is `max(last + 1, now)`.
    fn allocator(&self, now: u64) -> Allocator {
        let now = u32::try_from(now).unwrap_or(u32::MAX);
        Allocator {
            next_id: self.next_id.max(1),
            next_uid_validity: self.last_uid_validity.saturating_add(1).max(now),
        }
    }

    /// Creates for the missing ancestors of `name`.
    fn create_parents(&self, name: &str, alloc: &mut Allocator) -> Vec<AccountRecord> {
        ancestors(name)
            .filter(|parent| self.by_name(parent).is_none())
            .map(|parent| alloc.create(parent, None))
            .collect()
    }

    /// The defaults of a new account, or just INBOX if an old account lost it.
    pub fn plan_defaults(&self, now: u64) -> Vec<AccountRecord> {
        let mut alloc = self.allocator(now);
        let fresh = self.mailboxes.is_empty();
        let mut records = Vec::new();
        for (name, special_use) in DEFAULT_MAILBOXES {
            if self.by_name(name).is_none() && (fresh || name == INBOX) {
                records.push(alloc.create(name, special_use));
                if fresh {
                    records.push(AccountRecord::Subscribe { name: name.into() });
                }
            }
        }
        records
    }

    /// CREATE, making missing parents too.
    ///
    /// # Errors
    /// `Cannot` for an invalid name, `AlreadyExists`.
    pub fn plan_create(
        &self,
        name: &str,
        special_use: Option<SpecialUse>,
        now: u64,
    ) -> Result<(Vec<AccountRecord>, String), PlanError> {
        let name = normalize_name(name)?;
        if self.by_name(&name).is_some() {
            return Err(PlanError::AlreadyExists(name));
        }
        let mut alloc = self.allocator(now);
        let mut records = self.create_parents(&name, &mut alloc);
        records.push(alloc.create(&name, special_use));
        Ok((records, name))
    }

    /// DELETE (RFC 9051 section 6.3.5): not INBOX, not a mailbox with inferiors.
    ///
    /// # Errors
    /// `NonExistent`, `Cannot`.
    pub fn plan_delete(&self, name: &str) -> Result<(Vec<AccountRecord>, MailboxId), PlanError> {
        let name = normalize_name(name)?;
        if name == INBOX {
            return Err(PlanError::Cannot("INBOX cannot be deleted".into()));
        }
        let id = self.existing(&name)?.id;
        if self.mailboxes.iter().any(|m| is_inferior(&m.name, &name)) {
            return Err(PlanError::HasChildren(name));
        }
        Ok((vec![AccountRecord::DeleteMailbox { id }], id))
    }

    /// RENAME (RFC 9051 section 6.3.6): inferiors move along and missing parents of the
    /// new name are created. Renaming INBOX gives its messages (its id and directory) to
    /// the new name and creates a fresh, empty INBOX with a new UIDVALIDITY; INBOX's
    /// inferiors stay where they are.
    ///
    /// # Errors
    /// `NonExistent`, `AlreadyExists`, `Cannot` (invalid name, into itself).
    pub fn plan_rename(&self, from: &str, to: &str, now: u64) -> Result<RenamePlan, PlanError> {
        let (from, to) = (normalize_name(from)?, normalize_name(to)?);
        let source = self.existing(&from)?;
        if self.by_name(&to).is_some() {
            return Err(PlanError::AlreadyExists(to));
        }
        let is_inbox = from == INBOX;
        if !is_inbox && is_inferior(&to, &from) {
            return Err(PlanError::Cannot(format!(
                "cannot rename {from} into itself"
            )));
        }
        let moving: Vec<&MailboxInfo> = if is_inbox {
            vec![source]
        } else {
            self.mailboxes
                .iter()
                .filter(|m| m.name == from || is_inferior(&m.name, &from))
                .collect()
        };
        let renamed: Vec<(String, String)> = moving
            .iter()
            .map(|m| (m.name.clone(), format!("{to}{}", &m.name[from.len()..])))
            .collect();
        if let Some((_, taken)) = renamed.iter().find(|(_, new)| self.by_name(new).is_some()) {
            return Err(PlanError::AlreadyExists(taken.clone()));
        }
        let mut alloc = self.allocator(now);
        let mut records = self.create_parents(&to, &mut alloc);
        records.extend(moving.iter().zip(&renamed).map(|(m, (_, new))| {
            AccountRecord::RenameMailbox {
                id: m.id,
                name: new.clone(),
            }
        }));
        if is_inbox {
            // RFC 5464 section 4.1: the renamed mailbox (INBOX's old id) keeps INBOX's
            // entries, and the new INBOX gets a copy.
            let fresh = MailboxId(alloc.next_id);
            records.push(alloc.create(INBOX, None));
            if let Some(changes) = self.metadata.copy_of(MetadataOwner::Mailbox(source.id)) {
                records.push(AccountRecord::SetMetadata {
                    owner: MetadataOwner::Mailbox(fresh),
                    changes,
                });
            }
        }
        Ok(RenamePlan {
            records,
            renamed,
            moved: moving.iter().map(|m| m.id).collect(),
        })
    }

    /// Lists again mailbox directories the list does not name (recovery after damage), as
    /// `Recovered/M<id>` with a new UIDVALIDITY each (their UIDs are as the mailbox's own
    /// journal has them, but a client cannot know it is the same mailbox).
    pub fn plan_relist(&self, ids: &[MailboxId], now: u64) -> Vec<AccountRecord> {
        let mut alloc = self.allocator(now);
        let past_found = ids.iter().map(|id| id.0.saturating_add(1)).max();
        alloc.next_id = alloc.next_id.max(past_found.unwrap_or(0));
        let parent = super::recovery::RECOVERED_PARENT;
        let mut records = Vec::new();
        if self.by_name(parent).is_none() {
            records.push(alloc.create(parent, None));
        }
        for &id in ids {
            let mut name = format!("{parent}/{id}");
            while self.by_name(&name).is_some() {
                name.push('_');
            }
            records.push(AccountRecord::CreateMailbox {
                id,
                name,
                uid_validity: alloc.next_uid_validity,
                special_use: None,
            });
            alloc.next_uid_validity = alloc.next_uid_validity.saturating_add(1);
        }
        records
    }

    /// SUBSCRIBE / UNSUBSCRIBE; names need not exist (RFC 9051 section 6.3.7).
    ///
    /// # Errors
    /// `Cannot` for an invalid name.
    pub fn plan_subscription(
        &self,
        name: &str,
        subscribe: bool,
    ) -> Result<Vec<AccountRecord>, PlanError> {
        let name = normalize_name(name)?;
        let present = self.subscriptions.binary_search(&name).is_ok();
        Ok(match (subscribe, present) {
            (true, false) => vec![AccountRecord::Subscribe { name }],
            (false, true) => vec![AccountRecord::Unsubscribe { name }],
            _ => Vec::new(),
        })
    }
}

impl AccountState {
    /// Whose entries a METADATA command names: the server's for `""`, else the mailbox's
    /// (RFC 5464 section 3.3: it must exist).
    ///
    /// # Errors
    /// `NonExistent`, `Cannot` for an invalid name.
    pub fn metadata_owner(&self, mailbox: &str) -> Result<MetadataOwner, PlanError> {
        if mailbox.is_empty() {
            return Ok(MetadataOwner::Server);
        }
        let name = normalize_name(mailbox)?;
        Ok(MetadataOwner::Mailbox(self.existing(&name)?.id))
    }

    /// SETMETADATA: one record with every change, or the limit it breaks.
    ///
    /// # Errors
    /// As [`AccountState::metadata_owner`], and `Metadata` for a broken limit.
    pub fn plan_set_metadata(
        &self,
        mailbox: &str,
        changes: Vec<MetadataChange>,
        limits: &MetadataLimits,
    ) -> Result<AccountRecord, PlanError> {
        let owner = self.metadata_owner(mailbox)?;
        self.metadata
            .check(owner, &changes, limits)
            .map_err(PlanError::Metadata)?;
        Ok(AccountRecord::SetMetadata { owner, changes })
    }
}

/// The directory name of a user's account: bytes `[a-z0-9_-]` as they are, every other
/// byte (upper case included, for case-insensitive filesystems) as `%XX`. Injective, never
/// empty (`%` alone for the empty name), never `.` or `..`, never contains `/`.
pub fn account_dir_name(user: &str) -> String {
    if user.is_empty() {
        return "%".into();
    }
    let mut out = String::with_capacity(user.len());
    for b in user.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The user name an [`account_dir_name`] was made from (`None` for a name it never makes).
pub fn account_user_name(dir_name: &str) -> Option<String> {
    if dir_name == "%" {
        return Some(String::new());
    }
    let mut bytes = Vec::with_capacity(dir_name.len());
    let mut rest = dir_name.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail.get(..2)?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

pub fn mailboxes_dir(account_dir: &Path) -> PathBuf {
    account_dir.join("mailboxes")
}

pub fn mailbox_dir(account_dir: &Path, id: MailboxId) -> PathBuf {
    mailboxes_dir(account_dir).join(format!("{:016x}", id.0))
}

/// What the account in `dir` holds over all its mailboxes (RFC 9208 STORAGE and MESSAGE),
/// read without opening anything for writing, as `roost user quota` shows it. Blocking.
///
/// # Errors
/// As [`Store::read_only`].
pub fn read_usage(dir: &Path) -> Result<crate::store::quota::Usage, StoreError> {
    let state = Store::read_only(dir, AccountState::default())?;
    state
        .mailboxes
        .iter()
        .try_fold(crate::store::quota::Usage::default(), |sum, m| {
            Ok(sum.plus(super::mailbox::read_usage(&mailbox_dir(dir, m.id))?))
        })
}

/// Opens an account's store: lists again mailbox directories the list lacks and removes
/// those a durable DELETE marked (see [`recovery::reconcile_account`]), then creates the
/// default mailboxes of a new account (and INBOX if it is missing). Blocking.
///
/// # Errors
/// As [`Store::open`], plus I/O errors.
pub fn open_account(
    dir: &Path,
    compact_after: u64,
    metrics: Arc<StoreMetrics>,
    now: u64,
) -> Result<(Store<AccountState>, RecoveryReport), StoreError> {
    let owner = Owner {
        may_change: &|| true,
        writer: None,
    };
    open_account_while(dir, compact_after, metrics, now, &owner)
}

/// How an owner opens an account in a cluster: `may_change` is the account's fence, asked
/// right before each change to the files (see [`Store::open_while`]); `writer` is the epoch
/// of its lease, logged ([`AccountRecord::Writer`]) before the defaults it writes.
pub struct Owner<'a> {
    pub may_change: &'a dyn Fn() -> bool,
    pub writer: Option<u64>,
}

/// As [`open_account`], as `owner` (the defaults of a new account are left to the next
/// owner when the fence refuses).
///
/// # Errors
/// As [`open_account`], or a change `owner.may_change` refused.
pub fn open_account_while(
    dir: &Path,
    compact_after: u64,
    metrics: Arc<StoreMetrics>,
    now: u64,
    owner: &Owner<'_>,
) -> Result<(Store<AccountState>, RecoveryReport), StoreError> {
    let may_change = owner.may_change;
    let (mut store, mut report) = Store::open_while(
        dir,
        AccountState::default(),
        compact_after,
        metrics,
        may_change,
    )?;
    recovery::reconcile_account(&mut store, dir, &mut report, now, may_change)?;
    let defaults = store.state().plan_defaults(now);
    if !defaults.is_empty() && may_change() {
        let writer = owner.writer.map(|epoch| AccountRecord::Writer { epoch });
        store.stage(writer.into_iter().chain(defaults).collect())?;
        store.commit_while(may_change)?;
    }
    store.count_recovery(&report);
    Ok((store, report))
}
