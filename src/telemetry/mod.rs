//! Observability: structured logs, OpenTelemetry traces and Prometheus metrics.
//!
//! Logs go to stderr (so `roost imap` can speak IMAP on stdout). Every session has a span
//! `imap.session` with a child `imap.command` per command ([`spans`]); the same spans are
//! exported as OpenTelemetry traces when an OTLP endpoint is configured ([`otlp`]). Metrics
//! are recorded through the `metrics` facade and served as Prometheus text by `net::http`
//! ([`metrics`]). The log filter applies to logs only: traces get every `roost` span at info
//! level and leave the choice to the sampler, so quieting logs never silences traces.

pub mod metrics;
pub mod otlp;
pub mod propagation;
pub mod spans;

use std::io::IsTerminal;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat, TelemetryConfig};

/// Keeps the trace pipeline alive; [`Telemetry::shutdown`] (or dropping it) flushes the
/// spans still queued, waiting at most `telemetry.export_timeout_ms`.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    flush_timeout: Duration,
}

/// Sets up logging, and trace export if an OTLP endpoint is configured.
///
/// Call it before any async runtime starts: the OTLP exporter's blocking HTTP client must be
/// created (and later dropped) outside one. A broken trace setup is logged and skipped; it
/// never stops the mail server.
pub fn init(log: &LogConfig, telemetry: &TelemetryConfig, node_id: &str) -> Telemetry {
    let filter = log_filter(
        std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()),
        &log.filter,
    );
    // Colour only for a person at a terminal: never escape codes in files, pipes or journald.
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let fmt = match log.format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let (settings, warnings) =
        otlp::OtlpSettings::resolve(telemetry, |name| std::env::var(name).ok());
    let endpoint = settings.as_ref().map(|s| s.traces_url.clone());
    let (provider, build_error) = match settings.map(|s| otlp::provider(s, node_id)) {
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("roost"))
            .with_threads(false)
            .with_filter(Targets::new().with_target("roost", Level::INFO))
    });
    if provider.is_some() {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
    }
    // A second init (tests calling into the binary's code) is harmless: keep the first.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(traces)
        .try_init();
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    match (&endpoint, build_error) {
        (_, Some(error)) => {
            tracing::error!(%error, "cannot build the OTLP exporter; traces are not exported");
        }
        (Some(endpoint), None) => tracing::info!(%endpoint, "exporting traces over OTLP/HTTP"),
        (None, None) => {}
    }
    Telemetry {
        provider,
        flush_timeout: Duration::from_millis(telemetry.export_timeout_ms),
    }
}

/// rustls warns about every client that sends an IP address as SNI (which RFC 6066 forbids,
/// and which clients connecting to an IP address commonly do); roost ignores SNI anyway, so
/// that target is quiet unless the filter names rustls itself.
const QUIET_RUSTLS_SNI: &str = "rustls::msgs::handshake=error";

/// The log filter: `RUST_LOG` when set, else `log.filter`, with rustls' SNI warnings quieted.
/// (`log.filter` was checked by [`check_filter`] at start; `RUST_LOG` falls back to it.)
fn log_filter(rust_log: Option<String>, configured: &str) -> EnvFilter {
    let text = rust_log
        .filter(|v| check_filter(v).is_ok())
        .unwrap_or_else(|| configured.to_owned());
    let text = if text.contains("rustls") {
        text
    } else {
        format!("{text},{QUIET_RUSTLS_SNI}")
    };
    EnvFilter::try_new(&text).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Whether `filter` is a valid `tracing` filter (`log.filter`).
///
/// # Errors
/// The parser's reason, for the configuration error.
pub fn check_filter(filter: &str) -> Result<(), String> {
    EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|e| e.to_string())
}

impl Telemetry {
    /// Flushes queued spans and stops the export thread, bounded by the export timeout.
    /// Call it from a plain thread (after the actix system has stopped).
    pub fn shutdown(mut self) {
        self.shutdown_provider();
    }

    fn shutdown_provider(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown_with_timeout(self.flush_timeout) {
                tracing::warn!(%error, "trace export did not finish; queued spans are lost");
            }
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shutdown_provider();
    }
}
