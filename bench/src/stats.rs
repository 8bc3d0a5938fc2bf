//! Measurements: a latency histogram and error counts per command, merged across client tasks,
//! and the [`Report`] a scenario produces (printed as a table, saved as JSON).
//!
//! Latencies are kept in microseconds in an HDR histogram (3 significant digits, up to one
//! hour), so percentiles are exact to 0.1 % whatever the run length.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::client::ImapError;

/// How a command failed; each is counted separately, none counts as throughput.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Tagged `NO`.
    No,
    /// Tagged `BAD`.
    Bad,
    /// A response that did not parse.
    Parse,
    /// A well-formed answer that is wrong: missing or extra data, a body that fails its digest.
    Unexpected,
    /// Connection refused or closed, `BYE`, read or write failure.
    Io,
    /// No answer in time.
    Timeout,
}

impl ErrorKind {
    pub fn of(e: &ImapError) -> Self {
        match e {
            ImapError::No(_) => ErrorKind::No,
            ImapError::Bad(_) => ErrorKind::Bad,
            ImapError::Parse(_) => ErrorKind::Parse,
            ImapError::Unexpected(_) => ErrorKind::Unexpected,
            ImapError::Io(_) | ImapError::Bye(_) => ErrorKind::Io,
            ImapError::Timeout => ErrorKind::Timeout,
        }
    }
}

/// Samples of error messages kept per run (the counts are always complete).
const ERROR_SAMPLES: usize = 10;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Latencies and errors of one command name.
#[derive(Clone, Debug)]
pub struct CommandStats {
    pub latency: Histogram<u64>,
    pub errors: BTreeMap<ErrorKind, u64>,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            latency: new_histogram(),
            errors: BTreeMap::new(),
        }
    }
}

/// What one client task (or a whole run, after merging) measured.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    pub commands: BTreeMap<String, CommandStats>,
    pub error_samples: Vec<String>,
}

impl Recorder {
    /// A successful command and how long it took.
    pub fn ok(&mut self, command: &str, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        self.entry(command).latency.saturating_record(us);
    }

    /// A failed command.
    pub fn error(&mut self, command: &str, e: &ImapError) {
        *self
            .entry(command)
            .errors
            .entry(ErrorKind::of(e))
            .or_default() += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(format!("{command}: {e}"));
        }
    }

    /// Records the outcome of a command that started at `start`.
    pub fn outcome<T>(
        &mut self,
        command: &str,
        start: std::time::Instant,
        r: &Result<T, ImapError>,
    ) {
        match r {
            Ok(_) => self.ok(command, start.elapsed()),
            Err(e) => self.error(command, e),
        }
    }

    fn entry(&mut self, command: &str) -> &mut CommandStats {
        self.commands.entry(command.to_owned()).or_default()
    }

    pub fn merge(&mut self, other: &Recorder) {
        for (name, s) in &other.commands {
            let mine = self.entry(name);
            mine.latency
                .add(&s.latency)
                .expect("histograms with equal bounds merge");
            for (k, n) in &s.errors {
                *mine.errors.entry(*k).or_default() += n;
            }
        }
        for e in &other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES {
                self.error_samples.push(e.clone());
            }
        }
    }

    /// Summarises the measurements of a run that lasted `elapsed`.
    pub fn summarise(
        &self,
        elapsed: Duration,
    ) -> (BTreeMap<String, CommandSummary>, CommandSummary) {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut total = CommandStats::default();
        let mut per = BTreeMap::new();
        for (name, s) in &self.commands {
            per.insert(name.clone(), CommandSummary::of(s, secs));
            total.latency.add(&s.latency).expect("equal bounds");
            for (k, n) in &s.errors {
                *total.errors.entry(*k).or_default() += n;
            }
        }
        (per, CommandSummary::of(&total, secs))
    }
}

/// Throughput, latency percentiles and errors of one command (or of all together).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandSummary {
    /// Successful commands.
    pub count: u64,
    pub per_sec: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Failed commands by kind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<ErrorKind, u64>,
}

