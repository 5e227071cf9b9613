//! Extractors that turn bad JSON and bad query strings into the API's error shape
//! (naming the field) instead of axum's plain-text rejections.

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

pub const BODY_LIMIT: usize = 1 << 20;

/// A JSON body, deserialized with the failing field's path in the error.
pub struct ApiJson<T>(pub T);

/// Turns a deserialization failure into a 400 that names the field.
pub fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::malformed(format!("the body is not valid JSON: {inner}"));
    }
    let text = inner.to_string();
    // serde reports a missing field at its parent's path: name the field itself.
    if let Some(rest) = text.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let param = if path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        return ApiError::missing_param(&param);
    }
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    if path == "." {
        ApiError::malformed(format!("the body must be a JSON object: {message}"))
    } else {
        ApiError::bad_param(&path, format!("{path}: {message}"))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so a truncated body is reported as such and not as a bad field.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))?;
    // serde would read an array into a struct by position: every body here is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::malformed("the body must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end()
        .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large()
            } else {
                ApiError::malformed(rej.body_text())
            }
        })?;
        if bytes.is_empty() {
            return Err(ApiError::malformed("the body must be a JSON object"));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// A query string, deserialized with the failing parameter in the error.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                ApiError::malformed(format!(
                    "invalid query parameter {path}: {}",
                    e.into_inner()
                ))
            })
    }
}

fn form_urlencoded_parse(q: &str) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(q.as_bytes())
}

/// Accepts an amount as a JSON string ("100.00") or number (100.5) and keeps its text.
pub fn amount_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Text(String),
        Number(serde_json::Number),
    }
    match Amount::deserialize(d) {
        Ok(Amount::Text(s)) => Ok(s),
        Ok(Amount::Number(n)) => Ok(n.to_string()),
        Err(_) => Err(serde::de::Error::custom(
            "must be a decimal string such as \"100.00\"",
        )),
    }
}

/// Like `amount_text`, for an optional amount: `null` is the same as leaving it out.
pub fn optional_amount_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Text(#[serde(deserialize_with = "amount_text")] String);
    Option::<Text>::deserialize(d).map(|t| t.map(|Text(s)| s))
}

/// A whole number written as a JSON integer or as a number with no fraction (`3600.0`): JSON
/// Schema's `integer`, which is what the OpenAPI document promises.
pub fn optional_whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    // 2^63 as f64: every whole float below it converts to i64 exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) => Ok(Some(f as i64)),
        _ => Err(serde::de::Error::custom("must be a whole number in range")),
    }
}

/// The largest body the dialects, the checkout and the dashboard read. A dialect's documented
/// requests are a few hundred bytes and what it keeps of one is capped at 16 KiB
/// (`limits::DIALECT_DATA_MAX`); the pages' forms are smaller still. A larger body is refused
/// before anything parses it: a JSON tree of 64 KiB costs a few MB at most, where one of the
/// native API's 1 MiB limit cost ~90 MB (docs/performance.md).
pub const SMALL_BODY_LIMIT: usize = 64 * 1024;

/// How a front door words a refusal: its error shape for a status and a message.
pub type Refuse = fn(StatusCode, String) -> axum::response::Response;

/// Wraps a front door's routes so that a body over [`SMALL_BODY_LIMIT`] is answered with 413
/// in the door's own shape before any handler sees it.
pub fn with_small_body_limit<S: Clone + Send + Sync + 'static>(
    routes: axum::Router<S>,
    refuse: Refuse,
) -> axum::Router<S> {
    routes.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            read_limited(req, next, refuse)
        },
    ))
}

async fn read_limited(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    refuse: Refuse,
) -> axum::response::Response {
    use http_body_util::BodyExt;
    let (parts, mut body) = req.into_parts();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    // A body over the limit is still read (and dropped) up to the server's own limit, so the
    // client, still sending, gets the 413 instead of a reset connection; past that the
    // connection is closed, as for any request over the server's limit.
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "The request body could not be read".into(),
            );
        };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= SMALL_BODY_LIMIT {
                kept.extend_from_slice(&data);
            } else if seen > BODY_LIMIT {
                break;
            }
        }
    }
    if seen > SMALL_BODY_LIMIT {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is over {} KiB", SMALL_BODY_LIMIT / 1024),
        );
    }
    next.run(axum::extract::Request::from_parts(parts, kept.into()))
        .await
}
