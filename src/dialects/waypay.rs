//! Waypay (seeds/003): `POST /Gateway/v1/Payment/initiate-checkout` with `SWICH-API-Key` and
//! an MD5 `signature` over the body's fields and the merchant's secret; every broken rule
//! listed at once (422); `orderRef` unique per merchant, enforced by a unique index.
//!
//! The payment intent id is the Hundi payment id (a UUID). Its webhook
//! (`TransactionStatusChanged`) goes to the request's `callbackUrl`, or else to the API key's
//! webhook URL, on each status change; it is retried until the receiver answers 200.

use super::{authenticate, credentials, header, js_json, money_number, KeyRefusal};
use crate::domain::credential::names;
use crate::domain::key::Permission;
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus};
use crate::http::AppState;
use crate::service::{Callback, NewPayment, ServiceError};
use crate::store::{PaymentFilter, StoreError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

pub const SOURCE: &str = "waypay";

/// The most top-level numbers a request may carry (the document's have two).
const MAX_NUMERIC_FIELDS: usize = 64;

/// How long a checkout session stays open.
const SESSION_SECS: i64 = 30 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/Gateway/v1/Payment/initiate-checkout", post(initiate))
        .route("/Gateway/v1/Transaction/by-ref/{order_ref}", get(by_ref))
}

/// `{"code","message","details":[{"field","issue"}]}`.
pub struct Refusal {
    status: StatusCode,
    message: String,
    details: Vec<(String, String)>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::CONFLICT => "conflict",
            StatusCode::UNPROCESSABLE_ENTITY => "validation_error",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "server_error",
        };
        let details: Vec<Value> = self
            .details
            .into_iter()
            .map(|(field, issue)| json!({"field": field, "issue": issue}))
            .collect();
        (
            self.status,
            Json(json!({"code": code, "message": self.message, "details": details})),
        )
            .into_response()
    }
}

/// This dialect's error shape for a status and a message (see `api::extract::with_small_body_limit`).
pub fn refuse(status: StatusCode, message: String) -> Response {
    Refusal {
        status,
        details: vec![("body".to_string(), message.clone())],
        message,
    }
    .into_response()
}

fn refusal(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
        details: Vec::new(),
    }
}

fn bad_field(field: &str, issue: impl Into<String>) -> Refusal {
    let issue = issue.into();
    Refusal {
        status: StatusCode::BAD_REQUEST,
        message: format!("{field}: {issue}"),
        details: vec![(field.to_string(), issue)],
    }
}

impl From<KeyRefusal> for Refusal {
    fn from(r: KeyRefusal) -> Refusal {
        refusal(r.status(), r.message("SWICH-API-Key"))
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "waypay request failed");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong; try again",
    )
}

/// What Waypay echoes later: `orderRef` and `customerRef` as sent, the metadata string, and
/// whether the request named its own callback URL.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Extra {
    order_ref: Map<String, Value>,
    customer_ref: Option<Value>,
    metadata_json: Option<String>,
    callback: bool,
}

fn extra(p: &Payment) -> Extra {
    p.dialect_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default()
}

/// The rules of the document, every broken one collected.
#[derive(Default)]
struct Broken(Vec<(String, String)>);

impl Broken {
    fn add(&mut self, field: &str, issue: impl Into<String>) {
        self.0.push((field.to_string(), issue.into()));
    }
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(js_json::js_number(n)),
        _ => None,
    }
}

