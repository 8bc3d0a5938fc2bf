//! The client messages of OAUTHBEARER (RFC 7628 section 3.1) and XOAUTH2, and the JSON error
//! each sends back when a token is refused (RFC 7628 section 3.2.2; Google's XOAUTH2 protocol
//! answers the same way).
//!
//! ```text
//! OAUTHBEARER: gs2-header kvsep *kvpair kvsep      n,a=user@example.com,^Aauth=Bearer T^A^A
//! XOAUTH2:     *kvpair kvsep                       user=user@example.com^Aauth=Bearer T^A^A
//! kvpair = key "=" value kvsep;  kvsep = %x01
//! ```
//!
//! Like the PLAIN parser, failure reasons never quote client data.

use roost_proto::Secret;

use crate::auth::sasl::SaslStep;

const KVSEP: char = '\x01';

/// The two bearer-token mechanisms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerMechanism {
    OAuthBearer,
    XOAuth2,
}

impl BearerMechanism {
    /// Both, as advertised: RFC 7628's first (K-9 prefers it).
    pub const ALL: [BearerMechanism; 2] = [BearerMechanism::OAuthBearer, BearerMechanism::XOAuth2];

    pub fn name(self) -> &'static str {
        match self {
            BearerMechanism::OAuthBearer => "OAUTHBEARER",
            BearerMechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// The mechanism named `name` (case-insensitive), if it is one of the two.
    pub fn from_name(name: &str) -> Option<BearerMechanism> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The JSON error sent as a challenge after a refused token, before the tagged `NO`.
    pub fn error_challenge(self) -> Vec<u8> {
        let json: &[u8] = match self {
            // The status is from the OAuth Extensions Error Registry (RFC 6750 section 3.1).
            BearerMechanism::OAuthBearer => br#"{"status":"invalid_token","schemes":"bearer"}"#,
            // Google sends the HTTP status code as a string.
            BearerMechanism::XOAuth2 => br#"{"status":"401","schemes":"bearer"}"#,
        };
        json.to_vec()
    }
}

/// A bearer token and the user the client claims to be, still unverified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BearerCredentials {
    pub mechanism: BearerMechanism,
    /// OAUTHBEARER's authzid or XOAUTH2's `user`, when sent: the token's user must be this one.
    pub user: Option<String>,
    pub token: Secret<String>,
}

/// One bearer exchange. Each state is named for what it waits for.
#[derive(Debug)]
pub enum BearerExchange {
    /// Before the first step.
    Start(BearerMechanism),
    /// After an empty challenge (the client sent no initial response): waits for the message.
    ExpectMessage(BearerMechanism),
    /// The message was handed over for verification; the exchange is over unless the token is
    /// refused.
    Verifying(BearerMechanism),
    /// After the JSON error: waits for the client's dummy response (`%x01`).
    ExpectErrorAck,
    /// Any further step fails.
    Finished,
}

impl BearerExchange {
    pub fn new(mechanism: BearerMechanism) -> BearerExchange {
        BearerExchange::Start(mechanism)
    }

    /// Feeds the client's next response (see `SaslExchange::step`).
    pub fn step(&mut self, response: Option<&[u8]>) -> SaslStep {
        let state = std::mem::replace(self, BearerExchange::Finished);
        match (state, response) {
            (BearerExchange::Start(m), None) => {
                *self = BearerExchange::ExpectMessage(m);
                SaslStep::Challenge(Vec::new())
            }
            (BearerExchange::Start(m) | BearerExchange::ExpectMessage(m), Some(message)) => {
                match parse(m, message) {
                    Ok(credentials) => {
                        *self = BearerExchange::Verifying(m);
                        SaslStep::Bearer(credentials)
                    }
                    Err(reason) => SaslStep::Failed(reason.into()),
                }
            }
            // RFC 7628 section 3.2.3 asks for `%x01`; K-9 sends an empty line. Either ends it.
            (BearerExchange::ExpectErrorAck, Some(_)) => SaslStep::Rejected,
            (BearerExchange::ExpectMessage(_) | BearerExchange::ExpectErrorAck, None) => {
                SaslStep::Failed("expected a response to the challenge".into())
            }
            (BearerExchange::Verifying(_) | BearerExchange::Finished, _) => {
                SaslStep::Failed("authentication exchange already finished".into())
            }
        }
    }

    /// The token was refused: returns the JSON error to send as a challenge, after which the
    /// exchange waits for the client's dummy response. `None` if no token was being verified.
    pub fn token_refused(&mut self) -> Option<Vec<u8>> {
        let BearerExchange::Verifying(m) = *self else {
            return None;
        };
        *self = BearerExchange::ExpectErrorAck;
        Some(m.error_challenge())
    }
}

