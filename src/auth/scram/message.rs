//! Parsers for the two client messages of SCRAM (RFC 5802 section 7). They check syntax
//! only; what the values must match is the exchange's job.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{Failure, ServerError};

/// The GS2 channel-binding flag (RFC 5802 section 7, `gs2-cbind-flag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CbindFlag {
    /// `n`: the client does not support channel binding.
    NotSupported,
    /// `y`: the client supports it but thinks the server does not.
    ClientOnly,
    /// `p=name`: the client uses channel binding of this type.
    Type(String),
}

/// ```text
/// client-first-message = gs2-header client-first-message-bare
/// gs2-header = gs2-cbind-flag "," [ authzid ] ","
/// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    pub flag: CbindFlag,
    pub authzid: Option<String>,
    /// The gs2-header as sent, which the client echoes (base64) in `c=`.
    pub gs2_header: String,
    /// Everything after the gs2-header: part of the AuthMessage.
    pub bare: String,
    /// The user name with `=2C` and `=3D` decoded.
    pub username: String,
    pub nonce: String,
}

/// ```text
/// client-final-message = channel-binding "," nonce ["," extensions] "," proof
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFinal {
    /// `c=`, decoded.
    pub channel_binding: Vec<u8>,
    pub nonce: String,
    /// The message up to (not including) `,p=`: part of the AuthMessage.
    pub without_proof: String,
    pub proof: [u8; 32],
}

fn malformed(reason: &'static str) -> Failure {
    Failure {
        error: ServerError::OtherError,
        reason,
    }
}

/// Parses the client-first-message.
///
/// # Errors
/// [`Failure`] for bad syntax, a bad `saslname` encoding (`e=invalid-username-encoding`) or
/// a mandatory extension (`e=extensions-not-supported`).
pub fn client_first(message: &[u8]) -> Result<ClientFirst, Failure> {
    let text = std::str::from_utf8(message).map_err(|_| malformed("message is not UTF-8"))?;
    let mut parts = text.splitn(3, ',');
    let (Some(flag), Some(authzid), Some(bare)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("missing GS2 header"));
    };
    let flag = match flag {
        "n" => CbindFlag::NotSupported,
        "y" => CbindFlag::ClientOnly,
        _ => match flag.strip_prefix("p=") {
            Some(name) if is_cb_name(name) => CbindFlag::Type(name.to_owned()),
            _ => return Err(malformed("bad channel binding flag")),
        },
    };
    let authzid = match authzid {
        "" => None,
        a => Some(saslname(
            a.strip_prefix("a=")
                .ok_or_else(|| malformed("bad authzid"))?,
        )?),
    };
    let gs2_header = text[..text.len() - bare.len()].to_owned();
    let mut fields = bare.split(',');
    let first = fields.next().unwrap_or_default();
    if first.starts_with("m=") {
        return Err(Failure {
            error: ServerError::ExtensionsNotSupported,
            reason: "mandatory extension",
        });
    }
    let username = saslname(
        first
            .strip_prefix("n=")
            .ok_or_else(|| malformed("missing user name"))?,
    )?;
    if username.is_empty() {
        return Err(malformed("empty user name"));
    }
    let nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .filter(|n| is_printable(n))
        .ok_or_else(|| malformed("missing or bad nonce"))?;
    // Optional extensions after the nonce are ignored (RFC 5802 section 5.1).
    Ok(ClientFirst {
        flag,
        authzid,
        gs2_header,
        bare: bare.to_owned(),
        username,
        nonce: nonce.to_owned(),
    })
}

