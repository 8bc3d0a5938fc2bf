//! The one place that decides whether a command may run in the session's current state
//! (RFC 9051 section 6: "valid in" for each command). A refused command gets `BAD` with the
//! reason and the state does not change.

use roost_proto::CommandBody;

use super::state::StateKind;

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
        | C::Notify(_)
        | C::Unauthenticate
        | C::Compress { .. }
        | C::GetQuota { .. }
        | C::GetQuotaRoot { .. }
        | C::SetQuota { .. }
        | C::GetMetadata { .. }
        | C::SetMetadata { .. } => ValidIn::LoggedIn,
        C::Check
        | C::Close
        | C::Unselect
        | C::CancelUpdate { .. }
        | C::Expunge
        | C::UidExpunge { .. }
        | C::Search(_)
        | C::Sort(_)
        | C::Thread(_)
        | C::Fetch { .. }
        | C::Store { .. }
        | C::Copy { .. }
        | C::Move { .. } => ValidIn::Selected,
    }
}

/// `Err(reason)` when `body` may not run in `state`.
pub fn check(state: StateKind, body: &CommandBody) -> Result<(), String> {
    let name = body.name();
    let allowed = match (valid_in(body), state) {
        (_, StateKind::Logout) => false,
        (ValidIn::Any, _) => true,
        (ValidIn::NotAuthenticated, StateKind::NotAuthenticated) => true,
        (ValidIn::LoggedIn, StateKind::Authenticated | StateKind::Selected) => true,
        (ValidIn::Selected, StateKind::Selected) => true,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(match (valid_in(body), state) {
        (ValidIn::NotAuthenticated, _) => {
            format!("{name} is not valid after login: already authenticated")
        }
        (ValidIn::LoggedIn | ValidIn::Selected, StateKind::NotAuthenticated) => {
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

    #[test]
    fn any_state_commands_are_allowed_everywhere_but_logout() {
        for s in [
            StateKind::NotAuthenticated,
            StateKind::Authenticated,
            StateKind::Selected,
        ] {
            assert!(check(s, &CommandBody::Noop).is_ok());
        }
        assert!(check(StateKind::Logout, &CommandBody::Noop).is_err());
    }

    #[test]
    fn reasons_say_what_to_do() {
        assert!(check(StateKind::NotAuthenticated, &CommandBody::Namespace)
            .unwrap_err()
            .contains("log in first"));
        assert!(check(StateKind::Authenticated, &CommandBody::StartTls)
            .unwrap_err()
            .contains("already authenticated"));
        assert!(check(StateKind::Authenticated, &CommandBody::Expunge)
            .unwrap_err()
            .contains("SELECT"));
        assert!(check(StateKind::Selected, &CommandBody::Expunge).is_ok());
        assert!(check(StateKind::Selected, &CommandBody::Idle).is_ok());
    }
}
