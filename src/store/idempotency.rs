//! Idempotency keys: claims, kept responses, and the writes that complete them.

use super::*;

#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` with `token`, or returns who holds it. A key created before
    /// `expired_before` is forgotten first, so it counts as new.
    async fn claim_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        request_hash: &[u8],
        token: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> StoreResult<IdempotencyClaim>;
    /// Keeps the response of a claim still held with `token`; `false` when it is not (the
    /// response was kept already, or the claim was taken over).
    async fn complete_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        token: &str,
        response: &StoredResponse,
    ) -> StoreResult<bool>;
    /// Forgets an unfinished claim (the request failed before doing anything durable, or
    /// died) if it is still the one made with `token`; `false` when it is not.
    async fn release_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        token: &str,
    ) -> StoreResult<bool>;
    /// Deletes up to `limit` keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64>;
    /// `insert_payment`, keeping the response of the key in the same transaction.
    async fn insert_payment_completing(
        &self,
        payment: &Payment,
        event: &NewEvent,
        key: &KeyCompletion,
    ) -> StoreResult<()>;
    /// `create_refund`, keeping the response of the key in the same transaction.
    async fn create_refund_completing(
        &self,
        scope: &Scope,
        refund: &Refund,
        event: RefundEventBuilder<'_>,
        key: &KeyCompletion,
    ) -> Result<(Payment, Refund), RefundRefusal>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! idempotency_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl IdempotencyStore for Backend {
    async fn claim_idempotency_key(&self, scope: &Scope, key: &str, request_hash: &[u8],
        token: &str, now: DateTime<Utc>,
        expired_before: DateTime<Utc>) -> StoreResult<IdempotencyClaim> {
        // A key past its lifetime counts as new, whether the purge got to it or not.
        sql!("DELETE FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 AND key = $3 \
             AND created_at < $4",
            &scope.merchant_id, scope.livemode, key, ts(expired_before)).execute(self.writer())
        .await?;
        let inserted = sql!("INSERT INTO idempotency_keys (merchant_id, livemode, key, request_hash, created_at, \
             claim_token) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &scope.merchant_id, scope.livemode, key, request_hash, ts(now), token)
        .execute(self.writer()).await?.rows_affected();
        if inserted == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        let row = sql!("SELECT request_hash, response_status, response_body, created_at, claim_token \
             FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 AND key = $3",
            &scope.merchant_id, scope.livemode, key).fetch_optional(self.writer()).await?
        .ok_or(StoreError::NotFound)?;
        let status: Option<i32> = row.try_get("response_status")?;
        let body: Option<Vec<u8>> = row.try_get("response_body")?;
        Ok(IdempotencyClaim::Existing {
            request_hash: row.try_get("request_hash")?,
            response: match (status, body) {
                (Some(status), Some(body)) => Some(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                }),
                _ => None,
            },
            created_at: get(&row, "created_at")?,
            token: row.try_get("claim_token")?,
        })
    }

    async fn complete_idempotency_key(&self, scope: &Scope, key: &str, token: &str,
        response: &StoredResponse) -> StoreResult<bool> {
        let kept = sql!(COMPLETE_KEY, &scope.merchant_id, scope.livemode, key,
            i32::from(response.status), &response.body, token).execute(self.writer()).await?
            .rows_affected();
        Ok(kept == 1)
    }

    async fn release_idempotency_key(&self, scope: &Scope, key: &str,
        token: &str) -> StoreResult<bool> {
        let released = sql!("DELETE FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 AND key = $3 \
             AND claim_token = $4 AND response_status IS NULL",
            &scope.merchant_id, scope.livemode, key, token).execute(self.writer()).await?
        .rows_affected();
        Ok(released == 1)
    }

    async fn create_refund_completing(&self, scope: &Scope, refund: &Refund,
        event: RefundEventBuilder<'_>,
        key: &KeyCompletion) -> Result<(Payment, Refund), RefundRefusal> {
        self.write_refund(scope, refund, event, Some(key)).await
    }


    async fn purge_idempotency_keys(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        Ok(sql!(&format!("DELETE FROM idempotency_keys WHERE {ROW_ID} IN \
             (SELECT {ROW_ID} FROM idempotency_keys WHERE created_at < $1 LIMIT $2)"),
            ts(before), i64::from(limit)).execute(self.writer()).await?.rows_affected())
    }

    $($own)*
}

/// Keeps the response of a claim that is still unfinished and held with the token.
const COMPLETE_KEY: &str = "UPDATE idempotency_keys SET response_status = $4, response_body = $5 \
     WHERE merchant_id = $1 AND livemode = $2 AND key = $3 AND claim_token = $6 \
     AND response_status IS NULL";

/// Keeps a key's response inside the caller's transaction; `KeyClaimLost` (and the caller
/// rolls back) when the claim is no longer held with the key's token. The row stays locked
/// until the commit, so a concurrent release waits and then finds it finished.
async fn complete_key_in(tx: &mut Conn, scope: &Scope, key: &KeyCompletion) -> StoreResult<()> {
    let kept = sql!(COMPLETE_KEY, &scope.merchant_id, scope.livemode, &key.key,
        i32::from(key.response.status), &key.response.body, &key.token).execute(&mut *tx).await?
        .rows_affected();
    if kept == 1 {
        Ok(())
    } else {
        Err(StoreError::KeyClaimLost)
    }
}
    };
}
pub(super) use idempotency_sql;
