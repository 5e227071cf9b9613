//! One IMAP connection to a merchant's mailbox, always over TLS (implicit, or STARTTLS before
//! the login), with every command bounded in time: log in, open the folder, list the UIDs to
//! read, fetch them without marking them read, and wait for new mail (IDLE, or a plain wait
//! where the server has no IDLE).

use super::message::MESSAGE_MAX;
use crate::domain::mailbox::{MailboxSettings, Security};
use crate::domain::webhook::forbidden_ip;
use async_imap::{Client, Session};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

type Stream = TlsStream<TcpStream>;

/// A server that says nothing for this long is taken as gone.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// UIDs handed back per listing, so one round's work is bounded whatever the folder holds.
pub const UIDS_PER_ROUND: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot reach {0}: {1}")]
    Connect(String, std::io::Error),
    #[error(
        "{0} is a private, loopback or reserved address; a mail server on your own network \
         needs HUNDI_ALLOW_PRIVATE_MAIL=true"
    )]
    Private(std::net::IpAddr),
    #[error("TLS with {0} failed: {1}")]
    Tls(String, std::io::Error),
    #[error("the server offers no STARTTLS; use tls (port 993)")]
    NoStartTls,
    #[error("the server refused the login: {0}")]
    Login(String),
    #[error("cannot open folder {0}: {1}")]
    Folder(String, String),
    #[error("the server did not answer within {0:?}")]
    Silent(Duration),
    #[error("the connection failed: {0}")]
    Protocol(#[from] async_imap::error::Error),
}

impl From<std::io::Error> for ImapError {
    fn from(e: std::io::Error) -> ImapError {
        ImapError::Protocol(e.into())
    }
}

/// `future`, or [`ImapError::Silent`] when it takes longer than the server may.
async fn bounded<T, E: Into<ImapError>>(
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match timeout(ANSWER_WITHIN, future).await {
        Ok(done) => done.map_err(Into::into),
        Err(_) => Err(ImapError::Silent(ANSWER_WITHIN)),
    }
}

/// A logged-in connection with its folder open.
pub struct Connection {
    /// `None` only while an IDLE holds it.
    session: Option<Session<Stream>>,
    pub uid_validity: u32,
    /// The UID the folder's next message will get, as of opening it.
    uid_next: Option<u32>,
    idle: bool,
}

/// The address to connect to: the host's first address, refused when it is on the
/// operator's own network (a merchant's settings must not reach it) unless allowed.
async fn address(s: &MailboxSettings, allow_private: bool) -> Result<SocketAddr, ImapError> {
    let shown = format!("{}:{}", s.host, s.port);
    let found: Vec<SocketAddr> = bounded(tokio::net::lookup_host((s.host.as_str(), s.port)))
        .await
        .map_err(|e| ImapError::Connect(shown.clone(), std::io::Error::other(e)))?
        .collect();
    // Every address is checked, so a name cannot mix a public address with a private one.
    match found
        .iter()
        .find(|a| !allow_private && forbidden_ip(a.ip()))
    {
        Some(private) => Err(ImapError::Private(private.ip())),
        None => found.first().copied().ok_or_else(|| {
            ImapError::Connect(shown, std::io::Error::other("the host has no address"))
        }),
    }
}

/// Connects, secures, logs in and opens the folder.
pub async fn connect(
    s: &MailboxSettings,
    password: &str,
    tls: &TlsConnector,
    allow_private: bool,
) -> Result<Connection, ImapError> {
    let address = address(s, allow_private).await?;
    let tcp = bounded(TcpStream::connect(address))
        .await
        .map_err(|e| match e {
            ImapError::Protocol(async_imap::error::Error::Io(io)) => {
                ImapError::Connect(address.to_string(), io)
            }
            other => other,
        })?;
    let name = ServerName::try_from(s.host.clone())
        .map_err(|e| ImapError::Tls(s.host.clone(), std::io::Error::other(e)))?;
    let tcp = match s.security {
        Security::Tls => tcp,
        Security::StartTls => starttls(tcp).await?,
    };
    let stream = bounded(tls.connect(name, tcp))
        .await
        .map_err(|e| ImapError::Tls(s.host.clone(), std::io::Error::other(e)))?;
    let mut client = Client::new(stream);
    if s.security == Security::Tls {
        bounded(client.read_response()).await?; // the greeting
    }
    let login = async {
        client
            .login(&s.username, password)
            .await
            .map_err(|(e, _)| e)
    };
    let mut session = bounded(login).await.map_err(|e| match e {
        ImapError::Protocol(async_imap::error::Error::No(m)) => ImapError::Login(m),
        other => other,
    })?;
    let folder = bounded(session.select(&s.folder))
        .await
        .map_err(|e| ImapError::Folder(s.folder.clone(), e.to_string()))?;
    let idle = bounded(session.capabilities()).await?.has_str("IDLE");
    Ok(Connection {
        session: Some(session),
        // A server without UIDVALIDITY keeps UIDs for ever (RFC 3501 requires it anyway).
        uid_validity: folder.uid_validity.unwrap_or(0),
        uid_next: folder.uid_next,
        idle,
    })
}

