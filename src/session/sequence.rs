//! Message sequence numbers the client may use (RFC 9051 section 9, `seq-number`): a number
//! beyond the messages it was told of, or `*` in an empty mailbox, is answered `BAD`.

use roost_proto::{CommandBody, SeqBound, SequenceSet};

/// Why a non-UID FETCH, STORE, COPY or MOVE names a message that does not exist, if it does.
pub fn out_of_range(body: &CommandBody, exists: u32) -> Option<String> {
    let set = match body {
        CommandBody::Fetch {
            uid: false, set, ..
        }
        | CommandBody::Store {
            uid: false, set, ..
        }
        | CommandBody::Copy {
            uid: false, set, ..
        }
        | CommandBody::Move {
            uid: false, set, ..
        } => set,
        _ => return None,
    };
    let SequenceSet::Ranges(ranges) = set else {
        return None; // `$`: the saved result holds only messages that exist
    };
    for bound in ranges.iter().flat_map(|r| [r.start, r.end]) {
        match bound {
            SeqBound::Star if exists == 0 => {
                return Some("* names no message: the mailbox is empty".to_owned())
            }
            SeqBound::Value(n) if n > exists => {
                return Some(format!(
                    "no message {n}: the mailbox has {exists} (use UID commands for UIDs)"
                ))
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_proto::{FetchItems, FetchModifiers, SeqRange};

    fn fetch(uid: bool, ranges: &[(SeqBound, SeqBound)]) -> CommandBody {
        CommandBody::Fetch {
            uid,
            set: SequenceSet::Ranges(
                ranges
                    .iter()
                    .map(|&(start, end)| SeqRange { start, end })
                    .collect(),
            ),
            items: FetchItems::List(Vec::new()),
            modifiers: FetchModifiers::default(),
        }
    }

    #[test]
    fn numbers_beyond_the_mailbox_and_star_when_empty_are_refused() {
        use SeqBound::{Star, Value};
        assert!(out_of_range(&fetch(false, &[(Value(1), Value(6))]), 6).is_none());
        assert!(out_of_range(&fetch(false, &[(Value(3), Star)]), 6).is_none());
        assert!(out_of_range(&fetch(false, &[(Value(7), Value(7))]), 6).is_some());
        assert!(out_of_range(&fetch(false, &[(Value(1), Value(99))]), 6).is_some());
        assert!(out_of_range(&fetch(false, &[(Star, Star)]), 0).is_some());
        // UIDs are not sequence numbers: UID FETCH 99 on six messages is fine.
        assert!(out_of_range(&fetch(true, &[(Value(99), Value(99))]), 6).is_none());
    }
}
