//! Entry points for the fuzz targets in `proto/fuzz/`. Each target is one call into here, so
//! private parsers are fuzzed without becoming public API.

use bytes::BytesMut;

use crate::response::{ResponseContext, ResponseDecoder};

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
