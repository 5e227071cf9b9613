//! `POST /v1/credits/sms`: the merchant's phone forwards each SMS it receives; a wallet's
//! received-money SMS or a bank's credit alert is recorded as a credit and completes the
//! payment it pays.
//!
//! Authenticated by a device token (`Authorization: Bearer hsd_…`, made in the dashboard),
//! not an API key. The JSON is what Android SMS forwarders send:
//! - "SMS to URL Forwarder" (F-Droid): its default template
//!   `{"from":"%from%","text":"%text%","sentStamp":%sentStamp%,"receivedStamp":%receivedStamp%,"sim":"%sim%"}`;
//! - "SmsForwarder": a JSON template `{"from":"[from]","content":"[content]","timestamp":"[timestamp]"}`.
//!
//! Times are milliseconds since 1970 (a number or a string of digits); the SMS must have been
//! received within 5 minutes of now, and the same body is refused a second time.

use super::credits::CreditResult;
use super::error::{ApiError, ErrorBody};
use super::ratelimit::admit_client;
use super::AppState;
use crate::service::ratelimit::Limit;
use crate::service::sms::{AlertOutcome, ForwardedSms, SmsError, TEXT_MAX};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Requests a second one client may send to this door, counted before the token is looked
/// up: a phone forwards a handful of SMS a minute.
const PER_CLIENT: u32 = 5;

/// What became of the SMS.
#[derive(Serialize, ToSchema)]
pub struct SmsResult {
    /// `recorded` (a credit), `duplicate` (its credit was recorded before) or `ignored` (not a
    /// received-money message).
    #[schema(example = "recorded")]
    pub status: &'static str,
    /// Why it was ignored.
    pub reason: Option<String>,
    /// The recorded credit and the payment it completed.
    pub recorded: Option<CreditResult>,
}

/// The forwarder's JSON, as the supported apps name its fields.
#[derive(serde::Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ForwardedSmsBody {
    /// The SMS's sender (`bKash`, `NAGAD`, `AD-HDFCBK`).
    #[schema(example = "bKash")]
    from: String,
    /// The SMS text (`content` in SmsForwarder's template).
    #[schema(max_length = 2000)]
    text: String,
    /// When the phone received it, in milliseconds since 1970 (`timestamp` in SmsForwarder's
    /// template; `sentStamp` is used when neither is sent).
    #[schema(example = 1767225600000_i64)]
    #[serde(rename = "receivedStamp")]
    received_stamp: i64,
}

fn text_field<'a>(body: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| body.get(*n).and_then(Value::as_str))
}

/// Milliseconds since 1970, as a number or a string of digits.
fn millis_field(body: &Value, names: &[&str]) -> Option<DateTime<Utc>> {
    let ms = names.iter().find_map(|n| match body.get(*n)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    })?;
    DateTime::from_timestamp_millis(ms)
}

fn read_body(body: &[u8]) -> Result<ForwardedSms, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_param("body", format!("the body is not JSON: {e}")))?;
    let text = text_field(&value, &["text", "content", "message", "msg"])
        .ok_or_else(|| ApiError::bad_param("text", "no SMS text (text or content)"))?;
    if text.chars().count() > TEXT_MAX {
        return Err(ApiError::bad_param(
            "text",
            format!("an SMS is at most {TEXT_MAX} characters"),
        ));
    }
    let received_at = millis_field(&value, &["receivedStamp", "timestamp", "sentStamp"])
        .ok_or_else(|| {
            ApiError::bad_param(
                "receivedStamp",
                "no time the SMS was received (receivedStamp or timestamp, in milliseconds)",
            )
        })?;
    let sender = text_field(&value, &["from", "sender", "phoneNumber"]).unwrap_or("");
    Ok(ForwardedSms {
        sender: sender.chars().take(100).collect(),
        text: text.to_string(),
        received_at,
    })
}

fn device_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[utoipa::path(
    post, path = "/v1/credits/sms", tag = "credits",
    request_body = ForwardedSmsBody,
    responses(
        (status = 201, description = "A credit was recorded (and completed its payment, if any)", body = SmsResult),
        (status = 200, description = "Not a received-money message, or its credit was recorded before", body = SmsResult),
        (status = 401, description = "No device token, or an unknown or revoked one", body = ErrorBody),
        (status = 409, description = "This device sent this exact body before (`replayed`)", body = ErrorBody),
        (status = 422, description = "The SMS was received more than 5 minutes from now (`stale_timestamp`)", body = ErrorBody),
    ),
    security(("device_token" = []))
)]
pub async fn forwarded_sms(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<SmsResult>), ApiError> {
    admit_client(&state, "sms", Limit::per_second(PER_CLIENT))
        .await
        .map_err(throttled)?;
    let unknown = || {
        ApiError::unauthenticated(
            "device_token_invalid",
            "send the device's token as 'Authorization: Bearer hsd_…'; this one is unknown or revoked",
        )
    };
    let token = device_token(&headers).ok_or_else(unknown)?;
    let device = state
        .payments
        .sms_device(token)
        .await?
        .ok_or_else(unknown)?;
    let sms = read_body(&body)?;
    let outcome = state
        .payments
        .receive_sms(&device, &body, sms)
        .await
        .map_err(refusal)?;
    Ok(answer(&state, outcome))
}

fn throttled(t: super::ratelimit::Throttled) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        "rate_limited",
        format!(
            "too many SMS from this address; retry in {} s",
            t.retry_after_secs
        ),
    )
}

fn refusal(e: SmsError) -> ApiError {
    match e {
        SmsError::Stale => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            "stale_timestamp",
            e.to_string(),
        )
        .with_param("receivedStamp"),
        SmsError::Replayed => ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "replayed",
            e.to_string(),
        ),
        SmsError::Service(s) => s.into(),
    }
}

fn answer(state: &AppState, outcome: AlertOutcome) -> (StatusCode, Json<SmsResult>) {
    let (status, kind, reason, recorded) = match outcome {
        AlertOutcome::Recorded(done) => {
            let (credit, payment) = *done;
            let recorded = CreditResult::new(state, &credit, payment.as_ref());
            (StatusCode::CREATED, "recorded", None, Some(recorded))
        }
        AlertOutcome::Duplicate { method, reference } => {
            let reason = format!("{method} credit {reference} was recorded before");
            (StatusCode::OK, "duplicate", Some(reason), None)
        }
        AlertOutcome::Ignored(reason) => (StatusCode::OK, "ignored", Some(reason), None),
    };
    let result = SmsResult {
        status: kind,
        reason,
        recorded,
    };
    (status, Json(result))
}
