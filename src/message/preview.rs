//! PREVIEW (RFC 8970): a short plain-text excerpt of a message, computed once when the
//! message is stored and kept in its metadata.
//!
//! The excerpt comes from the first `text/plain` part (else the first `text/html`, as text),
//! decoded; quoted lines (`>`) and everything from a signature separator (`-- `) on are left
//! out, whitespace runs become one space, and it is cut at [`PREVIEW_CHARS`] characters (RFC
//! 8970 section 3.3 asks for at most 200, never more than 256). A message with no readable
//! text gets an empty preview, as section 3.2 requires.

use bytes::Bytes;

use super::meta::Part;
use super::search::part_text;

pub const PREVIEW_CHARS: usize = 200;

pub(super) fn preview(raw: &Bytes, root: &Part) -> String {
    let mut plain = None;
    let mut html = None;
    root.walk(&mut |p| {
        if plain.is_none() && p.content.is("text", "plain") {
            plain = part_text(raw, p);
        } else if html.is_none() && p.content.is("text", "html") {
            html = part_text(raw, p);
        }
    });
    let Some(text) = plain.or(html) else {
        return String::new();
    };
    let mut out = String::new();
    let mut chars = 0;
    for line in text.lines() {
        if line.trim_end() == "--" || line == "-- " {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        for word in line.split_whitespace() {
            let needed = word.chars().count() + usize::from(!out.is_empty());
            if chars + needed > PREVIEW_CHARS {
                let room = PREVIEW_CHARS.saturating_sub(chars + usize::from(!out.is_empty()));
                if room > 0 && out.is_empty() {
                    out.extend(word.chars().take(room));
                }
                return out;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
            chars += needed;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::meta::parse_message;

    fn of(raw: &str) -> String {
        let raw = Bytes::from(raw.to_owned());
        let (root, _) = parse_message(&raw, 0, raw.len());
        preview(&raw, &root)
    }

    #[test]
    fn first_text_part_decoded_without_quotes_signature_or_extra_whitespace() {
        assert_eq!(
            of("Subject: x\r\n\r\nHello   Bob,\r\n> old text\r\n\r\nsee you\r\n-- \r\nAlice\r\n"),
            "Hello Bob, see you"
        );
        let mime = "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
            Content-Type: text/html\r\n\r\n<p>ignored</p>\r\n--b\r\n\
            Content-Type: text/plain; charset=iso-8859-1\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n--b--\r\n";
        assert_eq!(of(mime), "Grüße");
    }

    #[test]
    fn html_only_long_and_empty_messages() {
        let html =
            "Content-Type: text/html\r\n\r\n<html><body><p>Hi <b>there</b></p></body></html>";
        assert_eq!(of(html), "Hi there");
        let long = format!("Subject: x\r\n\r\n{}", "word ".repeat(100));
        let p = of(&long);
        assert!(
            p.chars().count() <= PREVIEW_CHARS && p.ends_with("word"),
            "{p}"
        );
        assert_eq!(of("Content-Type: image/png\r\n\r\nPNG"), "");
        let one_long_word = format!("Subject: x\r\n\r\n{}", "x".repeat(300));
        assert_eq!(of(&one_long_word).chars().count(), PREVIEW_CHARS);
    }
}
