//! A sixth dialect, defined here and never shipped, added the way docs/dialects.md's "Adding
//! a dialect" says: one module implementing `hundi::dialects::Dialect`, one line in the
//! registry (here the test's own `Registry::with`). Its route creates payments, its webhook
//! goes out in its own format and signature, and the checkout sends the customer back with
//! its own redirect parameter, with no other file knowing it. On both backends.

use crate::common::{Backend, TestApp};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hundi::config::Config;
use hundi::dialects::fields::{self, Text};
use hundi::dialects::{authenticate, header, Delivery, Dialect};
use hundi::domain::key::Permission;
use hundi::domain::payment::PaymentStatus;
use hundi::domain::source::CredentialKind;
use hundi::http::AppState;
use hundi::service::{Callback, NewPayment};
use hundi::webhooks::{Acceptance, Rendered};
use serde_json::{json, Value};

const NAME: &str = "echopay";

/// Signs Echo Pay's webhooks.
const WEBHOOK_SECRET: CredentialKind = CredentialKind {
    name: "echopay_webhook",
    label: "Echo Pay webhook secret",
    secret_prefix: "echo_",
    public_id: false,
};

/// Echo Pay: `POST /echo/v1/charges` with an `echo-key` header; `{"ok":false,"error"}`
/// errors; a signed `charge.paid` webhook to the charge's `notify_url`; back to the shop
/// with `charge=<id>`.
struct EchoPay;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ChargeRequest {
    amount: Text,
    currency: Text,
    notify_url: Text,
    return_url: Text,
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"ok": false, "error": message}))).into_response()
}

async fn charge(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let presented = header(&headers, "echo-key");
    let (scope, key) = match authenticate(&state, presented, Permission::PaymentsCreate).await {
        Ok(found) => found,
        Err(r) => return refuse(r.status(), r.message("echo-key")),
    };
    let request: ChargeRequest = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => fields::read(map),
        _ => return refuse(StatusCode::BAD_REQUEST, "a JSON object, please".into()),
    };
    let Ok(amount) = request.amount.amount("amount") else {
        return refuse(StatusCode::BAD_REQUEST, "amount is required".into());
    };
    let input = NewPayment {
        amount,
        currency: request.currency.lenient().unwrap_or_else(|| "USD".into()),
        success_url: request.return_url.lenient(),
        cancel_url: request.return_url.lenient(),
        source: NAME.into(),
        key_id: Some(key.id.clone()),
        callback: request.notify_url.lenient().map(|url| Callback {
            url,
            format: NAME.into(),
            events: vec!["payment.succeeded".into()],
        }),
        ..NewPayment::default()
    };
    match state.payments.create(&scope, input).await {
        Ok(p) => Json(
            json!({"ok": true, "charge": p.id, "pay_at": state.payments.object(&p).checkout_url}),
        )
        .into_response(),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[async_trait::async_trait]
impl Dialect for EchoPay {
    fn name(&self) -> &'static str {
        NAME
    }
    fn label(&self) -> &'static str {
        "Echo Pay"
    }
    fn router(&self) -> Router<AppState> {
        Router::new().route("/echo/v1/charges", post(charge))
    }
    fn refuse(&self) -> hundi::api::extract::Refuse {
        refuse
    }
    fn status_name(&self, s: PaymentStatus) -> Option<&'static str> {
        s.is_paid().then_some("paid")
    }
    fn redirect_id_params(&self) -> &'static [&'static str] {
        &["charge"]
    }
    fn credentials(&self) -> &'static [CredentialKind] {
        &[WEBHOOK_SECRET]
    }
    async fn webhook(&self, d: &Delivery<'_>) -> Result<Rendered, String> {
        if d.job.event_type != "payment.succeeded" {
            return Ok(d.skip(NAME));
        }
        let secret = d
            .secret(WEBHOOK_SECRET.name)
            .await?
            .ok_or("create the echopay_webhook credential")?;
        let body = json!({"type": "charge.paid", "charge": d.payment.id}).to_string();
        let signature =
            hundi::dialects::signing::hmac_sha256_hex(secret.as_bytes(), body.as_bytes());
        Ok(Rendered::Dialect {
            body,
            headers: vec![("Echo-Signature".into(), signature)],
            accept: Acceptance::Any2xx,
        })
    }
}

static ECHO_PAY: EchoPay = EchoPay;

async fn a_dialect_defined_outside_the_crate_works_end_to_end(backend: Backend) {
    let opts = Config {
        registry: hundi::dialects::registry().with(&ECHO_PAY),
        ..crate::common::fast_webhooks()
    };
    let app = TestApp::spawn_with(backend, opts).await;
    // Its credential is created like any dialect's.
    let secret = app.credential("echopay_webhook").await.secret;
    assert!(secret.starts_with("echo_"), "{secret}");
    let receiver = crate::common::receiver::Receiver::start().await;
    let post = |key: Option<&str>, body: String| {
        let mut req = app
            .http
            .post(format!("{}/echo/v1/charges", app.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = key {
            req = req.header("echo-key", k);
        }
        async move { crate::common::read(req.send().await.unwrap()).await }
    };
    // Its own errors: the key, and a body over the dialects' limit (refused before the
    // handler, in its shape).
    let (status, refused) = post(None, "{}".into()).await;
    assert_eq!((status, &refused["ok"]), (401, &json!(false)), "{refused}");
    assert_eq!(refused["error"], "echo-key header is required");
    let huge = format!(r#"{{"amount":"1.00","pad":"{}"}}"#, "x".repeat(70_000));
    let (status, refused) = post(Some(&app.shop.test_key), huge).await;
    assert_eq!((status, &refused["ok"]), (413, &json!(false)), "{refused}");

    let (status, created) = post(
        Some(&app.shop.test_key),
        json!({"amount": "12.50", "currency": "USD", "notify_url": receiver.url,
               "return_url": "https://shop.example/back"})
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["charge"].as_str().unwrap().to_string();
    // One payment, many views.
    let (_, native) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(native["source"], NAME);
    assert_eq!(native["amount"], "12.50");

    let pay_at = created["pay_at"].as_str().unwrap();
    assert_eq!(
        crate::common::pay_by_card(&app, pay_at)
            .await
            .status()
            .as_u16(),
        303
    );
    // Its webhook, in its format and signature.
    let got = receiver.inbox.wait_for(1, 15).await;
    assert_eq!(
        got[0].body,
        json!({"type": "charge.paid", "charge": id}).to_string()
    );
    assert_eq!(
        got[0].header("echo-signature"),
        hundi::dialects::signing::hmac_sha256_hex(secret.as_bytes(), got[0].body.as_bytes())
    );
    // Back to the shop with its own redirect parameter.
    let receipt = app
        .http
        .get(pay_at)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        receipt.contains(&format!("https://shop.example/back?charge={id}")),
        "{receipt}"
    );
}

on_both_backends!(a_dialect_defined_outside_the_crate_works_end_to_end);
