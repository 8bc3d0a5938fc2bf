//! REFERENCES (RFC 5256 section 3), steps (1) to (6) as the RFC numbers them.

use std::collections::HashMap;

use roost_proto::Thread;

use super::tree::Tree;
use super::ThreadMessage;

pub(super) fn thread(messages: &[ThreadMessage]) -> Vec<Thread> {
    let mut tree = Tree::default();
    link_references(&mut tree, messages);
    // (2) Messages without a parent are the first of their threads.
    let roots: Vec<usize> = (0..tree.len())
        .filter(|&n| tree.parent(n).is_none())
        .collect();
    // (3)
    let mut roots = tree.prune_dummies(&roots);
    // (4)
    tree.sort_siblings(&mut roots, messages);
    // (5)
    let mut roots = merge_by_subject(&mut tree, roots, messages);
    // (6)
    tree.sort_siblings(&mut roots, messages);
    tree.to_threads(&roots, messages)
}

/// Step (1): a node per message and per referenced Message ID, linked as the references say.
fn link_references(tree: &mut Tree, messages: &[ThreadMessage]) {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        let node = match m.message_id.as_deref() {
            // A dummy made for an earlier reference to this ID becomes this message.
            Some(id) => match ids.get(id) {
                Some(&d) if tree.msg(d).is_none() => {
                    tree.set_msg(d, i);
                    d
                }
                // A duplicate Message-ID: only the first message keeps it.
                Some(_) => tree.add(Some(i)),
                None => {
                    let n = tree.add(Some(i));
                    ids.insert(id, n);
                    n
                }
            },
            None => tree.add(Some(i)),
        };
        // (1)(A) Each reference the parent of the next, unless that one has a parent or the
        // link would close a loop.
        let refs: Vec<usize> = m
            .references
            .iter()
            .map(|r| *ids.entry(r.as_str()).or_insert_with(|| tree.add(None)))
            .collect();
        for pair in refs.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            if tree.parent(child).is_none() && !tree.would_loop(parent, child) {
                tree.link(parent, child);
            }
        }
        // (1)(B) The last reference is the message's parent: this replaces a parent set from
        // another message's (possibly truncated) references; no references, no parent.
        tree.unlink(node);
        if let Some(&last) = refs.last() {
            if !tree.would_loop(last, node) {
                tree.link(last, node);
            }
        }
    }
}

