//! Every setting from a `ROOST_*` environment variable: `ROOST_` and the key's path in upper
//! case, `__` between tables (`ROOST_LIMITS__MAX_LINE=8192`,
//! `ROOST_AUTH__THROTTLE__BASE_DELAY_MS=0`, `ROOST_LISTENERS='[{address = "0.0.0.0:143"}]'`).
//!
//! Variables are applied to the file's table before it is read into [`Config`], so they win
//! over the file and lose to flags. A value is taken as a string where the setting is a
//! string or path, and as a TOML value (number, boolean, array, inline table) otherwise. Other
//! `ROOST_*` variables are not settings (the flags' own, such as `ROOST_HTTP_LISTEN`, or other
//! programs'): a variable is one only when its name holds `__` or names a top-level key.

use toml::{Table, Value};

use super::{Config, ConfigError};

pub const PREFIX: &str = "ROOST_";

/// Settings that have no default, so the default configuration does not show them; their
/// values are strings (paths, URLs, names) unless given as an array or inline table.
pub const OPTIONAL_KEYS: &[&str] = &[
    "control_socket",
    "tls.files.cert",
    "tls.files.key",
    "auth.users_file",
    "auth.oauth.issuer",
    "auth.oauth.jwks_file",
    "auth.oauth.jwks_url",
    "auth.oauth.jwks_ca_file",
    "lmtp.socket",
    "cluster.redis_url",
    "cluster.redis_ca",
    "cluster.redis_username",
    "cluster.redis_password_file",
    "cluster.advertise_address",
    "cluster.link_tls.cert",
    "cluster.link_tls.key",
    "cluster.link_tls.ca",
    "telemetry.otlp_endpoint",
    "metadata.admin",
    "auth.ldap.url",
    "auth.ldap.bind_dn_template",
    "auth.ldap.base",
    "auth.ldap.bind_dn",
    "auth.ldap.bind_password_file",
    "auth.ldap.ca_file",
];

/// Settings that have no default and take a number (unset: no limit).
pub const OPTIONAL_NUMBER_KEYS: &[&str] = &["quota.storage_kib", "quota.messages"];

/// The variable that sets `key` (`limits.max_line` → `ROOST_LIMITS__MAX_LINE`).
pub fn variable(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('.', "__").to_uppercase())
}

/// The default configuration as a table: every key with a default, and its value.
pub fn defaults() -> Table {
    Table::try_from(Config::default()).expect("the default configuration serializes")
}

/// Sets the settings among `vars` in `table` (the file's contents); `Ok(false)` when none of
/// `vars` is a setting.
///
/// # Errors
/// [`ConfigError::Env`] naming the variable whose value is not valid TOML for its setting.
pub fn apply(
    table: &mut Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<bool, ConfigError> {
    let defaults = defaults();
    let mut any = false;
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        let top_level = defaults.contains_key(&path[0]) || OPTIONAL_KEYS.contains(&&*path[0]);
        if path.len() == 1 && !top_level {
            continue;
        }
        let value = typed(&defaults, &path, &raw).map_err(|reason| ConfigError::Env {
            variable: name.clone(),
            reason,
        })?;
        insert(table, &path, value).map_err(|reason| ConfigError::Env {
            variable: name.clone(),
            reason,
        })?;
        any = true;
    }
    Ok(any)
}

/// `raw` as the setting at `path` takes it: a string where the default is one (or where there
/// is no default), else parsed as a TOML value.
fn typed(defaults: &Table, path: &[String], raw: &str) -> Result<Value, String> {
    let mut current = Some(defaults);
    let mut default = None;
    for (i, part) in path.iter().enumerate() {
        let found = current.and_then(|t| t.get(part));
        if i + 1 == path.len() {
            default = found;
        }
        current = found.and_then(Value::as_table);
    }
    let parsed = format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"));
    let key = path.join(".");
    match default {
        Some(Value::String(_)) => Ok(Value::String(raw.to_owned())),
        Some(_) => parsed.ok_or_else(|| {
            format!("`{raw}` is not a TOML value (a number, true/false, [..], {{..}})")
        }),
        None if OPTIONAL_KEYS.contains(&key.as_str()) && !raw.starts_with(['[', '{']) => {
            Ok(Value::String(raw.to_owned()))
        }
        // A key without a default (`cluster.link_tls.reload_interval_secs`): its type is
        // unknown here, so a number or boolean is taken as one, anything else as text.
        None => Ok(parsed.unwrap_or_else(|| Value::String(raw.to_owned()))),
    }
}

