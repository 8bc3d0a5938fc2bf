//! The base subject of RFC 5256 section 2.1: the subject with reply and forward markers,
//! list tags (`[blob]`) and `(fwd)` trailers removed, used by SUBJECT sorting and by both
//! threading algorithms. Steps (1) to (7) of the RFC are followed literally; the ABNF's
//! literals (`re`, `fw`, `fwd`, `(fwd)`, `[fwd:`) match case-insensitively, as ABNF strings do.

use super::super::search::text::decode_header_value;

/// A subject reduced to its base, and whether the reduction showed it to be a reply or a
/// forward (RFC 5256 section 3, REFERENCES: a `subj-refwd`, a `(fwd)` trailer or a
/// `[fwd: ...]` wrapper was removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseSubject {
    pub text: String,
    pub reply_or_forward: bool,
}

/// The base subject of a raw (unfolded, possibly encoded) Subject header value.
pub(crate) fn of_header(raw: &[u8]) -> BaseSubject {
    base_subject(&decode_header_value(raw))
}

/// Steps (2) to (7) after step (1) on an already decoded subject.
pub(crate) fn base_subject(decoded: &str) -> BaseSubject {
    let mut s = normalize_space(decoded);
    let mut reply_or_forward = false;
    loop {
        // (2) trailers
        loop {
            if s.ends_with([' ', '\t']) {
                s.pop();
            } else if ends_with_ignore_case(&s, "(fwd)") {
                s.truncate(s.len() - "(fwd)".len());
                reply_or_forward = true;
            } else {
                break;
            }
        }
        // (3) to (5): leaders, then one blob if it leaves a base, until nothing changes.
        let mut rest: &str = &s;
        loop {
            let before = rest.len();
            while let Some((after, refwd)) = strip_leader(rest) {
                reply_or_forward |= refwd;
                rest = after;
            }
            if let Some(after) = strip_blob(rest) {
                if after.contains(|c| c != ' ' && c != '\t') {
                    rest = after;
                }
            }
            if rest.len() == before {
                break;
            }
        }
        // (6) `[fwd:` ... `]` wraps the whole remaining subject.
        let wrapped = starts_with_ignore_case(rest, "[fwd:") && rest.ends_with(']');
        s = if wrapped {
            reply_or_forward = true;
            rest["[fwd:".len()..rest.len() - 1].to_owned()
        } else {
            rest.to_owned()
        };
        if !wrapped {
            return BaseSubject {
                text: s,
                reply_or_forward,
            };
        }
    }
}

