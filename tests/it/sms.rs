//! SMS forwarding: a phone posts each SMS to `/v1/credits/sms` with its device token, in the
//! JSON the Android forwarding apps send. Each wallet's received-money SMS pays a live
//! payment; tokens, replays and stale times are refused. On both backends.

use crate::common::{Backend, TestApp};
use chrono::{Duration, Utc};
use hundi::domain::wallet::Wallet;
use hundi::service::access::Acting;
use serde_json::{json, Value};

async fn live_shop(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    app.set_wallets(&[
        (Wallet::JazzCash, "03001234567"),
        (Wallet::Easypaisa, "03451234567"),
        (Wallet::Bkash, "01712345678"),
        (Wallet::Nagad, "01812345678"),
    ])
    .await;
    app
}

/// A new device's token, in live mode.
async fn device(app: &TestApp, name: &str) -> (String, String) {
    let payments = hundi::service::PaymentService::new(app.store.clone(), app.url.clone());
    let (device, token) = payments
        .create_sms_device(&Acting::cli(&app.shop.id, true), name)
        .await
        .expect("device");
    (device.id, token)
}

/// What "SMS to URL Forwarder" posts with its default template.
fn forwarded(from: &str, text: &str, received: chrono::DateTime<Utc>) -> Value {
    let ms = received.timestamp_millis();
    json!({"from": from, "text": text, "sentStamp": ms - 2000, "receivedStamp": ms, "sim": "sim1"})
}

async fn post_sms(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/v1/credits/sms", app.url))
        .json(body);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    crate::common::read(req.send().await.expect("request")).await
}

async fn live_payment(app: &TestApp, amount: &str, currency: &str) -> Value {
    let (status, p) = app
        .post(
            &app.shop.live_key,
            "/v1/payments",
            json!({"amount": amount, "currency": currency}),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    p
}

/// The received-money SMS each wallet sends, for `amount` with transaction id `id`.
fn received_sms(wallet: Wallet, amount: &str, id: &str) -> (&'static str, String) {
    match wallet {
        Wallet::Bkash => ("bKash", format!("You have received Tk {amount} from 01735814791. Fee Tk 0.00. Balance Tk 6,075.50. TrxID {id} at 30/12/2026 13:22")),
        Wallet::Nagad => ("NAGAD", format!("Money Received.\nAmount: Tk {amount}\nSender: 01632951891\nRef: N/A\nTxnID: {id}\nBalance: Tk 610.28\n24/06/2026 14:31")),
        Wallet::JazzCash => ("JazzCash", format!("You have received Rs {amount} from ALI KHAN 03001112223 on 12-Jan-26 at 10:15 PM. TID: {id}. Your new balance is Rs 3,250.00")),
        Wallet::Easypaisa => ("3737", format!("Dear Customer, you have received Rs. {amount} from Sara Ahmed. Trx ID {id}. Your Easypaisa account balance is Rs. 1,020.50")),
    }
}

async fn each_wallets_received_money_sms_pays_a_live_payment(backend: Backend) {
    let app = live_shop(backend).await;
    let (_, token) = device(&app, "Shop phone").await;
    for (wallet, id) in [
        (Wallet::JazzCash, "29876543210"),
        (Wallet::Easypaisa, "50568603579"),
        (Wallet::Bkash, "BLU1H6X87P"),
        (Wallet::Nagad, "75K92M3Z"),
    ] {
        let currency = wallet.currency_code();
        let p = live_payment(&app, "1,500.00".replace(',', "").as_str(), currency).await;
        assert!(
            p["methods"]
                .as_array()
                .unwrap()
                .contains(&json!(wallet.name())),
            "{p}"
        );
        let payable = p["payable_amount"].as_str().unwrap().to_string();
        let shown = format!("1,{}", &payable[1..]);
        let (from, text) = received_sms(wallet, &shown, id);
        let (status, r) = post_sms(&app, Some(&token), &forwarded(from, &text, Utc::now())).await;
        assert_eq!(status, 201, "{wallet:?}: {r}");
        assert_eq!(r["status"], "recorded");
        let credit = &r["recorded"]["credit"];
        assert_eq!(credit["method"], wallet.name());
        assert_eq!(credit["utr"], id);
        assert_eq!(credit["currency"], currency);
        let paid = &r["recorded"]["payment"];
        assert_eq!(paid["id"], p["id"], "{wallet:?}");
        assert_eq!(paid["status"], "succeeded");
        assert_eq!(paid["payment_method"]["type"], wallet.name());
        let events: Vec<Value> = app
            .events_of(&app.shop.live_key, credit["id"].as_str().unwrap())
            .await;
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["credit.received"], "matched: no credit.unmatched");
    }
}

