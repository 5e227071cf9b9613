//! Starting Hundi, in one place: the application's state built from the configuration
//! (`config.rs`), the whole router (every front door side by side), the background workers,
//! the listeners, and a graceful stop.

use crate::api;
use crate::config::Config;
use crate::http::AppState;
use crate::store::Store;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A server that is accepting requests.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Where plain HTTP answers ACME challenges and redirects, when serving HTTPS.
    pub port80_addr: Option<SocketAddr>,
    /// Where `/metrics` is served when it has its own listener.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        match self.port80_addr {
            Some(_) => format!("https://{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// Stops accepting, lets in-flight requests finish, stops the workers.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// Waits until the server ends (after `stop` fires).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// The application's state, from the configuration; every front door shares it.
pub fn app_state(
    store: Arc<dyn Store>,
    config: &Config,
    public_url: String,
    checkout_secret: Vec<u8>,
    metrics: crate::http::metrics::MetricsAccess,
) -> AppState {
    let payments = crate::service::PaymentService::new(store.clone(), public_url)
        .allow_private_webhooks(config.webhooks.allow_private);
    AppState::new(crate::http::state::Services {
        payments,
        reads: crate::service::reads::Reads::new(store.clone()),
        rate_limits: Arc::new(crate::service::ratelimit::RateLimiter::new(
            store.clone(),
            config.rate_limits.clone(),
        )),
        usage: Arc::default(),
        metrics: Arc::new(crate::http::metrics::Metrics::new(metrics)),
        checkout_secret: Arc::new(checkout_secret),
        keys: Arc::new(crate::service::keys::KeyCache::new(config.key_cache)),
        secrets: config.secrets.clone(),
        proxies: Arc::new(config.trusted_proxies.clone()),
        sign_in: Arc::new(crate::service::throttle::SignInGuard::new(
            config.sign_in.clone(),
        )),
        dialects: Arc::new(config.dialects.clone()),
        second_factors: crate::service::second_factor::SecondFactors::new(
            store.clone(),
            config.secrets.clone(),
        ),
        credentials: crate::service::credentials::Credentials::new(
            store.clone(),
            config.secrets.clone(),
        ),
        mailboxes: crate::service::inbox::Mailboxes::new(store, config.secrets.clone()),
        sources: Arc::new(config.registry.sources()),
        waiting: Arc::new(crate::service::waiting::Waiting::new(config.waiting)),
    })
}

static REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// The pages' refusal of a body they cannot take: plain text, as a browser shows it.
fn plain_refusal(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

/// The application served on the metrics address (`--metrics-listen`): `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(crate::http::metrics::render))
        .fallback(api::not_found)
        .with_state(state)
}

/// Every request gets an `x-request-id` (kept if the caller sent one, echoed in the response)
/// and a tracing span carrying it, so each log line names its request.
fn with_request_tracing(router: Router) -> Router {
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::trace::TraceLayer;
    fn span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
    }
    // Layers wrap outwards: the id is set first, then the span opens, then the id is echoed.
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(span as fn(&_) -> _))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

/// A panic in a handler is a bug; the caller still gets the API's error shape, not a reset.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    api::error::ApiError::internal().into_response()
}

/// Builds the whole HTTP application: the native API, the checkout, the dialects and the
/// dashboard side by side, under the shared layers (metrics, rate limits, body limit).
pub fn router(state: AppState, dialects: &crate::dialects::Registry) -> Router {
    use api::extract::with_small_body_limit;
    let mut app = api::router(&state)
        // Only the native API takes bodies up to 1 MiB; the other doors' requests are small.
        .merge(with_small_body_limit(
            crate::checkout::router(),
            plain_refusal,
        ));
    for dialect in dialects.all() {
        app = app.merge(with_small_body_limit(dialect.router(), dialect.refuse()));
    }
    let app = app
        .merge(with_small_body_limit(
            crate::dashboard::router(),
            plain_refusal,
        ))
        .fallback(api::not_found)
        .method_not_allowed_fallback(|| async {
            api::error::ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                "this route does not accept that method",
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::http::metrics::track,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            api::ratelimit::layer,
        ))
        .layer(DefaultBodyLimit::max(api::extract::BODY_LIMIT))
        .with_state(state);
    with_request_tracing(app)
}

