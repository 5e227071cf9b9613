//! Refunds: full or partial, never more in total than was paid.

use super::access::Acting;
use super::idempotency::{claim_lost, ClaimedKey};
use super::objects::{event_payload, RefundObject};
use super::{PaymentService, ServiceError};
use crate::domain::event::EventType;
use crate::domain::ids::new_id;
use crate::domain::money::{format_minor, Money};
use crate::domain::payment::Payment;
use crate::domain::refund::{Refund, REASON_MAX};
use crate::domain::role::Action;
use crate::store::{NewEvent, RefundRefusal, Scope, StoreError};

impl PaymentService {
    /// Refunds `amount` (or everything still refundable) of a paid payment.
    pub async fn refund(
        &self,
        by: &Acting,
        payment_id: &str,
        amount: Option<&str>,
        reason: Option<String>,
    ) -> Result<(Payment, Refund), ServiceError> {
        self.refund_idempotent(by, payment_id, amount, reason, None)
            .await
    }

    /// `refund`, keeping the response of a claimed idempotency key in the refund's own
    /// transaction.
    pub async fn refund_idempotent(
        &self,
        by: &Acting,
        payment_id: &str,
        amount: Option<&str>,
        reason: Option<String>,
        key: Option<&ClaimedKey>,
    ) -> Result<(Payment, Refund), ServiceError> {
        by.require(Action::Refund)?;
        let scope = &by.scope();
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > REASON_MAX)
        {
            return Err(ServiceError::invalid(
                "reason",
                format!("must be at most {REASON_MAX} characters"),
            ));
        }
        let payment = self.get(scope, payment_id).await?;
        let currency = payment.currency();
        let amount = match amount {
            Some(text) => Money::parse(text, currency)
                .map_err(|e| ServiceError::invalid("amount", e.to_string()))?,
            None => {
                let rest = payment.refundable_minor();
                if rest <= 0 {
                    return Err(self.not_refundable(&payment));
                }
                Money::from_minor(rest, currency)
            }
        };
        let now = crate::domain::now();
        let refund = Refund {
            id: new_id("re"),
            payment_id: payment.id.clone(),
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            amount,
            reason,
            status: "succeeded".into(),
            created_at: now,
        };
        let entry = by.entry(
            "refund.created",
            Some(&refund.id),
            serde_json::json!({
                "payment_id": refund.payment_id,
                "amount": refund.amount.to_string(),
                "currency": currency.code(),
                "reason": refund.reason,
            }),
        );
        let build = |p: &Payment, r: &Refund| {
            let id = new_id("evt");
            let kind = EventType::RefundSucceeded.as_str();
            NewEvent {
                key_id: p.key_id.clone(),
                payload: event_payload(&id, kind, r.livemode, now, &RefundObject::new(r)),
                id,
                event_type: kind.to_string(),
                object_id: r.id.clone(),
                created_at: now,
                audit: entry.clone(),
            }
        };
        let written = match key {
            None => self.store.create_refund(scope, &refund, &build).await,
            Some(key) => {
                let done = key.completion(&RefundObject::new(&refund))?;
                self.store
                    .create_refund_completing(scope, &refund, &build, &done)
                    .await
            }
        };
        match written {
            Ok(done) => Ok(done),
            Err(RefundRefusal::Store(StoreError::KeyClaimLost)) => Err(claim_lost()),
            Err(RefundRefusal::NotFound) => Err(ServiceError::NotFound("payment")),
            Err(RefundRefusal::NotPaid(_)) => Err(self.not_refundable(&payment)),
            Err(RefundRefusal::Exceeds { refundable_minor }) => Err(ServiceError::invalid(
                "amount",
                format!(
                    "exceeds what is left to refund ({} {})",
                    format_minor(refundable_minor, currency),
                    currency
                ),
            )),
            Err(RefundRefusal::Store(e)) => Err(e.into()),
        }
    }

    fn not_refundable(&self, p: &Payment) -> ServiceError {
        ServiceError::InvalidState {
            status: p.status,
            message: format!(
                "payment {} is {}; only a succeeded payment with an unrefunded amount can be refunded",
                p.id,
                p.status.as_str()
            ),
        }
    }

    pub async fn get_refund(&self, scope: &Scope, id: &str) -> Result<Refund, ServiceError> {
        self.store
            .get_refund(scope, id)
            .await
            .map_err(|e| ServiceError::from_lookup("refund", e))
    }
}
