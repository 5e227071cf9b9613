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
use std::sync::Arc;

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

pub async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = bearer(&req)?;
    let key = match state.store.find_key_by_hash(&hash_secret(secret)).await {
        Ok(key) if key.matches(secret) => key,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(ApiError::unauthenticated(
                "api_key_invalid",
                "the API key is not valid",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    if key.is_revoked() {
        return Err(ApiError::unauthenticated(
            "api_key_revoked",
            "this API key has been revoked",
        ));
    }
    state.usage.count(&key.id);
    req.extensions_mut()
        .insert(Principal { key: Arc::new(key) });
    Ok(next.run(req).await)
}
