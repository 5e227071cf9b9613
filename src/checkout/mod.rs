//! The hosted checkout every `checkout_url` points to: server-rendered, no cookies, no CDN.

mod assets;
mod links;
pub mod security;
mod texts;
mod view;
mod visit;
mod wait;

use crate::domain::payment::{Payment, PaymentStatus};
use crate::http::AppState;
use crate::i18n;
use crate::methods::{self, FormInput};
use crate::service::access::Acting;
use crate::service::checkout::AttemptResult;
use crate::service::Scope;
use crate::service::ServiceError;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use view::{Notice, Page, Shown};
use visit::Visit;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/{id}", get(show))
        .route("/pay/{id}/status", get(status))
        .route("/pay/{id}/events", get(wait::events))
        .route("/pay/{id}/card", post(pay_card))
        .route("/pay/{id}/wallet", post(pay_wallet))
        .route("/pay/{id}/otp", post(confirm_otp))
        .route("/pay/{id}/cancel", post(cancel))
        .route("/l/{slug}", get(links::show).post(links::start))
        .layer(axum::middleware::from_fn(error_pages))
        .merge(assets::router())
}

/// Marks the answer to a request whose page could not be rendered; `error_pages` turns it into
/// the error page, which names the request id (handlers do not carry it).
#[derive(Clone)]
struct RenderFailed(String);

/// A page that could not be rendered: a bug on our side, never "not found".
fn render_failed(e: &askama::Error) -> Response {
    let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    res.extensions_mut().insert(RenderFailed(e.to_string()));
    res
}

/// Answers a failed render with a 500 page that gives the customer the request id to quote,
/// and logs the failure with the same id.
async fn error_pages(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(100).collect::<String>())
        .unwrap_or_default();
    // Kept (cheap clones) to read the page's language only if the render fails.
    let uri = req.uri().clone();
    let accept_language = req.headers().get(header::ACCEPT_LANGUAGE).cloned();
    let res = next.run(req).await;
    let Some(RenderFailed(error)) = res.extensions().get::<RenderFailed>().cloned() else {
        return res;
    };
    tracing::error!(%error, %request_id, "checkout template failed");
    let t = Visit::new(&uri, accept_language.as_ref()).texts(None, None);
    message_page(
        &t,
        StatusCode::INTERNAL_SERVER_ERROR,
        &t.get("error-title"),
        &t.with("error-text-id", "id", &request_id),
    )
}

/// The embedding origin, if the request asks for one and the payment allows it: any origin in
/// test mode; in live mode only the origin of the payment's own success or cancel URL.
fn embed_origin(visit: &Visit, payment: &Payment) -> Option<String> {
    let origin = security::parse_origin(visit.embed_origin()?)?;
    if !payment.livemode {
        return Some(origin);
    }
    let own = |u: &Option<String>| {
        u.as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
    };
    (own(&payment.success_url).as_deref() == Some(origin.as_str())
        || own(&payment.cancel_url).as_deref() == Some(origin.as_str()))
    .then_some(origin)
}

fn html(status: StatusCode, body: String, frame_ancestor: Option<&str>) -> Response {
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.extend(security::page_headers(frame_ancestor));
    res
}

fn message_page(t: &i18n::Texts, status: StatusCode, title: &str, text: &str) -> Response {
    html(status, view::message(t, title, text), None)
}

/// The page for a payment that could not be loaded, in the language the request asks for.
fn service_error(visit: &Visit, e: ServiceError) -> Response {
    let t = visit.texts(None, None);
    match e {
        ServiceError::NotFound(_) => message_page(
            &t,
            StatusCode::NOT_FOUND,
            &t.get("not-found-title"),
            &t.get("not-found-text"),
        ),
        other => {
            tracing::error!(error = %other, "checkout failed");
            message_page(
                &t,
                StatusCode::INTERNAL_SERVER_ERROR,
                &t.get("error-title"),
                &t.get("error-text"),
            )
        }
    }
}

async fn render(state: &AppState, payment: &Payment, visit: &Visit, notice: Notice) -> Response {
    let origin = embed_origin(visit, payment);
    let merchant = match state.reads.get_merchant(&payment.merchant_id).await {
        Ok(m) => m,
        Err(e) => return service_error(visit, e.into()),
    };
    let csrf = security::csrf_token(&state.checkout_secret, &payment.id);
    let status = if notice.is_invalid() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = Page::new(
        payment,
        &merchant,
        csrf,
        Shown {
            t: visit.texts(payment.locale, merchant.default_locale),
            embed_origin: origin.as_deref(),
            query: visit.query(origin.as_deref()),
            query_without_lang: visit.query_without_lang(origin.as_deref()),
        },
        notice,
        state.sources.redirect_id_params(&payment.source),
    );
    match page.render() {
        Ok(body) => html(status, body, origin.as_deref()),
        Err(e) => render_failed(&e),
    }
}

async fn show(State(state): State<AppState>, Path(id): Path<String>, visit: Visit) -> Response {
    match state.payments.checkout_payment(&id).await {
        Ok(p) => render(&state, &p, &visit, Notice::None).await,
        Err(e) => service_error(&visit, e),
    }
}

/// What the page polls to learn of completion without a reload. It reveals only the state.
async fn status(State(state): State<AppState>, Path(id): Path<String>, visit: Visit) -> Response {
    match state.payments.checkout_payment(&id).await {
        Ok(p) => {
            let mut res = Json(serde_json::json!({ "status": p.status.as_str() })).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(ServiceError::NotFound(_)) => unknown_payment(),
        Err(e) => service_error(&visit, e),
    }
}

/// What the page's status requests (the poll and the stream) answer for an unknown payment.
fn unknown_payment() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "status": "not_found" })),
    )
        .into_response()
}

