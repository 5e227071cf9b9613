//! Webhook delivery: a dispatcher that leases due deliveries, signs them (Standard Webhooks),
//! sends the event's stored bytes, logs every attempt and schedules retries.

mod leases;
pub mod ssrf;

use crate::domain::ids::new_id;
use crate::domain::webhook::{sign, Endpoint};
pub use crate::store::DeliveryJob;
use crate::store::{AttemptLog, DeliveryOutcome, FinishedDelivery, NewEvent, Store};
use dashmap::DashMap;
use leases::Leases;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Waits before each retry; after the last, the delivery is marked failed.
    pub retry_schedule: Vec<Duration>,
    pub timeout: Duration,
    /// How long a dispatcher holds a delivery; longer than `timeout`.
    pub lease: Duration,
    /// Lets webhooks reach private and loopback addresses (development and tests only).
    pub allow_private: bool,
    /// Deliveries in flight to one endpoint at most, so a slow one delays no other.
    pub per_endpoint: usize,
    /// Deliveries in flight in all.
    pub in_flight: usize,
    /// How often to look for due deliveries without a wake-up.
    pub poll_interval: Duration,
    /// An endpoint failing for this long is disabled.
    pub disable_after: Duration,
    /// How often to look for endpoints to disable.
    pub sweep_interval: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let mins = |m: u64| Duration::from_secs(60 * m);
        WebhookConfig {
            retry_schedule: vec![
                Duration::from_secs(5),
                mins(5),
                mins(30),
                mins(120),
                mins(300),
                mins(600),
                mins(600),
            ],
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            allow_private: false,
            per_endpoint: 16,
            in_flight: 512,
            poll_interval: Duration::from_secs(1),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            sweep_interval: Duration::from_secs(60),
        }
    }
}

impl WebhookConfig {
    /// Reads `HUNDI_ALLOW_PRIVATE_WEBHOOKS`, `HUNDI_WEBHOOK_RETRY_SCHEDULE` (seconds, comma
    /// separated), `HUNDI_WEBHOOK_TIMEOUT_MS`, `HUNDI_WEBHOOK_LEASE_SECS` and
    /// `HUNDI_WEBHOOK_DISABLE_AFTER_SECS` over the defaults.
    /// `var` names a setting's value (`config.rs` reads them from the environment once).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> WebhookConfig {
        let mut c = WebhookConfig::default();
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = var("HUNDI_ALLOW_PRIVATE_WEBHOOKS") {
            c.allow_private = matches!(v.trim(), "1" | "true" | "yes");
        }
        if let Some(v) = var("HUNDI_WEBHOOK_RETRY_SCHEDULE") {
            let parsed: Option<Vec<Duration>> = v
                .split(',')
                .map(|s| s.trim().parse::<f64>().ok().map(Duration::from_secs_f64))
                .collect();
            if let Some(schedule) = parsed {
                c.retry_schedule = schedule;
            }
        }
        if let Some(ms) = var("HUNDI_WEBHOOK_TIMEOUT_MS").and_then(|v| v.parse().ok()) {
            c.timeout = Duration::from_millis(ms);
        }
        if let Some(s) = var("HUNDI_WEBHOOK_LEASE_SECS").and_then(|v| v.parse().ok()) {
            c.lease = Duration::from_secs(s);
        }
        if let Some(s) = var("HUNDI_WEBHOOK_DISABLE_AFTER_SECS").and_then(|v| v.parse().ok()) {
            c.disable_after = Duration::from_secs(s);
        }
        c
    }
}

/// What an endpoint's format makes of one delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// Send the event's stored bytes, signed the Standard Webhooks way.
    Native,
    /// Send this body with these headers (a dialect's webhook).
    Dialect {
        body: String,
        headers: Vec<(String, String)>,
        accept: Acceptance,
    },
    /// This format has no webhook for this event; nothing is sent.
    Skip(String),
}

/// Which answers complete a dialect's delivery, and which end it for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Any 2xx completes it; anything else is retried.
    Any2xx,
    /// Only 200 completes it (Waypay: "retried until 200").
    Only200,
    /// 2xx completes it; a 4xx is a final answer, never retried (Kazawallet's "only one time").
    FinalOn4xx,
}

