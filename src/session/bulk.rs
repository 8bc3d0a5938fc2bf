//! Output that grows with the mailbox (one line per message or per folder), rendered and
//! queued in pieces as the client reads, so a command's answer of any length costs the server
//! at most a piece plus the outbox's bound.

use roost_proto::encode::{write_response, EncodeContext, Output};
use roost_proto::Response;

use super::messages::{Outbox, OutboxClosed, Outgoing};

/// Octets rendered before a piece is handed to the outbox.
const PIECE: usize = 64 * 1024;

/// Renders responses into the outbox from a command's asynchronous work, waiting for room.
pub struct BulkWriter {
    outbox: Outbox,
    encode: EncodeContext,
    piece: Output,
    /// Octets queued so far (for the command's span).
    octets: usize,
}

impl BulkWriter {
    pub fn new(outbox: Outbox, encode: EncodeContext) -> Self {
        BulkWriter {
            outbox,
            encode,
            piece: Output::new(),
            octets: 0,
        }
    }

    /// Renders `response`; queues the piece once it is large enough, waiting while the client
    /// has more than the outbox's bound still to read.
    pub async fn push(&mut self, response: &Response) -> Result<(), OutboxClosed> {
        write_response(response, &self.encode, &mut self.piece);
        if self.piece.len() >= PIECE {
            self.flush().await?;
        }
        Ok(())
    }

    /// Queues what is rendered and returns the octets queued in all.
    pub async fn finish(mut self) -> Result<usize, OutboxClosed> {
        self.flush().await?;
        Ok(self.octets)
    }

    async fn flush(&mut self) -> Result<(), OutboxClosed> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut self.piece).into_chunks();
        self.octets += chunks.iter().map(bytes::Bytes::len).sum::<usize>();
        self.outbox.send_wait(Outgoing::Data(chunks)).await
    }
}
