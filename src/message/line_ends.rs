//! Line ends of messages clients hand in. IMAP messages use CRLF (RFC 9051 section 2.3.4,
//! RFC 5322 section 2.1); a client uploading a Unix file (curl `-T`) sends bare LFs. They are
//! stored as CRLF so that RFC822.SIZE, BODY[] and partial fetches mean what every client
//! computes them to mean, and the same as another server would answer.

use bytes::{BufMut, Bytes, BytesMut};

/// `data` with every LF that has no CR before it turned into CRLF; unchanged (not copied)
/// when there is none.
pub fn crlf(data: Bytes) -> Bytes {
    let bare = |i: usize| data[i] == b'\n' && (i == 0 || data[i - 1] != b'\r');
    let count = (0..data.len()).filter(|&i| bare(i)).count();
    if count == 0 {
        return data;
    }
    let mut out = BytesMut::with_capacity(data.len() + count);
    let mut start = 0;
    for i in (0..data.len()).filter(|&i| bare(i)) {
        out.put_slice(&data[start..i]);
        out.put_slice(b"\r\n");
        start = i + 1;
    }
    out.put_slice(&data[start..]);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::crlf;
    use bytes::Bytes;

    #[test]
    fn bare_line_feeds_become_crlf_and_the_rest_is_kept() {
        let got = crlf(Bytes::from_static(b"\nA: b\n\r\nbody\r\nx\n"));
        assert_eq!(&got[..], b"\r\nA: b\r\n\r\nbody\r\nx\r\n");
        let clean = Bytes::from_static(b"A: b\r\n\r\nbody");
        assert_eq!(crlf(clean.clone()).as_ptr(), clean.as_ptr());
        assert_eq!(&crlf(Bytes::from_static(b"\r\r\n"))[..], b"\r\r\n");
    }
}
