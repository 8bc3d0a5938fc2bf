//! Message IDs as the REFERENCES algorithm compares them (RFC 5256 section 3): the text
//! between `<` and `>` with quoting, escapes and white space removed, so that
//! `<"01KF8JCEOCBS0045PS"@xxx.yyy.com>` and `<01KF8JCEOCBS0045PS@xxx.yyy.com>` are one ID.
//! Comparison stays case-sensitive.

/// Every valid msg-id in a header value, in order.
fn all(value: &[u8]) -> impl Iterator<Item = String> + '_ {
    value
        .split(|&b| b == b'<')
        .skip(1)
        .filter_map(|rest| normalize(&rest[..rest.iter().position(|&b| b == b'>')?]))
}

/// `id-left "@" id-right` without quotes, backslashes or white space; `None` when either
/// side is empty.
fn normalize(inner: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        match b {
            _ if escaped => {
                out.push(b);
                escaped = false;
            }
            b'\\' => escaped = true,
            b'"' | b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => out.push(b),
        }
    }
    let at = out.iter().rposition(|&b| b == b'@')?;
    (at > 0 && at + 1 < out.len()).then(|| String::from_utf8_lossy(&out).into_owned())
}

/// The first valid msg-id of a header value (Message-ID, In-Reply-To).
pub(crate) fn first(value: &[u8]) -> Option<String> {
    all(value).next()
}

/// A message's references: the IDs of References when it holds any, else the first ID of
/// In-Reply-To, else none.
pub(crate) fn references(references: Option<&[u8]>, in_reply_to: Option<&[u8]>) -> Vec<String> {
    let refs: Vec<String> = references.map(|r| all(r).collect()).unwrap_or_default();
    if !refs.is_empty() {
        return refs;
    }
    in_reply_to.and_then(first).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_normalised_and_case_kept() {
        assert_eq!(
            first(b"<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>"),
            first(b"<01KF8JCEOCBS0045PS@xxx.yyy.com>")
        );
        assert_eq!(first(b" <A@B> ").as_deref(), Some("A@B"));
        assert_ne!(first(b"<a@b>"), first(b"<A@b>"));
        assert_eq!(first(b"<a\\\"b@c>").as_deref(), Some("a\"b@c"));
    }

    #[test]
    fn invalid_ids_are_skipped() {
        assert_eq!(first(b"no id here"), None);
        assert_eq!(first(b"<nohost@>"), None);
        assert_eq!(first(b"<@noleft>"), None);
        assert_eq!(first(b"<unterminated@x"), None);
        assert_eq!(first(b"<> <x@y>").as_deref(), Some("x@y"));
    }

    #[test]
    fn references_then_in_reply_to() {
        assert_eq!(
            references(Some(b"<a@x> junk <b@x>\r\n <c@x>"), Some(b"<z@x>")),
            ["a@x", "b@x", "c@x"]
        );
        assert_eq!(
            references(Some(b"nothing valid"), Some(b"<z@x> <y@x>")),
            ["z@x"]
        );
        assert_eq!(
            references(None, Some(b"Your message of ... <z@x>")),
            ["z@x"]
        );
        assert!(references(None, None).is_empty());
    }
}
