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

use super::view::View;
use crate::auth::LoginVerified;
use crate::mailbox::MailboxHandle;

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

/// The mailbox a Selected session works on: the handle of its Mailbox actor, the
/// attachment that brings this session its changes, and the session's own view of it.
pub struct SelectedMailbox {
    pub handle: MailboxHandle,
    pub attachment: u64,
    /// EXAMINE, or SELECT of a mailbox this session may not change.
    pub read_only: bool,
    /// Keywords of the mailbox's table the client was told of in `* FLAGS` (the table only
    /// grows, so a longer one has news).
    pub announced_keywords: usize,
    pub view: View,
    /// Searches with `RETURN (UPDATE)` on this mailbox (RFC 5267).
    pub contexts: super::context::Contexts,
}

impl std::fmt::Debug for SelectedMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectedMailbox")
            .field("mailbox", &self.handle.info().name)
            .field("read_only", &self.read_only)
            .field("exists", &self.view.exists())
            .finish()
    }
}

#[derive(Debug)]
pub enum State {
    NotAuthenticated {
        auth_failures: u32,
    },
    Authenticated {
        account: Account,
    },
    Selected {
        account: Account,
        /// Boxed: the view is large and the other states are small.
        mailbox: Box<SelectedMailbox>,
    },
    Logout,
}

/// The state without its data, for decisions that depend only on which state it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    NotAuthenticated,
    Authenticated,
    Selected,
    Logout,
}

impl StateKind {
    pub fn name(self) -> &'static str {
        match self {
            StateKind::NotAuthenticated => "not authenticated",
            StateKind::Authenticated => "authenticated",
            StateKind::Selected => "selected",
            StateKind::Logout => "logout",
        }
    }
}

impl State {
    pub fn kind(&self) -> StateKind {
        match self {
            State::NotAuthenticated { .. } => StateKind::NotAuthenticated,
            State::Authenticated { .. } => StateKind::Authenticated,
            State::Selected { .. } => StateKind::Selected,
            State::Logout => StateKind::Logout,
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
    /// Detaches from the mailbox actor, so it stops sending this session changes.
    pub fn deselect(self) -> State {
        match self {
            State::Selected { account, mailbox } => {
                mailbox.handle.detach(mailbox.attachment);
                State::Authenticated { account }
            }
            other => other,
        }
    }

    /// Transition (5): SELECT or EXAMINE succeeded. A previous selection is closed first.
    pub fn select(self, mailbox: SelectedMailbox) -> State {
        match self.deselect() {
            State::Authenticated { account } => State::Selected {
                account,
                mailbox: Box::new(mailbox),
            },
            other => {
                mailbox.handle.detach(mailbox.attachment);
                other
            }
        }
    }

    pub fn selected(&self) -> Option<&SelectedMailbox> {
        match self {
            State::Selected { mailbox, .. } => Some(mailbox),
            _ => None,
        }
    }

    pub fn selected_mut(&mut self) -> Option<&mut SelectedMailbox> {
        match self {
            State::Selected { mailbox, .. } => Some(mailbox),
            _ => None,
        }
    }

    /// Transition (7).
    pub fn logout(self) -> State {
        let _ = self.deselect();
        State::Logout
    }
}
