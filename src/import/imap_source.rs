//! Another IMAP server as the source: every selectable folder, with flags and internal
//! dates. Each folder is listed once on both sides (size and header fields, no bodies), and
//! only the bodies of messages the destination lacks are fetched, so an interrupted import
//! resumes where it stopped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use roost_proto::{
    CommandBody, Data, DateTime, FetchAttribute, FetchValue, Flag, ListCommand, MailboxName,
    NameEncoding, Response, Secret, Section, SequenceSet,
};
use tokio::net::TcpStream;

use super::client::{self, ClientError, Greeting, ImapClient, Io};
use super::fingerprint::Fingerprint;
use super::progress::Progress;
use super::summary::Summary;
use super::writer::{FolderAppender, Writer, WriterError};
use super::Message;
use crate::session::names::DELIMITER;

/// Bodies fetched per command.
const FETCH_BATCH: usize = 50;

/// `imaps://user@host[:port]` (port 993) or `imap://user@host[:port]` (143, no TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUrl {
    pub tls: bool,
    pub user: String,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
#[error("--from {0:?}: expected imaps://USER@HOST[:PORT] or imap://USER@HOST[:PORT]")]
pub struct BadUrl(String);

impl FromStr for SourceUrl {
    type Err = BadUrl;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadUrl(s.to_owned());
        let (tls, rest) = match s.split_once("://") {
            Some(("imaps", rest)) => (true, rest),
            Some(("imap", rest)) => (false, rest),
            _ => return Err(bad()),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        // The user may be an address: the host is after the last `@`.
        let (user, host_port) = rest.rsplit_once('@').ok_or_else(bad)?;
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().map_err(|_| bad())?),
            _ => (host_port, if tls { 993 } else { 143 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if user.is_empty() || host.is_empty() {
            return Err(bad());
        }
        Ok(SourceUrl {
            tls,
            user: user.to_owned(),
            host: host.to_owned(),
            port,
        })
    }
}

/// Where to copy from and how to log in.
pub struct Source {
    pub url: SourceUrl,
    pub password: Secret<String>,
    /// Trust exactly these certificates instead of the system's.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    TlsConfig(#[from] crate::net::tls::TlsError),
    #[error("no trusted certificates found on this system ({0}); give --ca-file")]
    NoRoots(String),
    #[error("{host} is not a valid TLS server name")]
    ServerName { host: String },
    #[error("TLS handshake with {host}: {source}")]
    Handshake {
        host: String,
        source: std::io::Error,
    },
    #[error("{host}: {doing}: {source}")]
    Session {
        host: String,
        doing: String,
        source: ClientError,
    },
    #[error("{0}")]
    Writer(#[from] WriterError),
}

/// A folder on the source: its name there (decoded UTF-8) and in Roost.
struct SourceFolder {
    name: String,
    roost_name: String,
}

/// A source message from the folder listing, before its body is fetched.
struct Listed {
    uid: u32,
    flags: Vec<Flag>,
    date: Option<DateTime>,
    fingerprint: Fingerprint,
}

/// Copies every folder of `source` through `writer`.
///
/// # Errors
/// When the source cannot be reached or logged into, or either session fails; messages the
/// destination refuses are counted in the summary instead.
pub async fn import(source: &Source, writer: &mut Writer) -> Result<Summary, SourceError> {
    let mut from = connect(source).await?;
    let host = source.url.host.clone();
    let failed = |doing: String| {
        let host = host.clone();
        move |source| SourceError::Session {
            host,
            doing,
            source,
        }
    };
    let folders = list(&mut from).await.map_err(failed("LIST".into()))?;
    let progress = Progress::new(Some(0));
    let mut summary = Summary::default();
    for folder in folders {
        let wire = MailboxName::encode(&folder.name, NameEncoding::ModifiedUtf7);
        let exists = from
            .examine(&wire)
            .await
            .map_err(failed(format!("EXAMINE {:?}", folder.name)))?;
        progress.grow(u64::from(exists));
        let Some((mut appender, mut present)) =
            FolderAppender::open(writer, &folder.roost_name, &mut summary, &progress).await?
        else {
            continue;
        };
        let listed = if exists == 0 {
            Vec::new()
        } else {
            listing(&mut from)
                .await
                .map_err(failed(format!("listing {:?}", folder.name)))?
        };
        let mut missing = Vec::new();
        for message in listed {
            if present.take(&message.fingerprint) {
                appender.skipped(&progress);
            } else {
                missing.push(message);
            }
        }
        for chunk in missing.chunks(FETCH_BATCH) {
            let mut bodies = bodies(&mut from, chunk)
                .await
                .map_err(failed(format!("fetching from {:?}", folder.name)))?;
            for message in chunk {
                let source = format!("{} UID {}", folder.name, message.uid);
                match bodies.remove(&message.uid) {
                    Some(data) => {
                        let message = Message {
                            data,
                            flags: message.flags.clone(),
                            internal_date: message.date,
                        };
                        appender
                            .push(source, message, &mut summary, &progress)
                            .await?;
                    }
                    None => appender.failed(
                        source,
                        "the source sent no body (expunged meanwhile?)",
                        &mut summary,
                        &progress,
                    ),
                }
            }
        }
        appender.finish(&mut summary, &progress).await?;
    }
    progress.finish();
    from.logout().await;
    Ok(summary)
}

async fn connect(source: &Source) -> Result<ImapClient, SourceError> {
    let SourceUrl {
        tls,
        user,
        host,
        port,
    } = &source.url;
    let tcp = TcpStream::connect((host.as_str(), *port))
        .await
        .map_err(|e| SourceError::Connect {
            host: host.clone(),
            port: *port,
            source: e,
        })?;
    let io: Box<dyn Io> = if *tls {
        let config = match &source.ca_file {
            Some(path) => crate::net::tls::client_config_trusting(path)?,
            None => crate::net::tls::client_config(system_roots()?)?,
        };
        let name = rustls_pki_types::ServerName::try_from(host.clone())
            .map_err(|_| SourceError::ServerName { host: host.clone() })?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| SourceError::Handshake {
                host: host.clone(),
                source: e,
            })?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };
    let session = |doing: &str| {
        let (host, doing) = (host.clone(), doing.to_owned());
        move |source| SourceError::Session {
            host,
            doing,
            source,
        }
    };
    let (mut client, greeting) = ImapClient::open(io).await.map_err(session("greeting"))?;
    if greeting == Greeting::Ok {
        let login = CommandBody::Login {
            username: user.as_bytes().to_vec(),
            password: Secret::new(source.password.expose().as_bytes().to_vec()),
        };
        client
            .run(login, |_| {})
            .await
            .map_err(session(&format!("login as {user}")))?;
    }
    client
        .refresh_capabilities()
        .await
        .map_err(session("CAPABILITY"))?;
    Ok(client)
}

fn system_roots() -> Result<rustls::RootCertStore, SourceError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none installed".to_owned(), ToString::to_string);
        return Err(SourceError::NoRoots(why));
    }
    Ok(roots)
}

