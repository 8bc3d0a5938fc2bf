//! Entry points for the fuzz targets in `proto/fuzz/`. Each target is one call into here, so
//! private parsers are fuzzed without becoming public API.

use bytes::BytesMut;

use crate::decode::{CommandDecoder, Decoded, NonSyncLiterals};
use crate::encode::{write_command, CommandFragment, LiteralMode};
use crate::limits::Limits;
use crate::response::{ResponseContext, ResponseDecoder};
use crate::types::Command;

/// Feeds `data` through a [`CommandDecoder`] in several chunkings (all at once, one byte at a
/// time, odd-sized pieces), with default and with tiny limits, and under LITERAL+ and
/// LITERAL-. Must never panic; literal announcements are acknowledged by continuing, as a
/// server that sends `+` would.
pub fn decode_commands(data: &[u8]) {
    let tiny = Limits {
        max_line: 64,
        max_literal: 32,
        max_literal_minus: 8,
        max_command: 256,
        max_depth: 4,
        max_set_ranges: 4,
        max_literals: 3,
    };
    for limits in [Limits::default(), tiny] {
        for mode in [NonSyncLiterals::LiteralPlus, NonSyncLiterals::LiteralMinus] {
            for chunk in [data.len().max(1), 1, 7, 61] {
                run(data, &limits, mode, chunk);
            }
        }
    }
}

fn run(data: &[u8], limits: &Limits, mode: NonSyncLiterals, chunk: usize) {
    let mut decoder = CommandDecoder::new(limits.clone());
    decoder.set_non_sync_literals(mode);
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        // Every result but Incomplete stands for at least one octet of input (a command, a
        // refused line, a literal announcement), so Incomplete comes within this many calls;
        // the bound makes a decoder that stops making progress a failed assertion, not a hang.
        let mut caught_up = false;
        for _ in 0..=buf.len() + 2 {
            match decoder.decode(&mut buf) {
                Decoded::Incomplete => {
                    caught_up = true;
                    break;
                }
                Decoded::LiteralAnnounced { .. } | Decoded::Command(_) | Decoded::Error(_) => {}
            }
        }
        assert!(
            caught_up,
            "the decoder keeps returning results without input"
        );
    }
    // The AUTHENTICATE and IDLE line readers on what is left.
    let _ = decoder.decode_sasl_line(&mut buf.clone());
    let _ = decoder.decode_idle_line(&mut buf);
}

/// Decodes `data` and, for every command that comes out, writes it back with the client
/// writer (with non-synchronizing and with synchronizing literals) and decodes that again: the
/// result must be the same command. Panics when it is not, so the fuzzer reports the input.
///
/// This proves that every command the parser accepts has a wire form the writer produces and
/// the parser reads back unchanged; it catches parser leniencies the writer cannot reproduce
/// and writer choices the parser refuses.
pub fn command_roundtrip(data: &[u8]) {
    let mut decoder = CommandDecoder::new(Limits::default());
    let mut buf = BytesMut::from(data);
    for _ in 0..=data.len() + 2 {
        match decoder.decode(&mut buf) {
            Decoded::Incomplete => return,
            Decoded::Command(cmd) => {
                for mode in [LiteralMode::NonSync, LiteralMode::Sync] {
                    let again = redecode(&cmd, mode);
                    assert_eq!(
                        again.as_ref(),
                        Some(&cmd),
                        "{mode:?} rewrite of {cmd:?} decoded differently"
                    );
                }
            }
            Decoded::LiteralAnnounced { .. } | Decoded::Error(_) => {}
        }
    }
    panic!("the decoder keeps returning results without input");
}

/// Writes `cmd` and decodes it again, under limits loose enough that a rewrite which is
/// longer than the original (a quoted string that became a literal, a flag list given its
/// parentheses) is not refused for size.
fn redecode(cmd: &Command, mode: LiteralMode) -> Option<Command> {
    let loose = Limits {
        max_line: usize::MAX / 4,
        max_literal: u64::MAX / 4,
        max_literal_minus: u64::MAX / 4,
        max_command: u64::MAX / 4,
        max_depth: Limits::default().max_depth * 2,
        max_set_ranges: usize::MAX,
        max_literals: usize::MAX,
    };
    let mut decoder = CommandDecoder::new(loose);
    let mut buf = BytesMut::new();
    for fragment in write_command(cmd, mode) {
        match fragment {
            CommandFragment::Line(l) => buf.extend_from_slice(&l),
            CommandFragment::Literal(d) => buf.extend_from_slice(&d),
        }
        loop {
            match decoder.decode(&mut buf) {
                Decoded::Incomplete => break,
                Decoded::LiteralAnnounced { .. } => {}
                Decoded::Command(c) => return buf.is_empty().then_some(c),
                Decoded::Error(e) => panic!("{mode:?} rewrite of {cmd:?} refused: {e:?}"),
            }
        }
    }
    None
}

