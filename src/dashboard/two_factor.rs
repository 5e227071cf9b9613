//! Two-factor sign-in in the dashboard: the code asked after the password, setting it up
//! (QR code, confirmation, recovery codes shown once), turning it off, and an owner's
//! "every user must use it". A session that is only part way signed in reaches these pages
//! and no other.

use super::auth::{equal, retry_after, session_of, sign_in_refused, Posted, CODE_PAGE};
use super::{render, DashError};
use crate::domain::session::Stage;
use crate::http::client_addr::ClientAddr;
use crate::http::AppState;
use crate::service::access::Acting;
use crate::service::second_factor::SetUp;
use crate::service::users::{SignInError, SignedIn};
use askama::Template;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

pub struct SetUpView {
    pub secret: String,
    pub qr_svg: String,
}

#[derive(Template, Default)]
#[template(path = "dashboard/two_factor.html")]
pub struct TwoFactorPage {
    pub title: &'static str,
    pub csrf: String,
    pub error: Option<String>,
    pub code_form: bool,
    pub setup: Option<SetUpView>,
    /// The merchant requires two-factor sign-in (the set-up says why it is asked).
    pub required: bool,
    pub codes: Vec<String>,
}

#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

impl CodeForm {
    /// The code, once the form is known to come from this session's page.
    fn checked(&self, s: &SignedIn) -> Result<&str, DashError> {
        if !equal(&self.csrf, &s.session.csrf) {
            return Err(DashError::Forbidden);
        }
        // A code is six digits, a recovery code eleven characters: nothing longer is read.
        Ok(self.code.get(..self.code.len().min(64)).unwrap_or(""))
    }
}

fn code_form(s: &SignedIn, status: StatusCode, error: Option<String>) -> Response {
    let page = TwoFactorPage {
        title: "Two-factor sign-in",
        csrf: s.session.csrf.clone(),
        error,
        code_form: true,
        ..TwoFactorPage::default()
    };
    let mut res = render(&page).unwrap_or_else(IntoResponse::into_response);
    *res.status_mut() = status;
    res
}

pub async fn code_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, DashError> {
    let s = session_of(&state, &headers).await?;
    if s.session.stage != Stage::SecondFactor {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    Ok(code_form(&s, StatusCode::OK, None))
}

/// The code after the password: right, the session is signed in; wrong or used before, the
/// form again (each try counted by the sign-in throttle).
pub async fn code(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    extensions: Extensions,
    axum::Form(form): axum::Form<CodeForm>,
) -> Result<Response, DashError> {
    let s = session_of(&state, &headers).await?;
    if s.session.stage != Stage::SecondFactor {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    let code = form.checked(&s)?;
    let origin = state.origin(&headers, &extensions);
    let done = state
        .second_factors
        .sign_in(
            &state.sign_in,
            (&s.session, &s.user),
            code,
            &addr.throttle_key(),
            &origin,
        )
        .await;
    Ok(match done {
        Ok(()) => Redirect::to("/dashboard").into_response(),
        Err(SignInError::Wrong) => code_form(
            &s,
            StatusCode::UNAUTHORIZED,
            Some("That code is not right, or it was used already.".into()),
        ),
        Err(SignInError::Wait(secs)) => retry_after(
            code_form(
                &s,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many wrong codes. Try again in {secs} seconds."
                )),
            ),
            secs,
        ),
        Err(e) => sign_in_refused(&state, e, ""),
    })
}

fn setup_page(csrf: &str, setup: SetUp, required: bool, error: Option<String>) -> Response {
    let page = TwoFactorPage {
        title: "Set up two-factor sign-in",
        csrf: csrf.to_string(),
        error,
        setup: Some(SetUpView {
            secret: setup.secret,
            qr_svg: setup.qr_svg,
        }),
        required,
        ..TwoFactorPage::default()
    };
    render(&page).unwrap_or_else(IntoResponse::into_response)
}

/// A user whose merchant requires two-factor sign-in sets it up before anything else.
pub async fn enroll_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, DashError> {
    let s = session_of(&state, &headers).await?;
    match s.session.stage {
        Stage::Enroll => {}
        Stage::SecondFactor => return Ok(Redirect::to(CODE_PAGE).into_response()),
        Stage::Full => return Ok(Redirect::to("/dashboard/settings").into_response()),
    }
    let setup = state.second_factors.begin(&s.user).await?;
    Ok(setup_page(&s.session.csrf, setup, true, None))
}

/// From Settings: a new secret to scan.
pub async fn setup(
    State(state): State<AppState>,
    Posted(dash, _): Posted<super::auth::Plain>,
) -> Result<Response, DashError> {
    let setup = state.second_factors.begin(&dash.user).await?;
    Ok(setup_page(&dash.session.csrf, setup, false, None))
}

/// The code that confirms a set-up: two-factor sign-in is on, and the recovery codes are
/// shown once.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::Form(form): axum::Form<CodeForm>,
) -> Result<Response, DashError> {
    let s = session_of(&state, &headers).await?;
    if s.session.stage == Stage::SecondFactor {
        return Ok(Redirect::to(CODE_PAGE).into_response());
    }
    let code = form.checked(&s)?;
    let by = Acting::user(
        &s.user,
        s.session.livemode,
        state.origin(&headers, &extensions),
    );
    let confirmed = state
        .second_factors
        .confirm(&by, &s.user, &s.session, code)
        .await;
    let codes = match confirmed {
        Ok(codes) => codes,
        Err(crate::service::AccountError::Invalid(why)) => {
            // A new secret to scan: the one shown before is not kept past a wrong code's page.
            let setup = state.second_factors.begin(&s.user).await?;
            let required = s.session.stage == Stage::Enroll;
            let mut res = setup_page(&s.session.csrf, setup, required, Some(why));
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
        Err(e) => return Err(e.into()),
    };
    render(&TwoFactorPage {
        title: "Two-factor sign-in is on",
        csrf: s.session.csrf.clone(),
        codes,
        ..TwoFactorPage::default()
    })
}

pub async fn disable(
    State(state): State<AppState>,
    Posted(dash, form): Posted<CodeForm>,
) -> Result<Response, DashError> {
    state
        .second_factors
        .disable(&dash.acting(), &dash.user, &dash.merchant, &form.code)
        .await?;
    Ok(Redirect::to("/dashboard/settings?notice=Two-factor+sign-in+is+off.").into_response())
}

#[derive(serde::Deserialize)]
pub struct RequireForm {
    #[serde(default)]
    required: Option<String>,
}

/// An owner's switch: every user of the merchant must sign in with a second factor.
pub async fn require(
    State(state): State<AppState>,
    Posted(dash, form): Posted<RequireForm>,
) -> Result<Response, DashError> {
    let on = form.required.is_some();
    state.second_factors.require(&dash.acting(), on).await?;
    let notice = if on {
        "Two-factor+sign-in+is+now+required."
    } else {
        "Two-factor+sign-in+is+no+longer+required."
    };
    Ok(Redirect::to(&format!("/dashboard/settings?notice={notice}")).into_response())
}
