//! SMS forwarding: the phones that forward the merchant's received-money SMS, each with its
//! own token (shown once, with the JSON template to paste into the forwarding app), revocable.

use super::auth::{Plain, Posted};
use super::view::{when, Chrome};
use super::{render, Dash, DashError};
use crate::domain::role::Action;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub active: bool,
}

/// A new device's token and what to paste into the app, shown once.
pub struct Created {
    pub name: String,
    pub token: String,
}

#[derive(Template)]
#[template(path = "dashboard/sms.html")]
pub struct SmsPage {
    pub chrome: Chrome,
    pub devices: Vec<DeviceRow>,
    pub created: Option<Created>,
    /// Where the phone posts: this instance's `/v1/credits/sms`.
    pub endpoint: String,
    pub may_manage: bool,
}

async fn page_with(
    state: &AppState,
    dash: &Dash,
    created: Option<Created>,
) -> Result<Response, DashError> {
    dash.scope_for(Action::ReadDeveloper)?;
    let devices = state
        .payments
        .list_sms_devices(&dash.merchant.id)
        .await?
        .into_iter()
        .filter(|d| d.livemode == dash.session.livemode)
        .map(|d| DeviceRow {
            active: d.revoked_at.is_none(),
            last_used: d.last_used_at.map(when).unwrap_or_else(|| "never".into()),
            created: when(d.created_at),
            name: d.name,
            id: d.id,
        })
        .collect();
    render(&SmsPage {
        chrome: Chrome::new(dash, "sms", "/dashboard/sms".into()),
        devices,
        created,
        endpoint: format!("{}/v1/credits/sms", state.payments.public_url()),
        may_manage: dash.may(Action::ManageKeys),
    })
}

pub async fn page(State(state): State<AppState>, dash: Dash) -> Result<Response, DashError> {
    page_with(&state, &dash, None).await
}

#[derive(serde::Deserialize)]
pub struct DeviceForm {
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    Posted(dash, form): Posted<DeviceForm>,
) -> Result<Response, DashError> {
    let (device, token) = state
        .payments
        .create_sms_device(&dash.acting(), &form.name)
        .await?;
    let created = Created {
        name: device.name,
        token,
    };
    page_with(&state, &dash, Some(created)).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, _): Posted<Plain>,
) -> Result<Response, DashError> {
    state
        .payments
        .revoke_sms_device(&dash.acting(), &id)
        .await?;
    Ok(Redirect::to("/dashboard/sms").into_response())
}