/// Turns a delivery into what is sent, for endpoints whose format is not native.
#[async_trait::async_trait]
pub trait Formats: Send + Sync {
    /// `Err` means it cannot be built now (say, a credential is missing): retried later.
    async fn render(&self, job: &DeliveryJob) -> Result<Rendered, String>;
}

/// Every delivery in Hundi's own format.
pub struct NativeOnly;

#[async_trait::async_trait]
impl Formats for NativeOnly {
    async fn render(&self, _job: &DeliveryJob) -> Result<Rendered, String> {
        Ok(Rendered::Native)
    }
}

/// Deliveries in flight per endpoint: one semaphore per endpoint that has a delivery in flight
/// or waiting. An entry is dropped when its last delivery is done, so the map holds at most as
/// many entries as deliveries in flight, however many endpoints (every Pakhi Pay or Waypay
/// callback URL is one) were ever delivered to.
struct EndpointGates {
    per_endpoint: usize,
    gates: DashMap<String, Arc<Semaphore>>,
}

/// One delivery's place at its endpoint; leaving it drops the endpoint's entry if no other
/// delivery holds or awaits it.
struct GatePass<'a> {
    gates: &'a EndpointGates,
    endpoint_id: String,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl EndpointGates {
    fn new(per_endpoint: usize) -> EndpointGates {
        EndpointGates {
            per_endpoint,
            gates: DashMap::new(),
        }
    }

    /// Waits up to `wait` for a place at the endpoint.
    async fn enter(&self, endpoint_id: &str, wait: Duration) -> Option<GatePass<'_>> {
        let gate = self
            .gates
            .entry(endpoint_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint)))
            .clone();
        let permit = tokio::time::timeout(wait, gate.acquire_owned()).await;
        // Built either way: dropping it without a permit prunes the entry.
        let mut pass = GatePass {
            gates: self,
            endpoint_id: endpoint_id.to_string(),
            permit: None,
        };
        match permit {
            Ok(Ok(permit)) => {
                pass.permit = Some(permit);
                Some(pass)
            }
            _ => None,
        }
    }

    /// Drops the endpoint's entry unless another delivery holds a reference to it: every
    /// reference is taken under the map's lock, so the count cannot grow while it is checked.
    fn prune(&self, endpoint_id: &str) {
        self.gates
            .remove_if(endpoint_id, |_, gate| Arc::strong_count(gate) == 1);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.gates.len()
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        // The permit holds a reference to the semaphore: release it first.
        self.permit.take();
        self.gates.prune(&self.endpoint_id);
    }
}

