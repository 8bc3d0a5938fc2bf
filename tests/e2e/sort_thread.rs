//! SORT, ESORT and THREAD over real TCP (RFC 5256, RFC 5957, RFC 5267): the RFC examples
//! that can be rebuilt, every sort key, UID forms, BADCHARSET, and a 10,000-message mailbox
//! checked against an order computed here independently of the server.

use crate::support::{Client, Server};

/// The numbers of the `* SORT` line among `lines`.
fn sort_numbers(lines: &[String]) -> Vec<u32> {
    let line = lines
        .iter()
        .find(|l| l.starts_with("* SORT"))
        .unwrap_or_else(|| panic!("no * SORT in {lines:?}"));
    line["* SORT".len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// The one untagged line starting with `prefix`, without its line end.
fn untagged<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {lines:?}"))
        .trim_end()
}

/// `d-Mon-yyyy hh:mm:ss` (and the weekday-less RFC 5322 form) of a Unix time, UTC.
fn civil(ts: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An RFC 5322 date for the UTC instant `ts`, written in the zone `offset_min` east of UTC.
fn rfc5322_date(ts: i64, offset_min: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ts + offset_min * 60);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let off = offset_min.abs();
    format!(
        "{d} {} {y} {hh:02}:{mm:02}:{ss:02} {sign}{:02}{:02}",
        MONTHS[m as usize - 1],
        off / 60,
        off % 60
    )
}

/// An IMAP `date-time` (APPEND's INTERNALDATE) for `ts`, in UTC.
fn imap_date(ts: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ts);
    format!(
        "\"{d:02}-{}-{y} {hh:02}:{mm:02}:{ss:02} +0000\"",
        MONTHS[m as usize - 1]
    )
}

/// One message to append: its headers (body added) and INTERNALDATE.
struct Spec {
    headers: String,
    internal: i64,
}

/// Appends `specs` in order, 500 per MULTIAPPEND.
async fn append_all(c: &mut Client, specs: &[Spec]) {
    for chunk in specs.chunks(500) {
        let mut command = String::from("APPEND INBOX");
        for s in chunk {
            let message = format!("{}\r\n\r\nbody\r\n", s.headers);
            command.push_str(&format!(
                " {} {{{}+}}\r\n{message}",
                imap_date(s.internal),
                message.len()
            ));
        }
        c.ok(&command).await;
    }
}

fn spec(headers: &str, internal: i64) -> Spec {
    Spec {
        headers: headers.replace('\n', "\r\n"),
        internal,
    }
}

/// Five messages for the RFC 5256 section 3 examples and the per-key checks.
async fn five_messages() -> (Server, Client) {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let day = 86_400;
    let t0 = 759_888_000; // 1994-01-30 00:00 UTC
    append_all(
        &mut c,
        &[
            spec(
                "From: Zoe <zoe@a.example>\nTo: \"Bob\" <bob@b.example>\nCc: mia@c.example\nSubject: Re: beta\nDate: 5 Feb 1994 10:00:00 +0000",
                t0 + 6 * day,
            ),
            spec(
                "From: =?utf-8?q?=C3=81ngel?= <angel@a.example>\nTo: carl@b.example\nSubject: alpha\nDate: 3 Feb 1994 10:00:00 -0700",
                t0 + 4 * day,
            ),
            spec(
                "From: yves@a.example\nTo: Anna <zed@b.example>\nCc: al@c.example\nSubject: [list] Alpha (fwd)\nDate: 3 Feb 1994 12:00:00 +0000",
                t0 + day,
            ),
            spec(
                "From: \"Xavier\" <bert@a.example>\nSubject: Fwd: gamma\nDate: 1 Jan 1994 00:00:00 +0000",
                t0,
            ),
            spec(
                "From: abe@a.example\nTo: dan@b.example\nSubject: BETA\nDate: not a date",
                t0 + 5 * day,
            ),
        ],
    )
    .await;
    c.ok("SELECT INBOX").await;
    (server, c)
}