/// Parses the client-final-message.
///
/// # Errors
/// [`Failure`] for bad syntax or base64.
pub fn client_final(message: &[u8]) -> Result<ClientFinal, Failure> {
    let text = std::str::from_utf8(message).map_err(|_| malformed("message is not UTF-8"))?;
    let (without_proof, proof) = text
        .rsplit_once(",p=")
        .ok_or_else(|| malformed("missing proof"))?;
    let mut fields = without_proof.split(',');
    let channel_binding = fields
        .next()
        .and_then(|f| f.strip_prefix("c="))
        .ok_or_else(|| malformed("missing channel binding"))?;
    let channel_binding = B64
        .decode(channel_binding)
        .map_err(|_| malformed("channel binding is not base64"))?;
    let nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .ok_or_else(|| malformed("missing nonce"))?;
    let proof = B64
        .decode(proof)
        .ok()
        .and_then(|p| <[u8; 32]>::try_from(p).ok())
        .ok_or_else(|| malformed("proof is not 32 bytes of base64"))?;
    Ok(ClientFinal {
        channel_binding,
        nonce: nonce.to_owned(),
        without_proof: without_proof.to_owned(),
        proof,
    })
}

/// Decodes a `saslname`: `=2C` is `,`, `=3D` is `=`, and any other `=` is an error.
fn saslname(raw: &str) -> Result<String, Failure> {
    let invalid = Failure {
        error: ServerError::InvalidUsernameEncoding,
        reason: "bad user name encoding",
    };
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        match rest.get(at..at + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(invalid),
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `printable = %x21-2B / %x2D-7E` (no comma), at least one.
fn is_printable(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// `cb-name = 1*(ALPHA / DIGIT / "." / "-")`.
fn is_cb_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_first_from_rfc7677() {
        let m = client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        assert_eq!(m.flag, CbindFlag::NotSupported);
        assert_eq!(m.gs2_header, "n,,");
        assert_eq!(m.bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert_eq!(m.username, "user");
        assert_eq!(m.nonce, "rOprNGfwEbeRWgbNEkqO");
    }

    #[test]
    fn client_first_flags_authzid_and_escapes() {
        let m = client_first(b"p=tls-exporter,a=a=3Db,n=x=2Cy,r=abc,ext=1").unwrap();
        assert_eq!(m.flag, CbindFlag::Type("tls-exporter".into()));
        assert_eq!(m.authzid.as_deref(), Some("a=b"));
        assert_eq!(m.username, "x,y");
        assert_eq!(m.gs2_header, "p=tls-exporter,a=a=3Db,");
        assert_eq!(
            client_first(b"y,,n=u,r=n").unwrap().flag,
            CbindFlag::ClientOnly
        );
    }

    #[test]
    fn malformed_client_first_messages_fail() {
        let cases: &[(&[u8], ServerError)] = &[
            (b"", ServerError::OtherError),
            (b"n,", ServerError::OtherError),
            (b"x,,n=u,r=n", ServerError::OtherError),
            (b"p=,,n=u,r=n", ServerError::OtherError),
            (b"p=a b,,n=u,r=n", ServerError::OtherError),
            (b"n,u,n=u,r=n", ServerError::OtherError),
            (b"n,,r=n", ServerError::OtherError),
            (b"n,,n=,r=n", ServerError::OtherError),
            (b"n,,n=u", ServerError::OtherError),
            (b"n,,n=u,r=", ServerError::OtherError),
            (b"n,,n=u,r=a\x01", ServerError::OtherError),
            (b"n,,n=\xff,r=n", ServerError::OtherError),
            (b"n,,n=a=2Xb,r=n", ServerError::InvalidUsernameEncoding),
            (b"n,,n=a=,r=n", ServerError::InvalidUsernameEncoding),
            (b"n,,m=x,n=u,r=n", ServerError::ExtensionsNotSupported),
        ];
        for (case, error) in cases {
            let got = client_first(case).unwrap_err();
            assert_eq!(&got.error, error, "{:?}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn client_final_from_rfc7677() {
        let m = client_final(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        )
        .unwrap();
        assert_eq!(m.channel_binding, b"n,,");
        assert_eq!(
            m.nonce,
            "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        );
        assert_eq!(
            m.without_proof,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        );
    }

    #[test]
    fn malformed_client_final_messages_fail() {
        for case in [
            &b""[..],
            b"c=biws,r=n",
            b"r=n,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            b"c=!!,r=n,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            b"c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            b"c=biws,r=n,p=AAAA",
            b"c=biws,r=n,p=***",
        ] {
            assert!(client_final(case).is_err(), "{case:?}");
        }
    }
}
