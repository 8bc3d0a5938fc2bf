//! What one session was told about its selected mailbox, and the rules every untagged
//! response must keep (RFC 9051 sections 7.3 and 7.5): counts never lower but by EXPUNGE,
//! sequence numbers stay within what the session was told, UIDs ascend with sequence numbers
//! and never change, and a FETCH shows only keywords a FLAGS response offered.

use std::collections::{BTreeMap, BTreeSet};

use roost_proto::{Code, Data, FetchValue, Flag, Response, Status, StoreAction};

/// Flags as compared: lower-cased names, `\Recent` left out (it is per session).
pub type Flags = BTreeSet<String>;

pub fn flag_names(flags: &[Flag]) -> Flags {
    flags
        .iter()
        .filter(|f| !matches!(f, Flag::Recent | Flag::Wildcard))
        .map(|f| f.as_text().to_ascii_lowercase())
        .collect()
}

/// A rule a response broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Short and stable, for counting: `exists-lowered`, `uid-changed`, ...
    pub kind: &'static str,
    pub detail: String,
}

fn violation(kind: &'static str, detail: String) -> Violation {
    Violation { kind, detail }
}

/// The session's view of its selected mailbox.
#[derive(Debug, Default, Clone)]
pub struct Model {
    /// UID of each sequence number, where the session was told it.
    pub uids: Vec<Option<u32>>,
    /// Flags the session was told of, by UID.
    pub flags: BTreeMap<u32, Flags>,
    /// Keywords offered in FLAGS (lower-cased).
    pub keywords: BTreeSet<String>,
    /// PERMANENTFLAGS includes `\*`.
    pub may_create_keywords: bool,
    /// UIDs the session was told were expunged.
    pub expunged: BTreeSet<u32>,
}

impl Model {
    pub fn exists(&self) -> usize {
        self.uids.len()
    }

    #[cfg(test)]
    pub fn uid_of(&self, seq: u32) -> Option<u32> {
        self.uids
            .get(seq.checked_sub(1)? as usize)
            .copied()
            .flatten()
    }

    /// The UIDs the session knows, in sequence order.
    pub fn known_uids(&self) -> Vec<u32> {
        self.uids.iter().flatten().copied().collect()
    }

    /// What this session changed with `STORE ... .SILENT`: the server does not report it
    /// back (RFC 9051 section 6.4.6), so the session applies it to what it knows itself.
    pub fn stored_silently(&mut self, uids: &[u32], action: StoreAction, flags: &Flags) {
        for uid in uids {
            let Some(known) = self.flags.get_mut(uid) else {
                continue;
            };
            match action {
                StoreAction::Add => known.extend(flags.iter().cloned()),
                StoreAction::Remove => known.retain(|f| !flags.contains(f)),
                StoreAction::Replace => *known = flags.clone(),
            }
        }
    }

