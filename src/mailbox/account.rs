//! The Account actor: serialises CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and
//! SETMETADATA of one account, answers GETMETADATA, and hands out its mailboxes' handles.
//!
//! Account changes are rare, so each write simply holds the actor (`ctx.wait`) while its
//! record is fsynced on a blocking task and the affected mailbox actors are closed; that
//! keeps every lookup ordered after the change it might race with. The actor thread itself
//! never blocks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::actor::Request;
use super::feed::{AccountEvent, Watcher};
use super::registry::{MailboxKey, Shared};
use super::request::{AccountOp, Answer};
use super::usage::{AccountUsage, QuotaReport};
use super::{AccountView, MailboxError, MailboxHandle, Reply};
use crate::store::account::{self, AccountRecord, AccountState};
use crate::store::quota::{self, Limits};
use crate::store::requests::{AccountOutcome, RequestKey};
use crate::store::{MailboxId, MailboxInfo, PlanError, SpecialUse, Store};

/// Requests from [`AccountHandle`](super::AccountHandle); each answers on its `reply`.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) enum AccountRequest {
    /// Every operation a session (here or on another node) asks of the account.
    Op {
        op: AccountOp,
        reply: Reply<Answer>,
    },
    /// The local handle of a mailbox (a handle on another node is made from `AccountOp::Open`).
    Open {
        name: String,
        reply: Reply<MailboxHandle>,
    },
    /// Starts hearing of the account's changes (NOTIFY); answers the watch id.
    Watch {
        watcher: Watcher,
        reply: Reply<u64>,
    },
    Unwatch {
        id: u64,
    },
}

pub(super) struct AccountActor {
    shared: Arc<Shared>,
    /// Directory name of the account (also its registry key).
    name: String,
    dir: PathBuf,
    token: Arc<()>,
    /// `None` while loading, or while a write holds it on a blocking task.
    store: Option<Store<AccountState>>,
    /// Why the account cannot serve (failed load or write); the registry forgets a failed
    /// actor so the next `Registry::account` starts afresh.
    fault: Option<MailboxError>,
    idle_since: Option<Instant>,
    /// Quota accounting, shared with the account's Mailbox actors on this node.
    usage: Arc<AccountUsage>,
    /// The lease epoch this actor last wrote into the log ([`AccountRecord::Writer`]).
    logged_epoch: Option<u64>,
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What to do to mailbox actors once a write is durable.
struct Closing {
    ids: Vec<MailboxId>,
    reason: String,
    deleted: bool,
}

impl AccountActor {
    pub fn new(
        shared: Arc<Shared>,
        name: String,
        dir: PathBuf,
        token: Arc<()>,
        usage: Arc<AccountUsage>,
    ) -> Self {
        AccountActor {
            shared,
            name,
            dir,
            token,
            store: None,
            fault: None,
            idle_since: None,
            usage,
            logged_epoch: None,
        }
    }

    fn state(&self) -> Result<&AccountState, MailboxError> {
        match (&self.fault, &self.store) {
            (Some(fault), _) => Err(fault.clone()),
            (None, Some(store)) => Ok(store.state()),
            (None, None) => Err(MailboxError::Unavailable("account is busy".into())),
        }
    }

    fn fail(&mut self, error: MailboxError) {
        tracing::error!(account = %self.name, %error, "account store failed");
        self.fault = Some(error);
        self.shared.forget_account(&self.name, &self.token);
    }

    /// The lease epoch to write under, and the [`AccountRecord::Writer`] record to log first
    /// when this actor has not logged it yet (in a cluster). An epoch below one the log has
    /// already is refused: epochs never go back along a log (docs/clustering.md).
    fn writer(&self) -> Result<(Option<u64>, Option<AccountRecord>), MailboxError> {
        let Some(epoch) = self.shared.write_epoch(&self.name) else {
            return Ok((None, None));
        };
        if self.logged_epoch == Some(epoch) {
            return Ok((Some(epoch), None));
        }
        let latest = self.state()?.writers.latest;
        if epoch < latest {
            tracing::error!(account = %self.name, epoch, latest, "refusing to write: the account log has changes of a later owner");
            return Err(MailboxError::Unavailable(format!(
                "the account log has changes of epoch {latest}, above this owner's epoch {epoch}"
            )));
        }
        Ok((Some(epoch), Some(AccountRecord::Writer { epoch })))
    }

