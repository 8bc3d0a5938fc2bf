//! Property tests of the command codec: every command the client writer produces decodes back
//! to exactly the same [`Command`], with non-synchronizing and synchronizing literals, in any
//! chunking; and the decoder's fuzz entry never panics on arbitrary or mutated input.
//!
//! The strategies (`strategies/command.rs`) cover every `CommandBody` variant and make only
//! values the grammar can express; each restriction is commented there.

#[path = "strategies/mod.rs"]
mod strategies;

use bytes::BytesMut;
use proptest::prelude::*;
use roost_proto::encode::{command_to_vec, write_command, CommandFragment, LiteralMode};
use roost_proto::*;

use strategies::command::command;

use strategies::config;

fn concat(frags: &[CommandFragment]) -> Vec<u8> {
    let mut v = Vec::new();
    for f in frags {
        match f {
            CommandFragment::Line(l) => v.extend_from_slice(l),
            CommandFragment::Literal(d) => v.extend_from_slice(d),
        }
    }
    v
}

/// Feeds `wire` in pieces of `chunk` octets and collects every command, failing on anything
/// but commands and `Incomplete` (non-synchronizing literals are never announced).
fn decode_stream(wire: &[u8], chunk: usize) -> Result<Vec<Command>, TestCaseError> {
    let mut d = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in wire.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match d.decode(&mut buf) {
                Decoded::Incomplete => break,
                Decoded::Command(c) => out.push(c),
                other => {
                    return Err(TestCaseError::fail(format!(
                        "{other:?} for {:?}",
                        String::from_utf8_lossy(wire)
                    )))
                }
            }
        }
    }
    prop_assert!(buf.is_empty(), "left over: {:?}", buf);
    Ok(out)
}

