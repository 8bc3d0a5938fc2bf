use super::*;

fn creds(mechanism: BearerMechanism, user: Option<&str>, token: &str) -> BearerCredentials {
    BearerCredentials {
        mechanism,
        user: user.map(str::to_owned),
        token: Secret::new(token.to_owned()),
    }
}

const OB: BearerMechanism = BearerMechanism::OAuthBearer;
const XO: BearerMechanism = BearerMechanism::XOAuth2;

#[test]
fn rfc_7628_example_message_parses() {
    // RFC 7628 section 4.1, with the host and port pairs a client sends.
    let message = b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01\
                    auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";
    assert_eq!(
        parse(OB, message),
        Ok(creds(
            OB,
            Some("user@example.com"),
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
        ))
    );
}

#[test]
fn oauthbearer_authzid_is_optional_and_unescaped() {
    assert_eq!(
        parse(OB, b"n,,\x01auth=Bearer abc\x01\x01"),
        Ok(creds(OB, None, "abc"))
    );
    assert_eq!(
        parse(OB, b"y,a=a=2Cb=3Dc,\x01auth=bearer abc\x01\x01"),
        Ok(creds(OB, Some("a,b=c"), "abc"))
    );
}

#[test]
fn xoauth2_message_parses() {
    assert_eq!(
        parse(
            XO,
            b"user=alice@example.com\x01auth=Bearer ya29.x-y_z\x01\x01"
        ),
        Ok(creds(XO, Some("alice@example.com"), "ya29.x-y_z"))
    );
    assert_eq!(
        parse(XO, b"auth=Bearer t\x01\x01"),
        Ok(creds(XO, None, "t"))
    );
}

#[test]
fn malformed_messages_fail_without_quoting_them() {
    let oauthbearer: &[&[u8]] = &[
        b"",
        b"\x01",
        b"n,,",
        b"n,,\x01\x01",
        b"n,,\x01auth=Bearer abc\x01",
        b"n,,\x01auth=Bearer abc",
        b"n,\x01auth=Bearer abc\x01\x01",
        b"x,,\x01auth=Bearer abc\x01\x01",
        b"p=tls-unique,,\x01auth=Bearer abc\x01\x01",
        b"n,u=alice,\x01auth=Bearer abc\x01\x01",
        b"n,a=al,ice,\x01auth=Bearer abc\x01\x01",
        b"n,a=al=2ice,\x01auth=Bearer abc\x01\x01",
        b"n,a=,\x01auth=Bearer abc\x01\x01",
        b"n,,\x01auth=Basic YWxpY2U6cHc=\x01\x01",
        b"n,,\x01auth=Bearer\x01\x01",
        b"n,,\x01auth=Bearer a b\x01\x01",
        b"n,,\x01auth=Bearer abc\x01auth=Bearer def\x01\x01",
        b"n,,\x01=x\x01auth=Bearer abc\x01\x01",
        b"n,,\x01ho st=x\x01auth=Bearer abc\x01\x01",
        b"n,,\x01auth=Bearer \xffhunter2\x01\x01",
    ];
    for message in oauthbearer {
        let result = parse(OB, message);
        assert!(result.is_err(), "{message:?} gave {result:?}");
        assert!(!result.unwrap_err().contains("hunter2"));
    }
    let xoauth2: &[&[u8]] = &[
        b"user=alice\x01auth=Bearer abc\x01",
        b"user=alice\x01\x01",
        b"user=\x01auth=Bearer abc\x01\x01",
        b"n,,\x01auth=Bearer abc\x01\x01",
    ];
    for message in xoauth2 {
        assert!(parse(XO, message).is_err(), "{message:?}");
    }
}

#[test]
fn exchange_with_initial_response_refusal_and_dummy_answer() {
    let mut x = BearerExchange::new(OB);
    let step = x.step(Some(b"n,,\x01auth=Bearer abc\x01\x01"));
    assert_eq!(step, SaslStep::Bearer(creds(OB, None, "abc")));
    let challenge = x.token_refused().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&challenge).unwrap();
    assert_eq!(json["status"], "invalid_token");
    assert_eq!(x.step(Some(b"\x01")), SaslStep::Rejected);
    assert!(matches!(x.step(Some(b"\x01")), SaslStep::Failed(_)));
    assert_eq!(x.token_refused(), None);
}

#[test]
fn exchange_without_initial_response_sends_an_empty_challenge_first() {
    let mut x = BearerExchange::new(XO);
    assert_eq!(x.step(None), SaslStep::Challenge(Vec::new()));
    assert!(matches!(
        x.step(Some(b"user=a\x01auth=Bearer t\x01\x01")),
        SaslStep::Bearer(_)
    ));
    let json: serde_json::Value = serde_json::from_slice(&x.token_refused().unwrap()).unwrap();
    assert_eq!(json["status"], "401");
    // K-9 answers the error with an empty line.
    assert_eq!(x.step(Some(b"")), SaslStep::Rejected);
}

#[test]
fn mechanism_names_ignore_case() {
    assert_eq!(BearerMechanism::from_name("oauthbearer"), Some(OB));
    assert_eq!(BearerMechanism::from_name("XOAuth2"), Some(XO));
    assert_eq!(BearerMechanism::from_name("PLAIN"), None);
}

#[test]
fn debug_never_shows_the_token() {
    let credentials = parse(OB, b"n,,\x01auth=Bearer hunter2\x01\x01").unwrap();
    assert!(!format!("{credentials:?}").contains("hunter2"));
}
