//! Property test: a response written by the server-side writer and read back by the
//! client-side decoder is the same typed value (RFC 9051 section 7), for every response the
//! faithful strategies produce (`strategies/response.rs` documents each restriction).
//!
//! Continuations are read as SASL challenges or as text according to how they were made,
//! the way a client knows which one it is waiting for.

#[path = "strategies/mod.rs"]
mod strategies;

use bytes::BytesMut;
use proptest::prelude::*;
use roost_proto::encode::response_to_vec;
use roost_proto::response::{ResponseContext, ResponseDecoder};
use roost_proto::*;

use strategies::response::{context, response};
use strategies::{config, Values};

fn decode_one(bytes: &[u8], ctx: &encode::EncodeContext, sasl: bool) -> Response {
    let mut decoder = ResponseDecoder::new(ResponseContext {
        names: ctx.names,
        limits: Limits::default(),
    });
    decoder.expect_sasl(sasl);
    let mut buf = BytesMut::from(bytes);
    let decoded = decoder
        .decode(&mut buf)
        .expect("decodes")
        .expect("complete");
    assert!(
        buf.is_empty(),
        "bytes left over: {:?}",
        String::from_utf8_lossy(&buf)
    );
    decoded
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn written_responses_decode_to_the_same_value(r in response(Values::Faithful), ctx in context()) {
        let bytes = response_to_vec(&r, &ctx);
        let sasl = matches!(r, Response::Continue(Continue::Base64(_)));
        prop_assert_eq!(decode_one(&bytes, &ctx, sasl), r);
    }

    #[test]
    fn responses_split_anywhere_decode_the_same(r in response(Values::Faithful), ctx in context(), cut in any::<prop::sample::Index>()) {
        let bytes = response_to_vec(&r, &ctx);
        let sasl = matches!(r, Response::Continue(Continue::Base64(_)));
        let mut decoder = ResponseDecoder::new(ResponseContext { names: ctx.names, limits: Limits::default() });
        decoder.expect_sasl(sasl);
        let at = cut.index(bytes.len());
        let mut buf = BytesMut::from(&bytes[..at]);
        let first = decoder.decode(&mut buf).expect("no error on a prefix");
        buf.extend_from_slice(&bytes[at..]);
        let decoded = match first {
            Some(d) => d,
            None => decoder.decode(&mut buf).expect("decodes").expect("complete"),
        };
        prop_assert_eq!(decoded, r);
    }
}
