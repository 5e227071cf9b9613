//! `Authorization: Bearer <key>`: finds the key, refuses revoked ones, counts the request.

use super::error::ApiError;
use super::AppState;
use crate::domain::key::{hash_secret, ApiKey, Permission};
use crate::store::{Scope, StoreError};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The caller, as its API key says.
#[derive(Clone, Debug)]
pub struct Principal {
    pub key: Arc<ApiKey>,
}

impl Principal {
    pub fn scope(&self) -> Scope {
        Scope {
            merchant_id: self.key.merchant_id.clone(),
            livemode: self.key.mode.is_live(),
        }
    }

    pub fn require(&self, wanted: Permission) -> Result<(), ApiError> {
        if self.key.allows(wanted) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "permission_denied",
                format!("this API key lacks the permission {}", wanted.as_str()),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated("api_key_missing", "no API key was given"))
    }
}

fn bearer(req: &Request) -> Result<&str, ApiError> {
    let value = req.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthenticated(
            "api_key_missing",
            "no API key was given; send it as 'Authorization: Bearer <key>'",
        )
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("api_key_invalid", "the API key is not valid"))?;
    let (scheme, secret) = value.split_once(' ').unwrap_or(("", value));
    if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
        return Err(ApiError::unauthenticated(
            "api_key_missing",
            "send the API key as 'Authorization: Bearer <key>'",
        ));
    }
    Ok(secret.trim())
}

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

    /// `HUNDI_KEY_CACHE_MS` (default 1000; 0 turns the cache off; at most 60000).
    pub fn from_env() -> KeyCache {
        KeyCache::new(KeyCache::ttl_from(
            std::env::var("HUNDI_KEY_CACHE_MS").ok().as_deref(),
        ))
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

    fn get(&self, hash: &[u8]) -> Option<Arc<ApiKey>> {
        let hit = self.entries.get(hash)?;
        (hit.1.elapsed() < self.ttl).then(|| hit.0.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Caches a key read from the store, unless something was forgotten since the read began
    /// (`read_at` is the generation then): the read may predate the revocation.
    fn put(&self, hash: Vec<u8>, key: Arc<ApiKey>, read_at: u64) {
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
        mut changes: tokio::sync::broadcast::Receiver<crate::store::KeyChange>,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(crate::store::KeyChange::Key(id)) => self.forget(&id),
                    Ok(crate::store::KeyChange::Unknown) | Err(RecvError::Lagged(_)) => {
                        self.forget_all()
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = stopped.changed() => return,
            }
        }
    }
}

/// The key a secret names (from the cache or the store); any front door authenticates here.
pub async fn find_key(state: &AppState, secret: &str) -> Result<Arc<ApiKey>, ApiError> {
    let hash = hash_secret(secret);
    let read_at = state.keys.generation();
    if let Some(key) = state.keys.get(&hash) {
        if key.matches(secret) {
            return Ok(key);
        }
    }
    match state.store.find_key_by_hash(&hash).await {
        Ok(key) if key.matches(secret) => {
            let key = Arc::new(key);
            state.keys.put(hash, key.clone(), read_at);
            Ok(key)
        }
        Ok(_) | Err(StoreError::NotFound) => Err(ApiError::unauthenticated(
            "api_key_invalid",
            "the API key is not valid",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = bearer(&req)?;
    let key = find_key(&state, secret).await?;
    if key.is_revoked() {
        return Err(ApiError::unauthenticated(
            "api_key_revoked",
            "this API key has been revoked",
        ));
    }
    super::ratelimit::admit(&state, &key).await?;
    state.usage.count(&key.id);
    req.extensions_mut().insert(Principal { key });
    Ok(next.run(req).await)
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
