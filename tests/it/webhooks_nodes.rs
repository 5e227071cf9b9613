//! Webhook delivery across processes: a node killed with SIGKILL mid-delivery loses nothing,
//! two nodes on one PostgreSQL database share the work without sending anything twice, and an
//! endpoint that keeps failing is disabled with an event.

use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp, TestDb};
use hundi::config::Config;
use hundi::webhooks::WebhookConfig;
use serde_json::json;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn webhooks(lease: Duration) -> WebhookConfig {
    WebhookConfig {
        allow_private: true,
        retry_schedule: vec![Duration::from_millis(200); 10],
        timeout: Duration::from_secs(2),
        lease,
        poll_interval: Duration::from_millis(200),
        ..WebhookConfig::default()
    }
}

/// Counts deliveries per `webhook-id`.
fn tally(got: &[crate::common::receiver::Captured]) -> HashMap<String, usize> {
    let mut t = HashMap::new();
    for c in got {
        *t.entry(c.header("webhook-id")).or_insert(0) += 1;
    }
    t
}

async fn wait_for_distinct(receiver: &Receiver, n: usize, secs: u64) -> HashMap<String, usize> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let t = tally(&receiver.inbox.all());
        if t.len() >= n {
            return t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {n} events arrived",
            t.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spawn_node(db: &TestDb, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("HUNDI_DATABASE_URL", &db.url)
        .env("HUNDI_ALLOW_PRIVATE_WEBHOOKS", "true")
        .env("HUNDI_WEBHOOK_LEASE_SECS", "2")
        .env("HUNDI_WEBHOOK_TIMEOUT_MS", "1000")
        .env("HUNDI_WEBHOOK_RETRY_SCHEDULE", "0.2,0.2,0.2,0.2,0.2,0.2")
        .env("HUNDI_RATE_LIMIT", "100000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hundi")
}

/// SIGKILL while 500 events are being delivered; after a restart every one arrives.
async fn sigkill_mid_delivery_loses_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let shop = crate::common::merchant(&*store, "Shop").await;
    drop(store);
    let receiver = Receiver::start().await;
    receiver
        .inbox
        .delay_ms
        .store(20, std::sync::atomic::Ordering::Relaxed);
    let port = crate::common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut node = spawn_node(&db, port);
    crate::common::wait_healthy(&url).await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{url}/v1/webhook_endpoints"))
        .bearer_auth(&shop.test_key)
        .json(&json!({"url": receiver.url, "events": ["payment.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let mut created = Vec::new();
    for _ in 0..500 {
        let res = client
            .post(format!("{url}/v1/payments"))
            .bearer_auth(&shop.test_key)
            .json(&json!({"amount": "1.00", "currency": "PKR"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        created.push(
            res.json::<serde_json::Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Kill it while deliveries are in flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while receiver.inbox.count() < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    node.kill().expect("SIGKILL");
    node.wait().unwrap();
    let before = tally(&receiver.inbox.all()).len();
    assert!(
        before < 500,
        "the kill came too late to mean anything ({before} delivered)"
    );
    let mut node = spawn_node(&db, port);
    crate::common::wait_healthy(&url).await;
    let t = wait_for_distinct(&receiver, 500, 60).await;
    assert_eq!(t.len(), 500, "every event arrived at least once");
    node.kill().ok();
    node.wait().ok();
}

/// Two nodes on one PostgreSQL database: 1,000 events, each delivered exactly once.
async fn two_nodes_share_the_work(backend: Backend) {
    let opts = || Config {
        webhooks: webhooks(Duration::from_secs(30)),
        rate_limits: crate::common::raised_rate_limits(),
        ..Config::default()
    };
    let app = TestApp::spawn_with(backend, opts()).await;
    let mut second = opts();
    second.listen = "127.0.0.1:0".into();
    // Every node of a deployment has the same master key (webhook secrets are sealed with it).
    second.secrets = app.server.as_ref().unwrap().state.secrets.clone();
    let node_b = hundi::startup::start(app.db.store().await, second)
        .await
        .unwrap();
    let receiver = Receiver::start().await;
    let (status, _) = app
        .post(
            &app.shop.test_key,
            "/v1/webhook_endpoints",
            json!({"url": receiver.url, "events": ["payment.created"]}),
        )
        .await;
    assert_eq!(status, 201);
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let base = if i % 2 == 0 {
            app.url.clone()
        } else {
            node_b.url()
        };
        let (client, key) = (client.clone(), app.shop.test_key.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/v1/payments"))
                .bearer_auth(key)
                .json(&json!({"amount": "1.00", "currency": "PKR"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
        if tasks.len() >= 32 {
            for t in tasks.drain(..) {
                assert_eq!(t.await.unwrap().unwrap(), 201);
            }
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 201);
    }
    let t = wait_for_distinct(&receiver, 1000, 60).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t2 = tally(&receiver.inbox.all());
    assert_eq!(t.len(), 1000);
    let twice: Vec<_> = t2.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    node_b.shutdown().await.unwrap();
}

async fn a_failing_endpoint_is_disabled(backend: Backend) {
    let mut cfg = webhooks(Duration::from_secs(5));
    cfg.disable_after = Duration::from_millis(500);
    cfg.sweep_interval = Duration::from_millis(200);
    let app = TestApp::spawn_with(
        backend,
        Config {
            webhooks: cfg,
            ..Config::default()
        },
    )
    .await;
    let broken = Receiver::start().await;
    broken
        .inbox
        .status
        .store(500, std::sync::atomic::Ordering::Relaxed);
    let watcher = Receiver::start().await;
    let (_, e) = app
        .post(
            &app.shop.test_key,
            "/v1/webhook_endpoints",
            json!({"url": broken.url, "events": ["payment.created"]}),
        )
        .await;
    app.post(
        &app.shop.test_key,
        "/v1/webhook_endpoints",
        json!({"url": watcher.url, "events": ["webhook_endpoint.disabled"]}),
    )
    .await;
    app.payment("1.00").await;
    let got = watcher.inbox.wait_for(1, 15).await;
    let event = got[0].json();
    assert_eq!(event["type"], "webhook_endpoint.disabled");
    assert_eq!(event["data"]["object"]["id"], e["id"]);
    assert!(
        event["data"]["object"].get("secret").is_none(),
        "events never carry secrets"
    );
    let (_, now) = app
        .get(
            &app.shop.test_key,
            &format!("/v1/webhook_endpoints/{}", e["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(now["enabled"], false);
    assert_eq!(now["disabled_reason"], "failing");
}

mod two_nodes_share_the_work {
    /// Several nodes need a shared server database: PostgreSQL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::two_nodes_share_the_work(crate::common::Backend::Postgres).await
    }
}

on_both_backends!(
    sigkill_mid_delivery_loses_nothing,
    a_failing_endpoint_is_disabled
);
