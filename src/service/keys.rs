//! API keys: creating, changing, revoking and finding them. The CLI, the dashboard and the
//! API's authentication all come here.

use super::access::Acting;
use super::error::AccountError;
use super::reads::Reads;
use crate::domain::ids::new_id;
use crate::domain::key::{
    format_permissions, generate_secret, hash_secret, ApiKey, Mode, Permission,
};
use crate::domain::role::Action;
use crate::domain::webhook::Endpoint;
use crate::store::{KeyChange, Scope, Store, StoreError};
use dashmap::DashMap;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Recently seen keys, so a busy integration does not cost a database read per request.
/// An entry lives `ttl` at most (never more than [`KeyCache::MAX_TTL`]). A key revoked or
/// changed on this node is forgotten at once, on other PostgreSQL nodes as soon as the
/// database's notification arrives; a change no notification reports (the CLI on SQLite)
/// is seen within `ttl`.
pub struct KeyCache {
    ttl: Duration,
    entries: DashMap<Vec<u8>, (Arc<ApiKey>, Instant)>,
    /// Bumped by every forget: a lookup that began before a forget must not cache what it read.
    generation: AtomicU64,
}

impl KeyCache {
    /// The longest a node may trust a cached key: what `HUNDI_KEY_CACHE_MS` is clamped to.
    pub const MAX_TTL: Duration = Duration::from_secs(60);

    pub fn new(ttl: Duration) -> KeyCache {
        KeyCache {
            ttl: ttl.min(KeyCache::MAX_TTL),
            entries: DashMap::new(),
            generation: AtomicU64::new(0),
        }
    }

