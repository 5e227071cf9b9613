//! The merchant dashboard: server-rendered pages (askama), a little dependency-free JS, the
//! checkout's look. Every page acts for the signed-in user's merchant, in the mode the session's
//! test/live switch shows; a foreign id is a 404. Every POST carries the session's CSRF token.
//!
//! auth.rs: sign-in, sessions, CSRF (the service keeps sessions and the login throttle); overview.rs: figures and the chart;
//! payments.rs: the sessions table, CSV, a payment's page, refunds; keys.rs: API keys and
//! dialect credentials; webhooks.rs, credits.rs, settings.rs: their pages.

pub mod audit;
pub mod auth;
pub mod credits;
pub mod keys;
pub mod links;
pub mod mailbox;
pub mod overview;
pub mod payments;
pub mod settings;
pub mod sms;
pub mod two_factor;
pub mod view;
pub mod webhooks;

use crate::domain::audit::Origin;
use crate::domain::merchant::{Merchant, User};
use crate::domain::role::Action;
use crate::domain::session::Session;
use crate::http::AppState;
use crate::service::access::Acting;
use crate::service::Scope;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/login", get(auth::login_page).post(auth::login))
        .route("/dashboard/logout", post(auth::logout))
        .route("/dashboard/mode", post(auth::switch_mode))
        .route("/dashboard", get(overview::page))
        .route("/dashboard/payments", get(payments::list))
        .route("/dashboard/payments.csv", get(payments::csv))
        .route("/dashboard/payments/{id}", get(payments::detail))
        .route("/dashboard/payments/{id}/refund", post(payments::refund))
        .route("/dashboard/payments/{id}/cancel", post(payments::cancel))
        .route(
            "/dashboard/events/{id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/dashboard/keys", get(keys::page).post(keys::create))
        .route("/dashboard/keys/{id}", post(keys::update))
        .route("/dashboard/keys/{id}/revoke", post(keys::revoke))
        .merge(intake_routes())
        .route("/dashboard/credentials", post(keys::create_credential))
        .route(
            "/dashboard/webhooks",
            get(webhooks::page).post(webhooks::create),
        )
        .route("/dashboard/credits", get(credits::page))
        .route("/dashboard/audit", get(audit::page))
        .route("/dashboard/audit.csv", get(audit::csv))
        .route("/dashboard/credits/{id}/match", post(credits::match_credit))
        .route(
            "/dashboard/settings",
            get(settings::page).post(settings::save),
        )
        .route("/dashboard/settings/upi", post(settings::save_upi))
        .route("/dashboard/settings/wallets", post(settings::save_wallets))
        .route(
            "/dashboard/login/code",
            get(two_factor::code_page).post(two_factor::code),
        )
        .route("/dashboard/two-factor", get(two_factor::enroll_page))
        .route("/dashboard/two-factor/setup", post(two_factor::setup))
        .route("/dashboard/two-factor/confirm", post(two_factor::confirm))
        .route("/dashboard/two-factor/disable", post(two_factor::disable))
        .route("/dashboard/two-factor/require", post(two_factor::require))
        .route("/dashboard/settings/users", post(settings::add_user))
        .route(
            "/dashboard/settings/users/{id}/role",
            post(settings::set_role),
        )
        .route(
            "/dashboard/settings/users/{id}/remove",
            post(settings::remove_user),
        )
        .route("/static/dashboard.css", get(view::css))
        .route("/static/dashboard.js", get(view::js))
        .layer(axum::middleware::from_fn(server_timing))
}

/// The pages of money coming in: payment links, the alert mailbox, the SMS forwarding phones.
fn intake_routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/links", get(links::page).post(links::create))
        .route("/dashboard/links/{id}", get(links::detail))
        .route("/dashboard/links/{id}/deactivate", post(links::deactivate))
        .route("/dashboard/mailbox", get(mailbox::page).post(mailbox::save))
        .route("/dashboard/mailbox/remove", post(mailbox::remove))
        .route("/dashboard/sms", get(sms::page).post(sms::create))
        .route("/dashboard/sms/{id}/revoke", post(sms::revoke))
}

/// `Server-Timing: app;dur=…` on every dashboard response: how long the server took, which
/// the benchmark reads.
async fn server_timing(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let mut res = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        res.headers_mut().insert("server-timing", v);
    }
    res
}

/// The signed-in user, their merchant, the session (mode, CSRF token), and where the
/// request came from (for the audit log).
#[derive(Clone)]
pub struct Dash {
    pub session: Session,
    pub user: User,
    pub merchant: Merchant,
    pub origin: Origin,
    /// Credits in the session's mode that matched no payment (the navigation's badge).
    pub unmatched_credits: i64,
}

impl Dash {
    /// The user acting in the session's mode: what every change is made as.
    pub fn acting(&self) -> Acting {
        Acting::user(&self.user, self.session.livemode, self.origin.clone())
    }

