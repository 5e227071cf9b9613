//! Webhook delivery benchmark (run by bench/webhooks.sh):
//! 1. latency from a payment's completion to its webhook's arrival, p50 and p99, at a steady
//!    rate of completions (default 200/s for 30 s);
//! 2. peak deliveries per second: N events queued by an API-only node, then delivered by a
//!    dispatching node to a fast local receiver.
//!
//! Everything runs on 127.0.0.1. Usage: webhook_bench <postgres-admin-url> [rate] [secs] [n]

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use chrono::{DateTime, Utc};
use hundi::config::Config;
use hundi::startup;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One webhook as it arrived: its event type, the event's time, and the arrival time.
type Arrival = (String, DateTime<Utc>, DateTime<Utc>);

#[derive(Default)]
struct Arrivals {
    got: Mutex<Vec<Arrival>>,
}

async fn receive(State(a): State<Arc<Arrivals>>, body: Bytes) -> &'static str {
    let now = Utc::now();
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        let created = v["created_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        if let Ok(mut g) = a.got.lock() {
            g.push((kind, created, now));
        }
    }
    "ok"
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn fresh_database(admin: &str) -> String {
    let name = format!("hundi_bench_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(admin).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("create database");
    let mut url = url::Url::parse(admin).expect("url");
    url.set_path(&name);
    url.to_string()
}

fn options(dispatch: bool) -> Config {
    let mut o = Config {
        listen: "127.0.0.1:0".into(),
        dispatch_webhooks: dispatch,
        // The benchmark measures deliveries, not the API's rate limit.
        rate_limits: hundi::service::ratelimit::RateLimitConfig {
            default_per_second: 1_000_000,
            ..Default::default()
        },
        ..Config::default()
    };
    o.webhooks.allow_private = true;
    o.webhooks.per_endpoint = 64;
    o
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let admin = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rate: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(200);
    let secs: u64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(30);
    let peak_n: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(20_000);

    let arrivals = Arc::new(Arrivals::default());
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let db = fresh_database(&admin).await;
    let store = hundi::store::connect(&db, 32).await.expect("store");
    store.migrate().await.expect("migrate");
    let m = hundi::service::merchants::create_merchant(&*store, "Bench")
        .await
        .expect("merchant");
    let key = hundi::service::keys::create_key(
        &*store,
        &hundi::service::access::Acting::cli(&m.id, false),
        hundi::service::keys::NewKey::new(
            hundi::domain::key::Mode::Test,
            "bench",
            hundi::domain::key::Permission::ALL.to_vec(),
        ),
    )
    .await
    .expect("key")
    .secret;
    let node = startup::start(store.clone(), options(true))
        .await
        .expect("node");
    let base = node.url();
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/v1/webhook_endpoints"))
        .bearer_auth(&key)
        .json(&json!({"url": hook, "events": ["payment.succeeded"]}))
        .send()
        .await
        .expect("endpoint");
    assert_eq!(res.status().as_u16(), 201);

    // 1. Latency at a steady rate of completions.
    println!("latency: {rate} completions/s for {secs} s on PostgreSQL");
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    while Instant::now() < until {
        ticker.tick().await;
        let (http, base, key) = (http.clone(), base.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let p: Value = http
                .post(format!("{base}/v1/payments"))
                .bearer_auth(&key)
                .json(&json!({"amount": "10.00", "currency": "PKR"}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let id = p["id"].as_str()?.to_string();
            http.post(format!("{base}/v1/test/payments/{id}/succeed"))
                .bearer_auth(&key)
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16())
        }));
    }
    let mut completed = 0;
    for t in tasks {
        if let Ok(Some(200)) = t.await {
            completed += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.got.lock().map(|g| g.len()).unwrap_or(0) < completed && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut lat: Vec<f64> = arrivals
        .got
        .lock()
        .map(|g| {
            g.iter()
                .map(|(_, created, at)| {
                    (*at - *created).num_microseconds().unwrap_or(0) as f64 / 1000.0
                })
                .collect()
        })
        .unwrap_or_default();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  completions: {completed}, webhooks received: {}, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );

    // 2. Peak: queue N events with an API-only node, then let a dispatching node drain them.
    node.shutdown().await.expect("stop");
    if let Ok(mut g) = arrivals.got.lock() {
        g.clear();
    }
    let quiet = startup::start(store.clone(), options(false))
        .await
        .expect("api node");
    let qbase = quiet.url();
    println!("peak: queueing {peak_n} events");
    let mut tasks = Vec::new();
    for i in 0..peak_n {
        let (http, qbase, key) = (http.clone(), qbase.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let p: Value = http
                .post(format!("{qbase}/v1/payments"))
                .bearer_auth(&key)
                .json(&json!({"amount": "10.00", "currency": "PKR"}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let id = p["id"].as_str()?.to_string();
            http.post(format!("{qbase}/v1/test/payments/{id}/succeed"))
                .bearer_auth(&key)
                .send()
                .await
                .ok()
        }));
        if tasks.len() >= 64 || i + 1 == peak_n {
            for t in tasks.drain(..) {
                let _ = t.await;
            }
        }
    }
    quiet.shutdown().await.expect("stop");
    let started = Instant::now();
    let drainer = startup::start(store.clone(), options(true))
        .await
        .expect("dispatching node");
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.got.lock().map(|g| g.len()).unwrap_or(0) < peak_n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    let n = arrivals.got.lock().map(|g| g.len()).unwrap_or(0);
    println!(
        "  delivered {n} of {peak_n} in {took:.2} s: {:.0} deliveries/s",
        n as f64 / took
    );
    drainer.shutdown().await.expect("stop");
    drop(store);
    if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
        let name = db.rsplit('/').next().unwrap_or_default().to_string();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await;
    }
}
