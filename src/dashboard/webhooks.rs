//! Webhooks: the endpoints (with their events and format), adding one, the latest deliveries
//! (filtered by status), and sending an event again.

use super::auth::Posted;
use super::view::{when, Chrome};
use super::{render, Dash, DashError};
use crate::domain::role::Action;
use crate::domain::webhook::{Endpoint, EVENT_TYPES};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub format: String,
    pub state: &'static str,
    pub created: String,
}

pub struct DeliveryRow {
    pub event: String,
    pub endpoint: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/webhooks.html")]
pub struct WebhooksPage {
    pub chrome: Chrome,
    pub endpoints: Vec<EndpointRow>,
    pub deliveries: Vec<DeliveryRow>,
    pub status: String,
    pub statuses: Vec<&'static str>,
    pub event_types: Vec<&'static str>,
    pub secret: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct DeliveryQuery {
    #[serde(default)]
    status: String,
}

const DELIVERY_STATUSES: [&str; 5] = ["pending", "succeeded", "failed", "declined", "skipped"];

async fn page_with(
    state: &AppState,
    dash: &Dash,
    status: String,
    secret: Option<String>,
) -> Result<Response, DashError> {
    let scope = dash.scope_for(Action::ReadDeveloper)?;
    let endpoints = state
        .reads
        // The first 100; the API pages through the rest.
        .list_endpoints(
            &scope,
            &crate::service::Page {
                starting_after: None,
                limit: 100,
            },
        )
        .await?
        .into_iter()
        .map(endpoint_row)
        .collect();
    let filter = Some(status.as_str()).filter(|s| DELIVERY_STATUSES.contains(s));
    let deliveries = state
        .reads
        .recent_deliveries(&scope, filter, 100)
        .await?
        .into_iter()
        .map(|d| DeliveryRow {
            event: d.event_id,
            endpoint: d.endpoint_id,
            status: d.status,
            attempts: d.attempts,
            last_status: d
                .last_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".into()),
            created: when(d.created_at),
        })
        .collect();
    render(&WebhooksPage {
        chrome: Chrome::new(dash, "webhooks", "/dashboard/webhooks".into()),
        endpoints,
        deliveries,
        status,
        statuses: DELIVERY_STATUSES.to_vec(),
        event_types: EVENT_TYPES.to_vec(),
        secret,
    })
}

/// One endpoint as the table shows it: whether it is on, its events and its payload format.
fn endpoint_row(e: Endpoint) -> EndpointRow {
    EndpointRow {
        state: if e.enabled {
            "active"
        } else if e.disabled_reason.is_some() {
            "disabled"
        } else {
            "off"
        },
        events: e.events.join(", "),
        format: match &e.key_id {
            Some(k) => format!("{} (URL of key {k})", e.format),
            None => e.format.clone(),
        },
        created: when(e.created_at),
        url: e.url,
        id: e.id,
    }
}

pub async fn page(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<DeliveryQuery>,
) -> Result<Response, DashError> {
    page_with(&state, &dash, q.status, None).await
}

#[derive(serde::Deserialize)]
pub struct EndpointForm {
    url: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    State(state): State<AppState>,
    Posted(dash, form): Posted<EndpointForm>,
) -> Result<Response, DashError> {
    let description = Some(form.description.trim().to_string()).filter(|d| !d.is_empty());
    let e = state
        .payments
        .create_endpoint(
            &dash.acting(),
            form.url.trim(),
            &["*".to_string()],
            description,
        )
        .await?;
    page_with(&state, &dash, String::new(), Some(e.secret)).await
}

#[derive(serde::Deserialize)]
pub struct RedeliverForm {
    #[serde(default)]
    back: String,
}

pub async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, form): Posted<RedeliverForm>,
) -> Result<Response, DashError> {
    let n = state.payments.redeliver(&dash.acting(), &id).await?;
    let back = Some(form.back)
        .filter(|b| b.starts_with("/dashboard/") && !b.contains("//") && !b.contains('?'))
        .unwrap_or_else(|| "/dashboard/webhooks".into());
    Ok(Redirect::to(&format!("{back}?notice=Sent+again+to+{n}+endpoint(s).")).into_response())
}
