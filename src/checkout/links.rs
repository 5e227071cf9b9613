//! A payment link's page, `/l/{slug}`: what the customer pays for and how much (or a field for
//! the amount, within the link's bounds); its form starts an ordinary payment and sends the
//! customer to that payment's checkout. Starting one is throttled per client address, and a
//! link holds a bounded number of waiting payments.

use super::security;
use super::view::{language_links, LanguageLink};
use super::visit::Visit;
use crate::domain::money::Money;
use crate::domain::payment_link::{Closed, LinkAmount, PaymentLink};
use crate::http::client_addr::ClientAddr;
use crate::http::AppState;
use crate::i18n::Texts;
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
    t: Texts,
    languages: Vec<LanguageLink>,
    /// What the form carries: the language the customer chose.
    page_query: String,
    merchant_name: String,
    merchant_initial: String,
    livemode: bool,
    slug: String,
    description: String,
    /// The fixed amount, shown; `None` when the customer types it.
    amount: Option<String>,
    /// The label of the amount the customer types, naming its bounds.
    amount_label: Option<String>,
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

/// Why the page takes no payment, or what to correct: said on the page.
enum Problem {
    Closed(Closed),
    Amount,
}

/// The bounds of a link's amount, as the page's words name them.
fn bounds_text(t: &Texts, min: &Money, max: &Money, key: &str) -> String {
    t.with_args(
        key,
        &[
            ("currency", min.currency().code()),
            ("min", &min.to_string()),
            ("max", &max.to_string()),
        ],
    )
}

fn problem_text(t: &Texts, link: &PaymentLink, problem: &Problem) -> String {
    match (problem, &link.amount) {
        (Problem::Closed(Closed::Expired), _) => t.get("link-expired"),
        (Problem::Closed(Closed::Full), _) => t.get("link-full"),
        (Problem::Closed(Closed::Deactivated), _) => t.get("link-deactivated"),
        (Problem::Amount, LinkAmount::Chosen { min, max }) => {
            bounds_text(t, min, max, "link-amount-invalid")
        }
        (Problem::Amount, LinkAmount::Fixed(_)) => t.get("error-text"),
    }
}

async fn page(
    state: &AppState,
    visit: &Visit,
    link: &PaymentLink,
    problem: Option<Problem>,
    typed: String,
) -> Result<String, Response> {
    let merchant = state
        .reads
        .get_merchant(&link.merchant_id)
        .await
        .map_err(|e| refused(visit, crate::service::ServiceError::from(e).into()))?;
    let t = visit.texts(None, merchant.default_locale);
    let (amount, amount_label) = match &link.amount {
        LinkAmount::Fixed(m) => (Some(t.amount(m.minor(), m.currency())), None),
        LinkAmount::Chosen { min, max } => (None, Some(bounds_text(&t, min, max, "link-amount"))),
    };
    let said = problem.as_ref().map(|p| problem_text(&t, link, p));
    let (closed, error) = match problem {
        Some(Problem::Closed(_)) => (said, None),
        _ => (None, said),
    };
    let page = LinkPage {
        languages: language_links(&format!("/l/{}", link.slug), "", t.locale()),
        page_query: visit.query(None),
        merchant_initial: super::view::initial(&merchant.name),
        merchant_name: merchant.name,
        livemode: link.livemode,
        slug: link.slug.clone(),
        description: link.description.clone(),
        amount,
        amount_label,
        closed,
        error,
        typed,
        csrf: security::csrf_token(&state.checkout_secret, &csrf_subject(&link.slug)),
        t,
    };
    page.render().map_err(|e| super::render_failed(&e))
}

/// A page that no other site may frame.
fn html(status: StatusCode, body: String) -> Response {
    super::html(status, body, None)
}

fn refused(visit: &Visit, e: LinkPayError) -> Response {
    let t = visit.texts(None, None);
    let (status, title, text) = match e {
        LinkPayError::NotFound => (
            StatusCode::NOT_FOUND,
            t.get("link-not-found-title"),
            t.get("not-found-text"),
        ),
        LinkPayError::Busy => (
            StatusCode::TOO_MANY_REQUESTS,
            t.get("busy-title"),
            t.get("busy-text"),
        ),
        other => {
            tracing::error!(error = %other, "payment link failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                t.get("error-title"),
                t.get("error-text"),
            )
        }
    };
    html(status, super::view::message(&t, &title, &text))
}

/// `GET /l/{slug}`.
pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    visit: Visit,
) -> Response {
    let (link, tally) = match state.payments.link_by_slug(&slug).await {
        Ok(found) => found,
        Err(e) => return refused(&visit, e),
    };
    let closed = link.open_at(crate::domain::now(), tally.succeeded).err();
    let status = match closed {
        Some(_) => StatusCode::GONE,
        None => StatusCode::OK,
    };
    match page(
        &state,
        &visit,
        &link,
        closed.map(Problem::Closed),
        String::new(),
    )
    .await
    {
        Ok(body) => html(status, body),
        Err(res) => res,
    }
}

/// `POST /l/{slug}`: starts a payment and sends the customer to its checkout.
pub async fn start(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: ClientAddr,
    visit: Visit,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // Counted before any work, per address; a link also caps its waiting payments.
    let bucket = format!("link:{}", client.throttle_key());
    let limit = Limit::per_second(STARTS_PER_SECOND);
    if let Some(decision) = state.rate_limits.take(&bucket, limit).await {
        if !decision.allowed {
            return refused(&visit, LinkPayError::Busy);
        }
    }
    let presented = form.get("csrf").map(String::as_str);
    if !security::csrf_ok(&state.checkout_secret, &csrf_subject(&slug), presented) {
        let t = visit.texts(None, None);
        return html(
            StatusCode::FORBIDDEN,
            super::view::message(
                &t,
                &t.get("form-expired-title"),
                &t.get("form-expired-text"),
            ),
        );
    }
    let typed = form.get("amount").map(String::as_str);
    // The payment speaks the language the customer saw the link in.
    let locale = visit.preferred();
    match state.payments.pay_link(&slug, typed, locale).await {
        Ok(payment) => Redirect::to(&format!("/pay/{}", payment.id)).into_response(),
        Err(e @ (LinkPayError::Closed(_) | LinkPayError::Amount(_))) => {
            let (status, problem) = match e {
                LinkPayError::Closed(c) => (StatusCode::GONE, Problem::Closed(c)),
                _ => (StatusCode::UNPROCESSABLE_ENTITY, Problem::Amount),
            };
            let found = state.payments.link_by_slug(&slug).await;
            let typed = typed.unwrap_or_default().chars().take(30).collect();
            match found {
                Ok((link, _)) => match page(&state, &visit, &link, Some(problem), typed).await {
                    Ok(body) => html(status, body),
                    Err(res) => res,
                },
                Err(e) => refused(&visit, e),
            }
        }
        Err(e) => refused(&visit, e),
    }
}
