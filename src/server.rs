//! Running Hundi: the HTTP server, its background workers, and a graceful stop.

use crate::api::{self, AppState};
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: String,
    /// The base of the URLs Hundi hands out (checkout links); defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// How often the expiry worker looks for overdue payments.
    pub expiry_interval: Duration,
    /// How often per-key request counts are written.
    pub usage_flush_interval: Duration,
    /// How often the expiry worker also deletes idempotency keys older than 24 hours.
    pub idempotency_purge_interval: Duration,
    /// Who may read `/metrics` (a bearer token) and how fresh its payment counts are.
    pub metrics: crate::api::metrics::MetricsAccess,
    /// Serves `/metrics` on this address only (not on `listen`).
    pub metrics_listen: Option<String>,
    pub webhooks: crate::webhooks::WebhookConfig,
    /// Whether this node delivers webhooks (an API-only node leaves it to others).
    pub dispatch_webhooks: bool,
    /// The master key of sealed secrets; every node of a deployment needs the same one.
    pub secrets: crate::secrets::SecretBox,
    /// The default per-key and per-address request rate limits.
    pub rate_limits: crate::service::ratelimit::RateLimitConfig,
    /// How long a looked-up API key is trusted (`HUNDI_KEY_CACHE_MS`, at most 60 s).
    pub key_cache: Duration,
    /// The proxies whose `X-Forwarded-For` names the client (`HUNDI_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::api::client_addr::TrustedProxies,
    /// The dashboard's sign-in throttle.
    pub sign_in: crate::dashboard::throttle::SignInPolicy,
    /// The dialects it speaks (a test adds its own).
    pub dialects: crate::dialects::Registry,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: "127.0.0.1:3000".into(),
            public_url: None,
            expiry_interval: Duration::from_secs(1),
            usage_flush_interval: Duration::from_secs(1),
            idempotency_purge_interval: Duration::from_secs(60),
            metrics: crate::api::metrics::MetricsAccess::default(),
            metrics_listen: None,
            webhooks: crate::webhooks::WebhookConfig::from_env(),
            dispatch_webhooks: true,
            secrets: crate::secrets::SecretBox::random(),
            rate_limits: crate::service::ratelimit::RateLimitConfig::from_env(),
            key_cache: api::auth::KeyCache::ttl_from(
                std::env::var("HUNDI_KEY_CACHE_MS").ok().as_deref(),
            ),
            trusted_proxies: Default::default(),
            sign_in: Default::default(),
            dialects: crate::dialects::registry(),
        }
    }
}

/// A server that is accepting requests.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when it has its own listener.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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

/// Binds, starts the workers and serves until told to stop.
pub async fn start(store: Arc<dyn Store>, opts: ServerOptions) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(&opts.listen).await?;
    let addr = listener.local_addr()?;
    let public_url = opts
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let secret = store
        .instance_secret("checkout_csrf", &crate::domain::ids::random_token(64))
        .await
        .map_err(std::io::Error::other)?;
    // Webhook secrets are sealed with the master key; rows from before are sealed now.
    let sealed = store
        .seal_endpoint_secrets(&opts.secrets)
        .await
        .map_err(std::io::Error::other)?;
    if sealed > 0 {
        tracing::info!(endpoints = sealed, "sealed webhook secrets stored in clear");
    }
    let mut state = AppState::new(store.clone(), public_url, secret.into_bytes());
    state.secrets = opts.secrets.clone();
    state.credentials =
        crate::service::credentials::Credentials::new(store.clone(), opts.secrets.clone());
    state.sources = Arc::new(opts.dialects.sources());
    state.dialects = opts.dialects.clone();
    state.rate_limits = Arc::new(crate::service::ratelimit::RateLimiter::new(
        store.clone(),
        opts.rate_limits.clone(),
    ));
    state.keys = Arc::new(api::auth::KeyCache::new(opts.key_cache));
    state.proxies = Arc::new(opts.trusted_proxies.clone());
    state.sign_in = Arc::new(crate::dashboard::throttle::SignInGuard::new(
        opts.sign_in.clone(),
    ));
    let metrics_listener = match &opts.metrics_listen {
        Some(address) => Some(TcpListener::bind(address).await?),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    state.metrics = Arc::new(crate::api::metrics::Metrics::new(
        crate::api::metrics::MetricsAccess {
            separate_listener: metrics_listener.is_some(),
            ..opts.metrics.clone()
        },
    ));
    state.payments = state
        .payments
        .clone()
        .allow_private_webhooks(opts.webhooks.allow_private);
    let (stop, stopped) = watch::channel(false);
    // Subscribed before the first request: a key revoked on another node is forgotten here.
    let key_changes = store.watch_keys().await.map_err(std::io::Error::other)?;
    let keys = tokio::spawn(state.keys.clone().follow(key_changes, stopped.clone()));

    let expiry = tokio::spawn(expiry_worker(
        state.clone(),
        opts.expiry_interval,
        opts.idempotency_purge_interval,
        stopped.clone(),
    ));
    let usage = tokio::spawn(usage_worker(
        state.clone(),
        opts.usage_flush_interval,
        stopped.clone(),
    ));
    let limits = tokio::spawn(rate_limit_worker(state.clone(), stopped.clone()));
    let dispatcher = crate::webhooks::Dispatcher::new(
        store.clone(),
        opts.webhooks.clone(),
        Box::new(crate::service::webhooks::endpoint_disabled_event),
        Arc::new(crate::dialects::formats::DialectFormats::new(
            state.credentials.clone(),
            state.dialects.clone(),
        )),
    )
    .map_err(std::io::Error::other)?;
    let webhooks = if opts.dispatch_webhooks {
        tokio::spawn(std::sync::Arc::new(dispatcher).run(stopped.clone()))
    } else {
        tokio::spawn(async {})
    };

    let metrics_server = match metrics_listener {
        Some(listener) => {
            let mut on_stop = stopped.clone();
            let app = api::metrics_router(state.clone());
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = on_stop.wait_for(|s| *s).await;
                    })
                    .await;
            })
        }
        None => tokio::spawn(async {}),
    };
    let app = api::router(state.clone());
    let mut on_stop = stopped.clone();
    let flush_state = state.clone();
    let task = tokio::spawn(async move {
        // The peer's address is what the sign-in throttle and the per-address rate limits count.
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = on_stop.wait_for(|s| *s).await;
        })
        .await;
        let _ = expiry.await;
        let _ = usage.await;
        let _ = limits.await;
        let _ = webhooks.await;
        let _ = keys.await;
        let _ = metrics_server.await;
        flush_state.usage.flush(&flush_state.store).await;
        served
    });
    Ok(RunningServer {
        addr,
        metrics_addr,
        state,
        stop,
        task,
    })
}

async fn expiry_worker(
    state: AppState,
    every: Duration,
    purge_every: Duration,
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

async fn usage_worker(state: AppState, every: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        let stop = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = stopped.changed() => true,
        };
        if stop {
            return;
        }
        state.usage.flush(&state.store).await;
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
