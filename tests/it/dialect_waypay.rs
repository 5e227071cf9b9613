//! The Waypay dialect: its document's cURL example (with a correct MD5 signature) and its
//! Express webhook handler run as written; every validation rule, listed at once; orderRef
//! unique even under concurrent requests; the webhook's shape, signature and retries until
//! 200. On both backends.

use crate::common::clients::{self, ClientServer};
use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp};
use md5::Digest;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The app, with a Waypay signing secret for the shop's test mode.
async fn waypay_shop(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let secret = app.credential("waypay").await.secret;
    (app, secret)
}

/// Signs a body the way the document's guide does (objects left out, raw number tokens).
fn signed(mut body: Value, secret: &str) -> String {
    let unsigned = body.to_string();
    let signature = hundi::dialects::signing::waypay_signatures(&unsigned, secret)[0].clone();
    body["signature"] = json!(signature);
    body.to_string()
}

fn order(reference: &str) -> Value {
    json!({
        "amount": 1000,
        "currency": "PKR",
        "description": "Product Purchase",
        "orderRef": {"orderRef": reference, "discount": "10", "tax": "15"},
        "intentType": "checkout",
    })
}

async fn initiate(app: &TestApp, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/Gateway/v1/Payment/initiate-checkout", app.url))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(k) = key {
        req = req.header("SWICH-API-Key", k);
    }
    crate::common::read(req.send().await.unwrap()).await
}

/// The document's cURL example creates the checkout; the customer pays with JazzCash (the
/// only method `paymentMethod: 1` offers); the document's Express handler hears `Completed`.
async fn the_documented_curl_and_express_handler_work(backend: Backend) {
    let (app, secret) = waypay_shop(backend).await;
    let node = ClientServer::start("node/waypay_webhook.js", &[]);
    let callback = format!("{}/api/webhooks/payment", node.url);
    let printed = clients::run(
        "waypay_initiate.sh",
        &[
            ("WAYPAY_HOST", app.url.as_str()),
            ("WAYPAY_API_KEY", app.shop.test_key.as_str()),
            ("WAYPAY_SECRET", secret.as_str()),
            ("WAYPAY_CALLBACK_URL", callback.as_str()),
        ],
    );
    let created: Value = serde_json::from_str(&printed).unwrap_or_else(|_| panic!("{printed}"));
    crate::common::docs::assert_shape("waypay.initiate", &created);
    let id = created["paymentIntentId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let checkout = created["checkoutUrl"].as_str().unwrap();
    assert_eq!(checkout, format!("{}/pay/{id}", app.url));
    let expires = created["expiresAt"].as_str().unwrap();
    assert!(expires.ends_with('Z'), "{expires}");
    chrono::DateTime::parse_from_rfc3339(expires).unwrap();

    let page = app
        .http
        .get(checkout)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-method=\"jazzcash\""));
    assert!(!page.contains("data-method=\"card\""), "only JazzCash");
    crate::common::pay_by_wallet(&app, checkout, "jazzcash").await;
    assert_eq!(
        node.next_line(15).as_deref(),
        Some("Payment completed for order ORD123456")
    );

    // The transaction by its order reference, and the native view of the same payment.
    let (status, tx) = app
        .get_with_header(
            "/Gateway/v1/Transaction/by-ref/ORD123456",
            "SWICH-API-Key",
            &app.shop.test_key,
        )
        .await;
    assert_eq!(status, 200, "{tx}");
    crate::common::docs::assert_shape("waypay.transaction", &tx);
    assert_eq!(tx["status"], "Completed");
    assert_eq!(tx["transactionId"], id);
    assert_eq!(tx["amount"], json!(1000));
    let (_, native) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(native["source"], "waypay");
    assert_eq!(native["reference"], "ORD123456");
    assert_eq!(native["amount"], "1000.00");
}