    /// Makes `records` durable, then closes the mailbox actors of `closing` (waiting until
    /// their in-flight commits end) and, for DELETE, removes the mailbox directories; then
    /// answers with `done`. The actor handles nothing else meanwhile. In a cluster the
    /// records go under the lease's epoch, checked right before the write (as a Mailbox
    /// actor's batch is).
    fn write<T: Send + 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        records: Vec<AccountRecord>,
        closing: Closing,
        events: Vec<AccountEvent>,
        reply: Reply<T>,
        done: impl FnOnce(&AccountState) -> Result<T, MailboxError> + 'static,
    ) {
        let (epoch, writer) = match self.writer() {
            Ok(writer) => writer,
            Err(e) => return reply.send(Err(e)),
        };
        let Some(mut store) = self.store.take() else {
            reply.send(Err(MailboxError::Unavailable("account is busy".into())));
            return;
        };
        let records: Vec<AccountRecord> = writer.into_iter().chain(records).collect();
        let shared = self.shared.clone();
        let account = self.name.clone();
        let account_dir = self.dir.clone();
        let work = async move {
            let fence = (shared.clone(), account.clone());
            let (store, result) = tokio::task::spawn_blocking(move || {
                let allowed = || fence.0.check_write_at(&fence.1, epoch);
                if let Err(fenced) = allowed() {
                    return (store, Err(fenced));
                }
                let result = store
                    .stage(records)
                    .and_then(|()| store.commit_while(&|| allowed().is_ok()))
                    .map_err(MailboxError::from);
                (store, result)
            })
            .await
            .map_err(|e| MailboxError::Storage(format!("account write panicked: {e}")))?;
            if let Err(e) = result {
                return Ok((store, Err(e)));
            }
            close_mailboxes(&shared, &account, &account_dir, closing).await;
            Ok::<_, MailboxError>((store, Ok(())))
        };
        ctx.wait(
            work.into_actor(self)
                .map(move |outcome, act, _| match outcome {
                    Ok((store, Ok(()))) => {
                        act.logged_epoch = epoch.or(act.logged_epoch);
                        for event in &events {
                            act.shared.feeds.publish(&act.name, event);
                        }
                        reply.send(done(store.state()));
                        act.store = Some(store);
                    }
                    // The in-memory state holds a change the disk may not: stop serving.
                    Ok((_, Err(e))) | Err(e) => {
                        act.fail(e.clone());
                        reply.send(Err(e));
                    }
                }),
        );
    }

    fn handle_create(
        &mut self,
        ctx: &mut Context<Self>,
        name: &str,
        special_use: Option<SpecialUse>,
        key: Option<RequestKey>,
        reply: Reply<MailboxInfo>,
    ) {
        let planned = self
            .state()
            .and_then(|s| Ok(s.plan_create(name, special_use, unix_now())?));
        match planned {
            Ok((mut records, name)) => {
                let info = records.last().and_then(AccountRecord::created);
                if let Some(info) = info {
                    keyed(&mut records, key, AccountOutcome::Created(info));
                }
                let created = created(&records);
                let usage = self.usage.clone();
                self.write(ctx, records, Closing::none(), created, reply, move |s| {
                    let info = s.by_name(&name).cloned();
                    let info = info.ok_or(MailboxError::NonExistent(name))?;
                    usage.created(info.id);
                    Ok(info)
                });
            }
            Err(e) => reply.send(Err(e)),
        }
    }

    fn handle_delete(
        &mut self,
        ctx: &mut Context<Self>,
        name: &str,
        key: Option<RequestKey>,
        reply: Reply<()>,
    ) {
        match self.state().and_then(|s| Ok(s.plan_delete(name)?)) {
            Ok((mut records, id)) => {
                keyed(&mut records, key, AccountOutcome::Done);
                let closing = Closing {
                    ids: vec![id],
                    reason: format!("mailbox {name} was deleted"),
                    deleted: true,
                };
                let deleted = vec![AccountEvent::Deleted {
                    name: account::normalize_name(name).unwrap_or_else(|_| name.to_owned()),
                }];
                let usage = self.usage.clone();
                self.write(ctx, records, closing, deleted, reply, move |_| {
                    usage.deleted(id);
                    Ok(())
                });
            }
            Err(e) => reply.send(Err(e)),
        }
    }