async fn tokens_replays_and_stale_times_are_refused(backend: Backend) {
    let app = live_shop(backend).await;
    let (device_id, token) = device(&app, "Counter phone").await;
    let p = live_payment(&app, "500.00", "BDT").await;
    assert_eq!(p["payable_amount"], "499.00");
    let (from, text) = received_sms(Wallet::Bkash, "499.00", "CAK845MSGS");
    let body = forwarded(from, &text, Utc::now());

    // No token, a made-up one, an API key: 401, and nothing recorded.
    for t in [
        None,
        Some("hsd_made_up_token"),
        Some(app.shop.live_key.as_str()),
    ] {
        let (status, e) = post_sms(&app, t, &body).await;
        assert_eq!(status, 401, "{e}");
        assert_eq!(e["error"]["code"], "device_token_invalid");
    }
    // Received eleven minutes ago: stale, whatever the text says.
    let stale = forwarded(from, &text, Utc::now() - Duration::minutes(11));
    let (status, e) = post_sms(&app, Some(&token), &stale).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["code"], "stale_timestamp");

    let (status, r) = post_sms(&app, Some(&token), &body).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["recorded"]["payment"]["status"], "succeeded");
    // The same body again is a replay.
    let (status, e) = post_sms(&app, Some(&token), &body).await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "replayed");
    // The phone forwarding the same SMS later (another body, same TrxID): recorded once.
    let later = forwarded(from, &text, Utc::now() + Duration::seconds(3));
    let (status, r) = post_sms(&app, Some(&token), &later).await;
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("duplicate")),
        "{r}"
    );

    // An OTP is left alone; SmsForwarder's template (content, timestamp as a string) works.
    let otp = json!({"from": "bKash", "content": "Your bKash verification code is 123456.", "timestamp": Utc::now().timestamp_millis().to_string()});
    let (status, r) = post_sms(&app, Some(&token), &otp).await;
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("ignored")),
        "{r}"
    );

    // Money for no payment is kept, unmatched, and announced.
    let (from, text) = received_sms(Wallet::Nagad, "777.00", "75HKUOBF");
    let (status, r) = post_sms(&app, Some(&token), &forwarded(from, &text, Utc::now())).await;
    assert_eq!(status, 201, "{r}");
    let credit = &r["recorded"]["credit"];
    assert_eq!(credit["matched"], false);
    assert_eq!(r["recorded"]["payment"], Value::Null);
    let events = app
        .events_of(&app.shop.live_key, credit["id"].as_str().unwrap())
        .await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["credit.received", "credit.unmatched"]);
    assert_eq!(events[1]["data"]["object"]["amount"], "777.00");

    // A bank's UPI alert through the same phone records a rupee credit (unmatched here).
    let (from, text) = (
        "AD-SBIINB",
        "Dear Customer, Rs.1,499.00 credited to your A/c XX1234 on 14-04-26 by UPI Ref No 410512345678. -SBI",
    );
    let (status, r) = post_sms(&app, Some(&token), &forwarded(from, text, Utc::now())).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["recorded"]["credit"]["method"], "upi");
    assert_eq!(r["recorded"]["credit"]["currency"], "INR");

    // Revoked: refused at once (after a pause: one address may send 10 at once, 5 a second).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let payments = hundi::service::PaymentService::new(app.store.clone(), app.url.clone());
    payments
        .revoke_sms_device(&Acting::cli(&app.shop.id, true), &device_id)
        .await
        .expect("revoke");
    let fresh = forwarded(
        "bKash",
        "You have received Tk 1.00 from 01735814791. TrxID BLU1H6X87Z at 30/12/2026 13:22",
        Utc::now(),
    );
    let (status, e) = post_sms(&app, Some(&token), &fresh).await;
    assert_eq!(status, 401, "{e}");
}

