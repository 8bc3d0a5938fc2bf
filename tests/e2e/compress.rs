//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE both ways after the tagged OK, on both listeners,
//! flushed whenever the server waits for the client.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::clients::run_python;
use crate::support::*;

/// A client's DEFLATE layer, as zlib users write it: `deflateInit2(-15)` / `inflateInit2(-15)`
/// (raw, 32 KiB window), a sync flush after each command.
struct DeflateIo {
    inner: Box<dyn Io>,
    deflate: Compress,
    inflate: Decompress,
    /// Compressed bytes read and not yet inflated.
    compressed_in: Vec<u8>,
    /// Compressed bytes not yet written.
    compressed_out: Vec<u8>,
    /// The server ended its stream (a final block): what follows is plain.
    ended: bool,
    /// The client's stream ends at the next flush, with a final block (RFC 8437: after the
    /// CRLF of UNAUTHENTICATE); afterwards writes are plain.
    finishing: bool,
    write_ended: bool,
}

impl DeflateIo {
    fn wrap(inner: Box<dyn Io>, unread: Vec<u8>) -> Box<dyn Io> {
        Box::new(DeflateIo {
            inner,
            deflate: Compress::new(Compression::default(), false),
            inflate: Decompress::new(false),
            compressed_in: unread,
            compressed_out: Vec::new(),
            ended: false,
            finishing: false,
            write_ended: false,
        })
    }

    fn write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.compressed_out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.compressed_out))?;
            self.compressed_out.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for DeflateIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if !this.compressed_in.is_empty() {
                let out = buf.initialize_unfilled();
                let (before_in, before_out) = (this.inflate.total_in(), this.inflate.total_out());
                let status = this
                    .inflate
                    .decompress(&this.compressed_in, out, FlushDecompress::None)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let taken = (this.inflate.total_in() - before_in) as usize;
                let produced = (this.inflate.total_out() - before_out) as usize;
                this.compressed_in.drain(..taken);
                buf.advance(produced);
                if status == Status::StreamEnd {
                    this.ended = true;
                }
                if produced > 0 {
                    return Poll::Ready(Ok(()));
                }
                if this.ended {
                    continue;
                }
            }
            let mut chunk = [0u8; 16384];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            if this.ended {
                // Plain bytes after the stream's end go to the caller as they are.
                let n = read.filled().len().min(buf.remaining());
                buf.put_slice(&read.filled()[..n]);
                this.compressed_in.extend_from_slice(&read.filled()[n..]);
                return Poll::Ready(Ok(()));
            }
            this.compressed_in.extend_from_slice(read.filled());
        }
    }
}