    fn handle_rename(
        &mut self,
        ctx: &mut Context<Self>,
        from: &str,
        to: &str,
        key: Option<RequestKey>,
        reply: Reply<Vec<(String, String)>>,
    ) {
        match self
            .state()
            .and_then(|s| Ok(s.plan_rename(from, to, unix_now())?))
        {
            Ok(mut plan) => {
                let outcome = AccountOutcome::Renamed(plan.renamed.clone());
                keyed(&mut plan.records, key, outcome);
                let closing = Closing {
                    ids: plan.moved,
                    reason: format!("mailbox {from} was renamed to {to}"),
                    deleted: false,
                };
                let renamed = plan.renamed;
                // Children move with their parent: RFC 5465 section 5.4 lists only the parent
                // (and the new name's missing parents, created on the way).
                let mut events = created(&plan.records);
                events.extend(renamed.iter().min_by_key(|(from, _)| from.len()).map(
                    |(from, to)| AccountEvent::Renamed {
                        from: from.clone(),
                        to: to.clone(),
                    },
                ));
                self.write(ctx, plan.records, closing, events, reply, move |_| {
                    Ok(renamed)
                });
            }
            Err(e) => reply.send(Err(e)),
        }
    }

    fn handle_open(&mut self, name: &str) -> Result<MailboxHandle, MailboxError> {
        let state = self.state()?;
        let name = account::normalize_name(name)?;
        let info = state
            .by_name(&name)
            .ok_or(PlanError::NonExistent(name.clone()))?;
        Ok(self.shared.mailbox(&self.name, info))
    }

    /// Runs `op`; a change made under `key` (forwarded by another node, see `once.rs`) logs
    /// the key and its outcome with its records.
    fn run(
        &mut self,
        ctx: &mut Context<Self>,
        op: AccountOp,
        key: Option<RequestKey>,
        reply: Reply<Answer>,
    ) {
        match op {
            AccountOp::Ready => reply.send(self.state().map(|_| Answer::Unit)),
            AccountOp::View => reply.send(self.view().map(Answer::View)),
            AccountOp::Create { name, special_use } => {
                self.handle_create(ctx, &name, special_use, key, reply.from(Answer::Info));
            }
            AccountOp::Delete { name } => {
                self.handle_delete(ctx, &name, key, reply.from(|()| Answer::Unit));
            }
            AccountOp::Rename { from, to } => {
                self.handle_rename(ctx, &from, &to, key, reply.from(Answer::Renamed));
            }
            AccountOp::Subscribe { name, subscribe } => {
                let reply = reply.from(|()| Answer::Unit);
                match self
                    .state()
                    .and_then(|s| Ok(s.plan_subscription(&name, subscribe)?))
                {
                    Ok(records) if records.is_empty() => reply.send(Ok(())),
                    Ok(mut records) => {
                        keyed(&mut records, key, AccountOutcome::Done);
                        let event = AccountEvent::Subscription {
                            name: account::normalize_name(&name).unwrap_or(name),
                            subscribed: subscribe,
                        };
                        self.write(
                            ctx,
                            records,
                            Closing::none(),
                            vec![event],
                            reply,
                            |_| Ok(()),
                        );
                    }
                    Err(e) => reply.send(Err(e)),
                }
            }
            AccountOp::GetMetadata { mailbox, query } => reply.send(
                self.state()
                    .and_then(|s| {
                        let owner = s.metadata_owner(&mailbox)?;
                        Ok(s.metadata.find(owner, &query))
                    })
                    .map(Answer::Metadata),
            ),
            AccountOp::SetMetadata { mailbox, changes } => {
                let reply = reply.from(|()| Answer::Unit);
                let limits = self.shared.options.metadata;
                match self
                    .state()
                    .and_then(|s| Ok(s.plan_set_metadata(&mailbox, changes, &limits)?))
                {
                    Ok(record) => self.write(
                        ctx,
                        keyed_record(record, key),
                        Closing::none(),
                        Vec::new(),
                        reply,
                        |_| Ok(()),
                    ),
                    Err(e) => reply.send(Err(e)),
                }
            }
            AccountOp::Open { name } => reply.send(
                self.handle_open(&name)
                    .map(|handle| Answer::Info(handle.info().clone())),
            ),
            AccountOp::Quota => self.report_quota(ctx, None, reply.from(Answer::Quota)),
            AccountOp::SetQuota { limits } => {
                self.report_quota(ctx, Some(limits), reply.from(Answer::Quota));
            }
            AccountOp::Once { key, op } => self.run_once(ctx, key, *op, reply),
        }
    }

