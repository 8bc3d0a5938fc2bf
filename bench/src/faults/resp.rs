//! Just enough of the Redis protocol to read one key (who owns an account): `GET key`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET key`: `Ok(None)` for a missing key.
///
/// # Errors
/// Connection failures, a second without an answer, or an answer that is not a bulk string.
pub async fn get(addr: &str, key: &str) -> anyhow::Result<Option<String>> {
    let ask = async {
        let mut s = TcpStream::connect(addr).await?;
        let cmd = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
        s.write_all(cmd.as_bytes()).await?;
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 512];
            let n = s.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "redis closed the connection");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(v) = parse_bulk(&buf)? {
                return Ok(v);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(1), ask).await?
}

/// A complete bulk-string reply, `None` while more bytes are needed.
fn parse_bulk(buf: &[u8]) -> anyhow::Result<Option<Option<String>>> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end])?;
    let len: i64 = head
        .strip_prefix('$')
        .ok_or_else(|| anyhow::anyhow!("redis answered {head}"))?
        .parse()?;
    if len < 0 {
        return Ok(Some(None));
    }
    let body = &buf[end + 2..];
    if body.len() < len as usize {
        return Ok(None);
    }
    Ok(Some(Some(
        String::from_utf8_lossy(&body[..len as usize]).into_owned(),
    )))
}