impl AsyncWrite for DeflateIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.write_ended {
            this.compressed_out.extend_from_slice(data);
            return Poll::Ready(Ok(data.len()));
        }
        this.finishing = data.ends_with(b" UNAUTHENTICATE\r\n");
        let mut rest = data;
        while !rest.is_empty() {
            this.compressed_out.reserve(rest.len() + 64);
            let before = this.deflate.total_in();
            this.deflate
                .compress_vec(rest, &mut this.compressed_out, FlushCompress::None)
                .map_err(io::Error::other)?;
            rest = &rest[(this.deflate.total_in() - before) as usize..];
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.write_ended {
            this.compressed_out.reserve(64);
            let flush = if this.finishing {
                FlushCompress::Finish
            } else {
                FlushCompress::Sync
            };
            let status = this
                .deflate
                .compress_vec(&[], &mut this.compressed_out, flush)
                .map_err(io::Error::other)?;
            if this.finishing && status == Status::StreamEnd {
                this.write_ended = true;
            }
            if !this.finishing && this.compressed_out.len() < this.compressed_out.capacity() {
                break;
            }
        }
        ready!(this.write_out(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl Client {
    /// `COMPRESS DEFLATE`, then a DEFLATE layer under this client.
    async fn compress(&mut self) {
        assert_eq!(
            self.command("z", "COMPRESS DEFLATE").await,
            ["z OK DEFLATE active\r\n"]
        );
        self.wrap(DeflateIo::wrap);
    }
}

/// RFC 4978 section 3's first example, over STARTTLS on the plain listener: login, COMPRESS,
/// and everything after it compressed (under TLS); a second COMPRESS gets the second example's
/// `NO [COMPRESSIONACTIVE]`.
#[tokio::test]
async fn compress_after_starttls_and_login_as_in_rfc_4978() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    c.line().await;
    assert!(c.command("a", "starttls").await[0].starts_with("a OK"));
    c.start_tls(&server.cert_path()).await;
    c.login().await;
    c.compress().await;
    let caps = c.ok("CAPABILITY").await;
    assert_eq!(caps, [format!("* CAPABILITY {LOGGED_IN_CAPS}\r\n")]);
    assert_eq!(
        c.command("c", "compress deflate").await,
        ["c NO [COMPRESSIONACTIVE] DEFLATE is already active on this connection\r\n"]
    );
    c.ok("SELECT INBOX").await;
    assert_eq!(
        c.command("l", "LOGOUT").await[1],
        "l OK LOGOUT completed\r\n"
    );
}

/// Compression on the implicit-TLS listener, counted in /metrics while it lasts.
#[tokio::test]
async fn compress_over_implicit_tls_is_counted_in_metrics() {
    let server = Server::start();
    let mut c = Client::connect_tls(server.imaps, &server.cert_path()).await;
    c.line().await;
    c.login().await;
    assert_eq!(
        scrape(&server).await.get("roost_sessions_compressed", &[]),
        0.0
    );
    c.compress().await;
    c.ok("NOOP").await;
    assert_eq!(
        scrape(&server).await.get("roost_sessions_compressed", &[]),
        1.0
    );
    c.command("l", "LOGOUT").await;
    c.expect_closed().await.unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if scrape(&server).await.get("roost_sessions_compressed", &[]) == 0.0 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the gauge went back to 0 after the connection closed");
}

/// COMPRESS before login follows the state rules, an unknown algorithm is refused with a
/// reason, and neither turns compression on.
#[tokio::test]
async fn compress_before_login_or_with_another_algorithm_is_refused_and_stays_plain() {
    let server = Server::start();
    let mut c = Client::connect(server.imap).await;
    let greeting = c.line().await;
    assert!(!greeting.contains("COMPRESS"), "{greeting}");
    let lines = c.command("a", "COMPRESS DEFLATE").await;
    assert!(lines[0].starts_with("a BAD "), "{lines:?}");
    c.login().await;
    assert_eq!(
        c.command("b", "COMPRESS LZMA").await,
        ["b BAD unknown compression algorithm LZMA: this server offers DEFLATE\r\n"]
    );
    assert!(c.command("c", "COMPRESS").await[0].starts_with("c BAD "));
    // Still plain.
    c.ok("NOOP").await;
}

/// UNAUTHENTICATE (RFC 8437 section 3) ends compression after its OK, both ways: the server's
/// stream ends with a final block, and the client speaks plain again.
#[tokio::test]
async fn unauthenticate_ends_compression_after_its_ok() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.compress().await;
    // The client's layer ends after the command's CRLF (a final block), the server's after
    // its OK: from here both sides are plain, and compression can start again.
    assert_eq!(
        c.command("u", "UNAUTHENTICATE").await,
        ["u OK UNAUTHENTICATE completed\r\n"]
    );
    c.login().await;
    c.ok("NOOP").await;
    c.compress().await;
    c.ok("NOOP").await;
}

/// A 10 MB message whose body is pseudo-random base64-like lines: compressible about as much
/// as a real attachment, so the deflater does real work.
fn ten_megabyte_message() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut message = String::from(
        "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: large\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    while message.len() < 10 * 1000 * 1000 {
        for _ in 0..76 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            message.push(ALPHABET[(state % 64) as usize] as char);
        }
        message.push_str("\r\n");
    }
    message
}

/// A 10 MB FETCH through the deflater arrives byte-identical, and the connection goes on.
#[tokio::test]
async fn a_ten_megabyte_fetch_over_compression_is_byte_identical() {
    let server = Server::start();
    let message = ten_megabyte_message();
    let mut writer = Client::logged_in(&server).await;
    writer.append("INBOX", "", &message).await;
    let mut c = Client::connect_tls(server.imaps, &server.cert_path()).await;
    c.line().await;
    c.login().await;
    c.compress().await;
    c.ok("SELECT INBOX").await;
    c.send("f FETCH 1 (BODY.PEEK[])\r\n").await;
    assert_eq!(
        c.line().await,
        format!("* 1 FETCH (BODY[] {{{}}}\r\n", message.len())
    );
    let body = c.octets(message.len()).await;
    assert!(body == message.as_bytes(), "the body differs");
    assert_eq!(c.line().await, ")\r\n");
    assert_eq!(c.line().await, "f OK FETCH completed\r\n");
    c.ok("NOOP").await;
}

/// An idling compressed client is told of another session's APPEND without sending anything:
/// the server flushes the deflater when it has nothing more to write.
#[tokio::test]
async fn idle_over_compression_receives_another_sessions_append() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.append("INBOX", "", &sample_message(1)).await;
    let mut watcher = Client::logged_in(&server).await;
    watcher.compress().await;
    watcher.ok("SELECT INBOX").await;
    watcher.send("i IDLE\r\n").await;
    assert_eq!(watcher.line().await, "+ idling\r\n");
    writer.append("INBOX", "", &sample_message(2)).await;
    assert_eq!(watcher.line().await, "* 2 EXISTS\r\n");
    assert_eq!(watcher.line().await, "* 2 RECENT\r\n");
    watcher.send("DONE\r\n").await;
    assert_eq!(
        watcher.until_tagged("i").await,
        ["i OK IDLE terminated\r\n"]
    );
}

