//! CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4) over real TCP: the section's
//! examples, `UPDATE` results kept by a client that applies every `ADDTO` and `REMOVEFROM`
//! and always equal to a fresh search, sorted positions, `NOUPDATE`, `CANCELUPDATE`, and a
//! 10,000-message mailbox under another session's changes.

use std::time::{Duration, Instant};

use crate::support::{Client, Server};

fn message(subject: &str) -> String {
    format!("From: a@example.com\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n")
}

/// The numbers of a set in the order written (`a:b` ascending).
fn numbers(set: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in set.split(',') {
        match part.split_once(':') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                out.extend(a.min(b)..=a.max(b));
            }
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

/// A client's copy of one updating context's result, kept as RFC 5267 section 4.3 says.
#[derive(Debug, Default)]
struct Kept {
    tag: String,
    list: Vec<u32>,
    /// Message numbers (SEARCH, SORT): renumbered by EXPUNGE.
    seqs: bool,
    updates: usize,
}

impl Kept {
    fn new(tag: &str, list: Vec<u32>, seqs: bool) -> Kept {
        Kept {
            tag: tag.into(),
            list,
            seqs,
            updates: 0,
        }
    }

    /// Applies one line of server output.
    fn apply(&mut self, line: &str) {
        let line = line.trim_end();
        if self.seqs {
            if let Some(n) = line
                .strip_prefix("* ")
                .and_then(|l| l.strip_suffix(" EXPUNGE"))
            {
                let n: u32 = n.parse().unwrap();
                assert!(!self.list.contains(&n), "EXPUNGE {n} before its REMOVEFROM");
                for x in &mut self.list {
                    if *x > n {
                        *x -= 1;
                    }
                }
                return;
            }
        }
        let prefix = format!("* ESEARCH (TAG \"{}\") ", self.tag);
        let Some(rest) = line.strip_prefix(&prefix) else {
            return;
        };
        let rest = rest.strip_prefix("UID ").unwrap_or(rest);
        self.updates += 1;
        let mut words = rest.split_whitespace();
        while let Some(kind) = words.next() {
            let mut pairs: Vec<(usize, Vec<u32>)> = Vec::new();
            loop {
                let pos = words.next().unwrap().trim_start_matches('(');
                let set = words.next().unwrap();
                let end = set.ends_with(')');
                pairs.push((pos.parse().unwrap(), numbers(set.trim_end_matches(')'))));
                if end {
                    break;
                }
            }
            for (pos, set) in pairs {
                match (kind, pos) {
                    ("ADDTO", 0) => {
                        self.list.extend(set);
                        self.list.sort_unstable();
                    }
                    ("ADDTO", p) => {
                        for (i, n) in set.into_iter().enumerate() {
                            self.list.insert(p - 1 + i, n);
                        }
                    }
                    ("REMOVEFROM", 0) => self.list.retain(|n| !set.contains(n)),
                    ("REMOVEFROM", p) => {
                        for n in set {
                            assert_eq!(self.list[p - 1], n, "REMOVEFROM position in {line}");
                            self.list.remove(p - 1);
                        }
                    }
                    _ => panic!("unexpected {kind} in {line}"),
                }
            }
        }
    }
}

/// The `ALL` set of an ESEARCH line for `tag` (empty when the result is empty).
fn all_of(lines: &[String], tag: &str) -> Vec<u32> {
    let prefix = format!("* ESEARCH (TAG \"{tag}\")");
    let line = lines
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no ESEARCH for {tag} in {lines:?}"));
    match line.trim_end().split_once(" ALL ") {
        Some((_, set)) => numbers(set),
        None => Vec::new(),
    }
}

fn apply_all(kept: &mut [&mut Kept], lines: &[String]) {
    for line in lines {
        for k in kept.iter_mut() {
            k.apply(line);
        }
    }
}

/// Sends NOOPs (and reads what arrives between them) until every kept list equals what
/// `fresh` answers now, or panics after a while. Returns the lines seen.
async fn converge(c: &mut Client, kept: &mut [&mut Kept], fresh: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let mut round = 0;
    loop {
        round += 1;
        let lines = c.command(&format!("N{round}"), "NOOP").await;
        apply_all(kept, &lines);
        seen.extend(lines);
        // Updates may arrive around a fresh search too: they are applied in order, and a
        // list that moved past the fresh answer is compared again next round.
        let mut equal = true;
        for (i, command) in fresh.iter().enumerate() {
            let answer = c.command("F", command).await;
            apply_all(kept, &answer);
            equal &= all_of(&answer, "F") == kept[i].list;
            seen.extend(answer);
        }
        if equal {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "contexts never converged: {kept:?} {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Section 4.2's, 4.3's and 4.3.1's examples, `CANCELUPDATE` (4.3.5), and the one-of-ALL-
/// or-PARTIAL rule (4.4).
#[tokio::test]
async fn rfc5267_section_4_examples() {
    let server = Server::start();
    let mut c = Client::logged_in_rev2(&server).await;
    let mut other = Client::logged_in(&server).await;
    for i in 1..=6 {
        let flags = if i == 4 { "\\Deleted $Junk" } else { "" };
        c.append("INBOX", flags, &message(&format!("m{i}"))).await;
    }
    c.ok("SELECT INBOX").await;
    other.ok("SELECT INBOX").await;
    let caps = c.ok("CAPABILITY").await.concat();
    assert!(caps.contains(" CONTEXT=SEARCH") && caps.contains(" CONTEXT=SORT"));

    // 4.2: CONTEXT is a hint; COUNT answers.
    let a01 = c
        .command(
            "A01",
            "SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk",
        )
        .await;
    assert_eq!(a01[0].trim_end(), "* ESEARCH (TAG \"A01\") COUNT 5");
    assert!(a01[1].starts_with("A01 OK"), "{a01:?}");

    // 4.3: UPDATE with COUNT; the tag may not be reused while the context lives.
    let b01 = c
        .command(
            "B01",
            "UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk",
        )
        .await;
    assert_eq!(b01[0].trim_end(), "* ESEARCH (TAG \"B01\") UID COUNT 1");
    assert!(b01[1].starts_with("B01 OK"), "{b01:?}");
    let reuse = c
        .command("B01", "SORT RETURN (UPDATE) (ARRIVAL) UTF-8 FLAGGED")
        .await;
    assert!(reuse[0].starts_with("B01 BAD"), "{reuse:?}");

    // Another session marks messages 2 and 3: the client hears of the FETCH first, then
    // ADDTO with the UIDs at position 0.
    other.ok("STORE 2:3 +FLAGS.SILENT (\\Deleted $Junk)").await;
    let mut b01 = Kept::new("B01", vec![4], false);
    let seen = converge(
        &mut c,
        &mut [&mut b01],
        &["UID SEARCH RETURN (ALL) DELETED KEYWORD $Junk"],
    )
    .await;
    let fetch = seen.iter().position(|l| l.contains("FETCH")).unwrap();
    let addto = seen
        .iter()
        .position(|l| l.trim_end() == "* ESEARCH (TAG \"B01\") UID ADDTO (0 2:3)")
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert!(fetch < addto, "{seen:?}");
    assert_eq!(b01.list, vec![2, 3, 4]);

    // An expunge: REMOVEFROM goes before the EXPUNGE that renumbers.
    other.ok("UID EXPUNGE 3").await;
    let mut noop = Vec::new();
    for round in 0..100 {
        noop = c.command(&format!("X{round}"), "NOOP").await;
        if noop.iter().any(|l| l.contains("EXPUNGE")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let remove = noop
        .iter()
        .position(|l| l.trim_end() == "* ESEARCH (TAG \"B01\") UID REMOVEFROM (0 3)")
        .unwrap_or_else(|| panic!("{noop:?}"));
    let expunge = noop
        .iter()
        .position(|l| l.trim_end() == "* 3 EXPUNGE")
        .unwrap();
    assert!(remove < expunge, "{noop:?}");

    // 4.3.1: past the session's limit, NOUPDATE after the result; the result is still given.
    let mut answered = Vec::new();
    for i in 2..=9 {
        answered = c
            .command(&format!("U{i}"), "SEARCH RETURN (UPDATE COUNT) ALL")
            .await;
    }
    assert_eq!(answered[0].trim_end(), "* ESEARCH (TAG \"U9\") COUNT 5");
    assert_eq!(
        answered[1].split(']').next().unwrap(),
        "* NO [NOUPDATE \"U9\"",
        "{answered:?}"
    );
    assert!(answered[2].starts_with("U9 OK"), "{answered:?}");

    // 4.3.5: CANCELUPDATE frees a context; unknown tags are a BAD with no effect.
    let unknown = c.command("C1", "CANCELUPDATE \"U2\" \"nope\"").await;
    assert!(unknown[0].starts_with("C1 BAD"), "{unknown:?}");
    let cancel = c.command("C2", "CANCELUPDATE \"B01\" \"U2\"").await;
    assert!(cancel[0].starts_with("C2 OK"), "{cancel:?}");
    // RETURN (UPDATE) alone answers ALL, which the client needs to apply updates to.
    let again = c.command("U10", "SEARCH RETURN (UPDATE) DELETED").await;
    assert!(!again.iter().any(|l| l.contains("NOUPDATE")), "{again:?}");
    let mut u10 = Kept::new("U10", all_of(&again, "U10"), true);
    assert_eq!(u10.list, vec![2, 3]);
    // B01 hears nothing more; U10's ADDTO shows that the news was sent.
    other.ok("STORE 1 +FLAGS.SILENT (\\Deleted $Junk)").await;
    let seen = converge(&mut c, &mut [&mut u10], &["SEARCH RETURN () DELETED"]).await;
    assert_eq!(u10.list, vec![1, 2, 3]);
    assert!(!seen.iter().any(|l| l.contains("\"B01\"")), "{seen:?}");

    // 4.4's A02-A04: a range that spans the end gives what there is; past it, NIL.
    let a02 = c
        .command("A02", "UID SEARCH RETURN (PARTIAL 2:9) UNDELETED")
        .await;
    assert_eq!(
        a02[0].trim_end(),
        "* ESEARCH (TAG \"A02\") UID PARTIAL (2:9 6)"
    );
    let a03 = c
        .command("A03", "UID SEARCH RETURN (PARTIAL 1:2) UNDELETED")
        .await;
    assert_eq!(
        a03[0].trim_end(),
        "* ESEARCH (TAG \"A03\") UID PARTIAL (1:2 5:6)"
    );
    let a04 = c
        .command("A04", "UID SEARCH RETURN (PARTIAL 9:20) UNDELETED")
        .await;
    assert_eq!(
        a04[0].trim_end(),
        "* ESEARCH (TAG \"A04\") UID PARTIAL (9:20 NIL)"
    );

    // 4.4: at most one ALL or PARTIAL; CANCELUPDATE outside Selected is refused.
    let both = c.command("P1", "SEARCH RETURN (ALL PARTIAL 1:2) ALL").await;
    assert!(both[0].starts_with("P1 BAD"), "{both:?}");
    c.ok("UNSELECT").await;
    let outside = c.command("C3", "CANCELUPDATE \"U3\"").await;
    assert!(outside[0].starts_with("C3 BAD"), "{outside:?}");
}

/// A sorted context reports insertions and removals at positions (RFC 5267 sections 4.3.3
/// and 4.3.4); a client applying them holds the same order as a fresh SORT, for UID SORT and
/// for SORT with message numbers, while another session appends, flags and expunges.
#[tokio::test]
async fn sorted_contexts_follow_appends_flags_and_expunges() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let mut other = Client::logged_in(&server).await;
    for subject in ["m", "c", "x", "a", "q", "f"] {
        c.append("INBOX", "", &message(subject)).await;
    }
    c.ok("SELECT INBOX").await;
    other.ok("SELECT INBOX").await;
    let by_uid = c
        .command("S1", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNSEEN")
        .await;
    let by_seq = c
        .command(
            "S2",
            "SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 UNSEEN",
        )
        .await;
    let mut s1 = Kept::new("S1", all_of(&by_uid, "S1"), false);
    let mut s2 = Kept::new("S2", all_of(&by_seq, "S2"), true);
    assert_eq!(s1.list, vec![4, 2, 6, 1, 5, 3]);
    let fresh = [
        "UID SORT RETURN (ALL) (SUBJECT) UTF-8 UNSEEN",
        "SORT RETURN (ALL) (REVERSE SUBJECT) UTF-8 UNSEEN",
    ];
    for subject in ["b", "n", "z", "d"] {
        other.append("INBOX", "", &message(subject)).await;
    }
    other.ok("UID STORE 2,5 +FLAGS.SILENT (\\Seen)").await;
    converge(&mut c, &mut [&mut s1, &mut s2], &fresh).await;
    assert_eq!(s1.list, vec![4, 7, 10, 6, 1, 8, 3, 9]);
    other.ok("UID STORE 5 -FLAGS.SILENT (\\Seen)").await;
    other.ok("UID STORE 1,10 +FLAGS.SILENT (\\Deleted)").await;
    other.ok("EXPUNGE").await;
    converge(&mut c, &mut [&mut s1, &mut s2], &fresh).await;
    assert_eq!(s1.list, vec![4, 7, 6, 8, 5, 3, 9]);
    // The session's own changes are reported too.
    c.ok("UID STORE 4 +FLAGS.SILENT (\\Seen)").await;
    converge(&mut c, &mut [&mut s1, &mut s2], &fresh).await;
    assert_eq!(s1.list, vec![7, 6, 8, 5, 3, 9]);
    assert!(s1.updates >= 3 && s2.updates >= 3, "{s1:?} {s2:?}");
}

/// 10,000 messages: two contexts (UID and message numbers) stay exact while another session
/// flags 1,000 messages, expunges 500 and appends 100; the client idles part of the time and
/// is told at once there.
#[tokio::test]
async fn ten_thousand_message_contexts_stay_exact_under_another_sessions_changes() {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    c.seed("INBOX", 10_000).await;
    let mut other = Client::logged_in(&server).await;
    c.ok("SELECT INBOX").await;
    other.ok("SELECT INBOX").await;
    let flagged = c
        .command("T1", "UID SEARCH RETURN (UPDATE COUNT) FLAGGED")
        .await;
    assert_eq!(flagged[0].trim_end(), "* ESEARCH (TAG \"T1\") UID COUNT 0");
    let unseen = c.command("T2", "SEARCH RETURN (UPDATE) UNSEEN").await;
    let mut t1 = Kept::new("T1", Vec::new(), false);
    let mut t2 = Kept::new("T2", all_of(&unseen, "T2"), true);
    assert_eq!(t2.list.len(), 10_000);

    // Idle while the other session flags 1,000 messages: the ADDTO comes unasked.
    c.send("I1 IDLE\r\n").await;
    assert!(c.line().await.starts_with("+ "));
    let some: Vec<String> = (1..=1000).map(|i| (i * 9).to_string()).collect();
    other
        .ok(&format!(
            "UID STORE {} +FLAGS.SILENT (\\Flagged)",
            some.join(",")
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while t1.list.len() < 1000 {
        assert!(Instant::now() < deadline, "{t1:?}");
        let line = c.line().await;
        t1.apply(&line);
        t2.apply(&line);
    }
    c.send("DONE\r\n").await;
    for line in c.until_tagged("I1").await {
        t1.apply(&line);
        t2.apply(&line);
    }

    let seen: Vec<String> = (1..=2000).map(|i| (i * 4).to_string()).collect();
    other
        .ok(&format!(
            "UID STORE {} +FLAGS.SILENT (\\Seen)",
            seen.join(",")
        ))
        .await;
    let gone: Vec<String> = (1..=500).map(|i| (i * 18).to_string()).collect();
    other
        .ok(&format!(
            "UID STORE {} +FLAGS.SILENT (\\Deleted)",
            gone.join(",")
        ))
        .await;
    other.ok("EXPUNGE").await;
    other.seed("INBOX", 100).await;
    converge(
        &mut c,
        &mut [&mut t1, &mut t2],
        &[
            "UID SEARCH RETURN (ALL) FLAGGED",
            "SEARCH RETURN (ALL) UNSEEN",
        ],
    )
    .await;
    assert_eq!(t1.list.len(), 500);
    // 10,000 less 2,000 seen and 278 unseen expunged, plus 100 appended.
    assert_eq!(t2.list.len(), 7_822);
}