/// One client address is counted before any token is looked up: a burst of ten, then 429.
async fn one_address_is_throttled_before_tokens_are_looked_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = forwarded("bKash", "hello", Utc::now());
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(post_sms(&app, Some("hsd_guess"), &body).await.0);
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].contains(&429), "{statuses:?}");
}

/// In the dashboard a developer adds a phone (its token shown once, with the header to paste)
/// and revokes it; a viewer sees the list but is refused both.
async fn the_dashboard_adds_and_revokes_phones(backend: Backend) {
    use crate::common::visitor::Visitor;
    use crate::common::PASSWORD;
    use hundi::domain::role::Role;
    let app = TestApp::spawn(backend).await;
    app.add_user("dev@shop.example", Role::Developer).await;
    app.add_user("viewer@shop.example", Role::Viewer).await;
    let mut dev = Visitor::new(&app);
    assert_eq!(dev.sign_in("dev@shop.example", PASSWORD).await.status, 303);
    let csrf = dev.get("/dashboard/sms").await.csrf();
    let added = dev
        .post(
            "/dashboard/sms",
            &[("csrf", &csrf), ("name", "Counter phone")],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let marker = "data-testid=\"secret-value\">";
    let at = added.body.find(marker).expect("the token is shown") + marker.len();
    let token = &added.body[at..at + added.body[at..].find('<').unwrap()];
    assert!(token.starts_with("hsd_"), "{token}");
    assert!(
        added.body.contains(&format!("Bearer {token}")),
        "the header to paste"
    );
    assert!(
        !dev.get("/dashboard/sms").await.body.contains(token),
        "shown once"
    );

    // The token works (a test-mode phone: the dashboard was in test mode).
    let (status, r) = post_sms(&app, Some(token), &forwarded("bKash", "hello", Utc::now())).await;
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("ignored")),
        "{r}"
    );

    let mut viewer = Visitor::new(&app);
    assert_eq!(
        viewer.sign_in("viewer@shop.example", PASSWORD).await.status,
        303
    );
    let list = viewer.get("/dashboard/sms").await;
    assert!(list.body.contains("Counter phone"));
    let id_at = list.body.find("data-device=\"").unwrap() + 13;
    let id = list.body[id_at..id_at + list.body[id_at..].find('"').unwrap()].to_string();
    let vcsrf = list.csrf();
    let refused = viewer
        .post(&format!("/dashboard/sms/{id}/revoke"), &[("csrf", &vcsrf)])
        .await;
    assert_eq!(refused.status, 403);
    let refused = viewer
        .post("/dashboard/sms", &[("csrf", &vcsrf), ("name", "Mine")])
        .await;
    assert_eq!(refused.status, 403);

    let revoked = dev
        .post(&format!("/dashboard/sms/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    let (status, _) = post_sms(&app, Some(token), &forwarded("bKash", "again", Utc::now())).await;
    assert_eq!(status, 401);
}

crate::on_both_backends!(
    the_dashboard_adds_and_revokes_phones,
    each_wallets_received_money_sms_pays_a_live_payment,
    tokens_replays_and_stale_times_are_refused,
);
crate::on_sqlite!(one_address_is_throttled_before_tokens_are_looked_up);
