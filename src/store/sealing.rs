//! Webhook endpoint secrets are sealed at rest (AES-256-GCM under the master key, like the
//! dialects' credentials, `secrets.rs`): a copy of the database cannot sign webhooks that a
//! merchant would trust.
//!
//! The store seals on write and opens on read, so every writer is covered (the API, the
//! dashboard, the CLI, an API key's own endpoint, a payment's callback URL). A value already
//! sealed is never sealed twice. Rows in clear (written before sealing existed, or by a store
//! not yet given the master key) are read as they are and sealed by
//! `Store::seal_endpoint_secrets`, which every server start runs. A migration cannot do it:
//! the master key never enters the database.

use super::{DeliveryJob, StoreError, StoreResult};
use crate::domain::webhook::Endpoint;
use crate::secrets::SecretBox;
use std::sync::{Arc, RwLock};

/// The master key a store seals endpoint secrets with, once it is given one.
#[derive(Default)]
pub(crate) struct EndpointSealer {
    key: RwLock<Option<Arc<SecretBox>>>,
}

/// What a sealed secret is bound to: a value copied to another endpoint's row does not open.
fn context(endpoint_id: &str) -> String {
    Endpoint::seal_context(endpoint_id)
}

impl EndpointSealer {
    pub fn set(&self, secrets: &SecretBox) {
        if let Ok(mut key) = self.key.write() {
            *key = Some(Arc::new(secrets.clone()));
        }
    }

    fn key(&self) -> Option<Arc<SecretBox>> {
        self.key.read().ok().and_then(|k| k.clone())
    }

    /// The stored form of an endpoint's secret: sealed when the store has the master key.
    pub fn seal(&self, endpoint_id: &str, plain: &str) -> String {
        match self.key() {
            Some(key) if !SecretBox::is_sealed(plain) => key.seal(plain, &context(endpoint_id)),
            _ => plain.to_string(),
        }
    }

    pub fn seal_opt(&self, endpoint_id: &str, plain: Option<&str>) -> Option<String> {
        plain.map(|p| self.seal(endpoint_id, p))
    }

    /// The secret in clear; a value stored in clear is returned as it is.
    pub fn open(&self, endpoint_id: &str, stored: &str) -> StoreResult<String> {
        if !SecretBox::is_sealed(stored) {
            return Ok(stored.to_string());
        }
        let key = self.key().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "webhook endpoint {endpoint_id}: its secret is sealed and no master key is set"
            ))
        })?;
        key.open(stored, &context(endpoint_id))
            .map_err(|e| StoreError::Corrupt(format!("webhook endpoint {endpoint_id}: {e}")))
    }

    /// Like `open`, for reads that must not fail as a whole because of one row (a listing, a
    /// batch of deliveries): the stored value stays, which signs nothing a receiver accepts,
    /// and the failure is logged.
    fn open_or_keep(&self, endpoint_id: &str, stored: String) -> String {
        match self.open(endpoint_id, &stored) {
            Ok(plain) => plain,
            Err(e) => {
                tracing::error!(error = %e, "a webhook secret could not be opened");
                stored
            }
        }
    }

    /// An endpoint as read, with its secrets opened; fails if they do not open (its secrets
    /// are about to be used or written back).
    pub fn open_endpoint(&self, mut e: Endpoint) -> StoreResult<Endpoint> {
        e.secret = self.open(&e.id, &e.secret)?;
        e.previous_secret = match e.previous_secret.take() {
            Some(p) => Some(self.open(&e.id, &p)?),
            None => None,
        };
        Ok(e)
    }

    pub fn open_listed(&self, mut e: Endpoint) -> Endpoint {
        e.secret = self.open_or_keep(&e.id, std::mem::take(&mut e.secret));
        e.previous_secret = e
            .previous_secret
            .take()
            .map(|p| self.open_or_keep(&e.id, p));
        e
    }

    pub fn open_job(&self, job: &mut DeliveryJob) {
        job.secret = self.open_or_keep(&job.endpoint_id, std::mem::take(&mut job.secret));
        job.previous_secret = job
            .previous_secret
            .take()
            .map(|p| self.open_or_keep(&job.endpoint_id, p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_sealed_once_and_open_only_on_their_endpoint() {
        let sealer = EndpointSealer::default();
        // No master key yet: stored as given (sealed at the next start).
        assert_eq!(sealer.seal("we_1", "whsec_abc"), "whsec_abc");
        let key = SecretBox::random();
        sealer.set(&key);
        let sealed = sealer.seal("we_1", "whsec_abc");
        assert!(SecretBox::is_sealed(&sealed) && !sealed.contains("whsec_abc"));
        assert_eq!(sealer.seal("we_1", &sealed), sealed, "never sealed twice");
        assert_eq!(sealer.open("we_1", &sealed).unwrap(), "whsec_abc");
        assert!(sealer.open("we_2", &sealed).is_err());
        assert_eq!(sealer.open("we_1", "whsec_old").unwrap(), "whsec_old");
    }
}
