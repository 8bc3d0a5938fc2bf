//! LMTP command lines (RFC 2033, with the RFC 5321 syntax it borrows): parsing only.

/// One client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Lhlo(String),
    /// `HELO`/`EHLO`: SMTP greetings, which an LMTP server must refuse (RFC 2033 section 4.1).
    SmtpHello,
    Mail(MailFrom),
    Rcpt(String),
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
}

/// `MAIL FROM:<path> [params]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailFrom {
    /// The reverse path, without angle brackets; empty for the null sender `<>`.
    pub address: String,
    /// `SIZE=n` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=8BITMIME` / `BINARYMIME` / `7BIT`.
    pub body: Option<String>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
}

/// Why a line is not a command; each maps to one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// `500 5.5.1`
    Unknown,
    /// `501 5.5.4` with the reason.
    Syntax(&'static str),
    /// `555 5.5.4`: a MAIL/RCPT parameter this server does not know.
    Parameter(String),
}

/// Parses one command line (without its CRLF).
///
/// # Errors
/// An unknown verb or malformed arguments.
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let text = std::str::from_utf8(line).map_err(|_| ParseError::Syntax("not UTF-8"))?;
    let (verb, rest) = match text.find(' ') {
        Some(i) => (&text[..i], text[i + 1..].trim_start()),
        None => (text, ""),
    };
    let verb = verb.to_ascii_uppercase();
    let no_args = |cmd: Command| {
        if rest.is_empty() {
            Ok(cmd)
        } else {
            Err(ParseError::Syntax("this command takes no arguments"))
        }
    };
    match verb.as_str() {
        "LHLO" if !rest.is_empty() => Ok(Command::Lhlo(rest.to_owned())),
        "LHLO" => Err(ParseError::Syntax("LHLO needs a domain")),
        "HELO" | "EHLO" => Ok(Command::SmtpHello),
        "MAIL" => mail(rest).map(Command::Mail),
        "RCPT" => rcpt(rest).map(Command::Rcpt),
        "DATA" => no_args(Command::Data),
        "BDAT" => bdat(rest),
        "RSET" => no_args(Command::Rset),
        "NOOP" => Ok(Command::Noop),
        "QUIT" => no_args(Command::Quit),
        "VRFY" => Ok(Command::Vrfy),
        "HELP" => Ok(Command::Help),
        _ => Err(ParseError::Unknown),
    }
}

/// `FROM:<path>` or `TO:<path>` after the verb: the path and what follows it.
fn path<'a>(rest: &'a str, keyword: &str) -> Result<(&'a str, &'a str), ParseError> {
    let Some(head) = rest.get(..keyword.len()) else {
        return Err(ParseError::Syntax(
            "expected FROM:<address> or TO:<address>",
        ));
    };
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(ParseError::Syntax(
            "expected FROM:<address> or TO:<address>",
        ));
    }
    let rest = rest[keyword.len()..].trim_start();
    let rest = rest
        .strip_prefix('<')
        .ok_or(ParseError::Syntax("the address must be in angle brackets"))?;
    let end = rest
        .find('>')
        .ok_or(ParseError::Syntax("the address must be in angle brackets"))?;
    let address = &rest[..end];
    if address.contains(['<', ' ', '\t']) || address.chars().any(char::is_control) {
        return Err(ParseError::Syntax("malformed address"));
    }
    // A source route (`<@a,@b:user@c>`, RFC 5321 section 4.1.2) is accepted and ignored.
    let address = match address.strip_prefix('@') {
        Some(route) => route.split_once(':').map_or("", |(_, a)| a),
        None => address,
    };
    Ok((address, rest[end + 1..].trim()))
}

fn mail(rest: &str) -> Result<MailFrom, ParseError> {
    let (address, params) = path(rest, "FROM:")?;
    let mut from = MailFrom {
        address: address.to_owned(),
        ..MailFrom::default()
    };
    for param in params.split_ascii_whitespace() {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key.to_ascii_uppercase().as_str() {
            "SIZE" => {
                from.size = Some(
                    value
                        .parse()
                        .map_err(|_| ParseError::Syntax("SIZE must be a number"))?,
                );
            }
            "BODY" => match value.to_ascii_uppercase().as_str() {
                v @ ("7BIT" | "8BITMIME" | "BINARYMIME") => from.body = Some(v.to_owned()),
                _ => return Err(ParseError::Parameter(param.to_owned())),
            },
            "SMTPUTF8" if value.is_empty() => from.smtputf8 = true,
            // Delivery status notification parameters (RFC 3461) are accepted and ignored:
            // a delivered message needs no further notice from the final hop.
            "RET" | "ENVID" | "AUTH" => {}
            _ => return Err(ParseError::Parameter(param.to_owned())),
        }
    }
    Ok(from)
}

fn rcpt(rest: &str) -> Result<String, ParseError> {
    let (address, params) = path(rest, "TO:")?;
    for param in params.split_ascii_whitespace() {
        let key = param.split_once('=').map_or(param, |(k, _)| k);
        if !matches!(key.to_ascii_uppercase().as_str(), "NOTIFY" | "ORCPT") {
            return Err(ParseError::Parameter(param.to_owned()));
        }
    }
    if address.is_empty() {
        return Err(ParseError::Syntax("a recipient address is required"));
    }
    Ok(address.to_owned())
}

fn bdat(rest: &str) -> Result<Command, ParseError> {
    let mut words = rest.split_ascii_whitespace();
    let size = words
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(ParseError::Syntax("BDAT needs a size"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(ParseError::Syntax("expected BDAT size [LAST]")),
    };
    if words.next().is_some() {
        return Err(ParseError::Syntax("expected BDAT size [LAST]"));
    }
    Ok(Command::Bdat { size, last })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_case_insensitively_with_parameters() {
        assert_eq!(
            parse(b"lhlo mx.example"),
            Ok(Command::Lhlo("mx.example".into()))
        );
        assert_eq!(
            parse(b"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8"),
            Ok(Command::Mail(MailFrom {
                address: "a@b.example".into(),
                size: Some(1000),
                body: Some("8BITMIME".into()),
                smtputf8: true,
            }))
        );
        assert_eq!(
            parse(b"MAIL FROM:<>"),
            Ok(Command::Mail(MailFrom::default()))
        );
        assert_eq!(
            parse(b"rcpt to:<bob+news@example.org> NOTIFY=NEVER"),
            Ok(Command::Rcpt("bob+news@example.org".into()))
        );
        assert_eq!(
            parse(b"RCPT TO:<@relay.example:bob@example.org>"),
            Ok(Command::Rcpt("bob@example.org".into()))
        );
        assert_eq!(
            parse(b"BDAT 42 LAST"),
            Ok(Command::Bdat {
                size: 42,
                last: true
            })
        );
        assert_eq!(parse(b"EHLO x"), Ok(Command::SmtpHello));
    }

    #[test]
    fn malformed_commands_say_what_is_wrong() {
        assert_eq!(parse(b"FROB"), Err(ParseError::Unknown));
        assert!(matches!(
            parse(b"MAIL FROM:a@b"),
            Err(ParseError::Syntax(_))
        ));
        assert!(matches!(
            parse(b"MAIL FROM:<a@b> SIZE=x"),
            Err(ParseError::Syntax(_))
        ));
        assert!(matches!(
            parse(b"MAIL FROM:<a@b> XFOO=1"),
            Err(ParseError::Parameter(_))
        ));
        assert!(matches!(parse(b"RCPT TO:<>"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"BDAT"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"BDAT 5 NOW"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"DATA now"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(&[0xff, 0xfe]), Err(ParseError::Syntax(_))));
    }
}
