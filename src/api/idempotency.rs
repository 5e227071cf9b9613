//! `Idempotency-Key` on POST: the first request with a key runs; a retry with the same body
//! gets the stored response; the same key with another body is a 409. Concurrent requests
//! with one key wait for the first to finish and then get its response.

use super::auth::Principal;
use super::error::ApiError;
use super::extract::BODY_LIMIT;
use super::AppState;
use crate::store::{IdempotencyClaim, StoredResponse};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const HEADER: &str = "idempotency-key";
const KEY_MAX: usize = 255;
/// An unfinished claim older than this belongs to a request that died; it may be taken over.
const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(60);
/// How long a concurrent request waits for the first one before giving up with a 409.
const WAIT_FOR: Duration = Duration::from_secs(20);

fn conflict(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "idempotency_error", code, message)
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = (status, stored.body).into_response();
    let headers = res.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

pub async fn idempotency(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if req.method() != Method::POST {
        return Ok(next.run(req).await);
    }
    let Some(key) = req.headers().get(HEADER) else {
        return Ok(next.run(req).await);
    };
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= KEY_MAX)
        .ok_or_else(|| {
            ApiError::bad_param(
                "Idempotency-Key",
                format!("the Idempotency-Key header must be 1 to {KEY_MAX} visible characters"),
            )
        })?
        .to_string();
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(ApiError::internal)?;
    let scope = principal.scope();

    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::too_large())?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let hash = hasher.finalize().to_vec();

    let deadline = tokio::time::Instant::now() + WAIT_FOR;
    loop {
        match state
            .store
            .claim_idempotency_key(&scope, &key, &hash, Utc::now())
            .await?
        {
            IdempotencyClaim::Claimed => break,
            IdempotencyClaim::Existing { request_hash, .. } if request_hash != hash => {
                return Err(conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used with a different request; \
                     use a new key for a new request",
                ));
            }
            IdempotencyClaim::Existing {
                response: Some(stored),
                ..
            } => return Ok(replay(stored)),
            IdempotencyClaim::Existing { created_at, .. } => {
                if Utc::now() - created_at > STALE_AFTER {
                    state.store.release_idempotency_key(&scope, &key).await?;
                    continue;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(conflict(
                        "idempotency_in_progress",
                        "a request with this Idempotency-Key is still being processed; retry later",
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (res_parts, res_body) = response.into_parts();
    let res_bytes = match axum::body::to_bytes(res_body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            state.store.release_idempotency_key(&scope, &key).await?;
            return Err(ApiError::internal());
        }
    };
    if res_parts.status.is_server_error() {
        // Nothing durable happened (or we cannot know): let a retry run the request again.
        state.store.release_idempotency_key(&scope, &key).await?;
    } else {
        let stored = StoredResponse {
            status: res_parts.status.as_u16(),
            body: res_bytes.to_vec(),
        };
        state
            .store
            .complete_idempotency_key(&scope, &key, &stored)
            .await?;
    }
    Ok(Response::from_parts(res_parts, Body::from(res_bytes)))
}
