//! After a round: a fresh session per account reads INBOX and compares it with the
//! [`Ledger`]. Every acknowledged APPEND must be there under its UID, byte-identical (in
//! full for messages not compared before, and for all at a full check; older ones by their
//! marker header, which also needs the file), with [`STORED_FLAG`] when a STORE of it was
//! acknowledged, and gone when its UID EXPUNGE was; no marker twice; no UIDVALIDITY change.
//! Messages whose APPEND was answered NO are counted apart (issue 19 finding 5).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use roost_proto::{
    CommandBody, FetchAttribute, FetchItems, FetchModifiers, FetchValue, Flag, Section,
    SectionText, SeqBound, SeqRange, SequenceSet,
};

use super::ledger::{Answer, Expunge, Ledger, STORED_FLAG};
use super::writer::{marker_of, message};
use crate::client::{Conn, ImapError};

#[derive(Default, Debug, Clone)]
pub struct CheckResult {
    pub messages: u64,
    pub lost: u64,
    pub altered: u64,
    pub store_lost: u64,
    pub expunge_lost: u64,
    pub duplicate_messages: u64,
    pub stored_after_no: u64,
    /// Expunged messages back under a new UID: recovery re-adds every unlisted message file,
    /// and an expunge whose file removal a crash cut short leaves one (docs/storage.md).
    pub resurrected: u64,
    pub unexpected: u64,
    pub examples: Vec<String>,
}

impl CheckResult {
    /// Losses and corruptions (not the NO-but-stored count, which has its own flag).
    pub fn failures(&self) -> u64 {
        self.lost
            + self.altered
            + self.store_lost
            + self.expunge_lost
            + self.duplicate_messages
            + self.unexpected
    }

    fn note(&mut self, text: String) {
        if self.examples.len() < 10 {
            self.examples.push(text);
        }
    }
}

struct Found {
    uid: u32,
    flags: Vec<Flag>,
    /// The whole message, or only its marker header.
    bytes: Vec<u8>,
    full: bool,
}

/// Checks every account; `full` compares every body in full.
///
/// # Errors
/// When no node lets a session read an account within `wait`.
pub async fn check(
    addrs: &[String],
    password: &dyn Fn(usize) -> String,
    ledger: &mut Ledger,
    full: bool,
    wait: Duration,
) -> anyhow::Result<CheckResult> {
    let mut result = CheckResult::default();
    for account in 0..ledger.accounts.len() {
        let user = format!("user{}", account + 1);
        let since = if full {
            0
        } else {
            ledger.accounts[account].checked_upto
        };
        let (validity, found) = read_account(addrs, &user, &password(account + 1), since, wait)
            .await
            .map_err(|e| anyhow::anyhow!("reading {user}'s INBOX: {e}"))?;
        let mut seen = std::mem::take(&mut ledger.reported);
        compare(ledger, account, validity, &found, &mut seen, &mut result);
        ledger.reported = seen;
        if let Some(max) = found.iter().filter(|f| f.full).map(|f| f.uid).max() {
            let a = &mut ledger.accounts[account];
            a.checked_upto = a.checked_upto.max(max);
        }
    }
    Ok(result)
}