/// The webhook: the document's shape, a `Waypay-Signature`, the same `id` on every retry,
/// retried until the answer is 200 (a 202 is not enough); without a callbackUrl it goes to
/// the API key's webhook URL.
async fn the_webhook_is_signed_and_retried_until_200(backend: Backend) {
    let (app, secret) = waypay_shop(backend).await;
    let hook = Receiver::start().await;
    hook.inbox.status.store(202, Ordering::Relaxed);
    let key_hook = Receiver::start().await;
    let key = app
        .plugin_key("waypay plugin", key_hook.url.clone())
        .await
        .secret;
    let mut body = order("Abcd12456");
    body["callbackUrl"] = json!(hook.url);
    body["customerRef"] =
        json!({"name": "Test User", "email": "test@example.com", "cnic": "3520108345678"});
    body["metadataJson"] = json!("{\"source\":\"mobile_app\"}");
    let (status, created) = initiate(&app, Some(&key), &signed(body, &secret)).await;
    assert_eq!(status, 200, "{created}");
    let id = created["paymentIntentId"].as_str().unwrap();
    app.post(&key, &format!("/v1/test/payments/{id}/succeed"), json!({}))
        .await;
    let got = hook.inbox.wait_for(2, 10).await;
    hook.inbox.status.store(200, Ordering::Relaxed);
    let got = {
        let n = got.len();
        hook.inbox.wait_for(n + 1, 10).await
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let all = hook.inbox.all();
    assert_eq!(all.len(), got.len(), "nothing after the 200");
    let first = &all[0];
    assert_eq!(first.header("user-agent"), "Waypay-Webhook/1.0");
    assert_eq!(
        first.header("waypay-signature"),
        hundi::dialects::signing::hmac_sha256_hex(secret.as_bytes(), first.body.as_bytes())
    );
    for c in &all {
        assert_eq!(c.body, first.body, "every retry sends the same bytes");
    }
    let w = first.json();
    crate::common::docs::assert_shape("waypay.webhook", &w);
    assert_eq!(w["type"], "TransactionStatusChanged");
    assert_eq!(w["id"].as_str().unwrap().len(), 32);
    assert_eq!(w["livemode"], false);
    assert_eq!(w["api_version"], "v1");
    let data = &w["data"];
    assert_eq!(data["TransactionId"], id);
    assert_eq!(data["PreviousStatus"], "Pending");
    assert_eq!(data["CurrentStatus"], "Completed");
    assert_eq!(data["Amount"], json!(1000));
    assert_eq!(data["Currency"], "PKR");
    assert!(data["TransactionReference"]
        .as_str()
        .unwrap()
        .starts_with("WPAYTR"));
    let order_ref: Value = serde_json::from_str(data["OrderRef"].as_str().unwrap()).unwrap();
    assert_eq!(
        order_ref,
        json!({"OrderRef": "Abcd12456", "Discount": "10", "Tax": "15"})
    );
    let customer: Value = serde_json::from_str(data["CustomerRef"].as_str().unwrap()).unwrap();
    assert_eq!(customer["cnic"], "3520108345678");
    assert!(uuid::Uuid::parse_str(data["MerchantId"].as_str().unwrap()).is_ok());
    assert!(data["Timestamp"].as_str().unwrap().ends_with("+00:00"));
    // The callbackUrl took precedence: the key's URL heard nothing of this payment.
    assert_eq!(key_hook.inbox.count(), 0);

    // Without a callbackUrl the key's webhook URL gets the Waypay webhook: Expired this time.
    let (_, other) = initiate(&app, Some(&key), &signed(order("Abcd12457"), &secret)).await;
    let other_id = other["paymentIntentId"].as_str().unwrap();
    crate::common::set_expiry(
        &app.db.url,
        other_id,
        chrono::Utc::now() - chrono::Duration::seconds(1),
    )
    .await;
    let got = key_hook.inbox.wait_for(1, 10).await;
    let w = got[0].json();
    assert_eq!(w["data"]["TransactionId"], other_id);
    assert_eq!(w["data"]["CurrentStatus"], "Expired");
    crate::common::docs::assert_shape("waypay.webhook.data", &w["data"]);
    assert_eq!(got[0].header("user-agent"), "Waypay-Webhook/1.0");
}

/// Each documented rule and error shape; every broken rule listed at once.
async fn rules_and_error_shapes(backend: Backend) {
    let (app, secret) = waypay_shop(backend).await;
    let key = app.shop.test_key.clone();
    let ok_body = signed(order("ORDRULES1"), &secret);
    let refused = |(status, body): (u16, Value), want: u16, code: &str, says: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["code"], code, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "'{message}' should say '{says}'");
        assert!(body["details"].is_array(), "{body}");
    };
    refused(
        initiate(&app, None, &ok_body).await,
        401,
        "unauthorized",
        "SWICH-API-Key",
    );
    refused(
        initiate(&app, Some("pk_test_wrong"), &ok_body).await,
        401,
        "unauthorized",
        "invalid",
    );
    refused(
        initiate(&app, Some(&key), "{\"amount\":").await,
        400,
        "bad_request",
        "Malformed",
    );
    let mut missing = order("ORDRULES2");
    missing.as_object_mut().unwrap().remove("description");
    refused(
        initiate(&app, Some(&key), &signed(missing, &secret)).await,
        400,
        "bad_request",
        "description",
    );
    refused(
        initiate(&app, Some(&key), &order("ORDRULES3").to_string()).await,
        400,
        "bad_request",
        "signature",
    );
    refused(
        initiate(
            &app,
            Some(&key),
            &signed(order("ORDRULES4"), "wrong secret"),
        )
        .await,
        401,
        "unauthorized",
        "signature",
    );
    // A merchant with no Waypay secret is told how to create one.
    refused(
        initiate(&app, Some(&app.other.test_key), &ok_body).await,
        401,
        "unauthorized",
        "credential create waypay",
    );

    // Every rule broken at once: all listed, each naming its field.
    let mut bad = json!({
        "amount": 5,
        "currency": "PKR",
        "description": "Product-Purchase",
        "orderRef": {"orderRef": "TEST-ORD-XXXXX"},
        "customerRef": {"email": "not-an-email", "cnic": "352010834567"},
        "callbackUrl": "ftp://yoursite.com/cb",
        "paymentMethod": 3,
    });
    let (status, body) = initiate(&app, Some(&key), &signed(bad.clone(), &secret)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation_error");
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in [
        "amount",
        "description",
        "orderRef.orderRef",
        "customerRef.email",
        "customerRef.cnic",
        "callbackUrl",
        "paymentMethod",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let issue_of = |field: &str| {
        body["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["field"] == field)
            .unwrap()["issue"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(issue_of("orderRef.orderRef").contains("'-' is not allowed"));
    assert!(issue_of("amount").contains("greater than 10"));
    // Exactly 10 is not more than 10; 10.01 is.
    bad = order("ORDRULES5");
    bad["amount"] = json!(10);
    refused(
        initiate(&app, Some(&key), &signed(bad.clone(), &secret)).await,
        422,
        "validation_error",
        "greater than 10",
    );
    bad["amount"] = json!(10.01);
    let (status, _) = initiate(&app, Some(&key), &signed(bad, &secret)).await;
    assert_eq!(status, 200);
    // http callbacks are allowed in test mode only; over 2048 characters never.
    let mut long = order("ORDRULES6");
    long["callbackUrl"] = json!(format!("https://yoursite.com/{}", "a".repeat(2040)));
    refused(
        initiate(&app, Some(&key), &signed(long, &secret)).await,
        422,
        "validation_error",
        "2048",
    );

    // The signature variants real clients produce are accepted: `orderref` included as JSON,
    // and `1000.00` printed as 1000, 1000.0 or 1000.00.
    let mut decimal = order("ORDRULES7");
    let raw = decimal
        .to_string()
        .replace("\"amount\":1000", "\"amount\":1000.00");
    for (n, form) in ["1000", "1000.0", "1000.00"].iter().enumerate() {
        let reference = format!("ORDSIGFORM{n}");
        let raw = raw.replace("ORDRULES7", &reference);
        let canonical = format!(
            "amount={form}&currency=PKR&description=Product Purchase&intenttype=checkout{secret}"
        );
        let sig = format!("{:x}", md5::Md5::digest(canonical.as_bytes()));
        let body = raw.replacen('{', &format!("{{\"signature\":\"{sig}\","), 1);
        let (status, res) = initiate(&app, Some(&key), &body).await;
        assert_eq!(status, 200, "{form}: {res}");
    }
    decimal["orderRef"]["orderRef"] = json!("ORDWITHREF");
    let unsigned = decimal.to_string();
    let with_ref = hundi::dialects::signing::waypay_signatures(&unsigned, &secret);
    let canonical = format!(
        "amount=1000&currency=PKR&description=Product Purchase&intenttype=checkout&orderref={}{secret}",
        hundi::dialects::js_json::stringify(&decimal["orderRef"])
    );
    let sig = format!("{:x}", md5::Md5::digest(canonical.as_bytes()));
    assert!(with_ref.contains(&sig));
    decimal["signature"] = json!(sig);
    let (status, res) = initiate(&app, Some(&key), &decimal.to_string()).await;
    assert_eq!(status, 200, "{res}");

    // The same orderRef twice: refused, naming it.
    let (status, _) = initiate(&app, Some(&key), &ok_body).await;
    assert_eq!(status, 200);
    refused(
        initiate(&app, Some(&key), &ok_body).await,
        422,
        "validation_error",
        "ORDRULES1",
    );
    // Unknown transaction reference: 404 in the same shape.
    let (status, body) = app
        .get_with_header(
            "/Gateway/v1/Transaction/by-ref/NOPE1",
            "SWICH-API-Key",
            &key,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "not_found");
}

/// Twelve requests with one orderRef at the same moment: exactly one checkout.
async fn order_ref_is_unique_under_concurrency(backend: Backend) {
    let (app, secret) = waypay_shop(backend).await;
    let body = signed(order("RACE1"), &secret);
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move {
                initiate(&app, Some(&app.shop.test_key.clone()), &body)
                    .await
                    .0
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 422).count(), 11, "{codes:?}");
    let (_, list) = app
        .get(&app.shop.test_key, "/v1/payments?reference=RACE1&limit=100")
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

on_both_backends!(
    the_documented_curl_and_express_handler_work,
    the_webhook_is_signed_and_retried_until_200,
    rules_and_error_shapes,
    order_ref_is_unique_under_concurrency,
);
