//! PayGate (docs/dialects.md): a UPI gateway. `X-API-Key` header, `{"success":false,"error"}`
//! errors, sessions with a 16-hex id and a payable amount unique among pending sessions of
//! the UPI id, confirmed by a bank credit. Every route answers CORS preflights, since real
//! clients call it from the browser.
//!
//! A session is a Hundi payment whose id is the session id; its webhook (success, expiry) goes
//! to the API key's webhook URL, signed with that URL's secret.

use super::fields::{self, FieldError, Problem, Text};
use super::{authenticate, header, js_json, money_number, KeyRefusal};
use crate::domain::key::Permission;
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus};
use crate::domain::source::CredentialKind;
use crate::http::AppState;
use crate::service::access::Acting;
use crate::service::{CreateField, NewPayment, ServiceError};
use crate::service::{PaymentFilter, Scope};
use crate::webhooks::{Acceptance, Rendered};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub const SOURCE: &str = "paygate";

pub struct PayGate;

#[async_trait::async_trait]
impl super::Dialect for PayGate {
    fn name(&self) -> &'static str {
        SOURCE
    }
    fn label(&self) -> &'static str {
        "PayGate"
    }
    fn router(&self) -> Router<AppState> {
        router()
    }
    fn refuse(&self) -> crate::api::extract::Refuse {
        refuse
    }
    fn status_name(&self, s: PaymentStatus) -> Option<&'static str> {
        Some(status(s))
    }
    fn redirect_id_params(&self) -> &'static [&'static str] {
        &["session_id"]
    }
    /// Its webhooks are signed with the API key's own webhook secret.
    fn credentials(&self) -> &'static [CredentialKind] {
        &[]
    }
    async fn webhook(&self, d: &super::Delivery<'_>) -> Result<Rendered, String> {
        Ok(match webhook(&d.job.event_type, d.payment, &d.job.secret) {
            Some((body, headers)) => Rendered::Dialect {
                body,
                headers,
                accept: Acceptance::Any2xx,
            },
            None => d.skip(SOURCE),
        })
    }
}

pub fn router() -> Router<AppState> {
    use super::preflight;
    Router::new()
        .route("/api/v1/create-payment", post(create).options(preflight))
        .route("/api/v1/payment/{session_id}", get(show).options(preflight))
        .route("/api/v1/payments", get(list).options(preflight))
        .route(
            "/api/v1/cancel/{session_id}",
            post(cancel).options(preflight),
        )
        .layer(super::cors(&[Method::GET, Method::POST], &["x-api-key"]))
}

/// Every PayGate error: `{"success":false,"error":…}`.
pub struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"success": false, "error": self.1}))).into_response()
    }
}

/// This dialect's error shape for a status and a message (see `api::extract::with_small_body_limit`).
pub fn refuse(status: StatusCode, message: String) -> Response {
    Refusal(status, message).into_response()
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

impl From<KeyRefusal> for Refusal {
    fn from(r: KeyRefusal) -> Refusal {
        Refusal(r.status(), r.message("X-API-Key"))
    }
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Refusal {
        match e {
            ServiceError::NotFound(_) => {
                Refusal(StatusCode::NOT_FOUND, "Payment session not found".into())
            }
            ServiceError::Invalid { param, message } => {
                bad(format!("{} {message}", paygate_field(&param)))
            }
            ServiceError::Conflict(message) | ServiceError::InvalidState { message, .. } => {
                bad(message)
            }
            // Every payable amount for this price is held by a pending session.
            e @ ServiceError::PayableAmountsExhausted { .. } => {
                Refusal(StatusCode::CONFLICT, e.to_string())
            }
            other => {
                tracing::error!(error = %other, "paygate request failed");
                Refusal(
                    super::Failure::status(&other),
                    "Internal error; try again".into(),
                )
            }
        }
    }
}

/// The PayGate name of a field the engine complained about.
fn paygate_field(param: &str) -> &str {
    match CreateField::of(param) {
        Some(CreateField::CustomerName) => "customer_name",
        Some(CreateField::CustomerEmail) => "customer_email",
        Some(CreateField::Reference) => "merchant_ref",
        _ => param,
    }
}

async fn auth(state: &AppState, headers: &HeaderMap, wanted: Permission) -> Result<Scope, Refusal> {
    let (scope, _) = authenticate(state, header(headers, "x-api-key"), wanted).await?;
    Ok(scope)
}

fn respond(result: Result<Response, Refusal>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// What PayGate keeps beyond the engine's fields: the metadata exactly as sent.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Extra {
    metadata: Option<Value>,
}

fn extra(p: &Payment) -> Extra {
    p.dialect_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, as the document shows `expires_at`.
fn plain_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A payment's PayGate status.
pub fn status(s: PaymentStatus) -> &'static str {
    match s {
        PaymentStatus::Pending => "pending",
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
            "success"
        }
        PaymentStatus::Canceled => "cancelled",
        // A UPI session does not fail; one that ended unpaid for any other reason is over.
        PaymentStatus::Expired | PaymentStatus::Failed => "expired",
    }
}

