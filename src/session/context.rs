//! Updating search contexts (RFC 5267 section 4.3): a SEARCH or SORT with `RETURN (UPDATE)`
//! keeps its result, and later changes to it reach the client as `ADDTO` and `REMOVEFROM` in
//! ESEARCH responses until the mailbox is deselected or `CANCELUPDATE` names the command.
//!
//! A context keeps its result as UIDs in the requested order. Expunges are removed from it at
//! once, as part of reporting them: their `REMOVEFROM` must precede the `EXPUNGE` (section
//! 4.3.4). Everything else (new messages, changed flags) makes the contexts stale once the
//! client has been told of the change (`EXISTS`, the `FETCH` of a flush or of its own STORE);
//! they are then searched again, away from the actor, so an `ADDTO` follows its cause (an
//! `ADDTO` of new message numbers must follow their `EXISTS`, section 4.3.3). The new result
//! waits until the client may be told, and is compared with the result the client holds only
//! then, against the view of that moment, so a message expunged meanwhile is never added.
//!
//! Sort keys never change for a message, so a sorted context keeps the relative order of the
//! messages that stay in it: the difference is a set of removals and a set of insertions.

use actix::{ActorFutureExt, AsyncContext, Context, WrapFuture};
use roost_proto::{
    Code, Data, Esearch, EsearchItem, Response, SearchKey, SearchReturn, SequenceSet,
    SortCriterion, Status, StatusKind, Tag,
};

use super::search::Match;
use super::view::View;
use super::Session;

/// Updating contexts a session may hold at once; RFC 5267 section 4.3.1 requires at least one.
/// Each costs a search of the mailbox whenever it changes, so the number is kept small.
pub(super) const MAX_CONTEXTS: usize = 8;

/// One searching command that asked for updates.
#[derive(Debug)]
struct LiveContext {
    tag: String,
    /// Report UIDs (UID SEARCH, UID SORT) rather than message numbers.
    uid: bool,
    charset: Option<String>,
    /// The search program with message numbers and `$` turned into UIDs: they are evaluated
    /// when the command is received (RFC 5267 section 4.3).
    criteria: Vec<SearchKey>,
    /// `None` for SEARCH (mailbox order).
    sort: Option<Vec<SortCriterion>>,
    /// The result as the client holds it: UIDs in the requested order.
    results: Vec<u32>,
}

/// The updating contexts of the selected mailbox.
#[derive(Debug, Default)]
pub struct Contexts {
    live: Vec<LiveContext>,
    /// The mailbox changed in a way the client has been told of since the last search.
    stale: bool,
    /// A search of the contexts is under way.
    running: bool,
    /// New results, by tag, waiting until the client may be told.
    fresh: Vec<(String, Vec<u32>)>,
}

impl Contexts {
    /// Notes that the client was told of new messages or changed flags.
    pub fn changed(&mut self) {
        if !self.live.is_empty() {
            self.stale = true;
        }
    }
}

/// What a searching command asks of contexts, checked before it runs.
pub(super) enum Request {
    /// No `UPDATE`.
    None,
    /// `UPDATE` under a tag no live context uses.
    Update,
}

/// Checks a searching command's return options against RFC 5267: at most one of ALL and
/// PARTIAL (section 4.4), and no `UPDATE` under a tag that already names a live context
/// (section 4.3). `Err` is the reason for a BAD.
pub(super) fn check_returns(
    returns: Option<&[SearchReturn]>,
    tag: &Tag,
    contexts: Option<&Contexts>,
) -> Result<Request, String> {
    let returns = returns.unwrap_or_default();
    let whole = returns
        .iter()
        .filter(|r| matches!(r, SearchReturn::All | SearchReturn::Partial(_)))
        .count();
    if whole > 1 {
        return Err("at most one of ALL and PARTIAL may be asked for".into());
    }
    if !returns.contains(&SearchReturn::Update) {
        return Ok(Request::None);
    }
    let tag = tag.as_str();
    if contexts.is_some_and(|c| c.live.iter().any(|l| l.tag == tag)) {
        return Err(format!(
            "tag {tag} already names a search with UPDATE; use a new tag"
        ));
    }
    Ok(Request::Update)
}

