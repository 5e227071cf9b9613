//! XPay (docs/dialects.md): a hosted checkout link (`/public/v1/payment/checkout`), the embedded
//! flow's intent (`/public/v1/payment/intent`) and its details. Requests carry `x-api-key`,
//! `x-account-id` and `x-signature` (HMAC-SHA256 with the merchant's HMAC secret over
//! `JSON.stringify(JSON.parse(body))`, or over the raw body); GETs carry no signature.
//!
//! The intent's `_id` (`xpay_pi_` + 64 hex) is the Hundi payment id. Its webhook
//! (`PAYMENT_INTENT_NOTIFICATION`, signed with the separate webhook secret) goes to the API
//! key's webhook URL when the payment succeeds or fails.

use super::fields::{self, FieldError, Object, Problem, Text};
use super::{authenticate, header, js_json, money_number, KeyRefusal};
use crate::domain::key::Permission;
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus};
use crate::domain::source::CredentialKind;
use crate::http::AppState;
use crate::service::objects::rfc3339;
use crate::service::Scope;
use crate::service::{CreateField, NewPayment, ServiceError};
use crate::webhooks::{Acceptance, Rendered};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub const SOURCE: &str = "xpay";

/// `x-account-id` (public) and the secret that signs requests (`x-signature`).
pub const HMAC_CREDENTIAL: CredentialKind = CredentialKind {
    name: "xpay_hmac",
    label: "XPay account id and request-signing secret",
    secret_prefix: "hmac_sc_",
    public_id: true,
};

/// The secret that signs webhooks (`X-Signature`), separate from the request one.
pub const WEBHOOK_CREDENTIAL: CredentialKind = CredentialKind {
    name: "xpay_webhook",
    label: "XPay webhook secret",
    secret_prefix: "whsec_",
    public_id: false,
};

pub struct XPay;

#[async_trait::async_trait]
impl super::Dialect for XPay {
    fn name(&self) -> &'static str {
        SOURCE
    }
    fn label(&self) -> &'static str {
        "XPay"
    }
    fn router(&self) -> Router<AppState> {
        router()
    }
    fn refuse(&self) -> crate::api::extract::Refuse {
        refuse
    }
    fn status_name(&self, s: PaymentStatus) -> Option<&'static str> {
        Some(pi_status(s))
    }
    /// XPay's redirects carry Hundi's own parameter.
    fn redirect_id_params(&self) -> &'static [&'static str] {
        &["payment_id"]
    }
    fn credentials(&self) -> &'static [CredentialKind] {
        &[HMAC_CREDENTIAL, WEBHOOK_CREDENTIAL]
    }
    async fn webhook(&self, d: &super::Delivery<'_>) -> Result<Rendered, String> {
        if !matches!(
            d.job.event_type.as_str(),
            "payment.succeeded" | "payment.failed"
        ) {
            return Ok(d.skip(SOURCE));
        }
        let secret = d
            .secret(WEBHOOK_CREDENTIAL.name)
            .await?
            .ok_or("create the merchant's xpay_webhook credential (its webhook secret)")?;
        Ok(match webhook(&d.job.event_type, d.payment, &secret) {
            Some((body, headers)) => Rendered::Dialect {
                body,
                headers,
                accept: Acceptance::Any2xx,
            },
            None => d.skip(SOURCE),
        })
    }
}

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

fn internal(e: impl super::Failure) -> Refusal {
    tracing::error!(error = %e, "xpay request failed");
    Refusal(e.status(), "Something went wrong; try again".into())
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
        match state
            .credentials
            .read(&scope, HMAC_CREDENTIAL.name)
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

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Refusal {
        bad(match (e.problem, e.field) {
            (Problem::Missing, f) => format!("{f} is required"),
            (Problem::Wrong, "amount") => "amount must be a number".into(),
            (Problem::Wrong, f) => format!("{f} must be an object"),
        })
    }
}

/// The checkout (or intent) request, as sent. Text fields that are not text are ignored.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CreateRequest {
    amount: Text,
    currency: Text,
    description: Text,
    customer: Object,
    shipping: Object,
    metadata: Object,
    success_url: Text,
    failure_url: Text,
    payment_methods: Option<Value>,
}

impl CreateRequest {
    fn amount(&self) -> Result<Money, Refusal> {
        let currency_code = self.currency.lenient().unwrap_or_else(|| "PKR".into());
        let currency = Currency::parse(&currency_code.to_ascii_uppercase())
            .map_err(|e| bad(format!("currency: {e}")))?;
        let amount_text = self.amount.amount("amount")?;
        Money::parse(&amount_text, currency).map_err(|e| bad(format!("amount: {e}")))
    }

    fn into_payment(self, key_id: String) -> Result<NewPayment, Refusal> {
        let amount = self.amount()?;
        let customer = self.customer.or_empty("customer")?;
        let shipping = self.shipping.or_empty("shipping")?;
        let metadata = self.metadata.or_empty("metadata")?;
        let methods = methods(self.payment_methods.as_ref())?;
        let text = |map: &Map<String, Value>, name: &str| Text::of(map.get(name)).lenient();
        let id = format!("xpay_pi_{}", random_hex());
        let input = NewPayment {
            amount: amount.to_string(),
            currency: amount.currency().code().to_string(),
            description: self.description.lenient(),
            reference: text(&metadata, "order_reference"),
            customer: Customer {
                name: text(&customer, "name"),
                email: text(&customer, "email"),
                phone: text(&customer, "phone"),
            },
            success_url: self.success_url.lenient(),
            cancel_url: self.failure_url.lenient(),
            methods,
            source: SOURCE.into(),
            key_id: Some(key_id),
            ..NewPayment::default()
        };
        let extra = Extra {
            client_secret: format!("{id}_cs_{}", random_hex()),
            customer,
            shipping,
            metadata,
        };
        Ok(NewPayment {
            id: Some(id),
            dialect_data: Some(serde_json::to_string(&extra).unwrap_or_default()),
            ..input
        })
    }
}

/// `payment_methods`, as the checkout's methods (`None`: every method).
fn methods(list: Option<&Value>) -> Result<Option<Vec<String>>, Refusal> {
    let list = match list {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad("payment_methods must be an array")),
    };
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
    Ok(Some(out))
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
        let text_body =
            std::str::from_utf8(&body).map_err(|_| bad("The body must be UTF-8 JSON"))?;
        // The document's own example has a trailing comma; real clients send them too.
        let request: CreateRequest =
            match serde_json::from_str::<Value>(&js_json::strip_trailing_commas(text_body)) {
                Ok(Value::Object(map)) => fields::read(map),
                Ok(_) => return Err(bad("The body must be a JSON object")),
                Err(e) => return Err(bad(format!("Invalid JSON: {e}"))),
            };
        let input = request.into_payment(key_id)?;
        let payment = state
            .payments
            .create(&scope, input)
            .await
            .map_err(|e| match e {
                ServiceError::Invalid { param, message } => {
                    bad(format!("{} {message}", xpay_field(&param)))
                }
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
    match CreateField::of(param) {
        Some(CreateField::CustomerName) => "customer.name",
        Some(CreateField::CustomerEmail) => "customer.email",
        Some(CreateField::CustomerPhone) => "customer.phone",
        Some(CreateField::Reference) => "metadata.order_reference",
        Some(CreateField::CancelUrl) => "failure_url",
        _ => param,
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
