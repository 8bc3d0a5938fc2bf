//! What an import did: counted per folder as it goes, printed at the end.

use std::fmt;

/// A message or folder that could not be imported, and why.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The file, folder or source UID it came from.
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub imported: u64,
    /// Already in the destination folder (an earlier run, or the same mail imported twice).
    pub skipped: u64,
    pub failed: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.imported += other.imported;
        self.skipped += other.skipped;
        self.failed += other.failed;
    }

    pub fn total(&self) -> u64 {
        self.imported + self.skipped + self.failed
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} imported, {} skipped as already present, {} failed",
            self.imported, self.skipped, self.failed
        )
    }
}

#[derive(Debug, Default)]
pub struct Summary {
    pub folders: usize,
    pub messages: Counts,
    pub failures: Vec<Failure>,
}

impl Summary {
    pub fn fail(&mut self, source: impl Into<String>, reason: impl fmt::Display) {
        self.failures.push(Failure {
            source: source.into(),
            reason: reason.to_string(),
        });
    }

    /// Whether everything was imported or found present.
    pub fn complete(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} folders; messages: {}", self.folders, self.messages)?;
        for failure in &self.failures {
            writeln!(f, "  failed: {}: {}", failure.source, failure.reason)?;
        }
        Ok(())
    }
}
