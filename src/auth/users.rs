//! The users file: one `name:$argon2id$...` line per user, edited by `roost user` and read by
//! the server.
//!
//! # Format
//! ```text
//! # comments and blank lines are kept as they are
//! alice:$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//! bob:$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>
//! ```
//! After the hash, separated by one space, a user may have stored SCRAM-SHA-256 keys in the
//! RFC 5803 form (`roost user add` and `roost user passwd` write them); files without them
//! load as before, and such users cannot log in with SCRAM until their password is set again.
//! A user may also have quota limits (RFC 9208), which replace the `[quota]` defaults of the
//! configuration for that user: `quota-storage=<KiB>` and `quota-messages=<count>`, each a
//! number or `none` (no limit); a resource a user's line leaves out has no limit
//! (`roost user quota` writes them):
//! ```text
//! carol:$argon2id$... quota-storage=1048576 quota-messages=100000
//! ```
//! Names are case-sensitive and may not contain `:`, whitespace or control characters. A file
//! with any bad line is rejected as a whole, so a half-edited file never silently drops users.
//! Comments survive a load/save cycle because the file keeps its lines in order.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::auth::password;
use crate::auth::scram::ScramKeys;
use crate::store::quota::Limits;

/// The longest user name accepted, in bytes. IMAP itself has no limit; this one keeps log
/// lines and throttle keys small.
pub const MAX_NAME_LEN: usize = 255;

/// What went wrong reading or editing the users file. Display texts never contain hashes.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} line {line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("invalid user name {0:?}: {1}")]
    InvalidName(String, &'static str),
    #[error("user {0} already exists")]
    Exists(String),
    #[error("no such user: {0}")]
    NoSuchUser(String),
}

impl UsersError {
    fn new_io(action: &'static str, path: &Path, source: io::Error) -> Self {
        UsersError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// Whether this is "the file does not exist", which editors treat as an empty file.
    pub fn is_not_found(&self) -> bool {
        matches!(self, UsersError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Checks a user name against the file's rules; the error says which rule failed.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("empty")
    } else if name.len() > MAX_NAME_LEN {
        Err("longer than 255 bytes")
    } else if name.contains(':') {
        Err("contains ':'")
    } else if name.chars().any(char::is_whitespace) {
        Err("contains whitespace")
    } else if name.chars().any(char::is_control) {
        Err("contains a control character")
    } else {
        Ok(())
    }
}

/// One line of the file, kept in order so a save writes back what the admin wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    /// A comment or blank line, verbatim.
    Other(String),
    User {
        name: String,
        phc: String,
        /// SCRAM-SHA-256 keys in the RFC 5803 form, checked when loaded.
        scram: Option<String>,
        /// The user's own quota limits (`quota-*` fields), if any.
        quota: Option<Limits>,
    },
}

const QUOTA_STORAGE: &str = "quota-storage=";
const QUOTA_MESSAGES: &str = "quota-messages=";

/// A `quota-*` value: a number, or `none` for no limit.
fn parse_limit(value: &str) -> Option<Option<u64>> {
    match value {
        "none" => Some(None),
        digits => digits.parse().ok().map(Some),
    }
}

fn render_limit(out: &mut String, key: &str, limit: Option<u64>) {
    out.push(' ');
    out.push_str(key);
    match limit {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("none"),
    }
}

/// The fields after the hash: SCRAM keys and quota limits, in any order.
fn parse_fields(name: &str, fields: &str) -> Result<(Option<String>, Option<Limits>), String> {
    let (mut scram, mut quota) = (None, None::<Limits>);
    for field in fields.split_whitespace() {
        let (key, value) = if let Some(v) = field.strip_prefix(QUOTA_STORAGE) {
            (QUOTA_STORAGE, v)
        } else if let Some(v) = field.strip_prefix(QUOTA_MESSAGES) {
            (QUOTA_MESSAGES, v)
        } else {
            if scram.is_some() || ScramKeys::parse(field).is_none() {
                return Err(format!(
                    "the SCRAM keys of user {name} are not SCRAM-SHA-256 in the RFC 5803 form"
                ));
            }
            scram = Some(field.to_owned());
            continue;
        };
        let limit = parse_limit(value)
            .ok_or_else(|| format!("{key}{value} of user {name}: expected a number or \"none\""))?;
        let limits = quota.get_or_insert_with(Limits::default);
        if key == QUOTA_STORAGE {
            limits.storage_kib = limit;
        } else {
            limits.messages = limit;
        }
    }
    Ok((scram, quota))
}

/// The users file in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsersFile {
    lines: Vec<Line>,
}

