//! The XPay dialect: its document's cURL example, signed by its Node.js signature code, creates
//! a checkout link; the customer pays; a receiver that re-serializes the body verifies the
//! webhook. PHP-escaped bodies verify; each rule and error shape. On both backends.

use crate::common::clients::{self, ClientServer};
use crate::common::{Backend, TestApp};
use hundi::dialects::signing::hmac_sha256_hex;
use serde_json::{json, Value};

struct Xpay {
    app: TestApp,
    account: String,
    hmac: String,
    webhook_secret: String,
}

async fn xpay_shop(backend: Backend) -> Xpay {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let hmac = app.credential("xpay_hmac").await;
    let webhook = app.credential("xpay_webhook").await;
    Xpay {
        account: hmac.public_id.unwrap(),
        hmac: hmac.secret,
        webhook_secret: webhook.secret,
        app,
    }
}

async fn post(
    x: &Xpay,
    key: &str,
    account: &str,
    signature: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut req = x
        .app
        .http
        .post(format!("{}/public/v1/payment/checkout", x.app.url))
        .header("x-api-key", key)
        .header("x-account-id", account)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(s) = signature {
        req = req.header("x-signature", s);
    }
    crate::common::read(req.send().await.unwrap()).await
}

async fn details(x: &Xpay, key: &str, account: &str, id: &str) -> (u16, Value) {
    let res = x
        .app
        .http
        .get(format!(
            "{}/public/v1/payment/intent/details/{id}",
            x.app.url
        ))
        .header("x-api-key", key)
        .header("x-account-id", account)
        .send()
        .await
        .unwrap();
    crate::common::read(res).await
}

fn hex64(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// The document's cURL and signature code, through a card payment to a verified webhook.
async fn the_documented_curl_and_signature_code_work(backend: Backend) {
    let x = xpay_shop(backend).await;
    let app = &x.app;
    let node = ClientServer::start(
        "node/xpay_webhook.js",
        &[("XPAY_WEBHOOK_SECRET", x.webhook_secret.as_str())],
    );
    let key = app
        .plugin_key("woocommerce", format!("{}/xpay/webhook", node.url))
        .await
        .secret;
    let printed = clients::run(
        "xpay_checkout.sh",
        &[
            ("XPAY_HOST", app.url.as_str()),
            ("XPAY_API_KEY", key.as_str()),
            ("XPAY_ACCOUNT_ID", x.account.as_str()),
            ("XPAY_HMAC_SECRET", x.hmac.as_str()),
            ("XPAY_ORDER_REFERENCE", "checkout-pl-02"),
            ("XPAY_SUCCESS_URL", "https://shop.example/thanks"),
            ("XPAY_FAILURE_URL", "https://shop.example/failed"),
        ],
    );
    let res: Value = serde_json::from_str(&printed).unwrap_or_else(|_| panic!("{printed}"));
    assert_eq!(res["success"], true, "{res}");
    crate::common::docs::assert_shape("xpay.response", &res);
    crate::common::docs::assert_shape("xpay.intent", &res["data"]);
    assert_eq!(res["responseStatus"], "OK");
    assert_eq!(res["message"], "Request processed successfully.");
    let data = &res["data"];
    let id = data["_id"].as_str().unwrap();
    assert!(hex64(id.strip_prefix("xpay_pi_").unwrap()), "{id}");
    let client_secret = data["pi_client_secret"].as_str().unwrap();
    assert!(hex64(
        client_secret
            .strip_prefix(&format!("{id}_cs_"))
            .unwrap_or_else(|| panic!("{client_secret}"))
    ));
    assert_eq!(data["amount"], json!(5));
    assert_eq!(data["currency"], "PKR");
    assert_eq!(data["object_name"], "payment_intent");
    assert_eq!(data["pi_status"], "requires_payment_method");
    assert_eq!(data["capture_method"], "automatic");
    assert_eq!(
        data["refund"],
        json!({"refunded_amount": 0, "refund_object_id": null})
    );
    assert_eq!(data["customer"]["name"], "user");
    assert_eq!(data["customer"]["phone"], "03415682456");
    assert_eq!(data["shipping"]["city"], "Lahore");
    assert_eq!(data["shipping"]["address2"], "");
    assert_eq!(data["metadata"]["order_reference"], "checkout-pl-02");
    assert!(data.as_object().unwrap().contains_key("encryptionKey"));
    assert_eq!(data["encryptionKey"], Value::Null);
    let checkout = data["checkout_page_url"].as_str().unwrap();
    assert_eq!(checkout, format!("{}/pay/{id}", app.url));

    // The checkout offers what payment_methods asked for.
    let page = app
        .http
        .get(checkout)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-method=\"card\""));
    assert!(page.contains("data-method=\"jazzcash\""));
    assert!(!page.contains("data-method=\"easypaisa\""));
    assert_eq!(
        crate::common::pay_by_card(app, checkout)
            .await
            .status()
            .as_u16(),
        303
    );

    let line = node.next_line(15).expect("the receiver verified a webhook");
    let w: Value = serde_json::from_str(&line).unwrap();
    crate::common::docs::assert_shape("xpay.webhook", &w);
    assert_eq!(w["type"], "PAYMENT_INTENT_NOTIFICATION");
    assert_eq!(w["payment_intent_id"], id);
    assert_eq!(w["status"], "succeeded");
    assert_eq!(w["amount"], json!(5));
    assert_eq!(w["currency"], "PKR");
    assert_eq!(w["order_reference"], "checkout-pl-02");
    assert!(w["transaction_details"]["_id"].is_string());

    let (status, shown) = details(&x, &key, &x.account, id).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["data"]["pi_status"], "succeeded");
    let (_, native) = app.get(&key, &format!("/v1/payments/{id}")).await;
    assert_eq!(native["source"], "xpay");
    assert_eq!(native["reference"], "checkout-pl-02");
}

