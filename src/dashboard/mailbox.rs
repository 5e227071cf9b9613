//! Mailbox: the IMAP mailbox whose bank alerts Hundi reads in this mode, its settings (the
//! password never shown again), and how the reading goes (connected, last message, last error).

use super::auth::{Plain, Posted};
use super::view::{when, Chrome};
use super::{render, Dash, DashError};
use crate::domain::mailbox::{Mailbox, MailboxSettings, Security};
use crate::domain::role::Action;
use crate::http::AppState;
use crate::service::inbox::MailboxError;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

/// How the reading goes, as shown.
pub struct Status {
    pub connected: bool,
    pub connected_at: String,
    pub last_read: Option<(String, String)>,
    pub last_error: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "dashboard/mailbox.html")]
pub struct MailboxPage {
    pub chrome: Chrome,
    /// The settings shown in the form (empty fields when none is set).
    pub host: String,
    pub port: String,
    pub starttls: bool,
    pub user: String,
    pub folder: String,
    pub senders: String,
    pub status: Option<Status>,
    pub may_manage: bool,
}

fn status_of(m: &Mailbox) -> Status {
    let p = &m.progress;
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(when).unwrap_or_default();
    Status {
        connected: m.connected(),
        connected_at: at(p.connected_at),
        last_read: p.last_message.clone().map(|msg| (at(p.last_read_at), msg)),
        last_error: p.last_error.clone().map(|e| (at(p.last_error_at), e)),
    }
}

pub async fn page(State(state): State<AppState>, dash: Dash) -> Result<Response, DashError> {
    let scope = dash.scope_for(Action::ReadDeveloper)?;
    let mailbox = state.mailboxes.get(&scope).await?;
    let s = mailbox.as_ref().map(|m| &m.settings);
    render(&MailboxPage {
        chrome: Chrome::new(&dash, "mailbox", "/dashboard/mailbox".into()),
        host: s.map(|s| s.host.clone()).unwrap_or_default(),
        port: s.map(|s| s.port.to_string()).unwrap_or_default(),
        starttls: s.is_some_and(|s| s.security == Security::StartTls),
        user: s.map(|s| s.username.clone()).unwrap_or_default(),
        folder: s.map_or("INBOX".into(), |s| s.folder.clone()),
        senders: s.map(|s| s.senders.join("\n")).unwrap_or_default(),
        status: mailbox.as_ref().map(status_of),
        may_manage: dash.may(Action::ManageSettings),
    })
}

#[derive(serde::Deserialize)]
pub struct MailboxForm {
    host: String,
    #[serde(default)]
    port: String,
    security: String,
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    folder: String,
    #[serde(default)]
    senders: String,
}

pub async fn save(
    State(state): State<AppState>,
    Posted(dash, form): Posted<MailboxForm>,
) -> Result<Response, DashError> {
    let port = match form.port.trim() {
        "" => None,
        p => Some(
            p.parse()
                .map_err(|_| DashError::Invalid("port must be 1 to 65535".into()))?,
        ),
    };
    let security = Security::parse(&form.security).map_err(DashError::Invalid)?;
    let settings = MailboxSettings::new(
        &form.host,
        port,
        security,
        &form.user,
        &form.folder,
        &form.senders,
    )
    .map_err(DashError::Invalid)?;
    let password = Some(form.password.as_str());
    state
        .mailboxes
        .set(&dash.acting(), settings, password)
        .await?;
    Ok(Redirect::to("/dashboard/mailbox").into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    Posted(dash, _): Posted<Plain>,
) -> Result<Response, DashError> {
    state.mailboxes.clear(&dash.acting()).await?;
    Ok(Redirect::to("/dashboard/mailbox").into_response())
}

impl From<MailboxError> for DashError {
    fn from(e: MailboxError) -> DashError {
        match e {
            MailboxError::Invalid(m) => DashError::Invalid(m),
            MailboxError::NotSet => DashError::NotFound,
            MailboxError::Forbidden(f) => f.into(),
            MailboxError::Store(s) => s.into(),
            e @ MailboxError::Sealed(_) => DashError::Internal(e.to_string()),
        }
    }
}