    /// The lifetime a `HUNDI_KEY_CACHE_MS` value names: unreadable is the default, too long
    /// is clamped (a revocation the database cannot announce must still take effect soon).
    pub fn ttl_from(value: Option<&str>) -> Duration {
        let Some(value) = value else {
            return Duration::from_millis(1000);
        };
        let Ok(ms) = value.trim().parse::<u64>() else {
            tracing::warn!(
                value,
                "HUNDI_KEY_CACHE_MS is not a number of milliseconds; using 1000"
            );
            return Duration::from_millis(1000);
        };
        let ttl = Duration::from_millis(ms);
        if ttl > KeyCache::MAX_TTL {
            tracing::warn!(ms, "HUNDI_KEY_CACHE_MS is above 60000; using 60000");
        }
        ttl.min(KeyCache::MAX_TTL)
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub(crate) fn get(&self, hash: &[u8]) -> Option<Arc<ApiKey>> {
        let hit = self.entries.get(hash)?;
        (hit.1.elapsed() < self.ttl).then(|| hit.0.clone())
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Caches a key read from the store, unless something was forgotten since the read began
    /// (`read_at` is the generation then): the read may predate the revocation.
    pub(crate) fn put(&self, hash: Vec<u8>, key: Arc<ApiKey>, read_at: u64) {
        if self.ttl.is_zero() {
            return;
        }
        if self.entries.len() > 10_000 {
            self.entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        self.entries.insert(hash.clone(), (key, Instant::now()));
        // Checked after the insert, so a forget racing with it either removes the entry or
        // is seen here.
        if self.generation() != read_at {
            self.entries.remove(&hash);
        }
    }

    /// Forgets a key at once (it was revoked or changed).
    pub fn forget(&self, key_id: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.retain(|_, (k, _)| k.id != key_id);
    }

    /// Forgets every key (changes may have been missed).
    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
    }

    /// Forgets the keys the store reports changed (by other nodes, or the CLI on PostgreSQL)
    /// until `stopped` fires.
    pub async fn follow(
        self: Arc<Self>,
        mut changes: tokio::sync::broadcast::Receiver<KeyChange>,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(KeyChange::Key(id)) => self.forget(&id),
                    Ok(KeyChange::Unknown) | Err(RecvError::Lagged(_)) => {
                        self.forget_all()
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = stopped.changed() => return,
            }
        }
    }
}

impl KeyCache {
    /// The key a secret names, from this cache or else the store; `None` when no key has
    /// that secret.
    pub async fn lookup(
        &self,
        reads: &Reads,
        secret: &str,
    ) -> Result<Option<Arc<ApiKey>>, StoreError> {
        let hash = hash_secret(secret);
        let read_at = self.generation();
        if let Some(key) = self.get(&hash) {
            if key.matches(secret) {
                return Ok(Some(key));
            }
        }
        match reads.find_key_by_hash(&hash).await {
            Ok(key) if key.matches(secret) => {
                let key = Arc::new(key);
                self.put(hash, key.clone(), read_at);
                Ok(Some(key))
            }
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Revokes a key of the actor's merchant and mode at `now` (one clock for every caller).
/// This node's cache forgets it at once; other nodes hear of it from the database. A key
/// revoked already is returned as it is, and nothing is recorded twice.
pub async fn revoke_key(
    store: &dyn Store,
    cache: Option<&KeyCache>,
    by: &Acting,
    id: &str,
) -> Result<ApiKey, AccountError> {
    by.require(Action::ManageKeys)?;
    let key = owned_key(store, &by.scope(), id, true).await?;
    if key.is_revoked() {
        return Ok(key);
    }
    let entry = by.entry("key.revoked", Some(id), json!({ "label": key.label }));
    let key = match store
        .revoke_key(id, crate::domain::now(), entry.as_ref())
        .await
    {
        Err(StoreError::NotFound) => return Err(AccountError::NotFound(format!("no key {id}"))),
        other => other?,
    };
    if let Some(cache) = cache {
        cache.forget(&key.id);
    }
    Ok(key)
}

/// Any merchant's key by its id (the operator's CLI names keys by id alone).
pub async fn key_by_id(store: &dyn Store, id: &str) -> Result<ApiKey, AccountError> {
    store
        .list_keys(None)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| AccountError::NotFound(format!("no key {id}")))
}

/// A key of the scope's merchant in the scope's mode (revoked ones only when `revoked`).
async fn owned_key(
    store: &dyn Store,
    scope: &Scope,
    id: &str,
    revoked: bool,
) -> Result<ApiKey, AccountError> {
    store
        .list_keys(Some(&scope.merchant_id))
        .await?
        .into_iter()
        .find(|k| k.id == id && k.mode.is_live() == scope.livemode && (revoked || !k.is_revoked()))
        .ok_or_else(|| AccountError::NotFound(format!("no key {id}")))
}

/// What the audit log keeps of a key's settings (never its secret).
fn key_settings(key: &ApiKey) -> serde_json::Value {
    json!({
        "label": key.label,
        "permissions": format_permissions(&key.permissions),
        "webhook_url": key.webhook_url,
        "rate_limit": key.rate_limit,
    })
}

/// What the dashboard's key form changes: permissions, webhook URL and rate limit.
pub struct KeyChanges {
    pub permissions: Vec<Permission>,
    pub webhook_url: Option<String>,
    pub rate_limit: Option<u32>,
}

/// Changes an active key of the actor's merchant and mode, with its own endpoint, in one
/// store transaction: a new URL moves the endpoint (its secret stays), a first URL creates
/// it, no URL removes it. Returns the key and the signing secret of an endpoint it created.
pub async fn change_key(
    store: &dyn Store,
    cache: Option<&KeyCache>,
    by: &Acting,
    id: &str,
    changes: KeyChanges,
    allow_private: bool,
) -> Result<(ApiKey, Option<String>), AccountError> {
    by.require(Action::ManageKeys)?;
    let before = owned_key(store, &by.scope(), id, false).await?;
    check_rate_limit(changes.rate_limit)?;
    check_webhook_url(changes.webhook_url.as_deref(), before.mode, allow_private).await?;
    let mut changed = before.clone();
    changed.permissions = changes.permissions;
    changed.webhook_url = changes.webhook_url;
    changed.rate_limit = changes.rate_limit;
    let entry = by.entry(
        "key.changed",
        Some(id),
        json!({ "before": key_settings(&before), "after": key_settings(&changed) }),
    );
    let fresh = key_endpoint(&changed);
    let (key, created) = store
        .update_key(
            &changed,
            fresh.as_ref(),
            crate::domain::now(),
            entry.as_ref(),
        )
        .await?;
    // This node stops trusting its cached copy now (others hear of it from the database).
    if let Some(cache) = cache {
        cache.forget(&key.id);
    }
    Ok((key, fresh.filter(|_| created).map(|e| e.secret)))
}

pub struct CreatedKey {
    pub key: ApiKey,
    /// Shown once; only its hash is stored.
    pub secret: String,
    /// The signing secret of the key's own webhook endpoint, when it has a webhook URL.
    pub webhook_secret: Option<String>,
}

/// Everything a new key is made of, for the actor's merchant. `NewKey::new` gives a key
/// without a webhook URL, on the instance's default rate limit; set the other fields where
/// they differ.
pub struct NewKey {
    pub mode: Mode,
    pub label: String,
    pub permissions: Vec<Permission>,
    pub webhook_url: Option<String>,
    /// Requests per second; `None`: the instance's default.
    pub rate_limit: Option<u32>,
    /// Whether the webhook URL may be a private address.
    pub allow_private: bool,
}

impl NewKey {
    pub fn new(mode: Mode, label: &str, permissions: Vec<Permission>) -> NewKey {
        NewKey {
            mode,
            label: label.to_string(),
            permissions,
            webhook_url: None,
            rate_limit: None,
            allow_private: false,
        }
    }
}

/// Creates a key for the actor's merchant as `new` describes it, with its webhook URL's
/// endpoint in the same transaction (the CLI, the dashboard and a merchant's first keys all
/// come here).
pub async fn create_key(
    store: &dyn Store,
    by: &Acting,
    new: NewKey,
) -> Result<CreatedKey, AccountError> {
    by.require(Action::ManageKeys)?;
    check_rate_limit(new.rate_limit)?;
    match store.get_merchant(by.merchant_id()).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Err(AccountError::Invalid(format!(
                "no merchant {}",
                by.merchant_id()
            )))
        }
        Err(e) => return Err(e.into()),
    }
    check_webhook_url(new.webhook_url.as_deref(), new.mode, new.allow_private).await?;
    let secret = generate_secret(new.mode);
    let key = ApiKey {
        id: new_id("key"),
        merchant_id: by.merchant_id().to_string(),
        mode: new.mode,
        label: new.label.trim().to_string(),
        prefix: secret.prefix,
        secret_hash: secret.hash,
        permissions: new.permissions,
        webhook_url: new.webhook_url,
        request_count: 0,
        created_at: crate::domain::now(),
        revoked_at: None,
        rate_limit: new.rate_limit,
    };
    let endpoint = key_endpoint(&key);
    let entry =
        by.in_mode(key.mode.is_live())
            .entry("key.created", Some(&key.id), key_settings(&key));
    store
        .create_key(&key, endpoint.as_ref(), entry.as_ref())
        .await?;
    Ok(CreatedKey {
        key,
        secret: secret.secret,
        webhook_secret: endpoint.map(|e| e.secret),
    })
}

/// A key's webhook URL must pass the same address rule as any endpoint's.
async fn check_webhook_url(
    url: Option<&str>,
    mode: Mode,
    allow_private: bool,
) -> Result<(), AccountError> {
    if let Some(url) = url {
        crate::webhooks::ssrf::check_url(url, mode.is_live(), allow_private)
            .await
            .map_err(|e| AccountError::Invalid(format!("webhook URL: {e}")))?;
    }
    Ok(())
}

/// The endpoint a key's own webhook URL becomes: one more endpoint, limited to events about
/// the key's payments.
fn key_endpoint(key: &ApiKey) -> Option<Endpoint> {
    let url = key.webhook_url.clone()?;
    Some(Endpoint {
        key_id: Some(key.id.clone()),
        ..Endpoint::new(
            &key.merchant_id,
            key.mode.is_live(),
            url,
            vec!["*".into()],
            Some(format!("webhook URL of API key {}", key.id)),
            crate::domain::webhook::FORMAT_AUTO,
            crate::domain::now(),
        )
    })
}

fn check_rate_limit(rate_limit: Option<u32>) -> Result<(), AccountError> {
    use crate::domain::key::RATE_LIMIT_MAX;
    match rate_limit {
        Some(n) if n == 0 || n > RATE_LIMIT_MAX => Err(AccountError::Invalid(format!(
            "a rate limit is 1 to {RATE_LIMIT_MAX} requests per second"
        ))),
        _ => Ok(()),
    }
}

/// Sets the rate limit of a key of the actor's merchant and mode (requests per second;
/// `None`: the instance's default). Nodes apply it within the key cache's lifetime
/// (`HUNDI_KEY_CACHE_MS`).
pub async fn set_key_rate_limit(
    store: &dyn Store,
    by: &Acting,
    key_id: &str,
    rate_limit: Option<u32>,
) -> Result<ApiKey, AccountError> {
    by.require(Action::ManageKeys)?;
    check_rate_limit(rate_limit)?;
    let before = owned_key(store, &by.scope(), key_id, true).await?;
    let entry = by.entry(
        "key.rate_limit_changed",
        Some(key_id),
        json!({ "before": before.rate_limit, "after": rate_limit }),
    );
    match store
        .set_key_rate_limit(key_id, rate_limit, entry.as_ref())
        .await
    {
        Err(StoreError::NotFound) => Err(AccountError::Invalid(format!("no key {key_id}"))),
        other => Ok(other?),
    }
}

/// The dashboard's entries to the key commands above (the CLI calls them with its store).
impl super::PaymentService {
    pub async fn create_key(&self, by: &Acting, new: NewKey) -> Result<CreatedKey, AccountError> {
        create_key(&*self.store, by, new).await
    }

