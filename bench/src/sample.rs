//! The sample mail the load generator appends: a deterministic generator of realistic messages
//! (plain and multipart, a few hundred bytes to tens of kilobytes), the mbox file they can be
//! written to and read back from, and the digest that lets a FETCH of a body be checked.
//!
//! Every generated message carries `X-Bench-Digest:`, a hash of everything after its header
//! block, so a client that fetches `BODY[]` can tell a correct answer from a wrong one without
//! remembering what it appended.

use bytes::Bytes;

/// A small deterministic pseudo-random generator (SplitMix64): the same seed gives the same
/// workload and the same sample mail on every run and every machine.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// FNV-1a, 64 bits: enough to catch a wrong or truncated body, and no dependency.
pub fn digest(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const DIGEST_HEADER: &str = "X-Bench-Digest: ";

/// Checks a fetched `BODY[]` against its `X-Bench-Digest` header.
///
/// # Errors
/// A reason when the message has no header block, no digest header, or a body that does not
/// hash to it.
pub fn verify(message: &[u8]) -> Result<(), String> {
    let split = find(message, b"\r\n\r\n").ok_or("no end of header block")?;
    let (head, body) = (&message[..split + 2], &message[split + 4..]);
    let head = std::str::from_utf8(head).map_err(|_| "header is not UTF-8")?;
    let want = head
        .lines()
        .find_map(|l| l.strip_prefix(DIGEST_HEADER))
        .ok_or("no X-Bench-Digest header")?;
    let got = format!("{:016x}", digest(body));
    if want.trim() == got {
        Ok(())
    } else {
        Err(format!("body digest {got} != header {want}"))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const WORDS: &[&str] = &[
    "meeting",
    "report",
    "quarterly",
    "the",
    "a",
    "and",
    "of",
    "to",
    "server",
    "mail",
    "cluster",
    "please",
    "review",
    "attached",
    "tomorrow",
    "budget",
    "numbers",
    "latency",
    "release",
    "notes",
    "thanks",
    "regards",
    "draft",
    "update",
    "project",
    "schedule",
    "team",
    "customer",
    "invoice",
    "weekend",
    "lunch",
    "deploy",
    "incident",
    "summary",
    "question",
];
const NAMES: &[&str] = &[
    "Alice Archer",
    "Bob Baker",
    "Carol Chen",
    "Dmitri Dvorak",
    "Eve Ebert",
    "Farah Faris",
    "Gunnar Gustafsson",
    "Hana Hirano",
    "Ines Ibarra",
    "Jonas Jensen",
];

/// How big generated messages are.
#[derive(Clone, Copy, Debug)]
pub enum Size {
    /// A realistic spread: most messages a few KB, some tens of KB (mixed workload, APPEND).
    Realistic,
    /// Small messages (~1 KB) for filling very large mailboxes quickly.
    Small,
}

/// The generator of message `n` of a corpus, before its first draw.
fn message_rng(seed: u64, n: u64) -> Rng {
    Rng::new(seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D))
}

/// The message `n` answers, if it is a reply: four in ten are, to one of the 50 before it, so
/// a mailbox has threads for THREAD REFERENCES (and `Re:` subjects for SORT) to work on.
fn parent(seed: u64, n: u64) -> Option<u64> {
    let mut rng = Rng::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0072_6570_6C79);
    (n > 0 && rng.below(10) < 4).then(|| n - 1 - rng.below(n.min(50)))
}

/// The subject of message `n`: a reply's is `Re: ` and its parent's.
fn subject(seed: u64, n: u64) -> String {
    match parent(seed, n) {
        Some(p) => format!("Re: {}", subject(seed, p).trim_start_matches("Re: ")),
        None => {
            let mut rng = message_rng(seed, n);
            rng.pick(NAMES);
            rng.pick(NAMES);
            sentence(&mut rng, 3, 8)
        }
    }
}

fn message_id(seed: u64, n: u64) -> String {
    format!("<bench.{seed:x}.{n}@roost-bench>")
}

/// Generates message number `n` of a corpus; the same `(seed, n)` always gives the same bytes.
pub fn message(seed: u64, n: u64, size: Size) -> Bytes {
    let mut rng = message_rng(seed, n);
    let from = rng.pick(NAMES);
    let to = rng.pick(NAMES);
    let own_subject = sentence(&mut rng, 3, 8);
    let (subject, reply) = match parent(seed, n) {
        Some(p) => {
            let id = message_id(seed, p);
            (
                subject(seed, n),
                format!("In-Reply-To: {id}\r\nReferences: {id}\r\n"),
            )
        }
        None => (own_subject, String::new()),
    };
    let body_len = match size {
        Size::Small => rng.range(200, 900),
        Size::Realistic => match rng.below(100) {
            0..=59 => rng.range(500, 4_000),
            60..=89 => rng.range(4_000, 20_000),
            _ => rng.range(20_000, 60_000),
        },
    } as usize;
    let multipart = matches!(size, Size::Realistic) && rng.below(4) == 0;
    let (content_type, body) = if multipart {
        let boundary = format!("=_bench_{:x}", rng.next_u64());
        let text = paragraphs(&mut rng, body_len / 2);
        let attachment = base64_lines(&mut rng, body_len / 2);
        (
            format!("multipart/mixed; boundary=\"{boundary}\""),
            format!(
                "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
                 --{boundary}\r\nContent-Type: application/octet-stream\r\n\
                 Content-Transfer-Encoding: base64\r\n\
                 Content-Disposition: attachment; filename=\"data-{n}.bin\"\r\n\r\n\
                 {attachment}--{boundary}--\r\n"
            ),
        )
    } else {
        (
            "text/plain; charset=utf-8".to_owned(),
            paragraphs(&mut rng, body_len),
        )
    };
    let day = 1 + n % 28;
    let id = message_id(seed, n);
    let head = format!(
        "From: {from} <{}@example.org>\r\n\
         To: {to} <{}@example.net>\r\n\
         Subject: {subject}\r\n\
         Date: Mon, {day} Jan 2024 10:{:02}:{:02} +0000\r\n\
         Message-ID: {id}\r\n\
         {reply}MIME-Version: 1.0\r\n\
         Content-Type: {content_type}\r\n\
         {DIGEST_HEADER}{:016x}\r\n\r\n",
        local(from),
        local(to),
        n % 60,
        (n / 60) % 60,
        digest(body.as_bytes()),
    );
    Bytes::from(head + &body)
}

fn local(name: &str) -> String {
    name.split(' ')
        .next()
        .unwrap_or("user")
        .to_ascii_lowercase()
}

fn sentence(rng: &mut Rng, min: u64, max: u64) -> String {
    let n = rng.range(min, max);
    let words: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
    let mut s = words.join(" ");
    if let Some(first) = s.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    s
}

/// Text of about `len` bytes in CRLF lines under 78 characters, paragraphs separated by a
/// blank line.
fn paragraphs(rng: &mut Rng, len: usize) -> String {
    let mut out = String::with_capacity(len + 100);
    let mut line = String::new();
    while out.len() + line.len() < len {
        let word = rng.pick(WORDS);
        if line.len() + word.len() + 1 > 72 {
            out.push_str(&line);
            out.push_str(if rng.below(6) == 0 {
                ".\r\n\r\n"
            } else {
                "\r\n"
            });
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out
}

fn base64_lines(rng: &mut Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(len + len / 76 * 2 + 2);
    for i in 0..len.max(4) / 4 * 4 {
        out.push(ALPHABET[rng.below(64) as usize] as char);
        if i % 76 == 75 {
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out
}

/// A generated corpus held in memory, as the messages the workload appends.
#[derive(Clone, Debug)]
pub struct Corpus {
    pub messages: Vec<Bytes>,
}

impl Corpus {
    pub fn generate(seed: u64, count: usize, size: Size) -> Self {
        Corpus {
            messages: (0..count as u64).map(|n| message(seed, n, size)).collect(),
        }
    }

    /// The corpus as an mbox file (mboxrd: `From ` lines quoted with `>`, LF line ends as mbox
    /// files have on disk).
    pub fn to_mbox(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for m in &self.messages {
            out.extend_from_slice(b"From roost-bench@localhost Mon Jan  1 00:00:00 2024\n");
            let text = String::from_utf8_lossy(m).replace("\r\n", "\n");
            for line in text.lines() {
                if line.trim_start_matches('>').starts_with("From ") {
                    out.push(b'>');
                }
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            out.push(b'\n');
        }
        out
    }

    /// Reads an mbox file (as [`Corpus::to_mbox`] writes, or any mboxrd/mboxo file) back into
    /// messages with CRLF line ends, as IMAP wants them.
    pub fn from_mbox(data: &[u8]) -> Self {
        let text = String::from_utf8_lossy(data);
        let mut messages = Vec::new();
        let mut current: Option<String> = None;
        for line in text.split('\n') {
            if line.starts_with("From ") {
                if let Some(m) = current.take() {
                    messages.push(finish_mbox_message(m));
                }
                current = Some(String::new());
                continue;
            }
            if let Some(m) = current.as_mut() {
                let unquoted = match line.strip_prefix('>') {
                    Some(rest) if rest.trim_start_matches('>').starts_with("From ") => rest,
                    _ => line,
                };
                m.push_str(unquoted.trim_end_matches('\r'));
                m.push_str("\r\n");
            }
        }
        if let Some(m) = current {
            messages.push(finish_mbox_message(m));
        }
        Corpus { messages }
    }
}

/// Drops the blank separator line(s) mbox puts before the next `From ` line.
fn finish_mbox_message(mut m: String) -> Bytes {
    while m.ends_with("\r\n\r\n") {
        m.truncate(m.len() - 2);
    }
    Bytes::from(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_deterministic_and_verify() {
        for n in 0..40 {
            let a = message(7, n, Size::Realistic);
            assert_eq!(a, message(7, n, Size::Realistic));
            verify(&a).unwrap();
        }
        assert_ne!(message(7, 1, Size::Small), message(7, 2, Size::Small));
    }

    #[test]
    fn a_changed_body_fails_verification() {
        let mut m = message(1, 3, Size::Small).to_vec();
        let last = m.len() - 3;
        m[last] ^= 1;
        assert!(verify(&m).unwrap_err().contains("digest"));
        assert!(verify(b"no header end").is_err());
    }

    #[test]
    fn mbox_round_trips() {
        let mut corpus = Corpus::generate(3, 25, Size::Realistic);
        // A body line that mbox must quote.
        corpus.messages.push(Bytes::from_static(
            b"Subject: x\r\n\r\nFrom here on\r\n>From quoted\r\nend\r\n",
        ));
        let back = Corpus::from_mbox(&corpus.to_mbox());
        assert_eq!(back.messages, corpus.messages);
    }
}
