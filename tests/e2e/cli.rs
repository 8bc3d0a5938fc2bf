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

/// `ROOST_<TABLE>__<KEY>` sets any setting in a real process: it wins over the file, a flag
/// wins over it, and a malformed one stops the start naming the variable.
#[test]
fn any_setting_comes_from_its_variable_and_flags_still_win() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (config, _) = write_config(dir.path(), &data, |c| {
        table(c, "limits").insert("max_line".into(), 4096.into());
    });
    let check = |vars: &[(&str, &str)], flags: &[&str]| {
        let mut command = roost_command("check-config");
        command.arg("--config").arg(&config).args(flags);
        command.stdout(Stdio::piped());
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let out = check(
        &[
            ("ROOST_LIMITS__MAX_LINE", "2048"),
            ("ROOST_HTTP__LISTEN", "127.0.0.1:4001"),
        ],
        &["--http-listen", "127.0.0.1:4002"],
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("max_line = 2048"), "{shown}");
    assert!(shown.contains("listen = \"127.0.0.1:4002\""), "{shown}");

    let out = check(&[("ROOST_LIMITS__MAX_LINE", "lots")], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ROOST_LIMITS__MAX_LINE"), "{stderr}");
}
