//! Payment links: the mode's links with what each has taken (payments, revenue), a form to
//! make one, and each link's page with its QR code to print or share, its payments, and a way
//! to deactivate it.

use super::auth::{Plain, Posted, PostedFields};
use super::view::{money, when, Chrome};
use super::{render, Dash, DashError};
use crate::domain::money::Currency;
use crate::domain::payment_link::{LinkAmount, PaymentLink};
use crate::domain::role::Action;
use crate::http::AppState;
use crate::service::payment_links::NewLink;
use crate::service::{LinkTally, PaymentFilter};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

/// A link as a row of the list and the head of its page.
pub struct LinkRow {
    pub id: String,
    pub description: String,
    pub amount: String,
    /// `active`, `inactive`, `expired` or `full`.
    pub status: &'static str,
    pub url: String,
    pub succeeded: i64,
    pub pending: i64,
    pub revenue: String,
    pub created: String,
    pub limits: String,
}

fn row(state: &AppState, l: &PaymentLink, t: LinkTally) -> LinkRow {
    let currency = l.amount.currency();
    let code = currency.code();
    let amount = match &l.amount {
        LinkAmount::Fixed(m) => money(m.minor(), code),
        LinkAmount::Chosen { min, max } => {
            format!(
                "{} to {}",
                money(min.minor(), code),
                money(max.minor(), code)
            )
        }
    };
    let status = match l.open_at(crate::domain::now(), t.succeeded) {
        Ok(()) => "active",
        Err(crate::domain::payment_link::Closed::Deactivated) => "inactive",
        Err(crate::domain::payment_link::Closed::Expired) => "expired",
        Err(crate::domain::payment_link::Closed::Full) => "full",
    };
    let mut limits = Vec::new();
    if let Some(n) = l.max_payments {
        limits.push(format!("{n} payments"));
    }
    if let Some(at) = l.expires_at {
        limits.push(format!("until {}", when(at)));
    }
    LinkRow {
        id: l.id.clone(),
        description: l.description.clone(),
        amount,
        status,
        url: format!("{}/l/{}", state.payments.public_url(), l.slug),
        succeeded: t.succeeded,
        pending: t.pending,
        revenue: money(t.revenue_minor, code),
        created: when(l.created_at),
        limits: limits.join(", "),
    }
}

#[derive(Template)]
#[template(path = "dashboard/links.html")]
pub struct LinksPage {
    pub chrome: Chrome,
    pub links: Vec<LinkRow>,
    pub currencies: Vec<&'static str>,
    pub methods: &'static [&'static str],
    pub may_manage: bool,
}

pub async fn page(State(state): State<AppState>, dash: Dash) -> Result<Response, DashError> {
    let scope = dash.scope_for(Action::ReadPayments)?;
    let mut links = Vec::new();
    // At most 100 links, each counted by one indexed query.
    for l in state.payments.payment_links(&scope).await? {
        let tally = state.payments.link_tally(&l).await?;
        links.push(row(&state, &l, tally));
    }
    render(&LinksPage {
        chrome: Chrome::new(&dash, "links", "/dashboard/links".into()),
        links,
        currencies: Currency::all().map(|c| c.code()).collect(),
        methods: &crate::domain::payment::METHODS,
        may_manage: dash.may(Action::ManageSettings),
    })
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

fn number(field: &str, text: &str, max: i64) -> Result<Option<i64>, DashError> {
    match given(text) {
        None => Ok(None),
        Some(t) => match t.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(DashError::Invalid(format!(
                "{field} must be a whole number from 1 to {max}"
            ))),
        },
    }
}

/// `POST /dashboard/links`: description, currency, `amount` or `min_amount` and `max_amount`,
/// `methods` (repeated; none: the currency's), `max_payments`, `expires_in_days`.
pub async fn create(
    State(state): State<AppState>,
    PostedFields(dash, fields): PostedFields,
) -> Result<Response, DashError> {
    let field = |name: &str| super::auth::field(&fields, name);
    let methods: Vec<String> = super::auth::every(&fields, "methods")
        .map(str::to_string)
        .take(crate::domain::payment::METHODS.len())
        .collect();
    let days = number("expires in (days)", field("expires_in_days"), 3650)?;
    let input = NewLink {
        amount: given(field("amount")),
        min_amount: given(field("min_amount")),
        max_amount: given(field("max_amount")),
        currency: field("currency").to_string(),
        description: field("description").to_string(),
        methods: (!methods.is_empty()).then_some(methods),
        max_payments: number("max payments", field("max_payments"), 1_000_000)?,
        expires_at: days.map(|d| crate::domain::now() + chrono::Duration::days(d)),
    };
    let link = state
        .payments
        .create_payment_link(&dash.acting(), input)
        .await?;
    Ok(Redirect::to(&format!("/dashboard/links/{}", link.id)).into_response())
}

pub struct LinkPayment {
    pub id: String,
    pub amount: String,
    pub status: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/link.html")]
pub struct LinkDetail {
    pub chrome: Chrome,
    pub link: LinkRow,
    pub qr_svg: String,
    pub payments: Vec<LinkPayment>,
    pub may_manage: bool,
}

pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    dash: Dash,
) -> Result<Response, DashError> {
    let scope = dash.scope_for(Action::ReadPayments)?;
    let link = state.payments.payment_link(&scope, &id).await?;
    let tally = state.payments.link_tally(&link).await?;
    let filter = PaymentFilter {
        source: Some(link.id.clone()),
        limit: 20,
        ..Default::default()
    };
    let payments = state
        .payments
        .list(&scope, &filter)
        .await?
        .into_iter()
        .map(|p| LinkPayment {
            amount: money(p.amount.minor(), p.currency().code()),
            status: p.status.as_str().to_string(),
            created: when(p.created_at),
            id: p.id,
        })
        .collect();
    let link = row(&state, &link, tally);
    render(&LinkDetail {
        chrome: Chrome::new(&dash, "links", format!("/dashboard/links/{id}")),
        qr_svg: crate::http::qr::qr_svg(&link.url, 240),
        link,
        payments,
        may_manage: dash.may(Action::ManageSettings),
    })
}

pub async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, _): Posted<Plain>,
) -> Result<Response, DashError> {
    state
        .payments
        .deactivate_payment_link(&dash.acting(), &id)
        .await?;
    Ok(Redirect::to(&format!("/dashboard/links/{id}")).into_response())
}
