//! `/metrics`: bounded labels whatever a client sends, a token the operator can require, its
//! own listener, and payment counts read at most once per cache window.

use crate::common::{Backend, TestApp};
use hundi::config::Config;
use hundi::http::metrics::MetricsAccess;
use std::time::Duration;

async fn scrape(app: &TestApp, url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = app.http.get(format!("{url}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("scrape");
    (res.status().as_u16(), res.text().await.expect("body"))
}

/// 200 requests with invented methods and raw paths add a constant number of lines.
async fn invented_methods_share_one_label(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = app.url.clone();
    // Warm up every label set the flood below may touch once.
    for path in ["/v1/payments", "/no/such/path"] {
        let method = reqwest::Method::from_bytes(b"WARMUP").unwrap();
        app.http
            .request(method, format!("{url}{path}"))
            .send()
            .await
            .unwrap();
    }
    let (_, before) = scrape(&app, &url, None).await;
    for i in 0..200 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let path = if i % 2 == 0 {
            "/v1/payments".to_string()
        } else {
            format!("/no/such/path/{i}")
        };
        let res = app
            .http
            .request(method, format!("{url}{path}"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error());
    }
    let (_, after) = scrape(&app, &url, None).await;
    let added = after.lines().count() as i64 - before.lines().count() as i64;
    eprintln!("200 invented methods added {added} lines to /metrics");
    assert!(
        added <= 40,
        "200 invented methods added {added} lines:\n{after}"
    );
    assert!(!after.contains("INVENTED"), "{after}");
    assert!(
        !after.contains("/no/such/path/"),
        "a raw path became a label:\n{after}"
    );
    assert!(after.contains(r#"method="other""#), "{after}");
}

/// With a metrics token, a scrape must send it.
async fn the_token_is_enforced(backend: Backend) {
    let opts = Config {
        metrics: MetricsAccess {
            token: Some("scrape-secret-1".into()),
            ..MetricsAccess::default()
        },
        ..Config::default()
    };
    let app = TestApp::spawn_with(backend, opts).await;
    let url = app.url.clone();
    assert_eq!(scrape(&app, &url, None).await.0, 401);
    assert_eq!(scrape(&app, &url, Some("scrape-secret-2")).await.0, 401);
    assert_eq!(scrape(&app, &url, Some(&app.shop.test_key)).await.0, 401);
    let (status, text) = scrape(&app, &url, Some("scrape-secret-1")).await;
    assert_eq!(status, 200);
    assert!(text.contains("hundi_http_requests_total"), "{text}");
}

/// With its own listener, `/metrics` is served there and not on the main address.
async fn metrics_on_their_own_address(backend: Backend) {
    let opts = Config {
        metrics_listen: Some("127.0.0.1:0".into()),
        ..Config::default()
    };
    let app = TestApp::spawn_with(backend, opts).await;
    let metrics_url = format!(
        "http://{}",
        app.server
            .as_ref()
            .unwrap()
            .metrics_addr
            .expect("a metrics address")
    );
    assert_eq!(scrape(&app, &app.url, None).await.0, 404);
    let (status, text) = scrape(&app, &metrics_url, None).await;
    assert_eq!(status, 200);
    assert!(text.contains("hundi_payments"), "{text}");
}

/// Scrapes within the cache window share one count of the payments.
async fn payment_counts_are_cached(backend: Backend) {
    let opts = Config {
        metrics: MetricsAccess {
            payments_cache: Duration::from_secs(3600),
            ..MetricsAccess::default()
        },
        ..Config::default()
    };
    let app = TestApp::spawn_with(backend, opts).await;
    app.payment("1.00").await;
    let metrics = app.server.as_ref().unwrap().state.metrics.clone();
    assert_eq!(metrics.payment_count_queries(), 0);
    let url = app.url.clone();
    let (_, first) = scrape(&app, &url, None).await;
    assert!(
        first.contains(r#"hundi_payments{status="pending",livemode="false"} 1"#),
        "{first}"
    );
    let scrapes = (0..10).map(|_| scrape(&app, &url, None));
    for (status, text) in futures::future::join_all(scrapes).await {
        assert_eq!(status, 200);
        assert!(text.contains(r#"hundi_payments{status="pending",livemode="false"} 1"#));
    }
    assert_eq!(
        metrics.payment_count_queries(),
        1,
        "eleven scrapes in one window ran the count more than once"
    );
}

on_both_backends!(payment_counts_are_cached);
on_sqlite!(
    invented_methods_share_one_label,
    the_token_is_enforced,
    metrics_on_their_own_address,
);
