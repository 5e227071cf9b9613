//! XPay (seeds/002): a hosted checkout link (`/public/v1/payment/checkout`), the embedded
//! flow's intent (`/public/v1/payment/intent`) and its details. Requests carry `x-api-key`,
//! `x-account-id` and `x-signature` (HMAC-SHA256 with the merchant's HMAC secret over
//! `JSON.stringify(JSON.parse(body))`, or over the raw body); GETs carry no signature.
//!
//! The intent's `_id` (`xpay_pi_` + 64 hex) is the Hundi payment id. Its webhook
//! (`PAYMENT_INTENT_NOTIFICATION`, signed with the separate webhook secret) goes to the API
//! key's webhook URL when the payment succeeds or fails.

use super::{authenticate, credentials, header, js_json, money_number, KeyRefusal};
use crate::domain::credential::names;
use crate::domain::key::Permission;
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus};
use crate::http::AppState;
use crate::service::objects::rfc3339;
use crate::service::{NewPayment, ServiceError};
use crate::store::Scope;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub const SOURCE: &str = "xpay";

/// XPay's method names and the checkout methods they open.
const METHODS: [(&str, &str); 5] = [
    ("card", "card"),
    ("easypaisa", "easypaisa"),
    ("jazzcash", "jazzcash"),
    // Google Pay pays with a card.
    ("googlepay", "card"),
    // A dynamic QR has no sandbox of its own here; it is not offered.
    ("dqr", ""),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/v1/payment/checkout", post(create))
        .route("/public/v1/payment/intent", post(create))
        .route("/public/v1/payment/intent/details/{id}", get(details))
}

/// `{"success":false,"message":…}`.
pub struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match self.0 {
            StatusCode::CONFLICT => "CONFLICT",
            StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
            StatusCode::NOT_FOUND => "NOT_FOUND",
            StatusCode::BAD_REQUEST => "BAD_REQUEST",
            StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            _ => "ERROR",
        };
        (
            self.0,
            Json(json!({"success": false, "responseStatus": status, "message": self.1})),
        )
            .into_response()
    }
}

/// This dialect's error shape for a status and a message (see `api::extract::with_small_body_limit`).
pub fn refuse(status: StatusCode, message: String) -> Response {
    Refusal(status, message).into_response()
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

fn unauthorized(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::UNAUTHORIZED, message.into())
}

impl From<KeyRefusal> for Refusal {
    fn from(r: KeyRefusal) -> Refusal {
        Refusal(r.status(), r.message("x-api-key"))
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "xpay request failed");
    Refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong; try again".into(),
    )
}

/// The key's scope, once `x-account-id` names the merchant's XPay account and (for POSTs)
/// `x-signature` verifies the body with its HMAC secret.
async fn auth(
    state: &AppState,
    headers: &HeaderMap,
    wanted: Permission,
    body: Option<&[u8]>,
) -> Result<(Scope, String), Refusal> {
    let (scope, key) = authenticate(state, header(headers, "x-api-key"), wanted).await?;
    let account = header(headers, "x-account-id")
        .ok_or_else(|| unauthorized("x-account-id header is required"))?;
    let (expected, secret) =
        match credentials::read(&*state.store, &state.secrets, &scope, names::XPAY_HMAC)
            .await
            .map_err(internal)?
        {
            Some((Some(id), secret)) => (id, secret),
            _ => return Err(unauthorized(
                "No XPay account is set up for this merchant (hundi credential create xpay_hmac)",
            )),
        };
    if account != expected {
        return Err(unauthorized("invalid x-account-id"));
    }
    if let Some(body) = body {
        let signature = header(headers, "x-signature")
            .ok_or_else(|| unauthorized("x-signature header is required"))?;
        if !super::signing::xpay_request_ok(&secret, body, signature) {
            return Err(unauthorized("invalid x-signature"));
        }
    }
    Ok((scope, key.id.clone()))
}

/// What the intent echoes: the request's own objects and the client secret.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Extra {
    client_secret: String,
    customer: Map<String, Value>,
    shipping: Map<String, Value>,
    metadata: Map<String, Value>,
}

fn extra(p: &Payment) -> Extra {
    p.dialect_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default()
}

fn object(map: &Map<String, Value>, name: &str) -> Result<Map<String, Value>, Refusal> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(_) => Err(bad(format!("{name} must be an object"))),
    }
}

