//! `/v1/payments`: create, read, list, cancel.

use super::auth::Principal;
use super::error::{ApiError, ErrorBody};
use super::extract::{amount_text, optional_whole_number, ApiJson, ApiQuery};
use super::idempotency::HeldKey;
use super::{schema, AppState, List};
use crate::domain::key::Permission;
use crate::domain::money::Currency;
use crate::domain::payment::{Customer, PaymentStatus, METHODS};
use crate::domain::wallet::{method_currency, method_takes};
use crate::service::objects::PaymentObject;
use crate::service::NewPayment;
use crate::service::PaymentFilter;
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
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(schema_with = schema::email)]
    pub email: Option<String>,
    #[schema(schema_with = schema::phone)]
    pub phone: Option<String>,
}

/// The body of a payment create. In the document its `amount`, `currency` and `methods` are
/// tied together by `tie_amount_to_currency`: one schema per group of currencies.
#[derive(Deserialize, ToSchema)]
pub struct CreatePayment {
    /// A decimal string in the currency's units, greater than zero, with no more decimals
    /// than the currency has: "100.00" PKR, "1500" JPY, "1.250" KWD.
    #[serde(deserialize_with = "amount_text")]
    #[schema(value_type = String, example = "100.00")]
    pub amount: String,
    /// ISO-4217 code.
    #[schema(example = "PKR")]
    pub currency: String,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// The merchant's own order reference; filterable.
    #[schema(max_length = 255)]
    pub reference: Option<String>,
    pub customer: Option<CustomerInput>,
    #[schema(schema_with = schema::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Where the customer returns after paying (absolute http(s) URL).
    #[schema(schema_with = schema::redirect_url)]
    pub success_url: Option<String>,
    /// Where the customer returns after giving up (absolute http(s) URL).
    #[schema(schema_with = schema::redirect_url)]
    pub cancel_url: Option<String>,
    #[schema(schema_with = schema::methods)]
    pub methods: Option<Vec<String>>,
    /// Seconds until the payment expires (default 3600, or the merchant's setting).
    #[serde(default, deserialize_with = "optional_whole_number")]
    #[schema(minimum = 60, maximum = 604800)]
    pub expires_in: Option<i64>,
    /// The language of the checkout and of receipts: `en`, `ur`, `ar`, `hi` or `bn` (a tag
    /// such as `ur-PK` is taken by its language). Without it the checkout follows the
    /// customer's browser, then the merchant's default.
    #[schema(
        example = "ur",
        max_length = 35,
        pattern = "^(en|ur|ar|hi|bn)([-_][A-Za-z0-9]{1,8})*$"
    )]
    pub locale: Option<String>,
}

/// The branches of the create's schema: (title, currencies, decimals, methods). Currencies
/// with methods of their own (UPI, the wallets) get a branch each; the others are grouped by
/// their decimals.
type CurrencyGroup = (String, Vec<&'static str>, u32, Vec<&'static str>);

fn currency_groups() -> Vec<CurrencyGroup> {
    let own_methods = |code: &str| METHODS.iter().any(|m| method_currency(m) == Some(code));
    let methods_for = |code: &str| -> Vec<&'static str> {
        METHODS
            .iter()
            .copied()
            .filter(|m| method_takes(m, code))
            .collect()
    };
    let mut exponents: Vec<u32> = Currency::all().map(|c| c.exponent()).collect();
    exponents.sort_unstable();
    exponents.dedup();
    let mut groups: Vec<CurrencyGroup> = Vec::new();
    for exponent in exponents {
        let codes: Vec<&'static str> = Currency::all()
            .filter(|c| c.exponent() == exponent && !own_methods(c.code()))
            .map(|c| c.code())
            .collect();
        let methods = methods_for(codes.first().copied().unwrap_or("USD"));
        groups.push((format!("{exponent} decimals"), codes, exponent, methods));
    }
    for c in Currency::all().filter(|c| own_methods(c.code())) {
        groups.push((
            c.code().into(),
            vec![c.code()],
            c.exponent(),
            methods_for(c.code()),
        ));
    }
    groups
}

/// Replaces the derived `CreatePayment` with one schema per group of currencies, so the
/// document says which decimals each currency takes and that only INR payments offer UPI.
pub fn tie_amount_to_currency(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema};
    use utoipa::openapi::RefOr;
    let Some(schemas) = spec.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    let Some(RefOr::T(Schema::Object(base))) = schemas.get("CreatePayment").cloned() else {
        return;
    };
    let groups = currency_groups();
    let mut one_of = OneOfBuilder::new().description(base.description.clone());
    for (title, codes, exponent, methods) in groups {
        let mut branch = base.clone();
        branch.title = Some(format!("CreatePayment ({title})"));
        branch.description = None;
        let currency = ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(codes.clone()))
            .description(Some("ISO-4217 code"))
            .examples([codes.first().copied().unwrap_or("PKR")]);
        branch
            .properties
            .insert("currency".into(), RefOr::T(currency.into()));
        let amount = ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some(schema::amount_pattern(exponent)))
            .description(Some(if exponent == 0 {
                "Whole number greater than zero, as a string".to_string()
            } else {
                format!("Decimal string greater than zero, with at most {exponent} decimals")
            }));
        branch
            .properties
            .insert("amount".into(), RefOr::T(amount.into()));
        branch
            .properties
            .insert("methods".into(), RefOr::T(schema::methods_of(&methods)));
        one_of = one_of.item(Schema::Object(branch));
    }
    schemas.insert("CreatePayment".into(), RefOr::T(one_of.into()));
}

#[utoipa::path(
    post, path = "/v1/payments", tag = "payments",
    request_body = CreatePayment,
    responses(
        (status = 201, description = "The payment was created", body = PaymentObject),
        (status = 422, description = "A field the document does not allow, or `upi` asked of a merchant without a UPI id", body = ErrorBody),
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
        locale: body.locale,
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
    #[param(value_type = Option<PaymentStatus>)]
    pub status: Option<String>,
    /// Only payments with this reference.
    pub reference: Option<String>,
    /// Created at or after (RFC 3339 or Unix seconds).
    #[serde(rename = "created[gte]")]
    #[param(rename = "created[gte]", schema_with = schema::time)]
    pub created_gte: Option<String>,
    /// Created at or before (RFC 3339 or Unix seconds).
    #[serde(rename = "created[lte]")]
    #[param(rename = "created[lte]", schema_with = schema::time)]
    pub created_lte: Option<String>,
    /// 1 to 100, default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
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
        (status = 404, description = "`starting_after` names no payment of this key", body = ErrorBody),
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
    let mut rows = state
        .payments
        .list(&principal.scope(), &filter)
        .await
        .map_err(|e| unknown_cursor(e, "payment"))?;
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
    let payment = state.payments.cancel(&principal.acting(), &id).await?;
    Ok(Json(state.payments.object(&payment)))
}

/// A cursor that names no object of this key is a missing object, like any foreign id.
pub fn unknown_cursor(err: crate::service::ServiceError, what: &str) -> ApiError {
    match err {
        crate::service::ServiceError::Invalid { param, .. } if param == "starting_after" => {
            ApiError::not_found(format!("no such {what}")).with_param("starting_after")
        }
        other => other.into(),
    }
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
        (status = 404, description = "No such payment", body = ErrorBody),
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
        (status = 404, description = "No such payment", body = ErrorBody),
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