/// Parses a whole client message of `mechanism`.
///
/// # Errors
/// A reason that does not quote the message.
pub fn parse(
    mechanism: BearerMechanism,
    message: &[u8],
) -> Result<BearerCredentials, &'static str> {
    let text = std::str::from_utf8(message).map_err(|_| "malformed bearer message: not UTF-8")?;
    let (user, pairs) = match mechanism {
        BearerMechanism::OAuthBearer => {
            let (header, rest) = text
                .split_once(KVSEP)
                .ok_or("malformed OAUTHBEARER message: no key/value section")?;
            (gs2_authzid(header)?, kvpairs(rest)?)
        }
        BearerMechanism::XOAuth2 => {
            let pairs = kvpairs(text)?;
            let user = lookup(&pairs, "user")?.map(str::to_owned);
            (user, pairs)
        }
    };
    let auth = lookup(&pairs, "auth")?.ok_or("malformed bearer message: no auth value")?;
    let token = bearer_token(auth)?;
    if user.as_deref() == Some("") {
        return Err("malformed bearer message: empty user name");
    }
    Ok(BearerCredentials {
        mechanism,
        user,
        token: Secret::new(token.to_owned()),
    })
}

/// The authzid of a GS2 header (RFC 5801 section 4), which must be the whole of `header`
/// less its final `,`: `gs2-cbind-flag "," [ "a=" saslname ] ","`. Channel binding (`p=`)
/// is refused: these mechanisms define none.
fn gs2_authzid(header: &str) -> Result<Option<String>, &'static str> {
    let rest = header
        .strip_suffix(',')
        .ok_or("malformed GS2 header: no final comma")?;
    let (flag, authzid) = rest
        .split_once(',')
        .ok_or("malformed GS2 header: no channel binding flag")?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err("channel binding is not supported"),
        _ => return Err("malformed GS2 header: unknown channel binding flag"),
    }
    if authzid.is_empty() {
        return Ok(None);
    }
    let name = authzid
        .strip_prefix("a=")
        .ok_or("malformed GS2 header: authzid must start with a=")?;
    saslname(name).map(Some)
}

/// Decodes a `saslname`: `,` and `=` travel as `=2C` and `=3D`, and may not appear bare.
fn saslname(encoded: &str) -> Result<String, &'static str> {
    const BAD: &str = "malformed GS2 header: bad escape in authzid";
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(at) = rest.find(['=', ',']) {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).ok_or(BAD)?;
        out.push(match escape {
            "=2C" => ',',
            "=3D" => '=',
            _ => return Err(BAD),
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `*kvpair kvsep` as `(key, value)` pairs.
fn kvpairs(text: &str) -> Result<Vec<(&str, &str)>, &'static str> {
    let body = text
        .strip_suffix(KVSEP)
        .ok_or("malformed bearer message: no final separator")?;
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let body = body
        .strip_suffix(KVSEP)
        .ok_or("malformed bearer message: unterminated key/value pair")?;
    body.split(KVSEP)
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or("malformed bearer message: key/value pair without =")?;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err("malformed bearer message: bad key");
            }
            Ok((key, value))
        })
        .collect()
}

/// The value of `key`; unknown keys are ignored (RFC 7628 section 3.1), a repeated one is an
/// error so that two parsers can never disagree on which counts.
fn lookup<'a>(pairs: &[(&str, &'a str)], key: &str) -> Result<Option<&'a str>, &'static str> {
    let mut found = pairs.iter().filter(|(k, _)| *k == key).map(|(_, v)| *v);
    match (found.next(), found.next()) {
        (value, None) => Ok(value),
        (_, Some(_)) => Err("malformed bearer message: repeated key"),
    }
}

/// The token of an `auth` value `Bearer <b64token>` (RFC 6750 section 2.1; the scheme is
/// case-insensitive).
fn bearer_token(auth: &str) -> Result<&str, &'static str> {
    let (scheme, token) = auth
        .split_once(' ')
        .ok_or("malformed bearer message: auth is not \"Bearer <token>\"")?;
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err("unsupported authorization scheme: only Bearer tokens are accepted");
    }
    let token = token.trim_start_matches(' ');
    let valid = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    if token.is_empty() || !token.bytes().all(valid) {
        return Err("malformed bearer message: the token is not a b64token");
    }
    Ok(token)
}

#[cfg(test)]
mod tests;
