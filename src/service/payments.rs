//! Creating payments and moving them between states.

use super::access::Acting;
use super::idempotency::{claim_lost, ClaimedKey};
use super::objects::{event_payload, PaymentObject};
use super::ServiceError;
use crate::domain::audit::AuditEntry;
use crate::domain::event::EventType;
use crate::domain::ids::new_id;
use crate::domain::locale::Locale;
use crate::domain::merchant::Merchant;
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{limits, wallets_payee, Customer, Payment, PaymentStatus, METHODS};
use crate::domain::role::Action;
use crate::domain::wallet::{method_currency, method_takes, Wallet};
use crate::store::{NewEvent, PaymentFilter, Scope, Store, StoreError, Transition};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A create command as a front door received it: typed, not yet validated.
#[derive(Debug, Clone, Default)]
pub struct NewPayment {
    pub amount: String,
    pub currency: String,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub customer: Customer,
    pub metadata: BTreeMap<String, String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub methods: Option<Vec<String>>,
    /// Seconds until the payment expires.
    pub expires_in: Option<i64>,
    /// `native` or the dialect's name.
    pub source: String,
    /// The API key that creates it.
    pub key_id: Option<String>,
    /// An id in the dialect's own form (PayGate's 16 hex digits, XPay's `xpay_pi_…`); a
    /// fresh `pay_…` id when absent. Dialect ids are random and as unique as Hundi's.
    pub id: Option<String>,
    /// The dialect's own fields, kept verbatim for its responses and webhooks.
    pub dialect_data: Option<String>,
    /// A callback URL given with this payment (Pakhi Pay, Waypay) and its webhook format.
    pub callback: Option<Callback>,
    /// The language of its pages and receipts, as a language tag (`ur`, `bn-BD`).
    pub locale: Option<String>,
}

/// A webhook target that belongs to one payment.
#[derive(Debug, Clone)]
pub struct Callback {
    pub url: String,
    /// The dialect whose webhook shape and signature it gets.
    pub format: String,
    pub events: Vec<String>,
}

#[derive(Clone)]
pub struct PaymentService {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) public_url: String,
    pub(crate) upi_locks: Arc<dashmap::DashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Lets webhook URLs point at private addresses (development and tests).
    pub(crate) allow_private_webhooks: bool,
    /// Merchants as read in the last second, so a create does not read its merchant each time.
    merchants:
        Arc<dashmap::DashMap<String, (std::time::Instant, crate::domain::merchant::Merchant)>>,
}

