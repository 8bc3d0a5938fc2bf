//! Search keys and ESEARCH return options (RFC 9051 section 6.4.4, RFC 3501 section 6.4.4,
//! RFC 7162 section 3.1.5, RFC 8474 section 6).

use super::core::{Atom, Date, SequenceSet};

/// One `search-key`. String arguments are the bytes the client sent (charset decoding happens
/// in the server, which knows `CHARSET`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(Vec<u8>),
    Before(Date),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    Deleted,
    Draft,
    Flagged,
    From(Vec<u8>),
    /// `HEADER field-name string`.
    Header(Vec<u8>, Vec<u8>),
    Keyword(Atom),
    Larger(u64),
    /// IMAP4rev1 only.
    New,
    Not(Box<SearchKey>),
    /// IMAP4rev1 only.
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    /// IMAP4rev1 only.
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(Atom),
    Unseen,
    /// A bare sequence set (message sequence numbers), or `$`.
    SequenceSet(SequenceSet),
    /// `( search-key *(SP search-key) )`: all must match.
    And(Vec<SearchKey>),
    /// `MODSEQ [entry-name entry-type-req] mod-sequence-valzer` (RFC 7162 section 3.1.5).
    ModSeq {
        /// `(entry-name, entry-type)`, e.g. `("/flags/\\draft", "all")`.
        entry: Option<(Vec<u8>, EntryType)>,
        mod_seq: u64,
    },
    /// `OLDER nz-number` (RFC 5032): INTERNALDATE more than this many seconds ago.
    Older(u32),
    /// `YOUNGER nz-number` (RFC 5032): INTERNALDATE at most this many seconds ago.
    Younger(u32),
    /// `EMAILID objectid` (RFC 8474 section 6).
    EmailId(String),
    /// `THREADID objectid` (RFC 8474 section 6).
    ThreadId(String),
    /// `SAVEDBEFORE date` (RFC 8514 section 4.3): saved into the mailbox before the day.
    SavedBefore(Date),
    /// `SAVEDON date`.
    SavedOn(Date),
    /// `SAVEDSINCE date`.
    SavedSince(Date),
    /// `SAVEDATESUPPORTED`: every message where the mailbox keeps save dates.
    SaveDateSupported,
}

/// `entry-type-req` of the MODSEQ search key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryType {
    Private,
    Shared,
    All,
}

/// `search-return-opt` (RFC 9051 section 6.4.4, RFC 5267 section 4.4 for PARTIAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
    /// `PARTIAL first:last`: the results at those positions (1-based) of the whole result.
    Partial(PartialRange),
    /// `CONTEXT` (RFC 5267 section 4.2): a hint that the search will be used again.
    Context,
    /// `UPDATE` (RFC 5267 section 4.3): report later changes to the result as `ADDTO` and
    /// `REMOVEFROM` until the mailbox is deselected or `CANCELUPDATE` names the command.
    Update,
}

/// `partial-range = nz-number ":" nz-number` (RFC 5267): positions in a result list, kept
/// as written (`10:1` means the same as `1:10`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartialRange {
    pub first: u32,
    pub last: u32,
}

impl PartialRange {
    /// The 0-based index range it selects out of `len` results (empty when past the end).
    pub fn indices(self, len: usize) -> std::ops::Range<usize> {
        let lo = self.first.min(self.last).max(1) as usize - 1;
        let hi = (self.first.max(self.last) as usize).min(len);
        lo.min(hi)..hi
    }
}
