//! The native HTTP API under `/v1`, plus `/healthz`, `/metrics` and `/openapi.json`.

pub mod auth;
pub mod client_addr;
pub mod credits;
pub mod error;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod payments;
pub mod ratelimit;
pub mod refunds;
pub mod schema;
pub mod usage;
pub mod webhooks;

use crate::service::PaymentService;
use crate::store::Store;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use error::ApiError;
use serde::Serialize;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

static REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub payments: PaymentService,
    pub usage: Arc<usage::KeyUsage>,
    pub metrics: Arc<metrics::Metrics>,
    /// Keys the checkout's CSRF tokens; shared by every node through the database.
    pub checkout_secret: Arc<Vec<u8>>,
    pub keys: Arc<auth::KeyCache>,
    /// Seals and opens dialect credentials.
    pub secrets: crate::secrets::SecretBox,
    /// The dialects' credentials (sealed with `secrets`).
    pub credentials: crate::service::credentials::Credentials,
    /// The dialects this server speaks.
    pub dialects: crate::dialects::Registry,
    /// What the checkout and the dashboard know of each payment source (from `dialects`).
    pub sources: Arc<crate::domain::source::Sources>,
    /// Request rate limits per key (and per client address for browser keys).
    pub rate_limits: Arc<crate::service::ratelimit::RateLimiter>,
    /// Whose `X-Forwarded-For` names the client.
    pub proxies: Arc<client_addr::TrustedProxies>,
    /// The dashboard's sign-in throttle and its ceiling on password checks.
    pub sign_in: Arc<crate::dashboard::throttle::SignInGuard>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, public_url: String, checkout_secret: Vec<u8>) -> AppState {
        let secrets = crate::secrets::SecretBox::random();
        let dialects = crate::dialects::registry();
        AppState {
            credentials: crate::service::credentials::Credentials::new(
                store.clone(),
                secrets.clone(),
            ),
            sources: Arc::new(dialects.sources()),
            dialects,
            payments: PaymentService::new(store.clone(), public_url),
            rate_limits: Arc::new(crate::service::ratelimit::RateLimiter::new(
                store.clone(),
                crate::service::ratelimit::RateLimitConfig::from_env(),
            )),
            store,
            usage: Arc::default(),
            metrics: Arc::default(),
            checkout_secret: Arc::new(checkout_secret),
            keys: Arc::new(auth::KeyCache::from_env()),
            secrets,
            proxies: Arc::default(),
            sign_in: Arc::default(),
        }
    }
}

/// A page of objects, newest first.
#[derive(Serialize)]
pub struct List<T: Serialize> {
    object: &'static str,
    data: Vec<T>,
    has_more: bool,
    url: &'static str,
}

impl<T: Serialize> List<T> {
    pub fn new(url: &'static str, data: Vec<T>, has_more: bool) -> List<T> {
        List {
            object: "list",
            data,
            has_more,
            url,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hundi API",
        description = "The native API of Hundi, a self-hosted payment gateway. \
            Authenticate with `Authorization: Bearer <key>`; every POST honours `Idempotency-Key`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "payments"), (name = "refunds"), (name = "events"),
        (name = "credits", description = "Bank credits that complete UPI payments"),
        (name = "webhooks", description = "Endpoints and deliveries (Standard Webhooks signatures)"),
        (name = "test mode", description = "Only with test keys"),
        (name = "system")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What `/healthz` answers.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct Health {
    /// `ok` or `unavailable`.
    #[schema(example = "ok")]
    status: String,
    /// `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    database: String,
}

#[utoipa::path(
    get, path = "/healthz", tag = "system",
    responses(
        (status = 200, description = "The server and its database answer", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "database": state.store.backend()}))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({"status": "unavailable", "database": state.store.backend()}),
                ),
            )
                .into_response()
        }
    }
}

#[utoipa::path(
    get, path = "/metrics", tag = "system",
    responses(
        (status = 200, description = "Prometheus (OpenMetrics) text; payment counts cover every merchant",
         content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "A metrics token is set and the request did not send it"),
    )
)]
async fn metrics_route(state: State<AppState>, headers: axum::http::HeaderMap) -> Response {
    metrics::render_main(state, headers).await
}

/// The pages' refusal of a body they cannot take: plain text, as a browser shows it.
fn plain_refusal(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

/// The application served on the metrics address (`--metrics-listen`): `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// Every request gets an `x-request-id` (kept if the caller sent one, echoed in the response)
/// and a tracing span carrying it, so each log line names its request.
fn with_request_tracing(router: Router) -> Router {
    fn span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
    }
    // Layers wrap outwards: the id is set first, then the span opens, then the id is echoed.
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(span as fn(&_) -> _))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

/// A panic in a handler is a bug; the caller still gets the API's error shape, not a reset.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// Builds the whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (v1, mut spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(payments::create_payment, payments::list_payments))
        .routes(routes!(payments::get_payment))
        .routes(routes!(payments::cancel_payment))
        .routes(routes!(payments::test_succeed))
        .routes(routes!(payments::test_fail))
        .routes(routes!(refunds::create_refund))
        .routes(routes!(refunds::get_refund))
        .routes(routes!(events::list_events))
        .routes(routes!(events::get_event))
        .routes(routes!(credits::create_credit, credits::list_credits))
        .routes(routes!(credits::parse_alert))
        .routes(routes!(credits::get_credit))
        .routes(routes!(credits::match_credit))
        .routes(routes!(webhooks::create_endpoint, webhooks::list_endpoints))
        .routes(routes!(
            webhooks::get_endpoint,
            webhooks::update_endpoint,
            webhooks::delete_endpoint
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::redeliver))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .split_for_parts();
    let (system, system_spec) = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics_route))
        .split_for_parts();
    spec.merge(system_spec);
    openapi::complete(&mut spec);
    spec.paths.paths.insert(
        "/openapi.json".into(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .tag("system")
                .summary(Some("This document"))
                .response(
                    "200",
                    utoipa::openapi::ResponseBuilder::new()
                        .description("The OpenAPI 3.1 document")
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(
                                    utoipa::openapi::ObjectBuilder::new()
                                        .schema_type(utoipa::openapi::schema::Type::Object),
                                ))
                                .build(),
                        ),
                ),
        ),
    );
    // Serialized once: the document never changes while the server runs.
    let mut document = serde_json::to_value(&spec).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not serialize");
        serde_json::Value::Null
    });
    openapi::add_links(&mut document);
    let spec = Arc::new(document);
    let mut app = v1.merge(system);
    for dialect in state.dialects.all() {
        app = app.merge(extract::with_small_body_limit(
            dialect.router(),
            dialect.refuse(),
        ));
    }
    let app = app
        // Only the native API takes bodies up to 1 MiB; the other doors' requests are small.
        .merge(extract::with_small_body_limit(
            crate::checkout::router(),
            plain_refusal,
        ))
        .merge(extract::with_small_body_limit(
            crate::dashboard::router(),
            plain_refusal,
        ))
        .route(
            "/openapi.json",
            get(move || async move { Json(spec.as_ref().clone()) }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                "this route does not accept that method",
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::layer,
        ))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .with_state(state);
    with_request_tracing(app)
}
