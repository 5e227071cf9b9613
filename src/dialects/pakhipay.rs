//! Pakhi Pay (seeds/000): `api-key` header, create and verify, `{"status":1|0,"message"}`.
//! The transaction id is the Hundi payment id, so it works in the native API too. Payments
//! are in `HUNDI_PAKHIPAY_CURRENCY` (default BDT): the document names no currency.
//!
//! A `callback_url` becomes an endpoint of that payment alone: on completion it gets the
//! document's payload, its `signature` field (over the payload without the field) and an
//! `X-Signature` header over the exact body. Both are keyed with the API key that created the
//! payment, unless that key may only create payments (the SDK's key, readable in the shop's
//! page): then with the merchant's `pakhipay_callback` credential, which only the merchant's
//! back end holds.

use crate::domain::credential::names;
use crate::domain::key::{ApiKey, Permission};
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus};
use crate::http::AppState;
use crate::service::{Callback, NewPayment, ServiceError};
use crate::store::Scope;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub const SOURCE: &str = "pakhipay";

pub fn router() -> Router<AppState> {
    // The SDK creates payments from the merchant's page, so create answers CORS preflights.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::POST])
        .allow_headers([
            axum::http::HeaderName::from_static("api-key"),
            axum::http::header::CONTENT_TYPE,
        ])
        .expose_headers(crate::api::ratelimit::HEADERS.map(axum::http::HeaderName::from_static));
    let create_routes = Router::new()
        .route(
            "/api/request/payment/create/",
            post(create).options(preflight),
        )
        .route(
            "/api/request/payment/create",
            post(create).options(preflight),
        )
        .layer(cors);
    Router::new()
        .merge(create_routes)
        .route("/api/request/payment/verify/", post(verify))
        .route("/api/request/payment/verify", post(verify))
}

/// Preflights are answered by the CORS layer around the route; the route must accept OPTIONS
/// for the layer to see them.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Every Pakhi Pay error: `{"status":0,"message":…}`.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"status": 0, "message": self.1}))).into_response()
    }
}

/// This dialect's error shape for a status and a message (see `api::extract::with_small_body_limit`).
pub fn refuse(status: StatusCode, message: String) -> Response {
    Refusal(status, message).into_response()
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

/// The caller's scope and key, from the `api-key` header.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    wanted: Permission,
) -> Result<(Scope, std::sync::Arc<crate::domain::key::ApiKey>), Refusal> {
    super::authenticate(state, super::header(headers, "api-key"), wanted)
        .await
        .map_err(|r| Refusal(r.status(), r.message("api-key")))
}

/// The body as fields: JSON (object) or a urlencoded form, as the document allows both.
fn fields(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if form {
        return Ok(url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("the body must be a JSON object")),
        Err(e) => Err(bad(format!("the body is not valid JSON: {e}"))),
    }
}

fn text(map: &Map<String, Value>, name: &str) -> Result<Option<String>, Refusal> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(bad(format!("{name} must be a string"))),
    }
}

fn required(map: &Map<String, Value>, name: &str) -> Result<String, Refusal> {
    text(map, name)?.ok_or_else(|| bad(format!("{name} is required")))
}

fn amount(map: &Map<String, Value>, currency: Currency) -> Result<Money, Refusal> {
    let raw = required(map, "amount")?;
    Money::parse(&raw, currency).map_err(|e| bad(format!("amount {e}")))
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match create_inner(&state, &headers, &body).await {
        Ok(r) => r,
        Err(refusal) => refusal.into_response(),
    }
}

