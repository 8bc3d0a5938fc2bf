//! RFC 5322 address lists parsed into ENVELOPE addresses (RFC 9051 section 7.5.2):
//! `(name adl mailbox host)`, groups as a start marker, members and an end marker.
//!
//! Works on raw header bytes and keeps them as they are (8-bit bytes, undecoded encoded-words):
//! decoding is the client's job in ENVELOPE, and the writer chooses quoting. The parser never
//! fails; what it cannot make sense of becomes a best-effort address, following the c-client
//! and Dovecot conventions for missing parts.

use serde::{Deserialize, Serialize};

use super::header::unfold;

/// Host of an address that has none (c-client and Dovecot write the same), so that a missing
/// domain is not mistaken for a group marker (`host` NIL).
pub(crate) const MISSING_HOST: &[u8] = b".MISSING-HOST-NAME.";
/// Mailbox of an address that has none (`Name <>` or a bare phrase).
pub(crate) const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";

/// One ENVELOPE address (or group marker), as stored in the metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Addr {
    pub name: Option<Vec<u8>>,
    pub adl: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// An atom (any run of non-special bytes) or a quoted string, unquoted.
    Word(Vec<u8>),
    Special(u8),
    /// `[...]` kept with its brackets.
    Literal(Vec<u8>),
    Comment(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// Whether blanks preceded it: phrases are rebuilt with the spacing they had.
    space_before: bool,
}

fn tokenize(s: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < s.len() {
        let b = s[i];
        let kind = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                i += 1;
                continue;
            }
            b'"' => {
                let (v, next) = delimited(s, i + 1, b'"', None);
                i = next;
                Kind::Word(v)
            }
            b'(' => {
                let (v, next) = delimited(s, i + 1, b')', Some(b'('));
                i = next;
                Kind::Comment(v)
            }
            b'[' => {
                let start = i;
                i = s[i..]
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(s.len(), |p| i + p + 1);
                Kind::Literal(s[start..i].to_vec())
            }
            b'<' | b'>' | b':' | b';' | b'@' | b',' | b'.' => {
                i += 1;
                Kind::Special(b)
            }
            b')' | b']' => {
                i += 1;
                continue;
            }
            _ => {
                let start = i;
                while i < s.len() && !b" \t\r\n\"()[]<>:;@,.".contains(&s[i]) {
                    i += 1;
                }
                Kind::Word(s[start..i].to_vec())
            }
        };
        out.push(Token {
            kind,
            space_before: space,
        });
        space = false;
    }
    out
}

/// Reads up to the closing `close` (handling `\` escapes and, for comments, nesting).
fn delimited(s: &[u8], mut i: usize, close: u8, open: Option<u8>) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 0usize;
    while i < s.len() {
        let b = s[i];
        i += 1;
        if b == b'\\' {
            if let Some(&n) = s.get(i) {
                out.push(n);
                i += 1;
            }
        } else if Some(b) == open {
            depth += 1;
            out.push(b);
        } else if b == close {
            if depth == 0 {
                break;
            }
            depth -= 1;
            out.push(b);
        } else {
            out.push(b);
        }
    }
    (out, i)
}

fn is_special(t: &Token, c: u8) -> bool {
    t.kind == Kind::Special(c)
}