/// The return options that produce data: with none of them (only CONTEXT and UPDATE, or an
/// empty list) the answer is `ALL` (RFC 4731: `RETURN ()` means ALL), which is also what a
/// client needs to apply later updates to.
pub(super) fn data_options(returns: Option<&[SearchReturn]>) -> Vec<SearchReturn> {
    let asked: Vec<SearchReturn> = returns
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|r| !matches!(r, SearchReturn::Context | SearchReturn::Update))
        .collect();
    if asked.is_empty() {
        vec![SearchReturn::All]
    } else {
        asked
    }
}

/// `criteria` with message numbers and `$` replaced by the UIDs they name in `view` now.
pub(super) fn pin(criteria: &[SearchKey], view: &View) -> Vec<SearchKey> {
    criteria.iter().map(|k| pin_key(k, view)).collect()
}

fn pin_key(key: &SearchKey, view: &View) -> SearchKey {
    let uids = |pairs: Vec<(u32, u32)>| match pairs.is_empty() {
        true => SearchKey::Not(Box::new(SearchKey::All)),
        false => SearchKey::Uid(SequenceSet::from_numbers(pairs.into_iter().map(|(_, u)| u))),
    };
    match key {
        SearchKey::SequenceSet(set) => uids(view.resolve_seqs(set)),
        SearchKey::Uid(set @ SequenceSet::Saved) => uids(view.resolve_uids(set)),
        SearchKey::Not(k) => SearchKey::Not(Box::new(pin_key(k, view))),
        SearchKey::Or(a, b) => {
            SearchKey::Or(Box::new(pin_key(a, view)), Box::new(pin_key(b, view)))
        }
        SearchKey::And(keys) => SearchKey::And(pin(keys, view)),
        other => other.clone(),
    }
}

/// A searching command with `UPDATE`, as it is registered once answered.
pub(super) struct NewContext {
    pub tag: Tag,
    pub uid: bool,
    pub charset: Option<String>,
    pub criteria: Vec<SearchKey>,
    pub sort: Option<Vec<SortCriterion>>,
}

/// `(position, UIDs)` runs of an `ADDTO` or `REMOVEFROM`.
type Runs = Vec<(u32, Vec<u32>)>;

/// The removals and insertions that turn `old` into `new` (both in the requested order, the
/// messages both hold in the same relative order). Positions are 1-based as RFC 5267 section
/// 4.3.3 defines them; `sorted` false gives position 0 and mailbox order throughout.
fn difference(old: &[u32], new: &[u32], sorted: bool) -> (Runs, Runs) {
    let in_new: std::collections::HashSet<u32> = new.iter().copied().collect();
    let in_old: std::collections::HashSet<u32> = old.iter().copied().collect();
    let removed = old.iter().enumerate().filter(|(_, u)| !in_new.contains(u));
    let added = new.iter().enumerate().filter(|(_, u)| !in_old.contains(u));
    if !sorted {
        return (mailbox_order(removed), mailbox_order(added));
    }
    // Removing at a position shifts what follows down: a removal's position is its index in
    // `old` less the removals before it, and consecutive ones share a position.
    let mut removals: Runs = Vec::new();
    for (gone, (index, &uid)) in removed.enumerate() {
        let at = position(index - gone);
        match removals.last_mut() {
            Some((p, run)) if *p == at => run.push(uid),
            _ => removals.push((at, vec![uid])),
        }
    }
    // Inserting in `new`'s order puts each message at its final index.
    let mut insertions: Runs = Vec::new();
    for (index, &uid) in added {
        let at = position(index);
        match insertions.last_mut() {
            Some((p, run)) if *p as usize + run.len() == at as usize => run.push(uid),
            _ => insertions.push((at, vec![uid])),
        }
    }
    (removals, insertions)
}

/// One run at position 0, ascending (the shortest set syntax, section 4.3.3).
fn mailbox_order<'a>(found: impl Iterator<Item = (usize, &'a u32)>) -> Runs {
    let mut uids: Vec<u32> = found.map(|(_, &u)| u).collect();
    uids.sort_unstable();
    (!uids.is_empty())
        .then_some((0, uids))
        .into_iter()
        .collect()
}

