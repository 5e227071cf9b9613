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
/// An entry lives `ttl` at most: a key revoked on any node stops working within that time.
pub struct KeyCache {
    ttl: Duration,
    entries: DashMap<Vec<u8>, (Arc<ApiKey>, Instant)>,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> KeyCache {
        KeyCache {
            ttl,
            entries: DashMap::new(),
        }
    }

    /// `HUNDI_KEY_CACHE_MS` (default 1000; 0 turns the cache off).
    pub fn from_env() -> KeyCache {
        let ms = std::env::var("HUNDI_KEY_CACHE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        KeyCache::new(Duration::from_millis(ms))
    }

    fn get(&self, hash: &[u8]) -> Option<Arc<ApiKey>> {
        let hit = self.entries.get(hash)?;
        (hit.1.elapsed() < self.ttl).then(|| hit.0.clone())
    }

    fn put(&self, hash: Vec<u8>, key: Arc<ApiKey>) {
        if self.ttl.is_zero() {
            return;
        }
        if self.entries.len() > 10_000 {
            self.entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        self.entries.insert(hash, (key, Instant::now()));
    }

    /// Forgets a key at once (it was revoked or changed on this node).
    pub fn forget(&self, key_id: &str) {
        self.entries.retain(|_, (k, _)| k.id != key_id);
    }
}

/// The key a secret names (from the cache or the store); any front door authenticates here.
pub async fn find_key(state: &AppState, secret: &str) -> Result<Arc<ApiKey>, ApiError> {
    let hash = hash_secret(secret);
    if let Some(key) = state.keys.get(&hash) {
        if key.matches(secret) {
            return Ok(key);
        }
    }
    match state.store.find_key_by_hash(&hash).await {
        Ok(key) if key.matches(secret) => {
            let key = Arc::new(key);
            state.keys.put(hash, key.clone());
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
