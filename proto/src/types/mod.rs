//! The typed values of the protocol: commands a client sends and responses a server writes.

pub mod body;
pub mod command;
pub mod core;
pub mod fetch;
pub mod metadata;
pub mod notify;
pub mod response;
pub mod search;
pub mod sort;

pub use self::body::*;
pub use self::command::*;
pub use self::core::*;
pub use self::fetch::*;
pub use self::metadata::*;
pub use self::notify::*;
pub use self::response::*;
pub use self::search::*;
pub use self::sort::*;