async fn initiate(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (scope, key) = authenticate(
            &state,
            header(&headers, "swich-api-key"),
            Permission::PaymentsCreate,
        )
        .await?;
        let raw = std::str::from_utf8(&body)
            .map_err(|_| refusal(StatusCode::BAD_REQUEST, "The body must be UTF-8 JSON"))?;
        let map = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(refusal(StatusCode::BAD_REQUEST, "The body must be a JSON object")),
            Err(e) => {
                return Err(refusal(
                    StatusCode::BAD_REQUEST,
                    format!("Malformed JSON: {e}"),
                ))
            }
        };
        // Required fields first (400), as the document lists them.
        for field in ["amount", "description", "orderRef", "signature"] {
            if map.get(field).is_none_or(Value::is_null) {
                return Err(bad_field(field, "is required"));
            }
        }
        let order_ref = match map.get("orderRef") {
            Some(Value::Object(o)) => o.clone(),
            _ => return Err(bad_field("orderRef", "must be an object")),
        };
        if order_ref.get("orderRef").is_none_or(Value::is_null) {
            return Err(bad_field("orderRef.orderRef", "is required"));
        }
        let Some(Value::String(signature)) = map.get("signature") else {
            return Err(bad_field("signature", "must be a string"));
        };
        // Each top-level number is signed in one of several renderings: a body with more
        // numbers than any Waypay request carries is refused before any is rendered.
        if map.values().filter(|v| v.is_number()).count() > MAX_NUMERIC_FIELDS {
            return Err(bad_field(
                "body",
                format!("must have at most {MAX_NUMERIC_FIELDS} numeric fields"),
            ));
        }
        // Then who is asking: the signature, with the merchant's Waypay secret (401).
        let secret = credentials::read(&*state.store, &state.secrets, &scope, names::WAYPAY)
            .await
            .map_err(internal)?
            .map(|(_, s)| s)
            .ok_or_else(|| {
                refusal(
                    StatusCode::UNAUTHORIZED,
                    "No Waypay signing secret is set up for this merchant (hundi credential create waypay)",
                )
            })?;
        if !super::signing::waypay_request_ok(raw, &secret, signature) {
            return Err(refusal(StatusCode::UNAUTHORIZED, "Invalid signature"));
        }

        // Then every rule (422), all at once.
        let mut broken = Broken::default();
        let currency_code = text_of(map.get("currency")).unwrap_or_else(|| "PKR".into());
        let currency = match Currency::parse(&currency_code.to_ascii_uppercase()) {
            Ok(c) => Some(c),
            Err(e) => {
                broken.add("currency", e.to_string());
                None
            }
        };
        let amount = match (map.get("amount"), currency) {
            (Some(Value::Number(n)), Some(c)) => {
                match Money::parse(&js_json::js_number(n), c) {
                    Ok(m) if m.minor() > Money::parse("10", c).map(|t| t.minor()).unwrap_or(0) => {
                        Some(m)
                    }
                    Ok(_) => {
                        broken.add("amount", "must be greater than 10");
                        None
                    }
                    Err(e) => {
                        broken.add("amount", e.to_string());
                        None
                    }
                }
            }
            (Some(Value::Number(_)), None) => None,
            _ => {
                broken.add("amount", "must be a number");
                None
            }
        };
        let description = match map.get("description") {
            Some(Value::String(s))
                if (1..=200).contains(&s.chars().count())
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') =>
            {
                Some(s.clone())
            }
            Some(Value::String(s)) => {
                let bad: Option<char> = s.chars().find(|c| !c.is_ascii_alphanumeric() && *c != ' ');
                broken.add(
                    "description",
                    match bad {
                        Some(c) => format!(
                            "must match ^[A-Za-z0-9 ]{{1,200}}$; '{c}' is not allowed"
                        ),
                        None => "must be 1 to 200 characters".into(),
                    },
                );
                None
            }
            _ => {
                broken.add("description", "must be a string");
                None
            }
        };
        let reference = match order_ref.get("orderRef") {
            Some(Value::String(r))
                if !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Some(r.clone())
            }
            Some(Value::String(r)) => {
                let issue = match r.chars().find(|c| !c.is_ascii_alphanumeric()) {
                    Some(c) => format!("must match ^[A-Za-z0-9]+$; '{c}' is not allowed"),
                    None => "must not be empty".into(),
                };
                broken.add("orderRef.orderRef", issue);
                None
            }
            _ => {
                broken.add("orderRef.orderRef", "must be a string");
                None
            }
        };
        let customer_ref = map.get("customerRef").filter(|v| !v.is_null()).cloned();
        let mut customer = Customer::default();
        match &customer_ref {
            None => {}
            Some(Value::Object(c)) => {
                if let Some(cnic) = c.get("cnic").filter(|v| !v.is_null()) {
                    let ok = cnic
                        .as_str()
                        .is_some_and(|s| s.len() == 13 && s.chars().all(|d| d.is_ascii_digit()));
                    if !ok {
                        broken.add("customerRef.cnic", "must be exactly 13 digits");
                    }
                }
                if let Some(email) = c.get("email").filter(|v| !v.is_null()) {
                    match email.as_str() {
                        Some(e) if crate::domain::payment::is_email(e) => customer.email = Some(e.to_string()),
                        _ => broken.add("customerRef.email", "must be a valid email address"),
                    }
                }
                customer.name = text_of(c.get("name"));
                customer.phone = text_of(c.get("phone"));
            }
            Some(_) => broken.add("customerRef", "must be an object"),
        }
        let callback = match map.get("callbackUrl") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) if u.trim().is_empty() => None,
            Some(Value::String(u)) => {
                let u = u.trim();
                let scheme_ok = match url::Url::parse(u) {
                    Ok(parsed) => {
                        parsed.scheme() == "https" || (!scope.livemode && parsed.scheme() == "http")
                    }
                    Err(_) => false,
                };
                if u.chars().count() > 2048 {
                    broken.add("callbackUrl", "must be at most 2048 characters");
                    None
                } else if !scheme_ok {
                    broken.add(
                        "callbackUrl",
                        if scope.livemode {
                            "must be an https URL"
                        } else {
                            "must be an https URL (http is allowed in test mode)"
                        },
                    );
                    None
                } else {
                    Some(u.to_string())
                }
            }
            Some(_) => {
                broken.add("callbackUrl", "must be a string");
                None
            }
        };
        let methods = match map.get("paymentMethod") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
                Some(1) => Some(vec!["jazzcash".to_string()]),
                Some(2) => Some(vec!["easypaisa".to_string()]),
                _ => {
                    broken.add("paymentMethod", "must be 1 (JazzCash) or 2 (Easypaisa)");
                    None
                }
            },
        };
        let metadata_json = match map.get("metadataJson") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                broken.add("metadataJson", "must be a JSON string");
                None
            }
        };
        let (Some(amount), Some(description), Some(reference), true) =
            (amount, description, reference, broken.0.is_empty())
        else {
            let message = broken
                .0
                .iter()
                .map(|(f, i)| format!("{f} {i}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Refusal {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: format!("Validation failed: {message}"),
                details: broken.0,
            });
        };

        let extra = Extra {
            order_ref,
            customer_ref,
            metadata_json,
            callback: callback.is_some(),
        };
        let input = NewPayment {
            id: Some(uuid::Uuid::new_v4().to_string()),
            amount: amount.to_string(),
            currency: amount.currency().code().to_string(),
            description: Some(description),
            reference: Some(reference.clone()),
            customer,
            methods,
            expires_in: Some(SESSION_SECS),
            source: SOURCE.into(),
            key_id: Some(key.id.clone()),
            dialect_data: Some(serde_json::to_string(&extra).unwrap_or_default()),
            callback: callback.map(|url| Callback {
                url,
                format: SOURCE.into(),
                events: STATUS_EVENTS.iter().map(|e| e.to_string()).collect(),
            }),
            ..NewPayment::default()
        };
        let payment = state
            .payments
            .create(&scope, input)
            .await
            .map_err(|e| match e {
                ServiceError::Store(StoreError::Duplicate(_)) => Refusal {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    message: format!("Validation failed: orderRef.orderRef '{reference}' was used before"),
                    details: vec![(
                        "orderRef.orderRef".into(),
                        format!("'{reference}' was used before; it must be unique"),
                    )],
                },
                ServiceError::Invalid { param, message } => Refusal {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    message: format!("Validation failed: {param} {message}"),
                    details: vec![(param, message)],
                },
                e @ ServiceError::PayableAmountsExhausted { .. } => Refusal {
                    status: StatusCode::CONFLICT,
                    message: e.to_string(),
                    details: vec![("amount".into(), e.to_string())],
                },
                other => internal(other),
            })?;
        Ok(Json(json!({
            "paymentIntentId": payment.id,
            "checkoutUrl": format!("{}/pay/{}", state.payments.public_url(), payment.id),
            "expiresAt": payment.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }))
        .into_response())
    }
    .await;
    result.unwrap_or_else(|r: Refusal| r.into_response())
}

