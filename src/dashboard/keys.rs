//! API keys (the PayGate table: ID, Label, Key, Permissions, Webhook, Requests, Revenue,
//! Status, Actions): create one (its secret shown once, with a copy button), with its
//! permissions and webhook URL; revoke. The dialects' credentials are created and rotated here.

use super::auth::{Plain, Posted, PostedFields};
use super::view::{money, when, Chrome};
use super::{render, Dash, DashError};
use crate::domain::key::{format_permissions, ApiKey, Permission};
use crate::domain::role::Action;
use crate::http::AppState;
use crate::service::{credentials, KeyRevenue};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

pub struct KeyRow {
    pub id: String,
    pub label: String,
    pub prefix: String,
    pub permissions: String,
    pub webhook: String,
    pub requests: i64,
    pub revenue: String,
    pub active: bool,
    pub created: String,
    /// Every permission and whether the key has it (the edit form's checkboxes).
    pub grants: Vec<(&'static str, bool)>,
    pub webhook_url: String,
    /// Requests per second, empty for the default (the edit form's value).
    pub rate_limit: String,
}

pub struct CredentialRow {
    pub name: &'static str,
    pub what: &'static str,
    pub public_id: String,
    pub created: String,
}

/// A secret to show once.
pub struct Shown {
    pub title: String,
    pub lines: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "dashboard/keys.html")]
pub struct KeysPage {
    pub chrome: Chrome,
    pub keys: Vec<KeyRow>,
    pub credentials: Vec<CredentialRow>,
    pub permissions: Vec<&'static str>,
    pub shown: Option<Shown>,
    /// Requests per second of a key with no limit of its own.
    pub default_rate: u32,
}

async fn page_with(
    state: &AppState,
    dash: &Dash,
    shown: Option<Shown>,
) -> Result<Response, DashError> {
    let revenue = state.reads.key_revenue(Some(&dash.merchant.id)).await?;
    let keys = state
        .reads
        .list_keys(Some(&dash.merchant.id))
        .await?
        .into_iter()
        .filter(|k| k.mode.is_live() == dash.session.livemode)
        .map(|k| key_row(k, &revenue))
        .collect();
    let credentials = credential_rows(state, dash).await?;
    render(&KeysPage {
        chrome: Chrome::new(dash, "keys", "/dashboard/keys".into()),
        keys,
        credentials,
        permissions: Permission::ALL.iter().map(|p| p.as_str()).collect(),
        shown,
        default_rate: state.rate_limits.config().default_per_second,
    })
}

/// One key as the table shows it, with what it earned per currency.
fn key_row(k: ApiKey, revenue: &[KeyRevenue]) -> KeyRow {
    let earned: Vec<String> = revenue
        .iter()
        .filter(|r| r.key_id == k.id)
        .map(|r| money(r.minor, &r.currency))
        .collect();
    KeyRow {
        permissions: format_permissions(&k.permissions).replace(',', ", "),
        webhook: k.webhook_url.clone().unwrap_or_else(|| "—".into()),
        requests: k.request_count,
        revenue: if earned.is_empty() {
            "—".into()
        } else {
            earned.join(", ")
        },
        active: !k.is_revoked(),
        grants: Permission::ALL
            .iter()
            .map(|p| (p.as_str(), k.permissions.contains(p)))
            .collect(),
        webhook_url: k.webhook_url.clone().unwrap_or_default(),
        rate_limit: k.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
        created: when(k.created_at),
        prefix: format!("{}…", k.prefix),
        label: k.label,
        id: k.id,
    }
}

/// Every credential kind the dialects need, with the stored one's public id where there is one.
async fn credential_rows(state: &AppState, dash: &Dash) -> Result<Vec<CredentialRow>, DashError> {
    let stored = state
        .credentials
        .list(&dash.scope_for(Action::ReadDeveloper)?)
        .await
        .map_err(|e| DashError::Internal(e.to_string()))?;
    Ok(state
        .sources
        .credentials()
        .map(|kind| {
            let c = stored.iter().find(|c| c.name == kind.name);
            CredentialRow {
                name: kind.name,
                what: kind.label,
                public_id: c
                    .and_then(|c| c.public_id.clone())
                    .unwrap_or_else(|| "—".into()),
                created: c.map(|c| when(c.created_at)).unwrap_or_default(),
            }
        })
        .collect())
}

