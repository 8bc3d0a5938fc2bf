//! Comparing results: one run against the next (`diff`, to see regressions) and one server
//! against another in the same run (`table`, the side-by-side with ratios).
//!
//! Every figure is a flat `name → value` pair ([`Report::flat`]); the name's suffix says which
//! way is better, so the comparison needs no per-scenario knowledge.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::stats::{Report, Results};

/// Which way a figure should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    /// A count or setting, reported but not judged.
    Neutral,
}

impl Direction {
    pub fn of(name: &str) -> Direction {
        const LOWER: [&str; 6] = [
            "_us",
            "_ms",
            "_kib",
            "_per_message",
            ".errors",
            "_per_conn_kib",
        ];
        if name.ends_with("per_sec") || name == "wakeups_seen" {
            Direction::HigherIsBetter
        } else if LOWER.iter().any(|s| name.ends_with(s)) {
            Direction::LowerIsBetter
        } else {
            Direction::Neutral
        }
    }
}

/// How `new` compares with `old` for a figure named `name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    Same,
    Unjudged,
}

/// Judges a change: more than `threshold` (relative, e.g. 0.1 for 10 %) in the good direction
/// is better, in the bad direction worse. Tiny absolute values (under 1 unit) are not judged
/// on their ratio alone (a change must exceed one unit), so 0 → 1 error is a regression
/// but 2 µs → 3 µs is not.
pub fn judge(name: &str, old: f64, new: f64, threshold: f64) -> Verdict {
    let dir = Direction::of(name);
    if dir == Direction::Neutral {
        return Verdict::Unjudged;
    }
    let errors = name.ends_with(".errors");
    let changed = if errors {
        (new - old).abs() >= 1.0 && (old == 0.0 || (new - old).abs() / old > threshold)
    } else if old.abs() < 1e-9 {
        new.abs() > 1e-9
    } else {
        (new - old).abs() / old.abs() > threshold && (new - old).abs() > 1.0
    };
    if !changed {
        return Verdict::Same;
    }
    let up = new > old;
    match (dir, up) {
        (Direction::HigherIsBetter, true) | (Direction::LowerIsBetter, false) => Verdict::Better,
        _ => Verdict::Worse,
    }
}

/// One figure present in both.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: String,
    pub old: f64,
    pub new: f64,
    pub verdict: Verdict,
}

/// The figures of two reports of the same scenario, judged.
pub fn compare_reports(old: &Report, new: &Report, threshold: f64) -> Vec<Change> {
    let (a, b) = (old.flat(), new.flat());
    a.iter()
        .filter_map(|(k, &o)| {
            let &n = b.get(k)?;
            Some(Change {
                key: k.clone(),
                old: o,
                new: n,
                verdict: judge(k, o, n, threshold),
            })
        })
        .collect()
}

fn key(r: &Report) -> (String, String) {
    (r.scenario.clone(), r.target.clone())
}

/// `diff old.json new.json`: for every (scenario, server) in both, the figures that changed by
/// more than `threshold`. Returns the text and the number of regressions.
pub fn diff(old: &Results, new: &Results, threshold: f64) -> (String, usize) {
    let olds: BTreeMap<_, _> = old.runs.iter().map(|r| (key(r), r)).collect();
    let mut out = String::new();
    let mut worse = 0;
    for n in &new.runs {
        let Some(o) = olds.get(&key(n)) else {
            let _ = writeln!(
                out,
                "{} / {}: new (not in the old results)",
                n.scenario, n.target
            );
            continue;
        };
        let changes: Vec<_> = compare_reports(o, n, threshold)
            .into_iter()
            .filter(|c| matches!(c.verdict, Verdict::Better | Verdict::Worse))
            .collect();
        let _ = writeln!(
            out,
            "{} / {}: {} changed by more than {:.0} %",
            n.scenario,
            n.target,
            changes.len(),
            threshold * 100.0
        );
        for c in changes {
            if c.verdict == Verdict::Worse {
                worse += 1;
            }
            let _ = writeln!(
                out,
                "  {:<8} {:<36} {:>14.2} -> {:>14.2} ({:+.1} %)",
                if c.verdict == Verdict::Worse {
                    "WORSE"
                } else {
                    "better"
                },
                c.key,
                c.old,
                c.new,
                percent(c.old, c.new)
            );
        }
    }
    (out, worse)
}

fn percent(old: f64, new: f64) -> f64 {
    if old == 0.0 {
        0.0
    } else {
        (new - old) / old * 100.0
    }
}

