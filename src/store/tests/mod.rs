//! Store tests on real files in temporary directories.

mod account;
mod journal;
mod log;
mod mailbox;
mod damage;
