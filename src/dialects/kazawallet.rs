//! Kazawallet (its wire protocol: docs/dialects.md): `POST /wallet/createPaymentLink` with `x-api-key`, answered with
//! HTTP 200 exactly (the real WHMCS module treats 201 as a failure). The link id is the Hundi
//! payment id (`pay_…`: only `[a-z0-9_]`, so receivers that strip other characters keep it).
//!
//! Its webhook goes once per link, when the link ends, to the API key's webhook URL:
//! `fulfilled` or `timed_out`, with `secret` = base64(HMAC-SHA512(API secret, SHA-256 of
//! `amount:::order_id:::api_key`)). "Only one time": retried on network errors and 5xx only.

use super::fields::{self, FieldError, Problem, Text};
use super::{authenticate, header, js_json, KeyRefusal};
use crate::domain::credential::names;
use crate::domain::key::Permission;
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment};
use crate::domain::source::CredentialKind;
use crate::http::AppState;
use crate::service::{CreateField, NewPayment, ServiceError};
use crate::webhooks::{Acceptance, Rendered};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub const SOURCE: &str = "kazawallet";

/// The API secret behind the webhook's `secret` field.
pub const CREDENTIAL: CredentialKind = CredentialKind {
    name: "kazawallet",
    label: "Kazawallet API secret",
    secret_prefix: "kzw_sec_",
    public_id: false,
};

pub struct Kazawallet;

#[async_trait::async_trait]
impl super::Dialect for Kazawallet {
    fn name(&self) -> &'static str {
        SOURCE
    }
    fn label(&self) -> &'static str {
        "Kazawallet"
    }
    fn router(&self) -> Router<AppState> {
        router()
    }
    fn refuse(&self) -> crate::api::extract::Refuse {
        refuse
    }
    fn status_name(&self, s: crate::domain::payment::PaymentStatus) -> Option<&'static str> {
        status(s)
    }
    fn redirect_id_params(&self) -> &'static [&'static str] {
        &["order_id"]
    }
    fn credentials(&self) -> &'static [CredentialKind] {
        &[CREDENTIAL]
    }
    async fn webhook(&self, d: &super::Delivery<'_>) -> Result<Rendered, String> {
        if link_status(&d.job.event_type).is_none() {
            return Ok(d.skip(SOURCE));
        }
        let key_id = d.payment.key_id.clone().unwrap_or_default();
        let api_key = d
            .secret(&names::api_key(&key_id))
            .await?
            .ok_or("the API key that created the link is not on record")?;
        let api_secret = d
            .secret(CREDENTIAL.name)
            .await?
            .ok_or("create the merchant's kazawallet credential (its API secret)")?;
        let body = webhook(&d.job.event_type, d.payment, &api_key, &api_secret).unwrap_or_default();
        Ok(Rendered::Dialect {
            body,
            headers: Vec::new(),
            accept: Acceptance::FinalOn4xx,
        })
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/wallet/createPaymentLink", post(create))
}

/// `{"success":false,"error":{"message","details":{"key","field"}}}`; `key` is a stable code.
pub struct Refusal {
    status: StatusCode,
    message: String,
    key: &'static str,
    field: Option<&'static str>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut details = Map::new();
        details.insert("key".into(), json!(self.key));
        if let Some(f) = self.field {
            details.insert("field".into(), json!(f));
        }
        (
            self.status,
            Json(json!({"success": false, "error": {"message": self.message, "details": details}})),
        )
            .into_response()
    }
}

/// This dialect's error shape for a status and a message (see `api::extract::with_small_body_limit`).
pub fn refuse(status: StatusCode, message: String) -> Response {
    let key = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        _ => "BAD_REQUEST",
    };
    Refusal {
        status,
        message,
        key,
        field: None,
    }
    .into_response()
}

fn invalid(key: &'static str, field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
        key,
        field: Some(field),
    }
}

impl From<KeyRefusal> for Refusal {
    fn from(r: KeyRefusal) -> Refusal {
        let key = match r {
            KeyRefusal::Unavailable(_) => "SERVICE_UNAVAILABLE",
            KeyRefusal::Lacks(_) => "FORBIDDEN",
            KeyRefusal::Throttled(_) => "TOO_MANY_REQUESTS",
            _ => "USER_NOT_FOUND",
        };
        Refusal {
            status: r.status(),
            message: r.message("x-api-key"),
            key,
            field: None,
        }
    }
}

fn internal(e: impl super::Failure) -> Refusal {
    tracing::error!(error = %e, "kazawallet request failed");
    Refusal {
        status: e.status(),
        message: "Something went wrong; try again".into(),
        key: "INTERNAL_ERROR",
        field: None,
    }
}

