//! The worker that keeps a certificate: at start and then every `check_every`, it reads the
//! stored certificate, presents it while it is valid, and obtains a new one when there is
//! none or it expires within `renew_before`. A failure is retried after a minute, then after
//! twice as long each time (up to `check_every`), so a misconfigured name does not hammer the
//! ACME server (Let's Encrypt limits failed validations per hour).

use super::{acme, CertFiles, CertResolver, Challenges, HttpsConfig, TlsError};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Runs until `stopped` turns true.
pub async fn renewal_worker(
    config: HttpsConfig,
    resolver: Arc<CertResolver>,
    challenges: Challenges,
    mut stopped: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    loop {
        let wait = match keep(&config, &resolver, &challenges).await {
            Ok(()) => {
                failures = 0;
                config.check_every
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let backoff = Duration::from_secs(60u64 << failures.min(10).saturating_sub(1));
                let wait = backoff.min(config.check_every);
                tracing::error!(domain = %config.domain, error = %e, retry_in = ?wait,
                    "acme: no certificate obtained");
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

/// One look: present the stored certificate while valid, renew it when due.
async fn keep(
    config: &HttpsConfig,
    resolver: &CertResolver,
    challenges: &Challenges,
) -> Result<(), TlsError> {
    let files = CertFiles::new(&config.cert_dir, &config.domain);
    let stored = files.read().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "acme: the stored certificate is unusable; obtaining a new one");
        None
    });
    let now = Utc::now();
    if let Some(stored) = &stored {
        if stored.not_after > now {
            // Still valid: presented (again: the file may have been replaced) until renewed.
            resolver.replace(files.certified_key(stored)?);
        }
        let left = (stored.not_after - now).to_std().unwrap_or_default();
        if left > config.renew_before {
            return Ok(());
        }
        tracing::info!(domain = %config.domain, not_after = %stored.not_after, "acme: renewing");
    }
    let (chain, key) = acme::obtain(config, challenges).await?;
    files.write(&chain, &key)?;
    let fresh = files.read()?.ok_or_else(|| TlsError::Certificate {
        path: files.path().to_path_buf(),
        message: "gone right after it was written".into(),
    })?;
    resolver.replace(files.certified_key(&fresh)?);
    tracing::info!(domain = %config.domain, not_after = %fresh.not_after, "acme: certificate obtained");
    Ok(())
}
