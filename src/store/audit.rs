//! The audit log: appended to in the transaction of the change it records (`insert_audit`,
//! called by the other aggregates), read newest first. Nothing here updates or deletes an
//! entry; the database's triggers refuse both.

use super::rows::Arg;
use super::*;
use crate::domain::audit::{AuditEntry, AuditFilter};

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Writes an entry that goes with no other change (a sign-in, a refused sign-in).
    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// A merchant's entries, newest first.
    async fn list_audit(
        &self,
        merchant_id: &str,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<AuditEntry>>;
}

pub const AUDIT_COLUMNS: &str = "id, merchant_id, mode, actor_kind, actor_id, actor_label, \
     action, object_id, detail, client_addr, user_agent, created_at";

/// The list as SQL with only the conditions the filter has, so each can use its index,
/// keyset-paginated on `(created_at, id)`.
pub fn audit_list_query(merchant_id: &str, f: &AuditFilter) -> (String, Vec<Arg>) {
    let mut args = vec![Arg::Text(merchant_id.to_string())];
    let mut push = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let mut cond = vec!["merchant_id = $1".to_string()];
    if let Some(a) = &f.actor_id {
        cond.push(format!("actor_id = {}", push(Arg::Text(a.clone()))));
    }
    if let Some(a) = &f.action {
        cond.push(format!("action = {}", push(Arg::Text(a.clone()))));
    }
    if let Some(t) = f.since {
        cond.push(format!("created_at >= {}", push(Arg::Time(t))));
    }
    if let Some(t) = f.until {
        cond.push(format!("created_at < {}", push(Arg::Time(t))));
    }
    if let Some((at, id)) = &f.before {
        let (a, b) = (push(Arg::Time(*at)), push(Arg::Text(id.clone())));
        cond.push(format!("(created_at, id) < ({a}, {b})"));
    }
    let limit = push(Arg::Int(i64::from(f.limit)));
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {} \
         ORDER BY created_at DESC, id DESC LIMIT {limit}",
        cond.join(" AND ")
    );
    (sql, args)
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`).
macro_rules! audit_sql {
    () => {
        #[async_trait::async_trait]
        impl super::audit::AuditStore for Backend {
            async fn record_audit(
                &self,
                entry: &crate::domain::audit::AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                insert_audit(&mut tx, entry).await?;
                Ok(tx.commit().await?)
            }

            async fn list_audit(
                &self,
                merchant_id: &str,
                filter: &crate::domain::audit::AuditFilter,
            ) -> StoreResult<Vec<crate::domain::audit::AuditEntry>> {
                use crate::domain::audit::AuditEntry;
                let (sql, args) = super::audit::audit_list_query(merchant_id, filter);
                let rows = bind_args(sqlx::query(&sql), args)
                    .fetch_all(self.reader())
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(from_row!(
                            r,
                            AuditEntry {
                                id,
                                merchant_id,
                                mode,
                                actor_kind,
                                actor_id,
                                actor_label,
                                action,
                                object_id,
                                detail,
                                client_addr,
                                user_agent,
                                created_at
                            }
                        ))
                    })
                    .collect()
            }
        }

        /// Writes the change's audit entry, if it has one, and commits the two together.
        async fn audited(
            mut tx: sqlx::Transaction<'static, Db>,
            audit: Option<&crate::domain::audit::AuditEntry>,
        ) -> StoreResult<()> {
            if let Some(entry) = audit {
                insert_audit(&mut tx, entry).await?;
            }
            Ok(tx.commit().await?)
        }

        /// Commits a change of one row with its audit entry; a change that found no row (or
        /// more) is rolled back. Whether it changed one.
        async fn audited_if_one(
            tx: sqlx::Transaction<'static, Db>,
            rows: u64,
            audit: Option<&crate::domain::audit::AuditEntry>,
        ) -> StoreResult<bool> {
            if rows == 1 {
                audited(tx, audit).await?;
            }
            Ok(rows == 1)
        }

        /// Appends an entry in the caller's transaction: the change and its record commit together.
        async fn insert_audit(
            tx: &mut Conn,
            e: &crate::domain::audit::AuditEntry,
        ) -> StoreResult<()> {
            sql!(
                &format!(
                    "INSERT INTO audit_log ({}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    super::audit::AUDIT_COLUMNS
                ),
                &e.id,
                &e.merchant_id,
                &e.mode,
                &e.actor_kind,
                &e.actor_id,
                &e.actor_label,
                &e.action,
                &e.object_id,
                &e.detail,
                &e.client_addr,
                &e.user_agent,
                ts(e.created_at)
            )
            .execute(&mut *tx)
            .await?;
            Ok(())
        }
    };
}
pub(super) use audit_sql;