fn position(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

impl Session {
    /// Registers a searching command's context once its result is known, or refuses updates
    /// when the session holds as many as it may (`* NO [NOUPDATE]`, section 4.3.1).
    pub(super) fn add_context(&mut self, new: NewContext, matches: &[Match]) {
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        let contexts = &mut selected.contexts;
        if contexts.live.len() >= MAX_CONTEXTS {
            let tag = new.tag.as_str().to_owned();
            self.write_status(Status::untagged(
                StatusKind::No,
                Some(Code::NoUpdate(tag)),
                format!("at most {MAX_CONTEXTS} searches with UPDATE at a time; CANCELUPDATE one"),
            ));
            return;
        }
        // Changes that arrived while the command searched are not in its result.
        contexts.stale = true;
        contexts.live.push(LiveContext {
            tag: new.tag.as_str().to_owned(),
            uid: new.uid,
            charset: new.charset,
            criteria: new.criteria,
            sort: new.sort,
            results: matches.iter().map(|m| m.uid).collect(),
        });
    }

    /// `CANCELUPDATE` (section 4.3.5). Tags that name no live context make it a BAD with no
    /// effect, so a client learns of its mistake.
    pub(super) fn handle_cancel_update(&mut self, tag: Tag, tags: &[String]) -> super::ReadMode {
        let Some(selected) = self.state.selected_mut() else {
            return super::ReadMode::Command;
        };
        let contexts = &mut selected.contexts;
        let unknown: Vec<&str> = tags
            .iter()
            .filter(|t| !contexts.live.iter().any(|l| &l.tag == *t))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let text = format!("no search with UPDATE has tag {}", unknown.join(", "));
            self.write_status(Status::bad(tag, None, text));
            return super::ReadMode::Command;
        }
        contexts.live.retain(|l| !tags.contains(&l.tag));
        contexts.fresh.retain(|(t, _)| !tags.contains(t));
        self.write_status(Status::ok(
            tag,
            None,
            "CANCELUPDATE completed; no further updates",
        ));
        super::ReadMode::Command
    }

    /// Before `* n EXPUNGE` (or VANISHED) of `uids`, whose message numbers were `seqs`
    /// (highest first): removes them from every context, with a `REMOVEFROM` each.
    pub(super) fn write_context_removals(&mut self, seqs: &[u32], uids: &[u32]) {
        self.write_context_news();
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        if selected.contexts.live.is_empty() || uids.is_empty() {
            return;
        }
        // `uids` ascend; `seqs` descend and each is the number before any of these expunges.
        let seq_of: std::collections::HashMap<u32, u32> = uids
            .iter()
            .copied()
            .zip(seqs.iter().rev().copied())
            .collect();
        let gone: std::collections::HashSet<u32> = uids.iter().copied().collect();
        let mut lines = Vec::new();
        for context in &mut selected.contexts.live {
            if !context.results.iter().any(|u| gone.contains(u)) {
                continue;
            }
            let kept: Vec<u32> = context
                .results
                .iter()
                .copied()
                .filter(|u| !gone.contains(u))
                .collect();
            let (removals, _) = difference(&context.results, &kept, context.sort.is_some());
            context.results = kept;
            let number = |uid: u32| match context.uid {
                true => Some(uid),
                false => seq_of.get(&uid).copied(),
            };
            lines.push(esearch(context, EsearchItem::RemoveFrom, removals, number));
        }
        for line in lines.into_iter().flatten() {
            self.write(line);
        }
    }

    /// Sends the differences between the results of the last search of the contexts and what
    /// the client holds, as seen by the view now.
    pub(super) fn write_context_news(&mut self) {
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        if selected.contexts.fresh.is_empty() {
            return;
        }
        let view = &selected.view;
        let mut lines = Vec::new();
        for (tag, found) in std::mem::take(&mut selected.contexts.fresh) {
            let Some(context) = selected.contexts.live.iter_mut().find(|l| l.tag == tag) else {
                continue; // cancelled meanwhile
            };
            let new: Vec<u32> = found
                .into_iter()
                .filter(|&u| view.seq_of(u).is_some())
                .collect();
            let (removals, insertions) = difference(&context.results, &new, context.sort.is_some());
            context.results = new;
            let number = |uid: u32| match context.uid {
                true => Some(uid),
                false => view.seq_of(uid),
            };
            let mut items = Vec::new();
            items.extend(esearch_item(EsearchItem::RemoveFrom, removals, number));
            items.extend(esearch_item(EsearchItem::AddTo, insertions, number));
            if !items.is_empty() {
                lines.push(Response::Data(Data::Esearch(Esearch {
                    correlator: Tag::new(tag).ok(),
                    uid: context.uid,
                    items,
                })));
            }
        }
        for line in lines {
            self.write(line);
        }
    }

    /// Searches the contexts again when the client has been told of changes since their last
    /// search; one search at a time per session.
    pub(super) fn refresh_contexts(&mut self, ctx: &mut Context<Self>) {
        let Some(selected) = self.state.selected_mut() else {
            return;
        };
        let contexts = &mut selected.contexts;
        if !contexts.stale || contexts.running || contexts.live.is_empty() {
            return;
        }
        contexts.stale = false;
        contexts.running = true;
        let attachment = selected.attachment;
        let Some(selected) = self.state.selected() else {
            return;
        };
        let jobs: Vec<_> = selected
            .contexts
            .live
            .iter()
            .filter_map(|l| {
                let job = self.search_job(l.charset.clone(), l.criteria.clone())?;
                Some((l.tag.clone(), l.sort.clone(), job))
            })
            .collect();
        let work = async move {
            let mut found = Vec::new();
            for (tag, sort, job) in jobs {
                let result = job
                    .run(move |m| {
                        let found = match sort {
                            Some(criteria) => super::sort::in_order(&criteria, &m)?,
                            None => m.matches.iter().map(|(m, _)| *m).collect(),
                        };
                        Ok(found.into_iter().map(|m| m.uid).collect::<Vec<u32>>())
                    })
                    .await;
                // A failed search leaves the context as it was: the next change tries again.
                if let Ok(uids) = result {
                    found.push((tag, uids));
                }
            }
            found
        };
        ctx.spawn(work.into_actor(self).map(move |found, session, ctx| {
            let Some(selected) = session.state.selected_mut() else {
                return;
            };
            if selected.attachment != attachment {
                return; // another selection: its contexts are gone
            }
            let contexts = &mut selected.contexts;
            contexts.running = false;
            contexts
                .fresh
                .retain(|(t, _)| !found.iter().any(|(f, _)| f == t));
            contexts.fresh.extend(found);
            if !session.busy {
                session.write_context_news();
            }
            session.refresh_contexts(ctx);
        }));
    }
}

