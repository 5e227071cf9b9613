//! Request rate limits: a key over its limit gets 429 with `Retry-After` and the
//! `RateLimit-*` headers, in the native shape and in each dialect's; other keys go on; a
//! browser key is also limited per client address; two PostgreSQL nodes share one bucket;
//! the CLI sets a key's limit.

use crate::common::{Backend, TestApp, TestDb};
use hundi::config::Config;
use hundi::domain::key::{Mode, Permission};
use hundi::service::keys::{self, NewKey};
use hundi::service::merchants;
use hundi::service::ratelimit::RateLimitConfig;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

/// A key of the shop allowed `per_second` requests (bursts of twice that).
async fn limited_key(app: &TestApp, permissions: Vec<Permission>, per_second: u32) -> String {
    keys::create_key(
        &*app.store,
        &hundi::service::access::Acting::cli(&app.shop.id.clone(), false),
        NewKey {
            mode: Mode::Test,
            label: "limited".into(),
            permissions,
            webhook_url: None,
            rate_limit: Some(per_second),
            allow_private: true,
        },
    )
    .await
    .expect("key")
    .secret
}

fn header(res: &reqwest::Response, name: &str) -> Option<u64> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Sends requests until one is refused (at most 12): the statuses before it and the
/// refusal. At 1 request per second, with a burst of 2, the third within a second is.
async fn until_throttled<F, Fut>(send: F) -> (Vec<u16>, reqwest::Response)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut before = Vec::new();
    for _ in 0..12 {
        let res = send().await.expect("request");
        if res.status().as_u16() == 429 {
            return (before, res);
        }
        assert!(res.headers().get("retry-after").is_none());
        assert_eq!(header(&res, "ratelimit-limit"), Some(2));
        before.push(res.status().as_u16());
    }
    panic!("never refused: {before:?}");
}

/// The headers of a 429: the bucket's size, nothing left, and when to come back.
fn assert_throttled_headers(res: &reqwest::Response, burst: u64) {
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(header(res, "ratelimit-limit"), Some(burst));
    assert_eq!(header(res, "ratelimit-remaining"), Some(0));
    let reset = header(res, "ratelimit-reset").expect("RateLimit-Reset");
    assert!((1..=burst).contains(&reset), "reset {reset}");
    let retry = header(res, "retry-after").expect("Retry-After");
    assert!((1..=2).contains(&retry), "retry after {retry}");
}

/// A native key over its limit: 429 with the headers and the API's error shape; every
/// answer before it says what is left; another merchant's key goes on.
async fn native_key_over_its_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = limited_key(&app, Permission::ALL.to_vec(), 1).await;
    let create = || {
        app.http
            .post(format!("{}/v1/payments", app.url))
            .bearer_auth(&key)
            .json(&json!({"amount": "10.00", "currency": "PKR"}))
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(header(&first, "ratelimit-limit"), Some(2));
    assert_eq!(header(&first, "ratelimit-remaining"), Some(1));
    let (before, refused) = until_throttled(create).await;
    assert!(before.iter().all(|s| *s == 201), "{before:?}");
    assert_throttled_headers(&refused, 2);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    // Refused before any work: the refused create made no payment.
    let (_, list) = app.get(&app.shop.test_key, "/v1/payments?limit=100").await;
    assert_eq!(
        list["data"].as_array().map(Vec::len),
        Some(1 + before.len()),
        "{list}"
    );
    // The other merchant (and the shop's other key) are not affected.
    for key in [&app.other.test_key, &app.shop.test_key] {
        for _ in 0..10 {
            let (status, _) = app
                .post(
                    key,
                    "/v1/payments",
                    json!({"amount": "1.00", "currency": "PKR"}),
                )
                .await;
            assert_eq!(status, 201);
        }
    }
    // A token comes back after a second at 1 per second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get(&key, "/v1/payments").await.0, 200);
}

/// Each dialect answers a key over its limit with 429, `Retry-After` and the headers, in
/// its own error shape. The bucket is the key's, whichever door the requests come through.
async fn each_dialect_over_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // (path, the key's header, the body's check)
    type Check = fn(&Value) -> bool;
    let dialects: [(&str, &str, &str, Check); 5] = [
        (
            "Pakhi Pay",
            "/api/request/payment/create/",
            "api-key",
            |b| b["status"] == 0 && b["message"].as_str().is_some_and(|m| m.contains("api-key")),
        ),
        ("PayGate", "/api/v1/create-payment", "x-api-key", |b| {
            b["success"] == false && b["error"].as_str().is_some_and(|m| m.contains("retry"))
        }),
        ("XPay", "/public/v1/payment/checkout", "x-api-key", |b| {
            b["success"] == false
                && b["responseStatus"] == "TOO_MANY_REQUESTS"
                && b["message"].is_string()
        }),
        (
            "Waypay",
            "/Gateway/v1/Payment/initiate-checkout",
            "swich-api-key",
            |b| {
                b["code"] == "too_many_requests"
                    && b["message"].is_string()
                    && b["details"].is_array()
            },
        ),
        (
            "Kazawallet",
            "/wallet/createPaymentLink",
            "x-api-key",
            |b| {
                b["success"] == false
                    && b["error"]["details"]["key"] == "TOO_MANY_REQUESTS"
                    && b["error"]["message"].is_string()
            },
        ),
    ];
    for (name, path, key_header, shape) in dialects {
        let key = limited_key(&app, vec![Permission::PaymentsCreate], 1).await;
        let send = || {
            app.http
                .post(format!("{}{path}", app.url))
                .header(key_header, &key)
                .header("Origin", "https://shop.example")
                .json(&json!({}))
                .send()
        };
        // Requests refused for their empty bodies are counted too, and spend the burst.
        let (before, res) = until_throttled(send).await;
        assert!(before.len() >= 2, "{name}: {before:?}");
        assert!(
            before.iter().all(|s| (400..429).contains(s)),
            "{name}: {before:?}"
        );
        assert_throttled_headers(&res, 2);
        if ["Pakhi Pay", "PayGate"].contains(&name) {
            // Called from shop pages: the page's script may read when to retry.
            let exposed = res
                .headers()
                .get("access-control-expose-headers")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert!(exposed.contains("retry-after"), "{name}: {exposed:?}");
            assert!(
                exposed.contains("ratelimit-remaining"),
                "{name}: {exposed:?}"
            );
        }
        let body: Value = res.json().await.unwrap();
        assert!(shape(&body), "{name}: {body}");
    }
}

