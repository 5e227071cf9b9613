//! A webhook receiver on 127.0.0.1 that records every request it gets and answers with a
//! status the test chooses.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Captured {
    pub headers: HeaderMap,
    pub body: String,
}

impl Captured {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
pub struct Inbox {
    pub got: Mutex<Vec<Captured>>,
    /// The status to answer with (200 unless set).
    pub status: AtomicU16,
    /// Milliseconds to wait before answering.
    pub delay_ms: AtomicU64,
}

impl Inbox {
    pub fn all(&self) -> Vec<Captured> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.got.lock().map(|g| g.len()).unwrap_or(0)
    }

    /// Waits (up to `secs`) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Captured> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while self.count() < n {
            if std::time::Instant::now() > deadline {
                panic!("the receiver got {} requests, expected {n}", self.count());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.all()
    }
}

pub struct Receiver {
    pub url: String,
    pub port: u16,
    pub inbox: Arc<Inbox>,
    task: tokio::task::JoinHandle<()>,
}

async fn record(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let delay = inbox.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Ok(mut got) = inbox.got.lock() {
        got.push(Captured {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    let status = match inbox.status.load(Ordering::Relaxed) {
        0 => StatusCode::OK,
        s => StatusCode::from_u16(s).unwrap_or(StatusCode::OK),
    };
    (status, "received")
}

impl Receiver {
    /// Listens on `port` (0: any free port), sharing `inbox` with earlier receivers.
    pub async fn start_on(port: u16, inbox: Arc<Inbox>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the receiver");
        let port = listener.local_addr().expect("addr").port();
        let app = axum::Router::new()
            .route("/hook", post(record))
            .with_state(inbox.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inbox,
            task,
        }
    }

    pub async fn start() -> Receiver {
        Receiver::start_on(0, Arc::new(Inbox::default())).await
    }

    /// Stops listening: connections are refused until a receiver starts on the port again.
    pub fn stop(self) -> (u16, Arc<Inbox>) {
        self.task.abort();
        (self.port, self.inbox.clone())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
