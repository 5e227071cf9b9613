//! `/v1/refunds`: refund all or part of a paid payment.

use super::auth::Principal;
use super::error::{ApiError, ErrorBody};
use super::extract::{optional_amount_text, ApiJson};
use super::idempotency::HeldKey;
use super::{schema, AppState};
use crate::domain::key::Permission;
use crate::service::objects::RefundObject;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct CreateRefund {
    /// The payment to refund.
    pub payment: String,
    #[serde(default, deserialize_with = "optional_amount_text")]
    #[schema(schema_with = schema::any_amount)]
    pub amount: Option<String>,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[utoipa::path(
    post, path = "/v1/refunds", tag = "refunds",
    request_body = CreateRefund,
    responses(
        (status = 201, description = "The refund was made", body = RefundObject),
        (status = 404, description = "No such payment", body = ErrorBody),
        (status = 409, description = "The payment is not refundable (not succeeded, or refunded in full)", body = ErrorBody),
        (status = 422, description = "The amount exceeds what is left to refund, or has more decimals than the payment's currency", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_refund(
    State(state): State<AppState>,
    principal: Principal,
    held: Option<Extension<HeldKey>>,
    ApiJson(body): ApiJson<CreateRefund>,
) -> Result<(StatusCode, Json<RefundObject>), ApiError> {
    principal.require(Permission::RefundsWrite)?;
    // Under an Idempotency-Key the response is kept in the refund's own transaction.
    let key = held.map(|Extension(h)| h.claimed(StatusCode::CREATED));
    let (_, refund) = state
        .payments
        .refund_idempotent(
            &principal.acting(),
            &body.payment,
            body.amount.as_deref(),
            body.reason,
            key.as_ref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(RefundObject::new(&refund))))
}

#[utoipa::path(
    get, path = "/v1/refunds/{id}", tag = "refunds",
    params(("id" = String, Path, description = "The refund's id")),
    responses(
        (status = 200, description = "The refund", body = RefundObject),
        (status = 404, description = "No such refund", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<RefundObject>, ApiError> {
    principal.require(Permission::RefundsRead)?;
    let refund = state.payments.get_refund(&principal.scope(), &id).await?;
    Ok(Json(RefundObject::new(&refund)))
}
