//! `/v1/payment_links`: reusable addresses (`/l/{slug}`) where customers pay a fixed amount,
//! or one they choose between two bounds, without the merchant writing code.

use super::auth::Principal;
use super::error::{ApiError, ErrorBody};
use super::extract::{optional_amount_text, optional_whole_number, ApiJson};
use super::payments::parse_time;
use super::{schema, AppState, List};
use crate::domain::key::Permission;
use crate::domain::payment_link::{LinkAmount, PaymentLink};
use crate::service::objects::rfc3339;
use crate::service::payment_links::NewLink;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct CreatePaymentLink {
    /// A fixed amount; leave it out and give `min_amount` and `max_amount` for an amount the
    /// customer chooses.
    #[serde(default, deserialize_with = "optional_amount_text")]
    #[schema(schema_with = schema::link_amount)]
    pub amount: Option<String>,
    #[serde(default, deserialize_with = "optional_amount_text")]
    #[schema(schema_with = schema::link_amount)]
    pub min_amount: Option<String>,
    #[serde(default, deserialize_with = "optional_amount_text")]
    #[schema(schema_with = schema::link_amount)]
    pub max_amount: Option<String>,
    #[schema(example = "INR")]
    pub currency: String,
    /// What the customer pays for, shown on the link's page; also each payment's description.
    #[schema(min_length = 1, max_length = 500, example = "Masala tea, a dozen")]
    pub description: String,
    /// The methods offered (default: the currency's).
    #[schema(schema_with = schema::methods)]
    pub methods: Option<Vec<String>>,
    /// The link stops taking payments once this many have succeeded.
    #[serde(default, deserialize_with = "optional_whole_number")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_payments: Option<i64>,
    /// When the link stops taking payments.
    #[schema(schema_with = schema::time_text)]
    pub expires_at: Option<String>,
}

/// A payment link as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct PaymentLinkObject {
    #[schema(example = "plink_01h2xcejqtf2nbrexx3vqjhp41")]
    pub id: String,
    #[schema(example = "payment_link")]
    pub object: &'static str,
    /// Where customers pay: share it, print its QR code.
    pub url: String,
    pub active: bool,
    /// The fixed amount, or `null` when the customer chooses between the bounds.
    pub amount: Option<String>,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub currency: String,
    pub description: String,
    pub methods: Vec<String>,
    pub max_payments: Option<i64>,
    pub expires_at: Option<String>,
    pub livemode: bool,
    pub created_at: String,
}

impl PaymentLinkObject {
    pub fn new(state: &AppState, l: &PaymentLink) -> PaymentLinkObject {
        let (amount, min, max) = match &l.amount {
            LinkAmount::Fixed(m) => (Some(m.to_string()), None, None),
            LinkAmount::Chosen { min, max } => (None, Some(min.to_string()), Some(max.to_string())),
        };
        PaymentLinkObject {
            id: l.id.clone(),
            object: "payment_link",
            url: format!("{}/l/{}", state.payments.public_url(), l.slug),
            active: l.active,
            amount,
            min_amount: min,
            max_amount: max,
            currency: l.amount.currency().code().to_string(),
            description: l.description.clone(),
            methods: l.methods.clone(),
            max_payments: l.max_payments,
            expires_at: l.expires_at.map(rfc3339),
            livemode: l.livemode,
            created_at: rfc3339(l.created_at),
        }
    }
}

#[utoipa::path(
    post, path = "/v1/payment_links", tag = "payment links",
    request_body = CreatePaymentLink,
    responses(
        (status = 201, description = "Created; its `url` takes payments at once", body = PaymentLinkObject),
        (status = 422, description = "An amount, bounds, method or limit that cannot be paid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_payment_link(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreatePaymentLink>,
) -> Result<(StatusCode, Json<PaymentLinkObject>), ApiError> {
    principal.require(Permission::PaymentsWrite)?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|t| parse_time("expires_at", t))
        .transpose()?;
    let input = NewLink {
        amount: body.amount,
        min_amount: body.min_amount,
        max_amount: body.max_amount,
        currency: body.currency,
        description: body.description,
        methods: body.methods,
        max_payments: body.max_payments,
        expires_at,
    };
    let link = state
        .payments
        .create_payment_link(&principal.acting(), input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PaymentLinkObject::new(&state, &link)),
    ))
}

#[utoipa::path(
    get, path = "/v1/payment_links", tag = "payment links",
    responses((status = 200, description = "The links, newest first (at most 100)", body = PaymentLinkList)),
    security(("bearer" = []))
)]
pub async fn list_payment_links(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<List<PaymentLinkObject>>, ApiError> {
    principal.require(Permission::PaymentsRead)?;
    let links = state.payments.payment_links(&principal.scope()).await?;
    let data = links
        .iter()
        .map(|l| PaymentLinkObject::new(&state, l))
        .collect();
    Ok(Json(List::new("/v1/payment_links", data, false)))
}

/// The list of links (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PaymentLinkList {
    #[schema(example = "list")]
    object: String,
    data: Vec<PaymentLinkObject>,
    has_more: bool,
    #[schema(example = "/v1/payment_links")]
    url: String,
}

#[utoipa::path(
    get, path = "/v1/payment_links/{id}", tag = "payment links",
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 200, description = "The link", body = PaymentLinkObject),
        (status = 404, description = "No such link", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_payment_link(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PaymentLinkObject>, ApiError> {
    principal.require(Permission::PaymentsRead)?;
    let link = state.payments.payment_link(&principal.scope(), &id).await?;
    Ok(Json(PaymentLinkObject::new(&state, &link)))
}

#[utoipa::path(
    post, path = "/v1/payment_links/{id}/deactivate", tag = "payment links",
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 200, description = "Deactivated (or already inactive): its page takes no new payment", body = PaymentLinkObject),
        (status = 404, description = "No such link", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn deactivate_payment_link(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PaymentLinkObject>, ApiError> {
    principal.require(Permission::PaymentsWrite)?;
    let link = state
        .payments
        .deactivate_payment_link(&principal.acting(), &id)
        .await?;
    Ok(Json(PaymentLinkObject::new(&state, &link)))
}
