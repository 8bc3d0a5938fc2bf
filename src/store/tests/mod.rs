//! Store tests on real files in temporary directories.

mod account;
mod damage;
mod journal;
mod log;
mod mailbox;
mod metadata;
