//! Merchants, their dashboard users and sessions, the sign-in throttle, and the instance itself.

use super::*;

use crate::domain::role::Role;
use crate::domain::session::Stage;

/// Versions of the migrations applied (successfully) and embedded in the binary, ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Migrations {
    pub applied: Vec<i64>,
    pub known: Vec<i64>,
}

/// A user's columns, in the order `create_user` writes them.
pub const USER_COLUMNS: &str = "id, merchant_id, email, password_hash, role, created_at";

#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Applies the embedded migrations for this backend; applying twice is a no-op.
    async fn migrate(&self) -> StoreResult<()>;
    /// The migrations applied to the database and the ones this binary embeds.
    async fn migrations(&self) -> StoreResult<Migrations>;
    /// The database server's clock (PostgreSQL); `None` for an embedded database, whose clock
    /// is this machine's.
    async fn database_clock(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// A cheap round trip, for health checks.
    async fn ping(&self) -> StoreResult<()>;
    fn backend(&self) -> &'static str;
    async fn create_merchant(&self, merchant: &Merchant) -> StoreResult<()>;
    async fn get_merchant(&self, id: &str) -> StoreResult<Merchant>;
    async fn list_merchants(&self) -> StoreResult<Vec<Merchant>>;
    async fn count_merchants(&self) -> StoreResult<i64>;
    async fn create_user(&self, user: &User, audit: Option<&AuditEntry>) -> StoreResult<()>;
    /// Changes a user's role; refuses (`LastOwner`) to leave the merchant without an owner.
    async fn set_user_role(
        &self,
        merchant_id: &str,
        user_id: &str,
        role: Role,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<User>;
    /// Removes a user and signs them out everywhere; refuses (`LastOwner`) to remove the
    /// merchant's last owner.
    async fn remove_user(
        &self,
        merchant_id: &str,
        user_id: &str,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<User>;
    async fn find_user_by_email(&self, email: &str) -> StoreResult<User>;
    async fn list_users(&self, merchant_id: &str) -> StoreResult<Vec<User>>;
    /// Name, default URLs and checkout expiry (the dashboard's settings).
    async fn update_merchant_settings(
        &self,
        merchant: &Merchant,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<Merchant>;
    async fn set_merchant_upi(
        &self,
        id: &str,
        upi_id: Option<&str>,
        upi_name: Option<&str>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<Merchant>;
    /// The merchant's wallet numbers as their column keeps them (`None`: none).
    async fn set_merchant_wallets(
        &self,
        id: &str,
        numbers: Option<&str>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<Merchant>;
    /// A secret shared by every node: created with `fresh` the first time, read afterwards.
    async fn instance_secret(&self, name: &str, fresh: &str) -> StoreResult<String>;
    async fn create_session(
        &self,
        session: &Session,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// The unexpired session with this token hash.
    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session>;
    /// Moves a session from stage `from` to `to` with a new expiry, and writes the audit
    /// entry with it; `false` (and nothing written) when it was no longer at `from`.
    async fn set_session_stage(
        &self,
        token_hash: &str,
        from: Stage,
        to: Stage,
        expires_at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<bool>;
    /// Whether every user of the merchant must sign in with a second factor.
    async fn set_require_two_factor(
        &self,
        merchant_id: &str,
        on: bool,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<Merchant>;
    async fn set_session_mode(&self, token_hash: &str, livemode: bool) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Counts a try at `subject` (a sign-in throttle's `email:…` or `addr:…`) before the work
    /// it guards, in one atomic statement, so that racing tries are each counted. While the
    /// subject is blocked the try is refused, uncounted: `Some(until)`. Otherwise it is counted
    /// (`None`); the try that uses up the rule's free ones, and each later one, blocks the
    /// subject for the rule's wait, doubling per try up to its ceiling.
    async fn claim_throttle(
        &self,
        subject: &str,
        rule: &ThrottleRule,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// Forgets a subject's tries and block (a correct sign-in for an e-mail address).
    async fn clear_throttle(&self, subject: &str) -> StoreResult<()>;
    /// Gives one counted try back (a correct sign-in from a client address), lifting the
    /// block when the tries left are below the rule's free ones.
    async fn refund_throttle(&self, subject: &str, rule: &ThrottleRule) -> StoreResult<()>;
    /// Deletes the rows whose last try is older than `before` and that are not blocked at
    /// `now`; returns how many.
    async fn purge_throttle(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Records that `email` signed in from a client `address` now.
    async fn remember_sign_in(
        &self,
        email: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Whether `email` signed in from `address` at or after `since`.
    async fn signed_in_from(
        &self,
        email: &str,
        address: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Forgets sign-ins older than `before`; returns how many.
    async fn purge_sign_ins(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! accounts_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl AccountStore for Backend {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    async fn create_merchant(&self, m: &Merchant) -> StoreResult<()> {
        sql!("INSERT INTO merchants (id, name, upi_id, upi_name, created_at) VALUES ($1, $2, $3, $4, $5)",
            &m.id, &m.name, &m.upi_id, &m.upi_name, ts(m.created_at)).execute(self.writer()).await
            .map_err(classify)?;
        Ok(())
    }

    async fn get_merchant(&self, id: &str) -> StoreResult<Merchant> {
        let row = sql!(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1"),
            id).fetch_optional(self.reader()).await?.ok_or(StoreError::NotFound)?;
        merchant_from_row(&row)
    }

    async fn list_merchants(&self) -> StoreResult<Vec<Merchant>> {
        let rows = sqlx::query(&format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY created_at, id"
        )).fetch_all(self.reader()).await?;
        rows.iter().map(merchant_from_row).collect()
    }

    async fn count_merchants(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM merchants").fetch_one(self.reader()).await?)
    }

    async fn create_user(&self, u: &User, audit: Option<&AuditEntry>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sql!(&format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &u.id, &u.merchant_id, &u.email, &u.password_hash, u.role.as_str(), ts(u.created_at))
        .execute(&mut *tx).await.map_err(classify)?;
        audited(tx, audit).await
    }

    async fn set_user_role(&self, merchant_id: &str, user_id: &str, role: Role,
        audit: Option<&AuditEntry>) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        lock_team(&mut tx, merchant_id).await?;
        let sql = format!("UPDATE users SET role = $3 WHERE id = $1 AND merchant_id = $2 \
             RETURNING {USER_COLUMNS}");
        let row = sql!(&sql, user_id, merchant_id, role.as_str()).fetch_optional(&mut *tx).await?
            .ok_or(StoreError::NotFound)?;
        keep_an_owner(&mut tx, merchant_id).await?;
        let user = user_from_row(&row)?;
        audited(tx, audit).await?;
        Ok(user)
    }

    async fn remove_user(&self, merchant_id: &str, user_id: &str,
        audit: Option<&AuditEntry>) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        lock_team(&mut tx, merchant_id).await?;
        sql!("DELETE FROM dashboard_sessions WHERE user_id = $1 AND merchant_id = $2",
            user_id, merchant_id).execute(&mut *tx).await?;
        for table in ["user_second_factors", "recovery_codes"] {
            sql!(&format!("DELETE FROM {table} WHERE user_id IN \
                 (SELECT id FROM users WHERE id = $1 AND merchant_id = $2)"),
                user_id, merchant_id).execute(&mut *tx).await?;
        }
        let sql = format!("DELETE FROM users WHERE id = $1 AND merchant_id = $2 \
             RETURNING {USER_COLUMNS}");
        let row = sql!(&sql, user_id, merchant_id).fetch_optional(&mut *tx).await?
            .ok_or(StoreError::NotFound)?;
        keep_an_owner(&mut tx, merchant_id).await?;
        let user = user_from_row(&row)?;
        audited(tx, audit).await?;
        Ok(user)
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<User> {
        let row = sql!(&format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"),
            email.trim()).fetch_optional(self.reader()).await?.ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn list_users(&self, merchant_id: &str) -> StoreResult<Vec<User>> {
        let rows = sql!(&format!("SELECT {USER_COLUMNS} FROM users \
             WHERE merchant_id = $1 ORDER BY created_at, id"),
            merchant_id).fetch_all(self.reader()).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn update_merchant_settings(&self, m: &Merchant,
        audit: Option<&AuditEntry>) -> StoreResult<Merchant> {
        let mut tx = self.begin().await?;
        let row = sql!(&format!(
            "UPDATE merchants SET name = $2, success_url = $3, cancel_url = $4, \
             checkout_expiry_secs = $5, default_locale = $6 WHERE id = $1 \
             RETURNING {MERCHANT_COLUMNS}"),
            &m.id, &m.name, &m.success_url, &m.cancel_url, m.checkout_expiry_secs,
            m.default_locale.map(|l| l.code()))
        .fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let merchant = merchant_from_row(&row)?;
        audited(tx, audit).await?;
        Ok(merchant)
    }

    async fn set_merchant_upi(&self, id: &str, upi_id: Option<&str>,
        upi_name: Option<&str>, audit: Option<&AuditEntry>) -> StoreResult<Merchant> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE merchants SET upi_id = $2, upi_name = $3 WHERE id = $1 RETURNING {MERCHANT_COLUMNS}"
        );
        let row = sql!(&sql, id, upi_id, upi_name).fetch_optional(&mut *tx).await?
            .ok_or(StoreError::NotFound)?;
        let merchant = merchant_from_row(&row)?;
        audited(tx, audit).await?;
        Ok(merchant)
    }

    async fn set_merchant_wallets(&self, id: &str, numbers: Option<&str>,
        audit: Option<&AuditEntry>) -> StoreResult<Merchant> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE merchants SET wallet_numbers = $2 WHERE id = $1 RETURNING {MERCHANT_COLUMNS}"
        );
        let row = sql!(&sql, id, numbers).fetch_optional(&mut *tx).await?
            .ok_or(StoreError::NotFound)?;
        let merchant = merchant_from_row(&row)?;
        audited(tx, audit).await?;
        Ok(merchant)
    }

    async fn instance_secret(&self, name: &str, fresh: &str) -> StoreResult<String> {
        sql!("INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            name, fresh).execute(self.writer()).await?;
        let value = sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1");
        Ok(value.bind(name).fetch_one(self.writer()).await?)
    }

    async fn create_session(&self, s: &Session, audit: Option<&AuditEntry>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sql!("INSERT INTO dashboard_sessions (token_hash, user_id, merchant_id, csrf, livemode, \
             created_at, expires_at, stage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &s.token_hash, &s.user_id, &s.merchant_id, &s.csrf, s.livemode, ts(s.created_at),
            ts(s.expires_at), s.stage.as_str()).execute(&mut *tx).await.map_err(classify)?;
        // Sessions that ran out go when new ones come.
        sql!("DELETE FROM dashboard_sessions WHERE expires_at < $1", ts(s.created_at))
            .execute(&mut *tx).await?;
        audited(tx, audit).await
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session> {
        let r = sql!("SELECT token_hash, user_id, merchant_id, csrf, livemode, created_at, expires_at, \
             stage FROM dashboard_sessions WHERE token_hash = $1 AND expires_at > $2",
            token_hash, ts(now)).fetch_optional(self.reader()).await?.ok_or(StoreError::NotFound)?;
        let r = &r;
        let stage: String = get(r, "stage")?;
        Ok(from_row!(r, Session { token_hash, user_id, merchant_id, csrf, livemode, created_at,
            expires_at; stage: crate::domain::session::Stage::parse(&stage) }))
    }

    async fn set_session_stage(&self, token_hash: &str, from: Stage, to: Stage,
        expires_at: DateTime<Utc>, audit: Option<&AuditEntry>) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let moved = sql!("UPDATE dashboard_sessions SET stage = $3, expires_at = $4 \
             WHERE token_hash = $1 AND stage = $2", token_hash, from.as_str(), to.as_str(),
            ts(expires_at)).execute(&mut *tx).await?.rows_affected() == 1;
        if moved {
            audited(tx, audit).await?;
        }
        Ok(moved)
    }

    async fn set_require_two_factor(&self, merchant_id: &str, on: bool,
        audit: Option<&AuditEntry>) -> StoreResult<Merchant> {
        let mut tx = self.begin().await?;
        let sql = format!("UPDATE merchants SET require_two_factor = $2 WHERE id = $1 \
             RETURNING {MERCHANT_COLUMNS}");
        let row = sql!(&sql, merchant_id, on).fetch_optional(&mut *tx).await?
            .ok_or(StoreError::NotFound)?;
        let merchant = merchant_from_row(&row)?;
        audited(tx, audit).await?;
        Ok(merchant)
    }

    async fn set_session_mode(&self, token_hash: &str, livemode: bool) -> StoreResult<()> {
        sql!("UPDATE dashboard_sessions SET livemode = $2 WHERE token_hash = $1", token_hash,
            livemode).execute(self.writer()).await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sql!("DELETE FROM dashboard_sessions WHERE token_hash = $1", token_hash)
            .execute(self.writer()).await?;
        Ok(())
    }

    async fn clear_throttle(&self, subject: &str) -> StoreResult<()> {
        sql!("DELETE FROM sign_in_throttle WHERE subject = $1", subject).execute(self.writer())
            .await?;
        Ok(())
    }

    async fn refund_throttle(&self, subject: &str, rule: &ThrottleRule) -> StoreResult<()> {
        sql!("UPDATE sign_in_throttle SET tries = tries - 1, \
             blocked_until = CASE WHEN tries - 1 < $2 THEN NULL ELSE blocked_until END \
             WHERE subject = $1 AND tries > 0",
            subject, rule.free).execute(self.writer()).await?;
        Ok(())
    }

    async fn purge_throttle(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sql!("DELETE FROM sign_in_throttle WHERE updated_at < $1 \
             AND (blocked_until IS NULL OR blocked_until <= $2)",
            ts(before), ts(now)).execute(self.writer()).await?;
        Ok(done.rows_affected())
    }

    async fn remember_sign_in(&self, email: &str, address: &str,
        now: DateTime<Utc>) -> StoreResult<()> {
        sql!("INSERT INTO sign_in_known (email, address, last_sign_in) VALUES ($1, $2, $3) \
             ON CONFLICT (email, address) DO UPDATE SET last_sign_in = $3",
            email, address, ts(now)).execute(self.writer()).await?;
        Ok(())
    }

    async fn signed_in_from(&self, email: &str, address: &str,
        since: DateTime<Utc>) -> StoreResult<bool> {
        let row = sql!("SELECT 1 FROM sign_in_known WHERE email = $1 AND address = $2 AND last_sign_in >= $3",
            email, address, ts(since)).fetch_optional(self.reader()).await?;
        Ok(row.is_some())
    }

    async fn purge_sign_ins(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sql!("DELETE FROM sign_in_known WHERE last_sign_in < $1", ts(before))
            .execute(self.writer()).await?;
        Ok(done.rows_affected())
    }


    async fn claim_throttle(&self, subject: &str, rule: &ThrottleRule,
        now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        // The update's WHERE leaves a blocked row alone (no row returned); `$7` is the try's
        // number after counting it. The row lock makes racing tries count one after another;
        // `{MICROS}` turns a number of microseconds into a duration.
        let sql = format!(
            "INSERT INTO sign_in_throttle (subject, tries, blocked_until, updated_at) \
             VALUES ($1, 1, CASE WHEN 1 >= $4 THEN $2 + $5{MICROS} END, $2) \
             ON CONFLICT (subject) DO UPDATE SET \
             tries = $7, \
             blocked_until = CASE WHEN $7 >= $4 \
             THEN $2 + {LEAST}($6, $5 << {LEAST}($7 - $4, 20)){MICROS} END, \
             updated_at = $2 \
             WHERE sign_in_throttle.blocked_until IS NULL OR sign_in_throttle.blocked_until <= $2 \
             RETURNING tries").replace(
            "$7",
            "(CASE WHEN sign_in_throttle.updated_at < $3 THEN 1 \
             ELSE sign_in_throttle.tries + 1 END)");
        let counted = sql!(&sql, subject, ts(now), ts(now - rule.window), rule.free,
            micros(rule.first_wait), micros(rule.max_wait))
            .fetch_optional(self.writer()).await?;
        if counted.is_some() {
            return Ok(None);
        }
        let row = sql!("SELECT blocked_until FROM sign_in_throttle WHERE subject = $1", subject)
            .fetch_optional(self.writer()).await?;
        let until = row.map(|r| get(&r, "blocked_until")).transpose()?.flatten();
        // Unblocked in between: the caller waits the shortest while.
        Ok(Some(until.unwrap_or(now + chrono::Duration::seconds(1))))
    }

    $($own)*
}

/// Makes changes to one merchant's team queue behind each other: a no-op update takes the
/// merchant row's lock on both backends, so two owners demoting each other at once cannot
/// both see the other still an owner.
async fn lock_team(tx: &mut Conn, merchant_id: &str) -> StoreResult<()> {
    sql!("UPDATE merchants SET id = id WHERE id = $1", merchant_id).execute(&mut *tx).await?;
    Ok(())
}

/// Refuses a team change that leaves the merchant without an owner (the caller's
/// transaction is then dropped, undone).
async fn keep_an_owner(tx: &mut Conn, merchant_id: &str) -> StoreResult<()> {
    let owners: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE merchant_id = $1 AND role = 'owner'")
        .bind(merchant_id).fetch_one(&mut *tx).await?;
    if owners == 0 {
        return Err(StoreError::LastOwner);
    }
    Ok(())
}
    };
}
pub(super) use accounts_sql;
