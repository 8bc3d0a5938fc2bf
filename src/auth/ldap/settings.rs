//! The `[auth.ldap]` settings made ready to use: the service password read from its file and
//! the TLS trust anchors loaded, once, at start (and by `roost check-config`).

use std::sync::Arc;
use std::time::Duration;

use roost_proto::Secret;

use crate::config::LdapConfig;

/// How a login name becomes a DN to bind as.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Bind as `template` with `%u` replaced by the escaped name.
    Direct { template: String },
    /// Search `base` (subtree) for `filter` with `%u` replaced by the escaped name, then bind
    /// as the one entry found.
    Search { base: String, filter: String },
}

/// The account that searches and looks users up.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub dn: String,
    pub password: Secret<String>,
}

/// Everything the directory needs, checked and loaded.
#[derive(Debug, Clone)]
pub struct LdapSettings {
    pub url: String,
    pub mode: Mode,
    pub service: Option<ServiceAccount>,
    /// The TLS client configuration when `ca_file` is set; `None` trusts the system's roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub starttls: bool,
    pub pool_size: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl LdapSettings {
    /// Checks `config` and reads the files it names.
    ///
    /// # Errors
    /// What is wrong, naming the setting (and the file) to fix.
    pub fn load(config: &LdapConfig) -> Result<LdapSettings, String> {
        config.validate()?;
        let url = config.url.clone().unwrap_or_default();
        let mode = match (&config.bind_dn_template, &config.base) {
            (Some(template), _) => Mode::Direct {
                template: template.clone(),
            },
            (None, base) => Mode::Search {
                base: base.clone().unwrap_or_default(),
                filter: config.filter.clone(),
            },
        };
        let service = match (&config.bind_dn, &config.bind_password_file) {
            (Some(dn), Some(file)) => Some(ServiceAccount {
                dn: dn.clone(),
                password: Secret::new(read_password(file)?),
            }),
            _ => None,
        };
        let tls = match &config.ca_file {
            Some(ca) => {
                let trusting = crate::net::tls::client_config_trusting(ca)
                    .map_err(|e| format!("auth.ldap.ca_file {}: {e}", ca.display()))?;
                // The IMAP client configuration offers ALPN `imap`; an LDAP server must not see it.
                let mut tls = (*trusting).clone();
                tls.alpn_protocols.clear();
                Some(Arc::new(tls))
            }
            None => None,
        };
        Ok(LdapSettings {
            url,
            mode,
            service,
            tls,
            starttls: config.starttls,
            pool_size: config.pool_size,
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            timeout: Duration::from_millis(config.timeout_ms),
        })
    }
}

/// The first line of the service password file. An empty password is refused: LDAP takes a
/// bind with a DN and no password as an anonymous bind that "succeeds" (RFC 4513 section 5.1.2).
fn read_password(file: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("auth.ldap.bind_password_file {}: {e}", file.display()))?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Err(format!(
            "auth.ldap.bind_password_file {} is empty",
            file.display()
        ));
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_file_must_hold_a_password_and_is_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        let mut config = LdapConfig {
            url: Some("ldap://127.0.0.1".into()),
            base: Some("dc=example".into()),
            bind_dn: Some("cn=svc,dc=example".into()),
            bind_password_file: Some(file.clone()),
            ..LdapConfig::default()
        };
        let e = LdapSettings::load(&config).unwrap_err();
        assert!(e.contains("auth.ldap.bind_password_file"), "{e}");
        std::fs::write(&file, "\n").unwrap();
        assert!(LdapSettings::load(&config)
            .unwrap_err()
            .contains("is empty"));
        std::fs::write(&file, "s3cret\n").unwrap();
        let settings = LdapSettings::load(&config).unwrap();
        assert_eq!(
            settings.service.as_ref().unwrap().password.expose(),
            "s3cret"
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
        config.ca_file = Some(dir.path().join("missing.pem"));
        config.starttls = true;
        let e = LdapSettings::load(&config).unwrap_err();
        assert!(e.contains("auth.ldap.ca_file"), "{e}");
    }
}
