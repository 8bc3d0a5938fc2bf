//! Answers of any length reach every client, in order, with bounded server memory: commands
//! on 10,000 messages and 500 folders, other sessions told of every change, and clients that
//! read slowly or not at all (issue 18).

use std::time::Duration;

use crate::support::{http_get, table, Client, Server};

const MESSAGES: u32 = 10_000;
const HALF: usize = 5_000;

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

/// Reads untagged lines until `n` of them contain `needle` (and returns all read).
async fn read_until_count(client: &mut Client, needle: &str, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    while count(&lines, needle) < n {
        lines.push(client.line().await);
    }
    lines
}

#[actix_rt::test]
async fn commands_on_ten_thousand_messages_answer_in_full_and_reach_an_idling_session() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.seed("INBOX", MESSAGES).await;
    writer.ok("CREATE Kept").await;
    writer.ok("CREATE Bin").await;
    let selected = writer.ok("SELECT INBOX").await;
    assert!(
        selected.contains(&format!("* {MESSAGES} EXISTS\r\n")),
        "{selected:?}"
    );

    let mut idler = Client::logged_in(&server).await;
    idler.ok("SELECT INBOX").await;
    idler.send("i IDLE\r\n").await;
    assert!(idler.line().await.starts_with("+ "));

    // Far more untagged responses than any fixed-size queue holds.
    let stored = writer.ok("STORE 1:5000 +FLAGS (\\Flagged)").await;
    assert_eq!(count(&stored, " FETCH (FLAGS (\\Flagged"), HALF);
    let told = read_until_count(&mut idler, "\\Flagged", HALF).await;
    assert_eq!(count(&told, " FETCH ("), HALF, "one update per message");

    let copied = writer.command("c", "COPY 1:5000 Kept").await;
    assert!(
        copied.last().unwrap().starts_with("c OK [COPYUID "),
        "{copied:?}"
    );

    let moved = writer.ok("UID MOVE 1:5000 Bin").await;
    assert!(moved[0].starts_with("* OK [COPYUID "), "{:?}", moved[0]);
    assert_eq!(count(&moved, " EXPUNGE\r\n"), HALF);
    let told = read_until_count(&mut idler, " EXPUNGE\r\n", HALF).await;
    assert_eq!(count(&told, " EXPUNGE\r\n"), HALF);

    writer.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)").await;
    let expunged = writer.ok("EXPUNGE").await;
    assert_eq!(count(&expunged, " EXPUNGE\r\n"), HALF);
    // The idler hears of the deletions as flag updates first, then of the expunges.
    let told = read_until_count(&mut idler, " EXPUNGE\r\n", HALF).await;
    assert!(count(&told, "\\Deleted") <= HALF);

    idler.send("DONE\r\n").await;
    let done = idler.until_tagged("i").await;
    assert!(done.last().unwrap().starts_with("i OK"), "{done:?}");
    let reselected = idler.ok("SELECT INBOX").await;
    assert!(
        reselected.contains(&"* 0 EXISTS\r\n".to_owned()),
        "{reselected:?}"
    );
    for (mailbox, expected) in [("Kept", HALF), ("Bin", HALF)] {
        let status = writer.ok(&format!("STATUS {mailbox} (MESSAGES)")).await;
        assert_eq!(
            status,
            [format!("* STATUS {mailbox} (MESSAGES {expected})\r\n")]
        );
    }
}

#[actix_rt::test]
async fn list_and_list_status_of_five_hundred_folders_answer_in_full() {
    let server = Server::start();
    let mut client = Client::logged_in(&server).await;
    for i in 0..500 {
        let name = format!("\"Projects/{:02}/Folder {i:03}\"", i % 25);
        client.ok(&format!("CREATE {name}")).await;
        client.ok(&format!("SUBSCRIBE {name}")).await;
    }
    let listed = client.ok("LIST \"\" *").await;
    // Projects, its 25 children and the 500 folders, besides INBOX and the special folders.
    assert_eq!(count(&listed, "Projects"), 1 + 25 + 500);
    assert!(listed.contains(&"* LIST (\\HasNoChildren) \"/\" INBOX\r\n".to_owned()));
    let with_status = client
        .ok("LIST \"\" \"Projects/*\" RETURN (STATUS (MESSAGES UIDNEXT))")
        .await;
    assert_eq!(count(&with_status, "* LIST "), 25 + 500);
    // The 25 intermediate folders were created as real mailboxes too.
    assert_eq!(count(&with_status, "(MESSAGES 0 UIDNEXT 1)"), 25 + 500);
    let lsub = client.ok("LSUB \"\" *").await;
    assert_eq!(count(&lsub, "Projects/"), 500);
    client.ok("NOOP").await;
}

