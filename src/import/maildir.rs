//! Maildir++ as Dovecot and Courier write it: INBOX in `cur/` and `new/` of the root,
//! folders as `.Folder.Sub` directories (modified UTF-7 names, `.` between levels), flags in
//! the `:2,` suffix of each file name, keywords as lowercase letters that the folder's
//! `dovecot-keywords` file names, and the internal date as the file's mtime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use roost_proto::{Atom, DateTime, Flag};

use super::local::{LocalFolder, Sourced};
use super::summary::Failure;
use super::{crlf, Message};
use crate::session::names::DELIMITER;

#[derive(Debug, thiserror::Error)]
pub enum MaildirError {
    #[error("{0} is not a Maildir (it has no cur/ directory)")]
    NotMaildir(PathBuf),
    #[error("cannot read the Maildir directory {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The folders of the Maildir at `root`, INBOX first, each with its messages in Dovecot's
/// UID order where `dovecot-uidlist` gives it.
///
/// # Errors
/// When `root` is not a Maildir or a directory cannot be listed.
pub fn folders(root: &Path) -> Result<Vec<LocalFolder>, MaildirError> {
    if !root.join("cur").is_dir() {
        return Err(MaildirError::NotMaildir(root.to_owned()));
    }
    let mut found = vec![("INBOX".to_owned(), root.to_owned())];
    let mut others = Vec::new();
    for entry in read_dir(root)? {
        let Some(dir_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(levels) = dir_name
            .strip_prefix('.')
            .filter(|l| !l.is_empty() && *l != ".")
        else {
            continue;
        };
        let path = entry.path();
        if path.join("cur").is_dir() {
            others.push((folder_name(levels), path));
        }
    }
    others.sort();
    found.extend(others);
    found
        .into_iter()
        .map(|(name, dir)| folder(name, &dir))
        .collect()
}

/// `Sub.Caf&AOk-` → `Sub/Café`: levels decoded from modified UTF-7 (kept as written when
/// they are not valid), joined with Roost's delimiter.
fn folder_name(levels: &str) -> String {
    let decoded: Vec<String> = levels
        .split('.')
        .map(|level| {
            roost_proto::utf7::decode(level.as_bytes()).unwrap_or_else(|_| level.to_owned())
        })
        .collect();
    decoded.join(&DELIMITER.to_string())
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>, MaildirError> {
    let read = |source| MaildirError::Read {
        path: dir.to_owned(),
        source,
    };
    std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)
}

fn folder(name: String, dir: &Path) -> Result<LocalFolder, MaildirError> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let sub_dir = dir.join(sub);
        if !sub_dir.is_dir() {
            continue;
        }
        for entry in read_dir(&sub_dir)? {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.file_type().is_ok_and(|t| t.is_file()) {
                files.push(entry.path());
            }
        }
    }
    let order = uid_order(dir);
    files.sort_by_cached_key(|path| {
        let name = file_name(path);
        let base = name.split([':', '!']).next().unwrap_or_default().to_owned();
        (order.get(&base).copied().unwrap_or(u32::MAX), name)
    });
    let keywords = keywords(dir);
    Ok(LocalFolder {
        name,
        count: Some(files.len() as u64),
        messages: Box::new(files.into_iter().map(move |path| load(&path, &keywords))),
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Base file name → UID from `dovecot-uidlist` (`UID [extensions] :base` after a header
/// line); empty when there is none.
fn uid_order(dir: &Path) -> HashMap<String, u32> {
    let Ok(text) = std::fs::read_to_string(dir.join("dovecot-uidlist")) else {
        return HashMap::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let (head, base) = line.split_once(':')?;
            let uid = head.split_whitespace().next()?.parse().ok()?;
            Some((base.to_owned(), uid))
        })
        .collect()
}

/// Keyword letters (`a` = 0) → names, from the folder's `dovecot-keywords` (`0 $Forwarded`).
fn keywords(dir: &Path) -> HashMap<u8, Atom> {
    let Ok(text) = std::fs::read_to_string(dir.join("dovecot-keywords")) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let (index, name) = line.split_once(' ')?;
            let index: u8 = index.parse().ok().filter(|i| *i < 26)?;
            Some((b'a' + index, Atom::new(name.trim()).ok()?))
        })
        .collect()
}

/// The flags in a file name's info suffix (`:2,FRSa`).
fn flags(name: &str, keywords: &HashMap<u8, Atom>) -> Vec<Flag> {
    let Some((_, info)) = name.rsplit_once(":2,").or_else(|| name.rsplit_once("!2,")) else {
        return Vec::new();
    };
    info.bytes()
        .filter_map(|letter| match letter {
            b'S' => Some(Flag::Seen),
            b'R' => Some(Flag::Answered),
            b'F' => Some(Flag::Flagged),
            b'T' => Some(Flag::Deleted),
            b'D' => Some(Flag::Draft),
            b'a'..=b'z' => keywords.get(&letter).cloned().map(Flag::Keyword),
            // `P` (passed) has no IMAP flag; Dovecot ignores it as well.
            _ => None,
        })
        .collect()
}

fn load(path: &Path, keywords: &HashMap<u8, Atom>) -> Result<Sourced, Failure> {
    let failure = |reason: std::io::Error| Failure {
        source: path.display().to_string(),
        reason: reason.to_string(),
    };
    let data = std::fs::read(path).map_err(failure)?;
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(failure)?;
    let internal_date = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .map(DateTime::from_unix_timestamp);
    Ok(Sourced {
        source: path.display().to_string(),
        message: Message {
            data: crlf(&data),
            flags: flags(&file_name(path), keywords),
            internal_date,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_letters_become_flags_and_keywords() {
        let keywords = HashMap::from([(b'a', Atom::new("$Forwarded").unwrap())]);
        let got = flags("1.M1P2.host,S=10,W=12:2,DFRSTab", &keywords);
        assert_eq!(
            got,
            [
                Flag::Draft,
                Flag::Flagged,
                Flag::Answered,
                Flag::Seen,
                Flag::Deleted,
                Flag::Keyword(Atom::new("$Forwarded").unwrap()),
            ]
        );
        assert!(flags("1.M1P2.host", &keywords).is_empty());
    }

    #[test]
    fn folder_levels_are_decoded_and_joined_with_the_delimiter() {
        assert_eq!(folder_name("Sub.Caf&AOk-"), "Sub/Café");
        assert_eq!(folder_name("Bad&-x&"), "Bad&-x&");
    }

    #[test]
    fn a_directory_without_cur_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = folders(dir.path()).err().unwrap().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn odd_files_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp", ".Junk.&-bad/cur", "..", ".x./cur"] {
            let _ = std::fs::create_dir_all(dir.path().join(sub));
        }
        std::fs::write(dir.path().join("cur/:2,"), b"").unwrap();
        std::fs::write(dir.path().join("cur/x:2,zzzz"), b"\0\xff\n\n").unwrap();
        std::fs::write(dir.path().join("dovecot-keywords"), b"x y\n99 z\n\n0\n").unwrap();
        std::fs::write(dir.path().join("dovecot-uidlist"), b"\n:\n1\nx :y\n").unwrap();
        for folder in folders(dir.path()).unwrap() {
            let _ = folder.messages.count();
        }
    }
}
