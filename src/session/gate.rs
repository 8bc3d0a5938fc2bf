//! The one place that decides whether a command may run in the session's current state
//! (RFC 9051 section 6: "valid in" for each command). A refused command gets `BAD` with the
//! reason and the state does not change.

use roost_proto::CommandBody;

use super::state::State;

/// Which states a command is valid in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValidIn {
    Any,
    NotAuthenticated,
    /// Authenticated or Selected.
    LoggedIn,
    Selected,
}

fn valid_in(body: &CommandBody) -> ValidIn {
    use CommandBody as C;
    match body {
        C::Capability | C::Noop | C::Logout | C::Id { .. } => ValidIn::Any,
        C::StartTls | C::Authenticate { .. } | C::Login { .. } => ValidIn::NotAuthenticated,
        C::Enable { .. }
        | C::Select { .. }
        | C::Examine { .. }
        | C::Create { .. }
        | C::Delete { .. }
        | C::Rename { .. }
        | C::Subscribe { .. }
        | C::Unsubscribe { .. }
        | C::List(_)
        | C::Lsub { .. }
        | C::Namespace
        | C::Status { .. }
        | C::Append { .. }
        | C::Idle
        | C::Compress { .. }
        | C::GetQuota { .. }
        | C::GetQuotaRoot { .. }
        | C::SetQuota { .. } => ValidIn::LoggedIn,
        C::Check
        | C::Close
        | C::Unselect
        | C::Expunge
        | C::UidExpunge { .. }
        | C::Search(_)
        | C::Fetch { .. }
        | C::Store { .. }
        | C::Copy { .. }
        | C::Move { .. } => ValidIn::Selected,
    }
}

/// `Err(reason)` when `body` may not run in `state`.
pub fn check(state: &State, body: &CommandBody) -> Result<(), String> {
    let name = body.name();
    let allowed = match (valid_in(body), state) {
        (_, State::Logout) => false,
        (ValidIn::Any, _) => true,
        (ValidIn::NotAuthenticated, State::NotAuthenticated { .. }) => true,
        (ValidIn::LoggedIn, State::Authenticated { .. } | State::Selected { .. }) => true,
        (ValidIn::Selected, State::Selected { .. }) => true,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(match (valid_in(body), state) {
        (ValidIn::NotAuthenticated, _) => {
            format!("{name} is not valid after login: already authenticated")
        }
        (ValidIn::LoggedIn | ValidIn::Selected, State::NotAuthenticated { .. }) => {
            format!("{name} is not valid before login: log in first")
        }
        (ValidIn::Selected, _) => {
            format!("{name} needs a selected mailbox: SELECT or EXAMINE one first")
        }
        _ => format!("{name} is not valid in the {} state", state.name()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::state::{Account, SelectedMailbox};

    fn authenticated() -> State {
        State::Authenticated {
            account: Account { user: "a".into() },
        }
    }

    #[test]
    fn any_state_commands_are_allowed_everywhere_but_logout() {
        for s in [
            State::NotAuthenticated { auth_failures: 0 },
            authenticated(),
        ] {
            assert!(check(&s, &CommandBody::Noop).is_ok());
        }
        assert!(check(&State::Logout, &CommandBody::Noop).is_err());
    }

    #[test]
    fn reasons_say_what_to_do() {
        let pre = State::NotAuthenticated { auth_failures: 0 };
        assert!(check(&pre, &CommandBody::Namespace)
            .unwrap_err()
            .contains("log in first"));
        assert!(check(&authenticated(), &CommandBody::StartTls)
            .unwrap_err()
            .contains("already authenticated"));
        assert!(check(&authenticated(), &CommandBody::Expunge)
            .unwrap_err()
            .contains("SELECT"));
        let selected = State::Selected {
            account: Account { user: "a".into() },
            mailbox: SelectedMailbox {
                name: "INBOX".into(),
                read_only: false,
            },
        };
        assert!(check(&selected, &CommandBody::Expunge).is_ok());
        assert!(check(&selected, &CommandBody::Idle).is_ok());
    }
}
