//! Payments with their attempts and refunds.

use super::*;

#[async_trait]
pub trait PaymentStore: Send + Sync + 'static {
    async fn insert_payment(&self, payment: &Payment, event: &NewEvent) -> StoreResult<()>;
    async fn get_payment(&self, scope: &Scope, id: &str) -> StoreResult<Payment>;
    /// A payment by id alone, for the public checkout (the id is the capability).
    async fn find_payment(&self, id: &str) -> StoreResult<Payment>;
    async fn list_payments(
        &self,
        scope: &Scope,
        filter: &PaymentFilter,
    ) -> StoreResult<Vec<Payment>>;
    /// Moves a payment from one of `from` to `to` if, and only if, it is still in one of them
    /// (and, with `unexpired_at`, not yet expired at that time), writing the event in the same
    /// transaction. `Ok(None)` when the condition did not hold: someone else won.
    async fn transition_payment(
        &self,
        scope: &Scope,
        id: &str,
        change: Transition<'_>,
        event: EventBuilder<'_>,
    ) -> StoreResult<Option<Payment>>;
    /// Expires up to `limit` pending payments whose time is up, with their events.
    /// Rows are claimed so that concurrent workers never expire the same payment twice.
    async fn expire_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        event: EventBuilder<'_>,
    ) -> StoreResult<Vec<Payment>>;
    async fn count_payments_by_status(&self) -> StoreResult<Vec<(String, bool, i64)>>;
    /// Records a new attempt and counts it on its payment, in one transaction. Refused with
    /// `Ok(None)` when the payment is no longer pending or has used all its attempts.
    async fn insert_attempt(&self, attempt: &Attempt, max: i32) -> StoreResult<Option<Attempt>>;
    /// Moves an attempt on from `from` (for an OTP answer); `Ok(None)` if it had moved already.
    async fn finish_attempt(
        &self,
        attempt: &Attempt,
        from: AttemptStatus,
    ) -> StoreResult<Option<Attempt>>;
    async fn get_attempt(&self, payment_id: &str, id: &str) -> StoreResult<Attempt>;
    async fn list_attempts(&self, payment_id: &str) -> StoreResult<Vec<Attempt>>;
    async fn create_refund(
        &self,
        scope: &Scope,
        refund: &Refund,
        event: RefundEventBuilder<'_>,
    ) -> Result<(Payment, Refund), RefundRefusal>;
    async fn get_refund(&self, scope: &Scope, id: &str) -> StoreResult<Refund>;
    async fn list_refunds(&self, scope: &Scope, payment_id: &str) -> StoreResult<Vec<Refund>>;
    /// Payments whose status changes from now on: on SQLite those this process makes, on
    /// PostgreSQL those of every node (LISTEN/NOTIFY).
    async fn watch_payments(&self) -> StoreResult<tokio::sync::broadcast::Receiver<PaymentChange>>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! payments_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl PaymentStore for Backend {
    async fn get_payment(&self, scope: &Scope, id: &str) -> StoreResult<Payment> {
        payment_from_row(
            &self.scoped_row("payments", PAYMENT_COLUMNS, scope, id).await?,
        )
    }

    async fn find_payment(&self, id: &str) -> StoreResult<Payment> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1");
        let row = sql!(&sql, id).fetch_optional(self.reader()).await?.ok_or(StoreError::NotFound)?;
        payment_from_row(&row)
    }

    async fn list_payments(&self, scope: &Scope, f: &PaymentFilter) -> StoreResult<Vec<Payment>> {
        let cursor = match &f.starting_after {
            Some(id) => Some(self.get_payment(scope, id).await?),
            None => None,
        };
        let (sql, args) = rows::payment_list_query(
            scope,
            f,
            cursor.as_ref().map(|c| (c.created_at, c.id.as_str())));
        // A search is planned with its values each time (an unnamed statement): a cached
        // generic plan cannot use the name-prefix index for `LIKE $n`, and PostgreSQL switches
        // to one after five runs.
        let query = bind_args(sqlx::query(&sql).persistent(f.search.is_none()), args);
        let rows = query.fetch_all(self.reader()).await?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn transition_payment(&self, scope: &Scope, id: &str, change: Transition<'_>,
        event: EventBuilder<'_>) -> StoreResult<Option<Payment>> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE payments SET status = $1, updated_at = $2, paid_with = COALESCE($7, paid_with), \
             method_reference = COALESCE($8, method_reference) WHERE id = $3 AND merchant_id = $4 \
             AND livemode = $5 AND status IN ({}) AND ($6 IS NULL OR expires_at > $6) \
             RETURNING {PAYMENT_COLUMNS}",
            status_list(change.from));
        let row = sql!(&sql, change.to.as_str(), ts(change.at), id, &scope.merchant_id,
            scope.livemode, change.unexpired_at.map(ts), change.paid_with, change.method_reference)
            .fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let payment = payment_from_row(&row)?;
        wake |= insert_event(&mut tx, scope, &event(&payment)).await?;
        self.commit_changed(tx, wake, std::slice::from_ref(&payment.id)).await?;
        Ok(Some(payment))
    }

    async fn count_payments_by_status(&self) -> StoreResult<Vec<(String, bool, i64)>> {
        let rows = sqlx::query(
            "SELECT status, livemode, COUNT(*) AS n FROM payments GROUP BY status, livemode",
        ).fetch_all(self.reader()).await?;
        rows.iter().map(|r| Ok((get(r, "status")?, get(r, "livemode")?, get(r, "n")?))).collect()
    }

    async fn insert_attempt(&self, a: &Attempt, max: i32) -> StoreResult<Option<Attempt>> {
        let mut tx = self.begin().await?;
        let counted = sql!("UPDATE payments SET attempt_count = attempt_count + 1, updated_at = $2 \
             WHERE id = $1 AND status = 'pending' AND attempt_count < $3",
            &a.payment_id, ts(a.created_at), max).execute(&mut *tx).await?.rows_affected();
        if counted == 0 {
            return Ok(None);
        }
        sql!(&format!("INSERT INTO payment_attempts ({ATTEMPT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
            &a.id, &a.payment_id, &a.method, a.status.as_str(), &a.card_brand, &a.card_last4,
            &a.wallet_last4, &a.failure_code, &a.failure_message, ts(a.created_at),
            ts(a.updated_at)).execute(&mut *tx).await.map_err(classify)?;
        tx.commit().await?;
        Ok(Some(a.clone()))
    }

    async fn finish_attempt(&self, a: &Attempt,
        from: AttemptStatus) -> StoreResult<Option<Attempt>> {
        let sql = format!(
            "UPDATE payment_attempts SET status = $2, failure_code = $3, failure_message = $4, \
             updated_at = $5 WHERE id = $1 AND status = $6 RETURNING {ATTEMPT_COLUMNS}");
        let row = sql!(&sql, &a.id, a.status.as_str(), &a.failure_code, &a.failure_message,
            ts(a.updated_at), from.as_str()).fetch_optional(self.writer()).await?;
        row.as_ref().map(attempt_from_row).transpose()
    }

    async fn get_attempt(&self, payment_id: &str, id: &str) -> StoreResult<Attempt> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_attempts WHERE id = $1 AND payment_id = $2");
        let row = sql!(&sql, id, payment_id).fetch_optional(self.reader()).await?
            .ok_or(StoreError::NotFound)?;
        attempt_from_row(&row)
    }

    async fn list_attempts(&self, payment_id: &str) -> StoreResult<Vec<Attempt>> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM payment_attempts WHERE payment_id = $1 \
             ORDER BY created_at, id");
        let rows = sql!(&sql, payment_id).fetch_all(self.reader()).await?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn create_refund(&self, scope: &Scope, refund: &Refund,
        event: RefundEventBuilder<'_>) -> Result<(Payment, Refund), RefundRefusal> {
        self.write_refund(scope, refund, event, None).await
    }

    async fn get_refund(&self, scope: &Scope, id: &str) -> StoreResult<Refund> {
        refund_from_row(
            &self.scoped_row("refunds", REFUND_COLUMNS, scope, id).await?,
        )
    }

    async fn list_refunds(&self, scope: &Scope, payment_id: &str) -> StoreResult<Vec<Refund>> {
        let rows = sql!(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 AND merchant_id = $2 \
             AND livemode = $3 ORDER BY created_at, id"),
            payment_id, &scope.merchant_id, scope.livemode).fetch_all(self.reader()).await?;
        rows.iter().map(refund_from_row).collect()
    }


    async fn expire_due(&self, now: DateTime<Utc>, limit: u32,
        event: EventBuilder<'_>) -> StoreResult<Vec<Payment>> {
        let mut wake = false;
        // Each backend's SKIP_LOCKED says how a row is claimed.
        let mut tx = self.begin().await?;
        let sql = format!("UPDATE payments SET status = 'expired', updated_at = $1 WHERE id IN \
             (SELECT id FROM payments WHERE status = 'pending' AND expires_at <= $1 \
              ORDER BY expires_at LIMIT $2 {SKIP_LOCKED}) AND status = 'pending' \
             RETURNING {PAYMENT_COLUMNS}");
        let rows = sql!(&sql, ts(now), i64::from(limit)).fetch_all(&mut *tx).await?;
        let mut expired = Vec::with_capacity(rows.len());
        for row in &rows {
            let p = payment_from_row(row)?;
            wake |= insert_event(&mut tx, &scope_of(&p), &event(&p)).await?;
            expired.push(p);
        }
        let changed: Vec<String> = expired.iter().map(|p| p.id.clone()).collect();
        self.commit_changed(tx, wake, &changed).await?;
        Ok(expired)
    }

    $($own)*
}

