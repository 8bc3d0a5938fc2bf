//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951, no zlib header) in both directions,
//! between the IMAP bytes and the stream, so that TLS encrypts what was compressed (section 3's
//! order). The I/O task owns one [`Compression`] per compressed connection; the session only
//! queues the markers that say where in its output compression starts and ends.
//!
//! Memory is what matters here, since most connections wait (docs/performance.md):
//! - The deflater (server to client) exists only while output flows: after a sync flush the
//!   stream is at a block boundary, and a fresh deflater continues it validly (raw DEFLATE is
//!   just a sequence of blocks; a new deflater simply has no history to refer back to). So a
//!   connection that has been quiet for [`Deflater::RELEASE_AFTER`] frees it.
//! - The inflater (client to server) cannot be freed: the client chose its window (zlib's
//!   default is the full 32 KiB) and may refer back that far at any time.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use flate2::{Compress, Compression as Level, Decompress, FlushCompress, FlushDecompress, Status};

use crate::telemetry::metrics::HeldGauge;

/// The server's window: 4 KiB (2^12). The deflater's window and hash chains are sized by it;
/// IMAP responses repeat over short distances, and a large message compresses nearly as well
/// with 4 KiB as with 32 KiB of history.
const SERVER_WINDOW_BITS: u8 = 12;
/// Raw DEFLATE lets the client use up to 32 KiB of history; the inflater must accept that.
const CLIENT_WINDOW_BITS: u8 = 15;
/// RFC 4978 section 4 suggests levels 1 to 5; 3 keeps CPU low on large FETCHes.
const LEVEL: u32 = 3;

/// Both directions of a compressed connection.
pub struct Compression {
    pub deflater: Deflater,
    pub inflater: Inflater,
    /// Counts this connection in `roost_sessions_compressed` while compression is on.
    _gauge: HeldGauge,
}

impl Compression {
    /// Starts compression. `already_read` is what the client sent after the COMPRESS command
    /// (it must compress everything after it), still to be inflated.
    pub fn start(already_read: BytesMut) -> Compression {
        Compression {
            deflater: Deflater::default(),
            inflater: Inflater::new(already_read),
            _gauge: HeldGauge::compressed(),
        }
    }
}

/// The server-to-client direction.
#[derive(Default)]
pub struct Deflater {
    /// `None` while the connection is quiet (see the module documentation).
    state: Option<Compress>,
    /// Input has been taken since the last flush: the client may not have all of it yet.
    unflushed: bool,
}

impl Deflater {
    /// How long a deflater is kept after the last output, for the history it holds.
    pub const RELEASE_AFTER: Duration = Duration::from_secs(5);

    /// Compresses as much of `input` as fits in `out`'s spare capacity and returns how much of
    /// `input` it took. The caller writes `out` out when it is full and calls again.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<usize> {
        let state = self.state.get_or_insert_with(|| {
            Compress::new_with_window_bits(Level::new(LEVEL), false, SERVER_WINDOW_BITS)
        });
        let before = state.total_in();
        state
            .compress_vec(input, out, FlushCompress::None)
            .map_err(io::Error::other)?;
        self.unflushed = true;
        Ok(usize::try_from(state.total_in() - before).unwrap_or(usize::MAX))
    }

    /// A sync flush: everything taken so far becomes decodable by the client, ending on a
    /// byte boundary. Returns `false` when `out` filled up first: write it out and call again.
    pub fn sync_flush(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        self.flush_with(out, FlushCompress::Sync)
    }

    /// Ends the stream with a final block (the client's inflater reports its end, so it knows
    /// where plain bytes begin: RFC 8437's UNAUTHENTICATE). `false` as for [`Self::sync_flush`].
    pub fn finish(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        self.unflushed = true;
        let state = self.state.get_or_insert_with(|| {
            Compress::new_with_window_bits(Level::new(LEVEL), false, SERVER_WINDOW_BITS)
        });
        let status = state
            .compress_vec(&[], out, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        let done = status == Status::StreamEnd;
        self.unflushed = !done;
        Ok(done)
    }

    fn flush_with(&mut self, out: &mut Vec<u8>, flush: FlushCompress) -> io::Result<bool> {
        let Some(state) = self.state.as_mut().filter(|_| self.unflushed) else {
            return Ok(true);
        };
        state
            .compress_vec(&[], out, flush)
            .map_err(io::Error::other)?;
        // zlib's rule: the flush is complete when it left room in the output.
        let done = out.len() < out.capacity();
        self.unflushed = !done;
        Ok(done)
    }

    /// Whether there is state that [`Self::release`] would free.
    pub fn holds_state(&self) -> bool {
        self.state.is_some()
    }

    /// Frees the deflater; the next output starts a new one. Only at a flush point.
    pub fn release(&mut self) {
        if !self.unflushed && self.state.take().is_some() {
            // Its ~270 KiB (zlib-rs: a fixed 128 KiB hash table, the window, the pending
            // buffers) sit in the middle of the heap; without a trim glibc keeps them resident.
            crate::memory::request_trim();
        }
    }
}

/// The client-to-server direction.
pub struct Inflater {
    state: Decompress,
    /// Compressed bytes read and not inflated yet (the plain buffer had no room).
    pending: BytesMut,
    /// The client ended its DEFLATE stream: what follows is plain (RFC 8437).
    ended: bool,
}

impl Inflater {
    fn new(already_read: BytesMut) -> Inflater {
        Inflater {
            state: Decompress::new_with_window_bits(false, CLIENT_WINDOW_BITS),
            pending: already_read,
            ended: false,
        }
    }

