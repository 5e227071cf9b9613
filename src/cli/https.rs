//! `serve --domain`'s flags: HTTPS for the node's own name, its certificate by ACME.

use crate::tls::{HttpsConfig, LETS_ENCRYPT};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Clone)]
pub struct HttpsArgs {
    /// Serve HTTPS for this name with a certificate obtained and renewed by ACME: listens on
    /// 443 and on 80 (challenges, and a redirect to HTTPS), the public URL becomes
    /// https://NAME and responses carry HSTS. The name must point at this machine.
    #[arg(long, env = "HUNDI_DOMAIN")]
    domain: Option<String>,
    /// Where HTTPS is served with --domain.
    #[arg(long, env = "HUNDI_HTTPS_LISTEN", default_value = "0.0.0.0:443")]
    https_listen: String,
    /// Where plain HTTP is served with --domain (the ACME server connects to port 80).
    #[arg(long, env = "HUNDI_HTTP_LISTEN", default_value = "0.0.0.0:80")]
    http_listen: String,
    /// The ACME server's directory (default: Let's Encrypt).
    #[arg(long, env = "HUNDI_ACME_DIRECTORY", default_value = LETS_ENCRYPT)]
    acme_directory: String,
    /// A PEM root to trust for the ACME server's own HTTPS (a private ACME server).
    #[arg(long, env = "HUNDI_ACME_CA_FILE")]
    acme_ca_file: Option<PathBuf>,
    /// A contact address for the certificate authority (expiry warnings, problems).
    #[arg(long, env = "HUNDI_ACME_EMAIL")]
    acme_email: Option<String>,
    /// Where the certificate and the ACME account are kept (default: `certs` beside the
    /// SQLite database, `./certs` with PostgreSQL).
    #[arg(long, env = "HUNDI_CERT_DIR")]
    cert_dir: Option<PathBuf>,
    /// Renew the certificate this many days before it expires.
    #[arg(long, env = "HUNDI_ACME_RENEW_DAYS", default_value_t = 30)]
    acme_renew_days: u64,
    /// Seconds between two looks at the certificate's expiry.
    #[arg(long, env = "HUNDI_ACME_CHECK_SECS", default_value_t = 43_200)]
    acme_check_secs: u64,
}

impl HttpsArgs {
    /// The HTTPS settings, or `None` without `--domain`.
    pub fn config(&self, database_url: &str) -> anyhow::Result<Option<HttpsConfig>> {
        let Some(domain) = self.domain.as_deref().filter(|d| !d.trim().is_empty()) else {
            return Ok(None);
        };
        let mut config = HttpsConfig::new(domain, database_url)?;
        config.https_listen = self.https_listen.clone();
        config.http_listen = self.http_listen.clone();
        config.directory = self.acme_directory.clone();
        config.directory_ca = self.acme_ca_file.clone();
        config.email = self.acme_email.clone().filter(|e| !e.trim().is_empty());
        if let Some(dir) = &self.cert_dir {
            config.cert_dir = dir.clone();
        }
        config.renew_before = Duration::from_secs(self.acme_renew_days.min(3650) * 24 * 3600);
        config.check_every = Duration::from_secs(self.acme_check_secs.max(1));
        Ok(Some(config))
    }
}
