//! `Idempotency-Key` on POST: the first request with a key runs; a retry with the same body
//! gets the stored response; the same key with another body is a 409. Concurrent requests
//! with one key wait for the first to finish and then get its response.
//!
//! The payment and refund creates keep their response in their own transaction (the handler
//! hands the claim to the service as a `HeldKey`), so a crash between claim and commit never
//! lets a retry run them twice. Every claim carries a random token: a stale claim is released
//! only if it is still the one seen, and a response is kept only by the request holding the
//! claim. Keys live 24 hours. A response that holds a secret (a webhook signing secret) is
//! kept sealed under the master key, never in clear.

use super::auth::Principal;
use super::error::ApiError;
use super::extract::BODY_LIMIT;
use crate::http::AppState;
use crate::service::idempotency::ClaimedKey;
use crate::service::{IdempotencyClaim, Scope, StoreError, StoredResponse};
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

/// The claim this request holds, for a handler that writes its response with its change.
#[derive(Debug, Clone)]
pub struct HeldKey {
    key: String,
    token: String,
}

impl HeldKey {
    /// The claim as the service takes it, with the status of the handler's success.
    pub fn claimed(&self, status: StatusCode) -> ClaimedKey {
        ClaimedKey {
            key: self.key.clone(),
            token: self.token.clone(),
            status: status.as_u16(),
        }
    }
}

/// A response extension: the body holds a secret shown once, so it is kept only sealed.
#[derive(Debug, Clone, Copy)]
pub struct HoldsSecret;

use crate::domain::idempotency::SEALED_BODY as SEALED;

fn seal_context(scope: &Scope, key: &str) -> String {
    crate::domain::idempotency::seal_context(&scope.merchant_id, scope.livemode, key)
}

/// The stored form of a response body: sealed when it holds a secret.
fn stored_body(state: &AppState, scope: &Scope, key: &str, body: &[u8], secret: bool) -> Vec<u8> {
    if !secret {
        return body.to_vec();
    }
    let plain = String::from_utf8_lossy(body);
    let mut out = SEALED.to_vec();
    out.extend_from_slice(
        state
            .secrets
            .seal(&plain, &seal_context(scope, key))
            .as_bytes(),
    );
    out
}

fn replay(
    state: &AppState,
    scope: &Scope,
    key: &str,
    stored: StoredResponse,
) -> Result<Response, ApiError> {
    let body = match stored.body.strip_prefix(SEALED) {
        None => stored.body,
        Some(sealed) => {
            let opened = std::str::from_utf8(sealed)
                .ok()
                .and_then(|s| state.secrets.open(s, &seal_context(scope, key)).ok());
            match opened {
                Some(plain) => plain.into_bytes(),
                None => {
                    return Err(conflict(
                        "idempotency_replay_unavailable",
                        "the stored response of this Idempotency-Key holds a secret that \
                         cannot be opened with this server's master key; list the objects to \
                         find the one created",
                    ))
                }
            }
        }
    };
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(res)
}

pub async fn idempotency(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if req.method() != Method::POST {
        return Ok(next.run(req).await);
    }
    let Some(key) = header_key(&req)? else {
        return Ok(next.run(req).await);
    };
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
    let hash = request_hash(&parts, &bytes);
    let token = crate::domain::ids::random_token(32);
    if let Some(replayed) = claim(&state, &scope, &key, &hash, &token).await? {
        return Ok(replayed);
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(HeldKey {
        key: key.clone(),
        token: token.clone(),
    });
    let response = next.run(req).await;
    keep_response(&state, &scope, &key, &token, response).await
}

/// The request's `Idempotency-Key`, if it sent one; a 400 when it is empty or too long.
fn header_key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(key) = req.headers().get(HEADER) else {
        return Ok(None);
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
        })?;
    Ok(Some(key.to_string()))
}

/// What makes two requests "the same": method, path and body bytes.
fn request_hash(parts: &axum::http::request::Parts, body: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().to_vec()
}

/// Claims the key for this request (`None`: go on and run it), or answers with the first
/// request's stored response; waits up to `WAIT_FOR` while another request holds the key.
async fn claim(
    state: &AppState,
    scope: &Scope,
    key: &str,
    hash: &[u8],
    token: &str,
) -> Result<Option<Response>, ApiError> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR;
    loop {
        let now = Utc::now();
        let claim = match state
            .payments
            .claim_idempotency_key(scope, key, hash, token, now)
            .await
        {
            Ok(claim) => claim,
            // The row another request held was released between this claim's insert and
            // its read (a retry taking over a stale claim): claim again, within the wait.
            Err(StoreError::NotFound) if tokio::time::Instant::now() < deadline => continue,
            Err(e) => return Err(e.into()),
        };
        match claim {
            IdempotencyClaim::Claimed => return Ok(None),
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
            } => return replay(state, scope, key, stored).map(Some),
            IdempotencyClaim::Existing {
                created_at,
                token: held,
                ..
            } => {
                if Utc::now() - created_at > STALE_AFTER {
                    // Only the claim seen is released: if another request took it over in
                    // the meantime, its claim stays and the next round waits for it.
                    state
                        .payments
                        .release_idempotency_key(scope, key, &held)
                        .await?;
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
}

/// Keeps the handler's response under the key (sealed if it holds a secret) and passes it on;
/// a server error releases the key instead, so a retry runs the request again.
async fn keep_response(
    state: &AppState,
    scope: &Scope,
    key: &str,
    token: &str,
    response: Response,
) -> Result<Response, ApiError> {
    let (res_parts, res_body) = response.into_parts();
    let res_bytes = match axum::body::to_bytes(res_body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            state
                .payments
                .release_idempotency_key(scope, key, token)
                .await?;
            return Err(ApiError::internal());
        }
    };
    if res_parts.status.is_server_error() {
        // Nothing durable happened (or we cannot know): let a retry run the request again.
        state
            .payments
            .release_idempotency_key(scope, key, token)
            .await?;
    } else {
        let secret = res_parts.extensions.get::<HoldsSecret>().is_some();
        let stored = StoredResponse {
            status: res_parts.status.as_u16(),
            body: stored_body(state, scope, key, &res_bytes, secret),
        };
        // A no-op when the handler kept the response with its change (or lost the claim).
        state
            .payments
            .complete_idempotency_key(scope, key, token, &stored)
            .await?;
    }
    Ok(Response::from_parts(res_parts, Body::from(res_bytes)))
}
