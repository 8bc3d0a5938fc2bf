//! Recursive-descent parsing of one complete command or response. Functions carry the names
//! of the ABNF rules of RFC 9051 section 9 they implement.

pub(crate) mod cursor;
pub(crate) mod fragment;
pub(crate) mod response;
