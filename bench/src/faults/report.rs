//! The suite's report: per fault kind, rounds, failover times, client-visible errors by
//! kind, `[SERVERBUG]`s and what the checks found; then the verdict.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::checker::CheckResult;
use super::kinds::Kind;
use super::ledger::ErrorTally;

/// One round's figures.
pub struct Round {
    pub index: usize,
    pub kind: Kind,
    /// Fault → first acknowledged APPEND sent after it, worst account.
    pub failover: Option<Duration>,
    /// The longest time between two acknowledged APPENDs of one account during the round.
    pub max_gap: Duration,
    pub recovered: bool,
    pub errors: ErrorTally,
    pub check: CheckResult,
    pub cold: Option<CheckResult>,
    pub failure: Option<String>,
    pub note: Option<String>,
    pub acked: u64,
    /// ERROR lines the nodes logged during the round and its checks.
    pub server_errors: Vec<String>,
}

/// The log line of a replay that found an owner writing after a newer one
/// (`MailboxRecord::Writer` or `AccountRecord::Writer` epochs going down): two writers.
const TWO_WRITERS: &str = "two writers:";

#[derive(Default)]
struct PerKind {
    rounds: usize,
    failovers: Vec<Duration>,
    max_gap: Duration,
    not_recovered: usize,
    errors: ErrorTally,
    failures: u64,
    stored_after_no: u64,
    resurrected: u64,
    acked: u64,
    notes: Vec<String>,
    server_errors: BTreeMap<String, u64>,
    two_writers: u64,
}

/// An ERROR line without its time stamp, numbers left out so that like lines add up.
fn error_kind(line: &str) -> String {
    let text = line.split_once(" ERROR ").map_or(line, |(_, t)| t);
    // Without the spans (`imap.session{...}:imap.command{...}: `): the target and message.
    let text = text.rsplit_once("}: ").map_or(text, |(_, t)| t);
    text.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .take(110)
        .collect()
}

pub struct Summary {
    pub text: String,
    pub failed: bool,
}

/// The report of all rounds; `strict_no` makes a message stored after NO a failure.
pub fn summarize(
    rounds: &[Round],
    violations: &[String],
    duplicate_uids: u64,
    strict_no: bool,
    setup_note: &str,
) -> Summary {
    let mut kinds: BTreeMap<Kind, PerKind> = BTreeMap::new();
    let mut examples = Vec::new();
    for r in rounds {
        let k = kinds.entry(r.kind).or_default();
        k.rounds += 1;
        k.failovers.extend(r.failover);
        k.max_gap = k.max_gap.max(r.max_gap);
        k.not_recovered += usize::from(!r.recovered);
        k.errors.merge(&r.errors);
        k.acked += r.acked;
        for c in std::iter::once(&r.check).chain(r.cold.as_ref()) {
            k.failures += c.failures();
            k.stored_after_no += c.stored_after_no;
            k.resurrected += c.resurrected;
            for e in &c.examples {
                if examples.len() < 60 {
                    examples.push(format!("round {} ({}): {e}", r.index, r.kind.name()));
                }
            }
        }
        if let Some(f) = &r.failure {
            k.failures += 1;
            examples.push(format!("round {} ({}): {f}", r.index, r.kind.name()));
        }
        for line in &r.server_errors {
            *k.server_errors.entry(error_kind(line)).or_default() += 1;
            if line.contains(TWO_WRITERS) {
                k.two_writers += 1;
                examples.push(format!("round {} ({}): {line}", r.index, r.kind.name()));
            }
        }
        if let Some(n) = &r.note {
            if k.notes.len() < 3 && !k.notes.contains(n) {
                k.notes.push(n.clone());
            }
        }
    }
    // Failures first; the (many) messages stored after NO last.
    examples.sort_by_key(|e| e.contains("though its APPEND got NO"));
    let mut t = String::new();
    let _ = writeln!(t, "## roost-bench faults: {} rounds\n", rounds.len());
    if !setup_note.is_empty() {
        let _ = writeln!(t, "{setup_note}\n");
    }
    let _ = writeln!(
        t,
        "| fault | rounds | acked APPENDs | failover median / max (ms) | longest write gap (ms) | \
         not recovered | losses, corruptions, two writers, failed faults | stored after NO | expunged, back | SERVERBUG |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|");
    let (mut failures, mut serverbugs, mut after_no, mut unrecovered) = (0, 0, 0, 0);
    let mut resurrected = 0;
    for (kind, k) in &kinds {
        let mut f = k.failovers.clone();
        f.sort();
        let median = f
            .get(f.len() / 2)
            .map_or("-".into(), |d| d.as_millis().to_string());
        let max = f.last().map_or("-".into(), |d| d.as_millis().to_string());
        let _ = writeln!(
            t,
            "| {} | {} | {} | {median} / {max} | {} | {} | {} | {} | {} | {} |",
            kind.name(),
            k.rounds,
            k.acked,
            k.max_gap.as_millis(),
            k.not_recovered,
            k.failures + k.two_writers,
            k.stored_after_no,
            k.resurrected,
            k.errors.serverbug
        );
        failures += k.failures + k.two_writers;
        serverbugs += k.errors.serverbug;
        after_no += k.stored_after_no;
        resurrected += k.resurrected;
        unrecovered += k.not_recovered;
    }
    let _ = writeln!(
        t,
        "\nClient-visible errors by fault (count, command and answer):"
    );
    for (kind, k) in &kinds {
        let _ = writeln!(t, "- {}:", kind.name());
        if k.errors.by_kind.is_empty() {
            let _ = writeln!(t, "  - none");
        }
        for (e, n) in &k.errors.by_kind {
            let _ = writeln!(t, "  - {n} × {e}");
        }
        for n in &k.notes {
            let _ = writeln!(t, "  - note: {n}");
        }
        for e in &k.errors.serverbug_examples {
            let _ = writeln!(t, "  - SERVERBUG: {e}");
        }
        for (e, n) in &k.server_errors {
            let _ = writeln!(t, "  - server log: {n} × ERROR {e}");
        }
    }
    if !violations.is_empty() || !examples.is_empty() {
        let _ = writeln!(t, "\nFindings:");
        for v in violations.iter().take(20).chain(examples.iter()) {
            let _ = writeln!(t, "- {v}");
        }
    }
    let failed = failures > 0
        || serverbugs > 0
        || duplicate_uids > 0
        || !violations.is_empty()
        || unrecovered > 0
        || (strict_no && after_no + resurrected > 0);
    let _ = writeln!(
        t,
        "\nVerdict: {} — {failures} losses/corruptions/failed faults, {duplicate_uids} duplicate \
         UIDs, {} other violations, {serverbugs} SERVERBUG, {unrecovered} rounds not \
         recovered, {after_no} messages stored though their APPEND got NO, {resurrected} \
         expunged messages back under a new UID{}.",
        if failed { "FAILED" } else { "passed" },
        violations.len() as u64 - duplicate_uids.min(violations.len() as u64),
        if strict_no {
            " (all failures)"
        } else {
            " (the last two reported, not failures: --lenient-append-no)"
        }
    );
    Summary { text: t, failed }
}
