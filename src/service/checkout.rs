//! What the hosted checkout asks of the engine: try a method, answer a one-time code.

use super::{PaymentService, ServiceError};
use crate::domain::attempt::{Attempt, AttemptStatus, MAX_ATTEMPTS};
use crate::domain::event::EventType;
use crate::domain::ids::new_id;
use crate::domain::payment::{Payment, PaymentStatus};
use crate::methods::{self, FieldError, FormInput, Method, Outcome, Tried};
use crate::store::{Scope, StoreError, Transition};

/// Where a try left the customer.
#[derive(Debug)]
pub enum AttemptResult {
    /// Fields to correct; nothing was attempted.
    Invalid(Vec<FieldError>),
    /// Refused; the payment is still payable. `code` says why (the method's decline code,
    /// `code_used` or `start_again`), `message` says it in English.
    Declined { code: &'static str, message: String },
    /// A one-time code is needed for this attempt.
    NeedsOtp(Attempt),
    /// The payment is paid.
    Paid(Payment),
    /// The payment can no longer be paid (paid, canceled, expired or failed meanwhile).
    Closed(Payment),
}

/// A one-time code answered twice (or for an attempt that is no longer waiting for one).
fn code_used() -> AttemptResult {
    AttemptResult::Declined {
        code: "code_used",
        message: "This code has already been used. Start again.".into(),
    }
}

fn scope_of(p: &Payment) -> Scope {
    Scope {
        merchant_id: p.merchant_id.clone(),
        livemode: p.livemode,
    }
}

impl PaymentService {
    /// The payment behind a checkout link, with expiry settled.
    pub async fn checkout_payment(&self, id: &str) -> Result<Payment, ServiceError> {
        let p = self
            .store
            .find_payment(id)
            .await
            .map_err(|e| ServiceError::from_lookup("payment", e))?;
        self.get(&scope_of(&p), id).await
    }

    /// One try with `method`. Every try that reaches the method is recorded as an attempt;
    /// the payment fails when its attempts run out.
    pub async fn attempt(
        &self,
        payment: &Payment,
        method: &dyn Method,
        form: &FormInput,
    ) -> Result<AttemptResult, ServiceError> {
        let payment = self.get(&scope_of(payment), &payment.id).await?;
        if payment.status != PaymentStatus::Pending {
            return Ok(AttemptResult::Closed(payment));
        }
        let tried = match method.attempt(&payment, form) {
            Ok(t) => t,
            Err(fields) => return Ok(AttemptResult::Invalid(fields)),
        };
        let now = crate::domain::now();
        let Tried {
            outcome,
            card_brand,
            card_last4,
            wallet_last4,
        } = tried;
        let (status, failure) = match &outcome {
            Outcome::Succeeded { .. } => (AttemptStatus::Succeeded, None),
            Outcome::Declined { code, message } => (
                AttemptStatus::Declined,
                Some((code.to_string(), message.clone())),
            ),
            Outcome::NeedsOtp => (AttemptStatus::RequiresOtp, None),
        };
        let attempt = Attempt {
            id: new_id("att"),
            payment_id: payment.id.clone(),
            method: method.name().to_string(),
            status,
            card_brand,
            card_last4,
            wallet_last4,
            failure_code: failure.as_ref().map(|f| f.0.clone()),
            failure_message: failure.as_ref().map(|f| f.1.clone()),
            created_at: now,
            updated_at: now,
        };
        let Some(attempt) = self.store.insert_attempt(&attempt, MAX_ATTEMPTS).await? else {
            return self.closed_or_exhausted(&payment).await;
        };
        self.settle_outcome(&payment, method, attempt, outcome)
            .await
    }

    /// Answers the one-time code of an attempt that asked for one.
    pub async fn confirm_otp(
        &self,
        payment: &Payment,
        attempt_id: &str,
        otp: &str,
    ) -> Result<AttemptResult, ServiceError> {
        let payment = self.get(&scope_of(payment), &payment.id).await?;
        if payment.status != PaymentStatus::Pending {
            return Ok(AttemptResult::Closed(payment));
        }
        let attempt = match self.store.get_attempt(&payment.id, attempt_id).await {
            Ok(a) if a.status == AttemptStatus::RequiresOtp => a,
            Ok(_) | Err(StoreError::NotFound) => return Ok(code_used()),
            Err(e) => return Err(e.into()),
        };
        let Some(method) = methods::all()
            .into_iter()
            .find(|m| m.name() == attempt.method)
        else {
            return Ok(AttemptResult::Declined {
                code: "start_again",
                message: "Start again.".into(),
            });
        };
        let outcome = method.confirm_otp(otp, attempt.card_last4.as_deref());
        let mut next = attempt.clone();
        next.updated_at = crate::domain::now();
        match &outcome {
            Outcome::Succeeded { .. } => next.status = AttemptStatus::Succeeded,
            Outcome::Declined { code, message } => {
                next.status = AttemptStatus::Declined;
                next.failure_code = Some(code.to_string());
                next.failure_message = Some(message.clone());
            }
            Outcome::NeedsOtp => return Ok(AttemptResult::NeedsOtp(attempt)),
        }
        let Some(done) = self
            .store
            .finish_attempt(&next, AttemptStatus::RequiresOtp)
            .await?
        else {
            return Ok(code_used());
        };
        self.settle_outcome(&payment, method.as_ref(), done, outcome)
            .await
    }

    async fn settle_outcome(
        &self,
        payment: &Payment,
        method: &dyn Method,
        attempt: Attempt,
        outcome: Outcome,
    ) -> Result<AttemptResult, ServiceError> {
        match outcome {
            Outcome::Succeeded { reference } => {
                match self
                    .paid(&scope_of(payment), &payment.id, method.name(), &reference)
                    .await
                {
                    Ok(p) => Ok(AttemptResult::Paid(p)),
                    Err(ServiceError::InvalidState { .. }) => Ok(AttemptResult::Closed(
                        self.get(&scope_of(payment), &payment.id).await?,
                    )),
                    Err(e) => Err(e),
                }
            }
            Outcome::Declined { code, message } => {
                let now = self.get(&scope_of(payment), &payment.id).await?;
                if now.attempt_count >= MAX_ATTEMPTS {
                    return self.closed_or_exhausted(&now).await;
                }
                Ok(AttemptResult::Declined { code, message })
            }
            Outcome::NeedsOtp => Ok(AttemptResult::NeedsOtp(attempt)),
        }
    }

    /// The payment refused another attempt: fail it if its attempts ran out.
    async fn closed_or_exhausted(&self, payment: &Payment) -> Result<AttemptResult, ServiceError> {
        let scope = scope_of(payment);
        let current = self.get(&scope, &payment.id).await?;
        if current.status == PaymentStatus::Pending && current.attempt_count >= MAX_ATTEMPTS {
            let now = crate::domain::now();
            let failed = self
                .store
                .transition_payment(
                    &scope,
                    &payment.id,
                    Transition {
                        from: &[PaymentStatus::Pending],
                        to: PaymentStatus::Failed,
                        unexpired_at: None,
                        at: now,
                        paid_with: None,
                        method_reference: None,
                    },
                    &|p| self.payment_event(EventType::PaymentFailed, p, now),
                )
                .await?;
            if let Some(p) = failed {
                return Ok(AttemptResult::Closed(p));
            }
        }
        Ok(AttemptResult::Closed(self.get(&scope, &payment.id).await?))
    }
}
