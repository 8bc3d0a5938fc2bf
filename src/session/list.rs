//! LIST (RFC 9051 section 6.3.9 with LIST-EXTENDED, LIST-STATUS and SPECIAL-USE) and the
//! IMAP4rev1 LSUB (RFC 3501 section 6.3.9).

use std::collections::{BTreeMap, BTreeSet};

use actix::ResponseActFuture;
use roost_proto::{
    Atom, Data, ListCommand, ListData, ListExtended, ListReturnOption, ListSelectOption,
    MailboxName, Response, Status, StatusItem, Tag,
};

use super::mailbox::{atom, status_values};
use super::messages::{ReadMode, Reply};
use super::names::{mailbox_error, normalize, DELIMITER};
use super::pattern::Pattern;
use super::{ready, run, Session};
use crate::mailbox::{AccountView, MailboxError, MailboxStatus};
use crate::store::MailboxInfo;

/// What a LIST asks for, decoded.
struct ListRequest {
    patterns: Vec<String>,
    subscribed_only: bool,
    special_use_only: bool,
    recursive_match: bool,
    return_subscribed: bool,
    return_children: bool,
    return_special_use: bool,
    status: Option<Vec<StatusItem>>,
}

/// One line of output before STATUS is added.
struct Line {
    name: String,
    attributes: Vec<Atom>,
    extended: Vec<ListExtended>,
    /// Selectable and existing: gets a STATUS line when asked for.
    info: Option<MailboxInfo>,
}

impl Session {
    pub(super) fn handle_list(
        &mut self,
        tag: Tag,
        list: ListCommand,
    ) -> ResponseActFuture<Self, Reply> {
        // A reference or pattern that is not valid in the connection's encoding matches no
        // name (every stored name is valid): the answer is simply empty.
        let reference = self.decoded_name(&list.reference).ok();
        let patterns: Vec<String> = list
            .patterns
            .iter()
            .filter_map(|p| self.decoded_name(&MailboxName::from_wire(p.clone())).ok())
            .filter_map(|p| Some(join(reference.as_deref()?, &p)))
            .collect();
        // `LIST "" ""`: the hierarchy delimiter and root (RFC 9051 section 6.3.9).
        if list.patterns.len() == 1 && list.patterns[0].is_empty() {
            let root = ListData {
                attributes: vec![atom("Noselect")],
                delimiter: Some(DELIMITER),
                mailbox: String::new(),
                extended: Vec::new(),
            };
            self.write(Response::Data(Data::List(root)));
            self.write_status(Status::ok(tag, None, "LIST completed"));
            return ready(self.reply(ReadMode::Command));
        }
        let has = |o: ListSelectOption| list.selection.contains(&o);
        let mut request = ListRequest {
            patterns,
            subscribed_only: has(ListSelectOption::Subscribed),
            special_use_only: has(ListSelectOption::SpecialUse),
            recursive_match: has(ListSelectOption::RecursiveMatch),
            return_subscribed: has(ListSelectOption::Subscribed),
            return_children: true,
            return_special_use: true,
            status: None,
        };
        for r in list.returns {
            match r {
                ListReturnOption::Subscribed => request.return_subscribed = true,
                ListReturnOption::Children => request.return_children = true,
                ListReturnOption::SpecialUse => request.return_special_use = true,
                ListReturnOption::Status(items) => request.status = Some(items),
            }
        }
        self.list_with(tag, request, false)
    }

    /// LSUB: subscribed names matching the pattern; missing ones are `\Noselect`
    /// (Thunderbird greys them out), special-use attributes included (Outlook 2013).
    pub(super) fn handle_lsub(
        &mut self,
        tag: Tag,
        reference: &MailboxName,
        pattern: Vec<u8>,
    ) -> ResponseActFuture<Self, Reply> {
        let reference = self.decoded_name(reference).ok();
        let pattern = self.decoded_name(&MailboxName::from_wire(pattern)).ok();
        let pattern = reference.zip(pattern).map(|(r, p)| join(&r, &p));
        let request = ListRequest {
            patterns: pattern.into_iter().collect(),
            subscribed_only: true,
            special_use_only: false,
            recursive_match: false,
            return_subscribed: false,
            return_children: false,
            return_special_use: true,
            status: None,
        };
        self.list_with(tag, request, true)
    }

    fn list_with(
        &mut self,
        tag: Tag,
        request: ListRequest,
        lsub: bool,
    ) -> ResponseActFuture<Self, Reply> {
        let (registry, user) = (self.shared.registry.clone(), self.user());
        let want_status = request.status.is_some();
        let work = async move {
            let account = registry.account(&user).await?;
            let view = account.view().await?;
            // Matching many folders against long patterns is CPU work: off the actor's thread.
            let (lines, request) =
                tokio::task::spawn_blocking(move || (build_lines(&view, &request, lsub), request))
                    .await
                    .map_err(|e| MailboxError::Storage(format!("LIST failed: {e}")))?;
            let lines = lines?;
            let mut statuses: Vec<Option<MailboxStatus>> = Vec::new();
            for line in &lines {
                let status = match (&line.info, want_status) {
                    (Some(info), true) => match account.open(&info.name).await {
                        Ok(handle) => handle.status().await.ok(),
                        Err(_) => None,
                    },
                    _ => None,
                };
                statuses.push(status);
            }
            Ok::<_, MailboxError>((lines, statuses, request.status))
        };
        run(self, work, move |session, result, _| {
            match result {
                Ok((lines, statuses, items)) => {
                    for (line, status) in lines.into_iter().zip(statuses) {
                        let data = ListData {
                            attributes: line.attributes,
                            delimiter: Some(DELIMITER),
                            mailbox: line.name.clone(),
                            extended: line.extended,
                        };
                        session.write(Response::Data(if lsub {
                            Data::Lsub(data)
                        } else {
                            Data::List(data)
                        }));
                        if let (Some(status), Some(items), Some(info)) =
                            (status, &items, &line.info)
                        {
                            let limit = session.shared.config.limits.max_literal;
                            let values = status_values(items, info, &status, limit);
                            session.write(Response::Data(Data::Status {
                                mailbox: line.name,
                                items: values,
                            }));
                        }
                    }
                    let verb = if lsub { "LSUB" } else { "LIST" };
                    session.write_status(Status::ok(tag, None, format!("{verb} completed")));
                }
                Err(e) => session.write_status(mailbox_error(tag, &e)),
            }
            ReadMode::Command
        })
    }
}

