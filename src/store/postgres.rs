//! The PostgreSQL store: for production and for many `hundi serve` nodes on one database.
//!
//! Every transition is a conditional `UPDATE … WHERE status IN (…)`: under READ COMMITTED,
//! PostgreSQL re-checks the condition after waiting for a concurrent writer, so exactly one
//! of N racing transitions matches. Workers claim rows with `FOR UPDATE SKIP LOCKED`.

use super::rows::{
    self, PaymentRow, ATTEMPT_COLUMNS, CREDIT_COLUMNS, ENDPOINT_COLUMNS, EVENT_COLUMNS,
    KEY_COLUMNS, MERCHANT_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS,
};
use super::*;
use crate::domain::attempt::{Attempt, AttemptStatus};
use crate::domain::credential::Credential;
use crate::domain::credit::{AcceptedShortfall, Credit};
use crate::domain::payment::Payment;
use crate::domain::session::{DayStat, Session};
use crate::domain::webhook::{events_column, Endpoint};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use std::str::FromStr;
use std::time::Duration;

pub struct PgStore {
    pool: PgPool,
    deliveries: Arc<tokio::sync::Notify>,
    listening: tokio::sync::OnceCell<()>,
    sealer: super::sealing::EndpointSealer,
    /// Key changes heard on `hundi_keys`, for every subscriber of this node.
    key_changes: tokio::sync::broadcast::Sender<KeyChange>,
    listening_keys: tokio::sync::OnceCell<()>,
}

impl PgStore {
    /// Opens a pool of at most `max` connections (`HUNDI_DB_POOL_SIZE`, read in `config.rs`).
    pub async fn connect(url: &str, max: u32) -> StoreResult<PgStore> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(PgStore {
            pool,
            deliveries: Arc::new(tokio::sync::Notify::new()),
            listening: tokio::sync::OnceCell::new(),
            sealer: Default::default(),
            key_changes: tokio::sync::broadcast::channel(1024).0,
            listening_keys: tokio::sync::OnceCell::new(),
        })
    }

    /// The pool, for PostgreSQL-only features outside the store trait (LISTEN/NOTIFY).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn signal_deliveries(&self) {
        self.deliveries.notify_one();
    }

    async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// One row of `table` by id, if it belongs to the scope's merchant and mode.
    async fn scoped_row(
        &self,
        table: &str,
        columns: &str,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<PgRow> {
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2 AND livemode = $3"
        );
        sqlx::query(&sql)
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)
    }
}

