//! UPI payable amounts and the bank credits matched to payments.

use super::*;

#[async_trait]
pub trait CreditStore: Send + Sync + 'static {
    /// The payable amounts (minor units) pending payments to `upi_id` in one mode hold within
    /// a range.
    async fn pending_payables(
        &self,
        upi_id: &str,
        livemode: bool,
        lowest: i64,
        highest: i64,
    ) -> StoreResult<Vec<i64>>;
    /// Records a credit and, in the same transaction, completes the pending payment whose
    /// payable amount it equals, and writes the credit's own events (`credit_events`, given
    /// the credit as recorded). `Duplicate` when the UTR was recorded before.
    async fn record_credit(
        &self,
        scope: &Scope,
        credit: &Credit,
        now: DateTime<Utc>,
        event: EventBuilder<'_>,
        credit_events: CreditEventBuilder<'_>,
    ) -> StoreResult<(Credit, Option<Payment>)>;
    /// Matches an unmatched credit to a pending payment by hand, recording the shortfall a
    /// dashboard user accepted, if any. `Ok(None)` when the credit is matched already or the
    /// payment is no longer pending.
    async fn match_credit(
        &self,
        scope: &Scope,
        credit_id: &str,
        payment_id: &str,
        shortfall: Option<&AcceptedShortfall>,
        now: DateTime<Utc>,
        event: EventBuilder<'_>,
    ) -> StoreResult<Option<(Credit, Payment)>>;
    async fn get_credit(&self, scope: &Scope, id: &str) -> StoreResult<Credit>;
    /// How many credits matched no payment, counting at most `cap` (a badge needs no more).
    async fn count_unmatched_credits(&self, scope: &Scope, cap: i64) -> StoreResult<i64>;
    async fn list_credits(&self, scope: &Scope, filter: &CreditFilter) -> StoreResult<Vec<Credit>>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! credits_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl CreditStore for Backend {
    async fn pending_payables(&self, upi_id: &str, livemode: bool, lowest: i64,
        highest: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT payable_minor FROM payments WHERE upi_id = $1 AND livemode = $4 \
             AND status = 'pending' AND payable_minor BETWEEN $2 AND $3 \
             ORDER BY payable_minor DESC",
        ).bind(upi_id).bind(lowest).bind(highest).bind(livemode).fetch_all(self.reader()).await?)
    }

    async fn record_credit(&self, scope: &Scope, c: &Credit, now: DateTime<Utc>,
        event: EventBuilder<'_>, credit_events: CreditEventBuilder<'_>)
        -> StoreResult<(Credit, Option<Payment>)> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        sql!(&format!("INSERT INTO credits ({CREDIT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"),
            &c.id, &scope.merchant_id, scope.livemode, &c.utr, c.amount.currency().code(),
            c.amount.minor(), &c.payer, ts(c.received_at), &c.payment_id, c.matched_at.map(ts),
            ts(c.created_at), c.shortfall.as_ref().map(|s| s.amount.minor()),
            c.shortfall.as_ref().map(|s| s.accepted_by.clone()),
            c.shortfall.as_ref().map(|s| ts(s.accepted_at)), &c.method).execute(&mut *tx).await
        .map_err(classify)?;
        // The one pending transfer payment asking for exactly this amount, if any: its
        // currency says the rail (INR is UPI; PKR and BDT are the wallets).
        let sql = format!(
            "UPDATE payments SET status = 'succeeded', updated_at = $1, paid_with = $7, \
             method_reference = $2 WHERE id = (SELECT id FROM payments WHERE merchant_id = $3 \
             AND livemode = $4 AND status = 'pending' AND upi_id IS NOT NULL \
             AND payable_minor = $5 AND currency = $6 AND expires_at > $1 \
             ORDER BY created_at LIMIT 1) AND status = 'pending' RETURNING {PAYMENT_COLUMNS}");
        let row = sql!(&sql, ts(now), &c.utr, &scope.merchant_id, scope.livemode, c.amount.minor(),
            c.amount.currency().code(), &c.method).fetch_optional(&mut *tx).await?;
        let mut credit = c.clone();
        let payment = match row {
            None => None,
            Some(row) => {
                let payment = payment_from_row(&row)?;
                sql!("UPDATE credits SET payment_id = $2, matched_at = $3 WHERE id = $1", &c.id,
                    &payment.id, ts(now)).execute(&mut *tx).await?;
                wake |= insert_event(&mut tx, scope, &event(&payment)).await?;
                credit.payment_id = Some(payment.id.clone());
                credit.matched_at = Some(now);
                Some(payment)
            }
        };
        for e in credit_events(&credit) {
            wake |= insert_event(&mut tx, scope, &e).await?;
        }
        let changed: Vec<String> = payment.iter().map(|p| p.id.clone()).collect();
        self.commit_changed(tx, wake, &changed).await?;
        Ok((credit, payment))
    }

    async fn match_credit(&self, scope: &Scope, credit_id: &str, payment_id: &str,
        shortfall: Option<&AcceptedShortfall>, now: DateTime<Utc>,
        event: EventBuilder<'_>) -> StoreResult<Option<(Credit, Payment)>> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        let sf = shortfall;
        let sql = format!(
            "UPDATE credits SET payment_id = $4, matched_at = $5, shortfall_minor = $6, \
             shortfall_accepted_by = $7, shortfall_accepted_at = $8 WHERE id = $1 \
             AND merchant_id = $2 AND livemode = $3 AND payment_id IS NULL \
             RETURNING {CREDIT_COLUMNS}");
        let Some(credit_row) = sql!(&sql, credit_id, &scope.merchant_id, scope.livemode,
            payment_id, ts(now), sf.map(|s| s.amount.minor()), sf.map(|s| s.accepted_by.clone()),
            sf.map(|s| ts(s.accepted_at))).fetch_optional(&mut *tx).await?
        else {
            return Ok(None);
        };
        let credit = credit_from_row(&credit_row)?;
        let sql = format!(
            "UPDATE payments SET status = 'succeeded', updated_at = $1, paid_with = $6, \
             method_reference = $2 WHERE id = $3 AND merchant_id = $4 AND livemode = $5 \
             AND status = 'pending' RETURNING {PAYMENT_COLUMNS}");
        let Some(row) = sql!(&sql, ts(now), &credit.utr, payment_id, &scope.merchant_id,
            scope.livemode, &credit.method).fetch_optional(&mut *tx).await?
        else {
            return Ok(None);
        };
        let payment = payment_from_row(&row)?;
        wake |= insert_event(&mut tx, scope, &event(&payment)).await?;
        self.commit_changed(tx, wake, std::slice::from_ref(&payment.id)).await?;
        Ok(Some((credit, payment)))
    }

    async fn get_credit(&self, scope: &Scope, id: &str) -> StoreResult<Credit> {
        credit_from_row(
            &self.scoped_row("credits", CREDIT_COLUMNS, scope, id).await?,
        )
    }

    async fn count_unmatched_credits(&self, scope: &Scope, cap: i64) -> StoreResult<i64> {
        let row = sql!("SELECT COUNT(*) AS n FROM (SELECT 1 FROM credits WHERE merchant_id = $1 \
             AND livemode = $2 AND payment_id IS NULL LIMIT $3) AS unmatched",
            &scope.merchant_id, scope.livemode, cap).fetch_one(self.reader()).await?;
        Ok(row.try_get("n")?)
    }

    async fn list_credits(&self, scope: &Scope, f: &CreditFilter) -> StoreResult<Vec<Credit>> {
        let cursor = match &f.starting_after {
            Some(id) => Some(self.get_credit(scope, id).await?),
            None => None,
        };
        let sql = format!(
            "SELECT {CREDIT_COLUMNS} FROM credits WHERE merchant_id = $1 AND livemode = $2 \
             AND ($3 IS NULL OR (payment_id IS NOT NULL) = $3) \
             AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
             ORDER BY created_at DESC, id DESC LIMIT $6");
        let rows = sql!(&sql, &scope.merchant_id, scope.livemode, f.matched,
            cursor.as_ref().map(|c| ts(c.created_at)), cursor.as_ref().map(|c| c.id.clone()),
            i64::from(f.limit)).fetch_all(self.reader()).await?;
        rows.iter().map(credit_from_row).collect()
    }

    $($own)*
}
    };
}
pub(super) use credits_sql;