/// RFC 5256 section 3's SORT examples, rebuilt: SUBJECT with SINCE, SUBJECT then REVERSE
/// DATE, and a search that matches nothing.
#[tokio::test]
async fn rfc5256_sort_examples() {
    let (_server, mut c) = five_messages().await;
    // Base subjects: 1 beta, 2 alpha, 3 alpha, 4 gamma, 5 beta; INTERNALDATE of 4 and 3 is
    // before 1-Feb-1994.
    let a282 = c.ok("SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994").await;
    assert_eq!(sort_numbers(&a282), [2, 1, 5]);
    // Sent dates: 2 is 3 Feb 17:00 UTC, after 3 (12:00); 5 has no valid Date, so its
    // INTERNALDATE (4 Feb) is used.
    let a283 = c.ok("SORT (SUBJECT REVERSE DATE) UTF-8 ALL").await;
    assert_eq!(sort_numbers(&a283), [2, 3, 1, 5, 4]);
    let a284 = c
        .ok("SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"")
        .await;
    assert_eq!(untagged(&a284, "* SORT"), "* SORT");
}

/// Every sort key of RFC 5256 and RFC 5957, REVERSE of each, and ties broken by sequence
/// number whatever the direction.
#[tokio::test]
async fn every_sort_key_and_reverse() {
    let (_server, mut c) = five_messages().await;
    let cases: &[(&str, [u32; 5])] = &[
        ("ARRIVAL", [4, 3, 2, 5, 1]),
        // addr-mailbox of the first From: zoe, angel, yves, bert, abe.
        ("FROM", [5, 2, 4, 3, 1]),
        // To: bob, carl, zed, (none), dan; the empty string first.
        ("TO", [4, 1, 2, 5, 3]),
        // Cc: mia, (none), al, (none), (none).
        ("CC", [2, 4, 5, 3, 1]),
        ("SUBJECT", [2, 3, 1, 5, 4]),
        ("DATE", [4, 3, 2, 5, 1]),
        ("SIZE", [4, 5, 2, 1, 3]),
        // Display names: Zoe, Ángel (decoded), yves@a.example, Xavier, abe@a.example.
        ("DISPLAYFROM", [5, 2, 4, 3, 1]),
        // bob, carl@b.example, anna, (none), dan@b.example.
        ("DISPLAYTO", [4, 3, 1, 2, 5]),
    ];
    for (key, want) in cases {
        let got = sort_numbers(&c.ok(&format!("SORT ({key}) UTF-8 ALL")).await);
        if *key != "SIZE" {
            assert_eq!(&got, want, "{key}");
        }
        // SIZE depends on header lengths: check it is ordered by RFC822.SIZE instead.
        let reversed = sort_numbers(&c.ok(&format!("SORT (REVERSE {key}) UTF-8 ALL")).await);
        let mut expected_reverse = got.clone();
        // Reverse the order of the groups of equal values, keeping sequence order within.
        let values = key_values(&mut c, key, &got).await;
        expected_reverse.sort_by(|a, b| values[b].cmp(&values[a]).then(a.cmp(b)));
        assert_eq!(reversed, expected_reverse, "REVERSE {key}");
    }
    let sizes = key_values(&mut c, "SIZE", &[1, 2, 3, 4, 5]).await;
    let by_size = sort_numbers(&c.ok("SORT (SIZE) UTF-8 ALL").await);
    let mut want: Vec<u32> = (1..=5).collect();
    want.sort_by(|a, b| sizes[a].cmp(&sizes[b]).then(a.cmp(b)));
    assert_eq!(by_size, want);
}

/// The rank of each message in an ascending sort by `key`, equal values sharing a rank (the
/// server's order must keep equal values together; which values are equal is read from the
/// messages here: RFC822.SIZE for SIZE, otherwise a second sort by that key and sequence).
async fn key_values(
    c: &mut Client,
    key: &str,
    ascending: &[u32],
) -> std::collections::HashMap<u32, String> {
    let mut out = std::collections::HashMap::new();
    if key == "SIZE" {
        for line in c.ok("FETCH 1:* (RFC822.SIZE)").await {
            let seq: u32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            let size: u64 = line
                .rsplit(' ')
                .next()
                .unwrap()
                .trim_end_matches([')', '\r', '\n'])
                .parse()
                .unwrap();
            out.insert(seq, format!("{size:020}"));
        }
        return out;
    }
    // Messages with the same value: those that SEARCH cannot tell apart are few here, so
    // the expected groups are written down per key.
    let ties: &[&[u32]] = match key {
        "TO" | "DISPLAYTO" => &[],
        "CC" => &[&[2, 4, 5]],
        "SUBJECT" => &[&[2, 3], &[1, 5]],
        _ => &[],
    };
    for (rank, &n) in ascending.iter().enumerate() {
        let group = ties.iter().find(|g| g.contains(&n));
        let rank = group.map_or(rank, |g| {
            ascending.iter().position(|m| g.contains(m)).unwrap()
        });
        out.insert(n, format!("{rank:03}"));
    }
    out
}

/// UID SORT answers UIDs and takes the same criteria; expunged messages are gone from it.
#[tokio::test]
async fn uid_sort_answers_uids() {
    let (_server, mut c) = five_messages().await;
    c.ok("STORE 2 +FLAGS (\\Deleted)").await;
    c.ok("EXPUNGE").await;
    // UIDs 1, 3, 4, 5 remain; base subjects beta, alpha, gamma, beta.
    let uids = sort_numbers(&c.ok("UID SORT (SUBJECT) UTF-8 ALL").await);
    assert_eq!(uids, [3, 1, 5, 4]);
    let seqs = sort_numbers(&c.ok("SORT (SUBJECT) UTF-8 UID 3:5").await);
    assert_eq!(seqs, [2, 4, 3]);
}

/// The charset is mandatory and must be known, as for SEARCH: BADCHARSET whatever the keys.
#[tokio::test]
async fn unknown_charset_is_badcharset() {
    let (_server, mut c) = five_messages().await;
    let lines = c.command("b1", "SORT (DATE) X-UNKNOWN ALL").await;
    let last = lines.last().unwrap();
    assert!(last.starts_with("b1 NO [BADCHARSET"), "{lines:?}");
    let lines = c.command("b2", "SORT (DATE) ALL").await;
    assert!(lines.last().unwrap().starts_with("b2 BAD"), "{lines:?}");
    // A known charset other than UTF-8: the string is decoded from it (0xE0 is `à`).
    c.send(b"b3 SORT (SUBJECT) ISO-8859-1 SUBJECT {5+}\r\nALPH\xe0\r\n")
        .await;
    let lines = c.until_tagged("b3").await;
    assert!(lines.last().unwrap().starts_with("b3 OK"), "{lines:?}");
    assert_eq!(untagged(&lines, "* SORT"), "* SORT");
}

/// ESORT (RFC 5267 section 3): RETURN options answer in ESEARCH, MIN and MAX being the first
/// and last in sort order and ALL listing the sort order (RFC 5267 section 3.3's example
/// shape); PARTIAL (section 4.4) picks positions of the sorted result, NIL past its end.
#[tokio::test]
async fn esort_return_options_and_partial() {
    let (_server, mut c) = five_messages().await;
    let e01 = c
        .command("E01", "UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED")
        .await;
    assert_eq!(
        untagged(&e01, "* ESEARCH"),
        "* ESEARCH (TAG \"E01\") UID ALL 1,5,2:4"
    );
    let e02 = c
        .command("E02", "SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(
        untagged(&e02, "* ESEARCH"),
        "* ESEARCH (TAG \"E02\") MIN 2 MAX 4 COUNT 5"
    );
    let e03 = c
        .command("E03", "SORT RETURN (PARTIAL 2:3) (SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(
        untagged(&e03, "* ESEARCH"),
        "* ESEARCH (TAG \"E03\") PARTIAL (2:3 3,1)"
    );
    let e04 = c
        .command("E04", "SORT RETURN (PARTIAL 6:9) (SUBJECT) UTF-8 ALL")
        .await;
    assert_eq!(
        untagged(&e04, "* ESEARCH"),
        "* ESEARCH (TAG \"E04\") PARTIAL (6:9 NIL)"
    );
    let e05 = c.command("E05", "SEARCH RETURN (PARTIAL 4:2) ALL").await;
    assert_eq!(
        untagged(&e05, "* ESEARCH"),
        "* ESEARCH (TAG \"E05\") PARTIAL (4:2 2:4)"
    );
    // SAVE keeps the set for `$`.
    let e06 = c
        .command("E06", "SORT RETURN (SAVE) (SUBJECT) UTF-8 FROM a.example")
        .await;
    assert!(!e06.iter().any(|l| l.starts_with("* ESEARCH")), "{e06:?}");
    let saved = c.ok("SEARCH $").await;
    assert_eq!(untagged(&saved, "* SEARCH"), "* SEARCH 1 2 3 4 5");
}

/// A 10,000-message mailbox: (REVERSE DATE), (SUBJECT), ARRIVAL and UID SORT each match an
/// order computed here from what was appended.
#[tokio::test]
async fn ten_thousand_messages_sorted_like_an_independent_computation() {
    const N: i64 = 10_000;
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let prefixes = ["", "Re: ", "Fwd: ", "[list] ", "Re: [list] RE: ", "[fwd: "];
    let mut sent = Vec::new();
    let mut subjects = Vec::new();
    let mut arrival = Vec::new();
    let mut specs = Vec::new();
    for i in 1..=N {
        // Distinct instants in a shuffled order, written in three zones.
        let t = 1_000_000_000 + (i * 7919 % N) * 97;
        let zone = [0, -420, 330][(i % 3) as usize];
        // Many equal INTERNALDATEs, so ties fall back to sequence order.
        let internal = 900_000_000 + (i * 31 % 1000) * 3600;
        let topic = format!("Topic {}", i % 37);
        let prefix = prefixes[(i % 6) as usize];
        let subject = if prefix == "[fwd: " {
            format!("[fwd: {topic}]")
        } else {
            format!("{prefix}{topic}")
        };
        specs.push(spec(
            &format!(
                "From: s{i}@example.com\nSubject: {subject}\nDate: {}\nMessage-ID: <m{i}@example.com>",
                rfc5322_date(t, zone)
            ),
            internal,
        ));
        sent.push(t);
        subjects.push(topic.to_lowercase());
        arrival.push(internal);
    }
    append_all(&mut c, &specs).await;
    c.ok("SELECT INBOX").await;
    let seqs: Vec<u32> = (1..=N as u32).collect();
    let order = |cmp: &dyn Fn(usize, usize) -> std::cmp::Ordering| {
        let mut v = seqs.clone();
        v.sort_by(|&a, &b| cmp(a as usize - 1, b as usize - 1).then(a.cmp(&b)));
        v
    };
    let by_reverse_date = order(&|a, b| sent[b].cmp(&sent[a]));
    let by_subject = order(&|a, b| subjects[a].cmp(&subjects[b]));
    let by_arrival = order(&|a, b| arrival[a].cmp(&arrival[b]));
    assert_eq!(
        sort_numbers(&c.ok("SORT (REVERSE DATE) UTF-8 ALL").await),
        by_reverse_date
    );
    assert_eq!(
        sort_numbers(&c.ok("SORT (SUBJECT) UTF-8 ALL").await),
        by_subject
    );
    assert_eq!(
        sort_numbers(&c.ok("SORT (ARRIVAL) UTF-8 ALL").await),
        by_arrival
    );
    // UIDs are 1..=N here, so UID SORT gives the same numbers.
    assert_eq!(
        sort_numbers(&c.ok("UID SORT (SUBJECT) UTF-8 ALL").await),
        by_subject
    );

    // A webmail's view of the folder through a real client library (Python's imaplib, as
    // Roundcube-like scripts use it): newest first, oldest arrival last, by subject, and
    // the threads. Sent instants are distinct, so DATE is REVERSE DATE backwards.
    let by_reverse_arrival = order(&|a, b| arrival[b].cmp(&arrival[a]));
    let threads = c.ok("THREAD REFERENCES UTF-8 ALL").await;
    let script = format!(
        r#"
import imaplib, json
m = imaplib.IMAP4("127.0.0.1", {port})
m.login({user:?}, {password:?})
assert m.select("INBOX") == ("OK", [b"{N}"])
out = {{}}
for name, criteria in (("date", "(DATE)"), ("reverse_arrival", "(REVERSE ARRIVAL)"), ("subject", "(SUBJECT)")):
    typ, data = m.sort(criteria, "UTF-8", "ALL")
    assert typ == "OK", data
    out[name] = [int(n) for n in data[0].split()]
typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
assert typ == "OK", data
out["thread"] = data[0].decode()
m.logout()
print(json.dumps(out))
"#,
        port = server.imap.port(),
        user = crate::support::USER,
        password = crate::support::PASSWORD,
    );
    let webmail: serde_json::Value =
        serde_json::from_str(crate::clients::run_python(&script).trim()).unwrap();
    let list = |key: &str| -> Vec<u32> { serde_json::from_value(webmail[key].clone()).unwrap() };
    let mut by_date = by_reverse_date.clone();
    by_date.reverse();
    assert_eq!(list("date"), by_date);
    assert_eq!(list("reverse_arrival"), by_reverse_arrival);
    assert_eq!(list("subject"), by_subject);
    let raw = untagged(&threads, "* THREAD");
    assert_eq!(webmail["thread"], raw["* THREAD ".len()..]);
}

/// The `* THREAD` line's thread lists, without `* THREAD `.
fn threads(lines: &[String]) -> String {
    untagged(lines, "* THREAD")["* THREAD".len()..]
        .trim()
        .to_owned()
}

/// Eleven messages shaped like RFC 5256 section 4's examples: a lone message, a thread that
/// branches twice (`(2)(3 6 (4 23)(44 7 96))`'s shape) and a parent with two replies, which
/// becomes `((3)(5))`'s shape when the parent is not searched.
async fn thread_mailbox() -> (Server, Client) {
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let parent = [0, 0, 0, 2, 3, 4, 3, 6, 7, 0, 9, 9];
    let mut specs = Vec::new();
    for (i, &parent) in parent.iter().enumerate().skip(1) {
        let (subject, refs) = match i {
            1 => ("solo".to_owned(), String::new()),
            2 => ("chain".to_owned(), String::new()),
            9 => ("p".to_owned(), String::new()),
            _ => {
                let base = if i < 9 { "chain" } else { "p" };
                (
                    format!("Re: {base}"),
                    format!("\nIn-Reply-To: <{parent}@x>"),
                )
            }
        };
        specs.push(spec(
            &format!(
                "From: a@x\nSubject: {subject}\nMessage-ID: <{i}@x>{refs}\nDate: {}",
                rfc5322_date(1_000_000_000 + i as i64 * 60, 0)
            ),
            1_000_000_000,
        ));
    }
    append_all(&mut c, &specs).await;
    c.ok("SELECT INBOX").await;
    (server, c)
}

/// RFC 5256 sections 3 and 4: REFERENCES and ORDEREDSUBJECT on the same messages, a
/// missing parent as a dummy, a search that matches nothing, UID THREAD after an expunge.
#[tokio::test]
async fn rfc5256_thread_examples() {
    let (_server, mut c) = thread_mailbox().await;
    let all = c.ok("THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(threads(&all), "(1)(2 3 (4 5)(6 7 8))(9 (10)(11))");
    let without_parent = c.ok("THREAD REFERENCES UTF-8 NOT 9").await;
    assert_eq!(threads(&without_parent), "(1)(2 3 (4 5)(6 7 8))((10)(11))");
    let ordered = c.ok("THREAD ORDEREDSUBJECT UTF-8 ALL").await;
    assert_eq!(threads(&ordered), "(1)(2 (3)(4)(5)(6)(7)(8))(9 (10)(11))");
    let two = c.ok("THREAD ORDEREDSUBJECT UTF-8 1:3").await;
    assert_eq!(threads(&two), "(1)(2 3)");
    let none = c.ok("THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"").await;
    assert_eq!(untagged(&none, "* THREAD"), "* THREAD");
    c.ok("STORE 1 +FLAGS (\\Deleted)").await;
    c.ok("EXPUNGE").await;
    let uids = c.ok("UID THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(threads(&uids), "(2 3 (4 5)(6 7 8))(9 (10)(11))");
    let seqs = c.ok("THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(threads(&seqs), "(1 2 (3 4)(5 6 7))(8 (9)(10))");
    let bad = c.command("t1", "THREAD REFERENCES X-UNKNOWN ALL").await;
    assert!(
        bad.last().unwrap().starts_with("t1 NO [BADCHARSET"),
        "{bad:?}"
    );
    let unknown = c.command("t2", "THREAD WHATEVER UTF-8 ALL").await;
    assert!(unknown.last().unwrap().starts_with("t2 BAD"), "{unknown:?}");
}

/// REFERENCES on 10,000 messages in threads of up to seven (each reply under a random
/// earlier message of its thread, References listing its ancestors), compared with the tree
/// built here: children and threads ordered by sent date.
#[tokio::test]
async fn ten_thousand_messages_threaded_like_an_independent_computation() {
    const N: usize = 10_000;
    let server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let mut parent = vec![0usize; N + 1];
    let mut sent = vec![0i64; N + 1];
    let mut specs = Vec::new();
    for i in 1..=N {
        let root = i - (i - 1) % 7;
        if i != root {
            parent[i] = root + (i * 13) % (i - root);
        }
        sent[i] = 1_000_000_000 + (i as i64 * 7919 % N as i64) * 97;
        let mut ancestors = Vec::new();
        let mut at = parent[i];
        while at != 0 {
            ancestors.push(format!("<{at}@t>"));
            at = parent[at];
        }
        ancestors.reverse();
        let (subject, refs) = if ancestors.is_empty() {
            (format!("Thread {root}"), String::new())
        } else {
            (
                format!("Re: Thread {root}"),
                format!("\nReferences: {}", ancestors.join("\n ")),
            )
        };
        specs.push(spec(
            &format!(
                "From: a@x\nSubject: {subject}\nMessage-ID: <{i}@t>{refs}\nDate: {}",
                rfc5322_date(sent[i], [0, 60, -300][i % 3])
            ),
            1_000_000_000,
        ));
    }
    append_all(&mut c, &specs).await;
    c.ok("SELECT INBOX").await;
    let mut children = vec![Vec::new(); N + 1];
    let mut roots = Vec::new();
    for i in 1..=N {
        if parent[i] == 0 {
            roots.push(i);
        } else {
            children[parent[i]].push(i);
        }
    }
    let by_date = |v: &mut Vec<usize>| v.sort_by_key(|&i| (sent[i], i));
    by_date(&mut roots);
    children.iter_mut().for_each(by_date);
    fn render(n: usize, children: &[Vec<usize>], out: &mut String) {
        out.push('(');
        let mut at = n;
        out.push_str(&at.to_string());
        while children[at].len() == 1 {
            at = children[at][0];
            out.push_str(&format!(" {at}"));
        }
        if !children[at].is_empty() {
            out.push(' ');
            for &c in &children[at] {
                render(c, children, out);
            }
        }
        out.push(')');
    }
    let mut expected = String::new();
    for &r in &roots {
        render(r, &children, &mut expected);
    }
    let got = c.ok("THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(threads(&got), expected);
    let uids = c.ok("UID THREAD REFERENCES UTF-8 ALL").await;
    assert_eq!(threads(&uids), expected);
}

/// SORT, ESORT and THREAD from a node that does not own the mailbox: the search runs over
/// the owner's index through the node link, and the answers are the owner's.
#[tokio::test]
async fn sort_and_thread_answer_the_same_on_every_node_of_a_cluster() {
    let redis = crate::support::Redis::start();
    let data = tempfile::tempdir().unwrap();
    let a = Server::start_node(data.path(), "node-a", &redis, |_| {});
    let b = Server::start_node(data.path(), "node-b", &redis, |_| {});
    let mut owner = Client::logged_in(&a).await;
    owner.ok("SELECT INBOX").await; // node-a takes the account
    let mut specs = Vec::new();
    for (i, (subject, reply_to)) in [("b", 0), ("a", 0), ("Re: b", 1), ("Re: a", 2), ("c", 0)]
        .into_iter()
        .enumerate()
    {
        let refs = if reply_to == 0 {
            String::new()
        } else {
            format!("\nIn-Reply-To: <{reply_to}@c>")
        };
        specs.push(spec(
            &format!(
                "From: u{i}@x\nSubject: {subject}\nMessage-ID: <{}@c>{refs}\nDate: {}",
                i + 1,
                rfc5322_date(1_100_000_000 - i as i64 * 3600, 0)
            ),
            1_000_000_000,
        ));
    }
    append_all(&mut owner, &specs).await;
    let mut remote = Client::logged_in(&b).await;
    remote.ok("SELECT INBOX").await;
    for command in [
        "SORT (SUBJECT DATE) UTF-8 ALL",
        "UID SORT (REVERSE FROM) UTF-8 NOT 3",
        "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL",
        "THREAD REFERENCES UTF-8 ALL",
        "UID THREAD ORDEREDSUBJECT UTF-8 ALL",
    ] {
        let here = owner.ok(command).await;
        let there = remote.ok(command).await;
        assert_eq!(here, there, "{command}");
    }
    assert_eq!(
        sort_numbers(&remote.ok("SORT (SUBJECT DATE) UTF-8 ALL").await),
        [4, 2, 3, 1, 5]
    );
    assert_eq!(
        threads(&remote.ok("THREAD REFERENCES UTF-8 ALL").await),
        "(5)(2 4)(1 3)"
    );

    // An updating context (RFC 5267 CONTEXT=SORT) on node-b follows changes made on node-a.
    let context = remote
        .command("U1", "UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNSEEN")
        .await;
    assert_eq!(
        untagged(&context, "* ESEARCH"),
        "* ESEARCH (TAG \"U1\") UID ALL 2,4,1,3,5"
    );
    owner.ok("UID STORE 4 +FLAGS.SILENT (\\Seen)").await;
    let removed = await_line(&mut remote, "* ESEARCH (TAG \"U1\")").await;
    assert_eq!(removed, "* ESEARCH (TAG \"U1\") UID REMOVEFROM (2 4)");
    let uid = owner
        .append("INBOX", "", "From: u6@x\r\nSubject: aa\r\n\r\nsix\r\n")
        .await;
    let added = await_line(&mut remote, "* ESEARCH (TAG \"U1\")").await;
    assert_eq!(added, format!("* ESEARCH (TAG \"U1\") UID ADDTO (2 {uid})"));
}

/// Sends NOOPs until a line starting with `prefix` arrives (at most 30 s); that line.
async fn await_line(c: &mut Client, prefix: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let lines = c.ok("NOOP").await;
        if let Some(line) = lines.iter().find(|l| l.starts_with(prefix)) {
            return line.trim_end().to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no {prefix}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
