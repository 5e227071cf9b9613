//! `/v1/payments`: create, read, list, cancel.

use super::auth::Principal;
use super::error::{ApiError, ErrorBody};
use super::extract::{amount_text, ApiJson, ApiQuery};
use super::idempotency::HeldKey;
use super::{AppState, List};
use crate::domain::key::Permission;
use crate::domain::payment::{Customer, PaymentStatus};
use crate::service::objects::PaymentObject;
use crate::service::NewPayment;
use crate::store::PaymentFilter;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
pub struct CustomerInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CreatePayment {
    /// A decimal string in the currency's units, e.g. "100.00" (a JSON number is accepted too).
    #[serde(deserialize_with = "amount_text")]
    #[schema(value_type = String, example = "100.00")]
    pub amount: String,
    /// ISO-4217 code.
    #[schema(example = "PKR")]
    pub currency: String,
    pub description: Option<String>,
    /// The merchant's own order reference; filterable.
    pub reference: Option<String>,
    pub customer: Option<CustomerInput>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    /// Which of `card`, `jazzcash`, `easypaisa`, `upi` the checkout offers (default: all).
    pub methods: Option<Vec<String>>,
    /// Seconds until the payment expires (60 to 604800; default 3600).
    pub expires_in: Option<i64>,
}

#[utoipa::path(
    post, path = "/v1/payments", tag = "payments",
    request_body = CreatePayment,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "The payment was created", body = PaymentObject),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked key", body = ErrorBody),
        (status = 409, description = "Idempotency-Key reused with another body", body = ErrorBody),
        (status = 422, description = "A rule was broken", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_payment(
    State(state): State<AppState>,
    principal: Principal,
    held: Option<Extension<HeldKey>>,
    ApiJson(body): ApiJson<CreatePayment>,
) -> Result<(StatusCode, Json<PaymentObject>), ApiError> {
    principal.require(Permission::PaymentsCreate)?;
    let customer = body.customer.map(|c| Customer {
        name: c.name,
        email: c.email,
        phone: c.phone,
    });
    let input = NewPayment {
        amount: body.amount,
        currency: body.currency,
        description: body.description,
        reference: body.reference,
        customer: customer.unwrap_or_default(),
        metadata: body.metadata.unwrap_or_default(),
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        methods: body.methods,
        expires_in: body.expires_in,
        source: "native".into(),
        key_id: Some(principal.key.id.clone()),
        ..NewPayment::default()
    };
    // Under an Idempotency-Key the response is kept in the payment's own transaction.
    let key = held.map(|Extension(h)| h.claimed(StatusCode::CREATED));
    let payment = state
        .payments
        .create_idempotent(&principal.scope(), input, key.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(state.payments.object(&payment))))
}