/// The UPI amount the customer pays, as a shortest-form number (`null` without UPI).
fn payable_amount(p: &Payment) -> Value {
    p.upi()
        .map(|u| money_number(&Money::from_minor(u.payable_minor, p.currency())))
        .unwrap_or(Value::Null)
}

fn session(state: &AppState, p: &Payment) -> Value {
    let mut out = Map::new();
    out.insert("session_id".into(), json!(p.id));
    out.insert("requested_amount".into(), money_number(&p.amount));
    out.insert("payable_amount".into(), payable_amount(p));
    out.insert("status".into(), json!(status(p.status)));
    out.insert(
        "checkout_url".into(),
        json!(format!("{}/pay/{}", state.payments.public_url(), p.id)),
    );
    out.insert("upi_id".into(), json!(p.upi().map(|u| &u.payee)));
    out.insert("upi_name".into(), json!(p.upi().map(|u| &u.payee_name)));
    out.insert(
        "upi_deeplink".into(),
        json!(p.upi().map(|u| u.deeplink(p.currency(), &p.id))),
    );
    out.insert("expires_at".into(), json!(plain_time(p.expires_at)));
    out.insert("customer_name".into(), json!(p.customer.name));
    out.insert("customer_email".into(), json!(p.customer.email));
    out.insert("merchant_ref".into(), json!(p.reference));
    out.insert("metadata".into(), extra(p).metadata.unwrap_or(Value::Null));
    out.insert("utr".into(), json!(utr(p)));
    out.insert("created_at".into(), json!(plain_time(p.created_at)));
    Value::Object(out)
}

/// The bank reference of the credit that paid a UPI session.
fn utr(p: &Payment) -> Option<&str> {
    match p.paid_with.as_deref() {
        Some("upi") => p.method_reference.as_deref(),
        _ => None,
    }
}

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Refusal {
        bad(match (e.problem, e.field) {
            (Problem::Missing, f) => format!("{f} is required"),
            (Problem::Wrong, "amount") => "amount must be a number".into(),
            (Problem::Wrong, f) => format!("{f} must be a string"),
        })
    }
}

/// `POST /api/v1/create-payment`, as sent.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CreateRequest {
    amount: Text,
    customer_name: Text,
    customer_email: Text,
    merchant_ref: Text,
    /// Arbitrary JSON, kept and echoed verbatim.
    metadata: Option<Value>,
}

impl CreateRequest {
    /// The amount in rupees: a number or a numeric string.
    fn amount(&self) -> Result<Money, Refusal> {
        let raw = self.amount.amount("amount")?;
        let inr = Currency::parse("INR").map_err(|e| bad(e.to_string()))?;
        let money = Money::parse(&raw, inr).map_err(|e| bad(format!("amount {e}")))?;
        if money.minor() <= 100 {
            // The payable amount starts one rupee below the requested one.
            return Err(bad("amount must be more than 1.00"));
        }
        Ok(money)
    }

    fn into_payment(self, key_id: String, session_secs: i64) -> Result<NewPayment, Refusal> {
        let money = self.amount()?;
        Ok(NewPayment {
            id: Some(session_id()),
            amount: money.to_string(),
            currency: money.currency().code().to_string(),
            reference: self.merchant_ref.string("merchant_ref")?,
            customer: Customer {
                name: self.customer_name.string("customer_name")?,
                email: self.customer_email.string("customer_email")?,
                phone: None,
            },
            methods: Some(vec!["upi".into()]),
            expires_in: Some(session_secs),
            source: SOURCE.into(),
            key_id: Some(key_id),
            dialect_data: Some(
                serde_json::to_string(&Extra {
                    metadata: self.metadata,
                })
                .unwrap_or_default(),
            ),
            ..NewPayment::default()
        })
    }
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    respond(
        async {
            let (scope, key) = authenticate(
                &state,
                header(&headers, "x-api-key"),
                Permission::PaymentsCreate,
            )
            .await?;
            let request: CreateRequest = match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(map)) => fields::read(map),
                Ok(_) => return Err(bad("The body must be a JSON object")),
                Err(e) => return Err(bad(format!("Invalid JSON body: {e}"))),
            };
            let input = request.into_payment(key.id.clone(), state.dialects.paygate_session_secs)?;
            let payment = state.payments.create(&scope, input).await.map_err(|e| {
                match e {
                    e if e.invalid_field() == Some(CreateField::Methods) => bad(
                        "UPI is not set up: set the merchant's UPI id first (hundi merchant set-upi)",
                    ),
                    other => other.into(),
                }
            })?;
            Ok(Json(json!({"success": true, "payment": session(&state, &payment)})).into_response())
        }
        .await,
    )
}

