//! The connection states of RFC 9051 section 3 and what each one holds.
//!
//! ```text
//!            +----------------------+
//!            |connection established|
//!            +----------------------+
//!                       ||
//!                       \/
//!     +--------------------------------------+
//!     |          server greeting             |
//!     +--------------------------------------+
//!               || (1)       || (2)        || (3)
//!               \/           ||            ||
//!     +-----------------+    ||            ||
//!     |Not Authenticated|    ||            ||
//!     +-----------------+    ||            ||
//!      || (7)   || (4)       ||            ||
//!      ||       \/           \/            ||
//!      ||     +----------------+           ||
//!      ||     | Authenticated  |<=++       ||
//!      ||     +----------------+  ||       ||
//!      ||       || (7)   || (5)   || (6)   ||
//!      ||       ||       \/       ||       ||
//!      ||       ||    +--------+  ||       ||
//!      ||       ||    |Selected|==++       ||
//!      ||       ||    +--------+           ||
//!      ||       ||       || (7)            ||
//!      \/       \/       \/                \/
//!     +--------------------------------------+
//!     |               Logout                 |
//!     +--------------------------------------+
//!                       ||
//!                       \/
//!         +-------------------------------+
//!         |both sides close the connection|
//!         +-------------------------------+
//!
//! (1) connection without pre-authentication (OK greeting)
//! (2) pre-authenticated connection (PREAUTH greeting)
//! (3) rejected connection (BYE greeting)
//! (4) successful LOGIN or AUTHENTICATE command
//! (5) successful SELECT or EXAMINE command
//! (6) CLOSE or UNSELECT command, unsolicited CLOSED response code, or
//!     failed SELECT or EXAMINE command
//! (7) LOGOUT command, server shutdown, or connection closing
//! ```
//!
//! Each variant carries only what exists in that state, and a transition consumes the old
//! state, so a Selected mailbox cannot outlive the selection.

use crate::auth::LoginVerified;

/// The account a session is logged in to.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
}

impl Account {
    /// Opening an account takes proof that the login was verified (or that the listener is
    /// trusted to pre-authenticate), which only `auth` can create.
    pub fn open(proof: LoginVerified) -> Account {
        Account {
            user: proof.user().to_owned(),
        }
    }
}

/// The mailbox a Selected session works on. The mailbox actor behind it arrives with the
/// mail store; the session already routes every transition through it.
#[derive(Debug, Clone)]
#[allow(dead_code)] // SELECT arrives with the mail store (transition 5)
pub struct SelectedMailbox {
    pub name: String,
    pub read_only: bool,
}

#[derive(Debug)]
#[allow(dead_code)] // `Selected` is entered by SELECT, which arrives with the mail store
pub enum State {
    NotAuthenticated {
        auth_failures: u32,
    },
    Authenticated {
        account: Account,
    },
    Selected {
        account: Account,
        mailbox: SelectedMailbox,
    },
    Logout,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::NotAuthenticated { .. } => "not authenticated",
            State::Authenticated { .. } => "authenticated",
            State::Selected { .. } => "selected",
            State::Logout => "logout",
        }
    }

    pub fn account(&self) -> Option<&Account> {
        match self {
            State::Authenticated { account } | State::Selected { account, .. } => Some(account),
            State::NotAuthenticated { .. } | State::Logout => None,
        }
    }

    /// Transition (4): a verified login.
    pub fn authenticate(self, proof: LoginVerified) -> State {
        State::Authenticated {
            account: Account::open(proof),
        }
    }

    /// Transition (6): CLOSE, UNSELECT, a failed SELECT, or an unsolicited `[CLOSED]`
    /// (the mailbox moved to another owner). Any other state is returned unchanged.
    #[allow(dead_code)] // CLOSE, UNSELECT and [CLOSED] arrive with the mail store
    pub fn deselect(self) -> State {
        match self {
            State::Selected { account, .. } => State::Authenticated { account },
            other => other,
        }
    }

    /// Transition (7).
    pub fn logout(self) -> State {
        State::Logout
    }
}
