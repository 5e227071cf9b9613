//! `/v1/webhook_endpoints`, and each event's deliveries.

use super::auth::Principal;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::idempotency::HoldsSecret;
use super::payments::parse_limit;
use super::{schema, AppState, List};
use crate::domain::key::Permission;
use crate::service::objects::rfc3339;
use crate::service::webhooks::{EndpointChange, EndpointObject};
use crate::service::Page;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
pub struct CreateEndpoint {
    #[schema(schema_with = endpoint_url)]
    pub url: String,
    #[schema(schema_with = endpoint_events)]
    pub events: Vec<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

fn endpoint_url() -> utoipa::openapi::schema::Schema {
    schema::webhook_url(false)
}

fn endpoint_events() -> utoipa::openapi::schema::Schema {
    schema::event_types(false)
}

fn changed_url() -> utoipa::openapi::schema::Schema {
    schema::webhook_url(true)
}

fn changed_events() -> utoipa::openapi::schema::Schema {
    schema::event_types(true)
}

#[utoipa::path(
    post, path = "/v1/webhook_endpoints", tag = "webhooks",
    request_body = CreateEndpoint,
    responses(
        (status = 201, description = "Created; `secret` (whsec_…) is shown this once", body = EndpointObject),
        (status = 422, description = "A forbidden or malformed URL, or an unknown event type", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, Extension<HoldsSecret>, Json<EndpointObject>), ApiError> {
    principal.require(Permission::WebhooksWrite)?;
    let e = state
        .payments
        .create_endpoint(
            &principal.acting(),
            &body.url,
            &body.events,
            body.description,
        )
        .await?;
    // The secret is shown this once: an Idempotency-Key replay keeps it only sealed.
    Ok((
        StatusCode::CREATED,
        Extension(HoldsSecret),
        Json(EndpointObject::new(&e, true)),
    ))
}

/// A page of a listing in creation order (endpoints, an event's deliveries).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100, default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The last id of the previous page: return the ones created after it.
    pub starting_after: Option<String>,
}

impl PageQuery {
    fn page(self) -> Result<Page, ApiError> {
        Ok(Page {
            limit: parse_limit(self.limit.as_deref())?,
            starting_after: self.starting_after,
        })
    }
}

#[utoipa::path(
    get, path = "/v1/webhook_endpoints", tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, description = "Endpoints, oldest first: {object, data, has_more, url}", body = EndpointList),
        (status = 400, description = "A bad limit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_endpoints(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<List<EndpointObject>>, ApiError> {
    principal.require(Permission::WebhooksWrite)?;
    let (rows, has_more) = state
        .payments
        .list_endpoints(&principal.scope(), &q.page()?)
        .await?;
    Ok(Json(List::new(
        "/v1/webhook_endpoints",
        rows.iter().map(|e| EndpointObject::new(e, false)).collect(),
        has_more,
    )))
}

/// A page of webhook endpoints (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EndpointList {
    #[schema(example = "list")]
    object: String,
    data: Vec<EndpointObject>,
    has_more: bool,
    #[schema(example = "/v1/webhook_endpoints")]
    url: String,
}

#[utoipa::path(
    get, path = "/v1/webhook_endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = EndpointObject),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<EndpointObject>, ApiError> {
    principal.require(Permission::WebhooksWrite)?;
    let e = state.payments.get_endpoint(&principal.scope(), &id).await?;
    Ok(Json(EndpointObject::new(&e, false)))
}

/// Tells an absent field from an explicit `null` (which clears the description).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateEndpoint {
    #[schema(schema_with = changed_url)]
    pub url: Option<String>,
    #[schema(schema_with = changed_events)]
    pub events: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

#[utoipa::path(
    post, path = "/v1/webhook_endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = UpdateEndpoint,
    responses(
        (status = 200, description = "The updated endpoint", body = EndpointObject),
        (status = 404, description = "No such endpoint", body = ErrorBody),
        (status = 422, description = "A forbidden URL or unknown event type", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateEndpoint>,
) -> Result<Json<EndpointObject>, ApiError> {
    principal.require(Permission::WebhooksWrite)?;
    let change = EndpointChange {
        url: body.url,
        events: body.events,
        description: body.description,
        enabled: body.enabled,
    };
    let e = state
        .payments
        .update_endpoint(&principal.acting(), &id, change)
        .await?;
    Ok(Json(EndpointObject::new(&e, false)))
}

#[utoipa::path(
    delete, path = "/v1/webhook_endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "Deleted: {id, object, deleted: true}"),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    principal.require(Permission::WebhooksWrite)?;
    state
        .payments
        .delete_endpoint(&principal.acting(), &id)
        .await?;
    Ok(Json(
        serde_json::json!({"id": id, "object": "webhook_endpoint", "deleted": true}),
    ))
}

#[utoipa::path(
    post, path = "/v1/webhook_endpoints/{id}/rotate_secret", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The new secret, shown once; the old one signs too for 24 hours", body = EndpointObject),
        (status = 404, description = "No such endpoint", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(Extension<HoldsSecret>, Json<EndpointObject>), ApiError> {
    principal.require(Permission::WebhooksWrite)?;
    let e = state
        .payments
        .rotate_endpoint_secret(&principal.acting(), &id)
        .await?;
    Ok((Extension(HoldsSecret), Json(EndpointObject::new(&e, true))))
}

#[derive(Serialize, ToSchema)]
pub struct AttemptObject {
    pub attempted_at: String,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The first KiB of the response.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryObject {
    pub id: String,
    pub object: &'static str,
    pub event: String,
    pub endpoint: String,
    /// `pending` (due at `next_attempt_at`), `succeeded`, `failed`, `declined` (the
    /// receiver's answer was final, as a dialect allows) or `skipped` (the endpoint's
    /// dialect has no webhook for this event).
    pub status: String,
    pub attempts: Vec<AttemptObject>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

/// The deliveries of an event (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeliveryList {
    #[schema(example = "list")]
    object: String,
    data: Vec<DeliveryObject>,
    has_more: bool,
    url: String,
}

#[utoipa::path(
    get, path = "/v1/events/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The event's id"), PageQuery),
    responses(
        (status = 200, description = "The event's deliveries, oldest first, with every attempt", body = DeliveryList),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<List<DeliveryObject>>, ApiError> {
    principal.require(Permission::EventsRead)?;
    let (rows, has_more) = state
        .payments
        .deliveries(&principal.scope(), &id, &q.page()?)
        .await?;
    let data = rows
        .into_iter()
        .map(|d| DeliveryObject {
            object: "webhook_delivery",
            event: d.event_id,
            endpoint: d.endpoint_id,
            next_attempt_at: (d.status == "pending").then(|| rfc3339(d.next_attempt_at)),
            status: d.status,
            attempts: d
                .log
                .into_iter()
                .map(|a| AttemptObject {
                    attempted_at: rfc3339(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    response_body: a.response_body,
                    error: a.error,
                })
                .collect(),
            created_at: rfc3339(d.created_at),
            id: d.id,
        })
        .collect();
    Ok(Json(List::new(
        "/v1/events/{id}/deliveries",
        data,
        has_more,
    )))
}

#[utoipa::path(
    post, path = "/v1/events/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "The event's id")),
    responses(
        (status = 200, description = "{scheduled: n}: deliveries scheduled again now"),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn redeliver(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    principal.require(Permission::WebhooksWrite)?;
    let n = state.payments.redeliver(&principal.acting(), &id).await?;
    Ok(Json(serde_json::json!({"event": id, "scheduled": n})))
}