/// What Kazawallet echoes in its webhook: the amount exactly as sent, and `ref`.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Extra {
    amount: Value,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

/// The stable code of a field's refusals.
fn code(field: &str) -> &'static str {
    match field {
        "amount" => "INVALID_AMOUNT",
        "currency" => "INVALID_CURRENCY",
        "email" => "INVALID_EMAIL",
        "ref" => "INVALID_REF",
        "redirectUrl" => "INVALID_REDIRECT_URL",
        _ => "INVALID_REQUEST",
    }
}

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Refusal {
        let message = match (e.problem, e.field) {
            (Problem::Missing, f) => format!("{f} is required"),
            (Problem::Wrong, "amount") => "amount must be a number or a numeric string".into(),
            (Problem::Wrong, f) => format!("{f} must be a string"),
        };
        invalid(code(e.field), e.field, message)
    }
}

fn required(
    field: Result<Option<String>, FieldError>,
    name: &'static str,
) -> Result<String, FieldError> {
    field?.ok_or(FieldError {
        field: name,
        problem: Problem::Missing,
    })
}

/// `POST /wallet/createPaymentLink`, as sent.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CreateRequest {
    amount: Text,
    currency: Text,
    email: Text,
    #[serde(rename = "ref")]
    reference: Text,
    #[serde(rename = "redirectUrl")]
    redirect_url: Text,
}

impl CreateRequest {
    fn into_payment(self, key_id: String) -> Result<NewPayment, Refusal> {
        let amount_text = self.amount.amount("amount")?;
        let currency_code = required(self.currency.string("currency"), "currency")?;
        let currency = Currency::parse(&currency_code.to_ascii_uppercase())
            .map_err(|e| invalid("INVALID_CURRENCY", "currency", e.to_string()))?;
        let money = Money::parse(&amount_text, currency)
            .map_err(|e| invalid("INVALID_AMOUNT", "amount", format!("amount {e}")))?;
        let email = required(self.email.string("email"), "email")?;
        // A reference is often a number (a user id); take it as its text.
        let reference = self.reference.string_or_number("ref")?;
        let redirect = self.redirect_url.string("redirectUrl")?;
        let extra = Extra {
            amount: match &self.amount {
                Text::Str(_) => Value::String(amount_text),
                other => other.to_value(),
            },
            reference: reference.clone(),
        };
        Ok(NewPayment {
            amount: money.to_string(),
            currency: money.currency().code().to_string(),
            reference,
            customer: Customer {
                email: Some(email),
                ..Customer::default()
            },
            success_url: redirect.clone(),
            cancel_url: redirect,
            source: SOURCE.into(),
            key_id: Some(key_id),
            dialect_data: Some(serde_json::to_string(&extra).unwrap_or_default()),
            ..NewPayment::default()
        })
    }
}

fn refusal_of(e: ServiceError) -> Refusal {
    match e {
        ServiceError::Invalid { param, message } => match CreateField::of(&param) {
            Some(CreateField::CustomerEmail) => {
                invalid("INVALID_EMAIL", "email", format!("email {message}"))
            }
            Some(CreateField::SuccessUrl | CreateField::CancelUrl) => invalid(
                "INVALID_REDIRECT_URL",
                "redirectUrl",
                format!("redirectUrl {message}"),
            ),
            Some(CreateField::Reference) => invalid("INVALID_REF", "ref", format!("ref {message}")),
            Some(CreateField::Amount) => {
                invalid("INVALID_AMOUNT", "amount", format!("amount {message}"))
            }
            _ => invalid("INVALID_REQUEST", "body", format!("{param} {message}")),
        },
        e @ ServiceError::PayableAmountsExhausted { .. } => Refusal {
            status: StatusCode::CONFLICT,
            message: e.to_string(),
            key: "PAYABLE_AMOUNTS_EXHAUSTED",
            field: Some("amount"),
        },
        other => internal(other),
    }
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let presented = header(&headers, "x-api-key");
        let (scope, key) = authenticate(&state, presented, Permission::PaymentsCreate).await?;
        let request: CreateRequest = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => fields::read(map),
            _ => {
                return Err(Refusal {
                    status: StatusCode::BAD_REQUEST,
                    message: "The request body must be a JSON object".into(),
                    key: "INVALID_BODY",
                    field: None,
                })
            }
        };
        let input = request.into_payment(key.id.clone())?;
        // The webhook's `secret` is computed with the API key itself.
        if let Some(k) = presented {
            state
                .credentials
                .remember_api_key(&scope, &key.id, k)
                .await
                .map_err(internal)?;
        }
        let payment = state
            .payments
            .create(&scope, input)
            .await
            .map_err(refusal_of)?;
        let url = format!("{}/pay/{}", state.payments.public_url(), payment.id);
        // 200, never 201: the real WHMCS module takes anything else as a failure.
        Ok(
            Json(json!({"success": true, "id": payment.id, "url": url, "paymentLink": url}))
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|r: Refusal| r.into_response())
}

