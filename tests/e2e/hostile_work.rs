//! One user's expensive command never takes the node down or stalls other users (issue 18):
//! each is answered (OK, NO [LIMIT] or BAD) within a bounded CPU and memory budget while
//! other sessions keep being served.

use std::time::{Duration, Instant};

use crate::support::{Client, Server};

/// What one hostile command cost the server, and how other sessions fared meanwhile.
struct Cost {
    answer: String,
    cpu: Duration,
    rss_growth_kib: u64,
    slowest_noop: Duration,
}

/// Runs `command` on `attacker` while two other sessions send NOOPs (sessions spread over
/// the server's worker threads, so a stalled worker shows in one of them).
async fn measure(server: &Server, attacker: &mut Client, command: &str) -> Cost {
    let mut probes = [
        Client::logged_in(server).await,
        Client::logged_in(server).await,
    ];
    let (cpu, rss) = (server.cpu_time(), server.rss_kib());
    let done = std::cell::Cell::new(false);
    let attack = async {
        let lines = attacker.command("h", command).await;
        done.set(true);
        lines.last().unwrap().clone()
    };
    let [a, b] = &mut probes;
    let (answer, slow_a, slow_b) = tokio::join!(attack, probe(a, &done), probe(b, &done));
    Cost {
        answer,
        cpu: server.cpu_time().saturating_sub(cpu),
        rss_growth_kib: server.rss_kib().saturating_sub(rss),
        slowest_noop: slow_a.max(slow_b),
    }
}

/// NOOPs until `done`; the slowest answer.
async fn probe(client: &mut Client, done: &std::cell::Cell<bool>) -> Duration {
    let mut slowest = Duration::ZERO;
    while !done.get() {
        let started = Instant::now();
        client.ok("NOOP").await;
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    slowest
}

/// The bounds of issue 18: under a second of CPU and 64 MiB, other sessions answered
/// promptly. The issue asks for NOOPs within 50 ms; other tests run beside this one on two
/// cores, so the assertion allows 250 ms (a stalled worker took 21 s before the fix) and
/// the figure is printed.
fn assert_bounded(what: &str, cost: &Cost) {
    eprintln!(
        "{what}: {} cpu {:?}, rss +{} KiB, slowest NOOP {:?}",
        cost.answer.trim_end(),
        cost.cpu,
        cost.rss_growth_kib,
        cost.slowest_noop
    );
    assert!(
        ["h OK", "h NO", "h BAD"]
            .iter()
            .any(|s| cost.answer.starts_with(s)),
        "{what}: {}",
        cost.answer
    );
    assert!(
        cost.cpu < Duration::from_secs(1),
        "{what}: {:?} of CPU",
        cost.cpu
    );
    assert!(
        cost.rss_growth_kib < 64 * 1024,
        "{what}: +{} KiB",
        cost.rss_growth_kib
    );
    assert!(
        cost.slowest_noop < Duration::from_millis(250),
        "{what}: another session waited {:?}",
        cost.slowest_noop
    );
}

#[actix_rt::test]
async fn wildcard_lists_over_long_folder_names_are_bounded() {
    let server = Server::start();
    let mut attacker = Client::logged_in(&server).await;
    for i in 0..200 {
        let name = format!("{}{i:03}", "a".repeat(200));
        attacker.ok(&format!("CREATE {name}")).await;
    }
    for (what, pattern) in [
        ("60 KB of *%", "*%".repeat(30_000)),
        ("60 KB of a*", "a*".repeat(30_000)),
        ("a% repeated up to a long name", "a%".repeat(205)),
        ("a% repeated half a long name", "a%".repeat(100)),
        ("a* repeated up to a long name", "a*".repeat(200)),
    ] {
        let cost = measure(&server, &mut attacker, &format!("LIST \"\" \"{pattern}\"")).await;
        assert_bounded(what, &cost);
    }
}

#[actix_rt::test]
async fn a_sequence_set_of_overlapping_ranges_is_bounded() {
    let server = Server::start();
    let mut attacker = Client::logged_in(&server).await;
    attacker.seed("INBOX", 10_000).await;
    attacker.ok("SELECT INBOX").await;
    // ~60 KB of `1:*,` (the line limit is 64 KiB).
    let set = vec!["1:*"; 15_000].join(",");
    for (what, command) in [
        ("FETCH", format!("FETCH {set} (FLAGS)")),
        ("UID FETCH", format!("UID FETCH {set} (UID)")),
        ("STORE", format!("STORE {set} +FLAGS.SILENT (\\Seen)")),
        ("SEARCH", format!("SEARCH {set}")),
        ("UID SEARCH", format!("UID SEARCH UID {set}")),
        ("COPY", format!("COPY {set} INBOX")),
    ] {
        let cost = measure(&server, &mut attacker, &command).await;
        assert_bounded(what, &cost);
    }
}

#[actix_rt::test]
async fn a_fetch_repeating_one_binary_item_thousands_of_times_is_bounded() {
    let server = Server::start();
    let mut attacker = Client::logged_in(&server).await;
    // A multipart message with a ~1 MB base64 attachment.
    let encoded = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkw\r\n".repeat(24_000);
    let message = format!(
        "From: a@example.com\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {encoded}--b--\r\n"
    );
    attacker
        .ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()))
        .await;
    attacker.ok("SELECT INBOX").await;
    // A ~50 KB line: the same item 4,333 times.
    let items = vec!["BINARY.PEEK[1]"; 4_333].join(" ");
    let cost = measure(&server, &mut attacker, &format!("FETCH 1 ({items})")).await;
    assert_bounded("BINARY[1] x 4,333", &cost);
    // Distinct partials of one part: the part is decoded once.
    let partials: Vec<String> = (0..2_000)
        .map(|i| format!("BINARY.PEEK[1]<{i}.10>"))
        .collect();
    let cost = measure(
        &server,
        &mut attacker,
        &format!("FETCH 1 ({})", partials.join(" ")),
    )
    .await;
    assert_bounded("2,000 partials of BINARY[1]", &cost);
}