#[utoipa::path(
    get, path = "/v1/payments/{id}", tag = "payments",
    params(("id" = String, Path, description = "The payment's id")),
    responses(
        (status = 200, description = "The payment", body = PaymentObject),
        (status = 404, description = "No such payment for this key", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_payment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PaymentObject>, ApiError> {
    principal.require(Permission::PaymentsRead)?;
    let payment = state.payments.get(&principal.scope(), &id).await?;
    Ok(Json(state.payments.object(&payment)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPaymentsQuery {
    /// Only payments in this status.
    pub status: Option<String>,
    /// Only payments with this reference.
    pub reference: Option<String>,
    /// Created at or after (RFC 3339 or Unix seconds).
    #[serde(rename = "created[gte]")]
    #[param(rename = "created[gte]")]
    pub created_gte: Option<String>,
    /// Created at or before (RFC 3339 or Unix seconds).
    #[serde(rename = "created[lte]")]
    #[param(rename = "created[lte]")]
    pub created_lte: Option<String>,
    /// 1 to 100, default 10.
    pub limit: Option<String>,
    /// A payment id: return the ones created before it (the next page).
    pub starting_after: Option<String>,
}

pub fn parse_time(param: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(secs) = value.parse::<i64>() {
        return DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| ApiError::bad_param(param, format!("{param} is out of range")));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_param(param, format!("{param} must be RFC 3339 or Unix seconds"))
        })
}

pub fn parse_limit(value: Option<&str>) -> Result<u32, ApiError> {
    match value {
        None => Ok(10),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_param(
                "limit",
                "limit must be between 1 and 100",
            )),
        },
    }
}

#[utoipa::path(
    get, path = "/v1/payments", tag = "payments",
    params(ListPaymentsQuery),
    responses(
        (status = 200, description = "Payments, newest first", body = PaymentList),
        (status = 400, description = "A bad filter", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_payments(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListPaymentsQuery>,
) -> Result<Json<List<PaymentObject>>, ApiError> {
    principal.require(Permission::PaymentsRead)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(PaymentStatus::parse(s).ok_or_else(|| {
            ApiError::bad_param("status", format!("status '{s}' is not a payment status"))
        })?),
    };
    let limit = parse_limit(q.limit.as_deref())?;
    let filter = PaymentFilter {
        status,
        reference: q.reference,
        source: None,
        search: None,
        created_gte: q
            .created_gte
            .as_deref()
            .map(|v| parse_time("created[gte]", v))
            .transpose()?,
        created_lte: q
            .created_lte
            .as_deref()
            .map(|v| parse_time("created[lte]", v))
            .transpose()?,
        starting_after: q.starting_after,
        limit: limit + 1,
    };
    let mut rows = state.payments.list(&principal.scope(), &filter).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(List::new(
        "/v1/payments",
        rows.iter().map(|p| state.payments.object(p)).collect(),
        has_more,
    )))
}

#[utoipa::path(
    post, path = "/v1/payments/{id}/cancel", tag = "payments",
    params(("id" = String, Path, description = "The payment's id")),
    responses(
        (status = 200, description = "The canceled payment", body = PaymentObject),
        (status = 404, description = "No such payment", body = ErrorBody),
        (status = 409, description = "The payment is no longer pending", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn cancel_payment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PaymentObject>, ApiError> {
    principal.require(Permission::PaymentsWrite)?;
    let payment = state.payments.cancel(&principal.scope(), &id).await?;
    Ok(Json(state.payments.object(&payment)))
}

/// Test mode only: complete or fail a payment without a customer.
fn require_test_mode(principal: &Principal) -> Result<(), ApiError> {
    if principal.key.mode.is_live() {
        return Err(ApiError::forbidden(
            "test_mode_only",
            "this endpoint exists only in test mode; use a test key",
        ));
    }
    principal.require(Permission::PaymentsWrite)
}

#[utoipa::path(
    post, path = "/v1/test/payments/{id}/succeed", tag = "test mode",
    params(("id" = String, Path, description = "The payment's id")),
    responses(
        (status = 200, description = "The payment, now succeeded", body = PaymentObject),
        (status = 403, description = "Called with a live key", body = ErrorBody),
        (status = 409, description = "The payment is no longer pending", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn test_succeed(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PaymentObject>, ApiError> {
    require_test_mode(&principal)?;
    let payment = state.payments.succeed(&principal.scope(), &id).await?;
    Ok(Json(state.payments.object(&payment)))
}

#[utoipa::path(
    post, path = "/v1/test/payments/{id}/fail", tag = "test mode",
    params(("id" = String, Path, description = "The payment's id")),
    responses(
        (status = 200, description = "The payment, now failed", body = PaymentObject),
        (status = 403, description = "Called with a live key", body = ErrorBody),
        (status = 409, description = "The payment is no longer pending", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn test_fail(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PaymentObject>, ApiError> {
    require_test_mode(&principal)?;
    let payment = state.payments.fail(&principal.scope(), &id).await?;
    Ok(Json(state.payments.object(&payment)))
}

/// A page of payments (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PaymentList {
    object: String,
    data: Vec<PaymentObject>,
    has_more: bool,
    url: String,
}