    /// Applies one untagged response, returning the rules it broke.
    pub fn apply(&mut self, response: &Response) -> Vec<Violation> {
        match response {
            Response::Data(Data::Exists(n)) => self.exists_now(*n),
            Response::Data(Data::Expunge(n)) => self.expunge(*n),
            Response::Data(Data::Fetch { seq, items }) => self.fetch(*seq, items),
            Response::Data(Data::Flags(flags)) => {
                self.keywords = keywords_of(flags);
                Vec::new()
            }
            Response::Status(Status::Untagged {
                code: Some(Code::PermanentFlags(flags)),
                ..
            }) => {
                self.may_create_keywords = flags.contains(&Flag::Wildcard);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn exists_now(&mut self, n: u32) -> Vec<Violation> {
        let n = n as usize;
        if n < self.uids.len() {
            return vec![violation(
                "exists-lowered",
                format!("EXISTS {n} after {} without EXPUNGE", self.uids.len()),
            )];
        }
        self.uids.resize(n, None);
        Vec::new()
    }

    fn expunge(&mut self, n: u32) -> Vec<Violation> {
        let i = n as usize;
        if i == 0 || i > self.uids.len() {
            return vec![violation(
                "expunge-out-of-range",
                format!("EXPUNGE {n} with {} messages", self.uids.len()),
            )];
        }
        if let Some(uid) = self.uids.remove(i - 1) {
            self.flags.remove(&uid);
            self.expunged.insert(uid);
        }
        Vec::new()
    }

    fn fetch(&mut self, seq: u32, items: &[FetchValue]) -> Vec<Violation> {
        let mut out = Vec::new();
        let i = seq as usize;
        if i == 0 || i > self.uids.len() {
            return vec![violation(
                "fetch-beyond-exists",
                format!("FETCH {seq} with {} messages", self.uids.len()),
            )];
        }
        let uid = items.iter().find_map(|v| match v {
            FetchValue::Uid(u) => Some(*u),
            _ => None,
        });
        if let Some(uid) = uid {
            match self.uids[i - 1] {
                Some(known) if known != uid => out.push(violation(
                    "uid-changed",
                    format!("FETCH {seq} says UID {uid}, the session was told {known}"),
                )),
                _ => {
                    let below = self.uids[..i - 1].iter().rev().flatten().next();
                    let above = self.uids[i..].iter().flatten().next();
                    if below.is_some_and(|&b| b >= uid) || above.is_some_and(|&a| a <= uid) {
                        out.push(violation(
                            "uids-not-ascending",
                            format!("UID {uid} at {seq} between {below:?} and {above:?}"),
                        ));
                    }
                    self.uids[i - 1] = Some(uid);
                }
            }
            if self.expunged.contains(&uid) {
                out.push(violation(
                    "expunged-uid-returns",
                    format!("FETCH {seq} shows UID {uid}, reported expunged"),
                ));
            }
        }
        for v in items {
            if let FetchValue::Flags(flags) = v {
                let names = flag_names(flags);
                for k in names.iter().filter(|n| !n.starts_with('\\')) {
                    if !self.keywords.contains(k) {
                        out.push(violation(
                            "keyword-not-announced",
                            format!("FETCH {seq} shows {k}, not in the last FLAGS"),
                        ));
                    }
                }
                if let Some(uid) = uid.or(self.uids[i - 1]) {
                    self.flags.insert(uid, names);
                }
            }
        }
        out
    }
}

fn keywords_of(flags: &[Flag]) -> BTreeSet<String> {
    flag_names(flags)
        .into_iter()
        .filter(|n| !n.starts_with('\\'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_proto::Atom;

    fn fetch(seq: u32, uid: u32, flags: &[Flag]) -> Response {
        Response::Data(Data::Fetch {
            seq,
            items: vec![FetchValue::Uid(uid), FetchValue::Flags(flags.to_vec())],
        })
    }

    fn kinds(v: Vec<Violation>) -> Vec<&'static str> {
        v.into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn counts_follow_exists_and_expunge() {
        let mut m = Model::default();
        assert!(m.apply(&Response::Data(Data::Exists(3))).is_empty());
        assert_eq!(
            kinds(m.apply(&Response::Data(Data::Exists(2)))),
            ["exists-lowered"]
        );
        assert!(m.apply(&Response::Data(Data::Expunge(3))).is_empty());
        assert_eq!(m.exists(), 2);
        assert_eq!(
            kinds(m.apply(&Response::Data(Data::Expunge(3)))),
            ["expunge-out-of-range"]
        );
        assert_eq!(kinds(m.apply(&fetch(5, 9, &[]))), ["fetch-beyond-exists"]);
    }

    #[test]
    fn uids_ascend_never_change_and_stay_gone() {
        let mut m = Model::default();
        m.apply(&Response::Data(Data::Exists(3)));
        assert!(m.apply(&fetch(1, 10, &[])).is_empty());
        assert!(m.apply(&fetch(3, 30, &[])).is_empty());
        assert_eq!(kinds(m.apply(&fetch(2, 40, &[]))), ["uids-not-ascending"]);
        assert_eq!(kinds(m.apply(&fetch(1, 11, &[]))), ["uid-changed"]);
        m.apply(&Response::Data(Data::Expunge(1)));
        assert_eq!(m.uid_of(2), Some(30));
        m.apply(&Response::Data(Data::Exists(3)));
        assert_eq!(
            kinds(m.apply(&fetch(3, 10, &[]))),
            ["uids-not-ascending", "expunged-uid-returns"]
        );
    }

    #[test]
    fn keywords_must_be_offered_before_a_fetch_shows_them() {
        let mut m = Model::default();
        m.apply(&Response::Data(Data::Exists(1)));
        let work = Flag::Keyword(Atom::new("$Work").unwrap());
        assert_eq!(
            kinds(m.apply(&fetch(1, 1, &[Flag::Seen, work.clone()]))),
            ["keyword-not-announced"]
        );
        m.apply(&Response::Data(Data::Flags(vec![Flag::Seen, work.clone()])));
        assert!(m.apply(&fetch(1, 1, &[work, Flag::Recent])).is_empty());
        assert_eq!(m.flags[&1], Flags::from(["$work".to_owned()]));
    }
}
