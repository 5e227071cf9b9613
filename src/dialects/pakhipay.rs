//! Pakhi Pay (docs/dialects.md): `api-key` header, create and verify, `{"status":1|0,"message"}`.
//! The transaction id is the Hundi payment id, so it works in the native API too. Payments
//! are in `HUNDI_PAKHIPAY_CURRENCY` (default BDT): the document names no currency.
//!
//! A `callback_url` becomes an endpoint of that payment alone: on completion it gets the
//! document's payload, its `signature` field (over the payload without the field) and an
//! `X-Signature` header over the exact body. Both are keyed with the API key that created the
//! payment, unless that key may only create payments (the SDK's key, readable in the shop's
//! page): then with the merchant's `pakhipay_callback` credential, which only the merchant's
//! back end holds.

use super::fields::{self, FieldError, Problem, Text};
use crate::domain::credential::names;
use crate::domain::key::{ApiKey, Permission};
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus};
use crate::domain::source::CredentialKind;
use crate::http::AppState;
use crate::service::Scope;
use crate::service::{Callback, CreateField, NewPayment, ServiceError};
use crate::webhooks::{Acceptance, Rendered};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub const SOURCE: &str = "pakhipay";

/// Signs the callbacks of payments created with a key limited to `payments:create` (a key in
/// a shop page, which anyone can read and so cannot sign).
pub const CALLBACK_CREDENTIAL: CredentialKind = CredentialKind {
    name: "pakhipay_callback",
    label: "Pakhi Pay callback secret (for payments made with a payments:create key)",
    secret_prefix: "pkp_cb_",
    public_id: false,
};

pub struct PakhiPay;

#[async_trait::async_trait]
impl super::Dialect for PakhiPay {
    fn name(&self) -> &'static str {
        SOURCE
    }
    fn label(&self) -> &'static str {
        "Pakhi Pay"
    }
    fn router(&self) -> Router<AppState> {
        router()
    }
    fn refuse(&self) -> crate::api::extract::Refuse {
        refuse
    }
    fn status_name(&self, s: PaymentStatus) -> Option<&'static str> {
        Some(verify_message(s))
    }
    fn redirect_id_params(&self) -> &'static [&'static str] {
        &["transaction_id", "transactionId"]
    }
    fn credentials(&self) -> &'static [CredentialKind] {
        &[CALLBACK_CREDENTIAL]
    }
    async fn webhook(&self, d: &super::Delivery<'_>) -> Result<Rendered, String> {
        // Pakhi Pay's webhook is the callback URL given with a payment; on an API key's own
        // URL its payments' events go out natively.
        if d.on_key_url {
            return Ok(Rendered::Native);
        }
        if d.job.event_type != "payment.succeeded" {
            return Ok(d.skip(SOURCE));
        }
        let key = d
            .credentials
            .creating_key(d.payment)
            .await
            .map_err(|e| e.to_string())?;
        let name = callback_credential(key.as_ref())
            .ok_or("the API key that created the payment is not on record")?;
        let secret = d.secret(&name).await?.ok_or_else(|| {
            if name == CALLBACK_CREDENTIAL.name {
                "create the merchant's pakhipay_callback credential (its callback secret)"
            } else {
                "the API key that created the payment is not on record"
            }
        })?;
        Ok(match callback(&d.job.event_type, d.payment, &secret) {
            Some((body, signature)) => Rendered::Dialect {
                body,
                headers: vec![("X-Signature".into(), signature)],
                accept: Acceptance::Any2xx,
            },
            None => d.skip(SOURCE),
        })
    }
}

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
        .route("/static/js/pakhipay-sdk.js", axum::routing::get(sdk))
}

/// The SDK a shop page loads (`PakhiPay({apiKey, baseUrl}).checkout(…)`).
async fn sdk() -> Response {
    const SDK_JS: &str = include_str!("../../static/js/pakhipay-sdk.js");
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SDK_JS,
    )
        .into_response()
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
fn form_or_json(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Refusal> {
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

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Refusal {
        bad(match e.problem {
            Problem::Missing => format!("{} is required", e.field),
            Problem::Wrong => format!("{} must be a string", e.field),
        })
    }
}

/// A required field: each is a string or a number (taken as its digits).
fn required(field: &Text, name: &'static str) -> Result<String, FieldError> {
    field.string_or_digits(name)?.ok_or(FieldError {
        field: name,
        problem: Problem::Missing,
    })
}

fn amount(field: &Text, currency: Currency) -> Result<Money, Refusal> {
    let raw = required(field, "amount")?;
    Money::parse(&raw, currency).map_err(|e| bad(format!("amount {e}")))
}

/// `POST /api/request/payment/create/`, as sent.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CreateRequest {
    cus_name: Text,
    cus_email: Text,
    amount: Text,
    success_url: Text,
    cancel_url: Text,
    order_id: Text,
    callback_url: Text,
}

