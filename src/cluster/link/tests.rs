//! Link tests over real loopback TCP: a client against `serve` with a small scripted service.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::codec::{self, Frame, MAX_FRAME};
use super::*;

/// Answers `"<connection id>:<request>"`; a request is a small script:
/// `sleep MS` waits first, `push N` pushes N frames first, `close` closes the connection,
/// `panic` panics. Counts the requests it was given.
struct Scripted {
    closed: mpsc::UnboundedSender<u64>,
    calls: Arc<AtomicUsize>,
}

impl LinkService for Scripted {
    fn handle(
        &self,
        peer: &PeerConn,
        payload: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let peer = peer.clone();
        Box::pin(async move {
            let text = String::from_utf8_lossy(&payload).into_owned();
            let mut words = text.split(' ');
            match (
                words.next(),
                words.next().and_then(|n| n.parse::<u64>().ok()),
            ) {
                (Some("sleep"), Some(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
                (Some("push"), Some(n)) => {
                    for i in 0..n {
                        assert!(peer.pusher.push(i, format!("p{i}").into_bytes()));
                    }
                }
                (Some("close"), _) => peer.pusher.close(),
                (Some("panic"), _) => panic!("scripted panic"),
                _ => {}
            }
            format!("{}:{text}", peer.id).into_bytes()
        })
    }

    fn closed(&self, peer: &PeerConn) {
        let _ = self.closed.send(peer.id);
    }
}

pub(super) struct Server {
    pub address: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    closed: mpsc::UnboundedReceiver<u64>,
    /// Requests the service was given.
    pub calls: Arc<AtomicUsize>,
}

/// Serves the scripted service on `address` (port 0: any free port), secured as `security`.
pub(super) async fn start_with(address: SocketAddr, security: LinkSecurity) -> Server {
    let listener = TcpListener::bind(address).await.unwrap();
    let address = listener.local_addr().unwrap();
    let (closed_tx, closed) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = Arc::new(Scripted {
        closed: closed_tx,
        calls: calls.clone(),
    });
    let task = tokio::spawn(serve(listener, security, service, stop_rx));
    Server {
        address,
        stop,
        task,
        closed,
        calls,
    }
}

async fn start_on(address: SocketAddr) -> Server {
    start_with(address, LinkSecurity::Plaintext).await
}

async fn start() -> Server {
    start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
}

fn client(server: &Server) -> LinkClient {
    LinkClient::new(
        LocalNode::plaintext("client-node"),
        server.address.to_string(),
    )
}

pub(super) async fn ask(client: &LinkClient, request: &str) -> Result<String, LinkError> {
    let answer = client.request(request.as_bytes().to_vec()).await?;
    Ok(String::from_utf8(answer).unwrap())
}

#[tokio::test]
async fn a_request_gets_its_response() {
    let server = start().await;
    let client = client(&server);
    assert_eq!(ask(&client, "hello").await.unwrap(), "1:hello");
    assert_eq!(ask(&client, "again").await.unwrap(), "1:again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_requests_share_one_connection_and_may_finish_out_of_order() {
    let server = start().await;
    let client = client(&server);
    let tasks: Vec<_> = (0..100u64)
        .map(|i| {
            let client = client.clone();
            // Later requests sleep less, so answers come back in a different order.
            tokio::spawn(async move {
                (
                    i,
                    ask(&client, &format!("sleep {} #{i}", (100 - i) % 17)).await,
                )
            })
        })
        .collect();
    for task in tasks {
        let (i, answer) = task.await.unwrap();
        assert_eq!(answer.unwrap(), format!("1:sleep {} #{i}", (100 - i) % 17));
    }
}

#[tokio::test]
async fn pushes_reach_the_push_handler_in_order() {
    let server = start().await;
    let client = client(&server);
    let (tx, mut pushes) = mpsc::unbounded_channel();
    client.set_push_handler(Arc::new(move |stream, payload| {
        let _ = tx.send((stream, String::from_utf8(payload).unwrap()));
    }));
    assert_eq!(ask(&client, "push 50").await.unwrap(), "1:push 50");
    for i in 0..50 {
        assert_eq!(pushes.recv().await.unwrap(), (i, format!("p{i}")));
    }
}

#[tokio::test]
async fn a_server_side_close_calls_the_disconnect_handler_once_and_the_next_request_reconnects() {
    let mut server = start().await;
    let client = client(&server);
    let disconnects = Arc::new(AtomicUsize::new(0));
    let counter = disconnects.clone();
    client.set_disconnect_handler(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    // The answer races the close: either is fine, the connection ends either way.
    let _ = ask(&client, "close").await;
    assert_eq!(server.closed.recv().await, Some(1));
    let deadline = Instant::now() + Duration::from_secs(5);
    while disconnects.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(disconnects.load(Ordering::SeqCst), 1);
    assert_eq!(ask(&client, "after").await.unwrap(), "2:after");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(disconnects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn serve_stops_on_the_stop_signal_and_clients_reconnect_to_its_successor() {
    let mut server = start().await;
    let client = client(&server);
    let disconnects = Arc::new(AtomicUsize::new(0));
    let counter = disconnects.clone();
    client.set_disconnect_handler(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    // A request in flight when the server stops fails as Closed, not as a timeout.
    assert_eq!(ask(&client, "first").await.unwrap(), "1:first");
    let slow = tokio::spawn({
        let client = client.clone();
        async move { ask(&client, "sleep 5000").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(2), &mut server.task)
        .await
        .expect("serve did not stop")
        .unwrap();
    assert_eq!(server.closed.recv().await, Some(1));
    assert_eq!(slow.await.unwrap(), Err(LinkError::Closed));
    assert_eq!(disconnects.load(Ordering::SeqCst), 1);
    // Nobody listens any more.
    assert!(matches!(
        ask(&client, "nobody").await,
        Err(LinkError::Unreachable(_))
    ));

    let successor = start_on(server.address).await;
    assert_eq!(ask(&client, "again").await.unwrap(), "1:again");
    drop(successor);
}

#[tokio::test]
async fn slow_answers_time_out_without_harming_the_connection() {
    let server = start().await;
    let client = client(&server);
    client.set_timeout(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(ask(&client, "sleep 2000").await, Err(LinkError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(ask(&client, "quick").await.unwrap(), "1:quick");
}

#[tokio::test]
async fn a_quiet_healthy_link_stays_and_a_hung_peer_is_dropped_within_the_keepalive() {
    // Healthy but idle: pings are answered, the connection and its requests go on.
    let server = start().await;
    let client = client(&server);
    client.set_keepalive(Duration::from_millis(100));
    let broke = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = broke.clone();
    client.set_disconnect_handler(Arc::new(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    assert!(ask(&client, "one").await.unwrap().ends_with(":one"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(broke.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(ask(&client, "two").await.unwrap().ends_with(":two"));

    // Hung: a listener that accepts and then never reads or writes (as a SIGSTOPped node's
    // kernel would). The waiting request fails and the disconnect handler runs within
    // about 2.5 keepalive intervals, long before the request's own timeout.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = hung.local_addr().unwrap().to_string();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = hung.accept().await {
            open.push(stream);
        }
    });
    let client = LinkClient::new(LocalNode::plaintext("client-node"), address);
    client.set_keepalive(Duration::from_millis(100));
    let broke = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = broke.clone();
    client.set_disconnect_handler(Arc::new(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    let started = Instant::now();
    assert_eq!(ask(&client, "anyone?").await, Err(LinkError::Closed));
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(broke.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_panicking_handler_is_a_remote_error() {
    let server = start().await;
    let client = client(&server);
    assert!(matches!(
        ask(&client, "panic").await,
        Err(LinkError::Remote(_))
    ));
    assert_eq!(ask(&client, "fine").await.unwrap(), "1:fine");
}

#[tokio::test]
async fn nobody_listening_is_unreachable_at_once() {
    let address = format!("127.0.0.1:{}", crate::cluster::testing::free_port());
    let client = LinkClient::new(LocalNode::plaintext("a"), address);
    let started = Instant::now();
    assert!(matches!(
        client.request(vec![1]).await,
        Err(LinkError::Unreachable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// A raw connection that said Hello.
async fn raw(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    codec::write_frame(&mut stream, &Frame::Hello { node: "raw".into() })
        .await
        .unwrap();
    stream
}

/// True when the server closed the connection (end of stream, or an error such as a TLS
/// alert) within a second.
pub(super) async fn closed_by_server(stream: &mut (impl AsyncRead + Unpin)) -> bool {
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
    matches!(read, Ok(Ok(0)) | Ok(Err(_)))
}

#[tokio::test]
async fn oversized_garbage_and_hello_less_connections_are_dropped() {
    let server = start().await;
    // An announced frame over the limit: dropped at once, without waiting for (or allocating)
    // its body.
    let mut stream = raw(&server).await;
    stream
        .write_all(&(MAX_FRAME + 1).to_be_bytes())
        .await
        .unwrap();
    assert!(closed_by_server(&mut stream).await);

    let mut stream = raw(&server).await;
    stream
        .write_all(&[0, 0, 0, 3, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    assert!(closed_by_server(&mut stream).await);

    // A client may not send what only servers send.
    let mut stream = raw(&server).await;
    let push = Frame::Push {
        stream: 1,
        payload: vec![],
    };
    codec::write_frame(&mut stream, &push).await.unwrap();
    assert!(closed_by_server(&mut stream).await);

    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let request = Frame::Request {
        id: 1,
        payload: vec![],
    };
    codec::write_frame(&mut stream, &request).await.unwrap();
    assert!(closed_by_server(&mut stream).await);

    // The server is unharmed.
    assert!(ask(&client(&server), "still here")
        .await
        .unwrap()
        .ends_with(":still here"));
}