async fn read_account(
    addrs: &[String],
    user: &str,
    password: &str,
    full_since: u32,
    wait: Duration,
) -> Result<(u32, Vec<Found>), ImapError> {
    let deadline = Instant::now() + wait;
    let mut last = ImapError::Timeout;
    let mut i = 0;
    while Instant::now() < deadline {
        let addr = &addrs[i % addrs.len()];
        i += 1;
        match read_once(addr, user, password, full_since).await {
            Ok(r) => return Ok(r),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

async fn read_once(
    addr: &str,
    user: &str,
    password: &str,
    full_since: u32,
) -> Result<(u32, Vec<Found>), ImapError> {
    let mut c = Conn::connect(addr, Duration::from_secs(60)).await?;
    c.login(user, password).await?;
    let reply = c.select("INBOX").await?;
    let validity = reply
        .find_code(|c| match c {
            roost_proto::Code::UidValidity(v) => Some(*v),
            _ => None,
        })
        .unwrap_or(0);
    let mut found = Vec::new();
    if full_since > 0 {
        let marker_only = Section {
            part: Vec::new(),
            text: Some(SectionText::HeaderFields(vec![b"X-Fault-Id".to_vec()])),
        };
        fetch(&mut c, range(1, full_since), marker_only, false, &mut found).await?;
    }
    fetch(
        &mut c,
        range(full_since + 1, 0),
        Section::default(),
        true,
        &mut found,
    )
    .await?;
    let _ = c.run(CommandBody::Logout).await;
    Ok((validity, found))
}

/// `lo:hi`, or `lo:*` for hi 0.
fn range(lo: u32, hi: u32) -> SequenceSet {
    SequenceSet::Ranges(vec![SeqRange {
        start: SeqBound::Value(lo.max(1)),
        end: if hi == 0 {
            SeqBound::Star
        } else {
            SeqBound::Value(hi)
        },
    }])
}

async fn fetch(
    c: &mut Conn,
    set: SequenceSet,
    section: Section,
    full: bool,
    found: &mut Vec<Found>,
) -> Result<(), ImapError> {
    let reply = c
        .run(CommandBody::Fetch {
            uid: true,
            set,
            items: FetchItems::List(vec![
                FetchAttribute::Uid,
                FetchAttribute::Flags,
                FetchAttribute::BodySection {
                    peek: true,
                    section,
                    partial: None,
                },
            ]),
            modifiers: FetchModifiers::default(),
        })
        .await?;
    for (_, items) in reply.fetches() {
        let mut f = Found {
            uid: 0,
            flags: Vec::new(),
            bytes: Vec::new(),
            full,
        };
        for v in items {
            match v {
                FetchValue::Uid(u) => f.uid = *u,
                FetchValue::Flags(fl) => f.flags.clone_from(fl),
                FetchValue::BodySection { data: Some(d), .. } => f.bytes = d.to_vec(),
                _ => {}
            }
        }
        // `UID FETCH n:*` answers the highest message even when n is above it.
        if f.uid != 0 {
            found.push(f);
        }
    }
    Ok(())
}

fn compare(
    ledger: &Ledger,
    account: usize,
    validity: u32,
    found: &[Found],
    seen: &mut HashSet<String>,
    r: &mut CheckResult,
) {
    // Each finding once in the run, not again at every later check.
    let mut fresh = |key: String| seen.insert(key);
    let a = &ledger.accounts[account];
    let user = account + 1;
    if let Some(v) = a.uid_validity {
        if v != validity && fresh(format!("validity {account} {validity}")) {
            r.lost += a.by_uid.len() as u64;
            r.note(format!(
                "user{user}: UIDVALIDITY is {validity}, the APPENDs were told {v}"
            ));
            return;
        }
    }
    let mut by_uid: HashMap<u32, &Found> = HashMap::new();
    let mut markers: HashMap<String, u32> = HashMap::new();
    for f in found {
        r.messages += 1;
        by_uid.insert(f.uid, f);
        let Some(marker) = marker_of(&f.bytes) else {
            if fresh(format!("nomarker {account} {}", f.uid)) {
                r.unexpected += 1;
                r.note(format!("user{user}: UID {} has no X-Fault-Id", f.uid));
            }
            continue;
        };
        // Acknowledged and never expunged (an expunged one back is counted below).
        let acked = match a.sent.get(&marker) {
            Some(s) if s.expunge == Expunge::No => match s.answer {
                Answer::Acked { uid } => Some(uid),
                _ => None,
            },
            _ => None,
        };
        if acked.is_some_and(|uid| uid != f.uid) && relisted(f) {
            if !fresh(format!("{account} {marker} {}", f.uid)) {
                continue;
            }
            // The files of an attempt whose answer was lost inside the cluster (the node
            // that asked then retried, acknowledged under another UID), listed again by the
            // next owner's recovery: like a message stored though its APPEND got NO.
            r.stored_after_no += 1;
            r.note(format!(
                "user{user}: {marker}, acknowledged as UID {}, is also listed again as UID {} \
                 from the files of an earlier attempt (flags {:?})",
                acked.unwrap_or_default(),
                f.uid,
                f.flags
            ));
            continue;
        }
        let first = markers.insert(marker.clone(), f.uid);
        if !fresh(format!("{account} {marker} {}", f.uid)) {
            continue;
        }
        if let Some(other) = first {
            r.duplicate_messages += 1;
            r.note(format!(
                "user{user}: {marker} is stored twice, UIDs {other} and {}",
                f.uid
            ));
        }
        match a.sent.get(&marker) {
            None => {
                r.unexpected += 1;
                r.note(format!(
                    "user{user}: UID {} holds {marker}, never sent",
                    f.uid
                ));
            }
            Some(s) => match &s.answer {
                Answer::Refused(text) => {
                    r.stored_after_no += 1;
                    r.note(format!(
                        "user{user}: {marker} stored as UID {} (flags {:?}) though its APPEND \
                         got NO {text}",
                        f.uid, f.flags
                    ));
                }
                Answer::Acked { uid } if *uid != f.uid && s.expunge != Expunge::No => {
                    r.resurrected += 1;
                    r.note(format!(
                        "user{user}: {marker}, acknowledged as UID {uid} and expunged ({:?}), \
                         is back as UID {} (flags {:?})",
                        s.expunge, f.uid, f.flags
                    ));
                }
                Answer::Acked { uid } if *uid != f.uid => {
                    r.unexpected += 1;
                    r.note(format!(
                        "user{user}: {marker} acknowledged as UID {uid} is stored as UID {}",
                        f.uid
                    ));
                }
                _ => {}
            },
        }
    }
    for (marker, s) in &a.sent {
        let Answer::Acked { uid } = s.answer else {
            continue;
        };
        let here = by_uid.get(&uid);
        let mut fresh = |what: &str| seen.insert(format!("{what} {account} {marker}"));
        match (s.expunge, here) {
            (Expunge::Acked, Some(_)) if fresh("expunge") => {
                r.expunge_lost += 1;
                r.note(format!(
                    "user{user}: UID {uid} ({marker}) is there after its UID EXPUNGE got OK"
                ));
            }
            (Expunge::No, None) if fresh("lost") => {
                r.lost += 1;
                r.note(format!("user{user}: UID {uid} ({marker}) is lost"));
            }
            (_, Some(f)) => {
                let same = if f.full {
                    f.bytes == message(marker, s.seq)
                } else {
                    marker_of(&f.bytes).as_deref() == Some(marker.as_str())
                };
                if !same && fresh("altered") {
                    r.altered += 1;
                    r.note(format!(
                        "user{user}: UID {uid} is not the {} bytes of {marker} ({} bytes)",
                        message(marker, s.seq).len(),
                        f.bytes.len()
                    ));
                }
                let flagged = f.flags.iter().any(|fl| {
                    matches!(fl, Flag::Keyword(k) if k.as_str().eq_ignore_ascii_case(STORED_FLAG))
                });
                if s.flagged && !flagged && s.expunge == Expunge::No && fresh("store") {
                    r.store_lost += 1;
                    r.note(format!(
                        "user{user}: UID {uid} lacks {STORED_FLAG} though its STORE got OK"
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Whether recovery listed the message again from files no log named (`$Recovered`).
fn relisted(f: &Found) -> bool {
    f.flags.iter().any(
        |flag| matches!(flag, Flag::Keyword(k) if k.as_str().eq_ignore_ascii_case("$Recovered")),
    )
}