/// Step (5): threads whose first message (or a dummy's first child) has the same base
/// subject are gathered.
fn merge_by_subject(tree: &mut Tree, roots: Vec<usize>, messages: &[ThreadMessage]) -> Vec<usize> {
    let subject = |tree: &Tree, n: usize| -> Option<usize> {
        tree.msg(n)
            .or_else(|| tree.children(n).first().and_then(|&c| tree.msg(c)))
    };
    let is_dummy = |tree: &Tree, n: usize| tree.msg(n).is_none();
    let is_reply =
        |tree: &Tree, n: usize| tree.msg(n).is_some_and(|m| messages[m].reply_or_forward);
    // (B) One thread per subject: a dummy wins over a message, a message over a reply.
    let mut table: HashMap<&str, usize> = HashMap::new();
    for &r in &roots {
        let Some(m) = subject(tree, r) else { continue };
        let s = messages[m].subject.as_str();
        if s.is_empty() {
            continue;
        }
        match table.get(s) {
            None => {
                table.insert(s, r);
            }
            Some(&t) => {
                let replace = !is_dummy(tree, t)
                    && (is_dummy(tree, r) || (is_reply(tree, t) && !is_reply(tree, r)));
                if replace {
                    table.insert(s, r);
                }
            }
        }
    }
    // (C) Merge each other thread of a subject into the table's.
    let mut slots: Vec<Option<usize>> = roots.iter().copied().map(Some).collect();
    let mut slot_of: HashMap<usize, usize> =
        roots.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    for i in 0..slots.len() {
        let Some(cur) = slots[i] else { continue };
        let Some(m) = subject(tree, cur) else {
            continue;
        };
        let s = messages[m].subject.as_str();
        if s.is_empty() {
            continue;
        }
        let Some(&t) = table.get(s) else { continue };
        if t == cur {
            continue;
        }
        slots[i] = None;
        if is_dummy(tree, t) && is_dummy(tree, cur) {
            let kids = tree.take_children(cur);
            tree.adopt(Some(t), &kids);
        } else if is_dummy(tree, t) || (is_reply(tree, cur) && !is_reply(tree, t)) {
            tree.link(t, cur);
        } else {
            let dummy = tree.add(None);
            tree.link(dummy, t);
            tree.link(dummy, cur);
            table.insert(s, dummy);
            if let Some(at) = slot_of.remove(&t) {
                slots[at] = Some(dummy);
                slot_of.insert(dummy, at);
            }
        }
    }
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{message, render};
    use super::*;

    #[test]
    fn a_reply_chain_is_one_thread() {
        let m = [
            message(1, 10, "hello", false, "<a@x>", ""),
            message(2, 20, "hello", true, "<b@x>", "<a@x>"),
            message(3, 30, "hello", true, "<c@x>", "<a@x> <b@x>"),
        ];
        assert_eq!(render(&thread(&m)), "(1 2 3)");
    }

    #[test]
    fn siblings_are_sorted_by_date_and_branch() {
        let m = [
            message(1, 10, "s", false, "<a@x>", ""),
            message(2, 40, "s", true, "<b@x>", "<a@x>"),
            message(3, 30, "s", true, "<c@x>", "<a@x>"),
            message(4, 50, "s", true, "<d@x>", "<a@x> <c@x>"),
            message(5, 5, "other", false, "<e@x>", ""),
        ];
        assert_eq!(render(&thread(&m)), "(5)(1 (3 4)(2))");
    }

    #[test]
    fn missing_parents_become_dummies_that_are_pruned() {
        // Two replies to a message that is not here: a dummy root with two children.
        let two = [
            message(1, 20, "q", true, "<b@x>", "<gone@x>"),
            message(2, 10, "q", true, "<c@x>", "<gone@x>"),
        ];
        assert_eq!(render(&thread(&two)), "((2)(1))");
        // One: the dummy is replaced by its child.
        let one = [message(1, 20, "q", true, "<b@x>", "<gone@x>")];
        assert_eq!(render(&thread(&one)), "(1)");
        // A missing message in the middle of a chain: the chain closes over it.
        let middle = [
            message(1, 10, "r", false, "<a@x>", ""),
            message(2, 30, "r", true, "<c@x>", "<a@x> <gone@x>"),
        ];
        assert_eq!(render(&thread(&middle)), "(1 2)");
    }

    #[test]
    fn a_dummy_found_later_becomes_the_message() {
        // The reply comes first in the mailbox; its parent arrives later.
        let m = [
            message(1, 20, "t", true, "<b@x>", "<a@x>"),
            message(2, 10, "t", false, "<a@x>", ""),
        ];
        assert_eq!(render(&thread(&m)), "(2 1)");
    }

    #[test]
    fn loops_are_not_created() {
        // Each claims the other as parent: the first link holds, the second would loop.
        let m = [
            message(1, 10, "u", false, "<a@x>", "<b@x>"),
            message(2, 20, "u", false, "<b@x>", "<a@x>"),
        ];
        assert_eq!(render(&thread(&m)), "(2 1)");
        // A message referencing itself.
        let own = [message(1, 10, "v", false, "<a@x>", "<a@x>")];
        assert_eq!(render(&thread(&own)), "(1)");
        // References that go round: a -> b -> a.
        let round = [message(1, 10, "w", false, "<c@x>", "<a@x> <b@x> <a@x>")];
        assert_eq!(render(&thread(&round)), "(1)");
    }

    #[test]
    fn duplicate_message_ids_only_count_once() {
        let m = [
            message(1, 10, "d", false, "<a@x>", ""),
            message(2, 20, "e", false, "<a@x>", ""),
            message(3, 30, "d", true, "<r@x>", "<a@x>"),
        ];
        assert_eq!(render(&thread(&m)), "(1 3)(2)");
    }

    #[test]
    fn a_message_own_references_replace_a_parent_set_by_others() {
        // 2 says b is a child of a; b itself (3) says its parent is x, which is missing.
        let m = [
            message(1, 10, "one", false, "<a@x>", ""),
            message(2, 20, "two", true, "<c@x>", "<a@x> <b@x>"),
            message(3, 30, "three", true, "<b@x>", "<x@x>"),
        ];
        assert_eq!(render(&thread(&m)), "(1)(3 2)");
    }

    #[test]
    fn an_existing_parent_is_kept_against_later_references() {
        let m = [
            message(1, 10, "z", false, "<a@x>", ""),
            message(2, 20, "z", true, "<b@x>", "<a@x>"),
            message(3, 30, "z", true, "<c@x>", "<a@x>"),
            message(4, 40, "z", true, "<d@x>", "<b@x> <c@x>"),
        ];
        // 4's references try b -> c, but c already has a parent (a): that link stays.
        assert_eq!(render(&thread(&m)), "(1 (2)(3 4))");
    }

    #[test]
    fn threads_with_the_same_subject_are_merged() {
        // A reply whose parent is unknown joins the thread of its subject.
        let reply = [
            message(1, 10, "topic", false, "<a@x>", ""),
            message(2, 20, "topic", true, "<b@x>", ""),
        ];
        assert_eq!(render(&thread(&reply)), "(1 2)");
        // Two non-replies: siblings under a new dummy.
        let peers = [
            message(1, 10, "topic", false, "<a@x>", ""),
            message(2, 20, "topic", false, "<b@x>", ""),
        ];
        assert_eq!(render(&thread(&peers)), "((1)(2))");
        // A dummy thread and a message thread of one subject: the message joins the dummy.
        let dummy = [
            message(1, 10, "k", true, "<b@x>", "<gone@x>"),
            message(2, 20, "k", true, "<c@x>", "<gone@x>"),
            message(3, 30, "k", false, "<d@x>", ""),
        ];
        assert_eq!(render(&thread(&dummy)), "((1)(2)(3))");
        // Empty subjects never merge.
        let empty = [
            message(1, 10, "", false, "<a@x>", ""),
            message(2, 20, "", false, "<b@x>", ""),
        ];
        assert_eq!(render(&thread(&empty)), "(1)(2)");
    }

    #[test]
    fn a_chain_as_long_as_a_big_mailbox_is_threaded_without_recursion() {
        let n = 50_000u32;
        let m: Vec<ThreadMessage> = (1..=n)
            .map(|i| {
                let parent = if i == 1 {
                    String::new()
                } else {
                    format!("<{}@x>", i - 1)
                };
                message(i, i64::from(i), "long", i > 1, &format!("<{i}@x>"), &parent)
            })
            .collect();
        let threads = thread(&m);
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0].members.len(), n as usize);
        // A comb: each message has two replies, one of which continues; nesting is capped.
        let mut comb = vec![message(1, 1, "c", false, "<1@x>", "")];
        for i in 2..=2_001u32 {
            let parent = if i % 2 == 0 { i - 1 } else { i - 2 };
            comb.push(message(
                i,
                i64::from(i),
                "c",
                true,
                &format!("<{i}@x>"),
                &format!("<{parent}@x>"),
            ));
        }
        let threads = thread(&comb);
        assert_eq!(threads.len(), 1);
        let mut count = 0;
        let mut stack = vec![&threads[0]];
        while let Some(t) = stack.pop() {
            count += t.members.len();
            stack.extend(&t.children);
        }
        assert_eq!(count, 2_001);
    }
}
