//! roost: a clustered IMAP4rev2 mail access server.

#[allow(dead_code)]
mod auth;
mod net;

fn main() {
    println!("roost {}", env!("CARGO_PKG_VERSION"));
}
