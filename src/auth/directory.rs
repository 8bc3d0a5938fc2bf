//! Where users and passwords come from (`auth.directory`): the users file or an LDAP server.
//!
//! The [`Authenticator`](super::Authenticator) puts the throttle and the login cache in
//! front of either, so both are protected and counted alike.

use std::sync::Arc;

use crate::auth::ldap::{LdapDirectory, LdapSettings};
use crate::auth::userdb::UserDb;
use crate::config::{Config, DirectoryKind};

/// The configured source of users.
#[derive(Debug)]
pub enum Directory {
    /// The users file: argon2id hashes, checked here.
    UsersFile(Arc<UserDb>),
    /// An LDAP server: passwords checked by binding.
    Ldap(Arc<LdapDirectory>),
}

impl Directory {
    /// The directory `config` chooses. Nothing connects yet: the LDAP pool opens connections
    /// on first use.
    ///
    /// # Errors
    /// The `[auth.ldap]` settings or the files they name are not usable (the text names the
    /// setting).
    pub fn from_config(config: &Config) -> Result<Directory, String> {
        Ok(match config.auth.directory {
            DirectoryKind::File => Directory::UsersFile(Arc::new(UserDb::new(config.users_file()))),
            DirectoryKind::Ldap => Directory::Ldap(Arc::new(LdapDirectory::new(
                LdapSettings::load(&config.auth.ldap)?,
            ))),
        })
    }
}
