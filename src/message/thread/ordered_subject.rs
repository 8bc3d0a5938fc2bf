//! ORDEREDSUBJECT (RFC 5256 section 3): messages sorted by base subject then sent date, one
//! thread per base subject whose first message is the parent of all the others, threads
//! ordered by the sent date of their first message.

use roost_proto::Thread;

use super::ThreadMessage;

pub(super) fn thread(messages: &[ThreadMessage]) -> Vec<Thread> {
    let mut order: Vec<&ThreadMessage> = messages.iter().collect();
    order.sort_by(|a, b| {
        a.subject
            .cmp(&b.subject)
            .then(a.sent.cmp(&b.sent))
            .then(a.seq.cmp(&b.seq))
    });
    let mut threads: Vec<&[&ThreadMessage]> =
        order.chunk_by(|a, b| a.subject == b.subject).collect();
    threads.sort_by_key(|t| (t[0].sent, t[0].seq));
    threads
        .into_iter()
        .filter_map(|t| match t {
            // The second message is the child of the first.
            [first, second] => Some(Thread {
                members: vec![first.number, second.number],
                children: vec![],
            }),
            // Later ones are siblings of the second: all children of the first.
            [first, rest @ ..] => Some(Thread {
                members: vec![first.number],
                children: rest
                    .iter()
                    .map(|m| Thread {
                        members: vec![m.number],
                        children: vec![],
                    })
                    .collect(),
            }),
            [] => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{message, render};
    use super::*;

    #[test]
    fn threads_by_base_subject_ordered_by_first_date() {
        let messages = [
            message(1, 50, "b", false, "", ""),
            message(2, 10, "a", false, "", ""),
            message(3, 40, "b", true, "", ""),
            message(4, 30, "a", true, "", ""),
            message(5, 20, "a", true, "", ""),
            message(6, 5, "c", false, "", ""),
            message(7, 60, "c", true, "", ""),
        ];
        // a: 2 (10) then 5 (20), 4 (30); b: 3 (40) then 1 (50); c: 6 (5) then 7.
        assert_eq!(render(&thread(&messages)), "(6 7)(2 (5)(4))(3 1)");
        assert_eq!(render(&thread(&[])), "");
    }
}
