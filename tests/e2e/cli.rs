//! Issue 16, the command line: global flags after the subcommand, and `roost user` saying
//! which users file it changed.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::support::*;

/// Runs `roost ARGS` in `cwd` with no `ROOST_*` settings from the test's environment, the
/// password on stdin.
fn roost_in(cwd: &std::path::Path, args: &[&str]) -> Output {
    let mut child = Command::new(roost_bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("ROOST_CONFIG")
        .env_remove("ROOST_DATA_DIR")
        .env_remove("ROOST_USERS_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = writeln!(child.stdin.take().unwrap(), "{PASSWORD}");
    child.wait_with_output().unwrap()
}

#[test]
fn user_add_takes_data_dir_after_the_subcommand_and_prints_the_absolute_path() {
    let cwd = tempfile::tempdir().unwrap();
    let out = roost_in(
        cwd.path(),
        &["user", "add", "bob", "--password-stdin", "--data-dir", "d"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let users = cwd.path().canonicalize().unwrap().join("d/users");
    assert!(
        stderr.contains(&format!("created the users file {}", users.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");

    let out = roost_in(cwd.path(), &["user", "list", "--data-dir", "d"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bob\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&users.display().to_string()), "{stderr}");
}

#[test]
fn user_add_warns_when_no_configuration_names_the_users_file_it_creates() {
    let cwd = tempfile::tempdir().unwrap();
    let out = roost_in(cwd.path(), &["user", "add", "bob", "--password-stdin"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let users = cwd.path().canonicalize().unwrap().join("roost-data/users");
    assert!(stderr.contains(&users.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("warning: no configuration names this users file"),
        "{stderr}"
    );
    // The second user goes into a file that exists: nothing to warn about.
    let out = roost_in(cwd.path(), &["user", "add", "carol", "--password-stdin"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}
