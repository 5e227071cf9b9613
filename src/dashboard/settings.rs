//! Settings: the business name, default success and cancel URLs, the checkout's expiry, the UPI
//! id and payee name, and the team's logins.

use super::auth::Posted;
use super::view::{when, Chrome};
use super::{render, Dash, DashError};
use crate::admin::AdminError;
use crate::api::AppState;
use crate::domain::payment::limits;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Template)]
#[template(path = "dashboard/settings.html")]
pub struct SettingsPage {
    pub chrome: Chrome,
    pub name: String,
    pub success_url: String,
    pub cancel_url: String,
    pub expiry_minutes: String,
    pub upi_id: String,
    pub upi_name: String,
    pub users: Vec<(String, String)>,
    pub notice: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    notice: String,
}

pub async fn page(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<Notice>,
) -> Result<Response, DashError> {
    let m = &dash.merchant;
    let users = state
        .store
        .list_users(&m.id)
        .await?
        .into_iter()
        .map(|u| (u.email, when(u.created_at)))
        .collect();
    render(&SettingsPage {
        chrome: Chrome::new(&dash, "settings", "/dashboard/settings".into()),
        name: m.name.clone(),
        success_url: m.success_url.clone().unwrap_or_default(),
        cancel_url: m.cancel_url.clone().unwrap_or_default(),
        expiry_minutes: m
            .checkout_expiry_secs
            .map(|s| (s / 60).to_string())
            .unwrap_or_default(),
        upi_id: m.upi_id.clone().unwrap_or_default(),
        upi_name: m.upi_name.clone().unwrap_or_default(),
        users,
        notice: Some(q.notice).filter(|n| !n.is_empty()),
    })
}

#[derive(serde::Deserialize)]
pub struct SettingsForm {
    name: String,
    #[serde(default)]
    success_url: String,
    #[serde(default)]
    cancel_url: String,
    #[serde(default)]
    expiry_minutes: String,
}

fn url_or_none(label: &str, text: &str) -> Result<Option<String>, DashError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(Some(text.to_string()))
        }
        _ => Err(DashError::Invalid(format!(
            "the {label} must be an absolute http(s) URL"
        ))),
    }
}

pub async fn save(
    State(state): State<AppState>,
    Posted(dash, form): Posted<SettingsForm>,
) -> Result<Response, DashError> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DashError::Invalid(
            "the business name must be 1 to 100 characters".into(),
        ));
    }
    let expiry = match form.expiry_minutes.trim() {
        "" => None,
        m => {
            let secs = m
                .parse::<i64>()
                .ok()
                .map(|m| m * 60)
                .filter(|s| (limits::EXPIRES_IN_MIN..=limits::EXPIRES_IN_MAX).contains(s))
                .ok_or_else(|| {
                    DashError::Invalid(format!(
                        "the checkout expiry must be {} to {} minutes",
                        limits::EXPIRES_IN_MIN / 60,
                        limits::EXPIRES_IN_MAX / 60
                    ))
                })?;
            Some(secs)
        }
    };
    let mut m = dash.merchant.clone();
    m.name = name.to_string();
    m.success_url = url_or_none("success URL", &form.success_url)?;
    m.cancel_url = url_or_none("cancel URL", &form.cancel_url)?;
    m.checkout_expiry_secs = expiry;
    state.store.update_merchant_settings(&m).await?;
    state.payments.forget_merchant(&m.id);
    Ok(Redirect::to("/dashboard/settings?notice=Saved.").into_response())
}

#[derive(serde::Deserialize)]
pub struct UpiForm {
    #[serde(default)]
    upi_id: String,
    #[serde(default)]
    upi_name: String,
}

pub async fn save_upi(
    State(state): State<AppState>,
    Posted(dash, form): Posted<UpiForm>,
) -> Result<Response, DashError> {
    crate::admin::set_upi(
        &*state.store,
        &dash.merchant.id,
        Some(form.upi_id.as_str()),
        Some(form.upi_name.as_str()).filter(|n| !n.trim().is_empty()),
    )
    .await?;
    state.payments.forget_merchant(&dash.merchant.id);
    Ok(Redirect::to("/dashboard/settings?notice=UPI+saved.").into_response())
}

#[derive(serde::Deserialize)]
pub struct UserForm {
    email: String,
    password: String,
}

pub async fn add_user(
    State(state): State<AppState>,
    Posted(dash, form): Posted<UserForm>,
) -> Result<Response, DashError> {
    if form.password.chars().count() < 10 {
        return Err(DashError::Invalid(
            "a password must have at least 10 characters".into(),
        ));
    }
    crate::admin::create_user(
        &*state.store,
        &dash.merchant.id,
        &form.email,
        &form.password,
    )
    .await
    .map_err(|e| match e {
        AdminError::Store(crate::store::StoreError::Duplicate(_)) => {
            DashError::Invalid("that e-mail address already has a login".into())
        }
        other => other.into(),
    })?;
    Ok(Redirect::to("/dashboard/settings?notice=User+added.").into_response())
}