/// One ESEARCH response with one `ADDTO`/`REMOVEFROM` item, if it has anything to say.
fn esearch(
    context: &LiveContext,
    item: fn(Vec<(u32, SequenceSet)>) -> EsearchItem,
    runs: Runs,
    number: impl Fn(u32) -> Option<u32>,
) -> Option<Response> {
    let item = esearch_item(item, runs, number)?;
    Some(Response::Data(Data::Esearch(Esearch {
        correlator: Tag::new(context.tag.clone()).ok(),
        uid: context.uid,
        items: vec![item],
    })))
}

/// The item for `runs` with each UID turned into the number the client knows it by.
fn esearch_item(
    item: fn(Vec<(u32, SequenceSet)>) -> EsearchItem,
    runs: Runs,
    number: impl Fn(u32) -> Option<u32>,
) -> Option<EsearchItem> {
    let pairs: Vec<(u32, SequenceSet)> = runs
        .into_iter()
        .filter_map(|(at, uids)| {
            let numbers: Vec<u32> = uids.into_iter().filter_map(&number).collect();
            (!numbers.is_empty()).then(|| (at, SequenceSet::in_order(numbers)))
        })
        .collect();
    (!pairs.is_empty()).then(|| item(pairs))
}

#[cfg(test)]
mod tests {
    use super::difference;

    #[test]
    fn unsorted_differences_are_at_position_zero_in_mailbox_order() {
        let (removed, added) = difference(&[1, 3, 5], &[3, 9, 4], false);
        assert_eq!(removed, vec![(0, vec![1, 5])]);
        assert_eq!(added, vec![(0, vec![4, 9])]);
    }

    #[test]
    fn sorted_differences_replay_to_the_new_order() {
        let old = vec![10, 20, 30, 40, 50, 60];
        let new = vec![70, 10, 40, 80, 90, 60, 95];
        let (removed, added) = difference(&old, &new, true);
        let mut list = old.clone();
        for (at, run) in &removed {
            for uid in run {
                assert_eq!(list[*at as usize - 1], *uid);
                list.remove(*at as usize - 1);
            }
        }
        for (at, run) in &added {
            for (i, uid) in run.iter().enumerate() {
                list.insert(*at as usize - 1 + i, *uid);
            }
        }
        assert_eq!(list, new);
        assert_eq!(removed, vec![(2, vec![20, 30]), (3, vec![50])]);
        assert_eq!(added, vec![(1, vec![70]), (4, vec![80, 90]), (7, vec![95])]);
    }
}
