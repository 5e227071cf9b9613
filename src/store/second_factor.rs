//! Users' second factors: the sealed TOTP secret (pending while it is being set up), the last
//! step a code was accepted for, and the hashed single-use recovery codes.

use super::*;

/// A user's second factor as stored: secrets still sealed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredSecondFactor {
    /// The confirmed secret; `None`: two-factor sign-in is off.
    pub secret: Option<String>,
    /// A secret shown for set-up and not yet confirmed.
    pub pending: Option<String>,
    pub last_step: Option<i64>,
    /// Recovery codes not used yet.
    pub codes_left: i64,
}

#[async_trait]
pub trait SecondFactorStore: Send + Sync + 'static {
    /// The user's second factor (all empty when there is none).
    async fn get_second_factor(&self, user_id: &str) -> StoreResult<StoredSecondFactor>;
    /// Keeps a set-up's secret (sealed) until it is confirmed, replacing an earlier one.
    async fn set_pending_second_factor(&self, user_id: &str, sealed: &str) -> StoreResult<()>;
    /// Turns two-factor sign-in on with the confirmed secret, the step of the code that
    /// confirmed it, and new recovery codes (the old ones go), with the audit entry.
    async fn enable_second_factor(
        &self,
        user_id: &str,
        sealed: &str,
        step: i64,
        recovery_hashes: &[String],
        at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// Turns it off: the secret and the recovery codes go.
    async fn disable_second_factor(
        &self,
        user_id: &str,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// Accepts a code's step once: `true` only for a step later than any accepted before,
    /// decided in one statement so two sign-ins racing with one code cannot both pass.
    async fn accept_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool>;
    /// Uses a recovery code once: `true` when it was the user's and unused (then the audit
    /// entry is written with the use).
    async fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<bool>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`).
macro_rules! second_factor_sql {
    () => {
#[async_trait::async_trait]
impl super::second_factor::SecondFactorStore for Backend {
    async fn get_second_factor(&self, user_id: &str)
        -> StoreResult<super::second_factor::StoredSecondFactor> {
        let row = sql!("SELECT secret, pending, last_step FROM user_second_factors WHERE user_id = $1",
            user_id).fetch_optional(self.reader()).await?;
        let codes_left: i64 = sql!("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 \
             AND used_at IS NULL", user_id).fetch_one(self.reader()).await?.try_get("n")?;
        Ok(match row {
            Some(r) => super::second_factor::StoredSecondFactor {
                secret: get(&r, "secret")?,
                pending: get(&r, "pending")?,
                last_step: get(&r, "last_step")?,
                codes_left,
            },
            None => super::second_factor::StoredSecondFactor { codes_left, ..Default::default() },
        })
    }

    async fn set_pending_second_factor(&self, user_id: &str, sealed: &str) -> StoreResult<()> {
        sql!("INSERT INTO user_second_factors (user_id, pending) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET pending = excluded.pending", user_id, sealed)
            .execute(self.writer()).await.map_err(classify)?;
        Ok(())
    }

    async fn enable_second_factor(&self, user_id: &str, sealed: &str, step: i64,
        recovery_hashes: &[String], at: DateTime<Utc>, audit: Option<&AuditEntry>)
        -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sql!("INSERT INTO user_second_factors (user_id, secret, pending, last_step, enabled_at) \
             VALUES ($1, $2, NULL, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
             secret = excluded.secret, pending = NULL, last_step = excluded.last_step, \
             enabled_at = excluded.enabled_at", user_id, sealed, step, ts(at))
            .execute(&mut *tx).await.map_err(classify)?;
        sql!("DELETE FROM recovery_codes WHERE user_id = $1", user_id).execute(&mut *tx).await?;
        // Ten codes: a fixed count, not the caller's.
        for hash in recovery_hashes.iter().take(crate::domain::second_factor::RECOVERY_CODES) {
            sql!("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)", user_id, hash)
                .execute(&mut *tx).await.map_err(classify)?;
        }
        audited(tx, audit).await
    }

    async fn disable_second_factor(&self, user_id: &str, audit: Option<&AuditEntry>)
        -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sql!("DELETE FROM user_second_factors WHERE user_id = $1", user_id)
            .execute(&mut *tx).await?;
        sql!("DELETE FROM recovery_codes WHERE user_id = $1", user_id).execute(&mut *tx).await?;
        audited(tx, audit).await
    }

    async fn accept_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let done = sql!("UPDATE user_second_factors SET last_step = $2 WHERE user_id = $1 \
             AND secret IS NOT NULL AND (last_step IS NULL OR last_step < $2)", user_id, step)
            .execute(self.writer()).await?.rows_affected();
        Ok(done == 1)
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &str, at: DateTime<Utc>,
        audit: Option<&AuditEntry>) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sql!("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 \
             AND code_hash = $2 AND used_at IS NULL", user_id, hash, ts(at))
            .execute(&mut *tx).await?.rows_affected();
        audited_if_one(tx, done, audit).await
    }
}
    };
}
pub(super) use second_factor_sql;
