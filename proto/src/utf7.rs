//! Modified UTF-7 mailbox names (RFC 3501 section 5.1.3), for IMAP4rev1 clients.
//!
//! Printable US-ASCII except `&` stands for itself; `&` is written `&-`; everything else is a
//! shift sequence `&` + modified base64 (`,` instead of `/`, no padding) of UTF-16 + `-`.
//!
//! The decoder is strict on purpose: RFC 3501 allows exactly one encoding for each name, and a
//! lenient decoder would let two wire names map to one mailbox (or one name to none on the way
//! back), which breaks clients such as mbsync that compare names byte for byte.

use crate::types::InvalidValue;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn invalid() -> InvalidValue {
    InvalidValue {
        rule: "modified UTF-7 mailbox name",
    }
}

/// Whether a character stands for itself (printable US-ASCII).
fn is_direct(b: u32) -> bool {
    (0x20..=0x7e).contains(&b)
}

fn sextet(b: u8) -> Option<u32> {
    match b {
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

/// Decodes a modified UTF-7 name into UTF-8.
///
/// # Errors
/// When the input is not valid modified UTF-7 (8-bit bytes, bad base64, a shift sequence
/// that encodes printable ASCII, an unterminated shift, broken UTF-16).
pub fn decode(wire: &[u8]) -> Result<String, InvalidValue> {
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    // Set right after a base64 shift ends: two shifts in a row must have been one.
    let mut after_shift = false;
    while i < wire.len() {
        let b = wire[i];
        if b != b'&' {
            if !is_direct(u32::from(b)) {
                return Err(invalid());
            }
            out.push(char::from(b));
            i += 1;
            after_shift = false;
            continue;
        }
        let end = wire[i + 1..]
            .iter()
            .position(|&c| c == b'-')
            .map(|p| i + 1 + p)
            .ok_or_else(invalid)?;
        let body = &wire[i + 1..end];
        if body.is_empty() {
            out.push('&');
            after_shift = false;
        } else {
            if after_shift {
                return Err(invalid());
            }
            decode_shift(body, &mut out)?;
            after_shift = true;
        }
        i = end + 1;
    }
    Ok(out)
}

/// Decodes the base64 between `&` and `-` and appends the characters to `out`.
fn decode_shift(body: &[u8], out: &mut String) -> Result<(), InvalidValue> {
    let mut units = Vec::with_capacity(body.len() * 6 / 16);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in body {
        acc = (acc << 6) | sextet(c).ok_or_else(invalid)?;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            units.push((acc >> bits) as u16);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits are padding: fewer than one sextet and all zero.
    if bits >= 6 || acc != 0 {
        return Err(invalid());
    }
    for ch in char::decode_utf16(units.iter().copied()) {
        let ch = ch.map_err(|_| invalid())?;
        if is_direct(u32::from(ch)) {
            return Err(invalid());
        }
        out.push(ch);
    }
    Ok(())
}

/// Encodes a UTF-8 name as modified UTF-7.
pub fn encode(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if is_direct(u32::from(ch)) {
            flush_shift(&mut pending, &mut out);
            if ch == '&' {
                out.extend_from_slice(b"&-");
            } else {
                out.push(ch as u8);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush_shift(&mut pending, &mut out);
    out
}

/// Writes the pending UTF-16 units as one shift sequence.
fn flush_shift(units: &mut Vec<u16>, out: &mut Vec<u8>) {
    if units.is_empty() {
        return;
    }
    out.push(b'&');
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &u in units.iter() {
        acc = (acc << 16) | u32::from(u);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 0x3f) as usize]);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 0x3f) as usize]);
    }
    out.push(b'-');
    units.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(wire: &str, name: &str) {
        assert_eq!(
            decode(wire.as_bytes()).as_deref(),
            Ok(name),
            "decode {wire}"
        );
        assert_eq!(encode(name), wire.as_bytes(), "encode {name}");
    }

    #[test]
    fn rfc3501_example_round_trips() {
        // RFC 3501 section 5.1.3.
        ok("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語");
    }

    #[test]
    fn plain_ascii_and_ampersand() {
        ok("INBOX", "INBOX");
        ok("", "");
        ok("Tom &- Jerry", "Tom & Jerry");
        ok("&-&-", "&&");
    }

    #[test]
    fn non_bmp_uses_surrogate_pairs() {
        ok("&2D3eAA-", "😀");
        ok("a&AOkA6QDp-b", "aéééb");
    }

    #[test]
    fn control_characters_are_shifted() {
        ok("&AAk-", "\t");
        ok("&AH8-", "\u{7f}");
    }

    #[test]
    fn rejects_8bit_and_controls() {
        assert!(decode("caf\u{e9}".as_bytes()).is_err());
        assert!(decode(b"a\tb").is_err());
    }

    #[test]
    fn rejects_printable_ascii_in_shift() {
        // "&AGE-" is "a".
        assert!(decode(b"&AGE-").is_err());
        // "&ACY-" is "&", which must be written "&-".
        assert!(decode(b"&ACY-").is_err());
    }

    #[test]
    fn rejects_unterminated_shift() {
        assert!(decode(b"&U,BTFw").is_err());
        assert!(decode(b"&").is_err());
    }

    #[test]
    fn rejects_nonzero_or_excess_padding() {
        // "&AOk-" is é; "&AOl-" differs only in the padding bits.
        assert_eq!(decode(b"&AOk-").as_deref(), Ok("é"));
        assert!(decode(b"&AOl-").is_err());
        // A whole spare sextet.
        assert!(decode(b"&AOkA-").is_err());
    }

    #[test]
    fn rejects_lone_surrogates() {
        assert!(decode(b"&2D0-").is_err());
        assert!(decode(b"&3gA-").is_err());
    }

    #[test]
    fn rejects_adjacent_shifts_and_bad_base64() {
        assert!(decode(b"&AOk-&AOk-").is_err());
        assert!(decode(b"&AO/-").is_err());
        assert!(decode(b"&AO=-").is_err());
        // A shift followed by a literal "&" is fine.
        assert_eq!(decode(b"&AOk-&-").as_deref(), Ok("é&"));
    }

    #[test]
    fn round_trips_every_kind_of_char() {
        let name = "Entwürfe/日本/😀&x\u{1}~";
        assert_eq!(decode(&encode(name)).as_deref(), Ok(name));
    }

    proptest::proptest! {
        #[test]
        fn any_name_round_trips_and_encodes_to_7bit(name in "\\PC*") {
            let wire = encode(&name);
            proptest::prop_assert!(wire.iter().all(|&b| (0x20..0x7f).contains(&b)));
            proptest::prop_assert_eq!(decode(&wire), Ok(name));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(0u8..128, 0..40)) {
            if let Ok(name) = decode(&bytes) {
                // Strictness means the encoding is unique: it re-encodes to the same bytes.
                proptest::prop_assert_eq!(encode(&name), bytes);
            }
        }
    }
}
