//! Payment links: created (API, dashboard), listed with what each has taken, deactivated.
//! A link's payments are ordinary payments whose `source` is the link's id.

use super::access::Acting;
use super::payments::{validate, NewPayment};
use super::{PaymentService, ServiceError};
use crate::domain::ids::new_id;
use crate::domain::money::{Currency, Money};
use crate::domain::payment_link::{self, LinkAmount, PaymentLink};
use crate::domain::role::Action;
use crate::store::LinkTally;
use crate::store::Scope;
use chrono::{DateTime, Utc};

/// A create command as a front door received it: typed, not yet validated.
#[derive(Debug, Clone, Default)]
pub struct NewLink {
    /// A fixed amount; or `None` with `min_amount` and `max_amount` for an amount the
    /// customer chooses.
    pub amount: Option<String>,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub currency: String,
    pub description: String,
    pub methods: Option<Vec<String>>,
    pub max_payments: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Links listed at most.
pub const LIST_MAX: u32 = 100;

fn money(param: &str, text: &str, currency: Currency) -> Result<Money, ServiceError> {
    Money::parse(text, currency).map_err(|e| ServiceError::invalid(param, e.to_string()))
}

/// Checks a create command: an amount or two bounds, a description, methods the currency
/// takes (as a payment would), limits that can be reached.
fn link_amount(input: &NewLink) -> Result<LinkAmount, ServiceError> {
    let currency = Currency::parse(&input.currency)
        .map_err(|e| ServiceError::invalid("currency", e.to_string()))?;
    let fixed = input.amount.as_deref();
    let bounds = (input.min_amount.as_deref(), input.max_amount.as_deref());
    match (fixed, bounds) {
        (Some(a), (None, None)) => Ok(LinkAmount::Fixed(money("amount", a, currency)?)),
        (None, (Some(lo), Some(hi))) => {
            let (min, max) = (
                money("min_amount", lo, currency)?,
                money("max_amount", hi, currency)?,
            );
            if min.minor() > max.minor() {
                return Err(ServiceError::invalid(
                    "max_amount",
                    "must not be below min_amount",
                ));
            }
            Ok(LinkAmount::Chosen { min, max })
        }
        _ => Err(ServiceError::invalid(
            "amount",
            "give an amount, or min_amount and max_amount for an amount the customer chooses",
        )),
    }
}

fn check(input: &NewLink, amount: &LinkAmount, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let description = input.description.trim();
    if description.is_empty() || description.chars().count() > payment_link::DESCRIPTION_MAX {
        return Err(ServiceError::invalid(
            "description",
            format!("must be 1 to {} characters", payment_link::DESCRIPTION_MAX),
        ));
    }
    if input
        .max_payments
        .is_some_and(|n| !(1..=payment_link::MAX_PAYMENTS_LIMIT).contains(&n))
    {
        return Err(ServiceError::invalid(
            "max_payments",
            format!("must be 1 to {}", payment_link::MAX_PAYMENTS_LIMIT),
        ));
    }
    if input.expires_at.is_some_and(|at| at <= now) {
        return Err(ServiceError::invalid("expires_at", "must be in the future"));
    }
    // The methods as a payment of the link would check them.
    let lowest = match amount {
        LinkAmount::Fixed(m) | LinkAmount::Chosen { min: m, .. } => m,
    };
    validate(&NewPayment {
        amount: lowest.to_string(),
        currency: input.currency.clone(),
        methods: input.methods.clone(),
        ..Default::default()
    })?;
    Ok(())
}

impl PaymentService {
    /// Creates a link in the actor's merchant and mode.
    pub async fn create_payment_link(
        &self,
        by: &Acting,
        input: NewLink,
    ) -> Result<PaymentLink, ServiceError> {
        by.require(Action::ManageSettings)?;
        let now = crate::domain::now();
        let amount = link_amount(&input)?;
        check(&input, &amount, now)?;
        let scope = by.scope();
        let link = PaymentLink {
            id: new_id("plink"),
            merchant_id: scope.merchant_id,
            livemode: scope.livemode,
            slug: payment_link::new_slug(),
            amount,
            description: input.description.trim().to_string(),
            methods: input.methods.unwrap_or_default(),
            max_payments: input.max_payments,
            expires_at: input.expires_at,
            active: true,
            created_at: now,
        };
        let entry = by.entry(
            "payment_link.created",
            Some(&link.id),
            serde_json::json!({ "description": link.description }),
        );
        self.store
            .insert_payment_link(&link, entry.as_ref())
            .await?;
        Ok(link)
    }

