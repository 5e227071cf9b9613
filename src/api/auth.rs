//! `Authorization: Bearer <key>`: finds the key, refuses revoked ones, counts the request.

use super::error::ApiError;
use crate::domain::audit::Origin;
use crate::domain::key::{ApiKey, Permission};
use crate::http::AppState;
use crate::service::access::Acting;
use crate::service::Scope;
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
    /// Where the request came from, for the audit log of the changes it makes.
    pub origin: Origin,
}

impl Principal {
    /// The key acting on its merchant, for commands that record who changed what.
    pub fn acting(&self) -> Acting {
        Acting::key(&self.key.id, &self.scope(), self.origin.clone())
    }

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

/// The key a secret names (from the cache or the store); any front door authenticates here.
pub async fn find_key(state: &AppState, secret: &str) -> Result<Arc<ApiKey>, ApiError> {
    match state.keys.lookup(&state.reads, secret).await? {
        Some(key) => Ok(key),
        None => Err(ApiError::unauthenticated(
            "api_key_invalid",
            "the API key is not valid",
        )),
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
    let origin = state.origin(req.headers(), req.extensions());
    req.extensions_mut().insert(Principal { key, origin });
    Ok(next.run(req).await)
}