/// Step (1)'s second half: tabs and line ends become spaces, runs of spaces one space.
fn normalize_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if matches!(c, '\t' | '\r' | '\n') {
            ' '
        } else {
            c
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

fn skip_wsp(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`: the text after it.
fn strip_blob(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let end = inner.find([']', '['])?;
    (inner.as_bytes()[end] == b']').then(|| skip_wsp(&inner[end + 1..]))
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`: the text after it.
fn strip_refwd(s: &str) -> Option<&str> {
    ["re", "fwd", "fw"].into_iter().find_map(|word| {
        if !starts_with_ignore_case(s, word) {
            return None;
        }
        let rest = skip_wsp(&s[word.len()..]);
        let rest = strip_blob(rest).unwrap_or(rest);
        rest.strip_prefix(':')
    })
}

/// `subj-leader = (*subj-blob subj-refwd) / WSP`: the text after it, and whether it was a
/// `subj-refwd`.
fn strip_leader(s: &str) -> Option<(&str, bool)> {
    if let Some(rest) = s.strip_prefix([' ', '\t']) {
        return Some((rest, false));
    }
    let mut rest = s;
    loop {
        if let Some(after) = strip_refwd(rest) {
            return Some((after, true));
        }
        rest = strip_blob(rest)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> String {
        base_subject(s).text
    }

    fn is_refwd(s: &str) -> bool {
        base_subject(s).reply_or_forward
    }

    #[test]
    fn step_1_encoded_words_are_decoded_and_spaces_collapsed() {
        assert_eq!(of_header(b"=?utf-8?q?Re=3A_caf=C3=A9?=").text, "café");
        assert_eq!(
            of_header(b"=?ISO-8859-1?Q?Re:_na=EFve?= =?utf-8?b?ZmluZQ==?=").text,
            "naïvefine"
        );
        assert_eq!(base("a \t  b\r\n c"), "a b c");
    }

    #[test]
    fn step_2_trailers_are_removed_repeatedly() {
        assert_eq!(base("test (fwd)"), "test");
        assert_eq!(base("test (FWD) (fwd)  "), "test");
        assert!(is_refwd("test (fwd)"));
        assert_eq!(base("test(fwd)"), "test");
        assert!(!is_refwd("test  "));
        // Only at the end: `(fwd)` elsewhere stays.
        assert_eq!(base("(fwd) test"), "(fwd) test");
    }

    #[test]
    fn step_3_leaders_re_fw_fwd_with_blobs_and_spaces() {
        assert_eq!(base("Re: test"), "test");
        assert_eq!(base("RE:test"), "test");
        assert_eq!(base("re : test"), "test");
        assert_eq!(base("Fw: test"), "test");
        assert_eq!(base("FWD: test"), "test");
        assert_eq!(base("Re: Re: Fwd: test"), "test");
        assert_eq!(base("Re[2]: test"), "test");
        assert_eq!(base("Re [list]: test"), "test");
        assert_eq!(base("[list] Re: test"), "test");
        assert_eq!(base("[a][b] Re: [c] fw: test"), "test");
        assert!(is_refwd("Re: test"));
        assert!(is_refwd("[list] Fwd: test"));
        // Not leaders: no colon, another word, a blob with `[` inside.
        assert_eq!(base("Re test"), "Re test");
        assert_eq!(base("Rep: test"), "Rep: test");
        assert_eq!(base("Ré: test"), "Ré: test");
        assert_eq!(base("Re [a[b]: test"), "Re [a[b]: test");
        assert!(!is_refwd("Rep: test"));
    }

    #[test]
    fn step_4_a_blob_is_removed_only_when_a_base_remains() {
        assert_eq!(base("[list] test"), "test");
        assert_eq!(base("[list]test"), "test");
        assert_eq!(base("[list]"), "[list]");
        assert_eq!(base("[a] [b]"), "[b]");
        assert_eq!(base("[list]   "), "[list]");
        assert!(!is_refwd("[list] test"));
    }

    #[test]
    fn step_5_leaders_and_blobs_alternate_until_none_remain() {
        assert_eq!(base("[list] Re: [other] Re: test"), "test");
        assert_eq!(base("Re: [list] Re: test"), "test");
        assert_eq!(base("[a] [b] Re: c"), "c");
    }

    #[test]
    fn step_6_fwd_wrappers_are_removed_and_steps_repeat() {
        assert_eq!(base("[fwd: test]"), "test");
        assert_eq!(base("[FWD: Re: test (fwd)]"), "test");
        assert_eq!(base("Re: [fwd: [fwd: test]] (fwd)"), "test");
        assert!(is_refwd("[fwd: test]"));
        // Must wrap the whole rest; a leading `[fwd: ...]` is otherwise a blob (step 4).
        assert_eq!(base("[fwd: test"), "[fwd: test");
        assert_eq!(base("[fwd: test] more"), "more");
    }

    #[test]
    fn empty_and_degenerate_subjects() {
        assert_eq!(base(""), "");
        assert_eq!(base("Re:"), "");
        assert_eq!(base("   "), "");
        assert_eq!(base("[fwd:]"), "");
        assert_eq!(base("["), "[");
        assert_eq!(base("]"), "]");
        assert_eq!(base("Re: ["), "[");
    }
}
