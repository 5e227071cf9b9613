//! Signing in and out, the session cookie, CSRF, and the login throttle.
//!
//! The cookie (`hundi_session`: HttpOnly, SameSite=Lax, Secure behind https) holds a random
//! token; the database keeps only its SHA-256. Every POST of a session must carry the
//! session's CSRF token (`csrf` form field); the login form uses a double-submit token.
//! Tries are throttled (`service/throttle.rs`) before any password is checked: five per e-mail address
//! (known or not), then 30 seconds between tries, doubling up to 15 minutes; twenty per
//! client address likewise. A throttled try is answered 429 with `Retry-After`.

use super::{render, view, Dash, DashError};

use crate::domain::ids::random_token;
use crate::domain::session::Stage;
use crate::http::client_addr::ClientAddr;
use crate::http::AppState;
use crate::service::throttle::EMAIL_MAX;
use crate::service::users::{SignInError, SESSION_HOURS};
use axum::body::Bytes;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::Extensions;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use subtle::ConstantTimeEq;

const SESSION_COOKIE: &str = "hundi_session";
/// Where a session goes on when the password was right and the code is still asked, and
/// when the user must first set up two-factor sign-in.
pub(super) const CODE_PAGE: &str = "/dashboard/login/code";
pub(super) const ENROLL_PAGE: &str = "/dashboard/two-factor";
const LOGIN_COOKIE: &str = "hundi_login";

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(super) fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.payments.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(super) fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The session a request's cookie names, at any stage, with its user and merchant (the
/// pages that finish a sign-in, and signing out, take it as it is).
pub(super) async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<crate::service::users::SignedIn, DashError> {
    let token = cookie(headers, SESSION_COOKIE).ok_or(DashError::SignIn)?;
    state
        .payments
        .session(token)
        .await?
        .ok_or(DashError::SignIn)
}

/// The signed-in session of a request, with its user and merchant: only a full one.
async fn dash_of(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Dash, DashError> {
    let crate::service::users::SignedIn {
        session,
        user,
        merchant,
    } = session_of(state, headers).await?;
    match session.stage {
        Stage::Full => {}
        Stage::SecondFactor => return Err(DashError::Elsewhere(CODE_PAGE)),
        Stage::Enroll => return Err(DashError::Elsewhere(ENROLL_PAGE)),
    }
    let scope = crate::service::Scope {
        merchant_id: merchant.id.clone(),
        livemode: session.livemode,
    };
    let unmatched_credits = state.payments.unmatched_credits(&scope).await?;
    Ok(Dash {
        session,
        user,
        merchant,
        origin: state.origin(headers, extensions),
        unmatched_credits,
    })
}

impl FromRequestParts<AppState> for Dash {
    type Rejection = DashError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Dash, DashError> {
        dash_of(state, &parts.headers, &parts.extensions).await
    }
}

/// A POSTed form of a signed-in session, let in only with the session's CSRF token.
pub struct Posted<T>(pub Dash, pub T);

/// The body of a POST of a signed-in session, once its CSRF token checks out.
async fn posted(req: Request, state: &AppState) -> Result<(Dash, Bytes), DashError> {
    let dash = dash_of(state, req.headers(), req.extensions()).await?;
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|_| DashError::Invalid("the form could not be read".into()))?;
    let csrf = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !equal(&csrf, &dash.session.csrf) {
        return Err(DashError::Forbidden);
    }
    Ok((dash, body))
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = DashError;

    async fn from_request(req: Request, state: &AppState) -> Result<Posted<T>, DashError> {
        let (dash, body) = posted(req, state).await?;
        let form = serde_urlencoded::from_bytes(&body)
            .map_err(|e| DashError::Invalid(format!("the form is incomplete: {e}")))?;
        Ok(Posted(dash, form))
    }
}

/// A POSTed form as its list of fields (for repeated fields such as checkboxes).
pub struct PostedFields(pub Dash, pub Vec<(String, String)>);

/// The first value of the posted field `name` (empty when absent).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Every value of a repeated posted field (`methods=card&methods=upi`).
pub fn every<'a>(fields: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    fields
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl FromRequest<AppState> for PostedFields {
    type Rejection = DashError;

    async fn from_request(req: Request, state: &AppState) -> Result<PostedFields, DashError> {
        let (dash, body) = posted(req, state).await?;
        let fields = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(PostedFields(dash, fields))
    }
}