    /// A keyed operation (`AccountOp::Once`): answered with the recorded outcome when the
    /// key's change is in the log, else carried out under the key. A repeat cannot overtake
    /// the first: each change holds the actor until it is durable.
    fn run_once(
        &mut self,
        ctx: &mut Context<Self>,
        key: RequestKey,
        op: AccountOp,
        reply: Reply<Answer>,
    ) {
        match self.state().map(|s| s.requests.outcome(key).cloned()) {
            Err(e) => reply.send(Err(e)),
            Ok(Some(outcome)) => {
                tracing::info!(account = %self.name, key = %format_args!("{:032x}", key.0), "a repeated request was answered as before, not carried out again");
                reply.send(op.answer_again(outcome));
            }
            Ok(None) => self.run(ctx, op, Some(key), reply),
        }
    }

    /// GETQUOTA, or SETQUOTA with `set`: the limits are saved (only by the account's current
    /// writer) before usage is counted, on a blocking task; the actor goes on serving.
    fn report_quota(
        &mut self,
        ctx: &mut Context<Self>,
        set: Option<Limits>,
        reply: Reply<QuotaReport>,
    ) {
        if let Err(e) = self.state() {
            return reply.send(Err(e));
        }
        let (shared, account) = (self.shared.clone(), self.name.clone());
        let (usage, dir) = (self.usage.clone(), self.dir.clone());
        let job = tokio::task::spawn_blocking(move || {
            if let Some(limits) = set {
                shared.check_write(&account)?;
                quota::write_override(&dir, Some(limits))
                    .map_err(|e| MailboxError::Storage(format!("save quota of {account}: {e}")))?;
                usage.set_by_admin(Some(limits));
            }
            usage.report(&shared.options.quota)
        });
        ctx.spawn(job.into_actor(self).map(move |ran, _, _| {
            reply.send(ran.unwrap_or_else(|e| {
                Err(MailboxError::Storage(format!("quota count panicked: {e}")))
            }));
        }));
    }

    fn view(&self) -> Result<AccountView, MailboxError> {
        let state = self.state()?;
        let mut mailboxes = state.mailboxes.clone();
        mailboxes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(AccountView {
            mailboxes,
            subscriptions: state.subscriptions.clone(),
        })
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        // Holders of the token: this actor, the registry entry, and handles.
        if Arc::strong_count(&self.token) > 2 {
            self.idle_since = None;
            return;
        }
        let since = *self.idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= self.shared.options.idle_linger
            && self.shared.release_account(&self.name, &self.token)
        {
            ctx.stop();
        }
    }
}

/// Adds to a change made under `key` the record of its key and outcome (same transaction).
fn keyed(records: &mut Vec<AccountRecord>, key: Option<RequestKey>, outcome: AccountOutcome) {
    if let Some(key) = key {
        records.push(AccountRecord::Request { key, outcome });
    }
}

fn keyed_record(record: AccountRecord, key: Option<RequestKey>) -> Vec<AccountRecord> {
    let mut records = vec![record];
    keyed(&mut records, key, AccountOutcome::Done);
    records
}

/// The mailboxes `records` create, parents first, as feed events.
fn created(records: &[AccountRecord]) -> Vec<AccountEvent> {
    records
        .iter()
        .filter_map(|r| match r {
            AccountRecord::CreateMailbox { name, .. } => {
                Some(AccountEvent::Created { name: name.clone() })
            }
            _ => None,
        })
        .collect()
}

impl Closing {
    fn none() -> Self {
        Closing {
            ids: Vec::new(),
            reason: String::new(),
            deleted: false,
        }
    }
}

