//! Tests of the message module as a whole: golden files, sections, BINARY, SEARCH.

mod binary;
mod golden;
mod search;
mod section;
