//! Receipts to e-mail: recorded in the transaction of the event they are for, leased by one
//! sender at a time, finished as sent, retried or given up.

use super::*;
use crate::domain::receipt::{Receipt, ReceiptOutcome};

#[async_trait]
pub trait ReceiptStore: Send + Sync + 'static {
    /// Leases up to `limit` due receipts until `lease_until` and counts the try; a receipt
    /// whose lease ran out (its node died mid-send) is due again. Safe on many nodes at once.
    async fn claim_receipts(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Receipt>>;
    /// Records how the try of a leased receipt ended; `false` when it was no longer pending.
    async fn finish_receipt(
        &self,
        id: &str,
        outcome: &ReceiptOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// A payment's receipts, oldest first.
    async fn receipts_of(&self, scope: &Scope, payment_id: &str) -> StoreResult<Vec<Receipt>>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`).
macro_rules! receipts_sql {
    () => {
        const RECEIPT_COLUMNS: &str = "id, event_id, merchant_id, livemode, payment_id, \
            refund_id, to_email, status, attempts, next_attempt_at, lease_until, last_error, \
            sent_at, created_at";

        fn receipt_from_row(r: &DbRow) -> StoreResult<crate::domain::receipt::Receipt> {
            use crate::domain::receipt::{Receipt, ReceiptStatus};
            let status: String = get(r, "status")?;
            Ok(from_row!(r, Receipt { id, event_id, merchant_id, livemode, payment_id,
                refund_id, to_email, attempts, next_attempt_at, lease_until, last_error,
                sent_at, created_at;
                status: ReceiptStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("receipt status '{status}'")))? }))
        }

        /// The receipt of a payment's success or a refund, when the payment has a customer's
        /// e-mail address: written with the event, so it is never lost.
        async fn record_receipt(tx: &mut Conn, e: &NewEvent) -> StoreResult<()> {
            let from = match e.event_type.as_str() {
                "payment.succeeded" => "payments p WHERE p.id = $4",
                "refund.succeeded" => "refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $4",
                _ => return Ok(()),
            };
            let refund = if e.event_type == "refund.succeeded" { "$4" } else { "NULL" };
            let sql = format!(
                "INSERT INTO receipts (id, event_id, merchant_id, livemode, payment_id, refund_id, \
                 to_email, status, attempts, next_attempt_at, created_at) \
                 SELECT $1, $2, p.merchant_id, p.livemode, p.id, {refund}, p.customer_email, \
                 'pending', 0, $3, $3 FROM {from} \
                 AND p.customer_email IS NOT NULL AND p.customer_email <> ''"
            );
            sql!(&sql, crate::domain::ids::new_id("rcp"), &e.id, ts(e.created_at), &e.object_id)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl super::receipts::ReceiptStore for Backend {
            async fn claim_receipts(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<crate::domain::receipt::Receipt>> {
                let sql = format!(
                    "UPDATE receipts SET lease_until = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM receipts WHERE status = 'pending' \
                     AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
                     ORDER BY next_attempt_at LIMIT $3 {SKIP_LOCKED}) \
                     AND status = 'pending' RETURNING {RECEIPT_COLUMNS}"
                );
                let rows = sql!(&sql, ts(now), ts(lease_until), i64::from(limit.min(100)))
                    .fetch_all(self.writer())
                    .await?;
                rows.iter().map(receipt_from_row).collect()
            }

            async fn finish_receipt(
                &self,
                id: &str,
                outcome: &crate::domain::receipt::ReceiptOutcome,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                use crate::domain::receipt::{ReceiptOutcome, ReceiptStatus};
                let (status, next, error, sent) = match outcome {
                    ReceiptOutcome::Sent => (ReceiptStatus::Sent, None, None, Some(at)),
                    ReceiptOutcome::Retry { at: next, error } => {
                        (ReceiptStatus::Pending, Some(*next), Some(error.as_str()), None)
                    }
                    ReceiptOutcome::GiveUp { status, error } => {
                        (*status, None, Some(error.as_str()), None)
                    }
                };
                let done = sql!(
                    "UPDATE receipts SET status = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
                     last_error = COALESCE($4, last_error), sent_at = $5, lease_until = NULL \
                     WHERE id = $1 AND status = 'pending'",
                    id, status.as_str(), next.map(ts), error, sent.map(ts))
                .execute(self.writer())
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn receipts_of(
                &self,
                scope: &Scope,
                payment_id: &str,
            ) -> StoreResult<Vec<crate::domain::receipt::Receipt>> {
                let sql = format!(
                    "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE payment_id = $1 \
                     AND merchant_id = $2 AND livemode = $3 ORDER BY created_at, id"
                );
                let rows = sql!(&sql, payment_id, &scope.merchant_id, scope.livemode)
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(receipt_from_row).collect()
            }
        }
    };
}
pub(super) use receipts_sql;
