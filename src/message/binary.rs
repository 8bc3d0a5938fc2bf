//! `BINARY[part]` and `BINARY.SIZE[part]` (RFC 9051 section 6.4.5, RFC 3516): a part's
//! content with its Content-Transfer-Encoding removed. The decoders are also what SEARCH
//! uses to read text parts.
//!
//! Decoding is lenient, as mail in the wild needs: base64 skips bytes outside its alphabet
//! and stops at padding; quoted-printable keeps malformed `=` sequences as they are.

use bytes::Bytes;

use super::meta::{Content, Part};
use super::section::resolve;
#[cfg(test)]
use super::section::slice;
use super::BinaryError;

/// The transfer encodings we can remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cte {
    Identity,
    Base64,
    QuotedPrintable,
}

impl Cte {
    /// # Errors
    /// `UnknownCte` for an encoding outside RFC 2045's (and `x-` ones).
    pub fn of(content: &Content) -> Result<Cte, BinaryError> {
        let Some(e) = content.encoding.as_deref() else {
            return Ok(Cte::Identity);
        };
        if content.is_identity_encoding() {
            Ok(Cte::Identity)
        } else if e.eq_ignore_ascii_case(b"base64") {
            Ok(Cte::Base64)
        } else if e.eq_ignore_ascii_case(b"quoted-printable") {
            Ok(Cte::QuotedPrintable)
        } else {
            Err(BinaryError::UnknownCte(
                String::from_utf8_lossy(e).into_owned(),
            ))
        }
    }

    pub fn decode(self, data: &Bytes) -> Bytes {
        match self {
            Cte::Identity => data.clone(),
            Cte::Base64 => Bytes::from(base64(data)),
            Cte::QuotedPrintable => Bytes::from(quoted_printable(data)),
        }
    }
}

#[cfg(test)] // the FETCH path decodes part by part (`binary_source`)
/// The decoded content of part `path` (the whole message, undecoded, for an empty path:
/// there is no transfer encoding around a whole message).
pub(crate) fn binary(raw: &Bytes, root: &Part, path: &[u32]) -> Result<Bytes, BinaryError> {
    if path.is_empty() {
        return Ok(raw.clone());
    }
    let part = resolve(root, path).ok_or(BinaryError::NoSuchPart)?;
    let cte = Cte::of(&part.content)?;
    let data = slice(raw, part.body).ok_or(BinaryError::NoSuchPart)?;
    Ok(cte.decode(&data))
}

/// Where the encoded octets of part `path` are in a stored message of `size` octets, and
/// their encoding (the whole message, unencoded, for an empty path).
pub(crate) fn binary_source(
    root: &Part,
    size: usize,
    path: &[u32],
) -> Result<(std::ops::Range<usize>, Cte), BinaryError> {
    if path.is_empty() {
        return Ok((0..size, Cte::Identity));
    }
    let part = resolve(root, path).ok_or(BinaryError::NoSuchPart)?;
    let cte = Cte::of(&part.content)?;
    let range = part.body.range();
    if range.end > size {
        return Err(BinaryError::NoSuchPart);
    }
    Ok((range, cte))
}

#[cfg(test)] // the FETCH path decodes part by part (`binary_source`)
/// `BINARY.SIZE`: the length [`binary`] would return.
pub(crate) fn binary_size(raw: &Bytes, root: &Part, path: &[u32]) -> Result<u32, BinaryError> {
    if path.is_empty() {
        return Ok(u32::try_from(raw.len()).unwrap_or(u32::MAX));
    }
    let part = resolve(root, path).ok_or(BinaryError::NoSuchPart)?;
    let size = match Cte::of(&part.content)? {
        // Identity needs no pass over the data.
        Cte::Identity => part.body.len() as usize,
        cte => cte
            .decode(&slice(raw, part.body).ok_or(BinaryError::NoSuchPart)?)
            .len(),
    };
    Ok(u32::try_from(size).unwrap_or(u32::MAX))
}

