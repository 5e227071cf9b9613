//! The hosted checkout every `checkout_url` points to: server-rendered, no cookies, no CDN.

mod assets;
mod links;
pub mod security;
mod view;
mod wait;

use crate::domain::payment::{Payment, PaymentStatus};
use crate::http::AppState;
use crate::methods::{self, FormInput};
use crate::service::access::Acting;
use crate::service::checkout::AttemptResult;
use crate::service::Scope;
use crate::service::ServiceError;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use view::{Notice, Page};

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
    let res = next.run(req).await;
    let Some(RenderFailed(error)) = res.extensions().get::<RenderFailed>().cloned() else {
        return res;
    };
    tracing::error!(%error, %request_id, "checkout template failed");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &format!(
            "Nothing was charged. Please try again in a moment; if it happens again, \
             give the shop this request id: {request_id}"
        ),
    )
}

/// `?embed=1&origin=…`: the page is inside the JS SDK's modal on that origin.
#[derive(Deserialize, Default)]
struct EmbedParams {
    embed: Option<String>,
    origin: Option<String>,
}

/// The embedding origin, if the request asks for one and the payment allows it: any origin in
/// test mode; in live mode only the origin of the payment's own success or cancel URL.
fn embed_origin(params: &EmbedParams, payment: &Payment) -> Option<String> {
    if params.embed.as_deref() != Some("1") {
        return None;
    }
    let origin = security::parse_origin(params.origin.as_deref()?)?;
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

fn embed_query(origin: Option<&str>) -> String {
    match origin {
        Some(o) => format!(
            "?embed=1&origin={}",
            url::form_urlencoded::byte_serialize(o.as_bytes()).collect::<String>()
        ),
        None => String::new(),
    }
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

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    html(status, view::message(title, text), None)
}

fn service_error(e: ServiceError) -> Response {
    match e {
        ServiceError::NotFound(_) => message_page(
            StatusCode::NOT_FOUND,
            "Payment not found",
            "This payment link is not valid. Check the link you were given.",
        ),
        other => {
            tracing::error!(error = %other, "checkout failed");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Nothing was charged. Please try again in a moment.",
            )
        }
    }
}

async fn render(
    state: &AppState,
    payment: &Payment,
    params: &EmbedParams,
    notice: Notice,
) -> Response {
    let origin = embed_origin(params, payment);
    let merchant = match state.reads.get_merchant(&payment.merchant_id).await {
        Ok(m) => m,
        Err(e) => return service_error(e.into()),
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
        origin.as_deref(),
        embed_query(origin.as_deref()),
        notice,
        state.sources.redirect_id_params(&payment.source),
    );
    match page.render() {
        Ok(body) => html(status, body, origin.as_deref()),
        Err(e) => render_failed(&e),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EmbedParams>,
) -> Response {
    match state.payments.checkout_payment(&id).await {
        Ok(p) => render(&state, &p, &params, Notice::None).await,
        Err(e) => service_error(e),
    }
}

/// What the page polls to learn of completion without a reload. It reveals only the state.
async fn status(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.payments.checkout_payment(&id).await {
        Ok(p) => {
            let mut res = Json(serde_json::json!({ "status": p.status.as_str() })).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(ServiceError::NotFound(_)) => unknown_payment(),
        Err(e) => service_error(e),
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
async fn guarded(state: &AppState, id: &str, form: &FormInput) -> Result<Payment, Response> {
    let payment = state
        .payments
        .checkout_payment(id)
        .await
        .map_err(service_error)?;
    let token = form.get("csrf").map(String::as_str);
    if !security::csrf_ok(&state.checkout_secret, &payment.id, token) {
        return Err(message_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "Reload the payment page and try again.",
        ));
    }
    Ok(payment)
}

fn back_to_page(id: &str, params: &EmbedParams, payment: &Payment) -> Response {
    let origin = embed_origin(params, payment);
    Redirect::to(&format!("/pay/{id}{}", embed_query(origin.as_deref()))).into_response()
}

async fn after_attempt(
    state: &AppState,
    payment: &Payment,
    params: &EmbedParams,
    method: &str,
    result: Result<AttemptResult, ServiceError>,
) -> Response {
    match result {
        Ok(AttemptResult::Invalid(fields)) => {
            render(
                state,
                payment,
                params,
                Notice::Fields {
                    method: method.to_string(),
                    fields,
                },
            )
            .await
        }
        Ok(AttemptResult::Declined(message)) => {
            render(
                state,
                payment,
                params,
                Notice::Declined {
                    method: method.to_string(),
                    message,
                },
            )
            .await
        }
        Ok(AttemptResult::NeedsOtp(attempt)) => {
            render(state, payment, params, Notice::Otp(attempt)).await
        }
        Ok(AttemptResult::Paid(p)) | Ok(AttemptResult::Closed(p)) => {
            back_to_page(&p.id, params, &p)
        }
        Err(e) => service_error(e),
    }
}

/// One try with the offered method `wanted`; a method the payment does not offer is not tried.
async fn try_method(
    state: &AppState,
    id: &str,
    params: &EmbedParams,
    form: &FormInput,
    wanted: &str,
) -> Response {
    let payment = match guarded(state, id, form).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let Some(method) = methods::offered(&payment)
        .into_iter()
        .find(|m| m.name() == wanted)
    else {
        return back_to_page(id, params, &payment);
    };
    let result = state
        .payments
        .attempt(&payment, method.as_ref(), form)
        .await;
    after_attempt(state, &payment, params, wanted, result).await
}

async fn pay_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EmbedParams>,
    Form(form): Form<FormInput>,
) -> Response {
    try_method(&state, &id, &params, &form, "card").await
}

async fn pay_wallet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EmbedParams>,
    Form(form): Form<FormInput>,
) -> Response {
    // The wallet form names its wallet; the card is paid through its own form only.
    match form.get("wallet").cloned() {
        Some(wallet) if wallet != "card" => try_method(&state, &id, &params, &form, &wallet).await,
        _ => match guarded(&state, &id, &form).await {
            Ok(p) => back_to_page(&id, &params, &p),
            Err(res) => res,
        },
    }
}

async fn confirm_otp(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EmbedParams>,
    Form(form): Form<FormInput>,
) -> Response {
    let payment = match guarded(&state, &id, &form).await {
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
    after_attempt(&state, &payment, &params, &method, result).await
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EmbedParams>,
    Form(form): Form<FormInput>,
) -> Response {
    let payment = match guarded(&state, &id, &form).await {
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
            Err(e) => return service_error(e),
        }
    }
    back_to_page(&id, &params, &payment)
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
