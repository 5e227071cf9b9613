//! Prometheus metrics: requests by route and status, a latency histogram, payments by status.
//!
//! Every label is bounded: the method is one of the standard ones or `other`, the route is the
//! matched template (never the raw path), the status is one the server itself answered. The
//! payment counts (across all merchants) are read at most once per cache window, however
//! often `/metrics` is scraped. An operator protects the route with a bearer token
//! (`--metrics-token`) and/or serves it on its own address (`--metrics-listen`).

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PaymentLabels {
    status: String,
    livemode: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    payments: Family<PaymentLabels, Gauge>,
    /// Checkout pages holding a waiting stream on this node, read at each scrape.
    waiting_pages: Gauge,
    access: MetricsAccess,
    /// When the payment counts were last read; held while they are read, so concurrent
    /// scrapes share one query.
    payments_read_at: tokio::sync::Mutex<Option<Instant>>,
    payment_count_queries: AtomicU64,
}

/// Who may read `/metrics`, where, and how fresh its payment counts are.
#[derive(Debug, Clone)]
pub struct MetricsAccess {
    /// A scrape must send `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    /// Served on its own listener only (the main address answers 404).
    pub separate_listener: bool,
    /// The payment counts are read from the database at most once per this window.
    pub payments_cache: Duration,
}

impl Default for MetricsAccess {
    fn default() -> Self {
        MetricsAccess {
            token: None,
            separate_listener: false,
            payments_cache: Duration::from_secs(5),
        }
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(MetricsAccess::default())
    }
}

/// The methods that get their own label; anything else a client invents counts as `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// How many times the payment counts were read from the database.
    pub fn payment_count_queries(&self) -> u64 {
        self.payment_count_queries.load(Ordering::Relaxed)
    }

    pub fn access(&self) -> &MetricsAccess {
        &self.access
    }

    pub fn new(access: MetricsAccess) -> Self {
        let mut registry = Registry::with_prefix("hundi");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let payments = Family::<PaymentLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register("payments", "Payments by status", payments.clone());
        let waiting_pages = Gauge::default();
        registry.register(
            "checkout_waiting_pages",
            "Checkout pages waiting for their payment on this node",
            waiting_pages.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            payments,
            waiting_pages,
            access,
            payments_read_at: tokio::sync::Mutex::new(None),
            payment_count_queries: AtomicU64::new(0),
        }
    }

    /// Reads the payment counts unless they were read within the cache window.
    async fn refresh_payments(&self, service: &crate::service::PaymentService) {
        let mut read_at = self.payments_read_at.lock().await;
        if read_at.is_some_and(|at| at.elapsed() < self.access.payments_cache) {
            return;
        }
        self.payment_count_queries.fetch_add(1, Ordering::Relaxed);
        match service.count_payments_by_status().await {
            Ok(counts) => {
                self.payments.clear();
                for (status, livemode, n) in counts {
                    self.payments
                        .get_or_create(&PaymentLabels {
                            status,
                            livemode: livemode.to_string(),
                        })
                        .set(n);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not count payments for metrics"),
        }
        // A failed read is not retried before the window ends either: a scrape storm never
        // becomes a query storm.
        *read_at = Some(Instant::now());
    }

    /// Whether the request may read the metrics (the token, when one is set).
    fn allows(&self, headers: &axum::http::HeaderMap) -> bool {
        let Some(token) = &self.access.token else {
            return true;
        };
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// Records every request; the route is the matched pattern (`/v1/payments/{id}`), never the
/// raw path, so ids do not explode the label set.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method()).to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

pub async fn render(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if !state.metrics.allows(&headers) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            "the metrics need Authorization: Bearer <metrics token>\n",
        )
            .into_response();
    }
    state.metrics.refresh_payments(&state.payments).await;
    let waiting = i64::try_from(state.waiting.count()).unwrap_or(i64::MAX);
    state.metrics.waiting_pages.set(waiting);
    let mut body = String::new();
    if encode(&mut body, &state.metrics.registry).is_err() {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
