//! Obtaining a certificate from an ACME server (RFC 8555) by the HTTP-01 challenge: the
//! server fetches `http://NAME/.well-known/acme-challenge/TOKEN` from port 80, which
//! `port80.rs` answers from `Challenges`. The ACME account is made once and kept in the
//! certificate directory, one per ACME server.

use super::{Challenges, HttpsConfig, TlsError};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;

/// A new certificate for the configured domain: its chain and its private key, both PEM.
pub async fn obtain(
    config: &HttpsConfig,
    challenges: &Challenges,
) -> Result<(String, String), TlsError> {
    let account = account(config).await?;
    let identifiers = [Identifier::Dns(config.domain.clone())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(acme)?;
    let mut tokens = Vec::new();
    let issued = async {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization?;
            if matches!(authorization.status, AuthorizationStatus::Valid) {
                continue;
            }
            let mut challenge = authorization
                .challenge(ChallengeType::Http01)
                .ok_or(instant_acme::Error::Str("no http-01 challenge offered"))?;
            challenges.insert(&challenge.token, challenge.key_authorization().as_str());
            tokens.push(challenge.token.clone());
            challenge.set_ready().await?;
        }
        let patient = RetryPolicy::new().timeout(Duration::from_secs(90));
        let status = order.poll_ready(&patient).await?;
        if status != OrderStatus::Ready {
            return Err(instant_acme::Error::Str("the order was not validated"));
        }
        let key_pem = order.finalize().await?;
        let chain_pem = order.poll_certificate(&patient).await?;
        Ok((chain_pem, key_pem))
    }
    .await;
    for token in &tokens {
        challenges.remove(token);
    }
    issued.map_err(acme)
}

/// The account kept for this ACME server, made (and kept) the first time.
async fn account(config: &HttpsConfig) -> Result<Account, TlsError> {
    let path = account_file(config);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(credentials) = serde_json::from_str::<AccountCredentials>(&text) {
            return builder(config)?
                .from_credentials(credentials)
                .await
                .map_err(acme);
        }
        tracing::warn!(path = %path.display(), "unreadable ACME account file: making a new account");
    }
    let contact = config.email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contacts,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = builder(config)?
        .create(&new, config.directory.clone(), None)
        .await
        .map_err(acme)?;
    let text = serde_json::to_string(&credentials).map_err(|e| acme(e.into()))?;
    super::files::write_private(&path, &text).map_err(|source| TlsError::File { path, source })?;
    Ok(account)
}

fn builder(config: &HttpsConfig) -> Result<instant_acme::AccountBuilder, TlsError> {
    // The ACME client builds its TLS configuration from the process's default provider; ring
    // is the one the rest of Hundi uses (a no-op when one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match &config.directory_ca {
        Some(ca) => Account::builder_with_root(ca).map_err(acme),
        None => Account::builder().map_err(acme),
    }
}

/// `acme-account-<hash of the directory URL>.json`: an account belongs to one ACME server.
fn account_file(config: &HttpsConfig) -> PathBuf {
    let digest = Sha256::digest(config.directory.as_bytes());
    config
        .cert_dir
        .join(format!("acme-account-{}.json", &hex::encode(digest)[..16]))
}

fn acme(e: instant_acme::Error) -> TlsError {
    TlsError::Acme(e.to_string())
}
