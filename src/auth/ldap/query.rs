//! Login names into DNs and filters, escaped so that no name can change their meaning.
//!
//! A name goes into a DN escaped per RFC 4514 section 2.4 (`,`, `+`, `=`, `\`, … and leading
//! or trailing spaces), and into a filter escaped per RFC 4515 section 3 (`*`, `(`, `)`, `\`,
//! NUL as `\2a`, …): `*` or `)(uid=*` is then matched as those characters, never as syntax.

use ldap3::{dn_escape, ldap_escape};

/// What `%u` stands for.
const PLACEHOLDER: &str = "%u";

/// The DN `template` names for `user`.
pub fn user_dn(template: &str, user: &str) -> String {
    template.replace(PLACEHOLDER, &dn_escape(user))
}

/// The search filter `filter` makes for `user`.
pub fn user_filter(filter: &str, user: &str) -> String {
    filter.replace(PLACEHOLDER, &ldap_escape(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_syntax_in_a_name_is_escaped_per_rfc_4515() {
        let filter = "(&(objectClass=inetOrgPerson)(uid=%u))";
        assert_eq!(
            user_filter(filter, "alice"),
            "(&(objectClass=inetOrgPerson)(uid=alice))"
        );
        assert_eq!(
            user_filter(filter, "*"),
            "(&(objectClass=inetOrgPerson)(uid=\\2a))"
        );
        assert_eq!(
            user_filter(filter, "x)(uid=*"),
            "(&(objectClass=inetOrgPerson)(uid=x\\29\\28uid=\\2a))"
        );
        assert_eq!(user_filter("(uid=%u)", "a\\b\0"), "(uid=a\\5cb\\00)");
    }

    #[test]
    fn dn_syntax_in_a_name_is_escaped_per_rfc_4514() {
        let template = "uid=%u,ou=people,dc=example,dc=org";
        assert_eq!(
            user_dn(template, "alice"),
            "uid=alice,ou=people,dc=example,dc=org"
        );
        assert_eq!(
            user_dn(template, "admin,ou=admins"),
            "uid=admin\\2cou\\3dadmins,ou=people,dc=example,dc=org"
        );
        assert_eq!(user_dn("uid=%u", " a+b "), "uid=\\20a\\2bb\\20");
    }
}
