//! The CAPABILITY list, which depends on the connection's TLS and login state
//! (RFC 9051 sections 6.1.1 and 7.2.2).

use roost_proto::Atom;

use crate::auth::oauth::BearerMechanism;

/// What the capability list depends on.
#[derive(Debug, Clone, Copy)]
pub struct CapabilityContext {
    pub authenticated: bool,
    /// TLS is active on the connection.
    pub tls: bool,
    /// STARTTLS can be offered (a plain connection on a STARTTLS listener).
    pub starttls_available: bool,
    /// LOGIN and AUTHENTICATE are allowed now (TLS, loopback or `allow_plaintext`).
    pub login_allowed: bool,
    /// OAuth bearer tokens are accepted (`[auth.oauth]`).
    pub bearer: bool,
    /// SCRAM keys can exist: the users file is the directory (LDAP keeps no SCRAM keys, so
    /// SCRAM could never succeed there and is not offered).
    pub scram: bool,
    /// The APPENDLIMIT of every mailbox (RFC 7889 section 2 (a)): `limits.max_literal`.
    pub append_limit: u64,
    /// The user may SETQUOTA (`[quota] admins`): QUOTASET is listed (RFC 9208 section 1).
    pub quota_admin: bool,
}

/// Extensions Roost implements and advertises in every state.
const ALWAYS: &[&str] = &[
    "IMAP4rev1",
    "IMAP4rev2",
    "ID",
    "ENABLE",
    "IDLE",
    "LITERAL+",
    "SASL-IR",
];

/// What logged-in sessions can use: the mailbox and message extensions of RFC 9051 and the
/// ones real clients ask for (clients.md).
const AFTER_LOGIN: &[&str] = &[
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "ESEARCH",
    "SORT",
    "SORT=DISPLAY",
    "ESORT",
    "CONTEXT=SEARCH",
    "CONTEXT=SORT",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "SEARCHRES",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "CHILDREN",
    "MOVE",
    "MULTIAPPEND",
    "STATUS=SIZE",
    "BINARY",
    "CONDSTORE",
    "QRESYNC",
    "WITHIN",
    "PREVIEW",
    "SAVEDATE",
    "UNAUTHENTICATE",
    "NOTIFY",
    "OBJECTID",
    "COMPRESS=DEFLATE",
    "UTF8=ACCEPT",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",
    // Server and mailbox entries (RFC 5464 section 1); METADATA-SERVER is for servers
    // with server entries only, so it is not listed as well.
    "METADATA",
];

pub fn capabilities(ctx: CapabilityContext) -> Vec<Atom> {
    let mut caps: Vec<String> = ALWAYS.iter().map(|c| (*c).to_owned()).collect();
    if ctx.authenticated {
        caps.extend(AFTER_LOGIN.iter().map(|c| (*c).to_owned()));
        caps.push(format!("APPENDLIMIT={}", ctx.append_limit));
        if ctx.quota_admin {
            caps.push("QUOTASET".into());
        }
    } else {
        if ctx.starttls_available && !ctx.tls {
            caps.push("STARTTLS".into());
        }
        if ctx.login_allowed {
            let scram = crate::auth::scram::Mechanism::advertised(ctx.tls)
                .iter()
                .filter(|_| ctx.scram)
                .map(|m| m.name());
            caps.extend(
                scram
                    .chain(crate::auth::sasl::MECHANISMS.iter().copied())
                    .map(|m| format!("AUTH={m}")),
            );
            if ctx.bearer {
                caps.extend(BearerMechanism::ALL.map(|m| format!("AUTH={}", m.name())));
            }
        } else {
            caps.push("LOGINDISABLED".into());
            // A password sent as a non-synchronizing literal would cross the wire in clear
            // before the server could refuse it: no LITERAL+ until login is possible.
            caps.retain(|c| c != "LITERAL+");
        }
    }
    caps.into_iter().filter_map(|c| Atom::new(c).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ctx: CapabilityContext) -> Vec<String> {
        capabilities(ctx)
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect()
    }

    #[test]
    fn plaintext_remote_connection_offers_starttls_and_disables_login() {
        let caps = names(CapabilityContext {
            authenticated: false,
            tls: false,
            starttls_available: true,
            login_allowed: false,
            bearer: true,
            scram: true,
            append_limit: 1000,
            quota_admin: false,
        });
        assert!(caps.contains(&"STARTTLS".into()));
        assert!(caps.contains(&"LOGINDISABLED".into()));
        assert!(!caps.iter().any(|c| c.starts_with("AUTH=")));
        // No invitation to send a password as a non-synchronizing literal (issue 20).
        assert!(!caps.contains(&"LITERAL+".into()));
    }

    #[test]
    fn after_login_no_auth_mechanisms_or_starttls_are_listed() {
        let caps = names(CapabilityContext {
            authenticated: true,
            tls: true,
            starttls_available: false,
            login_allowed: true,
            bearer: true,
            scram: true,
            append_limit: 1000,
            quota_admin: false,
        });
        assert!(caps.starts_with(&["IMAP4rev1".into(), "IMAP4rev2".into()]));
        assert!(!caps
            .iter()
            .any(|c| c.starts_with("AUTH=") || c == "STARTTLS" || c == "LOGINDISABLED"));
    }

    #[test]
    fn bearer_mechanisms_only_when_configured_and_login_is_allowed() {
        let ctx = |login_allowed, bearer| CapabilityContext {
            authenticated: false,
            tls: false,
            starttls_available: true,
            login_allowed,
            bearer,
            scram: true,
            append_limit: 1000,
            quota_admin: false,
        };
        let has = |caps: &[String]| caps.contains(&"AUTH=OAUTHBEARER".into());
        assert!(has(&names(ctx(true, true))));
        assert!(names(ctx(true, true)).contains(&"AUTH=XOAUTH2".into()));
        assert!(!has(&names(ctx(true, false))));
        assert!(!has(&names(ctx(false, true))));
    }

    #[test]
    fn scram_only_where_the_directory_keeps_scram_keys() {
        let ctx = |scram| CapabilityContext {
            authenticated: false,
            tls: true,
            starttls_available: false,
            login_allowed: true,
            bearer: false,
            scram,
            append_limit: 1000,
            quota_admin: false,
        };
        let scram = |caps: Vec<String>| caps.iter().any(|c| c.starts_with("AUTH=SCRAM"));
        assert!(scram(names(ctx(true))));
        assert!(!scram(names(ctx(false))));
        assert!(names(ctx(false)).contains(&"AUTH=PLAIN".into()));
    }
}
