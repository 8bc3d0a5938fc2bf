//! Tests of the message module as a whole: golden files, sections, BINARY, SEARCH.

mod binary;
mod golden;
mod meta;
mod search;
mod section;
