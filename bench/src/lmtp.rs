//! `roost-bench lmtp`: LMTP delivery throughput, as an MTA makes it. Each client keeps one
//! connection (as Postfix's connection cache does), says LHLO once, then delivers one
//! message after another (MAIL, RCPT, DATA) to a random user until the time is up. A
//! delivery counts when its recipient's reply is `250`; anything else is an error.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::client::ImapError;
use crate::sample::{self, Rng, Size};
use crate::stats::{Recorder, Report};
use crate::workload::Target;

pub struct LmtpConfig {
    pub target: Target,
    pub clients: usize,
    pub users: usize,
    pub duration: Duration,
    pub domain: String,
}

pub async fn run(cfg: LmtpConfig) -> anyhow::Result<Report> {
    let mut report = Report::new("lmtp", "");
    report.set("clients", cfg.clients);
    report.set("users", cfg.users);
    let started = Instant::now();
    let deadline = started + cfg.duration;
    let mut tasks = Vec::new();
    for c in 0..cfg.clients {
        let (target, users, domain) = (cfg.target.clone(), cfg.users, cfg.domain.clone());
        tasks.push(tokio::spawn(async move {
            client(c as u64, &target, users, &domain, deadline).await
        }));
    }
    let mut rec = Recorder::default();
    for t in tasks {
        rec.merge(&t.await?);
    }
    Ok(report.with_recorder(&rec, started.elapsed()))
}

async fn client(
    seed: u64,
    target: &Target,
    users: usize,
    domain: &str,
    deadline: Instant,
) -> Recorder {
    let mut rec = Recorder::default();
    let mut rng = Rng::new(seed + 1);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let mut conn = match Conn::open(target).await {
            Ok(c) => c,
            Err(e) => {
                rec.error("DELIVER", &e);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while Instant::now() < deadline {
            let user = target
                .user_pattern
                .replace("{i}", &(1 + rng.below(users as u64)).to_string());
            let message = sample::message(seed, n, Size::Small);
            n += 1;
            let t0 = Instant::now();
            let delivered = conn.deliver(&format!("{user}@{domain}"), &message).await;
            rec.outcome("DELIVER", t0, &delivered);
            if delivered.is_err() {
                break; // a fresh connection, as an MTA would open
            }
        }
        let _ = conn.write("QUIT\r\n").await;
    }
    rec
}

struct Conn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    timeout: Duration,
}

fn io(e: impl std::fmt::Display) -> ImapError {
    ImapError::Io(e.to_string())
}

impl Conn {
    async fn open(target: &Target) -> Result<Conn, ImapError> {
        let stream = TcpStream::connect(&target.addr).await.map_err(io)?;
        let (r, w) = stream.into_split();
        let mut conn = Conn {
            reader: BufReader::new(r),
            writer: w,
            timeout: target.timeout,
        };
        conn.reply(220).await?;
        conn.write("LHLO bench.example\r\n").await?;
        conn.reply(250).await?;
        Ok(conn)
    }

    async fn write(&mut self, text: &str) -> Result<(), ImapError> {
        self.writer.write_all(text.as_bytes()).await.map_err(io)
    }

    /// Reads one reply (all its lines) and checks its code.
    async fn reply(&mut self, want: u16) -> Result<(), ImapError> {
        let mut line = String::new();
        loop {
            line.clear();
            let read = tokio::time::timeout(self.timeout, self.reader.read_line(&mut line)).await;
            match read {
                Err(_) => return Err(ImapError::Timeout),
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(0)) => return Err(io("connection closed")),
                Ok(Ok(_)) => {}
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if code == want {
            Ok(())
        } else {
            Err(ImapError::No(line.trim_end().to_owned()))
        }
    }

    /// One transaction, pipelined as PIPELINING allows: MAIL, RCPT and DATA at once.
    async fn deliver(&mut self, rcpt: &str, message: &[u8]) -> Result<(), ImapError> {
        self.write(&format!(
            "MAIL FROM:<bench@bench.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n"
        ))
        .await?;
        self.reply(250).await?;
        self.reply(250).await?;
        self.reply(354).await?;
        let mut data = Vec::with_capacity(message.len() + 16);
        let mut at_line_start = true;
        for &b in message {
            if at_line_start && b == b'.' {
                data.push(b'.');
            }
            data.push(b);
            at_line_start = b == b'\n';
        }
        if !data.ends_with(b"\r\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        self.writer.write_all(&data).await.map_err(io)?;
        self.reply(250).await
    }
}