/// Binds, starts the workers and serves until told to stop.
pub async fn start(store: Arc<dyn Store>, opts: Config) -> std::io::Result<RunningServer> {
    let listeners = Listeners::bind(&opts).await?;
    let public_url = match (&opts.public_url, &opts.https) {
        (Some(url), _) => url.clone(),
        (None, Some(https)) => https.public_url(listeners.addr.port()),
        (None, None) => format!("http://{}", listeners.addr),
    };
    let secret = prepare_store(&*store, &opts).await?;
    let metrics = crate::http::metrics::MetricsAccess {
        separate_listener: listeners.metrics.is_some(),
        ..opts.metrics.clone()
    };
    let state = app_state(
        store.clone(),
        &opts,
        public_url.clone(),
        secret.into_bytes(),
        metrics,
    );
    let (stop, stopped) = watch::channel(false);
    let mut workers = spawn_workers(&state, &store, &opts, &stopped).await?;
    workers.push(serve_metrics(listeners.metrics, &state, &stopped));
    let tls = listeners
        .port80
        .zip(opts.https.as_ref())
        .map(|(port80, https)| {
            let (front, renewal) = tls_front(https, port80, &public_url, &stopped);
            workers.push(renewal);
            front
        });
    let app = router(state.clone(), &opts.registry);
    let app = match tls {
        Some(_) => with_hsts(app),
        None => app,
    };
    let task = serve(
        (listeners.app, tls),
        app,
        workers,
        &state,
        store,
        stopped,
        opts.drain_timeout,
    );
    Ok(RunningServer {
        addr: listeners.addr,
        port80_addr: listeners.port80_addr,
        metrics_addr: listeners.metrics_addr,
        state,
        stop,
        task,
    })
}

/// The app's listener (HTTPS with a domain), port 80's with a domain, and, when `/metrics`
/// has its own address, the metrics listener.
struct Listeners {
    app: TcpListener,
    addr: SocketAddr,
    port80: Option<TcpListener>,
    port80_addr: Option<SocketAddr>,
    metrics: Option<TcpListener>,
    metrics_addr: Option<SocketAddr>,
}

