//! `/v1/events`: the outbox, readable. Each event's payload is returned byte for byte.

use super::auth::Principal;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::payments::parse_limit;
use crate::domain::key::Permission;
use crate::http::AppState;
use crate::service::{EventFilter, StoreError};
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEventsQuery {
    /// Only events of this type, e.g. `payment.succeeded`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Only events about this payment or refund.
    pub object: Option<String>,
    /// 1 to 100, default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// An event id: return the ones created before it (the next page).
    pub starting_after: Option<String>,
}

fn json(body: String) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

#[utoipa::path(
    get, path = "/v1/events", tag = "events",
    params(ListEventsQuery),
    responses(
        (status = 200, description = "Events, newest first: {object, data, has_more, url}"),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 404, description = "`starting_after` names no event of this key", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListEventsQuery>,
) -> Result<Response, ApiError> {
    principal.require(Permission::EventsRead)?;
    let limit = parse_limit(q.limit.as_deref())?;
    let filter = EventFilter {
        event_type: q.event_type,
        object_id: q.object,
        starting_after: q.starting_after,
        limit: limit + 1,
    };
    let mut rows = match state.reads.list_events(&principal.scope(), &filter).await {
        Err(StoreError::NotFound) => {
            return Err(ApiError::not_found("no such event").with_param("starting_after"))
        }
        other => other?,
    };
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    // The stored payloads are spliced in as they are: never re-serialized.
    let data: Vec<&str> = rows.iter().map(|e| e.payload.as_str()).collect();
    Ok(json(format!(
        r#"{{"object":"list","data":[{}],"has_more":{has_more},"url":"/v1/events"}}"#,
        data.join(",")
    )))
}

#[utoipa::path(
    get, path = "/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The event: {id, object, type, livemode, created_at, data: {object}}"),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_event(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Permission::EventsRead)?;
    match state.reads.get_event(&principal.scope(), &id).await {
        Ok(event) => Ok(json(event.payload)),
        Err(StoreError::NotFound) => Err(ApiError::not_found("no such event")),
        Err(e) => Err(e.into()),
    }
}