/// Feeds `data` to a [`ResponseDecoder`] in uneven chunks, decoding everything it can after
/// each. Must never panic or loop forever, whatever the bytes; errors are expected.
pub fn decode_responses(data: &[u8]) {
    // The first byte picks the chunk size and whether `+` lines are SASL challenges, so the
    // fuzzer explores split points and both continuation readings.
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let chunk = usize::from(first % 16) + 1;
    let mut dec = ResponseDecoder::new(ResponseContext {
        names: crate::types::NameEncoding::Utf8,
        limits: crate::Limits {
            max_line: 4096,
            max_literal: 1 << 16,
            max_command: 1 << 20,
            ..crate::Limits::default()
        },
    });
    dec.expect_sasl(first & 0x80 != 0);
    let mut buf = BytesMut::new();
    for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        // Every call that returns something has consumed at least one byte, so this ends.
        while let Ok(Some(_)) | Err(_) = dec.decode(&mut buf) {}
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::decode_commands;

    /// Pieces of IMAP syntax, so random inputs reach deep into the parser.
    const TOKENS: &[&str] = &[
        "a",
        "1",
        " ",
        "\r\n",
        "\n",
        "(",
        ")",
        "[",
        "]",
        "<",
        ">",
        ".",
        ":",
        ",",
        "*",
        "$",
        "\"",
        "\\",
        "{",
        "}",
        "+",
        "~",
        "{3}\r\n",
        "{2+}\r\n",
        "~{1}\r\n",
        "NIL",
        "UID ",
        "FETCH ",
        "SEARCH ",
        "STORE ",
        "APPEND ",
        "LIST ",
        "SELECT ",
        "STATUS ",
        "LOGIN ",
        "AUTHENTICATE ",
        "ID ",
        "ENABLE ",
        "SETQUOTA ",
        "CREATE ",
        "BODY",
        "BODY.PEEK",
        "BINARY",
        "HEADER.FIELDS",
        "MIME",
        "TEXT",
        "OR ",
        "NOT ",
        "MODSEQ ",
        "CHANGEDSINCE ",
        "VANISHED",
        "UNCHANGEDSINCE ",
        "+FLAGS",
        "FLAGS.SILENT",
        "\\Seen",
        "RETURN ",
        "CHARSET ",
        "QRESYNC",
        "CONDSTORE",
        "\"1-Feb-1994 00:00:00 +0000\"",
        "1-Feb-1994",
        "UTF8 ",
        "USE ",
        "4294967296",
        "9223372036854775808",
    ];

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..400)) {
            decode_commands(&data);
        }

        #[test]
        fn random_token_soup_never_panics(
            picks in prop::collection::vec(0..TOKENS.len(), 0..60),
        ) {
            let mut data = b"t ".to_vec();
            for i in picks {
                data.extend_from_slice(TOKENS[i].as_bytes());
            }
            data.extend_from_slice(b"\r\n");
            decode_commands(&data);
        }
    }

    #[test]
    fn fuzz_entry_survives_samples() {
        for sample in [
            &b""[..],
            b"a NOOP\r\n",
            b"a LOGIN {3}\r\nabc {2+}\r\nde\r\n",
            b"a APPEND x ~{5+}\r\n\0\0\0\0\0\r\n",
            b"a SEARCH ((((((((((ALL))))))))))\r\n",
            b"{99999999999999999999999+}\r\n",
            b"a FETCH 1,2,3,4,5,6 (BODY[1.2.HEADER.FIELDS (a b)]<1.2>)\r\n",
            b"\r\n\n\r\r\r\n\x00\xff",
            b"DONE\r\n*\r\n",
        ] {
            decode_commands(sample);
        }
    }
}
