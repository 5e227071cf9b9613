//! The native HTTP API under `/v1`, plus `/healthz`, `/metrics` and `/openapi.json`.

pub mod auth;
pub mod credits;
pub mod error;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod payment_links;
pub mod payments;
pub mod ratelimit;
pub mod refunds;
pub mod schema;
pub mod sms;
pub mod webhooks;

use crate::http::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use error::ApiError;
use serde::Serialize;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
        (name = "credits", description = "Bank and wallet credits that complete UPI and wallet payments"),
        (name = "payment links", description = "Reusable addresses where customers pay without code (`/l/{slug}`)"),
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
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An SMS forwarding device's token (hsd_…), made in the dashboard",
                    ))
                    .build(),
            ),
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
    match state.reads.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "database": state.reads.backend()}))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({"status": "unavailable", "database": state.reads.backend()}),
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
    // Absent here when the metrics have their own listener.
    if state.metrics.access().separate_listener {
        return ApiError::not_found("no such route").into_response();
    }
    crate::http::metrics::render(state, headers).await
}

/// What an unknown route answers, in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// `/openapi.json` itself, as the document lists it.
fn openapi_json_path() -> utoipa::openapi::path::PathItem {
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
    )
}

/// The document as JSON, with its links added. Serialized once: the document never changes
/// while the server runs.
fn serialized(spec: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut document = serde_json::to_value(spec).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not serialize");
        serde_json::Value::Null
    });
    openapi::add_links(&mut document);
    document
}

/// The `/v1` operations, each with its place in the OpenAPI document.
fn v1_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
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
        .routes(routes!(
            payment_links::create_payment_link,
            payment_links::list_payment_links
        ))
        .routes(routes!(payment_links::get_payment_link))
        .routes(routes!(payment_links::deactivate_payment_link))
        .routes(routes!(webhooks::create_endpoint, webhooks::list_endpoints))
        .routes(routes!(
            webhooks::get_endpoint,
            webhooks::update_endpoint,
            webhooks::delete_endpoint
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::redeliver))
}

/// The native API's routes (`/v1`, `/healthz`, `/metrics`, `/openapi.json`); `startup.rs`
/// puts them beside the other front doors.
pub fn router(state: &AppState) -> Router<AppState> {
    let (v1, mut spec) = v1_routes()
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
        // Authenticated by a device token, not an API key.
        .routes(routes!(sms::forwarded_sms))
        .split_for_parts();
    spec.merge(system_spec);
    openapi::complete(&mut spec);
    spec.paths
        .paths
        .insert("/openapi.json".into(), openapi_json_path());
    let document = serialized(&spec);
    let spec = Arc::new(document);
    v1.merge(system).route(
        "/openapi.json",
        get(move || async move { Json(spec.as_ref().clone()) }),
    )
}
