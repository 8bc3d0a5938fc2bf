//! COMPRESS (RFC 4978 section 3). The session only decides and says where in its output
//! compression starts; the I/O task (`net/deflate.rs`) does the compressing.

use roost_proto::{Atom, Code, Status, Tag};

use super::messages::{Outgoing, ReadMode};
use super::Session;

/// The one algorithm RFC 4978 defines, and the one advertised (`COMPRESS=DEFLATE`).
const DEFLATE: &str = "DEFLATE";

impl Session {
    pub(super) fn handle_compress(&mut self, tag: Tag, algorithm: &Atom) -> ReadMode {
        if self.compressed {
            // RFC 4978 section 3 allows BAD or NO here; NO [COMPRESSIONACTIVE] tells the
            // client why, and is what Dovecot answers.
            self.write_status(Status::no(
                tag,
                Some(Code::CompressionActive),
                "DEFLATE is already active on this connection",
            ));
        } else if !algorithm.as_str().eq_ignore_ascii_case(DEFLATE) {
            self.write_status(Status::bad(
                tag,
                None,
                format!(
                    "unknown compression algorithm {}: this server offers DEFLATE",
                    algorithm.as_str()
                ),
            ));
        } else {
            self.write_status(Status::ok(tag, None, "DEFLATE active"));
            // After the CRLF of the OK, both directions are compressed.
            self.compressed = self.out.send(Outgoing::StartCompression).is_ok();
        }
        ReadMode::Command
    }

    /// RFC 8437 section 3: UNAUTHENTICATE ends COMPRESS after its OK.
    pub(super) fn end_compression(&mut self) {
        if std::mem::take(&mut self.compressed) && self.out.send(Outgoing::EndCompression).is_err()
        {
            self.broken = true;
        }
    }
}
