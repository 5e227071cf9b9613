//! Rate limits over HTTP, for every front door that authenticates with an API key (the
//! native API and each dialect).
//!
//! A layer around the whole application notes each request's client address; whoever
//! authenticates a key calls [`admit`] before doing any work, and answers a refusal with 429
//! in its own error shape. The layer then writes the outcome on the response, whatever
//! shape it has: `RateLimit-Limit` (the bucket's size: a burst of twice the per-second
//! rate), `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the bucket is full) as
//! in the IETF draft "RateLimit header fields for HTTP", and `Retry-After` on a 429.

use crate::domain::key::ApiKey;
use crate::http::AppState;
use crate::service::ratelimit::{Decision, Limit};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

tokio::task_local! {
    /// The request being served on this task: its client address, and the rate-limit
    /// decision made for it (if a key was checked).
    static REQUEST: RequestLimits;
}

struct RequestLimits {
    client: Option<IpAddr>,
    decision: RefCell<Option<Decision>>,
}

/// The headers the layer writes, for CORS responses to expose to a page's script.
pub const HEADERS: [&str; 4] = [
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "retry-after",
];

/// A request refused for its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Whole seconds to wait (at least 1), as `Retry-After` says.
    pub retry_after_secs: u64,
}

/// Counts one request of `key` against its limits; call it once the key is known and
/// before any work. The response gets the `RateLimit-*` headers from the layer.
pub async fn admit(state: &AppState, key: &ApiKey) -> Result<(), Throttled> {
    let client = REQUEST.try_with(|r| r.client).ok().flatten();
    let decision = state.rate_limits.admit(key, client).await;
    keep(decision)
}

/// Keeps a decision for the layer to write its headers, and says whether it admits.
fn keep(decision: Decision) -> Result<(), Throttled> {
    let outcome = if decision.allowed {
        Ok(())
    } else {
        Err(Throttled {
            retry_after_secs: whole_seconds(decision.retry_after).max(1),
        })
    };
    let _ = REQUEST.try_with(|r| r.decision.replace(Some(decision)));
    outcome
}

/// Counts one request of a door that has no API key (the SMS forwarders' endpoint) in the
/// bucket `{door}:{client address}`, before any work; requests whose client is unknown share
/// the door's one bucket.
pub async fn admit_client(state: &AppState, door: &str, limit: Limit) -> Result<(), Throttled> {
    let client = REQUEST.try_with(|r| r.client).ok().flatten();
    let name = match client {
        Some(ip) => format!("{door}:{ip}"),
        None => door.to_string(),
    };
    match state.rate_limits.take(&name, limit).await {
        Some(decision) => keep(decision),
        None => Ok(()),
    }
}

/// The layer: runs the request with its client address at hand, then writes the headers
/// of the rate-limit decision made for it.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let limits = RequestLimits {
        // The same rule as the sign-in throttle: `X-Forwarded-For` counts only from a
        // proxy in `--trusted-proxies`.
        client: state.proxies.client(peer, req.headers()),
        decision: RefCell::new(None),
    };
    REQUEST
        .scope(limits, async move {
            let mut response = next.run(req).await;
            if let Ok(Some(decision)) = REQUEST.try_with(|r| r.decision.take()) {
                write_headers(response.headers_mut(), &decision);
            }
            response
        })
        .await
}

fn write_headers(headers: &mut HeaderMap, d: &Decision) {
    let mut put = |name: &'static str, value: u64| {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    };
    put("ratelimit-limit", u64::from(d.limit.burst));
    put("ratelimit-remaining", u64::from(d.remaining));
    put("ratelimit-reset", whole_seconds(d.reset));
    if !d.allowed {
        put("retry-after", whole_seconds(d.retry_after).max(1));
    }
}

/// Seconds, rounded up.
fn whole_seconds(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).try_into().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ratelimit::Limit;

    #[test]
    fn headers_say_the_bucket_and_when_to_retry() {
        let mut headers = HeaderMap::new();
        write_headers(
            &mut headers,
            &Decision {
                allowed: false,
                limit: Limit::per_second(100),
                remaining: 0,
                reset: Duration::from_millis(2000),
                retry_after: Duration::from_millis(10),
            },
        );
        let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(get("ratelimit-limit"), "200");
        assert_eq!(get("ratelimit-remaining"), "0");
        assert_eq!(get("ratelimit-reset"), "2");
        assert_eq!(get("retry-after"), "1");
    }
}
