//! SORT and THREAD (RFC 5256), the DISPLAY sort keys (RFC 5957) and the threads of a
//! `* THREAD` response.

use super::search::{SearchKey, SearchReturn};

/// SORT / UID SORT (RFC 5256 section 3, RFC 5267 section 3 for `RETURN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortCommand {
    pub uid: bool,
    /// `RETURN (...)` (ESORT). `None`: answered with `* SORT`; `Some(vec![])` means `ALL`.
    pub returns: Option<Vec<SearchReturn>>,
    /// Never empty: `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`.
    pub criteria: Vec<SortCriterion>,
    /// Mandatory for SORT (unlike SEARCH).
    pub charset: String,
    /// The search criteria, all of which must match. Never empty.
    pub search: Vec<SearchKey>,
}

/// `sort-criterion = ["REVERSE" SP] sort-key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    pub reverse: bool,
    pub key: SortKey,
}

/// `sort-key` of RFC 5256 and RFC 5957.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    /// RFC 5957.
    DisplayFrom,
    /// RFC 5957.
    DisplayTo,
}

impl SortKey {
    pub const ALL: [SortKey; 9] = [
        SortKey::Arrival,
        SortKey::Cc,
        SortKey::Date,
        SortKey::From,
        SortKey::Size,
        SortKey::Subject,
        SortKey::To,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Arrival => "ARRIVAL",
            SortKey::Cc => "CC",
            SortKey::Date => "DATE",
            SortKey::From => "FROM",
            SortKey::Size => "SIZE",
            SortKey::Subject => "SUBJECT",
            SortKey::To => "TO",
            SortKey::DisplayFrom => "DISPLAYFROM",
            SortKey::DisplayTo => "DISPLAYTO",
        }
    }

    /// Looks up a key by name, case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// THREAD / UID THREAD (RFC 5256 section 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCommand {
    pub uid: bool,
    pub algorithm: ThreadAlgorithm,
    pub charset: String,
    /// Never empty.
    pub search: Vec<SearchKey>,
}

/// `thread-alg`. Algorithms Roost does not know are refused by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}

impl ThreadAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            ThreadAlgorithm::OrderedSubject => "ORDEREDSUBJECT",
            ThreadAlgorithm::References => "REFERENCES",
        }
    }
}

/// One `thread-list`: a chain of messages, each the parent of the next (`members`), then the
/// sub-threads that split off the last of them (`children`).
///
/// What the grammar allows: `members` non-empty, or at least two `children` (a thread whose
/// root is a message that was not found, `((3)(5))`); never exactly one child (it would be a
/// member of the chain).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    pub members: Vec<u32>,
    pub children: Vec<Thread>,
}