fn base64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// RFC 2045 section 6.8: characters outside the alphabet are ignored; `=` ends the data.
pub(crate) fn base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in data {
        if b == b'=' {
            break;
        }
        let Some(v) = base64_value(b) else { continue };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// RFC 2045 section 6.7: `=XX` escapes, soft line breaks (`=` then blanks then a line end),
/// trailing blanks on a line dropped. Malformed escapes are kept literally.
pub(crate) fn quoted_printable(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        match b {
            b'=' => {
                if let (Some(h), Some(l)) = (
                    data.get(i + 1).copied().and_then(hex),
                    data.get(i + 2).copied().and_then(hex),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                // Soft line break: `=` followed by optional blanks and a line end (or the end).
                let mut j = i + 1;
                while j < data.len() && matches!(data[j], b' ' | b'\t') {
                    j += 1;
                }
                match data.get(j) {
                    None => i = j,
                    Some(b'\n') => i = j + 1,
                    Some(b'\r') if data.get(j + 1) == Some(&b'\n') => i = j + 2,
                    _ => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b' ' | b'\t' => {
                // Blanks at the end of a line were added in transport.
                let mut j = i;
                while j < data.len() && matches!(data[j], b' ' | b'\t') {
                    j += 1;
                }
                let at_eol = match data.get(j) {
                    None | Some(b'\n') => true,
                    Some(b'\r') => data.get(j + 1) == Some(&b'\n'),
                    _ => false,
                };
                if !at_eol {
                    out.extend_from_slice(&data[i..j]);
                }
                i = j;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Removes a transfer encoding piece by piece, with the same result as [`Cte::decode`] on
/// the whole (so a large part is never decoded into memory at once).
pub struct StreamDecoder {
    cte: Cte,
    /// Base64: bits not yet forming a byte, and whether `=` ended the data.
    acc: u32,
    bits: u32,
    ended: bool,
    /// Quoted-printable: input held back until a line end (no decision looks past one).
    held: Vec<u8>,
}

/// Quoted-printable input held without a line end before it is decoded anyway (a malformed
/// part with no line breaks; only blanks or `=` right at the cut could then differ).
const QP_HOLD_LIMIT: usize = 1 << 20;

impl StreamDecoder {
    pub(crate) fn new(cte: Cte) -> Self {
        StreamDecoder {
            cte,
            acc: 0,
            bits: 0,
            ended: false,
            held: Vec::new(),
        }
    }

    /// Decodes `input` (the next encoded octets) into `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        match self.cte {
            Cte::Identity => out.extend_from_slice(input),
            Cte::Base64 => self.base64(input, out),
            Cte::QuotedPrintable => {
                self.held.extend_from_slice(input);
                let cut = match self.held.iter().rposition(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None if self.held.len() > QP_HOLD_LIMIT => self.held.len(),
                    None => return,
                };
                out.extend_from_slice(&quoted_printable(&self.held[..cut]));
                self.held.drain(..cut);
            }
        }
    }

    /// Decodes what is held back: the input has ended.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.cte == Cte::QuotedPrintable {
            out.extend_from_slice(&quoted_printable(&self.held));
            self.held.clear();
        }
    }

    fn base64(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if self.ended || b == b'=' {
                self.ended = true;
                return;
            }
            let Some(v) = base64_value(b) else { continue };
            self.acc = (self.acc << 6) | u32::from(v);
            self.bits += 6;
            if self.bits >= 8 {
                self.bits -= 8;
                out.push((self.acc >> self.bits) as u8);
                self.acc &= (1 << self.bits) - 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(cte: Cte, data: &[u8], pieces: &[usize]) -> Vec<u8> {
        let mut d = StreamDecoder::new(cte);
        let mut out = Vec::new();
        let mut rest = data;
        for &n in pieces.iter().cycle().take(data.len() + 1) {
            if rest.is_empty() {
                break;
            }
            let n = n.clamp(1, rest.len());
            d.push(&rest[..n], &mut out);
            rest = &rest[n..];
        }
        d.push(rest, &mut out);
        d.finish(&mut out);
        out
    }

    proptest::proptest! {
        #[test]
        fn decoding_in_pieces_equals_decoding_whole(
            data in proptest::collection::vec(proptest::sample::select(
                b"aZ09+/=F \t\r\nx".to_vec()), 0..300),
            pieces in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let data = bytes::Bytes::from(data);
            for cte in [Cte::Identity, Cte::Base64, Cte::QuotedPrintable] {
                proptest::prop_assert_eq!(
                    streamed(cte, &data, &pieces),
                    cte.decode(&data).to_vec(),
                    "{:?}", cte
                );
            }
        }
    }

    #[test]
    fn base64_is_lenient() {
        assert_eq!(base64(b"aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(base64(b"aGVs\r\nbG8g\r\nd29y bGQ=\r\n"), b"hello world");
        assert_eq!(base64(b"aGVsbG8*!"), b"hello");
        assert_eq!(base64(b""), b"");
        assert_eq!(base64(b"YQ==trailing"), b"a");
    }

    #[test]
    fn quoted_printable_decodes_and_keeps_malformed() {
        assert_eq!(quoted_printable(b"J=C3=B6rg"), "Jörg".as_bytes());
        assert_eq!(quoted_printable(b"soft=\r\nbreak"), b"softbreak");
        assert_eq!(quoted_printable(b"soft= \nbreak"), b"softbreak");
        assert_eq!(quoted_printable(b"a=zz=4"), b"a=zz=4");
        assert_eq!(quoted_printable(b"trail  \r\nx\t"), b"trail\r\nx");
        assert_eq!(quoted_printable(b"a b=3d"), b"a b=");
        assert_eq!(quoted_printable(b"end="), b"end");
    }
}
