//! UPI: the payable amount that identifies a payment, and the bank credits that complete it.

use super::access::Acting;
use super::error::CreditShortfall;
use super::idempotency::ClaimedKey;
use super::objects::{event_payload, CreditObject};
use super::{PaymentService, ServiceError};
use crate::domain::credit::{
    payable_range, valid_utr, AcceptedShortfall, Credit, PAYABLES_PER_AMOUNT,
};
use crate::domain::event::EventType;
use crate::domain::ids::new_id;
use crate::domain::money::{format_minor, Currency, Money};
use crate::domain::payment::{Payment, PaymentStatus, Transfer};
use crate::domain::role::Action;
use crate::domain::wallet::Wallet;
use crate::store::{CreditFilter, NewEvent, Scope, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Tries before giving up when other nodes keep taking the amount we picked. Each lost race
/// means another payment took one of the range's amounts, so the range fills up first.
const MAX_TRIES: i64 = PAYABLES_PER_AMOUNT;

/// A credit as posted by the merchant or a forwarder.
#[derive(Debug, Clone, Default)]
pub struct NewCredit {
    /// The wallet it reached; `None`: a bank credit (UPI, IMPS, NEFT) in INR.
    pub wallet: Option<Wallet>,
    pub utr: String,
    pub amount: String,
    pub received_at: Option<DateTime<Utc>>,
    pub payer: Option<String>,
}

/// A dashboard user's confirmation that a credit short of a payment's amount pays it anyway.
#[derive(Debug, Clone)]
pub struct ShortfallConsent {
    /// Who confirmed (the dashboard user's e-mail address).
    pub user: String,
    /// The shortfall the user saw and confirmed; it must equal the real one.
    pub shortfall: String,
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

    /// Inserts a UPI payment with the highest free payable amount (PayGate's rule, within
    /// `payable_range`), retrying when another node took it first. The range holds at most
    /// `PAYABLES_PER_AMOUNT` amounts whatever the amount, and is read in one query; when all
    /// are held the create is refused.
    pub(crate) async fn insert_with_payable(
        &self,
        mut payment: Payment,
        upi_id: &str,
        upi_name: &str,
        key: Option<&ClaimedKey>,
    ) -> Result<Payment, ServiceError> {
        let lock = self.upi_lock(upi_id);
        let _held = lock.lock().await;
        let currency = payment.currency();
        let unit = 10i64.pow(currency.exponent());
        let range = payable_range(payment.amount.minor(), unit);
        let (lowest, highest) = (*range.start(), *range.end());
        let livemode = payment.livemode;
        for _ in 0..MAX_TRIES {
            let used = self
                .store
                .pending_payables(upi_id, livemode, lowest, highest)
                .await?;
            let Some(free) = range.clone().rev().find(|c| !used.contains(c)) else {
                break;
            };
            payment.transfer = Some(Transfer {
                payee: upi_id.to_string(),
                payee_name: upi_name.to_string(),
                payable_minor: free,
            });
            let event = self.payment_event(EventType::PaymentCreated, &payment, payment.created_at);
            match self.insert(&payment, &event, key).await {
                Ok(()) => return Ok(payment),
                Err(ServiceError::Store(StoreError::Duplicate(what))) => {
                    // Another node took `free` first, or the duplicate is another value
                    // (the payment's id or reference), which no retry fixes.
                    let taken = self
                        .store
                        .pending_payables(upi_id, livemode, free, free)
                        .await?;
                    if taken.is_empty() {
                        return Err(StoreError::Duplicate(what).into());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let shown = |minor: i64| format!("{} {}", format_minor(minor, currency), currency.code());
        Err(ServiceError::PayableAmountsExhausted {
            requested: shown(payment.amount.minor()),
            highest: shown(highest),
            lowest: shown(lowest),
        })
    }

    /// Records a received credit and completes the pending payment it pays, if any. A credit
    /// is in its rail's currency: rupees for a bank credit, the wallet's own for a wallet.
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
        let (method, currency) = match input.wallet {
            Some(w) => (w.name(), w.currency_code()),
            None => ("upi", "INR"),
        };
        let currency = Currency::parse(currency)
            .map_err(|e| ServiceError::invalid("currency", e.to_string()))?;
        let amount = Money::parse(&input.amount, currency)
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
            method: method.to_string(),
            utr,
            amount,
            payer: input.payer,
            received_at: input.received_at.unwrap_or(now),
            payment_id: None,
            matched_at: None,
            created_at: now,
            shortfall: None,
        };
        let recorded = self
            .store
            .record_credit(
                scope,
                &credit,
                now,
                &|p| self.payment_event(EventType::PaymentSucceeded, p, now),
                &|c| credit_events(c, now),
            )
            .await;
        match recorded {
            Ok(done) => Ok(done),
            Err(StoreError::Duplicate(_)) => Err(ServiceError::Conflict(format!(
                "a {} credit with reference {} was already recorded",
                credit.method, credit.utr
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Matches an unmatched credit to a pending payment by hand. The credit must be in the
    /// payment's currency and at least its payable amount, unless a dashboard user confirms
    /// the exact shortfall (`consent`), which is recorded on the credit with who and when.
    pub async fn match_credit(
        &self,
        by: &Acting,
        credit_id: &str,
        payment_id: &str,
        consent: Option<ShortfallConsent>,
    ) -> Result<(Credit, Payment), ServiceError> {
        by.require(Action::MatchCredit)?;
        let scope = &by.scope();
        let credit = self.get_credit(scope, credit_id).await?;
        if credit.payment_id.is_some() {
            return Err(ServiceError::Conflict(format!(
                "credit {credit_id} is already matched"
            )));
        }
        // Settles expiry first, and says 404 for a payment that is not this merchant's.
        let payment = self.get(scope, payment_id).await?;
        let not_pending = || {
            ServiceError::Conflict(format!(
                "payment {payment_id} is {} and credit {credit_id} may be matched already",
                payment.status.as_str()
            ))
        };
        if payment.status != PaymentStatus::Pending {
            return Err(not_pending());
        }
        let currency = payment.currency();
        if credit.amount.currency() != currency {
            return Err(ServiceError::invalid(
                "payment",
                format!(
                    "is in {}; credit {credit_id} is in {} and pays only a payment in its own currency",
                    currency.code(),
                    credit.amount.currency().code()
                ),
            ));
        }
        let now = crate::domain::now();
        let needed = payment.payable_minor();
        let short_minor = needed - credit.amount.minor();
        let shortfall = if short_minor > 0 {
            let confirmed = consent.and_then(|c| {
                let amount = Money::parse(c.shortfall.trim(), currency).ok()?;
                (amount.minor() == short_minor).then_some(AcceptedShortfall {
                    amount,
                    accepted_by: c.user,
                    accepted_at: now,
                })
            });
            let Some(confirmed) = confirmed else {
                return Err(ServiceError::CreditShort(Box::new(CreditShortfall {
                    credit_id: credit_id.to_string(),
                    payment_id: payment.id.clone(),
                    credit: credit.amount.to_string(),
                    needed: format_minor(needed, currency),
                    shortfall: format_minor(short_minor, currency),
                    currency: currency.code().to_string(),
                })));
            };
            Some(confirmed)
        } else {
            None
        };
        let entry = by.entry(
            "credit.matched",
            Some(credit_id),
            serde_json::json!({
                "payment_id": payment.id,
                "credit": credit.amount.to_string(),
                "shortfall": shortfall.as_ref().map(|s| s.amount.to_string()),
            }),
        );
        let matched = self
            .store
            .match_credit(
                scope,
                credit_id,
                &payment.id,
                shortfall.as_ref(),
                now,
                &|p| NewEvent {
                    audit: entry.clone(),
                    ..self.payment_event(EventType::PaymentSucceeded, p, now)
                },
            )
            .await?;
        matched.ok_or_else(not_pending)
    }

    /// How many credits matched no payment (up to 100: the dashboard's badge says "99+").
    pub async fn unmatched_credits(&self, scope: &Scope) -> Result<i64, ServiceError> {
        Ok(self.store.count_unmatched_credits(scope, 100).await?)
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

/// A recorded credit's events: `credit.received`, and `credit.unmatched` when it completed no
/// payment, so money that arrived for nothing is never silently lost.
fn credit_events(c: &Credit, at: DateTime<Utc>) -> Vec<NewEvent> {
    let kinds: &[EventType] = if c.payment_id.is_some() {
        &[EventType::CreditReceived]
    } else {
        &[EventType::CreditReceived, EventType::CreditUnmatched]
    };
    let object = CreditObject::new(c);
    kinds
        .iter()
        .map(|kind| {
            let id = new_id("evt");
            NewEvent {
                payload: event_payload(&id, kind.as_str(), c.livemode, at, &object),
                id,
                key_id: None,
                event_type: kind.as_str().to_string(),
                object_id: c.id.clone(),
                created_at: at,
                audit: None,
            }
        })
        .collect()
}
