//! Server memory from /proc: the resident set (`VmRSS`) and the proportional set (`Pss`, shared
//! pages divided among the processes sharing them) of a process and all its descendants.
//!
//! Roost is one process; Dovecot is a master with a login process and an `imap` process per
//! connection, so it is measured as the whole tree. Summed RSS counts a shared library once per
//! process; summed PSS does not, which is why both are reported.

use std::collections::HashMap;

/// Memory of a process tree, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mem {
    pub rss_kib: u64,
    pub pss_kib: u64,
    pub processes: usize,
}

/// The first number after `key` in a `/proc` file of `Key:   123 kB` lines.
pub fn field_kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The parent pid from the text of `/proc/<pid>/stat` (the field after the `(comm)`, which
/// may itself contain spaces and parentheses).
pub fn parent_of(stat: &str) -> Option<u32> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// `pid` and all its descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(parent) = std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .as_deref()
                .and_then(parent_of)
            {
                children.entry(parent).or_default().push(p);
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            out.extend(c);
        }
        i += 1;
    }
    out
}

/// Memory of `pid` and its descendants.
///
/// # Errors
/// When `pid` itself cannot be read (descendants that exit meanwhile are skipped).
pub fn measure(pid: u32) -> anyhow::Result<Mem> {
    std::fs::metadata(format!("/proc/{pid}/status"))
        .map_err(|e| anyhow::anyhow!("server process {pid}: {e}"))?;
    let mut mem = Mem::default();
    for p in tree(pid) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{p}/status")) else {
            continue;
        };
        mem.rss_kib += field_kib(&status, "VmRSS").unwrap_or(0);
        mem.pss_kib += std::fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
            .ok()
            .and_then(|s| field_kib(&s, "Pss"))
            .unwrap_or(0);
        mem.processes += 1;
    }
    Ok(mem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_fields() {
        let status = "Name:\troost\nVmPeak:\t  9000 kB\nVmRSS:\t  4321 kB\n";
        assert_eq!(field_kib(status, "VmRSS"), Some(4321));
        assert_eq!(field_kib(status, "VmSwap"), None);
        let rollup =
            "55d0-7ff [rollup]\nRss:  100 kB\nPss_Dirty: 5 kB\nPss:  80 kB\nPss_Anon: 20 kB\n";
        assert_eq!(field_kib(rollup, "Pss"), Some(80));
        assert_eq!(parent_of("42 (imap (x) y) S 7 42 42 0"), Some(7));
    }

    #[test]
    fn measures_this_process() {
        let mem = measure(std::process::id()).unwrap();
        assert!(mem.rss_kib > 0 && mem.processes >= 1, "{mem:?}");
    }
}