    /// [`change_key`], with this service's webhook rule.
    pub async fn change_key(
        &self,
        cache: &KeyCache,
        by: &Acting,
        id: &str,
        changes: KeyChanges,
    ) -> Result<(ApiKey, Option<String>), AccountError> {
        change_key(
            &*self.store,
            Some(cache),
            by,
            id,
            changes,
            self.allow_private_webhooks,
        )
        .await
    }

    /// [`revoke_key`].
    pub async fn revoke_key(
        &self,
        cache: &KeyCache,
        by: &Acting,
        id: &str,
    ) -> Result<ApiKey, AccountError> {
        revoke_key(&*self.store, Some(cache), by, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_lifetime_is_capped() {
        assert_eq!(KeyCache::ttl_from(None), Duration::from_millis(1000));
        assert_eq!(KeyCache::ttl_from(Some("0")), Duration::ZERO);
        assert_eq!(KeyCache::ttl_from(Some("250")), Duration::from_millis(250));
        assert_eq!(KeyCache::ttl_from(Some("3600000")), KeyCache::MAX_TTL);
        assert_eq!(
            KeyCache::ttl_from(Some("soon")),
            Duration::from_millis(1000)
        );
        assert_eq!(
            KeyCache::new(Duration::from_secs(86_400)).ttl(),
            KeyCache::MAX_TTL
        );
    }
}
