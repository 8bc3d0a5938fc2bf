//! SORT and THREAD (RFC 5256 section 5), with RFC 5267's `RETURN` for SORT and RFC 5957's
//! DISPLAYFROM/DISPLAYTO keys.

use super::cursor::{Cursor, PResult};
use super::search::{charset_name, return_opts, search_program};
use crate::types::{SortCommand, SortCriterion, SortKey, ThreadAlgorithm, ThreadCommand};

/// `sort = ["UID" SP] "SORT" [SP search-return-opts] SP sort-criteria SP search-criteria`.
pub(crate) fn sort(c: &mut Cursor<'_>, uid: bool) -> PResult<SortCommand> {
    c.sp_after("SORT")?;
    let returns = return_opts(c)?;
    let criteria = c.paren_list("sort criteria", false, sort_criterion)?;
    c.sp_after("sort criteria")?;
    let (charset, search) = search_criteria(c)?;
    Ok(SortCommand {
        uid,
        returns,
        criteria,
        charset,
        search,
    })
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`.
pub(crate) fn thread(c: &mut Cursor<'_>, uid: bool) -> PResult<ThreadCommand> {
    c.sp_after("THREAD")?;
    let algorithm = match c.word().to_ascii_uppercase().as_slice() {
        b"ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        b"REFERENCES" => ThreadAlgorithm::References,
        _ => return Err(c.error("unknown threading algorithm")),
    };
    c.sp_after("threading algorithm")?;
    let (charset, search) = search_criteria(c)?;
    Ok(ThreadCommand {
        uid,
        algorithm,
        charset,
        search,
    })
}

/// `search-criteria = charset 1*(SP search-key)`.
fn search_criteria(c: &mut Cursor<'_>) -> PResult<(String, Vec<crate::types::SearchKey>)> {
    let charset = charset_name(c)?;
    c.sp_after("charset")?;
    Ok((charset, search_program(c)?))
}

/// `sort-criterion = ["REVERSE" SP] sort-key`.
fn sort_criterion(c: &mut Cursor<'_>) -> PResult<SortCriterion> {
    let reverse = c.keyword("REVERSE");
    if reverse {
        c.sp_after("REVERSE")?;
    }
    let key = SortKey::from_name(c.word()).ok_or_else(|| c.error("unknown sort key"))?;
    Ok(SortCriterion { reverse, key })
}