/// Parses a whole address-list header value (From, To, ...). Empty when nothing parses.
pub(crate) fn parse_list(value: &[u8]) -> Vec<Addr> {
    let toks = tokenize(&unfold(value));
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if is_special(&toks[i], b',') || is_special(&toks[i], b';') {
            i += 1;
            continue;
        }
        let end = item_end(&toks, i, false);
        // A `:` before any `<` or `@` makes this item a group.
        let colon = toks[i..end]
            .iter()
            .position(|t| matches!(t.kind, Kind::Special(b':' | b'<' | b'@')));
        match colon.map(|p| (p, &toks[i + p].kind)) {
            Some((p, Kind::Special(b':'))) => {
                let name = phrase(&toks[i..i + p]);
                out.push(Addr {
                    name: None,
                    adl: None,
                    mailbox: Some(name),
                    host: None,
                });
                i += p + 1;
                loop {
                    while i < toks.len() && is_special(&toks[i], b',') {
                        i += 1;
                    }
                    if i >= toks.len() {
                        break;
                    }
                    if is_special(&toks[i], b';') {
                        i += 1;
                        break;
                    }
                    let end = item_end(&toks, i, true);
                    out.extend(mailbox(&toks[i..end]));
                    i = end;
                }
                out.push(Addr::default());
            }
            _ => {
                out.extend(mailbox(&toks[i..end]));
                i = end;
            }
        }
    }
    out
}

/// The end of the item starting at `i`: the next `,` (or `;` inside a group) outside `<>`.
/// Outside a group, a `:` before any `<`/`@` starts one, so the item runs to its `;`.
fn item_end(toks: &[Token], i: usize, in_group: bool) -> usize {
    let mut angle = false;
    let mut group = false;
    for (j, t) in toks.iter().enumerate().skip(i) {
        match t.kind {
            Kind::Special(b'<') => angle = true,
            Kind::Special(b'>') => angle = false,
            Kind::Special(b':') if !angle && !in_group => group = true,
            Kind::Special(b',') if !angle && !group => return j,
            Kind::Special(b';') if in_group && !angle => return j,
            Kind::Special(b';') if group => return j + 1,
            _ => {}
        }
    }
    toks.len()
}