impl UsersFile {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// `Io` if the file cannot be read (see [`UsersError::is_not_found`]), `Parse` for the
    /// first bad line.
    pub fn load(path: &Path) -> Result<UsersFile, UsersError> {
        let text = fs::read_to_string(path).map_err(|e| UsersError::new_io("read", path, e))?;
        UsersFile::parse(&text).map_err(|(line, reason)| UsersError::Parse {
            path: path.to_owned(),
            line,
            reason,
        })
    }

    /// Like [`UsersFile::load`], but a missing file is an empty one: for commands that create it.
    pub fn load_or_empty(path: &Path) -> Result<UsersFile, UsersError> {
        match UsersFile::load(path) {
            Err(e) if e.is_not_found() => Ok(UsersFile::default()),
            other => other,
        }
    }

    /// Parses the file's text; the error is a 1-based line number and a reason.
    fn parse(text: &str) -> Result<UsersFile, (usize, String)> {
        let mut file = UsersFile::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                file.lines.push(Line::Other(line.to_owned()));
                continue;
            }
            let fail = |reason: String| Err((index + 1, reason));
            let Some((name, secrets)) = line.split_once(':') else {
                return fail("expected name:hash".into());
            };
            let (phc, fields) = secrets.split_once(' ').unwrap_or((secrets, ""));
            if let Err(why) = check_name(name) {
                return fail(format!("invalid user name: {why}"));
            }
            if file.get(name).is_some() {
                return fail(format!("user {name} is listed twice"));
            }
            if !password::is_valid_phc(phc) {
                return fail(format!("the hash of user {name} is not a PHC string"));
            }
            let (scram, quota) = match parse_fields(name, fields) {
                Ok(parsed) => parsed,
                Err(reason) => return fail(reason),
            };
            file.lines.push(Line::User {
                name: name.to_owned(),
                phc: phc.to_owned(),
                scram,
                quota,
            });
        }
        Ok(file)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                Line::Other(text) => out.push_str(text),
                Line::User {
                    name,
                    phc,
                    scram,
                    quota,
                } => {
                    out.push_str(name);
                    out.push(':');
                    out.push_str(phc);
                    if let Some(keys) = scram {
                        out.push(' ');
                        out.push_str(keys);
                    }
                    if let Some(limits) = quota {
                        render_limit(&mut out, QUOTA_STORAGE, limits.storage_kib);
                        render_limit(&mut out, QUOTA_MESSAGES, limits.messages);
                    }
                }
            }
            out.push('\n');
        }
        out
    }

    /// Writes the file atomically: a temporary file in the same directory, mode 0600, synced,
    /// then renamed over `path`, and the directory synced so the rename survives a crash.
    /// Readers therefore see the old file or the new one, never a partial one.
    ///
    /// # Errors
    /// `Io` naming the step that failed; the original file is then untouched.
    pub fn save(&self, path: &Path) -> Result<(), UsersError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let file_name = path.file_name().ok_or_else(|| {
            UsersError::new_io("save", path, io::Error::other("path has no file name"))
        })?;
        // The pid keeps two concurrent `roost user` runs from writing the same temporary file.
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        // `roost user add` before the first `roost serve`: the data directory may not exist yet.
        fs::create_dir_all(dir).map_err(|e| UsersError::new_io("create directory", dir, e))?;

        let result = (|| {
            // A leftover from a crashed run is removed, and create_new refuses to follow a
            // symlink planted at this name, so the new file is ours and its mode is 0600.
            let _ = fs::remove_file(&tmp);
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options
                .open(&tmp)
                .map_err(|e| UsersError::new_io("create", &tmp, e))?;
            f.write_all(self.render().as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| UsersError::new_io("write", &tmp, e))?;
            fs::rename(&tmp, path).map_err(|e| UsersError::new_io("replace", path, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
            return result;
        }
        // Best effort: some file systems cannot sync a directory, and the data is already safe.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The stored PHC string of `name`, if the user exists.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.lines.iter().find_map(|line| match line {
            Line::User { name: n, phc, .. } if n == name => Some(phc.as_str()),
            _ => None,
        })
    }

    /// The stored SCRAM-SHA-256 keys (RFC 5803 form) of `name`, if it has them.
    pub fn scram(&self, name: &str) -> Option<&str> {
        self.lines.iter().find_map(|line| match line {
            Line::User {
                name: n,
                scram: Some(keys),
                ..
            } if n == name => Some(keys.as_str()),
            _ => None,
        })
    }

    /// The quota limits of `name`'s own line, if it has any.
    pub fn quota(&self, name: &str) -> Option<Limits> {
        self.lines.iter().find_map(|line| match line {
            Line::User {
                name: n,
                quota: Some(limits),
                ..
            } if n == name => Some(*limits),
            _ => None,
        })
    }

    /// Sets (or with `None`, removes) a user's own quota limits.
    ///
    /// # Errors
    /// `NoSuchUser`.
    pub fn set_quota(&mut self, name: &str, limits: Option<Limits>) -> Result<(), UsersError> {
        self.lines
            .iter_mut()
            .find_map(|line| match line {
                Line::User { name: n, quota, .. } if n == name => Some(quota),
                _ => None,
            })
            .map(|quota| *quota = limits)
            .ok_or_else(|| UsersError::NoSuchUser(name.to_owned()))
    }

    /// The user names, in file order.
    pub fn list(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|line| match line {
            Line::User { name, .. } => Some(name.as_str()),
            Line::Other(_) => None,
        })
    }

    pub fn len(&self) -> usize {
        self.list().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a user with an already computed hash (see [`password::hash_password`]).
    ///
    /// # Errors
    /// `InvalidName`, or `Exists` if the name is taken.
    pub fn add(&mut self, name: &str, phc: String) -> Result<(), UsersError> {
        check_name(name).map_err(|why| UsersError::InvalidName(name.to_owned(), why))?;
        if self.get(name).is_some() {
            return Err(UsersError::Exists(name.to_owned()));
        }
        self.lines.push(Line::User {
            name: name.to_owned(),
            phc,
            scram: None,
            quota: None,
        });
        Ok(())
    }

    /// Removes a user.
    ///
    /// # Errors
    /// `NoSuchUser`.
    pub fn remove(&mut self, name: &str) -> Result<(), UsersError> {
        let before = self.lines.len();
        self.lines
            .retain(|line| !matches!(line, Line::User { name: n, .. } if n == name));
        if self.lines.len() == before {
            return Err(UsersError::NoSuchUser(name.to_owned()));
        }
        Ok(())
    }

    /// Replaces a user's hash; stored SCRAM keys, made from the old password, are dropped.
    ///
    /// # Errors
    /// `NoSuchUser`.
    pub fn set_password(&mut self, name: &str, phc: String) -> Result<(), UsersError> {
        let (old, scram) = self.secrets_mut(name)?;
        *old = phc;
        *scram = None;
        Ok(())
    }

    /// Stores SCRAM-SHA-256 keys for a user (after [`UsersFile::add`] or
    /// [`UsersFile::set_password`] with the same password).
    ///
    /// # Errors
    /// `NoSuchUser`.
    pub fn set_scram(&mut self, name: &str, keys: &ScramKeys) -> Result<(), UsersError> {
        *self.secrets_mut(name)?.1 = Some(keys.to_rfc5803());
        Ok(())
    }

    fn secrets_mut(
        &mut self,
        name: &str,
    ) -> Result<(&mut String, &mut Option<String>), UsersError> {
        self.lines
            .iter_mut()
            .find_map(|line| match line {
                Line::User {
                    name: n,
                    phc,
                    scram,
                    ..
                } if n == name => Some((phc, scram)),
                _ => None,
            })
            .ok_or_else(|| UsersError::NoSuchUser(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::DUMMY_HASH;

    fn hash() -> String {
        // Any valid PHC string will do here; hashing for real would only slow the tests.
        DUMMY_HASH.to_owned()
    }

    #[test]
    fn parses_users_comments_and_blank_lines() {
        let text = format!(
            "# users\n\nalice:{h}\r\n  # indented comment\nBob:{h}\n",
            h = hash()
        );
        let file = UsersFile::parse(&text).unwrap();
        assert_eq!(file.list().collect::<Vec<_>>(), ["alice", "Bob"]);
        assert_eq!(file.get("alice"), Some(DUMMY_HASH));
        // Names are case-sensitive.
        assert_eq!(file.get("bob"), None);
    }

    #[test]
    fn rejects_bad_lines_with_their_number() {
        let h = hash();
        let cases = [
            ("alice\n".to_owned(), 1, "expected name:hash"),
            (format!("# x\n:{h}\n"), 2, "empty"),
            (format!("al ice:{h}\n"), 1, "whitespace"),
            (format!("al\u{7}ice:{h}\n"), 1, "control"),
            (format!("alice:{h}\nalice:{h}\n"), 2, "twice"),
            ("alice:plaintext\n".to_owned(), 1, "PHC"),
            ("alice:\n".to_owned(), 1, "PHC"),
            (format!("{}:{h}\n", "a".repeat(256)), 1, "255"),
        ];
        for (text, line, needle) in cases {
            let (got_line, reason) = UsersFile::parse(&text).unwrap_err();
            assert_eq!(got_line, line, "{text:?}");
            assert!(reason.contains(needle), "{reason} should mention {needle}");
        }
    }

    #[test]
    fn quota_fields_load_in_any_order_and_save_back() {
        let text = format!(
            "carol:{DUMMY_HASH} quota-messages=100 quota-storage=none\ndave:{DUMMY_HASH}\n"
        );
        let mut file = UsersFile::parse(&text).unwrap();
        let carol = Limits {
            storage_kib: None,
            messages: Some(100),
        };
        assert_eq!(file.quota("carol"), Some(carol));
        assert_eq!(file.quota("dave"), None);
        let dave = Limits {
            storage_kib: Some(2048),
            messages: None,
        };
        file.set_quota("dave", Some(dave)).unwrap();
        let again = UsersFile::parse(&file.render()).unwrap();
        assert_eq!(
            (again.quota("carol"), again.quota("dave")),
            (Some(carol), Some(dave))
        );
        assert!(file.set_quota("nobody", None).is_err());
        let bad = format!("erin:{DUMMY_HASH} quota-storage=lots\n");
        let (line, reason) = UsersFile::parse(&bad).unwrap_err();
        assert_eq!(line, 1);
        assert!(reason.contains("quota-storage=lots"), "{reason}");
    }

    #[test]
    fn scram_keys_load_beside_the_hash_and_a_new_password_drops_them() {
        let keys = ScramKeys::derive(b"pencil", 4096).unwrap();
        let text = format!(
            "alice:{h} {k}\nbob:{h}\n",
            h = hash(),
            k = keys.to_rfc5803()
        );
        let mut file = UsersFile::parse(&text).unwrap();
        assert_eq!(file.scram("alice"), Some(keys.to_rfc5803().as_str()));
        assert_eq!(file.get("alice"), Some(DUMMY_HASH));
        assert_eq!(file.scram("bob"), None);
        assert_eq!(file.render(), text);
        file.set_scram("bob", &keys).unwrap();
        assert!(file.scram("bob").is_some());
        file.set_password("alice", hash()).unwrap();
        assert_eq!(file.scram("alice"), None);
        let (line, reason) =
            UsersFile::parse(&format!("alice:{} SCRAM-SHA-1$x\n", hash())).unwrap_err();
        assert_eq!(line, 1);
        assert!(reason.contains("RFC 5803"), "{reason}");
    }

    #[test]
    fn parse_errors_do_not_show_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(&path, "alice:$argon2id$secretstuff\n").unwrap();
        let err = UsersFile::load(&path).unwrap_err().to_string();
        assert!(!err.contains("secretstuff"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn non_utf8_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(&path, b"al\xffice:x\n").unwrap();
        assert!(matches!(UsersFile::load(&path), Err(UsersError::Io { .. })));
    }

    #[test]
    fn missing_file_is_not_found_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope");
        assert!(UsersFile::load(&path).unwrap_err().is_not_found());
        assert!(UsersFile::load_or_empty(&path).unwrap().is_empty());
    }

    #[test]
    fn add_remove_set_password() {
        let mut file = UsersFile::default();
        file.add("alice", hash()).unwrap();
        assert!(matches!(
            file.add("alice", hash()),
            Err(UsersError::Exists(_))
        ));
        assert!(matches!(
            file.add("a:b", hash()),
            Err(UsersError::InvalidName(..))
        ));
        file.set_password("alice", "$argon2id$new".into()).unwrap();
        assert_eq!(file.get("alice"), Some("$argon2id$new"));
        assert!(matches!(
            file.set_password("bob", hash()),
            Err(UsersError::NoSuchUser(_))
        ));
        file.remove("alice").unwrap();
        assert!(matches!(
            file.remove("alice"),
            Err(UsersError::NoSuchUser(_))
        ));
        assert_eq!(file.len(), 0);
    }

    #[test]
    fn save_then_load_keeps_comments_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let text = format!("# roost users\nzed:{h}\n\nalice:{h}\n", h = hash());
        fs::write(&path, &text).unwrap();
        let mut file = UsersFile::load(&path).unwrap();
        file.add("mid", hash()).unwrap();
        file.save(&path).unwrap();
        let again = fs::read_to_string(&path).unwrap();
        assert_eq!(again, format!("{text}mid:{}\n", hash()));
        assert_eq!(UsersFile::load(&path).unwrap(), file);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        UsersFile::default().save(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn save_creates_a_missing_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not/yet/there/users");
        UsersFile::default().save(&path).unwrap();
        assert!(path.exists());
    }

    #[test]
    fn save_below_a_plain_file_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("file"), "x").unwrap();
        let err = UsersFile::default()
            .save(&dir.path().join("file/users"))
            .unwrap_err();
        assert!(err.to_string().contains("cannot create"), "{err}");
    }
}