/// 16 uppercase hex digits, as PayGate's session ids.
fn session_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode_upper(bytes)
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(
        async {
            let scope = auth(&state, &headers, Permission::PaymentsRead).await?;
            let payment = state.payments.get(&scope, &id).await?;
            Ok(
                Json(json!({"success": true, "payment": session(&state, &payment)}))
                    .into_response(),
            )
        }
        .await,
    )
}

#[derive(serde::Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    respond(
        async {
            let scope = auth(&state, &headers, Permission::PaymentsRead).await?;
            let status = match q.status.as_deref().map(str::trim) {
                None | Some("") => None,
                Some("pending") => Some(PaymentStatus::Pending),
                Some("success") => Some(PaymentStatus::Succeeded),
                Some("expired") => Some(PaymentStatus::Expired),
                Some("cancelled") => Some(PaymentStatus::Canceled),
                Some(other) => {
                    return Err(bad(format!(
                        "status must be pending, success, expired or cancelled, not '{other}'"
                    )))
                }
            };
            let limit = match q.limit.as_deref().map(str::trim) {
                None | Some("") => 50,
                Some(l) => l
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=100).contains(l))
                    .ok_or_else(|| bad("limit must be a number from 1 to 100"))?,
            };
            let filter = PaymentFilter {
                status,
                source: Some(SOURCE.into()),
                limit,
                ..PaymentFilter::default()
            };
            let payments = state.payments.list(&scope, &filter).await?;
            let sessions: Vec<Value> = payments.iter().map(|p| session(&state, p)).collect();
            Ok(
                Json(json!({"success": true, "count": sessions.len(), "payments": sessions}))
                    .into_response(),
            )
        }
        .await,
    )
}

async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Path(id): Path<String>,
) -> Response {
    respond(
        async {
            let (scope, key) = authenticate(
                &state,
                header(&headers, "x-api-key"),
                Permission::PaymentsWrite,
            )
            .await?;
            let origin = state.origin(&headers, &extensions);
            let payment = state
                .payments
                .cancel(&Acting::key(&key.id, &scope, origin), &id)
                .await
                .map_err(|e| match e {
                    ServiceError::InvalidState { .. } => {
                        bad("Only a pending session can be cancelled")
                    }
                    other => other.into(),
                })?;
            Ok(
                Json(json!({"success": true, "payment": session(&state, &payment)}))
                    .into_response(),
            )
        }
        .await,
    )
}

/// The webhook for a payment event, or `None` when PayGate sends none for it. The body is
/// written the way `JSON.stringify` writes it, because the document's verifier re-serializes
/// the parsed body before checking the signature.
pub fn webhook(
    event_type: &str,
    p: &Payment,
    secret: &str,
) -> Option<(String, Vec<(String, String)>)> {
    let event = match event_type {
        "payment.succeeded" => "payment.success",
        "payment.expired" => "payment.expired",
        _ => return None,
    };
    let mut body = Map::new();
    body.insert("event".into(), json!(event));
    body.insert("session_id".into(), json!(p.id));
    body.insert("requested_amount".into(), money_number(&p.amount));
    body.insert("payable_amount".into(), payable_amount(p));
    body.insert(
        "status".into(),
        json!(if event == "payment.success" {
            "success"
        } else {
            "expired"
        }),
    );
    body.insert("customer_name".into(), json!(p.customer.name));
    body.insert("merchant_ref".into(), json!(p.reference));
    body.insert("utr".into(), json!(utr(p)));
    body.insert("metadata".into(), extra(p).metadata.unwrap_or(Value::Null));
    body.insert(
        "timestamp".into(),
        json!(crate::service::objects::rfc3339(p.updated_at)),
    );
    let body = js_json::stringify(&Value::Object(body));
    let signature = super::signing::hmac_sha256_hex(secret.as_bytes(), body.as_bytes());
    Some((
        body,
        vec![
            ("X-Webhook-Signature".into(), signature),
            ("X-Webhook-Event".into(), event.into()),
        ],
    ))
}