fn payment_from_row(r: &PgRow) -> StoreResult<Payment> {
    Payment::try_from(PaymentRow {
        id: r.try_get("id")?,
        merchant_id: r.try_get("merchant_id")?,
        livemode: r.try_get("livemode")?,
        key_id: r.try_get("key_id")?,
        source: r.try_get("source")?,
        status: r.try_get("status")?,
        currency: r.try_get("currency")?,
        amount_minor: r.try_get("amount_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        description: r.try_get("description")?,
        reference: r.try_get("reference")?,
        customer_name: r.try_get("customer_name")?,
        customer_email: r.try_get("customer_email")?,
        customer_phone: r.try_get("customer_phone")?,
        metadata: r.try_get("metadata")?,
        success_url: r.try_get("success_url")?,
        cancel_url: r.try_get("cancel_url")?,
        methods: r.try_get("methods")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        updated_at: r.try_get("updated_at")?,
        upi_id: r.try_get("upi_id")?,
        upi_name: r.try_get("upi_name")?,
        payable_minor: r.try_get("payable_minor")?,
        paid_with: r.try_get("paid_with")?,
        method_reference: r.try_get("method_reference")?,
        attempt_count: r.try_get("attempt_count")?,
        dialect_data: r.try_get("dialect_data")?,
    })
}

fn key_from_row(r: &PgRow) -> StoreResult<ApiKey> {
    rows::api_key(
        r.try_get("id")?,
        r.try_get("merchant_id")?,
        r.try_get("livemode")?,
        r.try_get("label")?,
        r.try_get("prefix")?,
        r.try_get("secret_hash")?,
        r.try_get("permissions")?,
        r.try_get("webhook_url")?,
        r.try_get("request_count")?,
        r.try_get("created_at")?,
        r.try_get("revoked_at")?,
    )
    .and_then(|mut k| {
        let stored: Option<i32> = r.try_get("rate_limit")?;
        k.rate_limit = rows::rate_limit(stored.map(i64::from))?;
        Ok(k)
    })
}

/// A bucket row's answer as a grant.
fn token_grant(granted: i64, left: f64) -> StoreResult<TokenGrant> {
    let granted = u32::try_from(granted)
        .map_err(|_| StoreError::Corrupt(format!("rate limit grant {granted}")))?;
    Ok(TokenGrant { granted, left })
}

fn refund_from_row(r: &PgRow) -> StoreResult<Refund> {
    let currency: String = r.try_get("currency")?;
    rows::refund(
        r.try_get("id")?,
        r.try_get("payment_id")?,
        r.try_get("merchant_id")?,
        r.try_get("livemode")?,
        &currency,
        r.try_get("amount_minor")?,
        r.try_get("reason")?,
        r.try_get("status")?,
        r.try_get("created_at")?,
    )
}

fn event_from_row(r: &PgRow) -> StoreResult<Event> {
    Ok(Event {
        id: r.try_get("id")?,
        merchant_id: r.try_get("merchant_id")?,
        livemode: r.try_get("livemode")?,
        event_type: r.try_get("type")?,
        object_id: r.try_get("object_id")?,
        payload: r.try_get("payload")?,
        created_at: r.try_get("created_at")?,
    })
}

fn attempt_from_row(r: &PgRow) -> StoreResult<Attempt> {
    let status: String = r.try_get("status")?;
    Ok(Attempt {
        id: r.try_get("id")?,
        payment_id: r.try_get("payment_id")?,
        method: r.try_get("method")?,
        status: rows::attempt_status(&status)?,
        card_brand: r.try_get("card_brand")?,
        card_last4: r.try_get("card_last4")?,
        wallet_last4: r.try_get("wallet_last4")?,
        failure_code: r.try_get("failure_code")?,
        failure_message: r.try_get("failure_message")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn credit_from_row(r: &PgRow) -> StoreResult<Credit> {
    let currency: String = r.try_get("currency")?;
    Ok(Credit {
        id: r.try_get("id")?,
        merchant_id: r.try_get("merchant_id")?,
        livemode: r.try_get("livemode")?,
        utr: r.try_get("utr")?,
        amount: crate::domain::money::Money::from_minor(
            r.try_get("amount_minor")?,
            rows::currency(&currency)?,
        ),
        payer: r.try_get("payer")?,
        received_at: r.try_get("received_at")?,
        payment_id: r.try_get("payment_id")?,
        matched_at: r.try_get("matched_at")?,
        created_at: r.try_get("created_at")?,
        shortfall: match (
            r.try_get::<Option<i64>, _>("shortfall_minor")?,
            r.try_get::<Option<String>, _>("shortfall_accepted_by")?,
            r.try_get::<Option<DateTime<Utc>>, _>("shortfall_accepted_at")?,
        ) {
            (Some(minor), Some(accepted_by), Some(accepted_at)) => Some(AcceptedShortfall {
                amount: crate::domain::money::Money::from_minor(minor, rows::currency(&currency)?),
                accepted_by,
                accepted_at,
            }),
            _ => None,
        },
    })
}

fn user_from_row(r: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: r.try_get("id")?,
        merchant_id: r.try_get("merchant_id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        created_at: r.try_get("created_at")?,
    })
}

fn credential_from_row(r: &PgRow) -> StoreResult<Credential> {
    Ok(Credential {
        merchant_id: r.try_get("merchant_id")?,
        livemode: r.try_get("livemode")?,
        name: r.try_get("name")?,
        public_id: r.try_get("public_id")?,
        sealed: r.try_get("secret")?,
        created_at: r.try_get("created_at")?,
    })
}

fn endpoint_from_row(r: &PgRow) -> StoreResult<Endpoint> {
    let events: String = r.try_get("events")?;
    Ok(Endpoint {
        id: r.try_get("id")?,
        merchant_id: r.try_get("merchant_id")?,
        livemode: r.try_get("livemode")?,
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        events: crate::domain::webhook::events_from_column(&events),
        enabled: r.try_get("enabled")?,
        secret: r.try_get("secret")?,
        previous_secret: r.try_get("previous_secret")?,
        previous_secret_until: r.try_get("previous_secret_until")?,
        failing_since: r.try_get("failing_since")?,
        disabled_reason: r.try_get("disabled_reason")?,
        key_id: r.try_get("key_id")?,
        format: r.try_get("format")?,
        payment_id: r.try_get("payment_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn attempt_log_from_row(r: &PgRow) -> StoreResult<AttemptLog> {
    Ok(AttemptLog {
        id: r.try_get("id")?,
        attempted_at: r.try_get("attempted_at")?,
        status_code: r.try_get("status_code")?,
        latency_ms: r.try_get("latency_ms")?,
        response_body: r.try_get("response_body")?,
        error: r.try_get("error")?,
    })
}

fn merchant_from_row(r: &PgRow) -> StoreResult<Merchant> {
    Ok(Merchant {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        upi_id: r.try_get("upi_id")?,
        upi_name: r.try_get("upi_name")?,
        success_url: r.try_get("success_url")?,
        cancel_url: r.try_get("cancel_url")?,
        checkout_expiry_secs: r.try_get("checkout_expiry_secs")?,
        created_at: r.try_get("created_at")?,
    })
}

async fn insert_event(
    tx: &mut sqlx::PgConnection,
    scope: &Scope,
    e: &NewEvent,
) -> StoreResult<bool> {
    sqlx::query(
        "INSERT INTO events (id, merchant_id, livemode, type, object_id, payload, created_at, key_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(&scope.merchant_id)
    .bind(scope.livemode)
    .bind(&e.event_type)
    .bind(&e.object_id)
    .bind(&e.payload)
    .bind(e.created_at)
    .bind(&e.key_id)
    .execute(&mut *tx)
    .await?;
    fan_out(tx, scope, e).await
}

/// One delivery per enabled endpoint that wants this event, in the event's transaction.
async fn fan_out(tx: &mut sqlx::PgConnection, scope: &Scope, e: &NewEvent) -> StoreResult<bool> {
    let scheduled = sqlx::query(&format!(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, livemode, status, \
         attempts, next_attempt_at, created_at) \
         SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), $1, w.id, w.merchant_id, w.livemode, 'pending', 0, $2, $2 \
         FROM webhook_endpoints w WHERE {}",
        rows::subscribers("$3", "$4", "$5", "$6", "$7")
    ))
    .bind(&e.id)
    .bind(e.created_at)
    .bind(&scope.merchant_id)
    .bind(scope.livemode)
    .bind(&e.event_type)
    .bind(&e.key_id)
    .bind(&e.object_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if scheduled > 0 {
        notify_dispatchers(tx).await?;
    }
    Ok(scheduled > 0)
}

fn scope_of(p: &Payment) -> Scope {
    Scope {
        merchant_id: p.merchant_id.clone(),
        livemode: p.livemode,
    }
}

/// `status IN ('a', 'b')` for a fixed list of known status names (never user text).
fn status_list(from: &[PaymentStatus]) -> String {
    from.iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn create_merchant(&self, m: &Merchant) -> StoreResult<()> {
        sqlx::query("INSERT INTO merchants (id, name, upi_id, upi_name, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&m.id)
            .bind(&m.name)
            .bind(&m.upi_id)
            .bind(&m.upi_name)
            .bind(m.created_at)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get_merchant(&self, id: &str) -> StoreResult<Merchant> {
        let row = sqlx::query(&format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        merchant_from_row(&row)
    }

    async fn list_merchants(&self) -> StoreResult<Vec<Merchant>> {
        let rows = sqlx::query(&format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(merchant_from_row).collect()
    }

    async fn count_merchants(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM merchants")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, merchant_id, email, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&u.id)
        .bind(&u.merchant_id)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.created_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn set_merchant_upi(
        &self,
        id: &str,
        upi_id: Option<&str>,
        upi_name: Option<&str>,
    ) -> StoreResult<Merchant> {
        let sql = format!(
            "UPDATE merchants SET upi_id = $2, upi_name = $3 WHERE id = $1 RETURNING {MERCHANT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(upi_id)
            .bind(upi_name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        merchant_from_row(&row)
    }

    async fn find_payment(&self, id: &str) -> StoreResult<Payment> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        payment_from_row(&row)
    }

    async fn insert_attempt(&self, a: &Attempt, max: i32) -> StoreResult<Option<Attempt>> {
        let mut tx = self.begin().await?;
        let counted = sqlx::query(
            "UPDATE payments SET attempt_count = attempt_count + 1, updated_at = $2 \
             WHERE id = $1 AND status = 'pending' AND attempt_count < $3",
        )
        .bind(&a.payment_id)
        .bind(a.created_at)
        .bind(max)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if counted == 0 {
            return Ok(None);
        }
        sqlx::query(&format!(
            "INSERT INTO payment_attempts ({ATTEMPT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&a.id)
        .bind(&a.payment_id)
        .bind(&a.method)
        .bind(a.status.as_str())
        .bind(&a.card_brand)
        .bind(&a.card_last4)
        .bind(&a.wallet_last4)
        .bind(&a.failure_code)
        .bind(&a.failure_message)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await?;
        Ok(Some(a.clone()))
    }

    async fn finish_attempt(
        &self,
        a: &Attempt,
        from: AttemptStatus,
    ) -> StoreResult<Option<Attempt>> {
        let sql = format!(
            "UPDATE payment_attempts SET status = $2, failure_code = $3, failure_message = $4, \
             updated_at = $5 WHERE id = $1 AND status = $6 RETURNING {ATTEMPT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&a.id)
            .bind(a.status.as_str())
            .bind(&a.failure_code)
            .bind(&a.failure_message)
            .bind(a.updated_at)
            .bind(from.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(attempt_from_row).transpose()
    }

    async fn get_attempt(&self, payment_id: &str, id: &str) -> StoreResult<Attempt> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_attempts WHERE id = $1 AND payment_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(payment_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        attempt_from_row(&row)
    }

    async fn list_attempts(&self, payment_id: &str) -> StoreResult<Vec<Attempt>> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_attempts WHERE payment_id = $1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(payment_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn instance_secret(&self, name: &str, fresh: &str) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<User> {
        let row = sqlx::query(
            "SELECT id, merchant_id, email, password_hash, created_at FROM users \
             WHERE lower(email) = lower($1)",
        )
        .bind(email.trim())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    async fn list_users(&self, merchant_id: &str) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, merchant_id, email, password_hash, created_at FROM users \
             WHERE merchant_id = $1 ORDER BY created_at, id",
        )
        .bind(merchant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn update_merchant_settings(&self, m: &Merchant) -> StoreResult<Merchant> {
        let row = sqlx::query(&format!(
            "UPDATE merchants SET name = $2, success_url = $3, cancel_url = $4, \
             checkout_expiry_secs = $5 WHERE id = $1 RETURNING {MERCHANT_COLUMNS}"
        ))
        .bind(&m.id)
        .bind(&m.name)
        .bind(&m.success_url)
        .bind(&m.cancel_url)
        .bind(m.checkout_expiry_secs)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        merchant_from_row(&row)
    }

    async fn create_session(&self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO dashboard_sessions (token_hash, user_id, merchant_id, csrf, livemode, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.token_hash)
        .bind(&s.user_id)
        .bind(&s.merchant_id)
        .bind(&s.csrf)
        .bind(s.livemode)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        // Sessions that ran out go when new ones come.
        sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at < $1")
            .bind(s.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session> {
        let r = sqlx::query(
            "SELECT token_hash, user_id, merchant_id, csrf, livemode, created_at, expires_at \
             FROM dashboard_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Session {
            token_hash: r.try_get("token_hash")?,
            user_id: r.try_get("user_id")?,
            merchant_id: r.try_get("merchant_id")?,
            csrf: r.try_get("csrf")?,
            livemode: r.try_get("livemode")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    }

    async fn set_session_mode(&self, token_hash: &str, livemode: bool) -> StoreResult<()> {
        sqlx::query("UPDATE dashboard_sessions SET livemode = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(livemode)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn claim_throttle(
        &self,
        subject: &str,
        rule: &ThrottleRule,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        // The update's WHERE leaves a blocked row alone (no row returned); `$7` is the try's
        // number after counting it. The row lock makes racing tries count one after another.
        let sql = "INSERT INTO sign_in_throttle (subject, tries, blocked_until, updated_at) \
             VALUES ($1, 1, CASE WHEN 1 >= $4 THEN $2 + $5 * INTERVAL '1 microsecond' END, $2) \
             ON CONFLICT (subject) DO UPDATE SET \
             tries = $7, \
             blocked_until = CASE WHEN $7 >= $4 THEN $2 + LEAST($6, $5 << LEAST($7 - $4, 20)) \
             * INTERVAL '1 microsecond' END, \
             updated_at = $2 \
             WHERE sign_in_throttle.blocked_until IS NULL OR sign_in_throttle.blocked_until <= $2 \
             RETURNING tries"
            .replace(
                "$7",
                "(CASE WHEN sign_in_throttle.updated_at < $3 THEN 1 \
                 ELSE sign_in_throttle.tries + 1 END)",
            );
        let counted = sqlx::query(&sql)
            .bind(subject)
            .bind(now)
            .bind(now - rule.window)
            .bind(rule.free)
            .bind(ThrottleRule::micros(rule.first_wait))
            .bind(ThrottleRule::micros(rule.max_wait))
            .fetch_optional(&self.pool)
            .await?;
        if counted.is_some() {
            return Ok(None);
        }
        let until: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT blocked_until FROM sign_in_throttle WHERE subject = $1")
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        // Unblocked in between: the caller waits the shortest while.
        Ok(Some(until.unwrap_or(now + chrono::Duration::seconds(1))))
    }

    async fn clear_throttle(&self, subject: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sign_in_throttle WHERE subject = $1")
            .bind(subject)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn refund_throttle(&self, subject: &str, rule: &ThrottleRule) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sign_in_throttle SET tries = tries - 1, \
             blocked_until = CASE WHEN tries - 1 < $2 THEN NULL ELSE blocked_until END \
             WHERE subject = $1 AND tries > 0",
        )
        .bind(subject)
        .bind(rule.free)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purge_throttle(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM sign_in_throttle WHERE updated_at < $1 \
             AND (blocked_until IS NULL OR blocked_until <= $2)",
        )
        .bind(before)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn remember_sign_in(
        &self,
        email: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sign_in_known (email, address, last_sign_in) VALUES ($1, $2, $3) \
             ON CONFLICT (email, address) DO UPDATE SET last_sign_in = $3",
        )
        .bind(email)
        .bind(address)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn signed_in_from(
        &self,
        email: &str,
        address: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM sign_in_known WHERE email = $1 AND address = $2 AND last_sign_in >= $3",
        )
        .bind(email)
        .bind(address)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    async fn purge_sign_ins(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sign_in_known WHERE last_sign_in < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn payment_stats(
        &self,
        scope: &Scope,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DayStat>> {
        let rows = sqlx::query(
            "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, currency, status, CAST(COUNT(*) AS BIGINT) AS n, \
             CAST(SUM(amount_minor) AS BIGINT) AS amount, \
             CAST(SUM(refunded_minor) AS BIGINT) AS refunded FROM payments \
             WHERE merchant_id = $1 AND livemode = $2 AND created_at >= $3 \
             GROUP BY 1, 2, 3",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(DayStat {
                day: r.try_get("day")?,
                currency: r.try_get("currency")?,
                status: r.try_get("status")?,
                count: r.try_get("n")?,
                amount_minor: r.try_get("amount")?,
                refunded_minor: r.try_get("refunded")?,
            });
        }
        // Sorted here: a hash aggregate over many rows beats a sort in the database.
        out.sort_by(|a, b| (&a.day, &a.currency, &a.status).cmp(&(&b.day, &b.currency, &b.status)));
        Ok(out)
    }

    async fn list_refunds(&self, scope: &Scope, payment_id: &str) -> StoreResult<Vec<Refund>> {
        let rows = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 AND merchant_id = $2 \
             AND livemode = $3 ORDER BY created_at, id"
        ))
        .bind(payment_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    async fn recent_deliveries(
        &self,
        scope: &Scope,
        status: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT id, event_id, endpoint_id, status, attempts, next_attempt_at, last_status, \
             created_at, completed_at FROM webhook_deliveries WHERE merchant_id = $1 \
             AND livemode = $2 AND ($3 IS NULL OR status = $3) \
             ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(status)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(Delivery {
                id: r.try_get("id")?,
                event_id: r.try_get("event_id")?,
                endpoint_id: r.try_get("endpoint_id")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                last_status: r.try_get("last_status")?,
                created_at: r.try_get("created_at")?,
                completed_at: r.try_get("completed_at")?,
                log: Vec::new(),
            });
        }
        Ok(out)
    }

    async fn put_credential(&self, c: &Credential) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO dialect_credentials (merchant_id, livemode, name, public_id, secret, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, livemode, name) \
             DO UPDATE SET public_id = excluded.public_id, secret = excluded.secret, \
             created_at = excluded.created_at",
        )
        .bind(&c.merchant_id)
        .bind(c.livemode)
        .bind(&c.name)
        .bind(&c.public_id)
        .bind(&c.sealed)
        .bind(c.created_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn get_credential(&self, scope: &Scope, name: &str) -> StoreResult<Credential> {
        let row = sqlx::query(
            "SELECT merchant_id, livemode, name, public_id, secret, created_at \
             FROM dialect_credentials WHERE merchant_id = $1 AND livemode = $2 AND name = $3",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        credential_from_row(&row)
    }

    async fn find_credential(&self, name: &str, public_id: &str) -> StoreResult<Credential> {
        let row = sqlx::query(
            "SELECT merchant_id, livemode, name, public_id, secret, created_at \
             FROM dialect_credentials WHERE name = $1 AND public_id = $2",
        )
        .bind(name)
        .bind(public_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        credential_from_row(&row)
    }

    async fn list_credentials(&self, scope: &Scope) -> StoreResult<Vec<Credential>> {
        let rows = sqlx::query(
            "SELECT merchant_id, livemode, name, public_id, secret, created_at \
             FROM dialect_credentials WHERE merchant_id = $1 AND livemode = $2 ORDER BY name",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(credential_from_row).collect()
    }

    async fn create_key(&self, k: &ApiKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, merchant_id, livemode, label, prefix, secret_hash, \
             permissions, webhook_url, request_count, created_at, revoked_at, rate_limit) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&k.id)
        .bind(&k.merchant_id)
        .bind(k.mode.is_live())
        .bind(&k.label)
        .bind(&k.prefix)
        .bind(&k.secret_hash)
        .bind(crate::domain::key::format_permissions(&k.permissions))
        .bind(&k.webhook_url)
        .bind(k.request_count)
        .bind(k.created_at)
        .bind(k.revoked_at)
        .bind(k.rate_limit.and_then(|n| i32::try_from(n).ok()))
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn find_key_by_hash(&self, hash: &[u8]) -> StoreResult<ApiKey> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1");
        let row = sqlx::query(&sql)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    async fn list_keys(&self, merchant_id: Option<&str>) -> StoreResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE ($1 IS NULL OR merchant_id = $1) \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(merchant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> StoreResult<ApiKey> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
             RETURNING {KEY_COLUMNS}"
        );
        let mut tx = self.begin().await?;
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        notify_key_change(&mut tx, id).await?;
        tx.commit().await?;
        key_from_row(&row)
    }

    async fn update_key(&self, k: &ApiKey) -> StoreResult<ApiKey> {
        let sql = format!(
            "UPDATE api_keys SET label = $2, permissions = $3, webhook_url = $4 WHERE id = $1 \
             RETURNING {KEY_COLUMNS}"
        );
        let mut tx = self.begin().await?;
        let row = sqlx::query(&sql)
            .bind(&k.id)
            .bind(&k.label)
            .bind(crate::domain::key::format_permissions(&k.permissions))
            .bind(&k.webhook_url)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        notify_key_change(&mut tx, &k.id).await?;
        tx.commit().await?;
        key_from_row(&row)
    }

    async fn watch_keys(&self) -> StoreResult<tokio::sync::broadcast::Receiver<KeyChange>> {
        let changes = self.key_changes.clone();
        self.listening_keys
            .get_or_try_init(|| async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                listener.listen("hundi_keys").await?;
                let changes = changes.clone();
                tokio::spawn(async move {
                    loop {
                        // `None`: the connection dropped (the next call reconnects), and
                        // notifications sent meanwhile are lost; so is anything after an error.
                        let change = match listener.try_recv().await {
                            Ok(Some(n)) => KeyChange::Key(n.payload().to_string()),
                            Ok(None) => KeyChange::Unknown,
                            Err(_) => {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                KeyChange::Unknown
                            }
                        };
                        let _ = changes.send(change);
                    }
                });
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(changes.subscribe())
    }

    async fn add_key_requests(&self, counts: &[(String, i64)]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for (id, n) in counts {
            sqlx::query("UPDATE api_keys SET request_count = request_count + $2 WHERE id = $1")
                .bind(id)
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn key_revenue(&self, merchant_id: Option<&str>) -> StoreResult<Vec<KeyRevenue>> {
        let rows = sqlx::query(
            "SELECT key_id, currency, CAST(SUM(amount_minor - refunded_minor) AS BIGINT) AS minor FROM payments \
             WHERE key_id IS NOT NULL AND ($1 IS NULL OR merchant_id = $1) \
             AND status IN ('succeeded', 'partially_refunded', 'refunded') \
             GROUP BY key_id, currency ORDER BY key_id, currency",
        )
        .bind(merchant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRevenue {
                    key_id: r.try_get("key_id")?,
                    currency: r.try_get("currency")?,
                    minor: r.try_get("minor")?,
                })
            })
            .collect()
    }

    async fn set_key_rate_limit(&self, id: &str, rate_limit: Option<u32>) -> StoreResult<ApiKey> {
        let sql =
            format!("UPDATE api_keys SET rate_limit = $2 WHERE id = $1 RETURNING {KEY_COLUMNS}");
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(rate_limit.and_then(|n| i32::try_from(n).ok()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        // Every node forgets its cached copy, so the new limit applies at once everywhere.
        notify_key_change(&mut tx, id).await?;
        tx.commit().await?;
        key_from_row(&row)
    }

    async fn take_rate_tokens(
        &self,
        name: &str,
        per_second: u32,
        burst: u32,
        want: u32,
    ) -> StoreResult<TokenGrant> {
        // $2 rate, $3 burst, $4 want. The database's clock (one `now()` for the whole
        // statement), so nodes whose clocks differ still agree. The upsert locks the row:
        // concurrent takes queue and each sees the previous one's result; a take whose
        // transaction began before the last one counts no refill. A new bucket starts full.
        let refilled = "LEAST($3::float8, b.tokens + $2::float8 * GREATEST(0, \
             EXTRACT(EPOCH FROM now() - b.updated_at)::float8))";
        let sql = format!(
            "INSERT INTO rate_limit_buckets AS b (name, tokens, granted, updated_at) \
             VALUES ($1, $3 - LEAST($4, $3), LEAST($4, $3), now()) \
             ON CONFLICT (name) DO UPDATE SET \
             granted = LEAST($4, FLOOR({refilled}))::int, \
             tokens = {refilled} - LEAST($4, FLOOR({refilled})), \
             updated_at = GREATEST(b.updated_at, now()) \
             RETURNING tokens, granted"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(f64::from(per_second))
            .bind(i32::try_from(burst).unwrap_or(i32::MAX))
            .bind(i32::try_from(want).unwrap_or(i32::MAX))
            .fetch_one(&self.pool)
            .await?;
        let granted: i32 = row.try_get("granted")?;
        token_grant(i64::from(granted), row.try_get("tokens")?)
    }

    async fn prune_rate_buckets(&self, idle: Duration) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM rate_limit_buckets WHERE updated_at < clock_timestamp() - $1::float8 * interval '1 second'",
        )
        .bind(idle.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_payment(&self, p: &Payment, e: &NewEvent) -> StoreResult<()> {
        // One statement, so one round trip and one implicit transaction.
        if insert_payment_on(&self.pool, p, e).await? {
            self.signal_deliveries();
        }
        Ok(())
    }

    async fn get_payment(&self, scope: &Scope, id: &str) -> StoreResult<Payment> {
        payment_from_row(
            &self
                .scoped_row("payments", PAYMENT_COLUMNS, scope, id)
                .await?,
        )
    }

    async fn list_payments(&self, scope: &Scope, f: &PaymentFilter) -> StoreResult<Vec<Payment>> {
        let cursor = match &f.starting_after {
            Some(id) => Some(self.get_payment(scope, id).await?),
            None => None,
        };
        let (sql, args) = rows::payment_list_query(
            scope,
            f,
            cursor.as_ref().map(|c| (c.created_at, c.id.as_str())),
        );
        // A search is planned with its values each time (an unnamed statement): a cached
        // generic plan cannot use the name-prefix index for `LIKE $n`, and PostgreSQL switches
        // to one after five runs.
        let mut query = sqlx::query(&sql).persistent(f.search.is_none());
        for arg in args {
            query = match arg {
                rows::Arg::Text(t) => query.bind(t),
                rows::Arg::Bool(b) => query.bind(b),
                rows::Arg::Int(i) => query.bind(i),
                rows::Arg::Time(t) => query.bind(t),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn transition_payment(
        &self,
        scope: &Scope,
        id: &str,
        change: Transition<'_>,
        event: EventBuilder<'_>,
    ) -> StoreResult<Option<Payment>> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE payments SET status = $1, updated_at = $2, paid_with = COALESCE($7, paid_with), \
             method_reference = COALESCE($8, method_reference) WHERE id = $3 AND merchant_id = $4 \
             AND livemode = $5 AND status IN ({}) AND ($6 IS NULL OR expires_at > $6) \
             RETURNING {PAYMENT_COLUMNS}",
            status_list(change.from)
        );
        let row = sqlx::query(&sql)
            .bind(change.to.as_str())
            .bind(change.at)
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(change.unexpired_at)
            .bind(change.paid_with)
            .bind(change.method_reference)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let payment = payment_from_row(&row)?;
        wake |= insert_event(&mut tx, scope, &event(&payment)).await?;
        tx.commit().await?;
        if wake {
            self.signal_deliveries();
        }
        Ok(Some(payment))
    }

    async fn expire_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        event: EventBuilder<'_>,
    ) -> StoreResult<Vec<Payment>> {
        let mut wake = false;
        // SKIP LOCKED: a row another node is expiring right now is left to that node.
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE payments SET status = 'expired', updated_at = $1 WHERE id IN \
             (SELECT id FROM payments WHERE status = 'pending' AND expires_at <= $1 \
              ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             AND status = 'pending' RETURNING {PAYMENT_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut expired = Vec::with_capacity(rows.len());
        for row in &rows {
            let p = payment_from_row(row)?;
            wake |= insert_event(&mut tx, &scope_of(&p), &event(&p)).await?;
            expired.push(p);
        }
        tx.commit().await?;
        if wake {
            self.signal_deliveries();
        }
        Ok(expired)
    }

    async fn count_payments_by_status(&self) -> StoreResult<Vec<(String, bool, i64)>> {
        let rows = sqlx::query(
            "SELECT status, livemode, COUNT(*) AS n FROM payments GROUP BY status, livemode",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("status")?,
                    r.try_get("livemode")?,
                    r.try_get("n")?,
                ))
            })
            .collect()
    }

    async fn pending_payables(
        &self,
        upi_id: &str,
        livemode: bool,
        lowest: i64,
        highest: i64,
    ) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT payable_minor FROM payments WHERE upi_id = $1 AND livemode = $4 \
             AND status = 'pending' AND payable_minor BETWEEN $2 AND $3 \
             ORDER BY payable_minor DESC",
        )
        .bind(upi_id)
        .bind(lowest)
        .bind(highest)
        .bind(livemode)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_credit(
        &self,
        scope: &Scope,
        c: &Credit,
        now: DateTime<Utc>,
        event: EventBuilder<'_>,
    ) -> StoreResult<(Credit, Option<Payment>)> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO credits ({CREDIT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&c.id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(&c.utr)
        .bind(c.amount.currency().code())
        .bind(c.amount.minor())
        .bind(&c.payer)
        .bind(c.received_at)
        .bind(&c.payment_id)
        .bind(c.matched_at)
        .bind(c.created_at)
        .bind(c.shortfall.as_ref().map(|s| s.amount.minor()))
        .bind(c.shortfall.as_ref().map(|s| s.accepted_by.clone()))
        .bind(c.shortfall.as_ref().map(|s| s.accepted_at))
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        // The one pending UPI payment asking for exactly this amount, if any.
        let sql = format!(
            "UPDATE payments SET status = 'succeeded', updated_at = $1, paid_with = 'upi', \
             method_reference = $2 WHERE id = (SELECT id FROM payments WHERE merchant_id = $3 \
             AND livemode = $4 AND status = 'pending' AND upi_id IS NOT NULL \
             AND payable_minor = $5 AND currency = $6 AND expires_at > $1 \
             ORDER BY created_at LIMIT 1) AND status = 'pending' RETURNING {PAYMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(&c.utr)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(c.amount.minor())
            .bind(c.amount.currency().code())
            .fetch_optional(&mut *tx)
            .await?;
        let mut credit = c.clone();
        let payment = match row {
            None => None,
            Some(row) => {
                let payment = payment_from_row(&row)?;
                sqlx::query("UPDATE credits SET payment_id = $2, matched_at = $3 WHERE id = $1")
                    .bind(&c.id)
                    .bind(&payment.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                wake |= insert_event(&mut tx, scope, &event(&payment)).await?;
                credit.payment_id = Some(payment.id.clone());
                credit.matched_at = Some(now);
                Some(payment)
            }
        };
        tx.commit().await?;
        if wake {
            self.signal_deliveries();
        }
        Ok((credit, payment))
    }

    async fn match_credit(
        &self,
        scope: &Scope,
        credit_id: &str,
        payment_id: &str,
        shortfall: Option<&AcceptedShortfall>,
        now: DateTime<Utc>,
        event: EventBuilder<'_>,
    ) -> StoreResult<Option<(Credit, Payment)>> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        let sf = shortfall;
        let sql = format!(
            "UPDATE credits SET payment_id = $4, matched_at = $5, shortfall_minor = $6, \
             shortfall_accepted_by = $7, shortfall_accepted_at = $8 WHERE id = $1 \
             AND merchant_id = $2 AND livemode = $3 AND payment_id IS NULL \
             RETURNING {CREDIT_COLUMNS}"
        );
        let Some(credit_row) = sqlx::query(&sql)
            .bind(credit_id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(payment_id)
            .bind(now)
            .bind(sf.map(|s| s.amount.minor()))
            .bind(sf.map(|s| s.accepted_by.clone()))
            .bind(sf.map(|s| s.accepted_at))
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let credit = credit_from_row(&credit_row)?;
        let sql = format!(
            "UPDATE payments SET status = 'succeeded', updated_at = $1, paid_with = 'upi', \
             method_reference = $2 WHERE id = $3 AND merchant_id = $4 AND livemode = $5 \
             AND status = 'pending' RETURNING {PAYMENT_COLUMNS}"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(now)
            .bind(&credit.utr)
            .bind(payment_id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let payment = payment_from_row(&row)?;
        wake |= insert_event(&mut tx, scope, &event(&payment)).await?;
        tx.commit().await?;
        if wake {
            self.signal_deliveries();
        }
        Ok(Some((credit, payment)))
    }

    async fn get_credit(&self, scope: &Scope, id: &str) -> StoreResult<Credit> {
        credit_from_row(
            &self
                .scoped_row("credits", CREDIT_COLUMNS, scope, id)
                .await?,
        )
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
             ORDER BY created_at DESC, id DESC LIMIT $6"
        );
        let rows = sqlx::query(&sql)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(f.matched)
            .bind(cursor.as_ref().map(|c| c.created_at))
            .bind(cursor.as_ref().map(|c| c.id.clone()))
            .bind(i64::from(f.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(credit_from_row).collect()
    }

    async fn watch_deliveries(&self) -> StoreResult<Arc<tokio::sync::Notify>> {
        self.listening
            .get_or_try_init(|| async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                listener.listen("hundi_deliveries").await?;
                let signal = self.deliveries.clone();
                tokio::spawn(async move {
                    // recv reconnects by itself after a dropped connection; any error is
                    // followed by a wake, since notifications may have been missed.
                    loop {
                        let _ = listener.recv().await;
                        signal.notify_one();
                    }
                });
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(self.deliveries.clone())
    }

    async fn create_endpoint(&self, e: &Endpoint) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&e.id)
        .bind(&e.merchant_id)
        .bind(e.livemode)
        .bind(&e.url)
        .bind(&e.description)
        .bind(events_column(&e.events))
        .bind(e.enabled)
        .bind(self.sealer.seal(&e.id, &e.secret))
        .bind(self.sealer.seal_opt(&e.id, e.previous_secret.as_deref()))
        .bind(e.previous_secret_until)
        .bind(e.failing_since)
        .bind(&e.disabled_reason)
        .bind(&e.key_id)
        .bind(e.created_at)
        .bind(e.updated_at)
        .bind(&e.format)
        .bind(&e.payment_id)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn get_endpoint(&self, scope: &Scope, id: &str) -> StoreResult<Endpoint> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 \
             AND livemode = $3 AND deleted_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.sealer.open_endpoint(endpoint_from_row(&row)?)
    }

    async fn list_endpoints(&self, scope: &Scope, page: &Page) -> StoreResult<Vec<Endpoint>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 \
             AND livemode = $2 AND deleted_at IS NULL AND payment_id IS NULL \
             AND ($3 IS NULL OR (created_at, id) > (SELECT created_at, id FROM webhook_endpoints \
             WHERE id = $3 AND merchant_id = $1)) ORDER BY created_at, id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(&page.starting_after)
            .bind(i64::from(page.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| endpoint_from_row(r).map(|e| self.sealer.open_listed(e)))
            .collect()
    }

    async fn update_endpoint(&self, e: &Endpoint) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET url = $2, description = $3, events = $4, enabled = $5, \
             secret = $6, previous_secret = $7, previous_secret_until = $8, failing_since = $9, \
             disabled_reason = $10, updated_at = $11 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(&e.id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(events_column(&e.events))
        .bind(e.enabled)
        .bind(self.sealer.seal(&e.id, &e.secret))
        .bind(self.sealer.seal_opt(&e.id, e.previous_secret.as_deref()))
        .bind(e.previous_secret_until)
        .bind(e.failing_since)
        .bind(&e.disabled_reason)
        .bind(e.updated_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_endpoint(&self, scope: &Scope, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        // Kept (disabled) so that its delivery log stays readable.
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET deleted_at = $4, enabled = $5, updated_at = $4 \
             WHERE id = $1 AND merchant_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(at)
        .bind(false)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn seal_endpoint_secrets(&self, secrets: &crate::secrets::SecretBox) -> StoreResult<u64> {
        self.sealer.set(secrets);
        let rows = sqlx::query(
            "SELECT id, secret, previous_secret FROM webhook_endpoints \
             WHERE secret NOT LIKE 'v1:%' OR previous_secret NOT LIKE 'v1:%'",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut sealed = 0;
        for r in &rows {
            let id: String = r.try_get("id")?;
            let secret: String = r.try_get("secret")?;
            let previous: Option<String> = r.try_get("previous_secret")?;
            sealed += sqlx::query(
                "UPDATE webhook_endpoints SET secret = $2, previous_secret = $3 \
                 WHERE id = $1 AND secret = $4 AND previous_secret IS NOT DISTINCT FROM $5",
            )
            .bind(&id)
            .bind(self.sealer.seal(&id, &secret))
            .bind(self.sealer.seal_opt(&id, previous.as_deref()))
            .bind(&secret)
            .bind(&previous)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(sealed)
    }
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "WITH due AS (SELECT id FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE webhook_deliveries d SET lease_until = $2 FROM due WHERE d.id = due.id \
             RETURNING d.id",
        )
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One read for the whole batch.
        let rows = sqlx::query(
            "SELECT d.id, d.event_id, d.endpoint_id, w.format, e.type, \
             e.object_id, d.attempts, w.url, w.secret, \
             CASE WHEN w.previous_secret_until > $2 THEN w.previous_secret END AS previous_secret, \
             e.payload FROM webhook_deliveries d \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             JOIN events e ON e.id = d.event_id WHERE d.id = ANY($1)",
        )
        .bind(&ids)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in &rows {
            jobs.push(DeliveryJob {
                delivery_id: r.try_get("id")?,
                event_id: r.try_get("event_id")?,
                endpoint_id: r.try_get("endpoint_id")?,
                format: r.try_get("format")?,
                event_type: r.try_get("type")?,
                object_id: r.try_get("object_id")?,
                attempts: r.try_get("attempts")?,
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
                previous_secret: r.try_get("previous_secret")?,
                payload: r.try_get("payload")?,
            });
        }
        jobs.iter_mut().for_each(|job| self.sealer.open_job(job));
        Ok(jobs)
    }

    async fn finish_deliveries(&self, done: &[FinishedDelivery]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for FinishedDelivery { job, log, outcome } in done {
            let outcome = *outcome;
            sqlx::query(
            "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, \
             response_body, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&log.id)
        .bind(&job.delivery_id)
        .bind(log.attempted_at)
        .bind(log.status_code)
        .bind(log.latency_ms)
        .bind(&log.response_body)
        .bind(&log.error)
        .execute(&mut *tx)
        .await?;
            let (status, next, completed) = match outcome {
                DeliveryOutcome::Succeeded => {
                    ("succeeded", log.attempted_at, Some(log.attempted_at))
                }
                DeliveryOutcome::Retry { at } => ("pending", at, None),
                DeliveryOutcome::Failed => ("failed", log.attempted_at, Some(log.attempted_at)),
                DeliveryOutcome::Declined => ("declined", log.attempted_at, Some(log.attempted_at)),
                DeliveryOutcome::Skipped => ("skipped", log.attempted_at, Some(log.attempted_at)),
            };
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
             next_attempt_at = $3, lease_until = NULL, last_status = $4, completed_at = $5 \
             WHERE id = $1",
            )
            .bind(&job.delivery_id)
            .bind(status)
            .bind(next)
            .bind(log.status_code)
            .bind(completed)
            .execute(&mut *tx)
            .await?;
            if outcome == DeliveryOutcome::Skipped {
                continue;
            }
            // The receiver answered (even with a final refusal): the endpoint works.
            let answered = matches!(
                outcome,
                DeliveryOutcome::Succeeded | DeliveryOutcome::Declined
            );
            let failing = if answered {
                "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL"
            } else {
                "UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL"
            };
            sqlx::query(failing)
                .bind(&job.endpoint_id)
                .bind(log.attempted_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn disable_failing_endpoints(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        event: EndpointEventBuilder<'_>,
    ) -> StoreResult<Vec<Endpoint>> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE webhook_endpoints SET enabled = $3, disabled_reason = 'failing', updated_at = $2 \
             WHERE enabled AND deleted_at IS NULL AND failing_since < $1 RETURNING {ENDPOINT_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(before)
            .bind(now)
            .bind(false)
            .fetch_all(&mut *tx)
            .await?;
        let mut disabled = Vec::with_capacity(rows.len());
        for row in &rows {
            let e = self.sealer.open_listed(endpoint_from_row(row)?);
            let scope = Scope {
                merchant_id: e.merchant_id.clone(),
                livemode: e.livemode,
            };
            wake |= insert_event(&mut tx, &scope, &event(&e)).await?;
            disabled.push(e);
        }
        tx.commit().await?;
        if wake {
            self.signal_deliveries();
        }
        Ok(disabled)
    }

    async fn list_deliveries(
        &self,
        scope: &Scope,
        event_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT id, event_id, endpoint_id, status, attempts, next_attempt_at, last_status, \
             created_at, completed_at FROM webhook_deliveries WHERE event_id = $1 \
             AND merchant_id = $2 AND livemode = $3 \
             AND ($4 IS NULL OR (created_at, id) > (SELECT created_at, id FROM webhook_deliveries \
             WHERE id = $4 AND event_id = $1)) ORDER BY created_at, id LIMIT $5",
        )
        .bind(event_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(&page.starting_after)
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let logs = sqlx::query(
                "SELECT id, attempted_at, status_code, latency_ms, response_body, error \
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempted_at, id",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
            out.push(Delivery {
                id,
                event_id: r.try_get("event_id")?,
                endpoint_id: r.try_get("endpoint_id")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                last_status: r.try_get("last_status")?,
                created_at: r.try_get("created_at")?,
                completed_at: r.try_get("completed_at")?,
                log: logs
                    .iter()
                    .map(attempt_log_from_row)
                    .collect::<StoreResult<_>>()?,
            });
        }
        Ok(out)
    }

    async fn redeliver(
        &self,
        scope: &Scope,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let found: Option<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT type, key_id, object_id FROM events WHERE id = $1 AND merchant_id = $2 AND livemode = $3",
        )
        .bind(event_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((event_type, key_id, object_id)) = found else {
            return Err(StoreError::NotFound);
        };
        let again = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, \
             lease_until = NULL, completed_at = NULL WHERE event_id = $1 AND endpoint_id IN \
             (SELECT id FROM webhook_endpoints WHERE enabled AND deleted_at IS NULL)",
        )
        .bind(event_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let added = sqlx::query(&format!(
            "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, livemode, \
             status, attempts, next_attempt_at, created_at) \
             SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), $1, w.id, w.merchant_id, w.livemode, 'pending', 0, $2, $2 \
             FROM webhook_endpoints w WHERE {} AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = $1 \
             AND d.endpoint_id = w.id)",
            rows::subscribers("$3", "$4", "$5", "$6", "$7")
        ))
        .bind(event_id)
        .bind(now)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(&event_type)
        .bind(&key_id)
        .bind(&object_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        self.signal_deliveries();
        Ok(again + added)
    }

    async fn create_refund(
        &self,
        scope: &Scope,
        refund: &Refund,
        event: RefundEventBuilder<'_>,
    ) -> Result<(Payment, Refund), RefundRefusal> {
        self.write_refund(scope, refund, event, None).await
    }

    async fn create_refund_completing(
        &self,
        scope: &Scope,
        refund: &Refund,
        event: RefundEventBuilder<'_>,
        key: &KeyCompletion,
    ) -> Result<(Payment, Refund), RefundRefusal> {
        self.write_refund(scope, refund, event, Some(key)).await
    }

    async fn get_refund(&self, scope: &Scope, id: &str) -> StoreResult<Refund> {
        refund_from_row(
            &self
                .scoped_row("refunds", REFUND_COLUMNS, scope, id)
                .await?,
        )
    }
    async fn get_event(&self, scope: &Scope, id: &str) -> StoreResult<Event> {
        event_from_row(&self.scoped_row("events", EVENT_COLUMNS, scope, id).await?)
    }

    async fn list_events(&self, scope: &Scope, f: &EventFilter) -> StoreResult<Vec<Event>> {
        let cursor = match &f.starting_after {
            Some(id) => Some(self.get_event(scope, id).await?),
            None => None,
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND livemode = $2 \
             AND ($3 IS NULL OR type = $3) AND ($4 IS NULL OR object_id = $4) \
             AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6)) \
             ORDER BY created_at DESC, id DESC LIMIT $7"
        );
        let rows = sqlx::query(&sql)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(&f.event_type)
            .bind(&f.object_id)
            .bind(cursor.as_ref().map(|c| c.created_at))
            .bind(cursor.as_ref().map(|c| c.id.clone()))
            .bind(i64::from(f.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn claim_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        request_hash: &[u8],
        token: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> StoreResult<IdempotencyClaim> {
        // A key past its lifetime counts as new, whether the purge got to it or not.
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 AND key = $3 \
             AND created_at < $4",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(expired_before)
        .execute(&self.pool)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (merchant_id, livemode, key, request_hash, created_at, \
             claim_token) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(request_hash)
        .bind(now)
        .bind(token)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        let row = sqlx::query(
            "SELECT request_hash, response_status, response_body, created_at, claim_token \
             FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 AND key = $3",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let status: Option<i32> = row.try_get("response_status")?;
        let body: Option<Vec<u8>> = row.try_get("response_body")?;
        Ok(IdempotencyClaim::Existing {
            request_hash: row.try_get("request_hash")?,
            response: match (status, body) {
                (Some(status), Some(body)) => Some(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                }),
                _ => None,
            },
            created_at: row.try_get("created_at")?,
            token: row.try_get("claim_token")?,
        })
    }

    async fn complete_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        token: &str,
        response: &StoredResponse,
    ) -> StoreResult<bool> {
        let kept = sqlx::query(COMPLETE_KEY)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(key)
            .bind(i32::from(response.status))
            .bind(&response.body)
            .bind(token)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(kept == 1)
    }

    async fn release_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        token: &str,
    ) -> StoreResult<bool> {
        let released = sqlx::query(
            "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND livemode = $2 AND key = $3 \
             AND claim_token = $4 AND response_status IS NULL",
        )
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(token)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(released == 1)
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM idempotency_keys WHERE ctid IN \
             (SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn insert_payment_completing(
        &self,
        p: &Payment,
        e: &NewEvent,
        key: &KeyCompletion,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        complete_key_in(&mut tx, &scope_of(p), key).await?;
        let wake = insert_payment_on(&mut *tx, p, e).await?;
        tx.commit().await?;
        if wake {
            self.signal_deliveries();
        }
        Ok(())
    }
}

impl PgStore {
    /// A refund, its payment's update and its event in one transaction, with the response of
    /// an idempotency key when one is given.
    async fn write_refund(
        &self,
        scope: &Scope,
        refund: &Refund,
        event: RefundEventBuilder<'_>,
        key: Option<&KeyCompletion>,
    ) -> Result<(Payment, Refund), RefundRefusal> {
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
             RETURNING {PAYMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(refund.amount.minor())
            .bind(refund.created_at)
            .bind(&refund.payment_id)
            .bind(&scope.merchant_id)
            .bind(scope.livemode)
            .bind(refund.amount.currency().code())
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
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
        sqlx::query(&format!(
            "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&refund.id)
        .bind(&refund.payment_id)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(refund.amount.currency().code())
        .bind(refund.amount.minor())
        .bind(&refund.reason)
        .bind(&refund.status)
        .bind(refund.created_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        wake |= insert_event(&mut tx, scope, &event(&payment, refund)).await?;
        tx.commit().await.map_err(StoreError::from)?;
        if wake {
            self.signal_deliveries();
        }
        Ok((payment, refund.clone()))
    }
}

/// Inserts a payment, its event and the event's deliveries in one statement; `true` when a
/// delivery was scheduled.
async fn insert_payment_on<'c, E: sqlx::Executor<'c, Database = sqlx::Postgres>>(
    exec: E,
    p: &Payment,
    e: &NewEvent,
) -> StoreResult<bool> {
    // One statement, so one round trip and one implicit transaction for the payment, its
    // event and the event's webhook deliveries (NOTIFY fires on commit).
    let subscribers = rows::subscribers("$2", "$3", "$30", "$4", "$1");
    let scheduled = sqlx::query(&format!(
        "WITH payment AS (INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
         $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
         $23, $24, $25, $26, $27, $28)) \
         , event AS (INSERT INTO events (id, merchant_id, livemode, type, object_id, payload, \
         created_at, key_id) VALUES ($29, $2, $3, $30, $1, $31, $32, $4)) \
         , delivery AS (INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, \
         livemode, status, attempts, next_attempt_at, created_at) \
         SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), $29, w.id, w.merchant_id, \
         w.livemode, 'pending', 0, $32, $32 FROM webhook_endpoints w WHERE {subscribers} RETURNING 1) \
         SELECT pg_notify('hundi_deliveries', '') FROM delivery LIMIT 1"
    ))
    .bind(&p.id)
    .bind(&p.merchant_id)
    .bind(p.livemode)
    .bind(&p.key_id)
    .bind(&p.source)
    .bind(p.status.as_str())
    .bind(p.currency().code())
    .bind(p.amount.minor())
    .bind(p.refunded_minor)
    .bind(&p.description)
    .bind(&p.reference)
    .bind(&p.customer.name)
    .bind(&p.customer.email)
    .bind(&p.customer.phone)
    .bind(rows::metadata_json(p))
    .bind(&p.success_url)
    .bind(&p.cancel_url)
    .bind(rows::methods_json(p))
    .bind(p.created_at)
    .bind(p.expires_at)
    .bind(p.updated_at)
    .bind(p.upi.as_ref().map(|u| u.upi_id.clone()))
    .bind(p.upi.as_ref().map(|u| u.upi_name.clone()))
    .bind(p.upi.as_ref().map(|u| u.payable_minor))
    .bind(&p.paid_with)
    .bind(&p.method_reference)
    .bind(p.attempt_count)
    .bind(&p.dialect_data)
    .bind(&e.id)
    .bind(&e.event_type)
    .bind(&e.payload)
    .bind(e.created_at)
    .fetch_optional(exec)
    .await
    .map_err(classify)?;
    Ok(scheduled.is_some())
}

/// Keeps the response of a claim that is still unfinished and held with the token.
const COMPLETE_KEY: &str = "UPDATE idempotency_keys SET response_status = $4, response_body = $5 \
     WHERE merchant_id = $1 AND livemode = $2 AND key = $3 AND claim_token = $6 \
     AND response_status IS NULL";

/// Keeps a key's response inside the caller's transaction; `KeyClaimLost` (and the caller
/// rolls back) when the claim is no longer held with the key's token. The row stays locked
/// until the commit, so a concurrent release waits and then finds it finished.
async fn complete_key_in(
    tx: &mut sqlx::PgConnection,
    scope: &Scope,
    key: &KeyCompletion,
) -> StoreResult<()> {
    let kept = sqlx::query(COMPLETE_KEY)
        .bind(&scope.merchant_id)
        .bind(scope.livemode)
        .bind(&key.key)
        .bind(i32::from(key.response.status))
        .bind(&key.response.body)
        .bind(&key.token)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if kept == 1 {
        Ok(())
    } else {
        Err(StoreError::KeyClaimLost)
    }
}

/// Wakes the dispatchers of every node when this transaction commits.
async fn notify_dispatchers(tx: &mut sqlx::PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify('hundi_deliveries', '')")
        .execute(tx)
        .await?;
    Ok(())
}

/// Tells every node, when this transaction commits, to forget its cached copy of a key.
async fn notify_key_change(tx: &mut sqlx::PgConnection, key_id: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify('hundi_keys', $1)")
        .bind(key_id)
        .execute(tx)
        .await?;
    Ok(())
}