    /// The merchant and mode to read or act in, once the user's role allows `action`: every
    /// page names what it does, so a role's limits hold for reads as for changes.
    pub fn scope_for(&self, action: Action) -> Result<Scope, DashError> {
        let acting = self.acting();
        acting.require(action)?;
        Ok(acting.scope())
    }

    /// Whether the user's role allows an action (to show its form or not).
    pub fn may(&self, action: Action) -> bool {
        self.acting().may(action)
    }

    pub fn mode(&self) -> crate::domain::key::Mode {
        crate::domain::key::Mode::from_livemode(self.session.livemode)
    }
}

/// What a dashboard handler can go wrong with, each shown as a page.
#[derive(Debug)]
pub enum DashError {
    /// Not signed in: to the login page.
    SignIn,
    /// Signed in only part way: to where the sign-in goes on (the code, or setting up two-factor).
    Elsewhere(&'static str),
    /// A state-changing request without the session's CSRF token.
    Forbidden,
    /// An action the user's role does not allow: a 403 that says so.
    NotAllowed(String),
    NotFound,
    /// A form's input broke a rule: shown on a page with a way back.
    Invalid(String),
    /// The database cannot be reached: a 503, so a load balancer or a person retries later.
    Unavailable(String),
    Internal(String),
}

impl From<crate::service::StoreError> for DashError {
    fn from(e: crate::service::StoreError) -> DashError {
        match e {
            crate::service::StoreError::NotFound => DashError::NotFound,
            e @ crate::service::StoreError::Unavailable(_) => DashError::Unavailable(e.to_string()),
            other => DashError::Internal(other.to_string()),
        }
    }
}

impl From<crate::service::ServiceError> for DashError {
    fn from(e: crate::service::ServiceError) -> DashError {
        use crate::service::ServiceError;
        match e {
            ServiceError::NotFound(_) => DashError::NotFound,
            ServiceError::Invalid { param, message } => {
                DashError::Invalid(format!("{param}: {message}"))
            }
            ServiceError::InvalidState { message, .. } | ServiceError::Conflict(message) => {
                DashError::Invalid(message)
            }
            ServiceError::Store(e) => e.into(),
            ServiceError::Forbidden(e) => e.into(),
            e @ (ServiceError::PayableAmountsExhausted { .. } | ServiceError::CreditShort(_)) => {
                DashError::Invalid(e.to_string())
            }
        }
    }
}

impl From<crate::service::AccountError> for DashError {
    fn from(e: crate::service::AccountError) -> DashError {
        use crate::service::AccountError;
        match e {
            AccountError::Invalid(m) => DashError::Invalid(m),
            AccountError::NotFound(_) => DashError::NotFound,
            AccountError::Store(s) => s.into(),
            AccountError::Forbidden(e) => e.into(),
        }
    }
}

impl From<crate::service::access::Forbidden> for DashError {
    fn from(e: crate::service::access::Forbidden) -> DashError {
        DashError::NotAllowed(e.to_string())
    }
}

impl From<askama::Error> for DashError {
    fn from(e: askama::Error) -> DashError {
        DashError::Internal(e.to_string())
    }
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            DashError::SignIn => return Redirect::to("/dashboard/login").into_response(),
            DashError::Elsewhere(to) => return Redirect::to(to).into_response(),
            DashError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Refused",
                "This form has expired or did not come from this dashboard. Go back, reload the page and try again.".to_string(),
            ),
            DashError::NotAllowed(why) => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                format!("Not done: {why}. Ask an owner of this account if you need to."),
            ),
            DashError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it belongs to another account or mode.".to_string(),
            ),
            DashError::Invalid(message) => (StatusCode::UNPROCESSABLE_ENTITY, "Not done", message),
            DashError::Unavailable(e) => {
                tracing::error!(error = %e, "dashboard request failed: database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "The database cannot be reached. Please try again in a moment.".to_string(),
                )
            }
            DashError::Internal(e) => {
                tracing::error!(error = %e, "dashboard request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Please try again in a moment.".to_string(),
                )
            }
        };
        let page = view::MessagePage { title, text: &text };
        let body = askama::Template::render(&page).unwrap_or_else(|_| text.clone());
        (status, page_headers(), Html(body)).into_response()
    }
}

/// Headers every dashboard page carries: no caching, no framing, a strict CSP.
pub fn page_headers() -> [(header::HeaderName, &'static str); 4] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ]
}

/// Renders a template as a page.
pub fn render(t: &impl askama::Template) -> Result<Response, DashError> {
    Ok((page_headers(), Html(t.render()?)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_database_is_a_503_page_and_other_errors_a_500() {
        let lost = crate::service::StoreError::Unavailable(sqlx::Error::PoolTimedOut);
        assert_eq!(
            DashError::from(lost).into_response().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let broken = crate::service::StoreError::Corrupt("x".into());
        assert_eq!(
            DashError::from(broken).into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