/// Loads the payment and checks the form's CSRF token; `Err` is the page to answer with.
async fn guarded(
    state: &AppState,
    visit: &Visit,
    id: &str,
    form: &FormInput,
) -> Result<Payment, Response> {
    let payment = state
        .payments
        .checkout_payment(id)
        .await
        .map_err(|e| service_error(visit, e))?;
    let token = form.get("csrf").map(String::as_str);
    if !security::csrf_ok(&state.checkout_secret, &payment.id, token) {
        let t = visit.texts(payment.locale, None);
        return Err(message_page(
            &t,
            StatusCode::FORBIDDEN,
            &t.get("form-expired-title"),
            &t.get("form-expired-text"),
        ));
    }
    Ok(payment)
}

fn back_to_page(id: &str, visit: &Visit, payment: &Payment) -> Response {
    let origin = embed_origin(visit, payment);
    Redirect::to(&format!("/pay/{id}{}", visit.query(origin.as_deref()))).into_response()
}

async fn after_attempt(
    state: &AppState,
    payment: &Payment,
    visit: &Visit,
    method: &str,
    result: Result<AttemptResult, ServiceError>,
) -> Response {
    match result {
        Ok(AttemptResult::Invalid(fields)) => {
            render(
                state,
                payment,
                visit,
                Notice::Fields {
                    method: method.to_string(),
                    fields,
                },
            )
            .await
        }
        Ok(AttemptResult::Declined { code, message }) => {
            render(
                state,
                payment,
                visit,
                Notice::Declined {
                    method: method.to_string(),
                    code,
                    message,
                },
            )
            .await
        }
        Ok(AttemptResult::NeedsOtp(attempt)) => {
            render(state, payment, visit, Notice::Otp(attempt)).await
        }
        Ok(AttemptResult::Paid(p)) | Ok(AttemptResult::Closed(p)) => back_to_page(&p.id, visit, &p),
        Err(e) => service_error(visit, e),
    }
}

/// One try with the offered method `wanted`; a method the payment does not offer is not tried.
async fn try_method(
    state: &AppState,
    id: &str,
    visit: &Visit,
    form: &FormInput,
    wanted: &str,
) -> Response {
    let payment = match guarded(state, visit, id, form).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let Some(method) = methods::offered(&payment)
        .into_iter()
        .find(|m| m.name() == wanted)
    else {
        return back_to_page(id, visit, &payment);
    };
    let result = state
        .payments
        .attempt(&payment, method.as_ref(), form)
        .await;
    after_attempt(state, &payment, visit, wanted, result).await
}

async fn pay_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visit: Visit,
    Form(form): Form<FormInput>,
) -> Response {
    try_method(&state, &id, &visit, &form, "card").await
}

async fn pay_wallet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visit: Visit,
    Form(form): Form<FormInput>,
) -> Response {
    // The wallet form names its wallet; the card is paid through its own form only.
    match form.get("wallet").cloned() {
        Some(wallet) if wallet != "card" => try_method(&state, &id, &visit, &form, &wallet).await,
        _ => match guarded(&state, &visit, &id, &form).await {
            Ok(p) => back_to_page(&id, &visit, &p),
            Err(res) => res,
        },
    }
}

async fn confirm_otp(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visit: Visit,
    Form(form): Form<FormInput>,
) -> Response {
    let payment = match guarded(&state, &visit, &id, &form).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let attempt = form.get("attempt").cloned().unwrap_or_default();
    let otp = form.get("otp").cloned().unwrap_or_default();
    let result = state.payments.confirm_otp(&payment, &attempt, &otp).await;
    let method = match &result {
        Ok(_) => state
            .reads
            .get_attempt(&payment.id, &attempt)
            .await
            .map(|a| a.method)
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    after_attempt(&state, &payment, &visit, &method, result).await
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visit: Visit,
    Form(form): Form<FormInput>,
) -> Response {
    let payment = match guarded(&state, &visit, &id, &form).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let scope = Scope {
        merchant_id: payment.merchant_id.clone(),
        livemode: payment.livemode,
    };
    if payment.status == PaymentStatus::Pending {
        match state.payments.cancel(&Acting::customer(&scope), &id).await {
            Ok(_) | Err(ServiceError::InvalidState { .. }) => {}
            Err(e) => return service_error(&visit, e),
        }
    }
    back_to_page(&id, &visit, &payment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// A page whose template fails is a 500 error page naming the request id, not a 404.
    #[tokio::test]
    async fn a_template_failure_is_an_error_page_with_the_request_id() {
        let app: Router = Router::new()
            .route(
                "/pay/{id}",
                get(|| async { render_failed(&askama::Error::Fmt) }),
            )
            .layer(axum::middleware::from_fn(error_pages));
        let res = app
            .oneshot(
                axum::http::Request::get("/pay/pay_1")
                    .header("x-request-id", "req-<b>42</b>")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let page = String::from_utf8_lossy(&body);
        assert!(page.contains("Something went wrong"), "{page}");
        assert!(!page.contains("not found"), "{page}");
        assert!(
            page.contains("req-&#60;b&#62;42") || page.contains("req-&lt;b&gt;42"),
            "the id, escaped: {page}"
        );
    }
}
