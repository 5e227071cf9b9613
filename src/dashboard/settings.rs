//! Settings: the business name, default success and cancel URLs, the checkout's expiry, the UPI
//! id and payee name, the wallet numbers, and the team's logins.

use super::auth::Posted;
use super::view::{when, Chrome};
use super::{render, Dash, DashError};
use crate::domain::role::{Action, Role};
use crate::domain::wallet::Wallet;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Template)]
#[template(path = "dashboard/settings.html")]
pub struct SettingsPage {
    pub chrome: Chrome,
    pub name: String,
    pub success_url: String,
    pub cancel_url: String,
    pub expiry_minutes: String,
    /// The customer's pages' default language, and the languages to choose from.
    pub default_locale: &'static str,
    pub locales: Vec<(&'static str, &'static str)>,
    pub upi_id: String,
    pub upi_name: String,
    /// Each wallet with the merchant's number for it (empty when none).
    pub wallets: Vec<WalletRow>,
    pub users: Vec<TeamRow>,
    pub roles: Vec<&'static str>,
    /// Whether the user may change the settings and the team (forms are shown only then;
    /// the service refuses either way).
    pub may_edit: bool,
    pub may_manage_team: bool,
    /// The signed-in user's own second factor, and the merchant's rule.
    pub two_factor_on: bool,
    pub recovery_codes_left: i64,
    pub require_two_factor: bool,
    pub notice: Option<String>,
}

/// A wallet's number field.
pub struct WalletRow {
    pub name: &'static str,
    pub label: &'static str,
    pub currency: &'static str,
    /// How a number is written (the field's placeholder).
    pub shape: &'static str,
    pub number: String,
}

/// A team member as the Team section lists them.
pub struct TeamRow {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub added: String,
    pub is_me: bool,
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
    let mine = state.second_factors.status(&dash.user).await?;
    let users = state
        .reads
        .list_users(&m.id)
        .await?
        .into_iter()
        .map(|u| TeamRow {
            is_me: u.id == dash.user.id,
            id: u.id,
            email: u.email,
            role: u.role.as_str(),
            added: when(u.created_at),
        })
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
        default_locale: m.default_locale.map_or("en", |l| l.code()),
        locales: crate::domain::locale::Locale::ALL
            .map(|l| (l.code(), l.native_name()))
            .into(),
        upi_id: m.upi_id.clone().unwrap_or_default(),
        upi_name: m.upi_name.clone().unwrap_or_default(),
        wallets: Wallet::ALL
            .map(|w| WalletRow {
                name: w.name(),
                label: w.label(),
                currency: w.currency_code(),
                shape: w.number_shape(),
                number: m.wallet_numbers.get(w).unwrap_or_default().to_string(),
            })
            .into(),
        users,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        may_edit: dash.may(Action::ManageSettings),
        may_manage_team: dash.may(Action::ManageTeam),
        two_factor_on: mine.enabled,
        recovery_codes_left: mine.codes_left,
        require_two_factor: m.require_two_factor,
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
    #[serde(default)]
    default_locale: String,
}

pub async fn save(
    State(state): State<AppState>,
    Posted(dash, form): Posted<SettingsForm>,
) -> Result<Response, DashError> {
    state
        .payments
        .update_settings(
            &dash.acting(),
            &dash.merchant,
            crate::service::settings::SettingsInput {
                name: &form.name,
                success_url: &form.success_url,
                cancel_url: &form.cancel_url,
                expiry_minutes: &form.expiry_minutes,
                default_locale: &form.default_locale,
            },
        )
        .await?;
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
    state
        .payments
        .set_upi(
            &dash.acting(),
            Some(form.upi_id.as_str()),
            Some(form.upi_name.as_str()).filter(|n| !n.trim().is_empty()),
        )
        .await?;
    Ok(Redirect::to("/dashboard/settings?notice=UPI+saved.").into_response())
}

#[derive(serde::Deserialize)]
pub struct WalletsForm {
    #[serde(default)]
    jazzcash: String,
    #[serde(default)]
    easypaisa: String,
    #[serde(default)]
    bkash: String,
    #[serde(default)]
    nagad: String,
}

pub async fn save_wallets(
    State(state): State<AppState>,
    Posted(dash, form): Posted<WalletsForm>,
) -> Result<Response, DashError> {
    let given = [&form.jazzcash, &form.easypaisa, &form.bkash, &form.nagad];
    let numbers: Vec<(Wallet, Option<&str>)> = Wallet::ALL
        .into_iter()
        .zip(given.map(|n| Some(n.as_str())))
        .collect();
    state.payments.set_wallets(&dash.acting(), &numbers).await?;
    Ok(Redirect::to("/dashboard/settings?notice=Wallets+saved.").into_response())
}

#[derive(serde::Deserialize)]
pub struct UserForm {
    email: String,
    password: String,
    /// Without one (a form from before roles), the least a teammate can do: read.
    #[serde(default = "least_role")]
    role: String,
}

fn least_role() -> String {
    Role::Viewer.as_str().to_string()
}

fn role(text: &str) -> Result<Role, DashError> {
    Role::parse(text).map_err(|e| DashError::Invalid(e.to_string()))
}

pub async fn add_user(
    State(state): State<AppState>,
    Posted(dash, form): Posted<UserForm>,
) -> Result<Response, DashError> {
    state
        .payments
        .create_user(
            &dash.acting(),
            &form.email,
            &form.password,
            role(&form.role)?,
        )
        .await?;
    Ok(Redirect::to("/dashboard/settings?notice=User+added.").into_response())
}

#[derive(serde::Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, form): Posted<RoleForm>,
) -> Result<Response, DashError> {
    state
        .payments
        .set_role(&dash.acting(), &id, role(&form.role)?)
        .await?;
    Ok(Redirect::to("/dashboard/settings?notice=Role+changed.").into_response())
}

pub async fn remove_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, _): Posted<super::auth::Plain>,
) -> Result<Response, DashError> {
    state.payments.remove_user(&dash.acting(), &id).await?;
    Ok(Redirect::to("/dashboard/settings?notice=User+removed.").into_response())
}
