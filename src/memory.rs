//! Returning memory that large commands freed to the system.
//!
//! A FETCH, STORE or SEARCH over 100,000 messages allocates and frees many small blocks
//! (entries, log records, responses); glibc keeps freed small blocks in its heap, so without
//! help a node's resident size would stay at its high-water mark. After such a command the
//! session asks for a trim (and so does a compressed connection that frees its deflater), which a thread of its own performs (`malloc_trim` walks the heap;
//! it never runs on a worker thread), at most twice a second.

use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

/// Commands over at least this many messages ask for a trim afterwards.
pub const LARGE: usize = 4096;

static REQUESTS: OnceLock<mpsc::SyncSender<()>> = OnceLock::new();

/// Starts the thread that trims on request (once per process; later calls do nothing).
pub fn start_releaser() {
    REQUESTS.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let spawned = std::thread::Builder::new()
            .name("memory-release".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Requests that arrive while it rests get one more trim after the rest.
                    loop {
                        trim();
                        std::thread::sleep(Duration::from_millis(500));
                        if rx.try_recv().is_err() {
                            break;
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the memory-release thread");
        }
        tx
    });
}

/// Called after a command that touched `messages` messages.
pub fn after_command(messages: usize) {
    if messages >= LARGE {
        request_trim();
    }
}

/// Asks for a trim now: something large was freed in the middle of the heap (a quiet
/// compressed connection's deflater, `net/deflate.rs`), where glibc would keep its pages.
pub fn request_trim() {
    if let Some(tx) = REQUESTS.get() {
        let _ = tx.try_send(()); // one pending request is enough
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
