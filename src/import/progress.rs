//! Progress on stderr: a bar on a terminal (`indicatif`), one plain line per folder otherwise
//! (logs and pipes get no escape codes).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::summary::Counts;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total`: the messages to look at, when the source knows it up front.
    pub fn new(total: Option<u64>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        // Without a total (an mbox file is read once, not counted first): a counter, no bar.
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::new(n),
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} messages ({per_sec}, eta {eta}) {msg}",
            ),
            None => (
                ProgressBar::no_length(),
                "{spinner} [{elapsed_precise}] {pos} messages ({per_sec}) {msg}",
            ),
        };
        let style =
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Progress { bar: Some(bar) }
    }

    /// More messages to look at (a source that learns its size folder by folder).
    pub fn grow(&self, more: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(more);
        }
    }

    pub fn folder(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_owned());
        }
    }

    pub fn advance(&self, messages: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(messages);
        }
    }

    /// A folder is done.
    pub fn folder_done(&self, name: &str, counts: Counts) {
        self.line(&format!("{name}: {counts}"));
    }

    /// A line above the bar, or on its own without one.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("roost import: {text}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
