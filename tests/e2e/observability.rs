//! Observability: traces exported to a real OTLP/HTTP receiver, Prometheus counters that move
//! with the commands, and the health probes through a drain.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::support::*;

/// How long a test waits for something that happens in the background (an export, a drain).
const BACKGROUND_TIMEOUT: Duration = Duration::from_secs(30);

/// A span as received, with its resource's attributes.
#[derive(Clone, Debug)]
struct Received {
    resource: Vec<KeyValue>,
    span: Span,
}

/// An OTLP/HTTP trace receiver on a free loopback port: decodes every
/// `ExportTraceServiceRequest` POSTed to `/v1/traces` and keeps its spans.
struct Collector {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    async fn start() -> Collector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let store = spans.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| receive(request, store.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Collector { addr, spans }
    }

    /// Waits until the received spans satisfy `done`, and returns them.
    async fn wait_for(&self, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + BACKGROUND_TIMEOUT;
        loop {
            let spans = self.spans.lock().unwrap().clone();
            if done(&spans) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "spans did not arrive; have {:#?}",
                spans.iter().map(|s| &s.span.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(
    request: Request<Incoming>,
    store: Arc<Mutex<Vec<Received>>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    assert_eq!(request.uri().path(), "/v1/traces");
    assert_eq!(
        request.headers()["content-type"],
        "application/x-protobuf",
        "OTLP/HTTP binary protobuf"
    );
    let body = request.into_body().collect().await?.to_bytes();
    let export = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    let mut spans = store.lock().unwrap();
    for resource_spans in export.resource_spans {
        let resource = resource_spans
            .resource
            .map_or_else(Vec::new, |r| r.attributes);
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(Received {
                    resource: resource.clone(),
                    span,
                });
            }
        }
    }
    // An empty ExportTraceServiceResponse is the empty protobuf message.
    Ok(Response::builder()
        .header("content-type", "application/x-protobuf")
        .body(Full::new(Bytes::new()))
        .unwrap())
}

/// An attribute as text (strings, integers and booleans are all the spans carry).
fn attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn span_attr(span: &Span, key: &str) -> Option<String> {
    attr(&span.attributes, key)
}

fn is_command(span: &Span, name: &str) -> bool {
    span.name == "imap.command" && span_attr(span, "name").as_deref() == Some(name)
}

#[tokio::test]
async fn a_session_is_one_trace_with_a_child_span_per_command() {
    let collector = Collector::start().await;
    let server = Server::start_with(|c| {
        let t = table(c, "telemetry");
        t.insert(
            "otlp_endpoint".into(),
            format!("http://{}", collector.addr).into(),
        );
        t.insert("batch_delay_ms".into(), 100.into());
    });
    let mut c = Client::connect_tls(server.imaps, &server.cert_path()).await;
    c.line().await;
    c.login().await;
    c.command("n1", "NOOP").await;
    let select = c.command("s1", "SELECT INBOX").await;
    assert!(select.last().unwrap().starts_with("s1 OK"), "{select:?}");
    // UID FETCH: the mailbox is empty, where a sequence-number FETCH 1:* is BAD.
    c.command("f1", "UID FETCH 1:* FLAGS").await;
    c.command("z9", "LOGOUT").await;
    c.expect_closed().await.unwrap();

    // The session span ends (and is exported) once the session actor has stopped.
    let spans = collector
        .wait_for(|spans| spans.iter().any(|s| s.span.name == "imap.session"))
        .await;
    let session = spans
        .iter()
        .find(|s| s.span.name == "imap.session")
        .unwrap();
    assert_eq!(
        attr(&session.resource, "service.name").as_deref(),
        Some("roost")
    );
    assert_eq!(
        attr(&session.resource, "service.instance.id").as_deref(),
        Some("test-node")
    );
    let session = &session.span;
    assert_eq!(session.kind, SpanKind::Server as i32);
    assert!(session.parent_span_id.is_empty(), "the session is the root");
    assert_eq!(span_attr(session, "user").as_deref(), Some(USER));
    assert_eq!(span_attr(session, "node").as_deref(), Some("test-node"));
    assert_eq!(span_attr(session, "tls").as_deref(), Some("true"));
    let version = span_attr(session, "tls_version").unwrap_or_default();
    assert!(version.starts_with("TLSv1_"), "tls_version {version:?}");
    let peer = span_attr(session, "peer").unwrap_or_default();
    assert!(peer.starts_with("127.0.0.1:"), "peer {peer:?}");

    for (name, tag, mailbox) in [
        ("LOGIN", "L1", None),
        ("NOOP", "n1", None),
        ("SELECT", "s1", Some("INBOX")),
        ("UID FETCH", "f1", Some("INBOX")),
        ("LOGOUT", "z9", None),
    ] {
        let command = spans
            .iter()
            .map(|s| &s.span)
            .find(|s| is_command(s, name))
            .unwrap_or_else(|| panic!("no {name} span"));
        assert_eq!(
            command.trace_id, session.trace_id,
            "{name} in the session's trace"
        );
        assert_eq!(
            command.parent_span_id, session.span_id,
            "{name} under the session"
        );
        assert_eq!(span_attr(command, "tag").as_deref(), Some(tag), "{name}");
        assert_eq!(
            span_attr(command, "status").as_deref(),
            Some("OK"),
            "{name}"
        );
        assert_eq!(span_attr(command, "mailbox").as_deref(), mailbox, "{name}");
        for field in ["bytes_in", "bytes_out"] {
            let n: u64 = span_attr(command, field)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} has no {field}"));
            assert!(n > 0, "{name} {field} = {n}");
        }
    }
    // `n1 NOOP\r\n` is 9 octets; its answer is one tagged line.
    let noop = spans
        .iter()
        .map(|s| &s.span)
        .find(|s| is_command(s, "NOOP"))
        .unwrap();
    assert_eq!(span_attr(noop, "bytes_in").as_deref(), Some("9"));
}

#[tokio::test]
async fn an_unreachable_collector_costs_only_dropped_spans() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = Server::start_with(|c| {
        let t = table(c, "telemetry");
        t.insert("otlp_endpoint".into(), format!("http://{closed}").into());
        t.insert("batch_delay_ms".into(), 100.into());
    });
    let mut c = Client::logged_in(&server).await;
    c.ok("NOOP").await;
    c.command("z", "LOGOUT").await;
    let deadline = Instant::now() + BACKGROUND_TIMEOUT;
    loop {
        let metrics = scrape(&server).await;
        if metrics.get(
            "roost_otlp_spans_dropped_total",
            &[("reason", "export_failed")],
        ) > 0.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "no dropped spans counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server is as usable as before.
    let mut again = Client::logged_in(&server).await;
    again.ok("NOOP").await;
}

#[tokio::test]
async fn metrics_count_commands_logins_connections_and_fsyncs() {
    let server = Server::start_with(|c| {
        // A failed login is answered at once; only repeated failures wait.
        let auth = table(c, "auth");
        let mut throttle = toml::Table::new();
        throttle.insert("base_delay_ms".into(), 10.into());
        auth.insert("throttle".into(), throttle.into());
    });
    let before = scrape(&server).await;
    assert_eq!(
        before.get(
            "roost_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    let mut c = Client::connect(server.imap).await;
    c.line().await;
    let refused = c.command("f1", "LOGIN alice wrong").await;
    assert!(refused.last().unwrap().starts_with("f1 NO"), "{refused:?}");
    c.login().await;
    c.ok("NOOP").await;
    c.ok("NOOP").await;
    c.ok("SELECT INBOX").await;
    c.append("INBOX", "", &sample_message(1)).await;

    let after = scrape(&server).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);
    assert_eq!(
        moved(
            "roost_commands_total",
            &[("command", "LOGIN"), ("status", "NO")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "roost_commands_total",
            &[("command", "LOGIN"), ("status", "OK")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "roost_commands_total",
            &[("command", "NOOP"), ("status", "OK")]
        ),
        2.0
    );
    assert_eq!(
        moved(
            "roost_commands_total",
            &[("command", "APPEND"), ("status", "OK")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "roost_command_duration_seconds_count",
            &[("command", "NOOP")]
        ),
        2.0
    );
    assert_eq!(
        moved("roost_auth_failures_total", &[("reason", "credentials")]),
        1.0
    );
    assert_eq!(
        moved(
            "roost_connections_accepted_total",
            &[("listener", "starttls")]
        ),
        1.0
    );
    assert_eq!(
        after.get("roost_connections", &[("state", "selected")]),
        1.0
    );
    assert_eq!(
        after.get("roost_connections", &[("state", "not_authenticated")]),
        0.0
    );
    assert!(after.get("roost_mailboxes_open", &[]) >= 1.0);
    assert!(moved("roost_bytes_received_total", &[]) > 0.0);
    assert!(moved("roost_bytes_sent_total", &[]) > 0.0);
    assert!(
        moved(
            "roost_store_fsync_duration_seconds_count",
            &[("kind", "log")]
        ) >= 1.0
    );
    assert!(moved("roost_store_transactions_total", &[]) >= 1.0);

    // IDLE is a gauge of its own; leaving it (and the session) takes the session out again.
    c.send("i IDLE\r\n").await;
    assert_eq!(c.line().await, "+ idling\r\n");
    assert_eq!(scrape(&server).await.get("roost_sessions_idle", &[]), 1.0);
    c.send("DONE\r\n").await;
    c.until_tagged("i").await;
    c.command("z", "LOGOUT").await;
    c.expect_closed().await.unwrap();
    let deadline = Instant::now() + BACKGROUND_TIMEOUT;
    loop {
        let now = scrape(&server).await;
        let open: f64 = ["not_authenticated", "authenticated", "selected", "logout"]
            .iter()
            .map(|state| now.get("roost_connections", &[("state", state)]))
            .sum();
        if open == 0.0 && now.get("roost_sessions_idle", &[]) == 0.0 {
            assert_eq!(
                now.get(
                    "roost_commands_total",
                    &[("command", "IDLE"), ("status", "OK")]
                ),
                1.0
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed session is still counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readyz_turns_503_on_sigterm_while_a_command_is_in_flight_and_healthz_stays_200() {
    let mut server = Server::start_with(|c| {
        let auth = table(c, "auth");
        let mut throttle = toml::Table::new();
        throttle.insert("base_delay_ms".into(), 3000.into());
        auth.insert("throttle".into(), throttle.into());
    });
    let http = server.http();
    assert_eq!(http_get(http, "/readyz").await, (200, "ready\n".into()));
    assert_eq!(http_get(http, "/healthz").await, (200, "ok\n".into()));
    assert_eq!(http_get(http, "/nothing").await.0, 404);

    let mut busy = Client::connect(server.imap).await;
    busy.line().await;
    busy.command("a1", "LOGIN alice wrong").await; // the first failure costs nothing
    busy.send("a2 LOGIN alice wrong\r\n").await; // the second waits 3 s before answering
                                                 // Let the server read it: the signal must find the command in flight.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");
    let deadline = Instant::now() + BACKGROUND_TIMEOUT;
    loop {
        let (status, body) = http_get(http, "/readyz").await;
        if status == 503 {
            assert_eq!(body, "not ready: draining\n");
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "/readyz never turned 503");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The drain waits for the throttled LOGIN: the process is alive and says so.
    assert_eq!(http_get(http, "/healthz").await, (200, "ok\n".into()));
    assert_eq!(scrape(&server).await.get("roost_draining", &[]), 1.0);
    assert_eq!(
        busy.line().await,
        "a2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(busy.line().await, "* BYE Server shutting down\r\n");
    busy.expect_closed().await.unwrap();
    assert!(server.wait_exit(BACKGROUND_TIMEOUT).success());
}

/// A command served by the node that owns the account is one trace across both nodes: the
/// owner's `imap.owner` span is a child of the client's node's `imap.command` span.
#[tokio::test]
async fn a_command_served_by_another_node_is_one_trace_across_both_nodes() {
    let collector = Collector::start().await;
    let endpoint = format!("http://{}", collector.addr);
    let with_otlp = |c: &mut toml::Table| {
        let t = table(c, "telemetry");
        t.insert("otlp_endpoint".into(), endpoint.clone().into());
        t.insert("batch_delay_ms".into(), 100.into());
    };
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, with_otlp);
    let b = Server::start_node(data.path(), "node-b", &redis, with_otlp);
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await; // node-a owns the account
    let mut c = Client::logged_in(&b).await;
    let select = c.command("s7", "SELECT INBOX").await;
    assert!(select.last().unwrap().starts_with("s7 OK"), "{select:?}");

    let is_attach = |r: &Received| {
        r.span.name == "imap.owner"
            && span_attr(&r.span, "request").as_deref() == Some("mailbox.attach")
    };
    let is_select = |r: &Received| {
        is_command(&r.span, "SELECT") && span_attr(&r.span, "tag").as_deref() == Some("s7")
    };
    let spans = collector
        .wait_for(|s| s.iter().any(is_attach) && s.iter().any(is_select))
        .await;
    let command = spans.iter().find(|r| is_select(r)).unwrap();
    let served = spans.iter().find(|r| is_attach(r)).unwrap();
    assert_child_on_owner(command, served);
    assert_eq!(
        span_attr(&served.span, "from_node").as_deref(),
        Some("node-b")
    );
}

/// An LMTP delivery taken by one node for an account another node owns is one trace: the
/// owner's append is a child of the delivering node's `lmtp.transaction` span.
#[tokio::test]
async fn an_lmtp_delivery_is_one_trace_across_both_nodes() {
    let collector = Collector::start().await;
    let endpoint = format!("http://{}", collector.addr);
    let with_otlp = |c: &mut toml::Table| {
        let t = table(c, "telemetry");
        t.insert("otlp_endpoint".into(), endpoint.clone().into());
        t.insert("batch_delay_ms".into(), 100.into());
        crate::lmtp::with_lmtp_listener(c);
    };
    let redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, with_otlp);
    let b = Server::start_node(data.path(), "node-b", &redis, with_otlp);
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await; // node-a owns the account
    assert_eq!(
        crate::lmtp::lmtp_deliver(b.lmtp.unwrap(), 1).await,
        Some(250)
    );

    let is_append = |r: &Received| {
        r.span.name == "imap.owner"
            && span_attr(&r.span, "request").as_deref() == Some("mailbox.append")
    };
    let is_transaction = |r: &Received| r.span.name == "lmtp.transaction";
    let spans = collector
        .wait_for(|s| s.iter().any(is_append) && s.iter().any(is_transaction))
        .await;
    let transaction = spans.iter().find(|r| is_transaction(r)).unwrap();
    let append = spans.iter().find(|r| is_append(r)).unwrap();
    assert_child_on_owner(transaction, append);
}

/// `served` ran on node-a (the owner) for `cause` on node-b, in one trace, as its child.
fn assert_child_on_owner(cause: &Received, served: &Received) {
    let node = |r: &Received| attr(&r.resource, "service.instance.id");
    assert_eq!(node(cause).as_deref(), Some("node-b"));
    assert_eq!(node(served).as_deref(), Some("node-a"));
    assert_eq!(
        served.span.trace_id, cause.span.trace_id,
        "one trace across both nodes"
    );
    assert_eq!(
        served.span.parent_span_id, cause.span.span_id,
        "the owner's work is a child of the work on the client's node"
    );
}
