//! The node-link wire format: a u32 big-endian length, then one postcard-encoded [`Frame`].
//!
//! The whole format lives here, so changing it (or moving to another serde format) touches one
//! module. Frames are bounded by [`MAX_FRAME`]; a length above it is refused before anything is
//! allocated, and a body is only allocated as its bytes actually arrive, so a peer announcing a
//! large frame and sending nothing costs no memory.

use std::io;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

/// The largest frame body: room for a 64 MiB APPENDed message (the default literal limit) with
/// its envelope, and the configurable limit up to about 96 MiB.
pub const MAX_FRAME: u32 = 96 * 1024 * 1024;

/// One message on a node link. Payloads are opaque: the layer above encodes its own enums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// First frame a client sends: who is connecting.
    Hello {
        node: String,
    },
    Request {
        id: u64,
        #[serde(with = "bytes")]
        payload: Vec<u8>,
    },
    /// The answer to the request with the same `id` (responses may come out of order).
    Response {
        id: u64,
        #[serde(with = "bytes")]
        payload: Vec<u8>,
    },
    /// Unsolicited data from server to client, tagged with a stream id the layer above chose.
    Push {
        stream: u64,
        #[serde(with = "bytes")]
        payload: Vec<u8>,
    },
    /// The request `id` failed on the server without an answer (its handler panicked).
    Failure {
        id: u64,
        message: String,
    },
    /// From a client whose connection has been quiet: the server answers [`Frame::Pong`] at
    /// once, so a peer that is hung (SIGSTOP, a stalled host) is noticed within the keepalive
    /// rather than at a request's timeout.
    Ping,
    Pong,
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLarge(u64),
    #[error("undecodable frame: {0}")]
    Garbage(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The frame with its length prefix, ready to write.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, CodecError> {
    let mut out =
        postcard::to_extend(frame, vec![0u8; 4]).map_err(|e| CodecError::Garbage(e.to_string()))?;
    let body = out.len() - 4;
    let len = u32::try_from(body)
        .ok()
        .filter(|&n| n <= MAX_FRAME)
        .ok_or(CodecError::TooLarge(body as u64))?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// Decodes one frame body (without its length prefix); trailing bytes are an error.
pub fn decode(body: &[u8]) -> Result<Frame, CodecError> {
    match postcard::take_from_bytes::<Frame>(body) {
        Ok((frame, [])) => Ok(frame),
        Ok((_, rest)) => Err(CodecError::Garbage(format!(
            "{} bytes after the frame",
            rest.len()
        ))),
        Err(e) => Err(CodecError::Garbage(e.to_string())),
    }
}

pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    frame: &Frame,
) -> Result<(), CodecError> {
    w.write_all(&encode(frame)?).await?;
    Ok(())
}

/// Reads one frame; `Ok(None)` on a clean end of stream between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Frame>, CodecError> {
    let mut header = [0u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        match r.read(&mut header[filled..]).await? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            n => filled += n,
        }
    }
    let len = u32::from_be_bytes(header);
    if len > MAX_FRAME {
        return Err(CodecError::TooLarge(u64::from(len)));
    }
    // Grows with the data received, not with what the peer announced.
    let mut body = Vec::with_capacity((len as usize).min(64 * 1024));
    let read = r.take(u64::from(len)).read_to_end(&mut body).await?;
    if read < len as usize {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    decode(&body).map(Some)
}

/// Writes queued frames until `closed` turns true (or its sender is gone), the queue's senders
/// are all gone, or the stream fails. Flushes only when the queue is momentarily empty, so
/// concurrent requests and responses share TCP segments.
pub async fn write_frames<W: AsyncWrite + Unpin>(
    w: W,
    mut queue: mpsc::Receiver<Frame>,
    mut closed: watch::Receiver<bool>,
) -> Result<(), CodecError> {
    let mut w = tokio::io::BufWriter::new(w);
    loop {
        let frame = tokio::select! {
            frame = queue.recv() => frame,
            () = wait_true(&mut closed) => None,
        };
        let Some(frame) = frame else {
            // Best effort: the peer is told the connection ends.
            let _ = w.shutdown().await;
            return Ok(());
        };
        write_frame(&mut w, &frame).await?;
        if queue.is_empty() {
            w.flush().await?;
        }
    }
}

