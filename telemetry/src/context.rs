//! The W3C trace context (`traceparent`) in and out of tracing spans.
//! Without the OpenTelemetry layer (no export) spans carry no context:
//! what goes out is empty and what comes in is dropped.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

/// `span`'s context as a W3C `traceparent` value; empty when it has none
/// (export off, or a span filtered out).
pub fn traceparent_of(span: &tracing::Span) -> String {
    let mut header = OneHeader(String::new());
    TraceContextPropagator::new().inject_context(&span.context(), &mut header);
    header.0
}

/// Makes the span whose context `traceparent` carries the parent of
/// `span`. An empty or malformed value changes nothing (an older agent,
/// or one without export, sends none).
pub fn adopt_parent(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    let context = TraceContextPropagator::new().extract(&OneHeader(traceparent.to_string()));
    let _ = span.set_parent(context);
}

/// `span`'s context into gRPC request metadata (a call's or a stream's
/// headers).
pub fn inject_metadata(span: &tracing::Span, metadata: &mut MetadataMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut MetadataCarrier(metadata));
}

/// The caller's context from gRPC request metadata as `span`'s parent.
pub fn adopt_parent_from_metadata(span: &tracing::Span, metadata: &MetadataMap) {
    if metadata.get(TRACEPARENT).is_none() {
        return;
    }
    let context = TraceContextPropagator::new().extract(&MetadataReader(metadata));
    let _ = span.set_parent(context);
}

/// A carrier of just the `traceparent` header (`tracestate` is not kept:
/// nothing in greenlight sets it).
struct OneHeader(String);

impl Injector for OneHeader {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = value;
        }
    }
}

impl Extractor for OneHeader {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

struct MetadataCarrier<'a>(&'a mut MetadataMap);

impl Injector for MetadataCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct MetadataReader<'a>(&'a MetadataMap);

impl Extractor for MetadataReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|key| match key {
                KeyRef::Ascii(key) => Some(key.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_opentelemetry_layer_nothing_goes_out() {
        let span = tracing::info_span!("report");
        assert_eq!(traceparent_of(&span), "");
        let mut metadata = MetadataMap::new();
        inject_metadata(&span, &mut metadata);
        assert!(metadata.get(TRACEPARENT).is_none());
    }

    #[test]
    fn a_malformed_traceparent_is_ignored() {
        let span = tracing::info_span!("ingest");
        adopt_parent(&span, "not a traceparent");
        adopt_parent(&span, "");
    }
}