    /// Where the next bytes from the socket go: the plain buffer once the client has ended
    /// its stream, else the compressed one.
    pub fn input_buffer<'a>(&'a mut self, plain: &'a mut BytesMut) -> &'a mut BytesMut {
        if self.ended {
            plain
        } else {
            &mut self.pending
        }
    }

    /// Whether compressed input waits to be inflated (so there is no need to read first).
    pub fn has_pending(&self) -> bool {
        !self.ended && !self.pending.is_empty()
    }

    /// Inflates pending input into `plain`, producing at most `room` octets (as a socket read
    /// into `room` spare bytes would), and returns how many it produced. A client's stream
    /// that inflates to much more than it measures (a "zip bomb") therefore stays compressed
    /// until the decoder, with its limits, asks for more.
    pub fn inflate(&mut self, plain: &mut BytesMut, room: usize) -> io::Result<usize> {
        if self.ended || self.pending.is_empty() {
            return Ok(0);
        }
        let start = plain.len();
        plain.resize(start + room, 0);
        let (before_in, before_out) = (self.state.total_in(), self.state.total_out());
        let status = self
            .state
            .decompress(&self.pending, &mut plain[start..], FlushDecompress::None)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let taken = usize::try_from(self.state.total_in() - before_in).unwrap_or(usize::MAX);
        let produced = usize::try_from(self.state.total_out() - before_out).unwrap_or(usize::MAX);
        plain.truncate(start + produced);
        let _ = self.pending.split_to(taken.min(self.pending.len()));
        if status == Status::StreamEnd {
            self.ended = true;
            plain.extend_from_slice(&std::mem::take(&mut self.pending));
        }
        if self.pending.is_empty() && self.pending.capacity() > 0 {
            // Between commands a compressed connection keeps no read buffer of its own.
            self.pending = BytesMut::new();
        }
        Ok(produced)
    }

    /// Compression ends (UNAUTHENTICATE): compressed bytes not yet inflated are plain from
    /// here on, as RFC 8437 says the client's are after the command's CRLF.
    pub fn into_plain(self, plain: &mut BytesMut) {
        if !self.ended {
            plain.extend_from_slice(&self.pending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything `deflater` makes of `input`, sync-flushed.
    fn deflate(deflater: &mut Deflater, input: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        let mut out = Vec::with_capacity(64);
        let mut rest = input;
        while !rest.is_empty() {
            let taken = deflater.compress(rest, &mut out).unwrap();
            rest = &rest[taken..];
            wire.append(&mut out);
        }
        while !deflater.sync_flush(&mut out).unwrap() {
            wire.append(&mut out);
        }
        wire.append(&mut out);
        wire
    }

    /// What a client's inflater (raw, 32 KiB window) makes of `wire`.
    fn client_inflate(inflater: &mut Decompress, wire: &[u8]) -> Vec<u8> {
        let mut plain = Vec::with_capacity(wire.len() * 20 + 1024);
        inflater
            .decompress_vec(wire, &mut plain, FlushDecompress::Sync)
            .unwrap();
        plain
    }

    #[test]
    fn a_fresh_deflater_after_a_release_continues_the_clients_stream() {
        let mut deflater = Deflater::default();
        let mut client = Decompress::new(false);
        let first = b"* 1 EXISTS\r\n* 1 RECENT\r\na OK done\r\n".repeat(20);
        assert_eq!(
            client_inflate(&mut client, &deflate(&mut deflater, &first)),
            first
        );
        assert!(deflater.holds_state());
        deflater.release();
        assert!(!deflater.holds_state());
        let second = b"* 2 EXISTS\r\n* 1 RECENT\r\n".repeat(20);
        assert_eq!(
            client_inflate(&mut client, &deflate(&mut deflater, &second)),
            second
        );
    }

    #[test]
    fn a_small_stream_that_inflates_hugely_is_inflated_one_read_at_a_time() {
        let mut client = Compress::new(Level::default(), false);
        let mut wire = Vec::with_capacity(64 * 1024);
        client
            .compress_vec(&vec![b'a'; 1 << 20], &mut wire, FlushCompress::Sync)
            .unwrap();
        assert!(wire.len() < 8 * 1024);
        let mut inflater = Inflater::new(BytesMut::from(&wire[..]));
        let mut plain = BytesMut::new();
        assert_eq!(inflater.inflate(&mut plain, 4096).unwrap(), 4096);
        assert_eq!(plain.len(), 4096);
        assert!(inflater.has_pending());
    }

    #[test]
    fn after_the_clients_final_block_its_bytes_are_plain() {
        let mut client = Compress::new(Level::default(), false);
        let mut wire = Vec::with_capacity(1024);
        client
            .compress_vec(b"u UNAUTHENTICATE\r\n", &mut wire, FlushCompress::Finish)
            .unwrap();
        wire.extend_from_slice(b"a LOGIN x y\r\n");
        let mut inflater = Inflater::new(BytesMut::from(&wire[..]));
        let mut plain = BytesMut::new();
        inflater.inflate(&mut plain, 4096).unwrap();
        assert_eq!(&plain[..], b"u UNAUTHENTICATE\r\na LOGIN x y\r\n");
        assert!(!inflater.has_pending());
    }

    #[test]
    fn a_corrupt_stream_is_an_error() {
        let mut inflater = Inflater::new(BytesMut::from(&b"\xff\xff\xff\xff"[..]));
        let mut plain = BytesMut::new();
        assert!(inflater.inflate(&mut plain, 4096).is_err());
    }
}