/// Every selectable folder, INBOX first.
async fn list(from: &mut ImapClient) -> Result<Vec<SourceFolder>, ClientError> {
    let mut folders = Vec::new();
    let list = CommandBody::List(ListCommand {
        selection: Vec::new(),
        reference: MailboxName::from_wire(""),
        patterns: vec![b"*".to_vec()],
        returns: Vec::new(),
    });
    from.run(list, |r| {
        let Response::Data(Data::List(data)) = r else {
            return;
        };
        let unselectable = data
            .attributes
            .iter()
            .any(|a| a.eq_ignore_case("Noselect") || a.eq_ignore_case("NonExistent"));
        if !unselectable {
            let roost_name = match data.delimiter {
                Some(d) if d != DELIMITER => data
                    .mailbox
                    .split(d)
                    .collect::<Vec<_>>()
                    .join(&DELIMITER.to_string()),
                _ => data.mailbox.clone(),
            };
            folders.push(SourceFolder {
                name: data.mailbox,
                roost_name: crate::session::names::normalize(&roost_name),
            });
        }
    })
    .await?;
    folders.sort_by_key(|f| (f.roost_name != "INBOX", f.roost_name.clone()));
    Ok(folders)
}

/// The selected folder's messages: UID, flags, date and fingerprint, no bodies.
async fn listing(from: &mut ImapClient) -> Result<Vec<Listed>, ClientError> {
    let items = vec![
        FetchAttribute::Uid,
        FetchAttribute::Flags,
        FetchAttribute::InternalDate,
        FetchAttribute::Rfc822Size,
        client::fingerprint_fields(),
    ];
    let mut listed = Vec::new();
    from.uid_fetch(client::all_messages(), items, |items| {
        let (mut uid, mut flags, mut date, mut size) = (None, Vec::new(), None, None);
        for item in &items {
            match item {
                FetchValue::Uid(u) => uid = Some(*u),
                FetchValue::Flags(f) => flags = kept_flags(f),
                FetchValue::InternalDate(d) => date = Some(*d),
                FetchValue::Rfc822Size(n) => size = Some(*n),
                _ => {}
            }
        }
        if let (Some(uid), Some(size)) = (uid, size) {
            let header = client::section_data(&items).map_or(&[][..], |d| d.as_ref());
            listed.push(Listed {
                uid,
                flags,
                date,
                fingerprint: Fingerprint::new(size, header),
            });
        }
    })
    .await?;
    Ok(listed)
}