/// Closes the running actors of `closing.ids` and, when they were deleted, removes their
/// directories. Failures to remove are only logged: account recovery removes directories
/// marked deleted.
async fn close_mailboxes(
    shared: &Arc<Shared>,
    account: &str,
    account_dir: &std::path::Path,
    closing: Closing,
) {
    for id in closing.ids {
        let key = MailboxKey {
            account: account.to_string(),
            id,
        };
        if let Some(addr) = shared.take_mailbox(&key) {
            let (done, finished) = oneshot::channel();
            let close = Request::Close {
                reason: closing.reason.clone(),
                deleted: closing.deleted,
                done,
            };
            if addr.send(close).await.is_ok() {
                let _ = finished.await;
            }
        }
        if closing.deleted {
            // Marked first, so a crash before the removal ends does not make recovery list
            // the deleted mailbox again (store::recovery).
            let account_dir = account_dir.to_path_buf();
            let (shared, owner) = (shared.clone(), account.to_owned());
            let removed = tokio::task::spawn_blocking(move || {
                // Only the account's current writer deletes (issue 19 finding 1).
                if let Err(fenced) = shared.check_write(&owner) {
                    return Err(std::io::Error::other(fenced.to_string()));
                }
                match crate::store::recovery::mark_deleted(&account_dir, id)? {
                    Some(marked) => std::fs::remove_dir_all(&marked),
                    None => Ok(()),
                }
            })
            .await;
            if let Ok(Err(e)) = removed {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(account, mailbox = %id, error = %e, "cannot remove deleted mailbox files");
                }
            }
        }
    }
}

impl Actor for AccountActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let dir = self.dir.clone();
        let metrics = self.shared.metrics.clone();
        let compact_after = self.shared.options.compact_after;
        let (shared, name) = (self.shared.clone(), self.name.clone());
        let usage = self.usage.clone();
        let epoch = self.shared.write_epoch(&self.name);
        let load = tokio::task::spawn_blocking(move || {
            // Opening may list mailbox directories again and remove those a DELETE marked:
            // the current writer only.
            shared.check_write_at(&name, epoch)?;
            let set_by_admin = quota::read_override(&dir)
                .map_err(|e| MailboxError::Storage(format!("read quota of {name}: {e}")))?;
            let may_change = || shared.check_write_at(&name, epoch).is_ok();
            let owner = account::Owner {
                may_change: &may_change,
                writer: epoch,
            };
            let opened =
                account::open_account_while(&dir, compact_after, metrics, unix_now(), &owner)
                    .map_err(MailboxError::from)?;
            let ids = opened.0.state().mailboxes.iter().map(|m| m.id);
            usage.list(ids, set_by_admin);
            Ok(opened)
        });
        ctx.wait(load.into_actor(self).map(move |loaded, act, _| match loaded {
            Ok(Ok((store, report))) => {
                if report.is_clean() {
                    tracing::debug!(account = %act.name, "{report}");
                } else {
                    tracing::warn!(account = %act.name, "{report}");
                }
                let writers = &store.state().writers;
                for (earlier, later) in &writers.regressions {
                    tracing::error!(
                        account = %act.name, earlier, later,
                        "two writers: the account log has changes of epoch {later} after epoch \
                         {earlier}"
                    );
                }
                // Opening a new account wrote its defaults under this epoch already.
                act.logged_epoch = epoch.filter(|&e| e == writers.latest);
                act.store = Some(store);
            }
            Ok(Err(e)) => act.fail(e),
            Err(e) => act.fail(MailboxError::Storage(format!("account load panicked: {e}"))),
        }));
        let every = (self.shared.options.idle_linger / 2)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        ctx.run_interval(every, Self::tick);
    }
}

impl Handler<AccountRequest> for AccountActor {
    type Result = ();

    fn handle(&mut self, request: AccountRequest, ctx: &mut Context<Self>) {
        self.idle_since = None;
        match request {
            AccountRequest::Op { op, reply } => self.run(ctx, op, None, reply),
            AccountRequest::Open { name, reply } => reply.send(self.handle_open(&name)),
            AccountRequest::Watch { watcher, reply } => {
                reply.send(Ok(self.shared.feeds.watch(&self.name, watcher)));
            }
            AccountRequest::Unwatch { id } => self.shared.feeds.unwatch(&self.name, id),
        }
    }
}
