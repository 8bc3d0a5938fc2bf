//! Where a message being received waits: an unnamed temporary file under
//! `<data_dir>/tmp/lmtp`, so a slow or hostile client costs disk, not memory. The file has no
//! name (`O_TMPFILE`, or unlinked at once where the filesystem lacks it) and disappears when
//! the transaction ends, however it ends.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

pub struct Spool {
    file: BufWriter<File>,
    len: u64,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl Spool {
    /// A new empty spool file in `dir` (created 0700 if needed).
    pub async fn create(dir: &Path) -> std::io::Result<Spool> {
        tokio::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .await?;
        let file = match anonymous(dir).await {
            Ok(file) => file,
            // No O_TMPFILE here (e.g. NFS): a named file, unlinked at once.
            Err(_) => {
                let path = named(dir);
                let file = tokio::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .await?;
                tokio::fs::remove_file(&path).await?;
                file
            }
        };
        Ok(Spool {
            file: BufWriter::with_capacity(64 * 1024, file),
            len: 0,
        })
    }

    pub async fn write(&mut self, piece: &[u8]) -> std::io::Result<()> {
        self.file.write_all(piece).await?;
        self.len += piece.len() as u64;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// The whole message, read back for delivery.
    pub async fn into_bytes(mut self) -> std::io::Result<Bytes> {
        self.file.flush().await?;
        let mut file = self.file.into_inner();
        file.seek(SeekFrom::Start(0)).await?;
        let mut data = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        file.read_to_end(&mut data).await?;
        Ok(Bytes::from(data))
    }
}

async fn anonymous(dir: &Path) -> std::io::Result<File> {
    tokio::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
        .await
}

fn named(dir: &Path) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("lmtp.{}.{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spooled_message_reads_back_whole_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let spool_dir = dir.path().join("tmp/lmtp");
        let mut spool = Spool::create(&spool_dir).await.unwrap();
        for i in 0..1000u32 {
            spool
                .write(format!("line {i}\r\n").as_bytes())
                .await
                .unwrap();
        }
        let len = spool.len();
        let data = spool.into_bytes().await.unwrap();
        assert_eq!(data.len() as u64, len);
        assert!(data.starts_with(b"line 0\r\n") && data.ends_with(b"line 999\r\n"));
        assert_eq!(std::fs::read_dir(&spool_dir).unwrap().count(), 0);
    }
}