/// A synchronizing literal's `+` is flushed through the deflater (the client waits for it).
#[tokio::test]
async fn a_synchronizing_literal_gets_its_continuation_under_compression() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.compress().await;
    let message = sample_message(1);
    c.send(format!("a APPEND INBOX {{{}}}\r\n", message.len()))
        .await;
    assert_eq!(c.line().await, "+ Ready for literal data\r\n");
    c.send(format!("{message}\r\n")).await;
    assert!(c.line().await.starts_with("a OK [APPENDUID "));
}

/// A compressed client that asks for 50 MB and reads nothing costs the server a bounded
/// buffer, and another session is served meanwhile.
#[tokio::test]
async fn a_compressed_client_that_stops_reading_does_not_hurt_another_session() {
    let server = Server::start();
    let message = ten_megabyte_message();
    let mut writer = Client::logged_in(&server).await;
    writer.append("INBOX", "", &message).await;
    let before = server.rss_kib();
    let mut stalled = Client::logged_in(&server).await;
    stalled.compress().await;
    stalled.ok("SELECT INBOX").await;
    for i in 0..5 {
        stalled
            .send(format!("f{i} FETCH 1 (BODY.PEEK[])\r\n"))
            .await;
    }
    writer.ok("SELECT INBOX").await;
    writer.send("g FETCH 1 (BODY.PEEK[])\r\n").await;
    writer.line().await;
    assert!(writer.octets(message.len()).await == message.as_bytes());
    writer.line().await;
    assert_eq!(writer.line().await, "g OK FETCH completed\r\n");
    writer.ok("NOOP").await;
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 30 * 1024,
        "server RSS grew by {grown} KiB for a client that reads nothing"
    );
}

/// A real client: Python's imaplib over implicit TLS, with the DEFLATE layer real clients add
/// after COMPRESS's OK (zlib, raw, 32 KiB window, a sync flush per command), FETCHes a 10 MB
/// message byte-identical and IDLEs until another connection's APPEND arrives.
#[tokio::test]
async fn python_imaplib_with_compress_fetches_ten_megabytes_and_idles() {
    let server = Server::start();
    let message = ten_megabyte_message();
    let mut writer = Client::logged_in(&server).await;
    writer.append("INBOX", "", &message).await;
    let expected = server.dir.path().join("expected.eml");
    std::fs::write(&expected, &message).unwrap();
    let script = format!(
        r#"
import imaplib, ssl, zlib

imaplib.Commands["COMPRESS"] = ("AUTH", "SELECTED")

class Compressed(imaplib.IMAP4_SSL):
    _deflate = None

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        assert typ == "OK", (typ, data)
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._inflate = zlib.decompressobj(-15)
        self._plain = bytearray()

    def send(self, data):
        if self._deflate:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        super().send(data)

    def _more(self):
        chunk = self.file.read1(65536)
        if not chunk:
            raise self.abort("connection closed")
        self._plain += self._inflate.decompress(chunk)

    def read(self, size):
        if not self._deflate:
            return super().read(size)
        while len(self._plain) < size:
            self._more()
        out = bytes(self._plain[:size])
        del self._plain[:size]
        return out

    def readline(self):
        if not self._deflate:
            return super().readline()
        while b"\n" not in self._plain:
            self._more()
        end = self._plain.index(b"\n") + 1
        out = bytes(self._plain[:end])
        del self._plain[:end]
        return out

context = ssl.create_default_context(cafile="{cert}")
m = Compressed("localhost", {port}, ssl_context=context, timeout=20)
m.login("{user}", "{password}")
typ, data = m.capability()
assert b"COMPRESS=DEFLATE" in data[0].split(), data
m.compress()
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"1"], (typ, data)
typ, data = m.fetch("1", "(BODY.PEEK[])")
assert typ == "OK", typ
body = data[0][1]
expected = open("{expected}", "rb").read()
assert body == expected, (len(body), len(expected))

tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
assert m.readline().startswith(b"+ "), "no continuation"
other = imaplib.IMAP4_SSL("localhost", {port}, ssl_context=context, timeout=20)
other.login("{user}", "{password}")
other.append("INBOX", None, None, b"Subject: news\r\n\r\nhello\r\n")
other.logout()
line = m.readline()
assert line == b"* 2 EXISTS\r\n", line
m.send(b"DONE\r\n")
while True:
    line = m.readline()
    if line.startswith(tag):
        assert b" OK " in line, line
        break
m.logout()
print("fetched", len(body), "and was told", "2 EXISTS")
"#,
        cert = server.cert_path().display(),
        port = server.imaps.port(),
        user = USER,
        password = PASSWORD,
        expected = expected.display(),
    );
    let out = tokio::task::spawn_blocking(move || run_python(&script))
        .await
        .unwrap();
    assert_eq!(
        out.trim(),
        format!("fetched {} and was told 2 EXISTS", message.len())
    );
}