/// Reads the greeting on a plain connection and asks for TLS; the stream is then handed to
/// the TLS handshake, with nothing else said in the clear.
async fn starttls(tcp: TcpStream) -> Result<TcpStream, ImapError> {
    let mut client = Client::new(tcp);
    bounded(client.read_response()).await?;
    bounded(client.run_command_and_check_ok("STARTTLS", None))
        .await
        .map_err(|_| ImapError::NoStartTls)?;
    Ok(client.into_inner())
}

impl Connection {
    fn session(&mut self) -> Result<&mut Session<Stream>, ImapError> {
        self.session.as_mut().ok_or_else(|| {
            ImapError::Protocol(std::io::Error::other("the session was lost").into())
        })
    }

    /// The UID below which every message already was when the folder was opened.
    pub async fn highest_uid(&mut self) -> Result<u32, ImapError> {
        if let Some(next) = self.uid_next {
            return Ok(next.saturating_sub(1));
        }
        let all = bounded(self.session()?.uid_search("ALL")).await?;
        Ok(all.into_iter().max().unwrap_or(0))
    }

    /// Up to [`UIDS_PER_ROUND`] UIDs after `last`, lowest first.
    pub async fn uids_after(&mut self, last: u32) -> Result<Vec<u32>, ImapError> {
        let query = format!("UID {}:*", last.saturating_add(1));
        let found = bounded(self.session()?.uid_search(query)).await?;
        // `n:*` holds the highest UID even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        uids.truncate(UIDS_PER_ROUND);
        Ok(uids)
    }

    /// The lowest UID of a message that arrived at or after `since`, if any arrived since.
    pub async fn first_since(&mut self, since: DateTime<Utc>) -> Result<Option<u32>, ImapError> {
        // Arrival times are kept to the second: one in the same second counts.
        let since = since - chrono::Duration::seconds(1);
        // SEARCH SINCE has a day's precision; the arrival time narrows it.
        let day = (since - chrono::Duration::days(1)).format("%d-%b-%Y");
        let found = bounded(self.session()?.uid_search(format!("SINCE {day}"))).await?;
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        for chunk in uids.chunks(UIDS_PER_ROUND) {
            let set = join(chunk);
            let session = self.session()?;
            let fetched: Vec<_> = bounded(async {
                session
                    .uid_fetch(&set, "(UID INTERNALDATE)")
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
            let mut arrived: Vec<u32> = fetched
                .iter()
                .filter(|f| f.internal_date().is_some_and(|d| d >= since))
                .filter_map(|f| f.uid)
                .collect();
            arrived.sort_unstable();
            if let Some(first) = arrived.first() {
                return Ok(Some(*first));
            }
        }
        Ok(None)
    }

    /// The messages with these UIDs (their first [`MESSAGE_MAX`] bytes), without setting
    /// `\Seen`: the merchant's own mail client still shows them as new.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        let query = format!("(UID BODY.PEEK[]<0.{MESSAGE_MAX}>)");
        let set = join(uids);
        let session = self.session()?;
        let fetched: Vec<_> =
            bounded(async { session.uid_fetch(&set, &query).await?.try_collect().await }).await?;
        let mut messages: Vec<(u32, Vec<u8>)> = fetched
            .iter()
            .filter_map(|f| Some((f.uid?, f.body().unwrap_or_default().to_vec())))
            .collect();
        messages.sort_by_key(|(uid, _)| *uid);
        Ok(messages)
    }

    /// Waits up to `at_most` for the server to announce new mail (IDLE), or simply waits
    /// where the server has no IDLE; the caller looks for new UIDs either way.
    pub async fn wait(&mut self, at_most: Duration) -> Result<(), ImapError> {
        if !self.idle {
            tokio::time::sleep(at_most).await;
            return bounded(self.session()?.noop()).await;
        }
        let session = self.session.take().ok_or_else(|| {
            ImapError::Protocol(std::io::Error::other("the session was lost").into())
        })?;
        let mut idle = session.idle();
        bounded(idle.init()).await?;
        let (waiting, _stop) = idle.wait_with_timeout(at_most);
        // An answer or a timeout both end the wait; a broken connection is an error.
        waiting.await?;
        self.session = Some(bounded(idle.done()).await?);
        Ok(())
    }

    pub async fn logout(mut self) {
        if let Some(session) = self.session.as_mut() {
            let _ = timeout(Duration::from_secs(2), session.logout()).await;
        }
    }
}

fn join(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// What the readers trust: the public roots, and the certificates of `extra` (a PEM file,
/// for a mail server with a private CA).
pub fn tls_connector(extra: Option<&std::path::Path>) -> Result<TlsConnector, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(std::sync::Arc::new(config)))
}