fn text(map: &Map<String, Value>, name: &str) -> Option<String> {
    match map.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(js_json::js_number(n)),
        _ => None,
    }
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (scope, key_id) =
            auth(&state, &headers, Permission::PaymentsCreate, Some(&body)).await?;
        let text_body = std::str::from_utf8(&body).map_err(|_| bad("The body must be UTF-8 JSON"))?;
        // The document's own example has a trailing comma; real clients send them too.
        let map = match serde_json::from_str::<Value>(&js_json::strip_trailing_commas(text_body)) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(bad("The body must be a JSON object")),
            Err(e) => return Err(bad(format!("Invalid JSON: {e}"))),
        };
        let currency_code = text(&map, "currency").unwrap_or_else(|| "PKR".into());
        let currency = Currency::parse(&currency_code.to_ascii_uppercase())
            .map_err(|e| bad(format!("currency: {e}")))?;
        let amount_text = match map.get("amount") {
            Some(Value::Number(n)) => js_json::js_number(n),
            Some(Value::String(s)) => s.trim().to_string(),
            None | Some(Value::Null) => return Err(bad("amount is required")),
            Some(_) => return Err(bad("amount must be a number")),
        };
        let amount = Money::parse(&amount_text, currency).map_err(|e| bad(format!("amount: {e}")))?;
        let customer = object(&map, "customer")?;
        let shipping = object(&map, "shipping")?;
        let metadata = object(&map, "metadata")?;
        let methods = match map.get("payment_methods") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => {
                let mut out: Vec<String> = Vec::new();
                for m in list {
                    let name = m.as_str().unwrap_or_default().to_ascii_lowercase();
                    match METHODS.iter().find(|(x, _)| *x == name) {
                        Some((_, "")) => {}
                        Some((_, ours)) => {
                            if !out.iter().any(|o| o == ours) {
                                out.push(ours.to_string());
                            }
                        }
                        None => {
                            return Err(bad(format!(
                                "payment_methods: unknown method '{name}'; known: card, easypaisa, jazzcash, googlepay, dqr"
                            )))
                        }
                    }
                }
                if out.is_empty() {
                    return Err(bad("payment_methods: none of these methods is available"));
                }
                Some(out)
            }
            Some(_) => return Err(bad("payment_methods must be an array")),
        };
        let id = format!("xpay_pi_{}", random_hex());
        let extra = Extra {
            client_secret: format!("{id}_cs_{}", random_hex()),
            customer: customer.clone(),
            shipping,
            metadata: metadata.clone(),
        };
        let input = NewPayment {
            id: Some(id),
            amount: amount.to_string(),
            currency: amount.currency().code().to_string(),
            description: text(&map, "description"),
            reference: text(&metadata, "order_reference"),
            customer: Customer {
                name: text(&customer, "name"),
                email: text(&customer, "email"),
                phone: text(&customer, "phone"),
            },
            success_url: text(&map, "success_url"),
            cancel_url: text(&map, "failure_url"),
            methods,
            source: SOURCE.into(),
            key_id: Some(key_id),
            dialect_data: Some(serde_json::to_string(&extra).unwrap_or_default()),
            ..NewPayment::default()
        };
        let payment = state
            .payments
            .create(&scope, input)
            .await
            .map_err(|e| match e {
                ServiceError::Invalid { param, message } => bad(format!("{} {message}", xpay_field(&param))),
                e @ ServiceError::PayableAmountsExhausted { .. } => {
                    Refusal(StatusCode::CONFLICT, e.to_string())
                }
                other => internal(other),
            })?;
        Ok(Json(envelope(intent(&state, &payment))).into_response())
    }
    .await;
    result.unwrap_or_else(|r: Refusal| r.into_response())
}

/// XPay's name of a field the engine complained about.
fn xpay_field(param: &str) -> &str {
    match param {
        "customer[name]" => "customer.name",
        "customer[email]" => "customer.email",
        "customer[phone]" => "customer.phone",
        "reference" => "metadata.order_reference",
        "cancel_url" => "failure_url",
        other => other,
    }
}