async fn create_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, Refusal> {
    let (scope, key) = authenticate(state, headers, Permission::PaymentsCreate).await?;
    let map = fields(headers, body)?;
    let name = required(&map, "cus_name")?;
    let email = required(&map, "cus_email")?;
    let money = amount(&map, state.dialects.pakhipay_currency)?;
    let success_url = required(&map, "success_url")?;
    let cancel_url = required(&map, "cancel_url")?;
    let order_id = text(&map, "order_id")?;
    let callback = text(&map, "callback_url")?;
    if callback.is_some() && key.is_create_only() {
        // A browser key is public: its payments' callbacks are signed with the merchant's
        // callback secret, which must exist before such a callback is accepted.
        let secret = super::credentials::read(
            &*state.store,
            &state.secrets,
            &scope,
            names::PAKHIPAY_CALLBACK,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "pakhipay could not read the callback secret");
            Refusal(StatusCode::INTERNAL_SERVER_ERROR, "try again".into())
        })?;
        if secret.is_none() {
            return Err(bad(
                "callback_url needs the merchant's Pakhi Pay callback secret when the api-key \
                 may only create payments: create the pakhipay_callback credential",
            ));
        }
    } else if callback.is_some() {
        // The callback's signature is made with the API key itself.
        if let Some(presented) = super::header(headers, "api-key") {
            super::credentials::remember_api_key(
                &*state.store,
                &state.secrets,
                &scope,
                &key.id,
                presented,
            )
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "pakhipay could not keep the key for callbacks");
                Refusal(StatusCode::INTERNAL_SERVER_ERROR, "try again".into())
            })?;
        }
    }
    let input = NewPayment {
        amount: money.to_string(),
        currency: money.currency().code().to_string(),
        reference: order_id,
        customer: Customer {
            name: Some(name),
            email: Some(email),
            phone: None,
        },
        success_url: Some(success_url),
        cancel_url: Some(cancel_url),
        source: SOURCE.into(),
        key_id: Some(key.id.clone()),
        callback: callback.map(|url| Callback {
            url,
            format: SOURCE.into(),
            events: vec!["payment.succeeded".into()],
        }),
        ..NewPayment::default()
    };
    let payment = state
        .payments
        .create(&scope, input)
        .await
        .map_err(|e| match e {
            ServiceError::Invalid { param, message } => {
                bad(format!("{} {message}", pakhi_field(&param)))
            }
            e @ ServiceError::PayableAmountsExhausted { .. } => {
                Refusal(StatusCode::CONFLICT, e.to_string())
            }
            other => {
                tracing::error!(error = %other, "pakhipay create failed");
                Refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "could not create the payment; try again".into(),
                )
            }
        })?;
    let object = state.payments.object(&payment);
    Ok(Json(json!({
        "status": 1,
        "message": "Payment link created successfully",
        "payment_url": object.checkout_url,
        "transaction_id": payment.id,
    }))
    .into_response())
}

/// The Pakhi Pay name of a field the engine complained about.
fn pakhi_field(param: &str) -> &str {
    match param {
        "customer[name]" => "cus_name",
        "customer[email]" => "cus_email",
        "reference" => "order_id",
        "callback_url" => "callback_url",
        other => other,
    }
}

async fn verify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (scope, _) = authenticate(&state, &headers, Permission::PaymentsRead).await?;
        let map = fields(&headers, &body)?;
        let id = required(&map, "transaction_id")?;
        let money = amount(&map, state.dialects.pakhipay_currency)?;
        let answer =
            |status: u8, message: &str| Json(json!({"status": status, "message": message}));
        let payment = match state.payments.get(&scope, &id).await {
            Ok(p) => p,
            Err(ServiceError::NotFound(_)) => return Ok(answer(0, "not found").into_response()),
            Err(e) => {
                tracing::error!(error = %e, "pakhipay verify failed");
                return Err(Refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "try again".into(),
                ));
            }
        };
        let message = verify_message(payment.status);
        let response = if message == "completed" && payment.amount != money {
            answer(0, "amount mismatch").into_response()
        } else if message == "completed" {
            Json(json!({
                "status": 1,
                "message": "completed",
                "transaction_id": payment.id,
                "amount": payment.amount.to_string(),
                "order_id": payment.reference,
            }))
            .into_response()
        } else {
            answer(0, message).into_response()
        };
        Ok(response)
    }
    .await;
    result.unwrap_or_else(|refusal: Refusal| refusal.into_response())
}

/// What verify says of a payment in each status (before the amount is compared).
pub fn verify_message(s: PaymentStatus) -> &'static str {
    match s {
        s if s.is_paid() => "completed",
        PaymentStatus::Pending => "pending",
        _ => "failed",
    }
}

/// The credential whose secret signs the callbacks of payments made with `key`: a copy of the
/// key itself, unless the key may only create payments (then anyone who reads the shop's page
/// has it). A key no longer on record signs nothing.
pub fn callback_credential(key: Option<&ApiKey>) -> Option<String> {
    match key {
        Some(k) if k.is_create_only() => Some(names::PAKHIPAY_CALLBACK.to_string()),
        Some(k) => Some(names::api_key(&k.id)),
        None => None,
    }
}

/// The callback for a completed payment: (body, X-Signature), or `None` for other events.
pub fn callback(event_type: &str, p: &Payment, secret: &str) -> Option<(String, String)> {
    if event_type != "payment.succeeded" {
        return None;
    }
    Some(super::signing::pakhipay_callback(
        secret,
        "completed",
        &p.id,
        &p.amount.to_string(),
        p.reference.as_deref(),
    ))
}