impl Listeners {
    async fn bind(opts: &Config) -> std::io::Result<Listeners> {
        let app_address = match &opts.https {
            Some(https) => &https.https_listen,
            None => &opts.listen,
        };
        let app = TcpListener::bind(app_address).await?;
        let addr = app.local_addr()?;
        let port80 = match &opts.https {
            Some(https) => Some(TcpListener::bind(&https.http_listen).await?),
            None => None,
        };
        let port80_addr = match &port80 {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        let metrics = match &opts.metrics_listen {
            Some(address) => Some(TcpListener::bind(address).await?),
            None => None,
        };
        let metrics_addr = match &metrics {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        Ok(Listeners {
            app,
            addr,
            port80,
            port80_addr,
            metrics,
            metrics_addr,
        })
    }
}

/// Readies the database for serving: returns the checkout's CSRF secret (made on first start)
/// and seals webhook secrets stored in clear before the master key was used for them.
async fn prepare_store(store: &dyn Store, opts: &Config) -> std::io::Result<String> {
    let secret = store
        .instance_secret("checkout_csrf", &crate::domain::ids::random_token(64))
        .await
        .map_err(std::io::Error::other)?;
    let sealed = store
        .seal_endpoint_secrets(&opts.secrets)
        .await
        .map_err(std::io::Error::other)?;
    if sealed > 0 {
        tracing::info!(endpoints = sealed, "sealed webhook secrets stored in clear");
    }
    Ok(secret)
}

/// The background workers (expiry, usage, rate limits, roll-up, webhooks, key changes,
/// mailboxes), each ending
/// when `stopped` turns true.
async fn spawn_workers(
    state: &AppState,
    store: &Arc<dyn Store>,
    opts: &Config,
    stopped: &watch::Receiver<bool>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    // Subscribed before the first request: a key revoked on another node is forgotten here.
    let key_changes = store.watch_keys().await.map_err(std::io::Error::other)?;
    let keys = tokio::spawn(state.keys.clone().follow(key_changes, stopped.clone()));
    // Likewise payments other nodes complete wake this node's waiting checkout pages.
    let payment_changes = store
        .watch_payments()
        .await
        .map_err(std::io::Error::other)?;
    let waiting = tokio::spawn(
        state
            .waiting
            .clone()
            .follow(payment_changes, stopped.clone()),
    );

    let expiry = tokio::spawn(expiry_worker(
        state.clone(),
        opts.expiry_interval,
        (opts.idempotency_purge_interval, opts.retention),
        stopped.clone(),
    ));
    let usage = tokio::spawn(usage_worker(
        state.clone(),
        store.clone(),
        opts.usage_flush_interval,
        stopped.clone(),
    ));
    let limits = tokio::spawn(rate_limit_worker(state.clone(), stopped.clone()));
    let rollup = tokio::spawn(rollup_worker(
        state.clone(),
        opts.rollup_interval,
        stopped.clone(),
    ));
    let dispatcher = crate::webhooks::Dispatcher::new(
        store.clone(),
        opts.webhooks.clone(),
        Box::new(crate::service::webhooks::endpoint_disabled_event),
        Arc::new(crate::dialects::formats::DialectFormats::new(
            state.credentials.clone(),
            opts.registry.clone(),
        )),
    )
    .map_err(std::io::Error::other)?;
    let webhooks = if opts.dispatch_webhooks {
        tokio::spawn(std::sync::Arc::new(dispatcher).run(stopped.clone()))
    } else {
        tokio::spawn(async {})
    };
    let mailboxes = spawn_readers(state, opts, stopped)?;
    let receipts = spawn_receipts(store, opts, stopped)?;
    Ok(vec![
        expiry, usage, limits, rollup, webhooks, keys, waiting, mailboxes, receipts,
    ])
}

/// The receipt sender (`receipts/`), when a mail server is set, until `stopped` turns true.
fn spawn_receipts(
    store: &Arc<dyn Store>,
    opts: &Config,
    stopped: &watch::Receiver<bool>,
) -> std::io::Result<JoinHandle<()>> {
    Ok(match &opts.receipts {
        Some(config) => {
            let sender = crate::receipts::Sender::new(store.clone(), config)
                .map_err(std::io::Error::other)?;
            tokio::spawn(sender.run(stopped.clone()))
        }
        None => tokio::spawn(async {}),
    })
}

/// The readers of the merchants' alert mailboxes (`inbox/`), until `stopped` turns true.
fn spawn_readers(
    state: &AppState,
    opts: &Config,
    stopped: &watch::Receiver<bool>,
) -> std::io::Result<JoinHandle<()>> {
    let readers = crate::inbox::Readers::new(
        state.mailboxes.clone(),
        state.payments.clone(),
        opts.inbox.clone(),
    )
    .map_err(std::io::Error::other)?;
    Ok(tokio::spawn(Arc::new(readers).run(stopped.clone())))
}

/// With a domain: what serving HTTPS needs (the certificate's resolver, the challenges port
/// 80 answers) and the worker that obtains and renews the certificate.
fn tls_front(
    https: &crate::tls::HttpsConfig,
    port80: TcpListener,
    public_url: &str,
    stopped: &watch::Receiver<bool>,
) -> (crate::tls::TlsFront, JoinHandle<()>) {
    let resolver = crate::tls::CertResolver::new();
    let challenges = crate::tls::Challenges::default();
    let renewal = tokio::spawn(crate::tls::renewal_worker(
        https.clone(),
        resolver.clone(),
        challenges.clone(),
        stopped.clone(),
    ));
    let front = crate::tls::TlsFront {
        resolver,
        challenges,
        port80,
        https_base: public_url.to_string(),
    };
    (front, renewal)
}

/// Browsers that reached the node over HTTPS keep to it for a year (RFC 6797).
fn with_hsts(app: Router) -> Router {
    use axum::http::{header, HeaderValue};
    app.layer(
        tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ),
    )
}

/// `/metrics` on its own listener, when it has one, until `stopped` turns true.
fn serve_metrics(
    listener: Option<TcpListener>,
    state: &AppState,
    stopped: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    let Some(listener) = listener else {
        return tokio::spawn(async {});
    };
    let mut on_stop = stopped.clone();
    let app = metrics_router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = on_stop.wait_for(|s| *s).await;
            })
            .await;
    })
}

