//! A throwaway Roost for `check --spawn-roost`: its own data directory, users created with
//! `roost user add`, plain TCP on a free loopback port, stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

pub struct SpawnedRoost {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl SpawnedRoost {
    /// Starts `binary` with `users` users named `user{i}` whose password is `password(i)`.
    ///
    /// # Errors
    /// When the binary cannot be run or does not listen within 30 s.
    pub fn start(
        binary: &Path,
        users: usize,
        password: impl Fn(usize) -> String,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = dir.path().join("roost.toml");
        std::fs::write(
            &config,
            format!(
                "node_id = \"check\"\ndata_dir = \"{}\"\n\n[[listeners]]\naddress = \"127.0.0.1:{port}\"\n\
                 tls = \"none\"\n\n[auth]\ncreate_demo_user = false\nallow_plaintext = true\n\n\
                 [limits]\nmax_connections_per_ip = 10000\nmax_unauthenticated_per_ip = 10000\n\n[log]\nfilter = \"warn\"\n\n\
                 [http]\nlisten = \"127.0.0.1:0\"\n",
                dir.path().join("data").display()
            ),
        )?;
        for i in 1..=users {
            add_user(binary, &config, &format!("user{i}"), &password(i))?;
        }
        let child = Command::new(binary)
            .args(["serve", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "roost does not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(SpawnedRoost {
            child,
            addr,
            _dir: dir,
        })
    }
}

/// `roost user add USER --password-stdin` with `config`'s users file.
///
/// # Errors
/// When the command cannot run or fails.
pub fn add_user(binary: &Path, config: &Path, user: &str, password: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut child = Command::new(binary)
        .args(["user", "--config"])
        .arg(config)
        .args(["add", user, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(format!("{password}\n").as_bytes())?;
    anyhow::ensure!(child.wait()?.success(), "roost user add {user} failed");
    Ok(())
}

impl Drop for SpawnedRoost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