fn check_len(param: &str, value: &Option<String>, max: usize) -> Result<(), ServiceError> {
    match value {
        Some(v) if v.chars().count() > max => Err(ServiceError::invalid(
            param,
            format!("must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

fn check_url(param: &str, value: &Option<String>) -> Result<(), ServiceError> {
    let Some(v) = value else { return Ok(()) };
    crate::domain::web_url::WebUrl::parse(v)
        .map(|_| ())
        .map_err(|e| ServiceError::invalid(param, e.to_string()))
}

fn check_email(param: &str, value: &Option<String>) -> Result<(), ServiceError> {
    let Some(v) = value else { return Ok(()) };
    // The customer's address is kept as typed: blanks around it are refused, not dropped.
    if v.trim() != v && v.chars().count() <= crate::domain::email::Email::MAX {
        return Err(ServiceError::invalid(
            param,
            "must be a valid e-mail address",
        ));
    }
    crate::domain::email::Email::parse(v)
        .map(|_| ())
        .map_err(|e| ServiceError::invalid(param, e.to_string()))
}

fn check_phone(param: &str, value: &Option<String>) -> Result<(), ServiceError> {
    let Some(v) = value else { return Ok(()) };
    check_len(param, value, limits::PHONE_MAX)?;
    let digits = v.chars().filter(|c| c.is_ascii_digit()).count();
    if digits >= 5
        && v.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        Ok(())
    } else {
        Err(ServiceError::invalid(param, "must be a phone number"))
    }
}

/// Validates a create command; returns the money and the methods to offer.
pub(super) fn validate(input: &NewPayment) -> Result<(Money, Vec<String>, i64), ServiceError> {
    let currency = Currency::parse(&input.currency)
        .map_err(|e| ServiceError::invalid("currency", e.to_string()))?;
    let amount = Money::parse(&input.amount, currency)
        .map_err(|e| ServiceError::invalid("amount", e.to_string()))?;
    check_len("description", &input.description, limits::DESCRIPTION_MAX)?;
    check_len("reference", &input.reference, limits::REFERENCE_MAX)?;
    check_len("customer[name]", &input.customer.name, limits::NAME_MAX)?;
    check_email("customer[email]", &input.customer.email)?;
    check_phone("customer[phone]", &input.customer.phone)?;
    check_url("success_url", &input.success_url)?;
    check_url("cancel_url", &input.cancel_url)?;
    if input.metadata.len() > limits::METADATA_KEYS_MAX {
        return Err(ServiceError::invalid(
            "metadata",
            format!("may have at most {} keys", limits::METADATA_KEYS_MAX),
        ));
    }
    for (k, v) in &input.metadata {
        if k.is_empty() || k.chars().count() > limits::METADATA_KEY_MAX {
            return Err(ServiceError::invalid(
                "metadata",
                format!("keys must be 1 to {} characters", limits::METADATA_KEY_MAX),
            ));
        }
        if v.chars().count() > limits::METADATA_VALUE_MAX {
            return Err(ServiceError::invalid(
                &format!("metadata[{k}]"),
                format!("must be at most {} characters", limits::METADATA_VALUE_MAX),
            ));
        }
    }
    let methods = match &input.methods {
        None => METHODS
            .iter()
            .filter(|m| method_takes(m, currency.code()))
            .map(|m| m.to_string())
            .collect(),
        Some(list) if list.is_empty() => {
            return Err(ServiceError::invalid(
                "methods",
                "must name at least one method",
            ))
        }
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            for m in list {
                if !METHODS.contains(&m.as_str()) {
                    return Err(ServiceError::invalid(
                        "methods",
                        format!("unknown method '{m}'; known: {}", METHODS.join(", ")),
                    ));
                }
                if let Some(only) = method_currency(m).filter(|c| *c != currency.code()) {
                    return Err(ServiceError::invalid(
                        "methods",
                        format!("{m} takes only {only} payments, not {}", currency.code()),
                    ));
                }
                if !out.contains(m) {
                    out.push(m.clone());
                }
            }
            out
        }
    };
    let expires_in = input.expires_in.unwrap_or(limits::EXPIRES_IN_DEFAULT);
    if !(limits::EXPIRES_IN_MIN..=limits::EXPIRES_IN_MAX).contains(&expires_in) {
        return Err(ServiceError::invalid(
            "expires_in",
            format!(
                "must be between {} and {} seconds",
                limits::EXPIRES_IN_MIN,
                limits::EXPIRES_IN_MAX
            ),
        ));
    }
    Ok((amount, methods, expires_in))
}

/// Where a payment paid by the customer's own transfer goes (payee, payee name), if it offers
/// one: UPI needs the merchant's UPI id; a live wallet needs the merchant's number for it (in
/// test mode wallets are sandbox forms). A method that cannot be offered is dropped from the
/// default list, and refused when the create named it.
fn transfer_payee(
    merchant: &Merchant,
    scope: &Scope,
    amount: &Money,
    methods: &mut Vec<String>,
    named: bool,
) -> Result<Option<(String, String)>, ServiceError> {
    let payee_name = || merchant.upi_name.clone().unwrap_or(merchant.name.clone());
    let unavailable = |method: &str| -> Option<String> {
        if method == "upi" {
            return merchant
                .upi_id
                .is_none()
                .then(|| "upi needs a UPI id set for the merchant".to_string());
        }
        let wallet = Wallet::parse(method)?;
        (scope.livemode && merchant.wallet_numbers.get(wallet).is_none()).then(|| {
            format!(
                "{method} needs the merchant's {} number for live payments",
                wallet.label()
            )
        })
    };
    if let Some(reason) = methods.iter().find_map(|m| unavailable(m)) {
        if named {
            return Err(ServiceError::invalid("methods", reason));
        }
        methods.retain(|m| unavailable(m).is_none());
    }
    let upi_id = merchant
        .upi_id
        .clone()
        .filter(|_| methods.iter().any(|m| m == "upi"));
    if let Some(upi_id) = upi_id {
        return Ok(Some((upi_id, payee_name())));
    }
    let live_wallet = scope.livemode && methods.iter().any(|m| Wallet::parse(m).is_some());
    Ok(live_wallet.then(|| {
        (
            wallets_payee(&merchant.id, amount.currency()),
            merchant.name.clone(),
        )
    }))
}

impl PaymentService {
    pub fn new(store: Arc<dyn Store>, public_url: String) -> PaymentService {
        PaymentService {
            store,
            public_url,
            upi_locks: Arc::default(),
            allow_private_webhooks: false,
            merchants: Arc::default(),
        }
    }

    /// Allows (or not) webhook URLs on private and loopback addresses.
    pub fn allow_private_webhooks(mut self, allow: bool) -> PaymentService {
        self.allow_private_webhooks = allow;
        self
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The hosted checkout page of a payment (every front door links it the same way).
    pub fn checkout_url(&self, payment_id: &str) -> String {
        crate::domain::web_url::checkout_url(&self.public_url, payment_id)
    }

    pub fn object(&self, p: &Payment) -> PaymentObject {
        PaymentObject::new(p, &self.public_url)
    }

    /// Builds the outbox event for a payment as it is after a change.
    pub(crate) fn payment_event(
        &self,
        kind: EventType,
        p: &Payment,
        at: DateTime<Utc>,
    ) -> NewEvent {
        let id = new_id("evt");
        let payload = event_payload(&id, kind.as_str(), p.livemode, at, &self.object(p));
        NewEvent {
            id,
            key_id: p.key_id.clone(),
            event_type: kind.as_str().to_string(),
            object_id: p.id.clone(),
            payload,
            created_at: at,
            audit: None,
        }
    }

    /// The merchant, as read within the last second on this node.
    pub async fn merchant(
        &self,
        id: &str,
    ) -> Result<crate::domain::merchant::Merchant, ServiceError> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
        if let Some(hit) = self.merchants.get(id) {
            if hit.0.elapsed() < FRESH {
                return Ok(hit.1.clone());
            }
        }
        let m = self
            .store
            .get_merchant(id)
            .await
            .map_err(|e| ServiceError::from_lookup("merchant", e))?;
        self.merchants
            .insert(id.to_string(), (std::time::Instant::now(), m.clone()));
        Ok(m)
    }

    /// Drops this node's copy of a merchant after its settings change.
    pub fn forget_merchant(&self, id: &str) {
        self.merchants.remove(id);
    }

    pub async fn create(&self, scope: &Scope, input: NewPayment) -> Result<Payment, ServiceError> {
        self.create_idempotent(scope, input, None).await
    }

    /// `create`, keeping the response of a claimed idempotency key in the payment's own
    /// transaction.
    pub async fn create_idempotent(
        &self,
        scope: &Scope,
        mut input: NewPayment,
        key: Option<&ClaimedKey>,
    ) -> Result<Payment, ServiceError> {
        // The merchant's defaults fill what the create leaves out.
        let merchant = self.merchant(&scope.merchant_id).await?;
        if input.success_url.is_none() {
            input.success_url = merchant.success_url.clone();
        }
        if input.cancel_url.is_none() {
            input.cancel_url = merchant.cancel_url.clone();
        }
        if input.expires_in.is_none() {
            input.expires_in = merchant.checkout_expiry_secs;
        }
        let (amount, mut methods, expires_in) = validate(&input)?;
        let locale = input
            .locale
            .as_deref()
            .map(Locale::parse)
            .transpose()
            .map_err(|e| ServiceError::invalid("locale", e.to_string()))?;
        // A dialect's own fields are kept whole: bounded like native metadata, not only by
        // the body limit.
        if input
            .dialect_data
            .as_ref()
            .is_some_and(|d| d.len() > limits::DIALECT_DATA_MAX)
        {
            return Err(ServiceError::invalid(
                "metadata",
                format!(
                    "is too large: with the other fields kept for the payment it must take at \
                     most {} bytes",
                    limits::DIALECT_DATA_MAX
                ),
            ));
        }
        let transfer = transfer_payee(
            &merchant,
            scope,
            &amount,
            &mut methods,
            input.methods.is_some(),
        )?;
        let now = crate::domain::now();
        let payment = Payment {
            id: input.id.unwrap_or_else(|| new_id("pay")),
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            key_id: input.key_id,
            source: input.source,
            status: PaymentStatus::Pending,
            amount,
            refunded_minor: 0,
            description: input.description,
            reference: input.reference,
            customer: input.customer,
            metadata: input.metadata,
            success_url: input.success_url,
            cancel_url: input.cancel_url,
            methods,
            transfer: None,
            paid_with: None,
            method_reference: None,
            attempt_count: 0,
            dialect_data: input.dialect_data,
            locale,
            created_at: now,
            expires_at: now + Duration::seconds(expires_in),
            updated_at: now,
        };
        if let Some(callback) = &input.callback {
            self.add_callback(scope, &payment.id, callback, now).await?;
        }
        if let Some((payee, payee_name)) = transfer {
            return self
                .insert_with_payable(payment, &payee, &payee_name, key)
                .await;
        }
        let event = self.payment_event(EventType::PaymentCreated, &payment, now);
        self.insert(&payment, &event, key).await?;
        Ok(payment)
    }

    /// Inserts a new payment with its event and, given a key, the key's response.
    pub(crate) async fn insert(
        &self,
        payment: &Payment,
        event: &NewEvent,
        key: Option<&ClaimedKey>,
    ) -> Result<(), ServiceError> {
        match key {
            None => Ok(self.store.insert_payment(payment, event).await?),
            Some(key) => {
                let done = key.completion(&self.object(payment))?;
                match self
                    .store
                    .insert_payment_completing(payment, event, &done)
                    .await
                {
                    Err(StoreError::KeyClaimLost) => Err(claim_lost()),
                    other => Ok(other?),
                }
            }
        }
    }

    /// A payment's own callback URL becomes an endpoint limited to that payment. It is written
    /// before the payment, so no event of the payment can miss it; if the payment's insert then
    /// fails, the endpoint matches nothing.
    async fn add_callback(
        &self,
        scope: &Scope,
        payment_id: &str,
        callback: &Callback,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        check_url("callback_url", &Some(callback.url.clone()))?;
        // Checked without a DNS lookup: a shop's callback host that does not resolve right now
        // must not fail its checkout. Names are checked when the callback is sent (the
        // dispatcher's resolver connects only to allowed addresses); literal addresses now.
        let parsed = url::Url::parse(&callback.url)
            .map_err(|e| ServiceError::invalid("callback_url", e.to_string()))?;
        if scope.livemode && parsed.scheme() != "https" {
            return Err(ServiceError::invalid(
                "callback_url",
                "must be an https URL",
            ));
        }
        crate::webhooks::ssrf::check_literal(&parsed, self.allow_private_webhooks)
            .map_err(|e| ServiceError::invalid("callback_url", e.to_string()))?;
        let endpoint = crate::domain::webhook::Endpoint {
            payment_id: Some(payment_id.to_string()),
            ..crate::domain::webhook::Endpoint::new(
                &scope.merchant_id,
                scope.livemode,
                callback.url.clone(),
                callback.events.clone(),
                Some(format!("callback URL of payment {payment_id}")),
                &callback.format,
                now,
            )
        };
        // Part of the payment's creation, which the audit log does not record.
        self.store.create_endpoint(&endpoint, None).await?;
        Ok(())
    }

    /// Reads a payment; one past its expiry is expired first, so a read never shows it pending.
    pub async fn get(&self, scope: &Scope, id: &str) -> Result<Payment, ServiceError> {
        let p = self
            .store
            .get_payment(scope, id)
            .await
            .map_err(|e| ServiceError::from_lookup("payment", e))?;
        self.settle_expiry(scope, p).await
    }

    async fn settle_expiry(&self, scope: &Scope, p: Payment) -> Result<Payment, ServiceError> {
        let now = crate::domain::now();
        if !p.is_overdue(now) {
            return Ok(p);
        }
        let expired = self
            .store
            .transition_payment(
                scope,
                &p.id,
                Transition {
                    from: &[PaymentStatus::Pending],
                    to: PaymentStatus::Expired,
                    unexpired_at: None,
                    at: now,
                    paid_with: None,
                    method_reference: None,
                },
                &|p| self.payment_event(EventType::PaymentExpired, p, now),
            )
            .await?;
        match expired {
            Some(p) => Ok(p),
            // Someone else moved it first (the expiry worker, or a success just in time).
            None => self
                .store
                .get_payment(scope, &p.id)
                .await
                .map_err(|e| ServiceError::from_lookup("payment", e)),
        }
    }

    /// Payments per status and mode across every merchant (for the operator's metrics).
    pub async fn count_payments_by_status(&self) -> Result<Vec<(String, bool, i64)>, ServiceError> {
        Ok(self.store.count_payments_by_status().await?)
    }

    pub async fn list(
        &self,
        scope: &Scope,
        filter: &PaymentFilter,
    ) -> Result<Vec<Payment>, ServiceError> {
        let rows = self.store.list_payments(scope, filter).await.map_err(|e| {
            if matches!(e, crate::store::StoreError::NotFound) {
                ServiceError::invalid("starting_after", "no such payment")
            } else {
                e.into()
            }
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for p in rows {
            out.push(self.settle_expiry(scope, p).await?);
        }
        Ok(out)
    }

    /// Moves a pending payment to `to`; exactly one of any number of racing calls wins.
    async fn finish(
        &self,
        scope: &Scope,
        id: &str,
        to: PaymentStatus,
        kind: EventType,
        paid: Option<(&str, &str)>,
        audit: Option<AuditEntry>,
    ) -> Result<Payment, ServiceError> {
        let now = crate::domain::now();
        let changed = self
            .store
            .transition_payment(
                scope,
                id,
                Transition {
                    from: &[PaymentStatus::Pending],
                    to,
                    unexpired_at: Some(now),
                    at: now,
                    paid_with: paid.map(|(method, _)| method),
                    method_reference: paid.map(|(_, reference)| reference),
                },
                &|p| NewEvent {
                    audit: audit.clone(),
                    ..self.payment_event(kind, p, now)
                },
            )
            .await?;
        match changed {
            Some(p) => Ok(p),
            None => {
                let current = self.get(scope, id).await?;
                Err(ServiceError::InvalidState {
                    status: current.status,
                    message: format!(
                        "payment {id} is {}; only a pending payment can become {}",
                        current.status.as_str(),
                        to.as_str()
                    ),
                })
            }
        }
    }

    /// Cancels a pending payment: a team member or key (recorded in the audit log), or the
    /// customer on the payment's page ([`Acting::customer`], not recorded).
    pub async fn cancel(&self, by: &Acting, id: &str) -> Result<Payment, ServiceError> {
        by.require(Action::Cancel)?;
        let entry = by.entry("payment.canceled", Some(id), serde_json::json!({}));
        self.finish(
            &by.scope(),
            id,
            PaymentStatus::Canceled,
            EventType::PaymentCanceled,
            None,
            entry,
        )
        .await
    }

    /// Test mode: completes a payment as if the customer had paid.
    pub async fn succeed(&self, scope: &Scope, id: &str) -> Result<Payment, ServiceError> {
        self.paid(scope, id, "test", "completed through the API")
            .await
    }

    /// The customer paid with `method`; `reference` is what identifies that money.
    pub async fn paid(
        &self,
        scope: &Scope,
        id: &str,
        method: &str,
        reference: &str,
    ) -> Result<Payment, ServiceError> {
        self.finish(
            scope,
            id,
            PaymentStatus::Succeeded,
            EventType::PaymentSucceeded,
            Some((method, reference)),
            None,
        )
        .await
    }

    pub async fn fail(&self, scope: &Scope, id: &str) -> Result<Payment, ServiceError> {
        self.finish(
            scope,
            id,
            PaymentStatus::Failed,
            EventType::PaymentFailed,
            None,
            None,
        )
        .await
    }

    /// Expires a batch of overdue payments; returns how many. Safe to run on many nodes.
    pub async fn expire_due(&self, limit: u32) -> Result<usize, ServiceError> {
        let now = crate::domain::now();
        let expired = self
            .store
            .expire_due(now, limit, &|p| {
                self.payment_event(EventType::PaymentExpired, p, now)
            })
            .await?;
        Ok(expired.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NewPayment {
        NewPayment {
            amount: "100.00".into(),
            currency: "PKR".into(),
            source: "native".into(),
            ..Default::default()
        }
    }

    fn param_of(r: Result<(Money, Vec<String>, i64), ServiceError>) -> String {
        match r {
            Err(ServiceError::Invalid { param, .. }) => param,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_offer_every_method_of_the_currency_for_an_hour() {
        let (amount, methods, expires_in) = validate(&input()).unwrap();
        assert_eq!(amount.minor(), 10000);
        assert_eq!(methods, ["card", "jazzcash", "easypaisa"]);
        assert_eq!(expires_in, 3600);
        let mut bdt = input();
        bdt.currency = "BDT".into();
        assert_eq!(validate(&bdt).unwrap().1, ["card", "bkash", "nagad"]);
        let mut inr = input();
        inr.currency = "INR".into();
        assert_eq!(validate(&inr).unwrap().1, ["card", "upi"]);
    }

    #[test]
    fn a_wallet_named_for_another_currency_is_refused() {
        let mut i = input();
        i.currency = "BDT".into();
        i.methods = Some(vec!["bkash".into(), "jazzcash".into()]);
        let Err(ServiceError::Invalid { message, .. }) = validate(&i) else {
            panic!("jazzcash was accepted for BDT");
        };
        assert!(message.contains("jazzcash takes only PKR"), "{message}");
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let mut i = input();
        i.amount = "0".into();
        assert_eq!(param_of(validate(&i)), "amount");
        let mut i = input();
        i.currency = "ABC".into();
        assert_eq!(param_of(validate(&i)), "currency");
        let mut i = input();
        i.customer.email = Some("not-an-email".into());
        assert_eq!(param_of(validate(&i)), "customer[email]");
        let mut i = input();
        i.success_url = Some("javascript:alert(1)".into());
        assert_eq!(param_of(validate(&i)), "success_url");
        let mut i = input();
        i.methods = Some(vec!["bitcoin".into()]);
        assert_eq!(param_of(validate(&i)), "methods");
        let mut i = input();
        i.expires_in = Some(5);
        assert_eq!(param_of(validate(&i)), "expires_in");
        let mut i = input();
        i.description = Some("x".repeat(1001));
        assert_eq!(param_of(validate(&i)), "description");
    }
}