/// Serves the app until `stopped` turns true, then waits for the workers and flushes the
/// request counts they had not written yet.
fn serve(
    (listener, tls): (TcpListener, Option<crate::tls::TlsFront>),
    app: Router,
    workers: Vec<JoinHandle<()>>,
    state: &AppState,
    store: Arc<dyn Store>,
    stopped: watch::Receiver<bool>,
    drain: Duration,
) -> JoinHandle<std::io::Result<()>> {
    let mut on_stop = stopped.clone();
    let mut drain_bound = stopped;
    let flush_state = state.clone();
    let waiting = state.waiting.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = on_stop.wait_for(|s| *s).await;
            // Waiting checkout pages end their streams, so their connections can close.
            waiting.close();
        };
        let serving: futures::future::BoxFuture<'static, std::io::Result<()>> = match tls {
            Some(front) => Box::pin(crate::tls::serve_tls(listener, app, front, shutdown)),
            // The peer's address is what the sign-in throttle and the per-address rate limits
            // count; `serve_http1` passes it on as `ConnectInfo`.
            None => Box::pin(crate::http::serve::serve_http1(listener, app, shutdown)),
        };
        // A request still running `drain` after the stop (a client trickling its body, say)
        // does not hold the node up: it is cut off when the process ends.
        let served = tokio::select! {
            served = serving => served,
            _ = async {
                let _ = drain_bound.wait_for(|s| *s).await;
                tokio::time::sleep(drain).await;
            } => {
                tracing::warn!(?drain, "requests still running after the stop were cut off");
                Ok(())
            }
        };
        for worker in workers {
            let _ = worker.await;
        }
        flush_state.usage.flush(&store).await;
        served
    })
}

async fn expiry_worker(
    state: AppState,
    every: Duration,
    (purge_every, retention): (Duration, crate::domain::retention::Retention),
    mut stopped: watch::Receiver<bool>,
) {
    const BATCH: u32 = 500;
    let mut purged_at: Option<tokio::time::Instant> = None;
    loop {
        // Idempotency keys live 24 hours; their purge rides this worker at its own pace.
        if purged_at.is_none_or(|at| at.elapsed() >= purge_every) {
            purged_at = Some(tokio::time::Instant::now());
            match state
                .payments
                .purge_idempotency_keys(chrono::Utc::now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged idempotency keys older than 24 hours"),
                Err(e) => tracing::warn!(error = %e, "could not purge idempotency keys"),
            }
            // Webhook history past its keep (HUNDI_KEEP_*), a small batch at a time.
            match state
                .payments
                .prune(&retention, Duration::from_millis(20))
                .await
            {
                Ok(p) if p.is_empty() => {}
                Ok(p) => tracing::info!(
                    attempts = p.attempts,
                    deliveries = p.deliveries,
                    events = p.events,
                    "pruned webhook history past its keep"
                ),
                Err(e) => tracing::warn!(error = %e, "could not prune webhook history"),
            }
        }
        loop {
            match state.payments.expire_due(BATCH).await {
                Ok(n) if n as u32 == BATCH => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(expired = n, "expired overdue payments");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "expiry worker could not expire payments");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Keeps the overview's roll-up current; while older hours remain to fill in (the first
/// start on a database with payments), it comes back at once after a short pause.
async fn rollup_worker(state: AppState, every: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        let wait = match state.payments.roll_up(Duration::from_millis(500)).await {
            Ok(true) => Duration::from_millis(20),
            Ok(false) => every,
            Err(e) => {
                tracing::warn!(error = %e, "could not bring the overview's roll-up up to date");
                every
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
    }
}

async fn usage_worker(
    state: AppState,
    store: Arc<dyn Store>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let stop = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = stopped.changed() => true,
        };
        if stop {
            return;
        }
        state.usage.flush(&store).await;
    }
}

/// Forgets idle rate-limit buckets now and then, so their maps stay small.
async fn rate_limit_worker(state: AppState, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stopped.changed() => return,
        }
        state.rate_limits.maintain().await;
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
