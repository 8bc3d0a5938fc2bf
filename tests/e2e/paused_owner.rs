//! Issue 19 finding 1: an owner paused (SIGSTOP) past its lease that resumes (SIGCONT) must
//! not touch the new owner's files. Before the fence was asked right before every change, the
//! resumed node went on with its mailbox (starting it again, sweeping "unreferenced" message
//! files) and deleted messages the new owner had acknowledged, some of them after the
//! SIGCONT. Here writers keep APPENDing through the other node across the pause, the resumed
//! node's own session writes at once, and afterwards every acknowledged message must be there
//! under its UID, byte for byte, read by a fresh session.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;

/// One APPEND; `Some((uid, message))` when it was acknowledged.
async fn append(c: &mut Client, tag: &str, message: String) -> Option<(u32, String)> {
    let lines = c
        .command(
            tag,
            &format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()),
        )
        .await;
    if !lines.last()?.starts_with(&format!("{tag} OK")) {
        return None;
    }
    let appenduid = code_value(&lines, "APPENDUID")?;
    let uid = appenduid.split_whitespace().nth(1)?.parse().ok()?;
    Some((uid, message))
}

/// APPENDs through the node at `addr` (messages `first..`) until `stop`, without selecting
/// anything (so a move closes nothing of this session); what was acknowledged.
async fn keep_appending(addr: SocketAddr, first: u32, stop: Arc<AtomicBool>) -> Vec<(u32, String)> {
    let mut c = Client::connect(addr).await;
    c.line().await;
    c.login().await;
    let mut acknowledged = Vec::new();
    for n in first.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Some(done) = append(&mut c, "w", sample_message(n)).await {
            acknowledged.push(done);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    acknowledged
}

#[tokio::test]
async fn a_paused_owner_that_resumes_loses_no_acknowledged_message() {
    let (_redis, _data, a, b) = crate::cluster::two_nodes();
    let mut old = Client::logged_in_rev2(&a).await;
    old.ok("SELECT INBOX").await; // node-a owns the account (IMAP4rev2: a move is [CLOSED], not BYE)
    let mut acknowledged = Vec::new();
    for n in 1..=5 {
        acknowledged.extend(append(&mut old, "p", sample_message(n)).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    // Two writers on each node: those on node-a are likely to be inside an APPEND (message
    // file written, log write queued) when it stops, and go on with it when it resumes.
    let writers: Vec<_> = [a.imap, a.imap, b.imap, b.imap]
        .into_iter()
        .zip(1u32..)
        .map(|(addr, i)| tokio::spawn(keep_appending(addr, i * 100_000, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.signal("STOP");
    tokio::time::sleep(Duration::from_millis(4500)).await; // past the 3 s lease
    a.signal("CONT");
    // The resumed node's session writes at once, before its node has noticed the takeover.
    for n in 100..103 {
        acknowledged.extend(append(&mut old, "r", sample_message(n)).await);
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        let done = writer.await.unwrap();
        eprintln!(
            "DEBUG uids {:?}",
            done.iter().map(|x| x.0).collect::<Vec<_>>()
        );
        assert!(done.len() > 5, "the writer did some work: {done:?}");
        acknowledged.extend(done);
    }
    let mut uids: Vec<u32> = acknowledged.iter().map(|(uid, _)| *uid).collect();
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), acknowledged.len(), "a UID acknowledged twice");
    // After a while (the resumed node has let go and done whatever it does), from fresh
    // sessions on both nodes.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for server in [&b, &a] {
        let mut check = Client::logged_in(server).await;
        check.ok("EXAMINE INBOX").await;
        let all = check.ok("UID FETCH 1:* (UID BODY.PEEK[])").await.concat();
        for (uid, message) in &acknowledged {
            let whole = format!("UID {uid} BODY[] {{{}}}\r\n{message}", message.len());
            assert!(all.contains(&whole), "UID {uid} lost or changed");
        }
    }
}
