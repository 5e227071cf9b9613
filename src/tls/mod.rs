//! HTTPS by itself (`hundi serve --domain NAME`): a certificate from an ACME server (Let's
//! Encrypt by default), kept in a file beside the database, renewed before it expires and
//! swapped into the running server without a restart; port 80 answers the ACME server's
//! challenges and sends everything else to HTTPS.
//!
//! - `files.rs`: the stored certificate (one PEM file per domain: the chain, then its key).
//! - `resolver.rs`: the certificate the TLS handshakes present, replaced when renewed.
//! - `acme.rs`: obtaining a certificate (RFC 8555, HTTP-01) through `instant-acme`.
//! - `port80.rs`: the plain-HTTP listener's answers: challenges and the redirect.
//! - `renewal.rs`: the worker that obtains and renews.
//! - `serve.rs`: serving the app over TLS, and port 80 beside it.

mod acme;
mod files;
mod port80;
mod renewal;
mod resolver;
mod serve;

pub use files::{CertFiles, StoredCert};
pub use port80::{port80_router, Challenges};
pub use renewal::renewal_worker;
pub use resolver::CertResolver;
pub use serve::{serve_tls, TlsFront};

use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Let's Encrypt's production directory, the default ACME server.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How a node serves HTTPS for its own domain.
#[derive(Debug, Clone)]
pub struct HttpsConfig {
    /// The name customers reach the node by; the certificate is for it.
    pub domain: String,
    /// Where HTTPS is served (`0.0.0.0:443`).
    pub https_listen: String,
    /// Where plain HTTP is served for the ACME challenge and the redirect (`0.0.0.0:80`).
    pub http_listen: String,
    /// The ACME server's directory URL.
    pub directory: String,
    /// The one PEM root trusted for the ACME server's own HTTPS, instead of the system's roots
    /// (a private ACME server, a test one).
    pub directory_ca: Option<PathBuf>,
    /// A contact address the certificate authority may write to about the certificate.
    pub email: Option<String>,
    /// Where the certificate and the ACME account are kept.
    pub cert_dir: PathBuf,
    /// How long before its expiry a certificate is renewed.
    pub renew_before: Duration,
    /// How often the stored certificate's expiry is looked at.
    pub check_every: Duration,
}

impl HttpsConfig {
    /// The defaults for `domain`, with the certificates beside the database.
    pub fn new(domain: &str, database_url: &str) -> Result<HttpsConfig, TlsError> {
        Ok(HttpsConfig {
            domain: valid_domain(domain)?,
            https_listen: "0.0.0.0:443".into(),
            http_listen: "0.0.0.0:80".into(),
            directory: LETS_ENCRYPT.into(),
            directory_ca: None,
            email: None,
            cert_dir: default_cert_dir(database_url),
            renew_before: Duration::from_secs(30 * 24 * 3600),
            check_every: Duration::from_secs(12 * 3600),
        })
    }

    /// The port `https_listen` names (443 when it names none).
    pub fn listen_port(&self) -> u16 {
        self.https_listen
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(443)
    }

    /// The public URL the domain gives: `https://NAME`, with the port when it is not 443.
    pub fn public_url(&self, https_port: u16) -> String {
        match https_port {
            443 => format!("https://{}", self.domain),
            port => format!("https://{}:{port}", self.domain),
        }
    }
}

/// Why HTTPS could not be set up or a certificate not obtained.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0:?} is not a domain name a certificate can be issued for")]
    Domain(String),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("the ACME server: {0}")]
    Acme(String),
}

/// A name an ACME server can issue for: letters, digits, hyphens and dots, two labels at least,
/// no IP address, no wildcard (HTTP-01 cannot prove one).
fn valid_domain(name: &str) -> Result<String, TlsError> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let labels: Vec<&str> = name.split('.').collect();
    let is_ip = name.parse::<std::net::IpAddr>().is_ok();
    if name.len() > 253 || labels.len() < 2 || is_ip || !labels.iter().all(|l| label_ok(l)) {
        return Err(TlsError::Domain(name));
    }
    Ok(name)
}

/// `certs/` beside a SQLite database; `./certs` for PostgreSQL, whose data is elsewhere.
pub fn default_cert_dir(database_url: &str) -> PathBuf {
    crate::domain::database_file::beside_database(database_url, "certs")
}

/// When the certificate stored for `domain` expires; `None` when none is stored yet.
pub fn stored_not_after(cert_dir: &Path, domain: &str) -> Result<Option<DateTime<Utc>>, TlsError> {
    Ok(CertFiles::new(cert_dir, domain)
        .read()?
        .map(|stored| stored.not_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_an_acme_server_can_issue_for() {
        assert_eq!(valid_domain("Pay.Example.COM.").unwrap(), "pay.example.com");
        assert!(valid_domain("pay.hundi.test").is_ok());
        for bad in [
            "localhost",
            "127.0.0.1",
            "*.example.com",
            "-a.example.com",
            "a..b",
            "pay example.com",
            "",
        ] {
            assert!(valid_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_public_url_names_a_port_other_than_443() {
        let mut c = HttpsConfig::new("pay.example.com", "sqlite://x.db").unwrap();
        assert_eq!(c.public_url(443), "https://pay.example.com");
        c.domain = "pay.hundi.test".into();
        assert_eq!(c.public_url(8443), "https://pay.hundi.test:8443");
        assert_eq!(c.listen_port(), 443);
        c.https_listen = "[::]:8443".into();
        assert_eq!(c.listen_port(), 8443);
    }
}
