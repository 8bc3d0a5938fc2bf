//! The parent/child arena THREAD builds (messages and dummies), sibling sorting by sent
//! date, and the response's thread lists. Every walk is iterative: a hostile mailbox can make
//! one reply chain as long as the mailbox.

use roost_proto::Thread;

use super::ThreadMessage;

/// Thread lists nest at most this deep in a response; a deeper sub-thread is written as one
/// chain in depth-first order (clients' parsers limit nesting too, and the writer recurses).
const MAX_NESTING: usize = 100;

#[derive(Debug, Default, Clone)]
struct Node {
    /// Index into the messages; `None` for a dummy (a referenced message not searched).
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

#[derive(Debug, Default)]
pub(super) struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    pub fn add(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Node {
            msg,
            ..Node::default()
        });
        self.nodes.len() - 1
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn msg(&self, n: usize) -> Option<usize> {
        self.nodes[n].msg
    }

    pub fn set_msg(&mut self, n: usize, msg: usize) {
        self.nodes[n].msg = Some(msg);
    }

    pub fn parent(&self, n: usize) -> Option<usize> {
        self.nodes[n].parent
    }

    pub fn children(&self, n: usize) -> &[usize] {
        &self.nodes[n].children
    }

    pub fn take_children(&mut self, n: usize) -> Vec<usize> {
        std::mem::take(&mut self.nodes[n].children)
    }

    /// Makes `child` (which has no parent) the last child of `parent`.
    pub fn link(&mut self, parent: usize, child: usize) {
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }

    /// Makes `children` (taken from elsewhere) children of `parent`, or roots for `None`.
    pub fn adopt(&mut self, parent: Option<usize>, children: &[usize]) {
        for &c in children {
            self.nodes[c].parent = parent;
        }
        if let Some(p) = parent {
            self.nodes[p].children.extend_from_slice(children);
        }
    }

    pub fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    /// Whether making `parent` the parent of `child` would close a loop: `parent` is
    /// `child` or one of its descendants.
    pub fn would_loop(&self, parent: usize, child: usize) -> bool {
        if parent == child {
            return true;
        }
        if self.nodes[child].children.is_empty() {
            return false;
        }
        let mut at = self.nodes[parent].parent;
        while let Some(n) = at {
            if n == child {
                return true;
            }
            at = self.nodes[n].parent;
        }
        false
    }

    /// Every node under `roots` (roots included), parents before their children.
    fn preorder(&self, roots: &[usize]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack: Vec<usize> = roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(self.nodes[n].children.iter().rev());
        }
        out
    }

    /// RFC 5256 section 3 REFERENCES step (3): below the root, a dummy is replaced by its
    /// children (none: it goes); at the root, only a dummy with one child is.
    pub fn prune_dummies(&mut self, roots: &[usize]) -> Vec<usize> {
        for n in self.preorder(roots).into_iter().rev() {
            let mut kept = Vec::new();
            for c in self.take_children(n) {
                if self.nodes[c].msg.is_some() {
                    kept.push(c);
                } else {
                    kept.extend(self.take_children(c));
                }
            }
            self.adopt(Some(n), &kept);
        }
        let mut out = Vec::new();
        for &r in roots {
            match (self.nodes[r].msg, self.nodes[r].children.len()) {
                (None, 0) => {}
                (None, 1) => {
                    let only = self.take_children(r);
                    self.adopt(None, &only);
                    out.extend(only);
                }
                _ => out.push(r),
            }
        }
        out
    }

    /// A node's place among its siblings: its message's sent date, then sequence number; a
    /// dummy's is its first child's (so sort the children first).
    fn key(&self, n: usize, messages: &[ThreadMessage]) -> (i64, u32) {
        let mut at = n;
        loop {
            match (self.nodes[at].msg, self.nodes[at].children.first()) {
                (Some(m), _) => return (messages[m].sent, messages[m].seq),
                (None, Some(&c)) => at = c,
                (None, None) => return (i64::MIN, 0),
            }
        }
    }

    /// Sorts every set of siblings under `roots`, deepest first, then `roots` themselves, by
    /// sent date (REFERENCES steps (4) and (6)).
    pub fn sort_siblings(&mut self, roots: &mut [usize], messages: &[ThreadMessage]) {
        for n in self.preorder(roots).into_iter().rev() {
            let mut kids = self.take_children(n);
            kids.sort_by_key(|&c| self.key(c, messages));
            self.nodes[n].children = kids;
        }
        roots.sort_by_key(|&r| self.key(r, messages));
    }

    /// The response's thread lists for `roots`.
    pub fn to_threads(&self, roots: &[usize], messages: &[ThreadMessage]) -> Vec<Thread> {
        roots
            .iter()
            .map(|&r| self.to_thread(r, messages, 0))
            .filter(|t| !t.members.is_empty() || t.children.len() >= 2)
            .collect()
    }

    fn to_thread(&self, node: usize, messages: &[ThreadMessage], depth: usize) -> Thread {
        let number = |n: usize| self.nodes[n].msg.map(|m| messages[m].number);
        let mut t = Thread::default();
        if depth >= MAX_NESTING {
            t.members = self
                .preorder(&[node])
                .into_iter()
                .filter_map(number)
                .collect();
            return t;
        }
        let mut at = node;
        loop {
            t.members.extend(number(at));
            match self.nodes[at].children.as_slice() {
                [] => break,
                [only] => at = *only,
                many => {
                    t.children = many
                        .iter()
                        .map(|&c| self.to_thread(c, messages, depth + 1))
                        .collect();
                    break;
                }
            }
        }
        t
    }
}
