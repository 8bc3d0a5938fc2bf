//! SAVEDATE (RFC 8514) over real TCP: the save date is when a message came into its mailbox
//! (APPEND with an old INTERNALDATE, COPY and MOVE all get a new one), it is kept across a
//! restart, and SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED search it.

use std::time::Duration;

use crate::support::{Client, Server};

/// The quoted date-time of `item` in a FETCH line (`SAVEDATE "04-Dec-2026 13:50:00 +0000"`).
fn date_time<'a>(lines: &'a [String], item: &str) -> &'a str {
    let line = lines
        .iter()
        .find(|l| l.contains(item))
        .unwrap_or_else(|| panic!("no {item} in {lines:?}"));
    let rest = &line[line.find(item).unwrap() + item.len() + 1..];
    rest.trim_start_matches('"').split('"').next().unwrap()
}

fn search(lines: &[String]) -> String {
    let line = lines.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    line.trim_end()
        .trim_start_matches("* SEARCH")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn save_dates_are_set_on_arrival_kept_and_searched() {
    let mut server = Server::start();
    let mut c = Client::logged_in(&server).await;
    let caps = c.ok("CAPABILITY").await.concat();
    assert!(caps.contains(" SAVEDATE"), "{caps}");
    let message = "From: a@example.com\r\nSubject: old\r\n\r\nold mail\r\n";
    c.ok(&format!(
        "APPEND INBOX \"01-Jan-2015 18:50:53 +0100\" {{{}+}}\r\n{message}",
        message.len()
    ))
    .await;
    c.ok("SELECT INBOX").await;
    let fetched = c.ok("FETCH 1 (SAVEDATE INTERNALDATE)").await;
    assert_eq!(
        date_time(&fetched, "INTERNALDATE"),
        " 1-Jan-2015 17:50:53 +0000"
    );
    let saved = date_time(&fetched, "SAVEDATE").to_owned();
    assert!(!saved.contains("2015"), "{saved}");
    let day = saved.trim_start().split(' ').next().unwrap().to_owned();

    // RFC 8514 section 4.3 against INTERNALDATE: BEFORE sees 2015, SAVEDBEFORE does not.
    assert_eq!(search(&c.ok("SEARCH BEFORE 1-Jan-2016").await), "1");
    assert_eq!(search(&c.ok("SEARCH SAVEDBEFORE 1-Jan-2016").await), "");
    assert_eq!(search(&c.ok(&format!("SEARCH SAVEDON {day}")).await), "1");
    assert_eq!(
        search(&c.ok(&format!("SEARCH SAVEDSINCE {day}")).await),
        "1"
    );
    assert_eq!(
        search(&c.ok(&format!("SEARCH SAVEDBEFORE {day}")).await),
        ""
    );
    assert_eq!(search(&c.ok("SEARCH SAVEDATESUPPORTED").await), "1");
    assert_eq!(search(&c.ok("UID SEARCH NOT SAVEDATESUPPORTED").await), "");

    // Section 3: a copy gets its own save date; the source keeps its own. The save date
    // has a resolution of one second, so the copy is made in a later second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.ok("COPY 1 Trash").await;
    let source = c.ok("FETCH 1 (SAVEDATE)").await;
    assert_eq!(date_time(&source, "SAVEDATE"), saved);
    c.ok("SELECT Trash").await;
    let copy = c.ok("FETCH 1 (SAVEDATE INTERNALDATE)").await;
    assert_eq!(
        date_time(&copy, "INTERNALDATE"),
        " 1-Jan-2015 17:50:53 +0000"
    );
    let copied = date_time(&copy, "SAVEDATE").to_owned();
    assert_ne!(copied, saved);

    // Kept across a restart (log replay), unchanged.
    drop(c);
    server.restart();
    let mut c = Client::logged_in(&server).await;
    c.ok("SELECT INBOX").await;
    assert_eq!(
        date_time(&c.ok("FETCH 1 (SAVEDATE)").await, "SAVEDATE"),
        saved
    );
    c.ok("SELECT Trash").await;
    assert_eq!(
        date_time(&c.ok("FETCH 1 (SAVEDATE)").await, "SAVEDATE"),
        copied
    );
}