/// Rebuilds a phrase (display name, group name) from its words, with single blanks where
/// the header had blanks; comments are dropped.
fn phrase(toks: &[Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in toks {
        let bytes: &[u8] = match &t.kind {
            Kind::Word(w) => w,
            Kind::Literal(l) => l,
            Kind::Special(c) => std::slice::from_ref(c),
            Kind::Comment(_) => continue,
        };
        if t.space_before && !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(bytes);
    }
    out
}

/// One mailbox: `[phrase] <[route:]addr-spec>` or `addr-spec [(comment)]`.
fn mailbox(toks: &[Token]) -> Option<Addr> {
    if toks.iter().all(|t| matches!(t.kind, Kind::Comment(_))) {
        return None;
    }
    let comment_name = || {
        toks.iter().rev().find_map(|t| match &t.kind {
            Kind::Comment(c) if !c.is_empty() => Some(c.clone()),
            _ => None,
        })
    };
    if let Some(lt) = toks.iter().position(|t| is_special(t, b'<')) {
        let gt = toks[lt..]
            .iter()
            .position(|t| is_special(t, b'>'))
            .map_or(toks.len(), |p| lt + p);
        let name = phrase(&toks[..lt]);
        let mut inner = &toks[lt + 1..gt];
        let mut adl = None;
        if inner.first().is_some_and(|t| is_special(t, b'@')) {
            if let Some(colon) = inner.iter().position(|t| is_special(t, b':')) {
                adl = Some(concat(&inner[..colon]));
                inner = &inner[colon + 1..];
            }
        }
        let (mailbox, host) = addr_spec(inner);
        return Some(Addr {
            name: if name.is_empty() { None } else { Some(name) },
            adl,
            mailbox: Some(mailbox),
            host: Some(host),
        });
    }
    let (mailbox, host) = addr_spec(toks);
    Some(Addr {
        name: comment_name(),
        adl: None,
        mailbox: Some(mailbox),
        host: Some(host),
    })
}

/// `local-part "@" domain` → (mailbox, host), with the missing-part conventions.
fn addr_spec(toks: &[Token]) -> (Vec<u8>, Vec<u8>) {
    let toks: Vec<&Token> = toks
        .iter()
        .filter(|t| !matches!(t.kind, Kind::Comment(_)))
        .collect();
    let at = toks.iter().rposition(|t| is_special(t, b'@'));
    let (local, domain) = match at {
        Some(at) => (&toks[..at], &toks[at + 1..]),
        None => (&toks[..], &toks[..0]),
    };
    let local = concat_refs(local);
    let domain = concat_refs(domain);
    (
        if local.is_empty() {
            MISSING_MAILBOX.to_vec()
        } else {
            local
        },
        if domain.is_empty() {
            MISSING_HOST.to_vec()
        } else {
            domain
        },
    )
}

fn concat(toks: &[Token]) -> Vec<u8> {
    concat_refs(&toks.iter().collect::<Vec<_>>())
}

/// Joins tokens without blanks (local parts, domains, routes).
fn concat_refs(toks: &[&Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in toks {
        match &t.kind {
            Kind::Word(w) | Kind::Literal(w) => out.extend_from_slice(w),
            Kind::Special(c) => out.push(*c),
            Kind::Comment(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mailbox: &str, host: &str) -> Addr {
        Addr {
            name: name.map(|n| n.as_bytes().to_vec()),
            adl: None,
            mailbox: Some(mailbox.as_bytes().to_vec()),
            host: Some(host.as_bytes().to_vec()),
        }
    }

    #[test]
    fn name_addr_and_addr_spec() {
        assert_eq!(
            parse_list(b"\"Doe, John\" <john@example.com>, jane@example.org (Jane Q. Doe)"),
            vec![
                a(Some("Doe, John"), "john", "example.com"),
                a(Some("Jane Q. Doe"), "jane", "example.org"),
            ]
        );
        assert_eq!(
            parse_list(b"John Q. Public <JQP@x.test>"),
            vec![a(Some("John Q. Public"), "JQP", "x.test")]
        );
    }

    #[test]
    fn encoded_words_and_8bit_stay_raw() {
        assert_eq!(
            parse_list(b"=?utf-8?q?J=C3=B6rg?= <j@x.de>"),
            vec![a(Some("=?utf-8?q?J=C3=B6rg?="), "j", "x.de")]
        );
        let v = parse_list(b"J\xc3\xb6rg <j@x.de>");
        assert_eq!(v[0].name.as_deref(), Some(&b"J\xc3\xb6rg"[..]));
    }

    #[test]
    fn groups_have_start_and_end_markers() {
        let v = parse_list(b"A Group: a@x, B <b@y>; c@z, undisclosed-recipients:;");
        let start = Addr {
            mailbox: Some(b"A Group".to_vec()),
            ..Addr::default()
        };
        assert_eq!(
            v,
            vec![
                start,
                a(None, "a", "x"),
                a(Some("B"), "b", "y"),
                Addr::default(),
                a(None, "c", "z"),
                Addr {
                    mailbox: Some(b"undisclosed-recipients".to_vec()),
                    ..Addr::default()
                },
                Addr::default(),
            ]
        );
    }

    #[test]
    fn route_and_missing_parts() {
        let v = parse_list(b"<@a.test,@b.test:user@c.test>");
        assert_eq!(v[0].adl.as_deref(), Some(&b"@a.test,@b.test"[..]));
        assert_eq!(v[0].mailbox.as_deref(), Some(&b"user"[..]));
        assert_eq!(
            parse_list(b"nobody"),
            vec![a(None, "nobody", ".MISSING-HOST-NAME.")]
        );
        assert_eq!(
            parse_list(b"Name <>"),
            vec![a(Some("Name"), "MISSING_MAILBOX", ".MISSING-HOST-NAME.")]
        );
        assert!(parse_list(b"  ").is_empty());
        assert!(parse_list(b",,(just a comment)").is_empty());
        assert_eq!(
            parse_list(b"\"quoted local\"@x.test"),
            vec![a(None, "quoted local", "x.test")]
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            &b"<<<>>>"[..],
            b"a:b:c;;",
            b"@",
            b"\"unterminated",
            b"(((",
            b"<a@b",
            b":;",
        ] {
            let _ = parse_list(s);
        }
    }
}