fn insert(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, tables) = path
        .split_last()
        .expect("a name splits into at least one part");
    let mut current = table;
    for part in tables {
        current = current
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a table"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// Every setting's key with its default as TOML (`None` for [`OPTIONAL_KEYS`]), in file
/// order: tables are walked, arrays (`listeners`, `limits.refused_networks`) are one setting.
pub fn keys() -> Vec<(String, Option<Value>)> {
    fn walk(prefix: &str, table: &Table, out: &mut Vec<(String, Option<Value>)>) {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Value::Table(inner) if path != "telemetry.otlp_headers" => {
                    walk(&path, inner, out);
                }
                _ => out.push((path, Some(value.clone()))),
            }
        }
    }
    let mut out = Vec::new();
    walk("", &defaults(), &mut out);
    out.extend(
        OPTIONAL_KEYS
            .iter()
            .chain(OPTIONAL_NUMBER_KEYS)
            .map(|k| ((*k).to_owned(), None)),
    );
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    /// A value for `key` that differs from its default and that the key's type accepts.
    fn sample(key: &str, default: Option<&Value>) -> Value {
        let text = |s: &str| Value::String(s.to_owned());
        match (key, default) {
            ("log.format", _) => text("json"),
            // Header values are shown redacted: the name is what proves the header was set.
            ("telemetry.otlp_headers", _) => Value::Table(toml::toml! { x = "<redacted>" }),
            ("listeners", _) => {
                Value::Array(vec![Value::Table(toml::toml! { address = "127.0.0.1:2143"
                tls = "implicit" })])
            }
            ("limits.refused_networks", _) => Value::Array(vec![text("10.0.0.0/8")]),
            ("lmtp.domains", _) => Value::Array(vec![text("example.org")]),
            ("auth.oauth.audiences", _) => Value::Array(vec![text("mail-app")]),
            ("auth.directory", _) => text("ldap"),
            ("auth.ldap.url", _) => text("ldap://ldap.example.org"),
            ("auth.ldap.bind_dn_template", _) => text("uid=%u,dc=example,dc=org"),
            ("quota.admins", _) => Value::Array(vec![text("postmaster")]),
            (key, None) if OPTIONAL_NUMBER_KEYS.contains(&key) => Value::Integer(1000),
            (_, Some(Value::Boolean(b))) => Value::Boolean(!b),
            (_, Some(Value::Integer(i))) => Value::Integer(i + 1),
            (_, Some(Value::Float(f))) => Value::Float(f / 2.0),
            (_, Some(Value::String(s))) if s.parse::<std::net::SocketAddr>().is_ok() => {
                text("127.0.0.1:4242")
            }
            (_, Some(Value::String(s))) => text(&format!("{s}-changed")),
            (_, None) => text("/sample/value"),
            (key, Some(other)) => panic!("{key}: no sample for {other}"),
        }
    }

    /// Keys that cannot be set alone: the other fields of their table get placeholders.
    fn companions(key: &str) -> Vec<&'static str> {
        let of = |table: &str, fields: &[&'static str]| {
            if key.starts_with(table) {
                fields.iter().copied().filter(|k| *k != key).collect()
            } else {
                Vec::new()
            }
        };
        let mut all = of("tls.files.", &["tls.files.cert", "tls.files.key"]);
        all.extend(of(
            "cluster.link_tls.",
            &[
                "cluster.link_tls.cert",
                "cluster.link_tls.key",
                "cluster.link_tls.ca",
            ],
        ));
        if key == "auth.oauth.enabled" {
            all.extend([
                "auth.oauth.issuer",
                "auth.oauth.audiences",
                "auth.oauth.jwks_file",
            ]);
        }
        all.extend(of(
            "auth.directory",
            &["auth.ldap.url", "auth.ldap.bind_dn_template"],
        ));
        all
    }

    fn split(key: &str) -> Vec<String> {
        key.split('.').map(str::to_owned).collect()
    }

    fn get(config: &Config, key: &str) -> Option<Value> {
        let table = Table::try_from(config).unwrap();
        let (last, tables) = key
            .split('.')
            .collect::<Vec<_>>()
            .split_last()
            .map(|(l, t)| (l.to_string(), t.to_vec()))?;
        let mut current = &table;
        for part in tables {
            current = current.get(part)?.as_table()?;
        }
        current.get(&last).cloned()
    }

    fn as_variable_value(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    #[test]
    fn every_setting_can_be_set_by_the_file_and_by_its_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        for (key, default) in keys() {
            let value = sample(&key, default.as_ref());
            let mut settings = vec![(key.clone(), value.clone())];
            settings.extend(
                companions(&key)
                    .into_iter()
                    .map(|k| (k.to_owned(), sample(k, None))),
            );

            let mut file = Table::new();
            for (k, v) in &settings {
                insert(&mut file, &split(k), v.clone()).unwrap();
            }
            std::fs::write(&path, toml::to_string(&file).unwrap()).unwrap();
            let from_file = Overrides {
                config: Some(path.clone()),
                ..Default::default()
            };
            let config = Config::layered(&from_file, Vec::new())
                .unwrap_or_else(|e| panic!("{key} from the file: {e}"));
            assert_eq!(
                get(&config, &key),
                Some(value.clone()),
                "{key} from the file"
            );

            let vars = settings
                .iter()
                .map(|(k, v)| (variable(k), as_variable_value(v)));
            let config = Config::layered(&Overrides::default(), vars)
                .unwrap_or_else(|e| panic!("{key} from {}: {e}", variable(&key)));
            assert_eq!(
                get(&config, &key),
                Some(value),
                "{key} from {}",
                variable(&key)
            );
        }
    }

    #[test]
    fn variables_win_over_the_file_and_flags_over_variables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        std::fs::write(
            &path,
            "[limits]\nmax_line = 2000\n[http]\nlisten = \"127.0.0.1:1\"\n",
        )
        .unwrap();
        let vars = [
            ("ROOST_LIMITS__MAX_LINE", "3000"),
            ("ROOST_HTTP__LISTEN", "127.0.0.1:2"),
            // Not settings: a flag's own variable and another program's.
            ("ROOST_IMPORT_PASSWORD", "secret"),
            ("ROOST_BIN", "/bin/roost"),
            ("OTHER__THING", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let mut overrides = Overrides {
            config: Some(path),
            ..Default::default()
        };
        let config = Config::layered(&overrides, vars.clone()).unwrap();
        assert_eq!(config.limits.max_line, 3000);
        assert_eq!(config.http.listen.port(), 2);
        overrides.http_listen = Some("127.0.0.1:3".parse().unwrap());
        let config = Config::layered(&overrides, vars).unwrap();
        assert_eq!(config.http.listen.port(), 3);
    }

    #[test]
    fn a_malformed_or_unknown_variable_is_named() {
        for (name, value, named) in [
            ("ROOST_LIMITS__MAX_LINE", "lots", "lots"),
            ("ROOST_LIMITS__MAX_LIEN", "1", "max_lien"),
        ] {
            let err = Config::layered(&Overrides::default(), [(name.to_owned(), value.to_owned())])
                .unwrap_err()
                .to_string();
            assert!(err.contains(name) && err.contains(named), "{err}");
        }
    }
}
