//! Webhook delivery end to end, on both backends: Standard Webhooks signatures checked by the
//! `standardwebhooks` library from PyPI, retries until the receiver is up, the delivery log,
//! rotation, redelivery, SSRF refusals, and a slow endpoint that delays no other.

use crate::common::receiver::{Inbox, Receiver};
use crate::common::{Backend, TestApp};
use hundi::config::Config;
use hundi::webhooks::WebhookConfig;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn fast_webhooks() -> Config {
    Config {
        webhooks: WebhookConfig {
            allow_private: true,
            retry_schedule: vec![Duration::from_millis(300); 4],
            timeout: Duration::from_secs(2),
            lease: Duration::from_secs(5),
            poll_interval: Duration::from_millis(200),
            ..WebhookConfig::default()
        },
        ..Config::default()
    }
}

async fn endpoint(app: &TestApp, url: &str, events: Value) -> Value {
    let (status, e) = app
        .post(
            &app.shop.test_key,
            "/v1/webhook_endpoints",
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(status, 201, "{e}");
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"));
    e
}

/// Runs the PyPI `standardwebhooks` library over captured deliveries; returns the ids it verified.
fn verify_with_library(secret: &str, got: &[crate::common::receiver::Captured]) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/verify_standardwebhooks.py"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (the test script installs standardwebhooks)");
    {
        let stdin = child.stdin.as_mut().expect("stdin");
        for c in got {
            let headers: serde_json::Map<String, Value> =
                ["webhook-id", "webhook-timestamp", "webhook-signature"]
                    .iter()
                    .map(|h| (h.to_string(), Value::String(c.header(h))))
                    .collect();
            let line = json!({"secret": secret, "headers": headers, "body": c.body});
            writeln!(stdin, "{line}").expect("write");
        }
    }
    let out = child.wait_with_output().expect("python ran");
    assert!(
        out.status.success(),
        "standardwebhooks refused a delivery: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

async fn signed_deliveries_verify_with_the_library(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let receiver = Receiver::start().await;
    let e = endpoint(&app, &receiver.url, json!(["*"])).await;
    let secret = e["secret"].as_str().unwrap().to_string();
    let p = app.payment("10.00").await;
    let id = p["id"].as_str().unwrap();
    app.post(
        &app.shop.test_key,
        &format!("/v1/test/payments/{id}/succeed"),
        json!({}),
    )
    .await;
    let got = receiver.inbox.wait_for(2, 10).await;
    let verified = verify_with_library(&secret, &got);
    let events = app.events_of(&app.shop.test_key, id).await;
    let mut expected: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let mut verified_sorted = verified.clone();
    expected.sort();
    verified_sorted.sort();
    assert_eq!(
        verified_sorted, expected,
        "both events arrived and verified"
    );
    for c in &got {
        // The body is the event's stored bytes, exactly.
        let event_id = c.header("webhook-id");
        let stored = app
            .http
            .get(format!("{}/v1/events/{event_id}", app.url))
            .bearer_auth(&app.shop.test_key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(c.body, stored);
        assert_eq!(c.header("content-type"), "application/json");
    }
    // A tampered body does not verify.
    let mut tampered = got[0].clone();
    tampered.body = tampered.body.replace("10.00", "99.00");
    let result = std::panic::catch_unwind(|| verify_with_library(&secret, &[tampered]));
    assert!(result.is_err(), "a changed body must fail verification");
    // Endpoint subscribed to one type gets only that.
    let only = Receiver::start().await;
    endpoint(&app, &only.url, json!(["payment.canceled"])).await;
    let q = app.payment("1.00").await;
    let qid = q["id"].as_str().unwrap();
    app.post(
        &app.shop.test_key,
        &format!("/v1/payments/{qid}/cancel"),
        json!({}),
    )
    .await;
    let got = only.inbox.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(only.inbox.count(), 1);
    assert_eq!(got[0].json()["type"], "payment.canceled");
}

async fn retries_until_the_receiver_is_up(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    // A port with nobody listening yet.
    let port = crate::common::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    endpoint(&app, &url, json!(["payment.created"])).await;
    let p = app.payment("5.00").await;
    let id = p["id"].as_str().unwrap();
    let event_id = app.events_of(&app.shop.test_key, id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Two failed attempts (connection refused), then the receiver comes up answering 500 once.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, log) = app
            .get(
                &app.shop.test_key,
                &format!("/v1/events/{event_id}/deliveries"),
            )
            .await;
        if log["data"][0]["attempts"].as_array().map_or(0, |a| a.len()) >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no retries: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let inbox = Arc::new(Inbox::default());
    inbox
        .status
        .store(500, std::sync::atomic::Ordering::Relaxed);
    let receiver = Receiver::start_on(port, inbox.clone()).await;
    inbox.wait_for(1, 10).await;
    inbox
        .status
        .store(200, std::sync::atomic::Ordering::Relaxed);
    inbox.wait_for(2, 10).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let (_, log) = app
            .get(
                &app.shop.test_key,
                &format!("/v1/events/{event_id}/deliveries"),
            )
            .await;
        if log["data"][0]["status"] == "succeeded" {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never delivered: {log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let attempts = log["data"][0]["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 4, "{log}");
    let first = &attempts[0];
    assert_eq!(first["status_code"], Value::Null);
    assert!(
        first["error"].as_str().unwrap().contains("connect"),
        "{first}"
    );
    let last_two: Vec<&Value> = attempts.iter().rev().take(2).collect();
    assert_eq!(last_two[0]["status_code"], 200);
    assert_eq!(last_two[0]["response_body"], "received");
    assert_eq!(last_two[1]["status_code"], 500);
    drop(receiver);
}

async fn gives_up_after_the_schedule(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let receiver = Receiver::start().await;
    receiver
        .inbox
        .status
        .store(503, std::sync::atomic::Ordering::Relaxed);
    endpoint(&app, &receiver.url, json!(["payment.created"])).await;
    let p = app.payment("5.00").await;
    let event_id = app
        .events_of(&app.shop.test_key, p["id"].as_str().unwrap())
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // 1 attempt + 4 retries, then failed.
    receiver.inbox.wait_for(5, 15).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, log) = app
            .get(
                &app.shop.test_key,
                &format!("/v1/events/{event_id}/deliveries"),
            )
            .await;
        if log["data"][0]["status"] == "failed" {
            assert_eq!(log["data"][0]["attempts"].as_array().unwrap().len(), 5);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.inbox.count(), 5, "nothing after the last retry");
    // Redelivery sends it again.
    receiver
        .inbox
        .status
        .store(200, std::sync::atomic::Ordering::Relaxed);
    let (status, res) = app
        .post(
            &app.shop.test_key,
            &format!("/v1/events/{event_id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["scheduled"], 1);
    receiver.inbox.wait_for(6, 10).await;
}

async fn rotation_signs_with_both_secrets(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let receiver = Receiver::start().await;
    let e = endpoint(&app, &receiver.url, json!(["payment.created"])).await;
    let old = e["secret"].as_str().unwrap().to_string();
    let eid = e["id"].as_str().unwrap();
    let (status, rotated) = app
        .post(
            &app.shop.test_key,
            &format!("/v1/webhook_endpoints/{eid}/rotate_secret"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    let (_, listed) = app
        .get(&app.shop.test_key, &format!("/v1/webhook_endpoints/{eid}"))
        .await;
    assert_eq!(listed.get("secret"), None, "the secret is shown once");
    app.payment("1.00").await;
    let got = receiver.inbox.wait_for(1, 10).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    verify_with_library(&old, &got);
    verify_with_library(&new, &got);
}

async fn endpoints_are_managed_and_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await; // private targets NOT allowed here
    let key = &app.shop.test_key;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:9/hook",
        "ftp://example.com/",
    ] {
        let (status, body) = app
            .post(
                key,
                "/v1/webhook_endpoints",
                json!({"url": url, "events": ["*"]}),
            )
            .await;
        assert_eq!(status, 422, "{url} must be refused: {body}");
        assert_eq!(body["error"]["param"], "url");
    }
    let (status, body) = app
        .post(
            &app.shop.live_key,
            "/v1/webhook_endpoints",
            json!({"url": "http://8.8.8.8/hook", "events": ["*"]}),
        )
        .await;
    assert_eq!(status, 422, "live endpoints need https: {body}");
    let (status, body) = app
        .post(
            key,
            "/v1/webhook_endpoints",
            json!({"url": "https://8.8.8.8/hook", "events": ["payment.nope"]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["param"], "events");
    let (status, e) = app.post(key, "/v1/webhook_endpoints", json!({"url": "https://8.8.8.8/hook", "events": ["payment.succeeded"], "description": "orders"})).await;
    assert_eq!(status, 201);
    let id = e["id"].as_str().unwrap();
    let (status, updated) = app
        .post(
            key,
            &format!("/v1/webhook_endpoints/{id}"),
            json!({"enabled": false, "events": ["*"], "description": null}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["events"], json!(["*"]));
    assert_eq!(updated["description"], Value::Null);
    let (status, _) = app
        .get(&app.other.test_key, &format!("/v1/webhook_endpoints/{id}"))
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.get(key, "/v1/webhook_endpoints").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let res = app
        .http
        .delete(format!("{}/v1/webhook_endpoints/{id}", app.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (status, _) = app.get(key, &format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!(status, 404);
}

/// Endpoints saved while private targets were allowed (written straight to the store here)
/// are still refused at send time when they are not: the check runs again after DNS
/// resolution, for names (localhost) and literal addresses alike.
async fn send_time_check_refuses_private_targets(backend: Backend) {
    let mut strict = fast_webhooks();
    strict.webhooks.allow_private = false;
    let app = TestApp::spawn_with(backend, strict).await;
    let receiver = Receiver::start().await;
    let now = chrono::Utc::now();
    for url in [
        receiver.url.replace("127.0.0.1", "localhost"),
        receiver.url.clone(),
    ] {
        let e = hundi::domain::webhook::Endpoint {
            id: hundi::domain::ids::new_id("we"),
            merchant_id: app.shop.id.clone(),
            livemode: false,
            url,
            description: None,
            events: vec!["*".into()],
            enabled: true,
            secret: hundi::domain::webhook::generate_secret(),
            previous_secret: None,
            previous_secret_until: None,
            failing_since: None,
            disabled_reason: None,
            key_id: None,
            format: "native".into(),
            payment_id: None,
            created_at: now,
            updated_at: now,
        };
        app.store.create_endpoint(&e, None).await.unwrap();
    }
    let p = app.payment("1.00").await;
    let event_id = app
        .events_of(&app.shop.test_key, p["id"].as_str().unwrap())
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, log) = app
            .get(
                &app.shop.test_key,
                &format!("/v1/events/{event_id}/deliveries"),
            )
            .await;
        let refused: Vec<String> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["attempts"][0]["error"].as_str().map(str::to_string))
            .collect();
        if refused.len() == 2 {
            assert!(
                refused.iter().any(|e| e.contains("forbidden addresses")),
                "{refused:?}"
            );
            assert!(
                refused.iter().any(|e| e.contains("reserved address")),
                "{refused:?}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        receiver.inbox.count(),
        0,
        "nothing reached the private address"
    );
}

async fn a_slow_endpoint_delays_no_other(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let slow = Receiver::start().await;
    slow.inbox
        .delay_ms
        .store(1500, std::sync::atomic::Ordering::Relaxed);
    let fast = Receiver::start().await;
    endpoint(&app, &slow.url, json!(["payment.created"])).await;
    endpoint(&app, &fast.url, json!(["payment.created"])).await;
    let started = std::time::Instant::now();
    for _ in 0..40 {
        app.payment("1.00").await;
    }
    fast.inbox.wait_for(40, 10).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the fast endpoint waited {took:?} behind the slow one"
    );
    assert!(
        slow.inbox.count() < 40,
        "the slow endpoint is still catching up"
    );
}

/// A key's own webhook URL (PayGate's model) is one more endpoint: it gets the events about
/// payments made with that key, and only those.
async fn a_keys_own_webhook_url_gets_its_payments(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let own = Receiver::start().await;
    let all = Receiver::start().await;
    endpoint(&app, &all.url, json!(["payment.created"])).await;
    let key = app.plugin_key("plugin", own.url.clone()).await;
    let secret = key
        .webhook_secret
        .clone()
        .expect("a signing secret for the key's URL");
    let (_, mine) = app
        .post(
            &key.secret,
            "/v1/payments",
            json!({"amount": "3.00", "currency": "PKR"}),
        )
        .await;
    app.payment("4.00").await; // made with another key of the same merchant
    let got = own.inbox.wait_for(1, 10).await;
    all.inbox.wait_for(2, 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(own.inbox.count(), 1, "only the key's own payment");
    assert_eq!(got[0].json()["data"]["object"]["id"], mine["id"]);
    verify_with_library(&secret, &got);
    let mid = mine["id"].as_str().unwrap();
    app.post(
        &key.secret,
        &format!("/v1/test/payments/{mid}/succeed"),
        json!({}),
    )
    .await;
    let got = own.inbox.wait_for(2, 10).await;
    assert_eq!(got[1].json()["type"], "payment.succeeded");
    // Refused when the URL points into the operator's network and that is not allowed.
    let refused = hundi::service::keys::create_key(
        &*app.store,
        &hundi::service::access::Acting::cli(&app.shop.id, false),
        hundi::service::keys::NewKey {
            webhook_url: Some("http://10.0.0.1/hook".into()),
            allow_private: false,
            ..hundi::service::keys::NewKey::new(
                hundi::domain::key::Mode::Test,
                "x",
                hundi::domain::key::Permission::ALL.to_vec(),
            )
        },
    )
    .await;
    assert!(refused.is_err());
}

/// A renderer that panics (a bug in a dialect) fails the attempt, which is logged and retried;
/// the dispatcher goes on.
struct Panicking;

#[async_trait::async_trait]
impl hundi::webhooks::Formats for Panicking {
    async fn render(
        &self,
        _job: &hundi::store::DeliveryJob,
    ) -> Result<hundi::webhooks::Rendered, String> {
        panic!("a bug in a renderer")
    }
}

async fn a_panicking_renderer_fails_the_attempt_only(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Config {
            dispatch_webhooks: false,
            ..fast_webhooks()
        },
    )
    .await;
    let receiver = Receiver::start().await;
    let key = app.plugin_key("plugin", receiver.url.clone()).await;
    let (_, p) = app
        .post(
            &key.secret,
            "/v1/payments",
            json!({"amount": "3.00", "currency": "PKR"}),
        )
        .await;
    let dispatcher = Arc::new(
        hundi::webhooks::Dispatcher::new(
            app.store.clone(),
            fast_webhooks().webhooks,
            Box::new(hundi::service::webhooks::endpoint_disabled_event),
            Arc::new(Panicking),
        )
        .unwrap(),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(dispatcher.run(stopped));
    let events = app
        .events_of(&app.shop.test_key, p["id"].as_str().unwrap())
        .await;
    let event = events[0]["id"].as_str().unwrap().to_string();
    let mut attempts = Value::Null;
    for _ in 0..50 {
        let (_, d) = app
            .get(
                &app.shop.test_key,
                &format!("/v1/events/{event}/deliveries"),
            )
            .await;
        if d["data"][0]["attempts"]
            .as_array()
            .is_some_and(|a| a.len() >= 2)
        {
            attempts = d["data"][0]["attempts"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        attempts[0]["error"], "could not build the webhook: internal error",
        "{attempts}"
    );
    assert_eq!(receiver.inbox.count(), 0);
    let _ = stop.send(true);
    running.await.expect("the dispatcher ended normally");
}

on_both_backends!(
    a_panicking_renderer_fails_the_attempt_only,
    a_keys_own_webhook_url_gets_its_payments,
    signed_deliveries_verify_with_the_library,
    retries_until_the_receiver_is_up,
    gives_up_after_the_schedule,
    rotation_signs_with_both_secrets,
    endpoints_are_managed_and_checked,
    send_time_check_refuses_private_targets,
    a_slow_endpoint_delays_no_other,
);

/// The `secret` and `previous_secret` columns of one endpoint, read straight from the database.
async fn stored_secrets(db_url: &str, id: &str) -> (String, Option<String>) {
    let sql = "SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1";
    if db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query_as(sql).bind(id).fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query_as(sql).bind(id).fetch_one(&pool).await.unwrap()
    }
}

/// Writes an endpoint's secret in clear, as a database from before sealing holds it.
async fn store_in_clear(db_url: &str, id: &str, secret: &str) {
    let sql = "UPDATE webhook_endpoints SET secret = $1, previous_secret = NULL WHERE id = $2";
    if db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query(sql)
            .bind(secret)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query(sql)
            .bind(secret)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// Whether a delivery carries a Standard Webhooks signature made with `secret`.
fn signed_with(c: &crate::common::receiver::Captured, secret: &str) -> bool {
    let timestamp: i64 = c.header("webhook-timestamp").parse().unwrap();
    let expected = hundi::domain::webhook::sign(
        secret,
        &c.header("webhook-id"),
        timestamp,
        c.body.as_bytes(),
    )
    .unwrap();
    c.header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

/// Endpoint secrets are sealed in the database (the file holds neither the secret nor its
/// key bytes), and deliveries still verify with the secret the merchant was shown, also
/// during a rotation.
async fn endpoint_secrets_are_sealed_at_rest(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let receiver = Receiver::start().await;
    let e = endpoint(&app, &receiver.url, json!(["payment.created"])).await;
    let id = e["id"].as_str().unwrap();
    let first = e["secret"].as_str().unwrap().to_string();
    let key_part = first.trim_start_matches("whsec_").to_string();
    let (stored, _) = stored_secrets(&app.db.url, id).await;
    assert!(!stored.contains(&key_part), "sealed: {stored}");
    assert!(stored.starts_with("v1:"), "{stored}");
    app.payment("1.00").await;
    let got = receiver.inbox.wait_for(1, 10).await;
    assert!(
        signed_with(&got[0], &first),
        "verifies with the shown secret"
    );
    // Rotated: both the new and the previous secret are sealed, and both sign.
    let (status, rotated) = app
        .post(
            &app.shop.test_key,
            &format!("/v1/webhook_endpoints/{id}/rotate_secret"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["secret"].as_str().unwrap().to_string();
    let (stored, previous) = stored_secrets(&app.db.url, id).await;
    let previous = previous.expect("the previous secret is kept");
    for (value, plain) in [(&stored, &second), (&previous, &first)] {
        assert!(value.starts_with("v1:"), "{value}");
        assert!(!value.contains(plain.trim_start_matches("whsec_")));
    }
    app.payment("2.00").await;
    let got = receiver.inbox.wait_for(2, 10).await;
    assert!(signed_with(&got[1], &first) && signed_with(&got[1], &second));
    if backend == Backend::Sqlite {
        // Nowhere in the database's files either (the WAL included).
        let path = app.db.url.trim_start_matches("sqlite://").to_string();
        for file in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            for plain in [&first, &second] {
                let needle = plain.trim_start_matches("whsec_").as_bytes();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{file} holds a secret in clear"
                );
            }
        }
    }
}

/// A database from before sealing: its clear secrets keep signing, and the next start seals
/// them.
async fn clear_secrets_are_sealed_at_start(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let receiver = Receiver::start().await;
    let e = endpoint(&app, &receiver.url, json!(["payment.created"])).await;
    let id = e["id"].as_str().unwrap();
    let old = hundi::domain::webhook::generate_secret();
    store_in_clear(&app.db.url, id, &old).await;
    app.payment("1.00").await;
    let got = receiver.inbox.wait_for(1, 10).await;
    assert!(signed_with(&got[0], &old), "a clear secret still signs");
    // What a server start does with the deployment's master key.
    let secrets = app.server.as_ref().unwrap().state.secrets.clone();
    assert_eq!(app.store.seal_endpoint_secrets(&secrets).await.unwrap(), 1);
    assert_eq!(app.store.seal_endpoint_secrets(&secrets).await.unwrap(), 0);
    let (stored, _) = stored_secrets(&app.db.url, id).await;
    assert!(stored.starts_with("v1:") && !stored.contains(old.trim_start_matches("whsec_")));
    app.payment("2.00").await;
    let got = receiver.inbox.wait_for(2, 10).await;
    assert!(
        signed_with(&got[1], &old),
        "the same secret, now sealed, signs"
    );
}

on_both_backends!(
    endpoint_secrets_are_sealed_at_rest,
    clear_secrets_are_sealed_at_start,
);

/// Endpoints and an event's deliveries come a page at a time (`limit`, `starting_after`),
/// oldest first, each row once.
async fn endpoints_and_deliveries_are_paginated(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast_webhooks()).await;
    let receiver = Receiver::start().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        let e = endpoint(&app, &receiver.url, json!(["payment.created"])).await;
        created.push(e["id"].as_str().unwrap().to_string());
    }
    let key = app.shop.test_key.clone();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let cursor = after
            .as_ref()
            .map(|a| format!("&starting_after={a}"))
            .unwrap_or_default();
        let (status, page) = app
            .get(&key, &format!("/v1/webhook_endpoints?limit=2{cursor}"))
            .await;
        assert_eq!(status, 200, "{page}");
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2, "{page}");
        seen.extend(data.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        pages += 1;
        if page["has_more"] != true {
            break;
        }
        after = seen.last().cloned();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every endpoint once, oldest first");
    let (status, _) = app.get(&key, "/v1/webhook_endpoints?limit=101").await;
    assert_eq!(status, 400);
    // One event, five deliveries.
    let p = app.payment("1.00").await;
    let event = app.events_of(&key, p["id"].as_str().unwrap()).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, first) = app
        .get(&key, &format!("/v1/events/{event}/deliveries?limit=3"))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    assert_eq!(first["has_more"], true);
    let last = first["data"][2]["id"].as_str().unwrap();
    let (_, rest) = app
        .get(
            &key,
            &format!("/v1/events/{event}/deliveries?limit=3&starting_after={last}"),
        )
        .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 2, "{rest}");
    assert_eq!(rest["has_more"], false);
    let mut endpoints: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["data"].as_array().unwrap())
        .map(|d| d["endpoint"].as_str().unwrap().to_string())
        .collect();
    endpoints.sort();
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(endpoints, expected, "each endpoint's delivery once");
}

on_both_backends!(endpoints_and_deliveries_are_paginated);