impl Backend {
    /// A refund, its payment's update and its event in one transaction, with the response of
    /// an idempotency key when one is given.
    async fn write_refund(&self, scope: &Scope, refund: &Refund, event: RefundEventBuilder<'_>,
        key: Option<&KeyCompletion>) -> Result<(Payment, Refund), RefundRefusal> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        if let Some(key) = key {
            complete_key_in(&mut tx, scope, key).await?;
        }
        // One conditional update is the whole check: the sum of refunds can never pass the
        // amount, whatever runs concurrently.
        let sql = format!(
            "UPDATE payments SET refunded_minor = refunded_minor + $1, updated_at = $2, \
             status = CASE WHEN refunded_minor + $1 = amount_minor THEN 'refunded' \
             ELSE 'partially_refunded' END \
             WHERE id = $3 AND merchant_id = $4 AND livemode = $5 \
             AND status IN ('succeeded', 'partially_refunded') \
             AND refunded_minor + $1 <= amount_minor AND currency = $6 \
             RETURNING {PAYMENT_COLUMNS}");
        let row = sql!(&sql, refund.amount.minor(), ts(refund.created_at), &refund.payment_id,
            &scope.merchant_id, scope.livemode, refund.amount.currency().code())
            .fetch_optional(&mut *tx).await.map_err(StoreError::from)?;
        let Some(row) = row else {
            drop(tx);
            let current = match self.get_payment(scope, &refund.payment_id).await {
                Ok(p) => p,
                Err(StoreError::NotFound) => return Err(RefundRefusal::NotFound),
                Err(e) => return Err(e.into()),
            };
            if !matches!(
                current.status,
                PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
            ) {
                return Err(RefundRefusal::NotPaid(current.status));
            }
            return Err(RefundRefusal::Exceeds {
                refundable_minor: current.refundable_minor(),
            });
        };
        let payment = payment_from_row(&row)?;
        sql!(&format!(
            "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
            &refund.id, &refund.payment_id, &scope.merchant_id, scope.livemode,
            refund.amount.currency().code(), refund.amount.minor(), &refund.reason, &refund.status,
            ts(refund.created_at)).execute(&mut *tx).await.map_err(classify)?;
        wake |= insert_event(&mut tx, scope, &event(&payment, refund)).await?;
        self.commit(tx, wake).await?;
        Ok((payment, refund.clone()))
    }
}

fn scope_of(p: &Payment) -> Scope {
    Scope {
        merchant_id: p.merchant_id.clone(),
        livemode: p.livemode,
    }
}

/// `status IN ('a', 'b')` for a fixed list of known status names (never user text).
fn status_list(from: &[PaymentStatus]) -> String {
    from.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
}
    };
}
pub(super) use payments_sql;