async fn details(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let (scope, _) = auth(&state, &headers, Permission::PaymentsRead, None).await?;
        let payment = state.payments.get(&scope, &id).await.map_err(|e| match e {
            ServiceError::NotFound(_) => {
                Refusal(StatusCode::NOT_FOUND, "Payment intent not found".into())
            }
            other => internal(other),
        })?;
        Ok(Json(envelope(intent(&state, &payment))).into_response())
    }
    .await;
    result.unwrap_or_else(|r: Refusal| r.into_response())
}

fn envelope(data: Value) -> Value {
    json!({
        "success": true,
        "responseStatus": "OK",
        "message": "Request processed successfully.",
        "data": data,
    })
}

/// A payment's `pi_status`.
pub fn pi_status(s: PaymentStatus) -> &'static str {
    match s {
        PaymentStatus::Pending => "requires_payment_method",
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
            "succeeded"
        }
        PaymentStatus::Failed => "failed",
        PaymentStatus::Canceled | PaymentStatus::Expired => "canceled",
    }
}

/// The payment intent object, field for field as the document's response shows it.
fn intent(state: &AppState, p: &Payment) -> Value {
    let extra = extra(p);
    let field = |m: &Map<String, Value>, name: &str| m.get(name).cloned().unwrap_or(json!(""));
    let mut customer = extra.customer.clone();
    customer.entry("vip_customer").or_insert(json!("No"));
    customer.entry("previous_customer").or_insert(json!("No"));
    let mut shipping = Map::new();
    for name in [
        "address1",
        "address2",
        "city",
        "country",
        "firstName",
        "lastName",
        "phone",
        "province",
        "zip",
        "shipping_method",
    ] {
        shipping.insert(name.into(), field(&extra.shipping, name));
    }
    for (k, v) in &extra.shipping {
        shipping.entry(k.clone()).or_insert(v.clone());
    }
    let checkout = format!("{}/pay/{}", state.payments.public_url(), p.id);
    json!({
        "_id": p.id,
        "pi_client_secret": extra.client_secret,
        "created_at": rfc3339(p.created_at),
        "amount": money_number(&p.amount),
        "currency": p.currency().code(),
        "refund": {
            "refunded_amount": money_number(&Money::from_minor(p.refunded_minor, p.currency())),
            "refund_object_id": null,
        },
        "object_name": "payment_intent",
        "customer": customer,
        "description": p.description.clone().unwrap_or_default(),
        "pi_status": pi_status(p.status),
        "pm_token": "",
        "shipping": shipping,
        "metadata": extra.metadata,
        "token": null,
        "capture_method": "automatic",
        "html_response": {},
        "bank_response": {},
        "last_payment_response": {"token": null},
        "encryptionKey": null,
        "billingAddress": {},
        "routing_rules_history": [],
        "subscription": {},
        "checkout_page_url": checkout,
    })
}

/// `PAYMENT_INTENT_NOTIFICATION` for a payment that succeeded or failed, signed with the
/// merchant's XPay webhook secret; `None` for other events.
pub fn webhook(
    event_type: &str,
    p: &Payment,
    secret: &str,
) -> Option<(String, Vec<(String, String)>)> {
    let (status, bank) = match event_type {
        "payment.succeeded" => ("succeeded", "Transaction approved"),
        "payment.failed" => ("failed", "Transaction declined"),
        _ => return None,
    };
    let extra = extra(p);
    let order_reference = extra
        .metadata
        .get("order_reference")
        .map(|v| match v {
            Value::Number(n) => Value::String(js_json::js_number(n)),
            other => other.clone(),
        })
        .unwrap_or(Value::Null);
    let mut body = Map::new();
    body.insert("type".into(), json!("PAYMENT_INTENT_NOTIFICATION"));
    body.insert("payment_intent_id".into(), json!(p.id));
    body.insert("status".into(), json!(status));
    body.insert("amount".into(), money_number(&p.amount));
    body.insert("currency".into(), json!(p.currency().code()));
    body.insert("order_reference".into(), order_reference);
    body.insert(
        "transaction_details".into(),
        json!({"_id": p.id.replacen("xpay_pi_", "xpay_tx_", 1)}),
    );
    body.insert("status_message_from_bank".into(), json!(bank));
    let body = js_json::stringify(&Value::Object(body));
    let signature = super::signing::hmac_sha256_hex(secret.as_bytes(), body.as_bytes());
    Some((body, vec![("X-Signature".into(), signature)]))
}
