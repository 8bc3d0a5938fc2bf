//! End-to-end tests: a real `roost` process, real TCP and TLS, raw IMAP bytes.
//!
//! One test binary with modules (links once); each module covers one area.

#[path = "e2e/support.rs"]
mod support;
/// Shared with the unit tests: a test CA and node certificates (rcgen only).
#[path = "../src/cluster/link/test_pki.rs"]
mod test_pki;

#[path = "e2e/bad_input.rs"]
mod bad_input;
#[path = "e2e/brute_force.rs"]
mod brute_force;
#[path = "e2e/cli.rs"]
mod cli;
#[path = "e2e/clients.rs"]
mod clients;
#[path = "e2e/cluster.rs"]
mod cluster;
#[path = "e2e/compress.rs"]
mod compress;
#[path = "e2e/conformance.rs"]
mod conformance;
#[path = "e2e/consistency.rs"]
mod consistency;
#[path = "e2e/context.rs"]
mod context;
#[path = "e2e/durability.rs"]
mod durability;
#[path = "e2e/first_start.rs"]
mod first_start;
#[path = "e2e/hostile_work.rs"]
mod hostile_work;
#[path = "e2e/import.rs"]
mod import;
#[path = "e2e/large_output.rs"]
mod large_output;
#[path = "e2e/ldap.rs"]
mod ldap;
#[path = "e2e/lmtp.rs"]
mod lmtp;
#[path = "e2e/lost_answers.rs"]
mod lost_answers;
#[path = "e2e/mailboxes.rs"]
mod mailboxes;
#[path = "e2e/messages.rs"]
mod messages;
#[path = "e2e/metadata.rs"]
mod metadata;
#[path = "e2e/notify.rs"]
mod notify;
#[path = "e2e/oauth.rs"]
mod oauth;
#[path = "e2e/observability.rs"]
mod observability;
#[path = "e2e/paused_owner.rs"]
mod paused_owner;
#[path = "e2e/postfix.rs"]
mod postfix;
#[path = "e2e/qresync.rs"]
mod qresync;
#[path = "e2e/quota.rs"]
mod quota;
#[path = "e2e/rename_race.rs"]
mod rename_race;
#[path = "e2e/savedate.rs"]
mod savedate;
#[path = "e2e/scram.rs"]
mod scram;
#[path = "e2e/sessions.rs"]
mod sessions;
#[path = "e2e/shutdown.rs"]
mod shutdown;
#[path = "e2e/single_writer.rs"]
mod single_writer;
#[path = "e2e/sort_thread.rs"]
mod sort_thread;
#[path = "e2e/states.rs"]
mod states;
#[path = "e2e/unauthenticated.rs"]
mod unauthenticated;