#[actix_rt::test]
async fn an_idling_client_that_stops_reading_costs_bounded_memory_and_keeps_its_news() {
    let server = Server::start();
    let mut writer = Client::logged_in(&server).await;
    writer.seed("INBOX", MESSAGES).await;
    writer.ok("SELECT INBOX").await;
    let mut idler = Client::logged_in(&server).await;
    idler.ok("SELECT INBOX").await;
    idler.send("i IDLE\r\n").await;
    assert!(idler.line().await.starts_with("+ "));

    // Each round tells the idler of 10,000 flag changes (~0.6 MB of FETCH responses); it reads
    // none of them. Once its socket and outbox are full, news waits in its view, one entry per
    // message, so more rounds cost nothing more.
    let round = |n: u32| {
        if n.is_multiple_of(2) {
            "STORE 1:* +FLAGS.SILENT (\\Seen $Round)"
        } else {
            "STORE 1:* -FLAGS.SILENT (\\Seen $Round)"
        }
    };
    for n in 0..6 {
        writer.ok(round(n)).await;
    }
    let settled = server.rss_kib();
    for n in 6..26 {
        writer.ok(round(n)).await;
    }
    let grown = server.rss_kib().saturating_sub(settled);
    assert!(
        grown < 16 * 1024,
        "20 more rounds grew the server by {grown} KiB"
    );
    writer.ok("NOOP").await;

    // Reading again, the idler gets the news and its connection works.
    idler.send("DONE\r\n").await;
    let lines = idler.until_tagged("i").await;
    assert!(lines.last().unwrap().starts_with("i OK"));
    assert!(count(&lines, " FETCH (") >= MESSAGES as usize);
    let fetched = idler.ok("FETCH 10000 (FLAGS)").await;
    assert_eq!(fetched, ["* 10000 FETCH (FLAGS ())\r\n"]);
}

#[actix_rt::test]
async fn a_client_that_never_reads_is_dropped_after_the_write_timeout_and_counted() {
    let server = Server::start_with(|config| {
        table(config, "limits").insert("write_timeout_secs".into(), 2.into());
    });
    let mut writer = Client::logged_in(&server).await;
    // 1 GiB of mail in 8 MiB messages: far more than the kernel's socket buffers hold.
    let body = "x".repeat(1022) + "\r\n";
    let message = format!("Subject: big\r\n\r\n{}", body.repeat(8 * 1024));
    for _ in 0..128 {
        writer
            .ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()))
            .await;
    }
    let before = server.rss_kib();
    let mut stalled = Client::logged_in(&server).await;
    stalled.ok("SELECT INBOX").await;
    stalled.send("f FETCH 1:* BODY.PEEK[]\r\n").await;

    // Meanwhile everyone else is served.
    tokio::time::sleep(Duration::from_secs(1)).await;
    writer.ok("NOOP").await;
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "a stalled FETCH of 1 GiB holds {grown} KiB"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, metrics) = http_get(server.http(), "/metrics").await;
        if metrics.contains("roost_connections_write_timeouts_total 1") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled client was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.wait_for_log(&["read nothing for 2s"]));
    writer.ok("NOOP").await;
}

/// The octets after the `{N}` of a one-item FETCH answer, up to the tagged line.
async fn fetched_literal(client: &mut Client, command: &str) -> (String, String) {
    client.send(format!("l {command}\r\n")).await;
    let header = client.line().await;
    let mut rest = String::new();
    loop {
        let line = client.line().await;
        if line.starts_with("l OK") {
            break;
        }
        rest.push_str(&line);
    }
    (header, rest)
}

