//! SORT and THREAD commands (RFC 5256, RFC 5267 `RETURN`, RFC 5957 keys) and the `* THREAD`
//! thread lists.

use super::search::{charset, return_opts, search_program, uid_and_name};
use super::wire::{self, Sink};
use crate::types::{SortCommand, SortCriterion, Thread, ThreadCommand};

/// `[UID] SORT [RETURN (...)] (criteria) charset key *(SP key)`, after the tag.
pub(crate) fn sort_command(s: &mut impl Sink, c: &SortCommand) {
    uid_and_name(s, c.uid, b"SORT");
    return_opts(s, c.returns.as_deref());
    wire::sp(s);
    wire::paren_list(s, &c.criteria, |s, k: &SortCriterion| {
        if k.reverse {
            s.put(b"REVERSE ");
        }
        s.put(k.key.name().as_bytes());
    });
    wire::sp(s);
    charset(s, &c.charset);
    search_program(s, &c.search);
}

/// `[UID] THREAD algorithm charset key *(SP key)`, after the tag.
pub(crate) fn thread_command(s: &mut impl Sink, c: &ThreadCommand) {
    uid_and_name(s, c.uid, b"THREAD ");
    s.put(c.algorithm.name().as_bytes());
    wire::sp(s);
    charset(s, &c.charset);
    search_program(s, &c.search);
}

/// `thread-list = "(" (thread-members / thread-nested) ")"`, with `thread-members =
/// nz-number *(SP nz-number) [SP thread-nested]` and `thread-nested = 2*thread-list`.
pub(crate) fn thread_list(s: &mut impl Sink, t: &Thread) {
    s.put(b"(");
    for (i, n) in t.members.iter().enumerate() {
        if i > 0 {
            wire::sp(s);
        }
        wire::number(s, u64::from(*n));
    }
    if !t.members.is_empty() && !t.children.is_empty() {
        wire::sp(s);
    }
    for child in &t.children {
        thread_list(s, child);
    }
    s.put(b")");
}