/// Flags a client may set: the system flags and keywords, not `\Recent` (the server's own)
/// nor another server's own system flags (`\Important`), which an APPEND would be refused for.
fn kept_flags(flags: &[Flag]) -> Vec<Flag> {
    flags
        .iter()
        .filter(|f| !matches!(f, Flag::Recent | Flag::Wildcard | Flag::Extension(_)))
        .cloned()
        .collect()
}

/// The bodies of `messages`, by UID.
async fn bodies(
    from: &mut ImapClient,
    messages: &[Listed],
) -> Result<HashMap<u32, bytes::Bytes>, ClientError> {
    let set = SequenceSet::from_numbers(messages.iter().map(|m| m.uid));
    let items = vec![
        FetchAttribute::Uid,
        FetchAttribute::BodySection {
            peek: true,
            section: Section::default(),
            partial: None,
        },
    ];
    let mut bodies = HashMap::new();
    from.uid_fetch(set, items, |items| {
        let uid = items.iter().find_map(|i| match i {
            FetchValue::Uid(u) => Some(*u),
            _ => None,
        });
        if let (Some(uid), Some(data)) = (uid, client::section_data(&items)) {
            bodies.insert(uid, data.clone());
        }
    })
    .await?;
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_urls() {
        let url: SourceUrl = "imaps://bob@example.com@mail.example.com".parse().unwrap();
        assert_eq!(
            url,
            SourceUrl {
                tls: true,
                user: "bob@example.com".into(),
                host: "mail.example.com".into(),
                port: 993
            }
        );
        let url: SourceUrl = "imap://bob@127.0.0.1:1143".parse().unwrap();
        assert_eq!(
            (url.tls, url.port, url.host.as_str()),
            (false, 1143, "127.0.0.1")
        );
        let url: SourceUrl = "imaps://bob@[::1]:993".parse().unwrap();
        assert_eq!(url.host, "::1");
        for bad in [
            "pop3://a@b",
            "imaps://host",
            "imaps://@host",
            "imaps://a@b:x",
        ] {
            assert!(bad.parse::<SourceUrl>().is_err(), "{bad}");
        }
    }
}
