//! Idempotency keys as the service sees them: a create that a front door runs under a claimed
//! key keeps the key's response in the same transaction as the payment or refund it writes, so
//! a crash leaves both or neither, and a retry after the crash either replays the response or
//! runs the request for the first time — never a second time.

use super::{PaymentService, ServiceError};
use crate::store::{KeyCompletion, StoreError, StoredResponse};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// How long a key is remembered (as Stripe): a key older than this counts as new, and the
/// purge deletes it.
pub const KEY_LIFETIME: Duration = Duration::hours(24);

/// Most keys one purge statement deletes, so a backlog never becomes one huge transaction.
const PURGE_BATCH: u32 = 1000;

/// A key the front door has claimed for this request, and the status it answers a success with.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedKey {
    pub key: String,
    /// The claim's token: the write fails when the claim is no longer held with it.
    pub token: String,
    /// The HTTP status of the successful response (`201` for a create).
    pub status: u16,
}

impl ClaimedKey {
    /// The completion that keeps `object` (serialized exactly as the JSON response) as the
    /// key's response.
    pub(crate) fn completion<T: Serialize>(
        &self,
        object: &T,
    ) -> Result<KeyCompletion, ServiceError> {
        let body = serde_json::to_vec(object)
            .map_err(|e| StoreError::Corrupt(format!("response not serializable: {e}")))?;
        Ok(KeyCompletion {
            key: self.key.clone(),
            token: self.token.clone(),
            response: StoredResponse {
                status: self.status,
                body,
            },
        })
    }
}

/// What a create says when a retry took its stale key over while it ran: nothing was written.
pub(crate) fn claim_lost() -> ServiceError {
    ServiceError::Conflict(
        "another request with this Idempotency-Key took it over while this one ran; \
         nothing was written by this request"
            .into(),
    )
}

impl PaymentService {
    /// Deletes the keys older than `KEY_LIFETIME`; returns how many.
    pub async fn purge_idempotency_keys(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        let before = now - KEY_LIFETIME;
        let mut total = 0;
        loop {
            let n = self
                .store
                .purge_idempotency_keys(before, PURGE_BATCH)
                .await?;
            total += n;
            if n < u64::from(PURGE_BATCH) {
                return Ok(total);
            }
        }
    }
}

/// The front door's side of a key: claiming it before the request runs, releasing it when
/// nothing durable happened, keeping the response when the handler did not.
impl PaymentService {
    /// Claims `key` for a request with this hash, or says who holds it. A key older than
    /// `KEY_LIFETIME` counts as new.
    pub async fn claim_idempotency_key(
        &self,
        scope: &crate::store::Scope,
        key: &str,
        request_hash: &[u8],
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::store::IdempotencyClaim, StoreError> {
        self.store
            .claim_idempotency_key(scope, key, request_hash, token, now, now - KEY_LIFETIME)
            .await
    }

    /// Lets the key go if `token` still holds it; returns whether it did.
    pub async fn release_idempotency_key(
        &self,
        scope: &crate::store::Scope,
        key: &str,
        token: &str,
    ) -> Result<bool, StoreError> {
        self.store.release_idempotency_key(scope, key, token).await
    }

    /// Keeps `response` as the key's answer if `token` still holds it (a no-op when the
    /// handler kept it with its change).
    pub async fn complete_idempotency_key(
        &self,
        scope: &crate::store::Scope,
        key: &str,
        token: &str,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        self.store
            .complete_idempotency_key(scope, key, token, response)
            .await
    }
}