/// A form with nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct Plain {}

pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if dash_of(&state, &headers, &Extensions::new()).await.is_ok() {
        return Redirect::to("/dashboard").into_response();
    }
    login_form(&state, StatusCode::OK, None, "")
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
    email: &str,
) -> Response {
    let csrf = random_token(32);
    let page = view::LoginPage {
        csrf: &csrf,
        error,
        email,
    };
    match render(&page) {
        Ok(mut res) => {
            *res.status_mut() = status;
            res.headers_mut().insert(
                header::SET_COOKIE,
                set_cookie(state, LOGIN_COOKIE, &csrf, 3600),
            );
            res
        }
        Err(e) => e.into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    extensions: Extensions,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !equal(expected, &form.csrf) {
        return DashError::Forbidden.into_response();
    }
    if form.email.chars().count() > EMAIL_MAX {
        // Refused before it is counted: the throttle's rows are keyed by what was typed.
        return login_form(
            &state,
            StatusCode::BAD_REQUEST,
            Some(format!(
                "An e-mail address has at most {EMAIL_MAX} characters."
            )),
            "",
        );
    }
    let signed_in = state
        .payments
        .sign_in(
            &state.sign_in,
            &form.email,
            &form.password,
            &addr.throttle_key(),
            &state.origin(&headers, &extensions),
        )
        .await;
    match signed_in {
        Ok((token, stage)) => signed_in_response(&state, &token, stage),
        Err(e) => sign_in_refused(&state, e, &form.email),
    }
}

/// To the dashboard (or to the code, or to setting up two-factor sign-in) with the new
/// session's cookie; the sign-in form's cookie is spent.
fn signed_in_response(state: &AppState, token: &str, stage: Stage) -> Response {
    let to = match stage {
        Stage::Full => "/dashboard",
        Stage::SecondFactor => CODE_PAGE,
        Stage::Enroll => ENROLL_PAGE,
    };
    let mut res = Redirect::to(to).into_response();
    let headers = res.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(state, SESSION_COOKIE, token, SESSION_HOURS * 3600),
    );
    headers.append(header::SET_COOKIE, set_cookie(state, LOGIN_COOKIE, "", 0));
    res
}

/// The sign-in form again, saying why the sign-in was refused (and when to retry if throttled).
pub(super) fn sign_in_refused(state: &AppState, error: SignInError, email: &str) -> Response {
    match error {
        SignInError::Wait(secs) => retry_after(
            login_form(
                state,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many failed sign-ins. Try again in {secs} seconds."
                )),
                email,
            ),
            secs,
        ),
        SignInError::Busy => retry_after(
            login_form(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Too many sign-ins at once. Try again in a moment.".into()),
                email,
            ),
            1,
        ),
        SignInError::Wrong => login_form(
            state,
            StatusCode::UNAUTHORIZED,
            Some("That e-mail address and password do not match.".into()),
            email,
        ),
        SignInError::Store(e) => DashError::from(e).into_response(),
    }
}

pub(super) fn retry_after(mut res: Response, secs: i64) -> Response {
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    res
}

#[derive(serde::Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Signs out a session at any stage (one still waiting for its code too), with its token.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LogoutForm>,
) -> Result<Response, DashError> {
    let session = session_of(&state, &headers).await?.session;
    if !equal(&form.csrf, &session.csrf) {
        return Err(DashError::Forbidden);
    }
    state.payments.sign_out(&session).await?;
    let mut res = Redirect::to("/dashboard/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    Ok(res)
}

#[derive(serde::Deserialize)]
pub struct ModeForm {
    mode: String,
    #[serde(default)]
    back: Option<String>,
}

/// The test/live switch: the session shows one mode at a time.
pub async fn switch_mode(
    State(state): State<AppState>,
    Posted(dash, form): Posted<ModeForm>,
) -> Result<Response, DashError> {
    let livemode = match form.mode.as_str() {
        "live" => true,
        "test" => false,
        _ => return Err(DashError::Invalid("mode must be test or live".into())),
    };
    state
        .payments
        .set_session_mode(&dash.session, livemode)
        .await?;
    // Back to the same page (never to another site), which now shows the other mode.
    let back = form
        .back
        .filter(|b| b.starts_with("/dashboard") && !b.contains("//"))
        .unwrap_or_else(|| "/dashboard".into());
    Ok(Redirect::to(&back).into_response())
}