/// `reference` and `pattern` interpreted together (RFC 9051 section 6.3.9): with no
/// break-out characters, "the reference name appended with the mailbox name", one delimiter
/// where both bring one. The reference thus prefixes every name returned.
fn join(reference: &str, pattern: &str) -> String {
    let pattern = match reference.ends_with(DELIMITER) {
        true => pattern.strip_prefix(DELIMITER).unwrap_or(pattern),
        false => pattern,
    };
    normalize(&format!("{reference}{pattern}"))
}

/// Matching steps one LIST may take (patterns × names × name lengths, after wildcard runs
/// collapse): far beyond any real client's LIST of thousands of folders, far below what
/// would hold a CPU for long.
const LIST_WORK_LIMIT: usize = 10_000_000;

fn build_lines(
    view: &AccountView,
    request: &ListRequest,
    lsub: bool,
) -> Result<Vec<Line>, MailboxError> {
    let subscribed: BTreeSet<&str> = view.subscriptions.iter().map(String::as_str).collect();
    let existing: BTreeMap<&str, &MailboxInfo> = view
        .mailboxes
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    let has_children = |name: &str| {
        let prefix = format!("{name}{DELIMITER}");
        existing
            .range(prefix.as_str()..)
            .next()
            .is_some_and(|(n, _)| n.starts_with(&prefix))
    };
    let patterns: Vec<Pattern> = request.patterns.iter().map(|p| Pattern::new(p)).collect();
    let mut names: BTreeSet<String> = view.mailboxes.iter().map(|m| m.name.clone()).collect();
    if request.subscribed_only {
        names.extend(view.subscriptions.iter().cloned());
    }
    let parents_of_subscribed = request.subscribed_only && (request.recursive_match || lsub);
    if parents_of_subscribed {
        // A parent that is neither a mailbox nor subscribed can still be listed for its
        // subscribed children (RFC 5258 section 3.5, RFC 3501 section 6.3.9).
        for s in &view.subscriptions {
            let mut end = 0;
            while let Some(i) = s[end..].find(DELIMITER) {
                end += i;
                names.insert(s[..end].to_owned());
                end += DELIMITER.len_utf8();
            }
        }
    }
    let work = names.iter().fold(0usize, |sum, name| {
        let chars = name.chars().count();
        patterns
            .iter()
            .fold(sum, |sum, p| sum.saturating_add(p.cost(chars)))
    });
    if work > LIST_WORK_LIMIT {
        return Err(MailboxError::Limit(
            "the patterns are too complex to match against this account's folders".into(),
        ));
    }
    let matched = |name: &str| patterns.iter().any(|p| p.matches(name));
    // A subscribed descendant the patterns do not return themselves (so the parent's line
    // is the only sign of it: RFC 5258 section 3.5 suppresses redundant CHILDINFO).
    let hidden_subscribed_child = |name: &str| {
        let prefix = format!("{name}{DELIMITER}");
        subscribed
            .range(prefix.as_str()..)
            .take_while(|s| s.starts_with(&prefix))
            .any(|s| !matched(s))
    };
    let mut lines = Vec::new();
    for name in names {
        let info = existing.get(name.as_str()).copied();
        let is_subscribed = subscribed.contains(name.as_str());
        if !matched(&name) {
            continue;
        }
        if request.special_use_only && info.and_then(|i| i.special_use).is_none() {
            continue;
        }
        let child_info = parents_of_subscribed && hidden_subscribed_child(&name);
        if request.subscribed_only && !is_subscribed && !child_info {
            continue;
        }
        let extended = if child_info && !lsub {
            vec![ListExtended::ChildInfo(vec!["SUBSCRIBED".into()])]
        } else {
            Vec::new()
        };
        let mut attributes = Vec::new();
        match info {
            None => attributes.push(atom(if lsub { "Noselect" } else { "NonExistent" })),
            // LSUB `%` names an unsubscribed parent of a subscribed child `\Noselect`.
            Some(_) if lsub && !is_subscribed => attributes.push(atom("Noselect")),
            Some(info) => {
                if request.return_children && !lsub {
                    attributes.push(atom(if has_children(&name) {
                        "HasChildren"
                    } else {
                        "HasNoChildren"
                    }));
                }
                if let (true, Some(special)) = (request.return_special_use, info.special_use) {
                    attributes
                        .push(Atom::new(special.name()).expect("special-use names are atoms"));
                }
            }
        }
        if request.return_subscribed && is_subscribed {
            attributes.push(atom("Subscribed"));
        }
        lines.push(Line {
            name,
            attributes,
            extended,
            info: info.cloned(),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_and_pattern_join() {
        assert_eq!(join("", "%"), "%");
        assert_eq!(join("Work", "%"), "Work%");
        assert_eq!(join("Work", "*"), "Work*");
        assert_eq!(join("Work/", "%"), "Work/%");
        assert_eq!(join("Work/", "/x"), "Work/x");
        assert_eq!(join("Work", "/x"), "Work/x");
    }
}
