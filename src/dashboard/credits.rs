//! UPI credits: the bank credits received, matched and unmatched, and matching an unmatched
//! one to a payment by hand.

use super::auth::Posted;
use super::view::{money, when, Chrome};
use super::{render, Dash, DashError};
use crate::api::AppState;
use crate::store::CreditFilter;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

pub struct CreditRow {
    pub id: String,
    pub utr: String,
    pub amount: String,
    pub payer: String,
    pub received: String,
    pub payment: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/credits.html")]
pub struct CreditsPage {
    pub chrome: Chrome,
    pub credits: Vec<CreditRow>,
    pub show: String,
    pub notice: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct CreditQuery {
    #[serde(default)]
    show: String,
    #[serde(default)]
    notice: String,
}

pub async fn page(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<CreditQuery>,
) -> Result<Response, DashError> {
    let matched = match q.show.as_str() {
        "matched" => Some(true),
        "unmatched" => Some(false),
        _ => None,
    };
    let credits = state
        .payments
        .list_credits(
            &dash.scope(),
            &CreditFilter {
                matched,
                limit: 100,
                ..CreditFilter::default()
            },
        )
        .await?
        .into_iter()
        .map(|c| CreditRow {
            amount: money(c.amount.minor(), c.amount.currency().code()),
            payer: c.payer.clone().unwrap_or_default(),
            received: when(c.received_at),
            payment: c.payment_id.clone(),
            utr: c.utr,
            id: c.id,
        })
        .collect();
    render(&CreditsPage {
        chrome: Chrome::new(&dash, "credits", "/dashboard/credits".into()),
        credits,
        show: q.show,
        notice: Some(q.notice).filter(|n| !n.is_empty()),
    })
}

#[derive(serde::Deserialize)]
pub struct MatchForm {
    payment: String,
}

pub async fn match_credit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, form): Posted<MatchForm>,
) -> Result<Response, DashError> {
    let (credit, payment) = state
        .payments
        .match_credit(&dash.scope(), &id, form.payment.trim())
        .await?;
    Ok(Redirect::to(&format!(
        "/dashboard/credits?notice=Credit+{}+paid+payment+{}.",
        credit.utr, payment.id
    ))
    .into_response())
}