/// The key form's fields: a label, checked permissions (repeated `permission` fields), a
/// webhook URL, a rate limit (empty: the default).
struct KeyForm {
    label: String,
    permissions: Vec<Permission>,
    webhook_url: Option<String>,
    rate_limit: Option<u32>,
}

impl KeyForm {
    fn read(fields: &[(String, String)]) -> Result<KeyForm, DashError> {
        let field = |name: &str| super::auth::field(fields, name).trim().to_string();
        let wanted: Vec<&str> = super::auth::every(fields, "permission").collect();
        Ok(KeyForm {
            label: field("label"),
            permissions: crate::domain::key::parse_permissions(&wanted.join(","))
                .map_err(DashError::Invalid)?,
            webhook_url: Some(field("webhook_url")).filter(|u| !u.is_empty()),
            rate_limit: crate::domain::key::parse_rate_limit(&field("rate_limit"))
                .map_err(DashError::Invalid)?,
        })
    }
}

pub async fn page(State(state): State<AppState>, dash: Dash) -> Result<Response, DashError> {
    page_with(&state, &dash, None).await
}

pub async fn create(
    State(state): State<AppState>,
    PostedFields(dash, fields): PostedFields,
) -> Result<Response, DashError> {
    let form = KeyForm::read(&fields)?;
    let created = state
        .payments
        .create_key(
            &dash.acting(),
            crate::service::keys::NewKey {
                mode: dash.mode(),
                label: form.label,
                permissions: form.permissions,
                webhook_url: form.webhook_url,
                rate_limit: form.rate_limit,
                allow_private: state.payments.allow_private_webhooks,
            },
        )
        .await?;
    let mut lines = vec![("API key".to_string(), created.secret.clone())];
    if let Some(w) = &created.webhook_secret {
        lines.push(("Webhook signing secret".to_string(), w.clone()));
    }
    page_with(
        &state,
        &dash,
        Some(Shown {
            title: format!(
                "Key {} created. Copy its secret now: it is not shown again.",
                created.key.id
            ),
            lines,
        }),
    )
    .await
}

/// Changes a key's permissions, webhook URL and rate limit.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PostedFields(dash, fields): PostedFields,
) -> Result<Response, DashError> {
    let form = KeyForm::read(&fields)?;
    let (key, secret) = state
        .payments
        .change_key(
            &state.keys,
            &dash.acting(),
            &id,
            crate::service::keys::KeyChanges {
                permissions: form.permissions,
                webhook_url: form.webhook_url,
                rate_limit: form.rate_limit,
            },
        )
        .await?;
    let shown = secret.map(|s| Shown {
        title: format!(
            "Key {} now sends webhooks. Copy the signing secret now: it is not shown again.",
            key.id
        ),
        lines: vec![("Webhook signing secret".to_string(), s)],
    });
    page_with(&state, &dash, shown).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, _): Posted<Plain>,
) -> Result<Response, DashError> {
    // Only the merchant's own key, in the mode on show; the very next request with it is
    // refused on this node.
    state
        .payments
        .revoke_key(&state.keys, &dash.acting(), &id)
        .await?;
    Ok(Redirect::to("/dashboard/keys").into_response())
}

#[derive(serde::Deserialize)]
pub struct CredentialForm {
    name: String,
}

pub async fn create_credential(
    State(state): State<AppState>,
    Posted(dash, form): Posted<CredentialForm>,
) -> Result<Response, DashError> {
    let kind = credentials::kind(&state.sources, &form.name)
        .map_err(|e| DashError::Invalid(e.to_string()))?;
    let created = state
        .credentials
        .create(&dash.acting(), kind)
        .await
        .map_err(|e| match e {
            credentials::CredentialError::Forbidden(f) => f.into(),
            other => DashError::Internal(other.to_string()),
        })?;
    let mut lines = Vec::new();
    if let Some(id) = &created.public_id {
        lines.push(("Account id".to_string(), id.clone()));
    }
    lines.push(("Secret".to_string(), created.secret.clone()));
    page_with(
        &state,
        &dash,
        Some(Shown {
            title: format!(
                "{} is set. Copy the secret now: it is not shown again, and the previous one no longer works.",
                created.name
            ),
            lines,
        }),
    )
    .await
}