impl CommandSummary {
    fn of(s: &CommandStats, secs: f64) -> Self {
        let h = &s.latency;
        let count = h.len();
        CommandSummary {
            count,
            per_sec: count as f64 / secs,
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
            errors: s.errors.clone(),
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The result of one scenario against one server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `mixed`, `append`, `idle`, `large`, `push`, ...
    pub scenario: String,
    /// Which server this ran against (`--label`, e.g. `roost` or `dovecot`).
    pub target: String,
    /// Unix time the run started.
    pub started: u64,
    pub elapsed_secs: f64,
    /// Settings of the run (clients, users, mix, counts) for the record.
    pub settings: BTreeMap<String, String>,
    pub commands: BTreeMap<String, CommandSummary>,
    pub total: CommandSummary,
    /// Scenario-specific figures (memory per connection, SELECT time, ...). The name's suffix
    /// tells the unit and which way is better (see [`crate::diff::Direction`]).
    pub metrics: BTreeMap<String, f64>,
    pub error_samples: Vec<String>,
}

impl Report {
    pub fn new(scenario: &str, target: &str) -> Self {
        Report {
            scenario: scenario.to_owned(),
            target: target.to_owned(),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            ..Report::default()
        }
    }

    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.settings.insert(key.to_owned(), value.to_string());
    }

    /// Fills in the command figures from what the clients recorded.
    pub fn with_recorder(mut self, rec: &Recorder, elapsed: Duration) -> Self {
        let (commands, total) = rec.summarise(elapsed);
        self.elapsed_secs = elapsed.as_secs_f64();
        self.commands = commands;
        self.total = total;
        self.error_samples = rec.error_samples.clone();
        self
    }

    /// Every figure as a flat `name → value` map, the form [`crate::diff`] compares.
    pub fn flat(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        let mut put = |prefix: &str, s: &CommandSummary| {
            m.insert(format!("{prefix}.per_sec"), s.per_sec);
            m.insert(format!("{prefix}.p50_us"), s.p50_us as f64);
            m.insert(format!("{prefix}.p99_us"), s.p99_us as f64);
            m.insert(format!("{prefix}.errors"), s.error_count() as f64);
        };
        put("total", &self.total);
        for (name, s) in &self.commands {
            put(name, s);
        }
        m.extend(self.metrics.iter().map(|(k, v)| (k.clone(), *v)));
        m
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "== {} against {} ({:.1} s) {}",
            self.scenario,
            self.target,
            self.elapsed_secs,
            self.settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        if !self.commands.is_empty() {
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}",
                "command", "count", "per sec", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
            );
            let rows = self
                .commands
                .iter()
                .map(|(k, v)| (k.as_str(), v))
                .chain(std::iter::once(("TOTAL", &self.total)));
            for (name, s) in rows {
                let _ = writeln!(
                    out,
                    "{:<16} {:>9} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7}",
                    name,
                    s.count,
                    s.per_sec,
                    ms(s.p50_us),
                    ms(s.p90_us),
                    ms(s.p99_us),
                    ms(s.max_us),
                    s.error_count()
                );
            }
        }
        for (k, v) in &self.metrics {
            let _ = writeln!(out, "{k:<32} {v:>14.2}");
        }
        if !self.total.errors.is_empty() {
            let _ = writeln!(out, "errors by kind: {:?}", self.total.errors);
            for e in &self.error_samples {
                let _ = writeln!(out, "  {e}");
            }
        }
        out
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// A file of reports: what `--json` appends to and `diff` / `table` read.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    pub runs: Vec<Report>,
}

impl Results {
    /// Reads a results file; a missing file is an empty one.
    ///
    /// # Errors
    /// When the file exists but cannot be read or is not a results file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(data) => Ok(serde_json::from_slice(&data)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Results::default()),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    /// Adds `report` to the file at `path`.
    ///
    /// # Errors
    /// When the file cannot be read or written.
    pub fn append(path: &std::path::Path, report: Report) -> anyhow::Result<()> {
        let mut all = Results::load(path)?;
        all.runs.push(report);
        std::fs::write(path, serde_json::to_vec_pretty(&all)?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_throughput_and_errors() {
        let mut a = Recorder::default();
        for ms in 1..=100 {
            a.ok("FETCH", Duration::from_millis(ms));
        }
        let mut b = Recorder::default();
        b.ok("APPEND", Duration::from_micros(500));
        b.error("APPEND", &ImapError::No("over quota".into()));
        b.error("FETCH", &ImapError::Unexpected("2 of 3 messages".into()));
        a.merge(&b);

        let (per, total) = a.summarise(Duration::from_secs(10));
        let fetch = &per["FETCH"];
        assert_eq!(fetch.count, 100);
        assert!((fetch.per_sec - 10.0).abs() < 1e-9);
        // 3 significant digits: 50 ms is within 0.1 %.
        assert!(
            (49_950..=50_050).contains(&fetch.p50_us),
            "{}",
            fetch.p50_us
        );
        assert!(
            (98_900..=99_100).contains(&fetch.p99_us),
            "{}",
            fetch.p99_us
        );
        assert!((99_900..=100_100).contains(&fetch.max_us));
        assert_eq!(fetch.errors[&ErrorKind::Unexpected], 1);
        assert_eq!(total.count, 101);
        assert_eq!(total.error_count(), 2);
        assert_eq!(a.error_samples.len(), 2);
    }

    #[test]
    fn report_round_trips_through_json_and_flattens() {
        let mut rec = Recorder::default();
        rec.ok("SELECT", Duration::from_millis(2));
        let mut r = Report::new("mixed", "roost").with_recorder(&rec, Duration::from_secs(1));
        r.metrics.insert("rss_per_conn_kib".into(), 12.5);
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let flat = r.flat();
        assert_eq!(flat["SELECT.per_sec"], 1.0);
        assert_eq!(flat["rss_per_conn_kib"], 12.5);
        assert!(r.table().contains("SELECT"));
    }
}
