//! OpenTelemetry trace export over OTLP/HTTP: where spans go, which traces are sampled, and a
//! batch pipeline that drops (and counts) spans rather than ever making a session wait.
//!
//! Settings come from `[telemetry]` and the standard `OTEL_*` environment variables, the
//! variables winning, like `ROOST_*` ones do over the file. Export runs on the SDK's batch
//! thread with the blocking reqwest client: sessions only hand a finished span to a bounded
//! queue. A full queue or a failed request (collector down) drops spans, and
//! `roost_otlp_spans_dropped_total` counts them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, Span, SpanData,
    SpanExporter, SpanProcessor,
};
use opentelemetry_sdk::Resource;

use super::metrics;
use crate::config::TelemetryConfig;

/// The OTLP/HTTP path of the traces signal, appended to base endpoints.
const TRACES_PATH: &str = "/v1/traces";

/// Everything needed to build the exporter, resolved from config and environment.
#[derive(Debug)]
pub struct OtlpSettings {
    /// Full URL that export requests are POSTed to.
    pub traces_url: String,
    /// Headers from the config file. `OTEL_EXPORTER_OTLP_HEADERS` is read by the exporter
    /// itself and wins per header name.
    pub headers: HashMap<String, String>,
    pub service_name: String,
    pub sampler: Sampler,
    pub batch_delay: Duration,
    pub export_timeout: Duration,
    pub max_queue_size: usize,
}

/// Checks an endpoint URL this build can export to.
///
/// # Errors
/// When it is not an `http://` URL: the exporter is built without a TLS stack (it would
/// bring a second crypto provider); use a collector on the node or in the pod for TLS.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!(
            "{url:?} must start with http:// (https is not supported: send to a local collector)"
        )
    })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

/// A base endpoint (`http://collector:4318`) as the traces URL; one that already names the
/// traces path is kept.
fn traces_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        base.to_owned()
    } else {
        format!("{base}{TRACES_PATH}")
    }
}

impl OtlpSettings {
    /// Resolves the settings; `None` when no endpoint is configured anywhere (or the SDK is
    /// disabled with `OTEL_SDK_DISABLED=true`). The strings are warnings about environment
    /// values that were ignored, for the caller to log once logging is up.
    pub fn resolve(
        config: &TelemetryConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> (Option<OtlpSettings>, Vec<String>) {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut warnings = Vec::new();
        if env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return (None, warnings);
        }
        let (source, traces_url) = if let Some(url) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url)
        } else if let Some(base) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
            ("OTEL_EXPORTER_OTLP_ENDPOINT", traces_url(&base))
        } else if let Some(base) = &config.otlp_endpoint {
            ("telemetry.otlp_endpoint", traces_url(base))
        } else {
            return (None, warnings);
        };
        if let Err(e) = check_endpoint(&traces_url) {
            warnings.push(format!("{source}: {e}; traces are not exported"));
            return (None, warnings);
        }
        let sampler = match env("OTEL_TRACES_SAMPLER") {
            Some(name) => {
                match sampler_from_env(&name, env("OTEL_TRACES_SAMPLER_ARG").as_deref()) {
                    Ok(s) => s,
                    Err(e) => {
                        warnings.push(format!(
                            "OTEL_TRACES_SAMPLER: {e}; using telemetry.sampling_ratio"
                        ));
                        ratio_sampler(config.sampling_ratio)
                    }
                }
            }
            None => ratio_sampler(config.sampling_ratio),
        };
        let settings = OtlpSettings {
            traces_url,
            headers: config
                .otlp_headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            service_name: env("OTEL_SERVICE_NAME").unwrap_or_else(|| config.service_name.clone()),
            sampler,
            batch_delay: Duration::from_millis(config.batch_delay_ms),
            export_timeout: Duration::from_millis(config.export_timeout_ms),
            max_queue_size: config.max_queue_size,
        };
        (Some(settings), warnings)
    }
}

/// The configured default: follow a sampled parent, sample `ratio` of new traces.
fn ratio_sampler(ratio: f64) -> Sampler {
    let root = if ratio >= 1.0 {
        Sampler::AlwaysOn
    } else {
        Sampler::TraceIdRatioBased(ratio)
    };
    Sampler::ParentBased(Box::new(root))
}

/// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` as the OpenTelemetry specification
/// defines them (the remote Jaeger samplers are not supported).
fn sampler_from_env(name: &str, arg: Option<&str>) -> Result<Sampler, String> {
    let ratio = || -> Result<f64, String> {
        match arg {
            None => Ok(1.0),
            Some(a) => a
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("OTEL_TRACES_SAMPLER_ARG {a:?} is not a ratio in [0, 1]")),
        }
    };
    Ok(match name.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
        }
        other => return Err(format!("unsupported sampler {other:?}")),
    })
}