/// The headline figures of a scenario, in the order the table shows them.
fn headline(r: &Report) -> Vec<String> {
    let mut keys: Vec<String> = match r.scenario.as_str() {
        s if matches!(s, "mixed" | "append") || s.starts_with("login") => [
            "total.per_sec",
            "total.p50_us",
            "total.p99_us",
            "total.errors",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain(r.commands.keys().map(|c| format!("{c}.p50_us")))
        .collect(),
        _ => vec!["total.errors".to_owned()],
    };
    keys.extend(r.metrics.keys().cloned());
    keys
}

/// `table results.json`: the runs of `base` and `other` side by side per scenario, with the
/// ratio other ÷ base and which one is better. Where a scenario ran several times for a
/// server, the last run counts.
pub fn table(results: &Results, base: &str, other: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:<30} {:>14} {:>14} {:>9}  better",
        "scenario",
        "figure",
        base,
        other,
        format!("{other}/{base}")
    );
    let last = |target: &str, scenario: &str| {
        results
            .runs
            .iter()
            .rev()
            .find(|r| r.target == target && r.scenario == scenario)
    };
    let mut scenarios: Vec<&str> = Vec::new();
    for r in &results.runs {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    for s in scenarios {
        let (Some(a), Some(b)) = (last(base, s), last(other, s)) else {
            continue;
        };
        let (fa, fb) = (a.flat(), b.flat());
        for k in headline(a) {
            let (Some(&va), Some(&vb)) = (fa.get(&k), fb.get(&k)) else {
                continue;
            };
            let ratio = if va == 0.0 { f64::NAN } else { vb / va };
            let better = match judge(&k, va, vb, 0.0) {
                Verdict::Better => other,
                Verdict::Worse => base,
                Verdict::Same => "=",
                Verdict::Unjudged => "",
            };
            let _ = writeln!(
                out,
                "{s:<8} {k:<30} {va:>14.2} {vb:>14.2} {ratio:>9.2}  {better}"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::CommandSummary;

    fn report(target: &str, per_sec: f64, p99: u64, rss: f64) -> Report {
        let mut r = Report::new("mixed", target);
        r.total = CommandSummary {
            count: 100,
            per_sec,
            p50_us: 100,
            p90_us: 200,
            p99_us: p99,
            max_us: 900,
            errors: Default::default(),
        };
        r.metrics.insert("rss_per_conn_kib".into(), rss);
        r
    }

    #[test]
    fn directions_follow_suffixes() {
        assert_eq!(Direction::of("total.per_sec"), Direction::HigherIsBetter);
        assert_eq!(Direction::of("FETCH BODY.p99_us"), Direction::LowerIsBetter);
        assert_eq!(
            Direction::of("rss_bytes_per_message"),
            Direction::LowerIsBetter
        );
        assert_eq!(Direction::of("connections_up"), Direction::Neutral);
    }

    #[test]
    fn judges_with_threshold() {
        assert_eq!(judge("total.per_sec", 1000.0, 850.0, 0.1), Verdict::Worse);
        assert_eq!(judge("total.per_sec", 1000.0, 950.0, 0.1), Verdict::Same);
        assert_eq!(judge("x.p99_us", 5000.0, 4000.0, 0.1), Verdict::Better);
        assert_eq!(judge("total.errors", 0.0, 1.0, 0.1), Verdict::Worse);
        assert_eq!(judge("x.p50_us", 2.0, 3.0, 0.1), Verdict::Same);
    }

    #[test]
    fn diff_counts_regressions() {
        let old = Results {
            runs: vec![report("roost", 1000.0, 5000, 12.0)],
        };
        let new = Results {
            runs: vec![report("roost", 800.0, 4000, 12.1)],
        };
        let (text, worse) = diff(&old, &new, 0.1);
        assert_eq!(worse, 1, "{text}");
        assert!(
            text.contains("WORSE") && text.contains("total.per_sec"),
            "{text}"
        );
        assert!(
            text.contains("better") && text.contains("total.p99_us"),
            "{text}"
        );
        assert!(!text.contains("rss_per_conn_kib"), "{text}");
    }

    #[test]
    fn table_shows_ratio_and_winner() {
        let results = Results {
            runs: vec![
                report("dovecot", 1000.0, 5000, 300.0),
                report("roost", 2000.0, 2500, 12.0),
            ],
        };
        let t = table(&results, "dovecot", "roost");
        let line = t.lines().find(|l| l.contains("total.per_sec")).unwrap();
        assert!(line.contains("2.00") && line.ends_with("roost"), "{line}");
        let line = t.lines().find(|l| l.contains("rss_per_conn_kib")).unwrap();
        assert!(line.contains("0.04") && line.ends_with("roost"), "{line}");
    }
}
