//! API keys: creating, changing, revoking and finding them. The CLI, the dashboard and the
//! API's authentication all come here.

use super::error::AccountError;
use super::reads::Reads;
use crate::domain::ids::new_id;
use crate::domain::key::{generate_secret, hash_secret, ApiKey, Mode, Permission};
use crate::domain::webhook::Endpoint;
use crate::store::{KeyChange, Scope, Store, StoreError};
use dashmap::DashMap;
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

/// Revokes a key at `now` (one clock for every caller). With `owner`, only a key of that
/// merchant in that mode is found (the dashboard); without, any key (the operator's CLI).
/// This node's cache forgets it at once; other nodes hear of it from the database.
pub async fn revoke_key(
    store: &dyn Store,
    cache: Option<&KeyCache>,
    owner: Option<&Scope>,
    id: &str,
) -> Result<ApiKey, AccountError> {
    if let Some(scope) = owner {
        owned_key(store, scope, id, true).await?;
    }
    let key = match store.revoke_key(id, crate::domain::now()).await {
        Err(StoreError::NotFound) => return Err(AccountError::NotFound(format!("no key {id}"))),
        other => other?,
    };
    if let Some(cache) = cache {
        cache.forget(&key.id);
    }
    Ok(key)
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

/// What the dashboard's key form changes: permissions, webhook URL and rate limit.
pub struct KeyChanges {
    pub permissions: Vec<Permission>,
    pub webhook_url: Option<String>,
    pub rate_limit: Option<u32>,
}

/// Changes an active key of the scope; returns it and the signing secret of a webhook
/// endpoint the change created.
pub async fn change_key(
    store: &dyn Store,
    cache: Option<&KeyCache>,
    scope: &Scope,
    id: &str,
    changes: KeyChanges,
    allow_private: bool,
) -> Result<(ApiKey, Option<String>), AccountError> {
    let mut key = owned_key(store, scope, id, false).await?;
    check_rate_limit(changes.rate_limit)?;
    // The rate limit is written with the permissions and URL, in the key's one update.
    key.rate_limit = changes.rate_limit;
    let (key, secret) = update_key(
        store,
        &key,
        changes.permissions,
        changes.webhook_url,
        allow_private,
    )
    .await?;
    // This node stops trusting its cached copy now (others hear of it from the database).
    if let Some(cache) = cache {
        cache.forget(&key.id);
    }
    Ok((key, secret))
}

pub struct CreatedKey {
    pub key: ApiKey,
    /// Shown once; only its hash is stored.
    pub secret: String,
    /// The signing secret of the key's own webhook endpoint, when it has a webhook URL.
    pub webhook_secret: Option<String>,
}

pub async fn create_key(
    store: &dyn Store,
    merchant_id: &str,
    mode: Mode,
    label: &str,
    permissions: Vec<Permission>,
    webhook_url: Option<String>,
) -> Result<CreatedKey, AccountError> {
    create_key_allowing(
        store,
        merchant_id,
        mode,
        label,
        permissions,
        webhook_url,
        false,
    )
    .await
}

/// `create_key`, saying whether the webhook URL may be a private address.
pub async fn create_key_allowing(
    store: &dyn Store,
    merchant_id: &str,
    mode: Mode,
    label: &str,
    permissions: Vec<Permission>,
    webhook_url: Option<String>,
    allow_private: bool,
) -> Result<CreatedKey, AccountError> {
    create_key_from(
        store,
        NewKey {
            merchant_id: merchant_id.to_string(),
            mode,
            label: label.to_string(),
            permissions,
            webhook_url,
            rate_limit: None,
            allow_private,
        },
    )
    .await
}

/// Everything a new key is made of.
pub struct NewKey {
    pub merchant_id: String,
    pub mode: Mode,
    pub label: String,
    pub permissions: Vec<Permission>,
    pub webhook_url: Option<String>,
    /// Requests per second; `None`: the instance's default.
    pub rate_limit: Option<u32>,
    /// Whether the webhook URL may be a private address.
    pub allow_private: bool,
}

/// Creates a key as `new` describes it.
pub async fn create_key_from(store: &dyn Store, new: NewKey) -> Result<CreatedKey, AccountError> {
    let NewKey {
        merchant_id,
        mode,
        label,
        permissions,
        webhook_url,
        rate_limit,
        allow_private,
    } = new;
    let merchant_id = merchant_id.as_str();
    check_rate_limit(rate_limit)?;
    match store.get_merchant(merchant_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Err(AccountError::Invalid(format!("no merchant {merchant_id}")))
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(url) = &webhook_url {
        crate::webhooks::ssrf::check_url(url, mode.is_live(), allow_private)
            .await
            .map_err(|e| AccountError::Invalid(format!("webhook URL: {e}")))?;
    }
    let secret = generate_secret(mode);
    let key = ApiKey {
        id: new_id("key"),
        merchant_id: merchant_id.to_string(),
        mode,
        label: label.trim().to_string(),
        prefix: secret.prefix,
        secret_hash: secret.hash,
        permissions,
        webhook_url,
        request_count: 0,
        created_at: crate::domain::now(),
        revoked_at: None,
        rate_limit,
    };
    store.create_key(&key).await?;
    // A key's own webhook URL is one more endpoint, limited to events about its payments.
    let webhook_secret = match &key.webhook_url {
        Some(url) => Some(key_endpoint(store, &key, url).await?),
        None => None,
    };
    Ok(CreatedKey {
        key,
        secret: secret.secret,
        webhook_secret,
    })
}

/// The endpoint of a key's own webhook URL; returns its signing secret.
async fn key_endpoint(store: &dyn Store, key: &ApiKey, url: &str) -> Result<String, AccountError> {
    let endpoint = Endpoint {
        key_id: Some(key.id.clone()),
        ..Endpoint::new(
            &key.merchant_id,
            key.mode.is_live(),
            url.to_string(),
            vec!["*".into()],
            Some(format!("webhook URL of API key {}", key.id)),
            crate::domain::webhook::FORMAT_AUTO,
            crate::domain::now(),
        )
    };
    store.create_endpoint(&endpoint).await?;
    Ok(endpoint.secret)
}

/// Changes a key's permissions and webhook URL (and writes its rate limit). A new URL replaces the old endpoint's address
/// (its secret stays); a first URL creates the endpoint and returns its new secret; no URL
/// removes it.
pub async fn update_key(
    store: &dyn Store,
    key: &ApiKey,
    permissions: Vec<Permission>,
    webhook_url: Option<String>,
    allow_private: bool,
) -> Result<(ApiKey, Option<String>), AccountError> {
    if let Some(url) = &webhook_url {
        crate::webhooks::ssrf::check_url(url, key.mode.is_live(), allow_private)
            .await
            .map_err(|e| AccountError::Invalid(format!("webhook URL: {e}")))?;
    }
    let scope = crate::store::Scope {
        merchant_id: key.merchant_id.clone(),
        livemode: key.mode.is_live(),
    };
    // The key's own endpoint, looked for page by page (an admin action, not a caller's loop).
    let mut existing = None;
    let mut page = crate::store::Page {
        starting_after: None,
        limit: 100,
    };
    while existing.is_none() {
        let rows = store.list_endpoints(&scope, &page).await?;
        let Some(last) = rows.last() else { break };
        page.starting_after = Some(last.id.clone());
        existing = rows
            .into_iter()
            .find(|e| e.key_id.as_deref() == Some(key.id.as_str()));
    }
    let mut new_secret = None;
    match (existing, &webhook_url) {
        (Some(mut e), Some(url)) if &e.url != url => {
            e.url = url.clone();
            e.updated_at = crate::domain::now();
            store.update_endpoint(&e).await?;
        }
        (Some(_), Some(_)) => {}
        (Some(e), None) => {
            store
                .delete_endpoint(&scope, &e.id, crate::domain::now())
                .await?
        }
        (None, Some(url)) => new_secret = Some(key_endpoint(store, key, url).await?),
        (None, None) => {}
    }
    let mut changed = key.clone();
    changed.permissions = permissions;
    changed.webhook_url = webhook_url;
    Ok((store.update_key(&changed).await?, new_secret))
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

/// Sets a key's rate limit (requests per second; `None`: the instance's default). Nodes
/// apply it within the key cache's lifetime (`HUNDI_KEY_CACHE_MS`).
pub async fn set_key_rate_limit(
    store: &dyn Store,
    key_id: &str,
    rate_limit: Option<u32>,
) -> Result<ApiKey, AccountError> {
    check_rate_limit(rate_limit)?;
    match store.set_key_rate_limit(key_id, rate_limit).await {
        Err(StoreError::NotFound) => Err(AccountError::Invalid(format!("no key {key_id}"))),
        other => Ok(other?),
    }
}

/// The dashboard's entries to the key commands above (the CLI calls them with its store).
impl super::PaymentService {
    pub async fn create_key(&self, new: NewKey) -> Result<CreatedKey, AccountError> {
        create_key_from(&*self.store, new).await
    }

    /// [`change_key`] on an active key of the scope, with this service's webhook rule.
    pub async fn change_key(
        &self,
        cache: &KeyCache,
        scope: &Scope,
        id: &str,
        changes: KeyChanges,
    ) -> Result<(ApiKey, Option<String>), AccountError> {
        change_key(
            &*self.store,
            Some(cache),
            scope,
            id,
            changes,
            self.allow_private_webhooks,
        )
        .await
    }

    /// [`revoke_key`], of a key of the scope only.
    pub async fn revoke_key(
        &self,
        cache: &KeyCache,
        scope: &Scope,
        id: &str,
    ) -> Result<ApiKey, AccountError> {
        revoke_key(&*self.store, Some(cache), Some(scope), id).await
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