/// What one attempt came to.
struct Sent {
    /// Not sent at all (the format has no webhook for the event).
    skipped: bool,
    accept: Acceptance,
    status: Option<u16>,
    body: Option<String>,
    error: Option<String>,
    latency: Duration,
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    config: WebhookConfig,
    client: reqwest::Client,
    endpoints: EndpointGates,
    in_flight: Arc<Semaphore>,
    /// Builds the `webhook_endpoint.disabled` event.
    disabled_event: Box<dyn Fn(&Endpoint) -> NewEvent + Send + Sync>,
    formats: Arc<dyn Formats>,
    /// Results wait here to be written in batches (one transaction for many attempts).
    results: tokio::sync::mpsc::Sender<FinishedDelivery>,
    pending_results: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<FinishedDelivery>>>,
    /// What this node has leased and not finished, for handing back on a stop.
    leases: Arc<Leases>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        config: WebhookConfig,
        disabled_event: Box<dyn Fn(&Endpoint) -> NewEvent + Send + Sync>,
        formats: Arc<dyn Formats>,
    ) -> Result<Dispatcher, reqwest::Error> {
        let client = http_client(&config)?;
        let (results, pending) = tokio::sync::mpsc::channel(4096);
        Ok(Dispatcher {
            results,
            pending_results: std::sync::Mutex::new(Some(pending)),
            leases: Arc::default(),
            in_flight: Arc::new(Semaphore::new(config.in_flight)),
            store,
            endpoints: EndpointGates::new(config.per_endpoint),
            config,
            client,
            disabled_event,
            formats,
        })
    }

    /// Runs until `stopped` turns true; then deliveries in flight finish (`drain`) and the
    /// ones leased but not sent are handed back for another node to send at once.
    pub async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        const BATCH: u32 = 256;
        let signal = match self.store.watch_deliveries().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "no delivery notifications; polling only");
                Arc::new(tokio::sync::Notify::new())
            }
        };
        let writer = self
            .pending_results
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .map(|r| tokio::spawn(write_results(self.store.clone(), self.leases.clone(), r)));
        let mut last_sweep = Instant::now();
        loop {
            if *stopped.borrow() {
                self.drain().await;
                drop(writer);
                return;
            }
            let now = crate::domain::now();
            let lease = chrono::Duration::from_std(self.config.lease).unwrap_or_default();
            let until = now + lease;
            let claimed = match self.store.claim_deliveries(now, until, BATCH).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim deliveries");
                    Vec::new()
                }
            };
            let full = claimed.len() as u32 == BATCH;
            self.leases.claimed(&claimed, until);
            for job in claimed {
                let (me, stopped) = (self.clone(), stopped.clone());
                tokio::spawn(async move { me.deliver(job, stopped).await });
            }
            if last_sweep.elapsed() > self.config.sweep_interval {
                last_sweep = Instant::now();
                self.disable_failing().await;
            }
            if full && self.in_flight.available_permits() > 0 {
                continue;
            }
            tokio::select! {
                _ = signal.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = stopped.changed() => {
                    self.drain().await;
                    drop(writer);
                    return;
                }
            }
        }
    }

    /// On a graceful stop: let deliveries in flight finish (each request ends within the
    /// timeout) and their results be written (up to `RESULTS_WAIT`), so nothing already sent
    /// is sent again; then hand back every lease still held for a delivery not sent (or whose
    /// request was cut short), so other nodes take it now rather than when the lease ends.
    /// Bounded: the timeout plus `RESULTS_WAIT` plus `HAND_BACK_WAIT`.
    async fn drain(&self) {
        const RESULTS_WAIT: Duration = Duration::from_secs(2);
        const HAND_BACK_WAIT: Duration = Duration::from_secs(2);
        let all = self.config.in_flight as u32;
        let _ = tokio::time::timeout(self.config.timeout, self.in_flight.acquire_many(all)).await;
        let deadline = Instant::now() + RESULTS_WAIT;
        while self.leases.results_pending() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = tokio::time::timeout(HAND_BACK_WAIT, self.hand_back()).await;
    }

    /// Clears this node's leases of the deliveries it has not finished sending.
    async fn hand_back(&self) {
        for (until, ids) in self.leases.unfinished() {
            match self.store.release_deliveries(&ids, until).await {
                Ok(n) => {
                    ids.iter().for_each(|id| self.leases.forget(id));
                    if n > 0 {
                        tracing::info!(deliveries = n, "handed back leased deliveries");
                    }
                }
                // They wait out their lease, as after a crash.
                Err(e) => {
                    tracing::warn!(error = %e, n = ids.len(), "could not hand back leased deliveries")
                }
            }
        }
    }

    async fn disable_failing(&self) {
        let now = crate::domain::now();
        let after = chrono::Duration::from_std(self.config.disable_after).unwrap_or_default();
        match self
            .store
            .disable_failing_endpoints(now - after, now, &*self.disabled_event)
            .await
        {
            Ok(disabled) => {
                for e in disabled {
                    tracing::warn!(endpoint = %e.id, url = %e.url, "disabled a webhook endpoint that kept failing");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not disable failing endpoints"),
        }
    }

    /// A place to send from: one of the node's places in flight and one at the endpoint.
    async fn admit(&self, endpoint_id: &str) -> Option<(OwnedSemaphorePermit, GatePass<'_>)> {
        let global = self.in_flight.clone().acquire_owned().await.ok()?;
        // A busy endpoint waits its turn, but never longer than its lease allows.
        let wait = self.config.lease.saturating_sub(self.config.timeout * 2);
        let slot = self.endpoints.enter(endpoint_id, wait).await?;
        Some((global, slot))
    }

    async fn deliver(&self, job: DeliveryJob, mut stopped: watch::Receiver<bool>) {
        let admitted = tokio::select! {
            biased;
            // A stopping node starts no request: the lease is handed back by `drain`.
            _ = stopped.wait_for(|s| *s) => return,
            admitted = self.admit(&job.endpoint_id) => admitted,
        };
        let Some((_global, _slot)) = admitted else {
            self.leases.forget(&job.delivery_id);
            return; // the lease runs out and the delivery is picked up again
        };
        self.leases.sending(&job.delivery_id);
        let sent = self.send(&job).await;
        let ok = match (sent.accept, sent.status) {
            (Acceptance::Only200, Some(s)) => s == 200,
            (_, Some(s)) => (200..300).contains(&s),
            (_, None) => false,
        };
        let refused = sent.accept == Acceptance::FinalOn4xx
            && sent.status.is_some_and(|s| (400..500).contains(&s));
        let attempted_at = crate::domain::now();
        let outcome = if sent.skipped {
            DeliveryOutcome::Skipped
        } else if ok {
            DeliveryOutcome::Succeeded
        } else if refused {
            DeliveryOutcome::Declined
        } else {
            match self.config.retry_schedule.get(job.attempts.max(0) as usize) {
                Some(wait) => DeliveryOutcome::Retry {
                    at: attempted_at + chrono::Duration::from_std(*wait).unwrap_or_default(),
                },
                None => DeliveryOutcome::Failed,
            }
        };
        let log = AttemptLog {
            id: new_id("wha"),
            attempted_at,
            status_code: sent.status.map(i32::from),
            latency_ms: sent.latency.as_millis().min(i32::MAX as u128) as i32,
            response_body: sent.body,
            error: sent.error,
        };
        // If this result is lost (crash, database down), the lease runs out and the delivery
        // is sent again: at least once.
        self.leases.sent(&job.delivery_id);
        let delivery_id = job.delivery_id.clone();
        let finished = FinishedDelivery { job, log, outcome };
        if self.results.send(finished).await.is_err() {
            self.leases.forget(&delivery_id);
        }
    }

    async fn send(&self, job: &DeliveryJob) -> Sent {
        let started = Instant::now();
        let failed = |error: String| Sent {
            skipped: false,
            accept: Acceptance::Any2xx,
            status: None,
            body: None,
            error: Some(error),
            latency: started.elapsed(),
        };
        let url = match url::Url::parse(&job.url) {
            Ok(u) => u,
            Err(e) => return failed(format!("invalid URL: {e}")),
        };
        if let Err(e) = ssrf::check_literal(&url, self.config.allow_private) {
            return failed(e.to_string());
        }
        let rendered = if job.format == crate::domain::webhook::FORMAT_NATIVE {
            Rendered::Native
        } else {
            // A bug in a dialect's renderer fails this attempt (logged, retried), not the task.
            use futures::FutureExt;
            match std::panic::AssertUnwindSafe(self.formats.render(job))
                .catch_unwind()
                .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return failed(format!("could not build the webhook: {e}")),
                Err(_) => {
                    tracing::error!(delivery = %job.delivery_id, format = %job.format, "building a webhook panicked");
                    return failed("could not build the webhook: internal error".into());
                }
            }
        };
        let (request, accept) = match rendered {
            Rendered::Skip(reason) => {
                return Sent {
                    skipped: true,
                    ..failed(format!("not sent: {reason}"))
                }
            }
            Rendered::Native => (self.native_request(url, job), Acceptance::Any2xx),
            Rendered::Dialect {
                body,
                headers,
                accept,
            } => {
                let mut request = self
                    .client
                    .post(url)
                    .header("content-type", "application/json");
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                (request.body(body), accept)
            }
        };
        let res = request.send().await;
        let mut res = match res {
            Ok(r) => r,
            Err(e) => return failed(describe(&e)),
        };
        let status = res.status().as_u16();
        let mut snippet = Vec::new();
        while snippet.len() < 1024 {
            match res.chunk().await {
                Ok(Some(chunk)) => snippet.extend_from_slice(&chunk),
                _ => break,
            }
        }
        snippet.truncate(1024);
        Sent {
            skipped: false,
            accept,
            status: Some(status),
            body: Some(String::from_utf8_lossy(&snippet).into_owned()),
            error: None,
            latency: started.elapsed(),
        }
    }
}