/// The WooCommerce plugin signs the unescaped JSON but sends PHP's escaped form: the
/// canonical form verifies, and so does a signature over the raw body. A string amount and an
/// integer order reference are accepted.
async fn php_escaped_bodies_verify(backend: Backend) {
    let x = xpay_shop(backend).await;
    let key = x.app.shop.test_key.clone();
    let raw = r#"{"amount":"150.00","currency":"PKR","customer":{"name":"Zo\u00eb","email":"z@example.com"},"shipping":{"address1":"12\/B Gulberg"},"metadata":{"order_reference":1042},"payment_method_types":["card"],"success_url":"https:\/\/shop.example\/ok"}"#;
    let canonical = hundi::dialects::js_json::canonicalize(raw).unwrap();
    assert!(canonical.contains("Zoë") && canonical.contains("12/B"));
    for signed_over in [canonical.as_str(), raw] {
        let sig = hmac_sha256_hex(x.hmac.as_bytes(), signed_over.as_bytes());
        let (status, res) = post(&x, &key, &x.account, Some(&sig), raw).await;
        assert_eq!(status, 200, "{res}");
        let data = &res["data"];
        assert_eq!(data["amount"], json!(150));
        assert_eq!(data["customer"]["name"], "Zoë");
        assert_eq!(data["shipping"]["address1"], "12/B Gulberg");
        assert_eq!(data["metadata"]["order_reference"], json!(1042));
        let (_, native) = x
            .app
            .get(
                &key,
                &format!("/v1/payments/{}", data["_id"].as_str().unwrap()),
            )
            .await;
        assert_eq!(native["reference"], "1042");
        assert_eq!(native["success_url"], "https://shop.example/ok");
    }
}

/// Each rule and error shape.
async fn rules_and_error_shapes(backend: Backend) {
    let x = xpay_shop(backend).await;
    let key = x.app.shop.test_key.clone();
    let body = r#"{"amount": 10, "currency": "PKR"}"#;
    let sig = |b: &str| hmac_sha256_hex(x.hmac.as_bytes(), b.as_bytes());
    let refused = |(status, res): (u16, Value), want: u16, says: &str| {
        assert_eq!(status, want, "{res}");
        assert_eq!(res["success"], false, "{res}");
        let message = res["message"].as_str().unwrap();
        assert!(message.contains(says), "'{message}' should say '{says}'");
    };
    refused(
        post(&x, "nope", &x.account, Some(&sig(body)), body).await,
        401,
        "x-api-key",
    );
    refused(
        post(&x, &key, "000000000000000000000000", Some(&sig(body)), body).await,
        401,
        "x-account-id",
    );
    refused(
        post(&x, &key, &x.account, None, body).await,
        401,
        "x-signature",
    );
    refused(
        post(
            &x,
            &key,
            &x.account,
            Some(&hmac_sha256_hex(b"other", body.as_bytes())),
            body,
        )
        .await,
        401,
        "x-signature",
    );
    // A merchant without an XPay account is told how to set one up.
    refused(
        post(
            &x,
            &x.app.other.test_key,
            &x.account,
            Some(&sig(body)),
            body,
        )
        .await,
        401,
        "credential create xpay_hmac",
    );
    for (bad, says) in [
        (r#"{"currency":"PKR"}"#, "amount is required"),
        (r#"{"amount":"abc","currency":"PKR"}"#, "amount"),
        (r#"{"amount":10,"currency":"ZZZ"}"#, "currency"),
        (
            r#"{"amount":10,"payment_methods":["bitcoin"]}"#,
            "unknown method 'bitcoin'",
        ),
        (
            r#"{"amount":10,"payment_methods":["dqr"]}"#,
            "none of these methods",
        ),
        (
            r#"{"amount":10,"customer":{"email":"nope"}}"#,
            "customer.email",
        ),
        (r#"{"amount":10,"success_url":"not a url"}"#, "success_url"),
        (r#"{"amount":10,"#, "Invalid JSON"),
    ] {
        refused(
            post(&x, &key, &x.account, Some(&sig(bad)), bad).await,
            400,
            says,
        );
    }
    // The document's trailing comma is tolerated.
    let trailing = r#"{"amount": 10, "currency": "PKR", "metadata": {"order_reference": "x1",},}"#;
    let (status, res) = post(&x, &key, &x.account, Some(&sig(trailing)), trailing).await;
    assert_eq!(status, 200, "{res}");
    let id = res["data"]["_id"].as_str().unwrap().to_string();
    // GETs carry no signature; the account id must still match.
    let (status, _) = details(&x, &key, &x.account, &id).await;
    assert_eq!(status, 200);
    refused(
        details(&x, &key, "000000000000000000000000", &id).await,
        401,
        "x-account-id",
    );
    refused(
        details(&x, &key, &x.account, "xpay_pi_nope").await,
        404,
        "not found",
    );
    // The embedded flow's intent endpoint answers the same shape.
    let res = x
        .app
        .http
        .post(format!("{}/public/v1/payment/intent", x.app.url))
        .header("x-api-key", &key)
        .header("x-account-id", &x.account)
        .header("x-signature", sig(body))
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, res) = crate::common::read(res).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["data"]["object_name"], "payment_intent");
}

on_both_backends!(
    the_documented_curl_and_signature_code_work,
    php_escaped_bodies_verify,
    rules_and_error_shapes,
);
