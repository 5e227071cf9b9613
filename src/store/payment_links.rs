//! Payment links, and the counts of the payments made through each (read from `payments`,
//! whose `source` is the link's id).

use super::*;
use crate::domain::payment_link::PaymentLink;

/// What a link has taken: its payments by status, and the money of those that succeeded.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkTally {
    pub succeeded: i64,
    pub pending: i64,
    /// The amount of the succeeded payments, in the link's currency's minor units.
    pub revenue_minor: i64,
}

#[async_trait]
pub trait PaymentLinkStore: Send + Sync + 'static {
    async fn insert_payment_link(
        &self,
        link: &PaymentLink,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    async fn payment_link(&self, scope: &Scope, id: &str) -> StoreResult<Option<PaymentLink>>;
    /// The link at `/l/{slug}`, in whichever merchant and mode it is.
    async fn payment_link_by_slug(&self, slug: &str) -> StoreResult<Option<PaymentLink>>;
    /// A scope's links, newest first, at most `limit`.
    async fn list_payment_links(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<PaymentLink>>;
    /// Deactivates a link of the scope; `false` when there is none or it was inactive.
    async fn deactivate_payment_link(
        &self,
        scope: &Scope,
        id: &str,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<bool>;
    async fn link_tally(&self, scope: &Scope, link_id: &str) -> StoreResult<LinkTally>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`).
macro_rules! payment_links_sql {
    () => {
        const LINK_COLUMNS: &str = "id, merchant_id, livemode, slug, currency, amount_minor, \
            min_minor, max_minor, description, methods, max_payments, expires_at, active, \
            created_at";

        fn link_from_row(r: &DbRow) -> StoreResult<crate::domain::payment_link::PaymentLink> {
            use crate::domain::payment_link::{LinkAmount, PaymentLink};
            let bounds: (Option<i64>, Option<i64>, Option<i64>) =
                (get(r, "amount_minor")?, get(r, "min_minor")?, get(r, "max_minor")?);
            let amount = match bounds {
                (Some(fixed), _, _) => LinkAmount::Fixed(money(r, fixed)?),
                (None, Some(min), Some(max)) => {
                    LinkAmount::Chosen { min: money(r, min)?, max: money(r, max)? }
                }
                _ => return Err(StoreError::Corrupt("a payment link without an amount".into())),
            };
            let methods: String = get(r, "methods")?;
            Ok(from_row!(r, PaymentLink { id, merchant_id, livemode, slug, description,
                max_payments, expires_at, active, created_at;
                amount: amount,
                methods: rows::json(&methods, "payment link methods")? }))
        }

        #[async_trait::async_trait]
        impl super::payment_links::PaymentLinkStore for Backend {
            async fn insert_payment_link(
                &self,
                l: &crate::domain::payment_link::PaymentLink,
                audit: Option<&AuditEntry>,
            ) -> StoreResult<()> {
                use crate::domain::payment_link::LinkAmount;
                let (fixed, min, max) = match &l.amount {
                    LinkAmount::Fixed(m) => (Some(m.minor()), None, None),
                    LinkAmount::Chosen { min, max } => (None, Some(min.minor()), Some(max.minor())),
                };
                let methods = serde_json::to_string(&l.methods)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let mut tx = self.begin().await?;
                sql!(
                    &format!(
                        "INSERT INTO payment_links ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
                         $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                    ),
                    &l.id,
                    &l.merchant_id,
                    l.livemode,
                    &l.slug,
                    l.amount.currency().code(),
                    fixed,
                    min,
                    max,
                    &l.description,
                    methods,
                    l.max_payments,
                    l.expires_at.map(ts),
                    l.active,
                    ts(l.created_at)
                )
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                audited(tx, audit).await
            }

            async fn payment_link(
                &self,
                scope: &Scope,
                id: &str,
            ) -> StoreResult<Option<crate::domain::payment_link::PaymentLink>> {
                let sql = format!(
                    "SELECT {LINK_COLUMNS} FROM payment_links WHERE id = $1 \
                     AND merchant_id = $2 AND livemode = $3"
                );
                let row = sql!(&sql, id, &scope.merchant_id, scope.livemode)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(link_from_row).transpose()
            }

            async fn payment_link_by_slug(
                &self,
                slug: &str,
            ) -> StoreResult<Option<crate::domain::payment_link::PaymentLink>> {
                let sql = format!("SELECT {LINK_COLUMNS} FROM payment_links WHERE slug = $1");
                let row = sql!(&sql, slug).fetch_optional(self.reader()).await?;
                row.as_ref().map(link_from_row).transpose()
            }

            async fn list_payment_links(
                &self,
                scope: &Scope,
                limit: u32,
            ) -> StoreResult<Vec<crate::domain::payment_link::PaymentLink>> {
                let sql = format!(
                    "SELECT {LINK_COLUMNS} FROM payment_links WHERE merchant_id = $1 \
                     AND livemode = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
                );
                let rows = sql!(&sql, &scope.merchant_id, scope.livemode, i64::from(limit.min(100)))
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(link_from_row).collect()
            }

            async fn deactivate_payment_link(
                &self,
                scope: &Scope,
                id: &str,
                audit: Option<&AuditEntry>,
            ) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sql!(
                    "UPDATE payment_links SET active = $4 WHERE id = $1 AND merchant_id = $2 \
                     AND livemode = $3 AND active = $5",
                    id,
                    &scope.merchant_id,
                    scope.livemode,
                    false,
                    true
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                audited_if_one(tx, done, audit).await
            }

            async fn link_tally(
                &self,
                scope: &Scope,
                link_id: &str,
            ) -> StoreResult<super::payment_links::LinkTally> {
                // One pass over the link's payments (the payments_by_source index).
                let row = sql!(
                    "SELECT \
                     CAST(COALESCE(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), 0) \
                     AS BIGINT) AS succeeded, \
                     CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) \
                     AS BIGINT) AS pending, \
                     CAST(COALESCE(SUM(CASE WHEN status = 'succeeded' THEN amount_minor \
                     ELSE 0 END), 0) AS BIGINT) AS revenue FROM payments WHERE merchant_id = $1 AND livemode = $2 \
                     AND source = $3",
                    &scope.merchant_id,
                    scope.livemode,
                    link_id
                )
                .fetch_one(self.reader())
                .await?;
                Ok(super::payment_links::LinkTally {
                    succeeded: get(&row, "succeeded")?,
                    pending: get(&row, "pending")?,
                    revenue_minor: get(&row, "revenue")?,
                })
            }
        }
    };
}
pub(super) use payment_links_sql;
