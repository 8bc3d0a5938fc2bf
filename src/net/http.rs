//! The operator's HTTP endpoint: Prometheus metrics at `/metrics`, liveness at `/healthz`,
//! readiness at `/readyz`.
//!
//! It runs on the main arbiter beside the signal handler and keeps answering through a
//! drain, so Kubernetes sees `/readyz` turn 503 (and stops routing clients here) while
//! `/healthz` stays 200 (and the pod is not killed early). What "ready" means is asked of a
//! [`NodeStatus`], which the cluster extends with its own checks.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long a client may take to send its request headers (a stuck scraper must not hold a
/// connection forever).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Histogram samples are folded into their buckets at least this often, even unscraped.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
/// The Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the endpoint asks of the node.
pub trait NodeStatus: Send + Sync + 'static {
    /// `Ok` when the node should be sent new clients; otherwise why not (the 503 body).
    ///
    /// # Errors
    /// The reason the node is not ready.
    fn readiness(&self) -> Result<(), String>;

    /// Updates metrics that are read from elsewhere rather than recorded as they happen;
    /// called before each scrape.
    fn sample_metrics(&self) {}
}

/// Everything a request handler reads.
struct Endpoint {
    metrics: PrometheusHandle,
    status: Arc<dyn NodeStatus>,
}

/// Serves requests on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    metrics: PrometheusHandle,
    status: Arc<dyn NodeStatus>,
    mut stop: watch::Receiver<bool>,
) {
    let endpoint = Arc::new(Endpoint { metrics, status });
    let mut upkeep = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            _ = upkeep.tick() => {
                endpoint.metrics.run_upkeep();
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: the IMAP side matters more; pause.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let endpoint = endpoint.clone();
        actix_rt::spawn(async move { serve_connection(tcp, peer, endpoint).await });
    }
}

async fn serve_connection(tcp: tokio::net::TcpStream, peer: SocketAddr, endpoint: Arc<Endpoint>) {
    let service = hyper::service::service_fn(move |request| {
        let response = respond(&endpoint, &request);
        async move { Ok::<_, Infallible>(response) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(tcp), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "HTTP connection ended");
    }
}

fn respond(endpoint: &Endpoint, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET is supported\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match request.uri().path() {
        "/metrics" => {
            endpoint.status.sample_metrics();
            endpoint.metrics.run_upkeep();
            let mut response = Response::new(Full::new(Bytes::from(endpoint.metrics.render())));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
            response
        }
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => match endpoint.status.readiness() {
            Ok(()) => text(StatusCode::OK, "ready\n"),
            Err(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics, /healthz or /readyz\n",
        ),
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