proptest! {
    #![proptest_config(config(300))]

    /// `write_command(NonSync)` then decode, all at once and pipelined: the same commands.
    #[test]
    fn non_sync_write_then_decode_is_identity(cmds in prop::collection::vec(command(), 1..4)) {
        let mut wire = Vec::new();
        for c in &cmds {
            wire.extend_from_slice(&concat(&write_command(c, LiteralMode::NonSync)));
        }
        let got = decode_stream(&wire, wire.len())?;
        prop_assert_eq!(got, cmds);
    }

    /// The same in arbitrary chunks, as a socket delivers it.
    #[test]
    fn non_sync_round_trip_survives_any_chunking(cmd in command(), chunk in 1usize..64) {
        let wire = concat(&write_command(&cmd, LiteralMode::NonSync));
        let got = decode_stream(&wire, chunk)?;
        prop_assert_eq!(got, vec![cmd]);
    }

    /// `command_to_vec` is the non-synchronizing fragments joined.
    #[test]
    fn command_to_vec_joins_the_non_sync_fragments(cmd in command()) {
        prop_assert_eq!(command_to_vec(&cmd), concat(&write_command(&cmd, LiteralMode::NonSync)));
    }

    /// `write_command(Sync)` fed fragment by fragment, as a client waiting for `+` would: each
    /// line that announces a literal yields `LiteralAnnounced` with the command's tag and the
    /// literal's length before any of its data is sent, and the last line yields the command.
    #[test]
    fn sync_literals_are_announced_before_their_data(cmd in command()) {
        let frags = write_command(&cmd, LiteralMode::Sync);
        let mut d = CommandDecoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut got = None;
        for (i, frag) in frags.iter().enumerate() {
            match frag {
                CommandFragment::Line(line) => {
                    buf.extend_from_slice(line);
                    match frags.get(i + 1) {
                        Some(CommandFragment::Literal(data)) => {
                            match d.decode(&mut buf) {
                                Decoded::LiteralAnnounced { tag, length, .. } => {
                                    prop_assert_eq!(tag.as_ref(), Some(&cmd.tag));
                                    prop_assert_eq!(length, data.len() as u64);
                                }
                                other => prop_assert!(false, "expected an announcement, got {:?}", other),
                            }
                            // Announced once: until the data arrives there is nothing more.
                            prop_assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
                        }
                        Some(CommandFragment::Line(_)) => prop_assert!(false, "two lines in a row"),
                        None => match d.decode(&mut buf) {
                            Decoded::Command(c) => got = Some(c),
                            other => prop_assert!(false, "expected the command, got {:?}", other),
                        },
                    }
                }
                CommandFragment::Literal(data) => {
                    buf.extend_from_slice(data);
                    // The rest of the command has not been sent yet.
                    prop_assert!(matches!(d.decode(&mut buf), Decoded::Incomplete));
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, Some(cmd));
    }

    /// Synchronizing and non-synchronizing output differ only in the `+` of each announcement.
    #[test]
    fn sync_and_non_sync_differ_only_in_announcements(cmd in command()) {
        let sync = write_command(&cmd, LiteralMode::Sync);
        let non_sync = write_command(&cmd, LiteralMode::NonSync);
        prop_assert_eq!(sync.len(), non_sync.len());
        for (i, (a, b)) in sync.iter().zip(&non_sync).enumerate() {
            match (a, b) {
                (CommandFragment::Literal(x), CommandFragment::Literal(y)) => prop_assert_eq!(x, y),
                (CommandFragment::Line(x), CommandFragment::Line(y)) => {
                    let mut x = x.clone();
                    if matches!(sync.get(i + 1), Some(CommandFragment::Literal(_))) {
                        prop_assert!(x.ends_with(b"}\r\n"), "no literal announcement");
                        x.truncate(x.len() - 3);
                        x.extend_from_slice(b"+}\r\n");
                    }
                    prop_assert_eq!(x, y.clone());
                }
                _ => prop_assert!(false, "fragment kinds differ"),
            }
        }
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// The fuzz entry point on arbitrary bytes.
    #[test]
    fn decode_commands_never_panics_on_arbitrary_bytes(
        data in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        roost_proto::fuzzing::decode_commands(&data);
    }

    /// The fuzz entry point on valid commands with a few bytes replaced, inserted or removed,
    /// or cut short: inputs that get deep into the parser before going wrong.
    #[test]
    fn decode_commands_never_panics_on_mutated_commands(
        cmd in command(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
    ) {
        let mut wire = command_to_vec(&cmd);
        wire.truncate(8 * 1024);
        for (at, byte, op) in edits {
            if wire.is_empty() {
                wire.push(byte);
                continue;
            }
            let i = at.index(wire.len());
            match op {
                0 => wire[i] = byte,
                1 => wire.insert(i, byte),
                2 => {
                    wire.remove(i);
                }
                _ => wire.truncate(i),
            }
        }
        roost_proto::fuzzing::decode_commands(&wire);
        roost_proto::fuzzing::command_roundtrip(&wire);
    }
}

/// The first word of a value's `Debug` form: its variant's name.
fn label<T: std::fmt::Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    s.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap()
        .to_string()
}

fn search_labels(k: &SearchKey, out: &mut std::collections::BTreeSet<String>) {
    out.insert(label(k));
    match k {
        SearchKey::Not(a) => search_labels(a, out),
        SearchKey::Or(a, b) => {
            search_labels(a, out);
            search_labels(b, out);
        }
        SearchKey::And(v) => v.iter().for_each(|k| search_labels(k, out)),
        _ => {}
    }
}

/// The strategy reaches every command (both forms of the UID commands), every search key and
/// every fetch item, so the properties above are about all of them.
#[test]
fn strategies_reach_every_variant() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    let mut runner = TestRunner::deterministic();
    let strategy = command();
    let (mut names, mut keys, mut atts) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for _ in 0..5000 {
        let cmd = strategy.new_tree(&mut runner).unwrap().current();
        names.insert(cmd.body.name().to_string());
        match &cmd.body {
            CommandBody::Search(s) => s.criteria.iter().for_each(|k| search_labels(k, &mut keys)),
            CommandBody::Fetch {
                items: FetchItems::List(v),
                ..
            } => atts.extend(v.iter().map(label)),
            CommandBody::Fetch { items, .. } => {
                atts.insert(label(items));
            }
            _ => {}
        }
    }
    let missing = |seen: &BTreeSet<String>, all: &str| -> Vec<String> {
        all.split(',')
            .map(str::trim)
            .filter(|n| !seen.contains(*n))
            .map(str::to_string)
            .collect()
    };
    let commands = "CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, AUTHENTICATE, LOGIN, ENABLE, SELECT, \
        EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, NAMESPACE, STATUS, \
        APPEND, IDLE, COMPRESS, GETQUOTA, GETQUOTAROOT, SETQUOTA, CHECK, CLOSE, UNSELECT, \
        EXPUNGE, UID EXPUNGE, SEARCH, UID SEARCH, FETCH, UID FETCH, STORE, UID STORE, COPY, \
        UID COPY, MOVE, UID MOVE";
    let search_keys = "All, Answered, Bcc, Before, Body, Cc, Deleted, Draft, Flagged, From, \
        Header, Keyword, Larger, New, Not, Old, On, Or, Recent, Seen, SentBefore, SentOn, \
        SentSince, Since, Smaller, Subject, Text, To, Uid, Unanswered, Undeleted, Undraft, \
        Unflagged, Unkeyword, Unseen, SequenceSet, And, ModSeq, EmailId, ThreadId";
    let fetch_items = "All, Fast, Full, Envelope, Flags, InternalDate, Rfc822Size, Body, \
        BodyStructure, Uid, BodySection, Binary, BinarySize, ModSeq, EmailId, ThreadId, Rfc822, \
        Rfc822Header, Rfc822Text";
    assert_eq!(missing(&names, commands), Vec::<String>::new());
    assert_eq!(missing(&keys, search_keys), Vec::<String>::new());
    assert_eq!(missing(&atts, fetch_items), Vec::<String>::new());
}
