//! The state every handler gets. It is assembled in `startup.rs` from the configuration.

use super::client_addr::TrustedProxies;
use super::metrics::Metrics;
use crate::domain::audit::Origin;
use crate::service::keys::KeyCache;
use crate::service::ratelimit::RateLimiter;
use crate::service::reads::Reads;
use crate::service::throttle::SignInGuard;
use crate::service::usage::KeyUsage;
use crate::service::PaymentService;
use std::sync::Arc;

/// Settings of the wire dialects, read once at start (see `config.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct DialectSettings {
    /// The currency of Pakhi Pay amounts (`HUNDI_PAKHIPAY_CURRENCY`, default BDT).
    pub pakhipay_currency: crate::domain::money::Currency,
    /// How long a PayGate session lives, in seconds (`HUNDI_PAYGATE_SESSION_SECS`).
    pub paygate_session_secs: i64,
}

/// The state, shared: every request and every middleware layer takes a handle to it, so a
/// clone is one reference count rather than a copy of each service's handles.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }

    /// Where a request came from, for the audit log: the client (behind trusted proxies,
    /// the one they name) and its user agent.
    pub fn origin(
        &self,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Origin {
        let peer = extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let client = self.proxies.client(peer, headers);
        let agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Origin::new(client.map(|ip| ip.to_string()), agent)
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What the handlers reach through `AppState`.
pub struct Services {
    /// The service: every change, and the reads it hands out below.
    pub payments: PaymentService,
    /// Read-only queries for the pages and the API.
    pub reads: Reads,
    pub usage: Arc<KeyUsage>,
    pub metrics: Arc<Metrics>,
    /// Keys the checkout's CSRF tokens; shared by every node through the database.
    pub checkout_secret: Arc<Vec<u8>>,
    pub keys: Arc<KeyCache>,
    /// Seals and opens dialect credentials.
    pub secrets: crate::secrets::SecretBox,
    /// Request rate limits per key (and per client address for browser keys).
    pub rate_limits: Arc<RateLimiter>,
    /// Whose `X-Forwarded-For` names the client.
    pub proxies: Arc<TrustedProxies>,
    /// The dashboard's sign-in throttle and its ceiling on password checks.
    pub sign_in: Arc<SignInGuard>,
    pub dialects: Arc<DialectSettings>,
    /// Users' two-factor sign-in (secrets sealed with `secrets`).
    pub second_factors: crate::service::second_factor::SecondFactors,
    /// The dialects' credentials (sealed with `secrets`).
    pub credentials: crate::service::credentials::Credentials,
    /// The merchants' alert mailboxes (passwords sealed with `secrets`).
    pub mailboxes: crate::service::inbox::Mailboxes,
    /// What the checkout and the dashboard know of each payment source (from the registry).
    pub sources: Arc<crate::domain::source::Sources>,
    /// Checkout pages waiting for their payment to finish.
    pub waiting: Arc<crate::service::waiting::Waiting>,
}

impl axum::extract::FromRef<AppState> for Arc<TrustedProxies> {
    fn from_ref(state: &AppState) -> Arc<TrustedProxies> {
        state.proxies.clone()
    }
}
