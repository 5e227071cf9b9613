//! `GET /pay/{id}/events`: an open checkout page learns that its payment finished through one
//! long-lived response (Server-Sent Events) that sleeps until the payment changes
//! (`service/waiting.rs`), instead of asking twice a second. Each event is `event: status`
//! with `data: {"status":"…"}`: the status when the stream opens, then each change. The
//! stream ends once the payment is no longer pending, after `LONGEST`, or when the server
//! stops; the browser's EventSource then opens it again by itself. Too many waiting pages
//! get a 503, and the page falls back to polling `/pay/{id}/status` slowly.

use super::{service_error, unknown_payment};
use crate::domain::payment::PaymentStatus;
use crate::http::client_addr::ClientAddr;
use crate::http::AppState;
use crate::service::waiting::{Waiter, Wake};
use crate::service::ServiceError;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::Instant;

/// The longest one stream stays open (the browser reconnects after it).
const LONGEST: Duration = Duration::from_secs(600);
/// Longer than any payment id (`pay_` and 32 hex digits).
const LONGEST_ID: usize = 128;
/// A comment this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: ClientAddr,
    visit: super::visit::Visit,
) -> Response {
    // An id no payment can have is not registered at all: the registry holds each waiting
    // page's id, and the path's length is the caller's to choose.
    if id.len() > LONGEST_ID {
        return unknown_payment();
    }
    // Admitted (and subscribed) before the read: a change in between still wakes it.
    let Ok(waiter) = state.waiting.admit(&id, &client.throttle_key()) else {
        let mut res = (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "busy" })),
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return res;
    };
    let status = match state.payments.checkout_payment(&id).await {
        Ok(p) => p.status,
        Err(ServiceError::NotFound(_)) => return unknown_payment(),
        Err(e) => return service_error(&visit, e),
    };
    let watch = Watch {
        state,
        id,
        waiter,
        last: status,
        until: Instant::now() + LONGEST,
    };
    let first = stream::once(async move { Ok(status_event(status)) });
    let changes = if status == PaymentStatus::Pending {
        changes(watch).left_stream()
    } else {
        stream::empty().right_stream()
    };
    let mut res = Sse::new(first.chain(changes))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// One page's wait on its payment.
struct Watch {
    state: AppState,
    id: String,
    waiter: Waiter,
    last: PaymentStatus,
    until: Instant,
}

fn status_event(status: PaymentStatus) -> Event {
    Event::default()
        .event("status")
        .data(serde_json::json!({ "status": status.as_str() }).to_string())
}

/// The payment's statuses after the first, one read per wake, until it is no longer pending.
fn changes(watch: Watch) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(Some(watch), |watch| async move {
        let mut w = watch?;
        loop {
            match tokio::time::timeout_at(w.until, w.waiter.wait()).await {
                Ok(Wake::Changed) => {}
                Ok(Wake::Closing) | Err(_) => return None,
            }
            // Boxed: a waiting stream then keeps only the small wait in memory between
            // changes, not room for a database read.
            let read = Box::pin(w.state.payments.checkout_payment(&w.id));
            let Ok(payment) = read.await else {
                return None;
            };
            if payment.status != w.last {
                w.last = payment.status;
                let event = status_event(payment.status);
                let more = (payment.status == PaymentStatus::Pending).then_some(w);
                return Some((Ok(event), more));
            }
        }
    })
}
