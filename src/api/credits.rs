//! `/v1/credits`: bank credits received on the merchant's UPI id, which complete payments.

use super::auth::Principal;
use super::error::{ApiError, ErrorBody};
use super::extract::{amount_text, ApiJson, ApiQuery};
use super::payments::{parse_limit, parse_time};
use super::{schema, AppState, List};
use crate::domain::credit::Credit;
use crate::domain::key::Permission;
use crate::domain::payment::Payment;
use crate::domain::wallet::Wallet;
use crate::methods::upi_alerts::parse_credit_alert;
pub use crate::service::objects::CreditObject;
use crate::service::objects::PaymentObject;
use crate::service::upi::NewCredit;
use crate::service::{CreditFilter, ServiceError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A recorded credit, with the payment it completed.
#[derive(Serialize, ToSchema)]
pub struct CreditResult {
    pub credit: CreditObject,
    pub payment: Option<PaymentObject>,
}

impl CreditResult {
    pub fn new(state: &AppState, credit: &Credit, payment: Option<&Payment>) -> CreditResult {
        CreditResult {
            credit: CreditObject::new(credit),
            payment: payment.map(|p| state.payments.object(p)),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateCredit {
    /// Where the money arrived: `upi` (a bank credit in INR, the default) or a wallet
    /// (`jazzcash`, `easypaisa` in PKR; `bkash`, `nagad` in BDT).
    #[schema(example = "upi")]
    pub method: Option<String>,
    /// The bank reference (UPI RRN, IMPS or NEFT UTR) or the wallet's transaction id: 6 to 35
    /// letters and digits, unique within its method.
    #[schema(pattern = "^[A-Za-z0-9]{6,35}$", example = "410512345678")]
    pub utr: String,
    #[serde(deserialize_with = "amount_text")]
    #[schema(schema_with = schema::inr_amount)]
    pub amount: String,
    #[schema(schema_with = schema::time_text)]
    pub received_at: Option<String>,
    /// The payer's VPA or name.
    #[schema(max_length = 200)]
    pub payer: Option<String>,
}

async fn record(
    state: &AppState,
    principal: &Principal,
    input: NewCredit,
) -> Result<(StatusCode, Json<CreditResult>), ApiError> {
    let (credit, payment) = state
        .payments
        .record_credit(&principal.scope(), input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreditResult {
            credit: CreditObject::new(&credit),
            payment: payment.map(|p| state.payments.object(&p)),
        }),
    ))
}

#[utoipa::path(
    post, path = "/v1/credits", tag = "credits",
    request_body = CreateCredit,
    responses(
        (status = 201, description = "Recorded; `payment` is the payment it completed, if any", body = CreditResult),
        (status = 409, description = "This UTR was recorded before", body = ErrorBody),
        (status = 422, description = "A UTR, amount or payer the document does not allow", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_credit(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateCredit>,
) -> Result<(StatusCode, Json<CreditResult>), ApiError> {
    principal.require(Permission::CreditsWrite)?;
    let received_at = body
        .received_at
        .as_deref()
        .map(|t| parse_time("received_at", t))
        .transpose()?;
    let wallet = match body.method.as_deref() {
        None | Some("upi") => None,
        Some(name) => Some(Wallet::parse(name).ok_or_else(|| {
            ServiceError::invalid("method", "must be upi, jazzcash, easypaisa, bkash or nagad")
        })?),
    };
    let input = NewCredit {
        wallet,
        utr: body.utr,
        amount: body.amount,
        received_at,
        payer: body.payer,
    };
    record(&state, &principal, input).await
}

#[derive(Deserialize, ToSchema)]
pub struct ParseAlert {
    /// The text of a bank's credit alert (SMS or e-mail body).
    #[schema(max_length = 10000)]
    pub text: String,
    /// Also record the credit (and complete its payment), as `POST /v1/credits` would.
    #[serde(default)]
    pub record: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ParsedAlert {
    pub utr: String,
    #[schema(example = "1499.00")]
    pub amount: String,
    pub payer: Option<String>,
    /// Present when `record` was true.
    pub recorded: Option<CreditResult>,
}

#[utoipa::path(
    post, path = "/v1/credits/parse", tag = "credits",
    request_body = ParseAlert,
    responses(
        (status = 200, description = "What the alert says (and the recorded credit, if asked)", body = ParsedAlert),
        (status = 409, description = "`record` was true and this UTR was recorded before", body = ErrorBody),
        (status = 422, description = "Not a credit alert, or no amount or UTR in it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn parse_alert(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ParseAlert>,
) -> Result<Json<ParsedAlert>, ApiError> {
    principal.require(Permission::CreditsWrite)?;
    if body.text.chars().count() > 10_000 {
        return Err(ApiError::bad_param(
            "text",
            "text must be at most 10000 characters",
        ));
    }
    let parsed = parse_credit_alert(&body.text).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            "alert_not_understood",
            e.to_string(),
        )
        .with_param("text")
    })?;
    let recorded = if body.record {
        let input = NewCredit {
            wallet: None,
            utr: parsed.utr.clone(),
            amount: parsed.amount.to_string(),
            received_at: None,
            payer: parsed.payer.clone(),
        };
        Some(record(&state, &principal, input).await?.1 .0)
    } else {
        None
    };
    Ok(Json(ParsedAlert {
        utr: parsed.utr,
        amount: parsed.amount.to_string(),
        payer: parsed.payer,
        recorded,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCreditsQuery {
    /// `false`: only credits that matched no payment.
    pub matched: Option<bool>,
    /// 1 to 100, default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// A credit id: return the ones created before it (the next page).
    pub starting_after: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/credits", tag = "credits",
    params(ListCreditsQuery),
    responses(
        (status = 200, description = "Credits, newest first", body = CreditList),
        (status = 404, description = "`starting_after` names no credit of this key", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_credits(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListCreditsQuery>,
) -> Result<Json<List<CreditObject>>, ApiError> {
    principal.require(Permission::CreditsWrite)?;
    let limit = parse_limit(q.limit.as_deref())?;
    let filter = CreditFilter {
        matched: q.matched,
        starting_after: q.starting_after,
        limit: limit + 1,
    };
    let mut rows = state
        .payments
        .list_credits(&principal.scope(), &filter)
        .await
        .map_err(|e| super::payments::unknown_cursor(e, "credit"))?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(List::new(
        "/v1/credits",
        rows.iter().map(CreditObject::new).collect(),
        has_more,
    )))
}

/// A page of credits (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreditList {
    #[schema(example = "list")]
    object: String,
    data: Vec<CreditObject>,
    has_more: bool,
    #[schema(example = "/v1/credits")]
    url: String,
}

#[utoipa::path(
    get, path = "/v1/credits/{id}", tag = "credits",
    params(("id" = String, Path, description = "The credit's id")),
    responses(
        (status = 200, description = "The credit", body = CreditObject),
        (status = 404, description = "No such credit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_credit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CreditObject>, ApiError> {
    principal.require(Permission::CreditsWrite)?;
    let credit = state.payments.get_credit(&principal.scope(), &id).await?;
    Ok(Json(CreditObject::new(&credit)))
}

#[derive(Deserialize, ToSchema)]
pub struct MatchCredit {
    /// The pending payment this credit pays.
    pub payment: String,
}

#[utoipa::path(
    post, path = "/v1/credits/{id}/match", tag = "credits",
    params(("id" = String, Path, description = "The credit's id")),
    request_body = MatchCredit,
    responses(
        (status = 200, description = "Matched: the payment succeeded", body = CreditResult),
        (status = 404, description = "No such credit or payment", body = ErrorBody),
        (status = 409, description = "The credit is matched already or the payment is not pending", body = ErrorBody),
        (status = 422, description = "The credit is in another currency, or less than the payment's payable amount (`credit_short`, naming the shortfall); only a dashboard user can match a short credit, confirming the shortfall", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn match_credit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MatchCredit>,
) -> Result<Json<CreditResult>, ApiError> {
    principal.require(Permission::CreditsWrite)?;
    let (credit, payment) = state
        .payments
        .match_credit(&principal.acting(), &id, &body.payment, None)
        .await?;
    Ok(Json(CreditResult {
        credit: CreditObject::new(&credit),
        payment: Some(state.payments.object(&payment)),
    }))
}
