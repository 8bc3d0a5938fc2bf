//! Issue 16, first start: a start that cannot work stops at once, and its one error line names
//! the path or the setting (with its flag) that fixes it.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::*;

/// Runs `roost serve` on the base configuration changed by `adjust` (no users file is
/// written), expects it to fail, and returns its stderr.
fn failed_start(adjust: impl FnOnce(&mut toml::Table)) -> String {
    refused("serve", adjust)
}

/// Runs `roost SUBCOMMAND --config` on the base configuration changed by `adjust`, expects
/// it to fail, and returns its stderr.
fn refused(subcommand: &str, adjust: impl FnOnce(&mut toml::Table)) -> String {
    let (success, stderr, _dir) = run(&[subcommand], adjust);
    assert!(!success, "{stderr}");
    stderr
}

/// Runs `roost SUBCOMMAND [FLAGS] --config` on the base configuration (data in `data/`)
/// changed by `adjust`, and returns whether it succeeded, its stderr, and its directory. It
/// must end by itself: `serve` only when it refuses to start.
fn run(
    command: &[&str],
    adjust: impl FnOnce(&mut toml::Table),
) -> (bool, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(&dir.path().join("data"));
    adjust(&mut config);
    let path = dir.path().join("roost.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let (subcommand, flags) = command.split_first().expect("a subcommand");
    let mut child = roost_command(subcommand)
        .args(flags)
        .arg("--config")
        .arg(&path)
        .spawn()
        .unwrap();
    // Generous: the answer is immediate, but the machine may be loaded.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("roost {subcommand} kept running; it should have ended by itself");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.success(), stderr, dir)
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

/// `check-config` refuses what `serve` refuses, before anything is bound, with the same line.
/// Each case: the configuration change, and what its error must name.
#[test]
fn check_config_and_serve_refuse_the_same_configurations_naming_the_setting() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let same = format!("127.0.0.1:{port}");
    let file = tempfile::NamedTempFile::new().unwrap();
    let file_path = file.path().display().to_string();
    type Adjust = Box<dyn Fn(&mut toml::Table)>;
    let cases: Vec<(&str, Adjust, Vec<String>)> = vec![
        (
            "missing TLS files",
            Box::new(|c| {
                let files = toml::toml! { cert = "/nonexistent/roost/cert.pem"
                key = "/nonexistent/roost/key.pem" };
                table(c, "tls").insert("files".into(), files.into());
            }),
            vec!["/nonexistent/roost/cert.pem".into()],
        ),
        (
            "two listeners on one address",
            Box::new({
                let same = same.clone();
                move |c| {
                    for l in c["listeners"].as_array_mut().unwrap() {
                        l["address"] = same.clone().into();
                    }
                }
            }),
            vec![
                same.clone(),
                "configured twice".into(),
                "[[listeners]]".into(),
            ],
        ),
        (
            "the HTTP endpoint on a listener's address",
            Box::new({
                let same = same.clone();
                move |c| {
                    c["listeners"].as_array_mut().unwrap()[0]["address"] = same.clone().into();
                    table(c, "http").insert("listen".into(), same.clone().into());
                }
            }),
            vec![same.clone(), "`http.listen`".into()],
        ),
        (
            "a bad log filter",
            Box::new(|c| {
                table(c, "log").insert("filter".into(), "roost=loud".into());
            }),
            vec!["log.filter".into(), "roost=loud".into()],
        ),
        (
            "a data dir that is a file",
            Box::new({
                let file_path = file_path.clone();
                move |c| {
                    c.insert("data_dir".into(), file_path.clone().into());
                }
            }),
            vec![file_path.clone(), "`data_dir`".into()],
        ),
        (
            "OAuth without an issuer",
            Box::new(|c| {
                let oauth = toml::toml! { enabled = true
                audiences = ["mail"]
                jwks_url = "https://idp.example/keys" };
                table(c, "auth").insert("oauth".into(), oauth.into());
            }),
            vec!["auth.oauth.issuer".into()],
        ),
        (
            "an OAuth CA file that is missing",
            Box::new(|c| {
                let oauth = toml::toml! { enabled = true
                issuer = "https://idp.example"
                audiences = ["mail"]
                jwks_url = "https://idp.example/keys"
                jwks_ca_file = "/nonexistent/roost/idp-ca.pem" };
                table(c, "auth").insert("oauth".into(), oauth.into());
            }),
            vec![
                "auth.oauth.jwks_ca_file".into(),
                "/nonexistent/roost/idp-ca.pem".into(),
            ],
        ),
    ];
    for (case, adjust, names) in cases {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for subcommand in ["check-config", "serve"] {
            let stderr = refused(subcommand, &adjust);
            assert!(
                !stderr.contains("listening"),
                "{case}, {subcommand}: {stderr}"
            );
            let marker = names[0];
            assert_one_line_names(&stderr, marker, &names);
        }
    }
}

#[test]
fn check_config_accepts_the_base_configuration_and_creates_nothing() {
    let (success, stderr, dir) = run(&["check-config"], |_| {});
    assert!(success, "{stderr}");
    assert!(stderr.contains("configuration is valid"), "{stderr}");
    assert!(!dir.path().join("data").exists());
}

/// `--settings-only` is for a configuration meant for another machine: the files it names
/// are not looked for, the settings still are checked.
#[test]
fn check_config_settings_only_leaves_out_the_files_it_names() {
    let missing_tls = |c: &mut toml::Table| {
        let files = toml::toml! { cert = "/nonexistent/roost/cert.pem"
        key = "/nonexistent/roost/key.pem" };
        table(c, "tls").insert("files".into(), files.into());
    };
    let (success, stderr, _dir) = run(&["check-config", "--settings-only"], missing_tls);
    assert!(success, "{stderr}");
    let (success, stderr, _dir) = run(&["check-config", "--settings-only"], |c| {
        missing_tls(c);
        table(c, "log").insert("filter".into(), "roost=loud".into());
    });
    assert!(!success && stderr.contains("log.filter"), "{stderr}");
}