/// The events a Waypay receiver hears about: each status change.
const STATUS_EVENTS: [&str; 4] = [
    "payment.succeeded",
    "payment.failed",
    "payment.canceled",
    "payment.expired",
];

/// A payment's Waypay status.
pub fn status(s: PaymentStatus) -> &'static str {
    match s {
        PaymentStatus::Pending => "Pending",
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
            "Completed"
        }
        PaymentStatus::Failed => "Failed",
        PaymentStatus::Canceled => "Cancelled",
        PaymentStatus::Expired => "Expired",
    }
}

/// `{"OrderRef":…,"Discount":…,"Tax":…}` as the JSON string the webhook carries.
fn order_ref_string(extra: &Extra, reference: Option<&str>) -> String {
    let field = |name: &str| extra.order_ref.get(name).cloned().unwrap_or(Value::Null);
    let mut o = Map::new();
    o.insert(
        "OrderRef".into(),
        reference.map(Value::from).unwrap_or(Value::Null),
    );
    o.insert("Discount".into(), field("discount"));
    o.insert("Tax".into(), field("tax"));
    js_json::stringify(&Value::Object(o))
}

/// A time as .NET writes a `DateTimeOffset` (seven fractional digits), as the document shows.
fn dotnet_time(t: chrono::DateTime<chrono::Utc>) -> String {
    let ticks = t.timestamp_subsec_nanos() / 100;
    format!("{}.{ticks:07}+00:00", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// A reference for the payment the way Waypay's look (`WPAYTR` + 14 characters), the same
/// every time for one payment.
fn transaction_reference(p: &Payment) -> String {
    let digest = hex::encode_upper(Md5::digest(p.id.as_bytes()));
    format!("WPAYTR{}", &digest[..14])
}

/// The merchant id as the UUID Waypay shows (Hundi's ids carry a UUID after their prefix).
fn merchant_uuid(merchant_id: &str) -> String {
    let tail = merchant_id.rsplit('_').next().unwrap_or(merchant_id);
    uuid::Uuid::parse_str(tail)
        .map(|u| u.hyphenated().to_string())
        .unwrap_or_else(|_| merchant_id.to_string())
}

async fn by_ref(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_ref): Path<String>,
) -> Response {
    let result = async {
        let (scope, _) = authenticate(
            &state,
            header(&headers, "swich-api-key"),
            Permission::PaymentsRead,
        )
        .await?;
        let filter = PaymentFilter {
            reference: Some(order_ref.clone()),
            source: Some(SOURCE.into()),
            limit: 1,
            ..PaymentFilter::default()
        };
        let found = state
            .payments
            .list(&scope, &filter)
            .await
            .map_err(internal)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                refusal(
                    StatusCode::NOT_FOUND,
                    format!("No transaction with orderRef '{order_ref}'"),
                )
            })?;
        let p = state
            .payments
            .get(&scope, &found.id)
            .await
            .map_err(internal)?;
        let extra = extra(&p);
        Ok(Json(json!({
            "transactionId": p.id,
            "paymentIntentId": p.id,
            "orderRef": p.reference,
            "status": status(p.status),
            "amount": money_number(&p.amount),
            "currency": p.currency().code(),
            "description": p.description,
            "transactionReference": p.status.is_paid().then(|| transaction_reference(&p)),
            "paymentMethod": p.paid_with,
            "metadataJson": extra.metadata_json,
            "createdAt": crate::service::objects::rfc3339(p.created_at),
            "updatedAt": crate::service::objects::rfc3339(p.updated_at),
            "expiresAt": crate::service::objects::rfc3339(p.expires_at),
        }))
        .into_response())
    }
    .await;
    result.unwrap_or_else(|r: Refusal| r.into_response())
}

