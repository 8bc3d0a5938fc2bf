//! Issue 16, first start: a start that cannot work stops at once, and its one error line names
//! the path or the setting (with its flag) that fixes it.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::*;

/// Runs `roost serve` on the base configuration changed by `adjust` (no users file is
/// written), expects it to fail, and returns its stderr.
fn failed_start(adjust: impl FnOnce(&mut toml::Table)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(&dir.path().join("data"));
    adjust(&mut config);
    let path = dir.path().join("roost.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let mut child = serve_command().arg("--config").arg(&path).spawn().unwrap();
    // Generous: the failure is immediate, but the machine may be loaded.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("roost serve kept running; it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    stderr
}

/// Asserts that exactly one line of `stderr` carries `marker` (a fatal error is printed
/// once) and that it names everything in `names`.
fn assert_one_line_names(stderr: &str, marker: &str, names: &[&str]) {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(marker)).collect();
    assert_eq!(
        lines.len(),
        1,
        "one line with {marker:?} expected:\n{stderr}"
    );
    for name in names {
        assert!(lines[0].contains(name), "{name:?} missing: {}", lines[0]);
    }
}

#[test]
fn a_taken_http_port_names_the_settings_that_move_or_disable_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let stderr = failed_start(|c| {
        table(c, "http").insert("listen".into(), address.clone().into());
    });
    assert_one_line_names(
        &stderr,
        "cannot listen",
        &[
            address.as_str(),
            "HTTP endpoint",
            "`http.listen`",
            "--http-listen",
            "`http.enabled = false`",
        ],
    );
}

#[test]
fn a_taken_imap_port_names_its_listener_setting_and_flag() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let stderr = failed_start(|c| {
        let listeners = c["listeners"].as_array_mut().unwrap();
        listeners[1]["address"] = address.clone().into();
    });
    assert_one_line_names(
        &stderr,
        "cannot listen",
        &[address.as_str(), "IMAPS", "[[listeners]]", "--imaps-listen"],
    );
}

#[test]
fn a_data_dir_that_is_a_file_fails_at_start_naming_the_path() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let shown = file.path().display().to_string();
    let stderr = failed_start(|c| {
        c.insert("data_dir".into(), shown.clone().into());
    });
    assert_one_line_names(
        &stderr,
        "data directory",
        &[
            shown.as_str(),
            "`data_dir`",
            "--data-dir",
            "not a directory",
        ],
    );
}

/// `/proc` exists and is a directory, but no process, not even root's, can create a file in
/// it: the test works whoever runs it.
#[test]
fn a_data_dir_that_cannot_be_written_fails_at_start_naming_the_path() {
    let stderr = failed_start(|c| {
        c.insert("data_dir".into(), "/proc".into());
    });
    assert_one_line_names(
        &stderr,
        "data directory",
        &["/proc", "`data_dir`", "cannot write"],
    );
    assert!(!stderr.contains("roost is ready"), "{stderr}");
}