/// The status a link's webhook reports for a payment in each status; `None` while it lives.
pub fn status(s: crate::domain::payment::PaymentStatus) -> Option<&'static str> {
    use crate::domain::payment::PaymentStatus;
    match s {
        PaymentStatus::Pending => None,
        s if s.is_paid() => Some("fulfilled"),
        _ => Some("timed_out"),
    }
}

/// How an event ends a link: paid (`fulfilled`) or not (`timed_out`); `None` while it lives.
pub fn link_status(event_type: &str) -> Option<&'static str> {
    match event_type {
        "payment.succeeded" => Some("fulfilled"),
        "payment.expired" | "payment.canceled" | "payment.failed" => Some("timed_out"),
        _ => None,
    }
}

/// The one webhook of a link, when it ends; `None` for events that do not end it.
/// `api_key` and `api_secret` are the merchant's credentials the `secret` field is made of.
pub fn webhook(event_type: &str, p: &Payment, api_key: &str, api_secret: &str) -> Option<String> {
    let status = link_status(event_type)?;
    let extra: Extra = p
        .dialect_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    // The text the receiver's code hashes: the amount as its JSON decoder gives it back.
    let amount_text = match &extra.amount {
        Value::String(s) => s.clone(),
        Value::Number(n) => js_json::js_number(n),
        _ => p.amount.to_string(),
    };
    let amount = match extra.amount {
        Value::Number(n) => Value::Number(n),
        _ => Value::String(amount_text.clone()),
    };
    let secret = super::signing::kazawallet_secret(&amount_text, &p.id, api_key, api_secret);
    let mut body = Map::new();
    body.insert("order_id".into(), json!(p.id));
    body.insert("id".into(), json!(p.id));
    body.insert("secret".into(), json!(secret));
    body.insert("amount".into(), amount);
    body.insert("ref".into(), json!(extra.reference));
    body.insert("status".into(), json!(status));
    body.insert("currency".into(), json!(p.currency().code()));
    Some(js_json::stringify(&Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payment::PaymentStatus;

    fn link(amount: Value) -> Payment {
        let now = chrono::Utc::now();
        Payment {
            id: "lnk_8Yq2xZ".into(),
            merchant_id: "mer_1".into(),
            livemode: false,
            key_id: None,
            source: SOURCE.into(),
            status: PaymentStatus::Succeeded,
            amount: Money::parse("150.00", Currency::parse("USD").unwrap()).unwrap(),
            refunded_minor: 0,
            description: None,
            reference: Some("user-42".into()),
            customer: Customer::default(),
            metadata: Default::default(),
            success_url: None,
            cancel_url: None,
            methods: vec!["card".into()],
            transfer: None,
            paid_with: None,
            method_reference: None,
            attempt_count: 0,
            dialect_data: Some(
                serde_json::to_string(&Extra {
                    amount,
                    reference: Some("user-42".into()),
                })
                .unwrap(),
            ),
            locale: None,
            created_at: now,
            expires_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_webhook_carries_the_documented_secret_and_the_amount_as_sent() {
        let body = webhook(
            "payment.succeeded",
            &link(json!("150.00")),
            "kw_test_key_123",
            "kw_test_secret_456",
        )
        .unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        // The gateway's published vector, "Kazawallet webhook secret".
        assert_eq!(
            v["secret"],
            "7dqBhQBXX5kpvlDxwyhmG2YhX+6jRtVdkmMESUoTnTrr1WQp35YLPUx6utxOxicWX9CeGn+y+P0WB5OlrsAmtw=="
        );
        assert_eq!(v["amount"], "150.00");
        assert_eq!(v["order_id"], "lnk_8Yq2xZ");
        assert_eq!(v["id"], "lnk_8Yq2xZ");
        assert_eq!(v["status"], "fulfilled");
        assert_eq!(v["ref"], "user-42");
        assert_eq!(v["currency"], "USD");
        // A number stays a number, in its shortest form.
        let body = webhook("payment.expired", &link(json!(150.5)), "k", "s").unwrap();
        assert!(body.contains(r#""amount":150.5,"#), "{body}");
        assert!(body.contains(r#""status":"timed_out""#), "{body}");
        assert!(webhook("payment.created", &link(json!(1)), "k", "s").is_none());
    }
}