/// Whether a payment's events go to the API key's URL too: not when the request named its
/// own callback URL, which takes precedence.
pub fn uses_key_url(p: &Payment) -> bool {
    !extra(p).callback
}

/// The `TransactionStatusChanged` webhook for a status change, with `Waypay-Signature` when
/// the merchant has a secret; `None` for events that change no status.
pub fn webhook(
    event_id: &str,
    event_type: &str,
    p: &Payment,
    secret: Option<&str>,
) -> Option<(String, Vec<(String, String)>)> {
    let current = match event_type {
        "payment.succeeded" => "Completed",
        "payment.failed" => "Failed",
        "payment.canceled" => "Cancelled",
        "payment.expired" => "Expired",
        _ => return None,
    };
    let reason = match current {
        "Failed" => Value::from("The payment was declined"),
        "Cancelled" => Value::from("Cancelled by the customer"),
        "Expired" => Value::from("The checkout session expired"),
        _ => Value::Null,
    };
    let extra = extra(p);
    let mut data = Map::new();
    data.insert("TransactionId".into(), json!(p.id));
    data.insert("PreviousStatus".into(), json!("Pending"));
    data.insert("CurrentStatus".into(), json!(current));
    data.insert("Amount".into(), money_number(&p.amount));
    data.insert("Currency".into(), json!(p.currency().code()));
    data.insert("Reason".into(), reason);
    data.insert(
        "TransactionReference".into(),
        json!((current == "Completed").then(|| transaction_reference(p))),
    );
    data.insert(
        "CustomerRef".into(),
        extra
            .customer_ref
            .as_ref()
            .map(|c| Value::String(js_json::stringify(c)))
            .unwrap_or(Value::Null),
    );
    data.insert(
        "OrderRef".into(),
        json!(order_ref_string(&extra, p.reference.as_deref())),
    );
    data.insert("MerchantId".into(), json!(merchant_uuid(&p.merchant_id)));
    data.insert("Timestamp".into(), json!(dotnet_time(p.updated_at)));
    if let Some(m) = &extra.metadata_json {
        data.insert("MetadataJson".into(), json!(m));
    }
    let mut body = Map::new();
    // One id per event, the same on every retry: receivers dedupe on it.
    body.insert(
        "id".into(),
        json!(hex::encode(Md5::digest(event_id.as_bytes()))),
    );
    body.insert("type".into(), json!("TransactionStatusChanged"));
    body.insert("created".into(), json!(p.updated_at.timestamp()));
    body.insert("livemode".into(), json!(p.livemode));
    body.insert("data".into(), Value::Object(data));
    body.insert("api_version".into(), json!("v1"));
    let body = js_json::stringify(&Value::Object(body));
    let mut headers = vec![("User-Agent".to_string(), "Waypay-Webhook/1.0".to_string())];
    if let Some(secret) = secret {
        headers.push((
            "Waypay-Signature".into(),
            super::signing::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()),
        ));
    }
    Some((body, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_seven_fractional_digits() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-18T08:17:57.644804Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(dotnet_time(t), "2026-01-18T08:17:57.6448040+00:00");
    }
}
