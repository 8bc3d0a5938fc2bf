//! Which owner wrote a log: in a cluster each owner of an account writes the epoch of its
//! lease into the account's log and into each mailbox log it changes, before its first change
//! there (`AccountRecord::Writer`, `MailboxRecord::Writer`). Along one log the epochs never go
//! down; one that does means a former owner wrote after a newer one (two writers), which
//! replay reports (docs/clustering.md, "Invariants").

/// The writer epochs a replay met, in log order: the latest, and each time one went down.
/// Not part of a state's content (it is not in snapshots, and two states that differ only
/// here are equal).
#[derive(Debug, Clone, Default)]
pub struct WriterEpochs {
    pub latest: u64,
    /// (earlier, later) pairs where the later epoch is the lower one.
    pub regressions: Vec<(u64, u64)>,
}

impl WriterEpochs {
    /// Notes the epoch of a `Writer` record.
    pub fn saw(&mut self, epoch: u64) {
        if epoch < self.latest {
            self.regressions.push((self.latest, epoch));
        } else {
            self.latest = epoch;
        }
    }
}

impl PartialEq for WriterEpochs {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for WriterEpochs {}