impl Dispatcher {
    /// The event's stored bytes with Standard Webhooks headers, signed with the endpoint's
    /// secret (and its previous one during a rotation's grace period).
    fn native_request(&self, url: url::Url, job: &DeliveryJob) -> reqwest::RequestBuilder {
        let timestamp = chrono::Utc::now().timestamp();
        let body = job.payload.as_bytes();
        let mut signatures: Vec<String> = [Some(&job.secret), job.previous_secret.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|s| sign(s, &job.event_id, timestamp, body))
            .collect();
        signatures.dedup();
        self.client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &job.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(job.payload.clone())
    }
}

/// The client that sends webhooks. It connects only to addresses the SSRF guard's resolver
/// passed, and never through a proxy: `HTTP(S)_PROXY`/`ALL_PROXY` in the environment would
/// hand the target's name to the proxy, which resolves and connects to it unchecked.
fn http_client(config: &WebhookConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(ssrf::GuardedResolver {
            allow_private: config.allow_private,
        }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .user_agent("Hundi-Webhooks/1.0")
        .pool_max_idle_per_host(config.per_endpoint)
        .build()
}

/// Writes attempt results in batches: whatever has finished by the time the last batch is
/// written goes into the next one.
async fn write_results(
    store: Arc<dyn Store>,
    leases: Arc<Leases>,
    mut results: tokio::sync::mpsc::Receiver<FinishedDelivery>,
) {
    const MAX: usize = 512;
    loop {
        // Waits for one result, then takes every other one already finished.
        let mut batch = Vec::new();
        if results.recv_many(&mut batch, MAX).await == 0 {
            return;
        }
        if let Err(e) = store.finish_deliveries(&batch).await {
            tracing::warn!(error = %e, n = batch.len(), "could not record deliveries; they will be sent again");
        }
        // Written or lost, this node is done with them: a lost result's lease runs out.
        batch
            .iter()
            .for_each(|done| leases.forget(&done.job.delivery_id));
    }
}

/// A readable cause for a failed request (reqwest's display hides the source).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-endpoint gates hold an entry only while a delivery needs it: a stream of one-off
    /// endpoints (callback URLs) leaves the map empty, while the limit per endpoint holds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn endpoint_gates_are_pruned_and_still_limit() {
        let gates = Arc::new(EndpointGates::new(2));
        let mut tasks = Vec::new();
        for i in 0..2000 {
            let gates = gates.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("we_{}", i % 500);
                let pass = gates.enter(&id, Duration::from_secs(5)).await;
                assert!(pass.is_some());
                tokio::time::sleep(Duration::from_millis(1)).await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(gates.len(), 0, "no entry outlives its deliveries");
        // Two in flight at one endpoint: a third waits and gives up; the entry stays while
        // the two hold it, and goes with the last of them.
        let first = gates.enter("we_x", Duration::from_millis(10)).await;
        let second = gates.enter("we_x", Duration::from_millis(10)).await;
        assert!(first.is_some() && second.is_some());
        assert!(gates
            .enter("we_x", Duration::from_millis(50))
            .await
            .is_none());
        assert_eq!(gates.len(), 1);
        drop(first);
        assert_eq!(gates.len(), 1);
        assert!(gates
            .enter("we_x", Duration::from_millis(10))
            .await
            .is_some());
        drop(second);
        assert_eq!(gates.len(), 0);
    }

    /// A proxy named in the environment is not used: the request to a name that resolves
    /// nowhere fails here instead of being handed to the proxy, which would resolve it (and
    /// reach whatever it points to) past the guard.
    #[tokio::test]
    async fn webhooks_never_go_through_a_proxy_from_the_environment() {
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = reached.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = proxy.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                use tokio::io::AsyncWriteExt;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        // No other test of this crate's unit tests builds a client from the environment.
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            std::env::set_var(var, &proxy_url);
        }
        let client = http_client(&WebhookConfig {
            timeout: Duration::from_secs(2),
            ..WebhookConfig::default()
        });
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            std::env::remove_var(var);
        }
        let sent = client
            .unwrap()
            .post("http://hook.invalid/webhook")
            .body("{}")
            .send()
            .await;
        assert!(sent.is_err(), "a name that resolves nowhere is not reached");
        assert_eq!(
            reached.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "the proxy was never asked"
        );
    }
}
