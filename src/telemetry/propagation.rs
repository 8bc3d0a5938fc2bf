//! W3C trace context (`traceparent`, `tracestate`) carried across process boundaries, so that
//! work done on another node for a command shows up in the command's trace.
//!
//! The cluster's node links put a [`TraceContext`] into each request and the receiving side
//! parents its span with [`TraceContext::attach_to`].

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use serde::{Deserialize, Serialize};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C Trace Context headers of one span, small enough for every node-link message.
/// Empty when tracing is off or the span is not sampled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    fields: HashMap<String, String>,
}

impl Injector for TraceContext {
    fn set(&mut self, key: &str, value: String) {
        self.fields.insert(key.to_owned(), value);
    }
}

impl Extractor for TraceContext {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.fields.keys().map(String::as_str).collect()
    }
}

impl TraceContext {
    /// The context of `span`, to send along with a request made on its behalf.
    pub fn of(span: &Span) -> Self {
        let mut carrier = TraceContext::default();
        let cx = span.context();
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
        carrier
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Makes `span` (just created, not yet entered) a child of the remote span this context
    /// came from. Nothing happens when the context is empty.
    pub fn attach_to(&self, span: &Span) {
        if self.is_empty() {
            return;
        }
        let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(self));
        // Fails only when the span is already closed or tracing is off: nothing to link then.
        let _ = span.set_parent(cx);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn a_span_on_the_other_side_joins_the_senders_trace() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let sender = tracing::info_span!("imap.command");
            let carried = TraceContext::of(&sender);
            assert!(carried.get("traceparent").is_some(), "{carried:?}");
            let bytes = postcard::to_allocvec(&carried).unwrap();
            let received: TraceContext = postcard::from_bytes(&bytes).unwrap();

            let remote = tracing::info_span!("mailbox.work");
            received.attach_to(&remote);
            let sent = sender.context().span().span_context().clone();
            let got = remote.context().span().span_context().clone();
            assert_eq!(got.trace_id(), sent.trace_id());
            assert_ne!(got.span_id(), sent.span_id());
        });
    }
}
