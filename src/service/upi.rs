//! UPI: the payable amount that identifies a payment, and the bank credits that complete it.

use super::idempotency::ClaimedKey;
use super::{PaymentService, ServiceError};
use crate::domain::credit::{payable_candidates, valid_utr, Credit};
use crate::domain::event::EventType;
use crate::domain::ids::new_id;
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Payment, UpiTarget};
use crate::store::{CreditFilter, Scope, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Candidates looked at per read of the amounts in use.
const WINDOW: i64 = 500;
/// Tries before giving up when other nodes keep taking the amount we picked.
const MAX_TRIES: usize = 50;

/// A bank credit as posted by the merchant or a forwarder.
#[derive(Debug, Clone, Default)]
pub struct NewCredit {
    pub utr: String,
    pub amount: String,
    pub received_at: Option<DateTime<Utc>>,
    pub payer: Option<String>,
}

impl PaymentService {
    /// One lock per UPI id inside this node, so its creates do not race each other for the
    /// same amount; the database's unique index is what makes it safe across nodes.
    fn upi_lock(&self, upi_id: &str) -> Arc<Mutex<()>> {
        self.upi_locks
            .entry(upi_id.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(())))
            .clone()
    }

    /// Inserts a UPI payment with the highest free payable amount (PayGate's rule), retrying
    /// when another node took it first.
    pub(crate) async fn insert_with_payable(
        &self,
        mut payment: Payment,
        upi_id: &str,
        upi_name: &str,
        key: Option<&ClaimedKey>,
    ) -> Result<Payment, ServiceError> {
        let lock = self.upi_lock(upi_id);
        let _held = lock.lock().await;
        let unit = 10i64.pow(payment.currency().exponent());
        // Bounded: the amount is the caller's number, not a loop bound.
        let candidates: Vec<i64> = payable_candidates(payment.amount.minor(), unit)
            .take(10 * WINDOW as usize)
            .collect();
        let mut tries = 0;
        let mut offset = 0usize;
        while offset < candidates.len() {
            let window = &candidates[offset..candidates.len().min(offset + WINDOW as usize)];
            let (highest, lowest) = (window[0], window[window.len() - 1]);
            let used = self.store.pending_payables(upi_id, lowest, highest).await?;
            let Some(free) = window.iter().copied().find(|c| !used.contains(c)) else {
                offset += window.len();
                continue;
            };
            payment.upi = Some(UpiTarget {
                upi_id: upi_id.to_string(),
                upi_name: upi_name.to_string(),
                payable_minor: free,
            });
            let event = self.payment_event(EventType::PaymentCreated, &payment, payment.created_at);
            match self.insert(&payment, &event, key).await {
                Ok(()) => return Ok(payment),
                Err(ServiceError::Store(StoreError::Duplicate(_))) if tries < MAX_TRIES => {
                    tries += 1
                }
                Err(e) => return Err(e),
            }
        }
        Err(ServiceError::invalid(
            "amount",
            "too many pending UPI payments ask for this amount; try again shortly",
        ))
    }

    /// Records a received credit and completes the pending payment it pays, if any.
    pub async fn record_credit(
        &self,
        scope: &Scope,
        input: NewCredit,
    ) -> Result<(Credit, Option<Payment>), ServiceError> {
        let utr = input.utr.trim().to_ascii_uppercase();
        if !valid_utr(&utr) {
            return Err(ServiceError::invalid(
                "utr",
                "must be 6 to 35 letters and digits",
            ));
        }
        let inr =
            Currency::parse("INR").map_err(|e| ServiceError::invalid("currency", e.to_string()))?;
        let amount = Money::parse(&input.amount, inr)
            .map_err(|e| ServiceError::invalid("amount", e.to_string()))?;
        if input
            .payer
            .as_ref()
            .is_some_and(|p| p.chars().count() > 200)
        {
            return Err(ServiceError::invalid(
                "payer",
                "must be at most 200 characters",
            ));
        }
        let now = crate::domain::now();
        let credit = Credit {
            id: new_id("cr"),
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            utr,
            amount,
            payer: input.payer,
            received_at: input.received_at.unwrap_or(now),
            payment_id: None,
            matched_at: None,
            created_at: now,
        };
        let recorded = self
            .store
            .record_credit(scope, &credit, now, &|p| {
                self.payment_event(EventType::PaymentSucceeded, p, now)
            })
            .await;
        match recorded {
            Ok(done) => Ok(done),
            Err(StoreError::Duplicate(_)) => Err(ServiceError::Conflict(format!(
                "a credit with UTR {} was already recorded",
                credit.utr
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Matches an unmatched credit to a pending payment by hand.
    pub async fn match_credit(
        &self,
        scope: &Scope,
        credit_id: &str,
        payment_id: &str,
    ) -> Result<(Credit, Payment), ServiceError> {
        let credit = self.get_credit(scope, credit_id).await?;
        if credit.payment_id.is_some() {
            return Err(ServiceError::Conflict(format!(
                "credit {credit_id} is already matched"
            )));
        }
        // Settles expiry first, and says 404 for a payment that is not this merchant's.
        let payment = self.get(scope, payment_id).await?;
        let now = crate::domain::now();
        let matched = self
            .store
            .match_credit(scope, credit_id, &payment.id, now, &|p| {
                self.payment_event(EventType::PaymentSucceeded, p, now)
            })
            .await?;
        matched.ok_or_else(|| {
            ServiceError::Conflict(format!(
                "payment {payment_id} is {} and credit {credit_id} may be matched already",
                payment.status.as_str()
            ))
        })
    }

    pub async fn get_credit(&self, scope: &Scope, id: &str) -> Result<Credit, ServiceError> {
        self.store
            .get_credit(scope, id)
            .await
            .map_err(|e| ServiceError::from_lookup("credit", e))
    }

    pub async fn list_credits(
        &self,
        scope: &Scope,
        filter: &CreditFilter,
    ) -> Result<Vec<Credit>, ServiceError> {
        self.store
            .list_credits(scope, filter)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::invalid("starting_after", "no such credit"),
                other => other.into(),
            })
    }
}
