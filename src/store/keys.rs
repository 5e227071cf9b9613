//! API keys, their request counts and rate-limit buckets, and the news of changed keys.

use super::*;

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Writes a new key and, when it has a webhook URL, that URL's endpoint: one transaction.
    async fn create_key(
        &self,
        key: &ApiKey,
        endpoint: Option<&Endpoint>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    async fn find_key_by_hash(&self, hash: &[u8]) -> StoreResult<ApiKey>;
    async fn list_keys(&self, merchant_id: Option<&str>) -> StoreResult<Vec<ApiKey>>;
    async fn revoke_key(
        &self,
        id: &str,
        at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<ApiKey>;
    /// Changes a key's label, permissions, webhook URL and rate limit, and its own endpoint
    /// to match, in one transaction: the endpoint follows a new URL (its secret stays), goes
    /// with the URL, and for a key's first URL is `fresh` (`true` when that was written).
    async fn update_key(
        &self,
        key: &ApiKey,
        fresh: Option<&Endpoint>,
        at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<(ApiKey, bool)>;
    /// Adds counted requests to keys (flushed in batches, not per request).
    async fn add_key_requests(&self, counts: &[(String, i64)]) -> StoreResult<()>;
    async fn key_revenue(&self, merchant_id: Option<&str>) -> StoreResult<Vec<KeyRevenue>>;
    /// Sets a key's requests per second (`None`: the instance's default).
    async fn set_key_rate_limit(
        &self,
        id: &str,
        rate_limit: Option<u32>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<ApiKey>;
    /// Takes up to `want` whole tokens from the bucket `name` in one atomic statement: the
    /// bucket (full when new) first refills at `per_second` since its last take, up to
    /// `burst`, by the database's clock. Nodes sharing the database share the bucket.
    async fn take_rate_tokens(
        &self,
        name: &str,
        per_second: u32,
        burst: u32,
        want: u32,
    ) -> StoreResult<TokenGrant>;
    /// Forgets buckets untouched for `idle` (by then they are full again, as a new one is).
    async fn prune_rate_buckets(&self, idle: std::time::Duration) -> StoreResult<u64>;
    /// Keys revoked or changed, so that nodes forget their cached copies at once. PostgreSQL:
    /// every node's (and the CLI's) `revoke_key` and `update_key`, through LISTEN/NOTIFY.
    /// SQLite: nothing (another process's change is seen when a cached copy expires).
    async fn watch_keys(&self) -> StoreResult<tokio::sync::broadcast::Receiver<KeyChange>>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! keys_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl KeyStore for Backend {
    async fn create_key(&self, k: &ApiKey, endpoint: Option<&Endpoint>,
        audit: Option<&AuditEntry>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sql!("INSERT INTO api_keys (id, merchant_id, livemode, label, prefix, secret_hash, \
             permissions, webhook_url, request_count, created_at, revoked_at, rate_limit) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &k.id, &k.merchant_id, k.mode.is_live(), &k.label, &k.prefix, &k.secret_hash,
            crate::domain::key::format_permissions(&k.permissions), &k.webhook_url,
            k.request_count, ts(k.created_at), k.revoked_at.map(ts),
            k.rate_limit.and_then(|n| i32::try_from(n).ok())).execute(&mut *tx).await
        .map_err(classify)?;
        if let Some(e) = endpoint {
            self.insert_endpoint(&mut tx, e).await?;
        }
        audited(tx, audit).await
    }

    async fn find_key_by_hash(&self, hash: &[u8]) -> StoreResult<ApiKey> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1");
        let row = sql!(&sql, hash).fetch_optional(self.reader()).await?
            .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    async fn list_keys(&self, merchant_id: Option<&str>) -> StoreResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE ($1 IS NULL OR merchant_id = $1) \
             ORDER BY created_at, id");
        let rows = sql!(&sql, merchant_id).fetch_all(self.reader()).await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_key(&self, id: &str, at: DateTime<Utc>,
        audit: Option<&AuditEntry>) -> StoreResult<ApiKey> {
        let sql = format!("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
             RETURNING {KEY_COLUMNS}");
        let mut tx = self.begin().await?;
        let row = sql!(&sql, id, ts(at)).fetch_optional(&mut *tx).await?
            .ok_or(StoreError::NotFound)?;
        notify_key_change(&mut tx, id).await?;
        audited(tx, audit).await?;
        key_from_row(&row)
    }

    async fn update_key(&self, k: &ApiKey, fresh: Option<&Endpoint>,
        at: DateTime<Utc>, audit: Option<&AuditEntry>) -> StoreResult<(ApiKey, bool)> {
        let sql = format!(
            "UPDATE api_keys SET label = $2, permissions = $3, webhook_url = $4, rate_limit = $5 \
             WHERE id = $1 RETURNING {KEY_COLUMNS}");
        let mut tx = self.begin().await?;
        // The key's row first: its lock makes concurrent changes of one key queue.
        let row = sql!(&sql, &k.id, &k.label,
            crate::domain::key::format_permissions(&k.permissions), &k.webhook_url,
            k.rate_limit.and_then(|n| i32::try_from(n).ok()))
            .fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let own = "key_id = $1 AND payment_id IS NULL AND deleted_at IS NULL";
        // Kept (disabled) like any removed endpoint, so its delivery log stays readable.
        let gone = format!("UPDATE webhook_endpoints SET deleted_at = $2, enabled = $3, \
             updated_at = $2 WHERE {own}");
        let moved = format!("UPDATE webhook_endpoints SET url = $2, updated_at = $3 WHERE {own}");
        let follow = match &k.webhook_url {
            None => sql!(&gone, &k.id, ts(at), false),
            Some(url) => sql!(&moved, &k.id, url, ts(at)),
        };
        let followed = follow.execute(&mut *tx).await?.rows_affected() > 0;
        let created = match fresh {
            Some(e) if k.webhook_url.is_some() && !followed => {
                self.insert_endpoint(&mut tx, e).await?;
                true
            }
            _ => false,
        };
        notify_key_change(&mut tx, &k.id).await?;
        audited(tx, audit).await?;
        Ok((key_from_row(&row)?, created))
    }

    async fn add_key_requests(&self, counts: &[(String, i64)]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for (id, n) in counts {
            sql!("UPDATE api_keys SET request_count = request_count + $2 WHERE id = $1", id, n)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn key_revenue(&self, merchant_id: Option<&str>) -> StoreResult<Vec<KeyRevenue>> {
        let rows = sql!("SELECT key_id, currency, CAST(SUM(amount_minor - refunded_minor) AS BIGINT) AS minor FROM payments \
             WHERE key_id IS NOT NULL AND ($1 IS NULL OR merchant_id = $1) \
             AND status IN ('succeeded', 'partially_refunded', 'refunded') \
             GROUP BY key_id, currency ORDER BY key_id, currency",
            merchant_id).fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok(from_row!(r, KeyRevenue { key_id, currency, minor }))).collect()
    }

    async fn set_key_rate_limit(&self, id: &str, rate_limit: Option<u32>,
        audit: Option<&AuditEntry>) -> StoreResult<ApiKey> {
        let sql =
            format!("UPDATE api_keys SET rate_limit = $2 WHERE id = $1 RETURNING {KEY_COLUMNS}");
        let mut tx = self.begin().await?;
        let row = sql!(&sql, id, rate_limit.and_then(|n| i32::try_from(n).ok()))
            .fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        // Every node forgets its cached copy, so the new limit applies at once everywhere.
        notify_key_change(&mut tx, id).await?;
        audited(tx, audit).await?;
        key_from_row(&row)
    }

    $($own)*
}
    };
}
pub(super) use keys_sql;
