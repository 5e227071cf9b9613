//! UPI credits: the bank credits received, matched and unmatched, and matching an unmatched
//! one to a payment by hand.

use super::auth::Posted;
use super::view::{money, when, Chrome};
use super::{render, Dash, DashError};
use crate::domain::role::Action;
use crate::http::AppState;
use crate::service::upi::ShortfallConsent;
use crate::service::CreditFilter;
use crate::service::ServiceError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

pub struct CreditRow {
    pub id: String,
    /// `UPI` or the wallet's name, as customers know it.
    pub method: String,
    pub utr: String,
    pub amount: String,
    pub payer: String,
    pub received: String,
    pub payment: Option<String>,
    /// A shortfall accepted by hand: "9.00 INR short, accepted by … on …".
    pub shortfall: Option<String>,
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
            &dash.scope_for(Action::ReadPayments)?,
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
            shortfall: c.shortfall.as_ref().map(|s| {
                format!(
                    "{} short, accepted by {} on {}",
                    money(s.amount.minor(), s.amount.currency().code()),
                    s.accepted_by,
                    when(s.accepted_at)
                )
            }),
            method: crate::domain::wallet::Wallet::parse(&c.method)
                .map_or("UPI".to_string(), |w| w.label().to_string()),
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
    /// The shortfall the user confirmed on the confirmation page, when the credit is short.
    #[serde(default)]
    confirm_shortfall: Option<String>,
}

/// Asks the user to confirm matching a credit that is less than the payment asks for.
#[derive(Template)]
#[template(path = "dashboard/credit_shortfall.html")]
pub struct ShortfallPage {
    pub chrome: Chrome,
    pub credit_id: String,
    pub utr: String,
    pub payment_id: String,
    pub credit: String,
    pub needed: String,
    pub shortfall: String,
    pub currency: String,
}

pub async fn match_credit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, form): Posted<MatchForm>,
) -> Result<Response, DashError> {
    let consent = form
        .confirm_shortfall
        .filter(|s| !s.trim().is_empty())
        .map(|shortfall| ShortfallConsent {
            user: dash.user.email.clone(),
            shortfall,
        });
    let matched = state
        .payments
        .match_credit(&dash.acting(), &id, form.payment.trim(), consent)
        .await;
    let (credit, payment) = match matched {
        Ok(done) => done,
        Err(ServiceError::CreditShort(short)) => {
            let crate::service::error::CreditShortfall {
                credit_id,
                payment_id,
                credit,
                needed,
                shortfall,
                currency,
            } = *short;
            let utr = state
                .payments
                .get_credit(&dash.scope_for(Action::MatchCredit)?, &id)
                .await?
                .utr;
            return render(&ShortfallPage {
                chrome: Chrome::new(&dash, "credits", "/dashboard/credits".into()),
                credit_id,
                utr,
                payment_id,
                credit,
                needed,
                shortfall,
                currency,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let short = credit
        .shortfall
        .as_ref()
        .map(|s| format!("+({}+short,+accepted+by+you)", s.amount))
        .unwrap_or_default();
    Ok(Redirect::to(&format!(
        "/dashboard/credits?notice=Credit+{}+paid+payment+{}{short}.",
        credit.utr, payment.id
    ))
    .into_response())
}