/// Builds the tracer provider: OTLP/HTTP protobuf exporter behind a bounded batch queue.
///
/// Must not run on an async runtime's thread: the blocking HTTP client owns a runtime of its
/// own (the exporter builds it on a helper thread, but dropping it in async code panics).
///
/// # Errors
/// When the exporter cannot be built (an endpoint the HTTP library refuses).
pub fn provider(settings: OtlpSettings, node_id: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(settings.traces_url)
        .with_timeout(settings.export_timeout)
        .with_headers(settings.headers)
        .build()
        .map_err(|e| e.to_string())?;
    let queued = Arc::new(AtomicUsize::new(0));
    let batch = BatchSpanProcessor::builder(CountingExporter {
        inner: exporter,
        queued: queued.clone(),
    })
    .with_batch_config(
        BatchConfigBuilder::default()
            .with_scheduled_delay(settings.batch_delay)
            .with_max_queue_size(settings.max_queue_size)
            .build(),
    )
    .build();
    let resource = Resource::builder()
        .with_service_name(settings.service_name)
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", node_id.to_owned()),
        ])
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(BoundedQueue {
            inner: batch,
            queued,
            capacity: settings.max_queue_size,
        })
        .with_sampler(settings.sampler)
        .with_resource(resource)
        .build())
}

/// Admits a finished span to the batch processor only while fewer than `capacity` spans are
/// waiting, and counts the rest as dropped.
///
/// The SDK's processor drops silently when its queue is full (it only logs a total at
/// shutdown); this wrapper makes the same decision one step earlier, where it can be
/// counted. `queued` rises here and falls when [`CountingExporter`] takes a batch, so it is
/// never below what the inner queue holds and the inner queue never overflows.
#[derive(Debug)]
struct BoundedQueue {
    inner: BatchSpanProcessor,
    queued: Arc<AtomicUsize>,
    capacity: usize,
}

impl SpanProcessor for BoundedQueue {
    fn on_start(&self, span: &mut Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            metrics::spans_dropped(metrics::DropReason::QueueFull, 1);
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter, counting the spans of batches that could not be delivered.
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    /// Shared with [`BoundedQueue`]: spans handed over but not yet taken for export.
    queued: Arc<AtomicUsize>,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        self.queued.fetch_sub(n, Ordering::AcqRel);
        let result = self.inner.export(batch).await;
        if result.is_err() {
            metrics::spans_dropped(metrics::DropReason::ExportFailed, n as u64);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        config: &TelemetryConfig,
        vars: &[(&str, &str)],
    ) -> (Option<OtlpSettings>, Vec<String>) {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OtlpSettings::resolve(config, |name| vars.get(name).cloned())
    }

    #[test]
    fn no_endpoint_anywhere_means_no_exporter() {
        let (settings, warnings) = resolve(&TelemetryConfig::default(), &[]);
        assert!(settings.is_none());
        assert!(warnings.is_empty());
    }

    #[test]
    fn environment_wins_over_the_file_and_base_urls_get_the_traces_path() {
        let config = TelemetryConfig {
            otlp_endpoint: Some("http://from-file:4318".into()),
            ..Default::default()
        };
        let (s, _) = resolve(&config, &[]);
        assert_eq!(s.unwrap().traces_url, "http://from-file:4318/v1/traces");
        let (s, _) = resolve(
            &config,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4318/"),
                ("OTEL_SERVICE_NAME", "imap-eu"),
            ],
        );
        let s = s.unwrap();
        assert_eq!(s.traces_url, "http://from-env:4318/v1/traces");
        assert_eq!(s.service_name, "imap-eu");
        let (s, _) = resolve(
            &config,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://exact:9999/custom",
                ),
            ],
        );
        assert_eq!(s.unwrap().traces_url, "http://exact:9999/custom");
        let (s, _) = resolve(&config, &[("OTEL_SDK_DISABLED", "true")]);
        assert!(s.is_none());
    }

    #[test]
    fn an_https_endpoint_from_the_environment_disables_export_with_a_warning() {
        let (s, warnings) = resolve(
            &TelemetryConfig::default(),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318")],
        );
        assert!(s.is_none());
        assert!(warnings[0].contains("http://"), "{warnings:?}");
        assert!(check_endpoint("http://c:4318").is_ok());
        assert!(check_endpoint("http:///x").is_err());
    }

    #[test]
    fn standard_sampler_variables_are_understood() {
        let config = TelemetryConfig {
            otlp_endpoint: Some("http://c:4318".into()),
            sampling_ratio: 0.5,
            ..Default::default()
        };
        let sampler = |vars: &[(&str, &str)]| {
            let (s, w) = resolve(&config, vars);
            (format!("{:?}", s.unwrap().sampler), w)
        };
        assert_eq!(sampler(&[]).0, "ParentBased(TraceIdRatioBased(0.5))");
        assert_eq!(
            sampler(&[("OTEL_TRACES_SAMPLER", "always_off")]).0,
            "AlwaysOff"
        );
        assert_eq!(
            sampler(&[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.1")
            ])
            .0,
            "ParentBased(TraceIdRatioBased(0.1))"
        );
        let (fallback, warnings) = sampler(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "lots"),
        ]);
        assert_eq!(fallback, "ParentBased(TraceIdRatioBased(0.5))");
        assert!(warnings[0].contains("lots"), "{warnings:?}");
    }
}