/// Resolves once the flag is true or its sender is gone.
pub async fn wait_true(flag: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped: nothing can clear the flag any more.
    let _ = flag.wait_for(|&v| v).await;
}

/// Serde helpers so byte payloads are (de)serialized as one block rather than byte by byte.
/// The wire format is the same as for a `Vec<u8>` sequence (varint length, then the bytes).
mod bytes {
    use serde::{de, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> de::Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Frame> {
        vec![
            Frame::Hello { node: "n1".into() },
            Frame::Request {
                id: 0,
                payload: vec![],
            },
            Frame::Request {
                id: u64::MAX,
                payload: vec![1, 2, 3],
            },
            Frame::Response {
                id: 7,
                payload: (0..=255).collect(),
            },
            Frame::Push {
                stream: 3,
                payload: b"EXISTS".to_vec(),
            },
            Frame::Failure {
                id: 9,
                message: "boom".into(),
            },
        ]
    }

    #[tokio::test]
    async fn frames_round_trip_through_a_stream() {
        let mut wire = Vec::new();
        for frame in samples() {
            write_frame(&mut wire, &frame).await.unwrap();
        }
        let mut r = wire.as_slice();
        for frame in samples() {
            assert_eq!(read_frame(&mut r).await.unwrap(), Some(frame));
        }
        assert_eq!(read_frame(&mut r).await.unwrap(), None);
    }

    #[test]
    fn payload_bytes_are_encoded_like_a_byte_sequence() {
        // The block (de)serializer must not change the wire format of a plain Vec<u8>
        // (`Response` is variant 2).
        let plain = postcard::to_allocvec(&(2u32, 5u64, vec![9u8; 300])).unwrap();
        let ours = encode(&Frame::Response {
            id: 5,
            payload: vec![9u8; 300],
        })
        .unwrap();
        assert_eq!(&ours[4..], &plain[..]);
    }

    #[tokio::test]
    async fn a_large_payload_round_trips() {
        let payload: Vec<u8> = (0..20 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let frame = Frame::Request { id: 1, payload };
        let wire = encode(&frame).unwrap();
        assert_eq!(read_frame(&mut wire.as_slice()).await.unwrap(), Some(frame));
    }

    #[tokio::test]
    async fn oversized_length_is_refused_before_reading_the_body() {
        let mut wire = (MAX_FRAME + 1).to_be_bytes().to_vec();
        wire.extend_from_slice(b"not read");
        match read_frame(&mut wire.as_slice()).await {
            Err(CodecError::TooLarge(n)) => assert_eq!(n, u64::from(MAX_FRAME) + 1),
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // u32::MAX would be 4 GiB: refused the same way.
        let wire = u32::MAX.to_be_bytes();
        assert!(matches!(
            read_frame(&mut wire.as_slice()).await,
            Err(CodecError::TooLarge(_))
        ));
    }

    #[test]
    fn oversized_frames_are_not_encoded() {
        let frame = Frame::Request {
            id: 1,
            payload: vec![0; MAX_FRAME as usize + 1],
        };
        assert!(matches!(encode(&frame), Err(CodecError::TooLarge(_))));
    }

    #[tokio::test]
    async fn garbage_truncation_and_trailing_bytes_are_errors() {
        for body in [&[0xff_u8, 0xff, 0xff][..], &[1, 0x80][..], &[]] {
            let mut wire = (body.len() as u32).to_be_bytes().to_vec();
            wire.extend_from_slice(body);
            assert!(
                matches!(
                    read_frame(&mut wire.as_slice()).await,
                    Err(CodecError::Garbage(_))
                ),
                "{body:?}"
            );
        }
        let mut wire = encode(&Frame::Hello { node: "x".into() }).unwrap();
        wire[3] += 1;
        wire.push(0);
        assert!(matches!(
            read_frame(&mut wire.as_slice()).await,
            Err(CodecError::Garbage(_))
        ));
        // A length promising more than the stream holds.
        let mut wire = 10u32.to_be_bytes().to_vec();
        wire.extend_from_slice(&[0, 1]);
        assert!(matches!(
            read_frame(&mut wire.as_slice()).await,
            Err(CodecError::Io(_))
        ));
        // A stream ending inside the length prefix.
        assert!(matches!(
            read_frame(&mut &[0u8, 0][..]).await,
            Err(CodecError::Io(_))
        ));
    }
}