/// A create that follows the document's rules (checked in its order).
struct Create {
    name: String,
    email: String,
    money: Money,
    success_url: String,
    cancel_url: String,
    order_id: Option<String>,
    callback: Option<String>,
}

impl CreateRequest {
    fn check(self, currency: Currency) -> Result<Create, Refusal> {
        Ok(Create {
            name: required(&self.cus_name, "cus_name")?,
            email: required(&self.cus_email, "cus_email")?,
            money: amount(&self.amount, currency)?,
            success_url: required(&self.success_url, "success_url")?,
            cancel_url: required(&self.cancel_url, "cancel_url")?,
            order_id: self.order_id.string_or_digits("order_id")?,
            callback: self.callback_url.string_or_digits("callback_url")?,
        })
    }
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
    let c = fields::read::<CreateRequest>(form_or_json(headers, body)?)
        .check(state.dialects.pakhipay_currency)?;
    if c.callback.is_some() {
        callback_signer(state, headers, &scope, &key).await?;
    }
    let input = NewPayment {
        amount: c.money.to_string(),
        currency: c.money.currency().code().to_string(),
        reference: c.order_id,
        customer: Customer {
            name: Some(c.name),
            email: Some(c.email),
            phone: None,
        },
        success_url: Some(c.success_url),
        cancel_url: Some(c.cancel_url),
        source: SOURCE.into(),
        key_id: Some(key.id.clone()),
        callback: c.callback.map(|url| Callback {
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
        .map_err(refusal_of)?;
    let object = state.payments.object(&payment);
    Ok(Json(json!({
        "status": 1,
        "message": "Payment link created successfully",
        "payment_url": object.checkout_url,
        "transaction_id": payment.id,
    }))
    .into_response())
}

/// Makes sure a callback can be signed: a browser key's payments need the merchant's
/// callback secret; any other key signs its own, so a sealed copy of it is kept.
async fn callback_signer(
    state: &AppState,
    headers: &HeaderMap,
    scope: &Scope,
    key: &ApiKey,
) -> Result<(), Refusal> {
    let failed = |e: crate::service::credentials::CredentialError| {
        tracing::error!(error = %e, "pakhipay could not prepare the callback's signature");
        Refusal(super::Failure::status(&e), "try again".into())
    };
    if key.is_create_only() {
        // A browser key is public: its payments' callbacks are signed with the merchant's
        // callback secret, which must exist before such a callback is accepted.
        let secret = state
            .credentials
            .read(scope, CALLBACK_CREDENTIAL.name)
            .await
            .map_err(failed)?;
        if secret.is_none() {
            return Err(bad(
                "callback_url needs the merchant's Pakhi Pay callback secret when the api-key \
                 may only create payments: create the pakhipay_callback credential",
            ));
        }
    } else if let Some(presented) = super::header(headers, "api-key") {
        // The callback's signature is made with the API key itself.
        state
            .credentials
            .remember_api_key(scope, &key.id, presented)
            .await
            .map_err(failed)?;
    }
    Ok(())
}

fn refusal_of(e: ServiceError) -> Refusal {
    match e {
        ServiceError::Invalid { param, message } => {
            bad(format!("{} {message}", pakhi_field(&param)))
        }
        e @ ServiceError::PayableAmountsExhausted { .. } => {
            Refusal(StatusCode::CONFLICT, e.to_string())
        }
        other => {
            tracing::error!(error = %other, "pakhipay create failed");
            Refusal(
                super::Failure::status(&other),
                "could not create the payment; try again".into(),
            )
        }
    }
}

/// The Pakhi Pay name of a field the engine complained about.
fn pakhi_field(param: &str) -> &str {
    match CreateField::of(param) {
        Some(CreateField::CustomerName) => "cus_name",
        Some(CreateField::CustomerEmail) => "cus_email",
        Some(CreateField::Reference) => "order_id",
        _ => param,
    }
}

/// `POST /api/request/payment/verify/`, as sent.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct VerifyRequest {
    transaction_id: Text,
    amount: Text,
}

async fn verify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let (scope, _) = authenticate(&state, &headers, Permission::PaymentsRead).await?;
        let request: VerifyRequest = fields::read(form_or_json(&headers, &body)?);
        let id = required(&request.transaction_id, "transaction_id")?;
        let money = amount(&request.amount, state.dialects.pakhipay_currency)?;
        let answer =
            |status: u8, message: &str| Json(json!({"status": status, "message": message}));
        let payment = match state.payments.get(&scope, &id).await {
            Ok(p) => p,
            Err(ServiceError::NotFound(_)) => return Ok(answer(0, "not found").into_response()),
            Err(e) => {
                tracing::error!(error = %e, "pakhipay verify failed");
                return Err(Refusal(super::Failure::status(&e), "try again".into()));
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
        Some(k) if k.is_create_only() => Some(CALLBACK_CREDENTIAL.name.to_string()),
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