/// A browser key (only `payments:create`) is also limited per client address: one
/// address over its share is refused while another address, and a server key from the
/// same address, go on.
async fn browser_keys_are_limited_per_address(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Config {
            rate_limits: RateLimitConfig {
                per_address_per_second: 1,
                ..RateLimitConfig::default()
            },
            // The test client is the proxy; only the entry it appends names the client.
            trusted_proxies: hundi::http::client_addr::TrustedProxies::parse("127.0.0.1").unwrap(),
            ..Config::default()
        },
    )
    .await;
    let browser = limited_key(&app, vec![Permission::PaymentsCreate], 100).await;
    let create = |key: &str, from: &str| {
        app.http
            .post(format!("{}/v1/payments", app.url))
            .bearer_auth(key)
            // The proxy appends the real address; what the client wrote before it is ignored.
            .header("X-Forwarded-For", format!("10.9.9.9, {from}"))
            .json(&json!({"amount": "10.00", "currency": "PKR"}))
            .send()
    };
    let (before, res) = until_throttled(|| create(&browser, "203.0.113.5")).await;
    assert!(
        before.len() >= 2 && before.iter().all(|s| *s == 201),
        "{before:?}"
    );
    assert_throttled_headers(&res, 2);
    assert_eq!(
        create(&browser, "198.51.100.7").await.unwrap().status(),
        201
    );
    for _ in 0..5 {
        let res = create(&app.shop.test_key, "203.0.113.5").await.unwrap();
        assert_eq!(res.status(), 201);
    }
}

/// Two PostgreSQL nodes take from one bucket: together they allow about the limit, not
/// twice it.
async fn two_nodes_share_a_key_s_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let opts = Config {
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    let node_b = hundi::startup::start(app.db.store().await, opts)
        .await
        .unwrap();
    let key = limited_key(&app, Permission::ALL.to_vec(), 3).await;
    let nodes = [app.url.clone(), node_b.url()];
    let started = Instant::now();
    let mut allowed = 0;
    for i in 0..40 {
        let res = app
            .http
            .post(format!("{}/v1/payments", nodes[i % 2]))
            .bearer_auth(&key)
            .json(&json!({"amount": "1.00", "currency": "PKR"}))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            201 => allowed += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("two nodes: {allowed} of 40 requests allowed in {elapsed:.2} s (limit 3/s, burst 6)");
    // A burst of 6, then 3 a second: one node alone would allow that much, two 12 or more.
    let ceiling = 6.0 + 3.0 * elapsed + 1.0;
    assert!(allowed >= 6, "{allowed} allowed");
    assert!(
        f64::from(allowed) <= ceiling,
        "{allowed} allowed in {elapsed:.2} s; at most {ceiling:.1} expected"
    );
    node_b.shutdown().await.unwrap();
}

/// `hundi key create --rate-limit` and `hundi key set-rate-limit` set the limit the
/// server holds the key to.
async fn the_cli_sets_a_key_s_limit(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let merchant = merchants::create_merchant(&*store, "Shop").await.unwrap();
    let hundi = |args: &[&str]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_hundi"))
            .args(args)
            .args(["--json", "--database-url", &db.url])
            .output()
            .expect("run hundi");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let created = hundi(&[
        "key",
        "create",
        "--merchant",
        &merchant.id,
        "--rate-limit",
        "1",
    ]);
    assert_eq!(created["rate_limit"], 1);
    let (id, secret) = (
        created["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(["key", "set-rate-limit", &id, "0", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("1 to 1000000"));

    let opts = Config {
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    let server = hundi::startup::start(store.clone(), opts).await.unwrap();
    let http = reqwest::Client::new();
    let list = || {
        http.get(format!("{}/v1/payments", server.url()))
            .bearer_auth(&secret)
            .send()
    };
    let (before, refused) = until_throttled(list).await;
    assert!(
        before.len() >= 2 && before.iter().all(|s| *s == 200),
        "{before:?}"
    );
    assert_throttled_headers(&refused, 2);

    let changed = hundi(&["key", "set-rate-limit", &id, "50"]);
    assert_eq!(changed["rate_limit"], 50);
    // The node sees the change once its cached copy of the key expires (1 s).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    for _ in 0..20 {
        let res = list().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "ratelimit-limit"), Some(100));
    }
    assert_eq!(
        hundi(&["key", "set-rate-limit", &id, "default"])["rate_limit"],
        Value::Null
    );
    server.shutdown().await.unwrap();
}

on_both_backends!(
    native_key_over_its_limit,
    each_dialect_over_the_limit,
    browser_keys_are_limited_per_address,
    the_cli_sets_a_key_s_limit,
);

mod two_nodes {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::two_nodes_share_a_key_s_limit(crate::common::Backend::Postgres).await
    }
}
