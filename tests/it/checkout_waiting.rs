//! Checkout pages waiting for their payment: one long-lived request each (`/pay/{id}/events`)
//! that hears the payment finish, on the node that finished it or, on PostgreSQL, on another;
//! bounded per client; ended when the server stops. And what else a stopping server waits for:
//! requests in flight, up to a bound.

use crate::common::{pay_by_card_with, Backend, TestApp};
use hundi::config::Config;
use hundi::service::waiting::WaitLimits;
use std::time::{Duration, Instant};

/// A waiting page's stream, read one event at a time.
struct Stream {
    res: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(http: &reqwest::Client, url: &str) -> Stream {
        let res = http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Stream {
            res,
            buffer: String::new(),
        }
    }

    /// The next status event's status; `None` when the stream ends.
    async fn next_status(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if !event.contains("event: status") {
                    continue; // a keep-alive comment
                }
                let data = event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                let v: serde_json::Value = serde_json::from_str(data).unwrap();
                return Some(v["status"].as_str().unwrap().to_string());
            }
            let chunk = self.res.chunk().await.unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// The page hears "pending" at once, then "succeeded" within a second of the payment, then
/// the stream ends. On PostgreSQL the customer pays through a second node (as behind a load
/// balancer), so the change reaches the waiting node by NOTIFY.
async fn a_waiting_page_hears_its_payment_finish(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = match backend {
        Backend::Postgres => {
            let opts = Config {
                listen: "127.0.0.1:0".into(),
                ..Config::default()
            };
            Some(
                hundi::startup::start(app.db.store().await, opts)
                    .await
                    .unwrap(),
            )
        }
        Backend::Sqlite => None,
    };
    let payer = second.as_ref().map(|s| s.url()).unwrap_or(app.url.clone());
    let p = app.payment("10.00").await;
    let id = p["id"].as_str().unwrap();
    let checkout = p["checkout_url"].as_str().unwrap();
    let mut stream = Stream::open(&app.http, &format!("{}/pay/{id}/events", app.url)).await;
    assert_eq!(stream.next_status().await.as_deref(), Some("pending"));

    let paid_at = Instant::now();
    let paid = pay_by_card_with(&app.http, &checkout.replace(&app.url, &payer)).await;
    assert!(paid.status().is_success() || paid.status().is_redirection());
    let heard = tokio::time::timeout(Duration::from_secs(5), stream.next_status())
        .await
        .expect("the change is heard");
    assert_eq!(heard.as_deref(), Some("succeeded"));
    assert!(
        paid_at.elapsed() < Duration::from_secs(1),
        "heard {:?} after the payment",
        paid_at.elapsed()
    );
    assert_eq!(stream.next_status().await, None, "the stream ends");

    // A page opened after the end hears the final status and the end at once.
    let mut late = Stream::open(&app.http, &format!("{}/pay/{id}/events", app.url)).await;
    assert_eq!(late.next_status().await.as_deref(), Some("succeeded"));
    assert_eq!(late.next_status().await, None);
    let missing = app
        .http
        .get(format!("{}/pay/pay_missing/events", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let long = format!("{}/pay/pay_{}/events", app.url, "0".repeat(4000));
    assert_eq!(app.http.get(long).send().await.unwrap().status(), 404);
}

/// A client may hold only so many waiting pages; one more is refused with a 503 that tells
/// the page to come back later (it then polls slowly), and a closed page frees its place.
async fn waiting_pages_are_bounded_per_client(backend: Backend) {
    let opts = Config {
        waiting: WaitLimits {
            total: 100,
            per_address: 2,
        },
        ..Config::default()
    };
    let app = TestApp::spawn_with(backend, opts).await;
    let p = app.payment("10.00").await;
    let url = format!("{}/pay/{}/events", app.url, p["id"].as_str().unwrap());
    let mut first = Stream::open(&app.http, &url).await;
    let mut second = Stream::open(&app.http, &url).await;
    assert_eq!(first.next_status().await.as_deref(), Some("pending"));
    assert_eq!(second.next_status().await.as_deref(), Some("pending"));
    let metrics = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hundi_checkout_waiting_pages 2"),
        "{metrics}"
    );
    let refused = app.http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    drop(first);
    // The server notices the closed connection when it next writes (a keep-alive comment at
    // the latest); until then the place is still taken.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app.http.get(&url).send().await.unwrap();
        if res.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed page's place came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A stopping server ends its waiting pages' streams, so it does not wait for them to stop.
async fn a_stopping_server_ends_waiting_pages(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let p = app.payment("10.00").await;
    let url = format!("{}/pay/{}/events", app.url, p["id"].as_str().unwrap());
    let mut stream = Stream::open(&app.http, &url).await;
    assert_eq!(stream.next_status().await.as_deref(), Some("pending"));
    let server = app.server.take().unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await;
    assert!(stopped.is_ok(), "the server stopped with a page waiting");
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.next_status()).await;
    assert!(matches!(ended, Ok(None)), "the stream ended");
}

/// A client that never finishes its request body does not hold a stopping server up: it is
/// cut off once the drain bound has passed.
async fn a_stopping_server_cuts_off_a_trickling_client(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let opts = Config {
        drain_timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let mut app = TestApp::spawn_with(backend, opts).await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"amount\"",
        app.shop.test_key
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = app.server.take().unwrap();
    let started = Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.shutdown()).await;
    assert!(stopped.is_ok(), "the server stopped");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "stopped after {took:?}: it waited for the request, but only up to the bound"
    );
    drop(socket);
}

on_both_backends!(
    a_stopping_server_cuts_off_a_trickling_client,
    a_waiting_page_hears_its_payment_finish,
    waiting_pages_are_bounded_per_client,
    a_stopping_server_ends_waiting_pages,
);
