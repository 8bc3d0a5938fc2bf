//! Fault injection for tests of lost answers (issue 19 finding 5), compiled into debug builds
//! only: with `ROOST_TEST_LOSE_ANSWER=<request>:<how>` in its environment, the owner carries
//! out the first node-link request named `<request>` (`mailbox.append`, `mailbox.copy`,
//! `account.rename`, `account.create`, ...: account-wide commands by their `AccountOp` name)
//! and then loses the answer: `close` closes the link instead of answering, `exit` ends the
//! process at once (as a crash right after the commit would). Release builds ignore it.

/// What to do instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Release builds never make one (the hook is off there).
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub(crate) enum LoseAnswer {
    Close,
    Exit,
}

/// Whether the answer to this request (by name) is to be lost; true for the first match only.
#[cfg(debug_assertions)]
pub(crate) fn lose_answer(request: &str) -> Option<LoseAnswer> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static USED: AtomicBool = AtomicBool::new(false);
    let setting = std::env::var("ROOST_TEST_LOSE_ANSWER").ok()?;
    let (name, how) = setting.split_once(':')?;
    let how = match how {
        "close" => LoseAnswer::Close,
        "exit" => LoseAnswer::Exit,
        _ => return None,
    };
    (name == request && !USED.swap(true, Ordering::SeqCst)).then_some(how)
}

#[cfg(not(debug_assertions))]
pub(crate) fn lose_answer(_request: &str) -> Option<LoseAnswer> {
    None
}
