//! A payment link's page, `/l/{slug}`: what the customer pays for and how much (or a field for
//! the amount, within the link's bounds); its form starts an ordinary payment and sends the
//! customer to that payment's checkout. Starting one is throttled per client address, and a
//! link holds a bounded number of waiting payments.

use super::security;
use super::view::format_amount;
use crate::domain::payment_link::{LinkAmount, PaymentLink};
use crate::http::client_addr::ClientAddr;
use crate::http::AppState;
use crate::service::payment_links::LinkPayError;
use crate::service::ratelimit::Limit;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::collections::HashMap;

/// Payments one client address may start through links, per second (bursts of twice that).
const STARTS_PER_SECOND: u32 = 2;

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage {
    merchant_name: String,
    merchant_initial: String,
    livemode: bool,
    slug: String,
    description: String,
    /// The fixed amount, shown; `None` when the customer types it.
    amount: Option<String>,
    /// The bounds of an amount the customer types.
    bounds: Option<(String, String)>,
    currency: String,
    /// Why the link takes no payment now.
    closed: Option<String>,
    error: Option<String>,
    typed: String,
    csrf: String,
}

/// What the CSRF token of a link's form is bound to.
fn csrf_subject(slug: &str) -> String {
    format!("link:{slug}")
}

async fn page(
    state: &AppState,
    link: &PaymentLink,
    closed: Option<String>,
    error: Option<String>,
    typed: String,
) -> Result<String, Response> {
    let merchant = state
        .reads
        .get_merchant(&link.merchant_id)
        .await
        .map_err(|e| refused(crate::service::ServiceError::from(e).into()))?;
    let (amount, bounds) = match &link.amount {
        LinkAmount::Fixed(m) => (Some(format_amount(m.minor(), m.currency())), None),
        LinkAmount::Chosen { min, max } => (None, Some((min.to_string(), max.to_string()))),
    };
    let page = LinkPage {
        merchant_initial: merchant
            .name
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default(),
        merchant_name: merchant.name,
        livemode: link.livemode,
        slug: link.slug.clone(),
        description: link.description.clone(),
        amount,
        bounds,
        currency: link.amount.currency().code().to_string(),
        closed,
        error,
        typed,
        csrf: security::csrf_token(&state.checkout_secret, &csrf_subject(&link.slug)),
    };
    page.render().map_err(|e| super::render_failed(&e))
}

/// A page that no other site may frame.
fn html(status: StatusCode, body: String) -> Response {
    super::html(status, body, None)
}

fn refused(e: LinkPayError) -> Response {
    let (status, title, text) = match e {
        LinkPayError::NotFound => (
            StatusCode::NOT_FOUND,
            "Link not found",
            "This payment link is not valid. Check the link you were given.".to_string(),
        ),
        LinkPayError::Busy => (StatusCode::TOO_MANY_REQUESTS, "Busy", e.to_string()),
        other => {
            tracing::error!(error = %other, "payment link failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Nothing was charged. Please try again in a moment.".to_string(),
            )
        }
    };
    html(status, super::view::message(title, &text))
}

/// `GET /l/{slug}`.
pub async fn show(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let (link, tally) = match state.payments.link_by_slug(&slug).await {
        Ok(found) => found,
        Err(e) => return refused(e),
    };
    let closed = link.open_at(crate::domain::now(), tally.succeeded).err();
    let status = match closed {
        Some(_) => StatusCode::GONE,
        None => StatusCode::OK,
    };
    let closed = closed.map(|c| c.to_string());
    match page(&state, &link, closed, None, String::new()).await {
        Ok(body) => html(status, body),
        Err(res) => res,
    }
}

/// `POST /l/{slug}`: starts a payment and sends the customer to its checkout.
pub async fn start(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: ClientAddr,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // Counted before any work, per address; a link also caps its waiting payments.
    let bucket = format!("link:{}", client.throttle_key());
    let limit = Limit::per_second(STARTS_PER_SECOND);
    if let Some(decision) = state.rate_limits.take(&bucket, limit).await {
        if !decision.allowed {
            return refused(LinkPayError::Busy);
        }
    }
    let presented = form.get("csrf").map(String::as_str);
    if !security::csrf_ok(&state.checkout_secret, &csrf_subject(&slug), presented) {
        return html(
            StatusCode::FORBIDDEN,
            super::view::message(
                "Refused",
                "This form has expired. Reload the page and try again.",
            ),
        );
    }
    let typed = form.get("amount").map(String::as_str);
    match state.payments.pay_link(&slug, typed).await {
        Ok(payment) => Redirect::to(&format!("/pay/{}", payment.id)).into_response(),
        Err(e @ (LinkPayError::Closed(_) | LinkPayError::Amount(_))) => {
            let (status, closed, error) = match &e {
                LinkPayError::Closed(c) => (StatusCode::GONE, Some(c.to_string()), None),
                _ => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(e.to_string())),
            };
            let found = state.payments.link_by_slug(&slug).await;
            let typed = typed.unwrap_or_default().chars().take(30).collect();
            match found {
                Ok((link, _)) => match page(&state, &link, closed, error, typed).await {
                    Ok(body) => html(status, body),
                    Err(res) => res,
                },
                Err(e) => refused(e),
            }
        }
        Err(e) => refused(e),
    }
}