    pub async fn payment_link(&self, scope: &Scope, id: &str) -> Result<PaymentLink, ServiceError> {
        self.store
            .payment_link(scope, id)
            .await?
            .ok_or(ServiceError::NotFound("payment link"))
    }

    /// The scope's links, newest first, at most [`LIST_MAX`].
    pub async fn payment_links(&self, scope: &Scope) -> Result<Vec<PaymentLink>, ServiceError> {
        Ok(self.store.list_payment_links(scope, LIST_MAX).await?)
    }

    /// What a link has taken: its payments by status and the money of those that succeeded.
    pub async fn link_tally(&self, link: &PaymentLink) -> Result<LinkTally, ServiceError> {
        let scope = Scope {
            merchant_id: link.merchant_id.clone(),
            livemode: link.livemode,
        };
        Ok(self.store.link_tally(&scope, &link.id).await?)
    }

    /// Deactivates a link: its address takes no new payment; those started finish.
    pub async fn deactivate_payment_link(
        &self,
        by: &Acting,
        id: &str,
    ) -> Result<PaymentLink, ServiceError> {
        by.require(Action::ManageSettings)?;
        let scope = by.scope();
        let entry = by.entry("payment_link.deactivated", Some(id), serde_json::json!({}));
        if !self
            .store
            .deactivate_payment_link(&scope, id, entry.as_ref())
            .await?
        {
            // Either there is none in this scope (404), or it was inactive already.
            self.payment_link(&scope, id).await?;
        }
        self.payment_link(&scope, id).await
    }
}

/// Payments a link may have waiting at once: a visitor (or many) starting payments and
/// leaving them cannot pile up more than this; the next visitor is asked to come back.
pub const PENDING_MAX: i64 = 50;

/// Why a visitor could not start a payment through a link.
#[derive(Debug, thiserror::Error)]
pub enum LinkPayError {
    #[error("no such payment link")]
    NotFound,
    #[error(transparent)]
    Closed(#[from] payment_link::Closed),
    #[error("{0}")]
    Amount(String),
    #[error("too many payments of this link are waiting; try again in a few minutes")]
    Busy,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl PaymentService {
    /// The link at `/l/{slug}`, with what it has taken.
    pub async fn link_by_slug(&self, slug: &str) -> Result<(PaymentLink, LinkTally), LinkPayError> {
        // A slug is 16 letters and digits; anything else is no link, without a query.
        if slug.len() != 16 || !slug.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(LinkPayError::NotFound);
        }
        let link = self
            .store
            .payment_link_by_slug(slug)
            .await
            .map_err(ServiceError::from)?
            .ok_or(LinkPayError::NotFound)?;
        let tally = self.link_tally(&link).await?;
        Ok((link, tally))
    }

    /// Starts a payment through a link for the amount the visitor typed (a link with a fixed
    /// amount ignores it): an ordinary payment whose source is the link, speaking `locale`
    /// (the language the visitor saw the link in) when there was a choice.
    pub async fn pay_link(
        &self,
        slug: &str,
        typed: Option<&str>,
        locale: Option<crate::domain::locale::Locale>,
    ) -> Result<crate::domain::payment::Payment, LinkPayError> {
        let (link, tally) = self.link_by_slug(slug).await?;
        link.open_at(crate::domain::now(), tally.succeeded)?;
        if tally.pending >= PENDING_MAX {
            return Err(LinkPayError::Busy);
        }
        let amount = link
            .amount
            .amount_for(typed)
            .map_err(LinkPayError::Amount)?;
        let scope = Scope {
            merchant_id: link.merchant_id.clone(),
            livemode: link.livemode,
        };
        let input = NewPayment {
            amount: amount.to_string(),
            currency: amount.currency().code().to_string(),
            description: Some(link.description.clone()),
            methods: (!link.methods.is_empty()).then(|| link.methods.clone()),
            source: link.id.clone(),
            locale: locale.map(|l| l.code().to_string()),
            ..Default::default()
        };
        Ok(self.create(&scope, input).await?)
    }
}