#[actix_rt::test]
async fn streamed_bodies_arrive_byte_exact_across_pieces() {
    let server = Server::start();
    let mut client = Client::logged_in(&server).await;
    let body: String = (0..20_000)
        .map(|i| format!("line {i:05} of the body\r\n"))
        .collect();
    let message = format!("Subject: pieces\r\nFrom: a@example.com\r\n\r\n{body}");
    client
        .ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()))
        .await;
    client.ok("SELECT INBOX").await;

    let (header, data) = fetched_literal(&mut client, "FETCH 1 BODY.PEEK[]").await;
    assert_eq!(
        header,
        format!("* 1 FETCH (BODY[] {{{}}}\r\n", message.len())
    );
    assert_eq!(data, format!("{message})\r\n"));

    let (header, data) =
        fetched_literal(&mut client, "FETCH 1 BODY.PEEK[TEXT]<70000.100000>").await;
    assert_eq!(header, "* 1 FETCH (BODY[TEXT]<70000> {100000}\r\n");
    assert_eq!(data, format!("{})\r\n", &body[70_000..170_000]));

    let (header, data) = fetched_literal(&mut client, "FETCH 1 RFC822.HEADER").await;
    assert_eq!(header, "* 1 FETCH (RFC822.HEADER {40}\r\n");
    assert_eq!(data, "Subject: pieces\r\nFrom: a@example.com\r\n\r\n)\r\n");

    // Already \Seen, so RFC822 and RFC822.TEXT add no FLAGS to the answer.
    client.ok("STORE 1 +FLAGS.SILENT (\\Seen)").await;
    let (header, data) = fetched_literal(&mut client, "FETCH 1 RFC822").await;
    assert_eq!(
        header,
        format!("* 1 FETCH (RFC822 {{{}}}\r\n", message.len())
    );
    assert_eq!(data, format!("{message})\r\n"));
    let (header, data) = fetched_literal(&mut client, "FETCH 1 RFC822.TEXT").await;
    assert_eq!(
        header,
        format!("* 1 FETCH (RFC822.TEXT {{{}}}\r\n", body.len())
    );
    assert_eq!(data, format!("{body})\r\n"));
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, group) in data.chunks(3).enumerate() {
        let n = group.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - group.len()));
        for k in 0..4 {
            out.push(if k <= group.len() {
                ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
        if i % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out + "\r\n"
}

/// `BINARY[...]` answers for a one-item FETCH: the literal header and the raw data.
async fn fetched_binary(client: &mut Client, command: &str) -> (String, Vec<u8>) {
    client.send(format!("b {command}\r\n")).await;
    let header = client.line().await;
    let n: usize = header
        .rsplit('{')
        .next()
        .and_then(|t| t.trim_end_matches("}\r\n").parse().ok())
        .unwrap_or_else(|| panic!("no literal in {header:?}"));
    let data = client.octets(n).await;
    assert_eq!(client.line().await, ")\r\n");
    assert!(client.line().await.starts_with("b OK"));
    (header, data)
}

#[actix_rt::test]
async fn large_binary_parts_are_decoded_as_they_are_sent_byte_exact() {
    let server = Server::start();
    let mut client = Client::logged_in(&server).await;
    // 1.5 MB of binary data (with NULs), base64 in a 2 MB part: decoded piece by piece.
    let payload: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(7) % 251) as u8)
        .collect();
    let message = format!(
        "Subject: big attachment\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {}--b--\r\n",
        base64(&payload)
    );
    client
        .ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()))
        .await;
    client.ok("SELECT INBOX").await;

    let (header, data) = fetched_binary(&mut client, "FETCH 1 BINARY.PEEK[1]").await;
    assert_eq!(
        header,
        format!("* 1 FETCH (BINARY[1] ~{{{}}}\r\n", payload.len())
    );
    assert!(data == payload, "the decoded part differs");

    let (header, data) =
        fetched_binary(&mut client, "FETCH 1 BINARY.PEEK[1]<1000000.300000>").await;
    assert_eq!(header, "* 1 FETCH (BINARY[1]<1000000> ~{300000}\r\n");
    assert!(data == payload[1_000_000..1_300_000], "the partial differs");

    let size = client.ok("FETCH 1 BINARY.SIZE[1]").await;
    assert_eq!(
        size,
        [format!("* 1 FETCH (BINARY.SIZE[1] {})\r\n", payload.len())]
    );
}
