//! The PostgreSQL store: for production and for many `hundi serve` nodes on one database.
//!
//! Every transition is a conditional `UPDATE … WHERE status IN (…)`: under READ COMMITTED,
//! PostgreSQL re-checks the condition after waiting for a concurrent writer, so exactly one
//! of N racing transitions matches. Workers claim rows with `FOR UPDATE SKIP LOCKED`.

mod group;

use super::accounts::USER_COLUMNS;
use super::rows::{
    self, ts, ATTEMPT_COLUMNS, CREDIT_COLUMNS, ENDPOINT_COLUMNS, EVENT_COLUMNS, KEY_COLUMNS,
    MERCHANT_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS,
};
use super::*;
use crate::domain::attempt::{Attempt, AttemptStatus};
use crate::domain::audit::AuditEntry;
use crate::domain::credential::Credential;
use crate::domain::credit::{AcceptedShortfall, Credit};
use crate::domain::payment::Payment;
use crate::domain::role::Role;
use crate::domain::session::{DayStat, Session, Stage};
use crate::domain::webhook::{events_column, Endpoint};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use std::str::FromStr;
use std::time::Duration;

type Backend = PgStore;
type Db = sqlx::Postgres;
type DbRow = PgRow;
type Conn = sqlx::PgConnection;

/// A new delivery's id, made by the database.
const NEW_ID: &str = "'whd_' || replace(gen_random_uuid()::text, '-', '')";
/// The physical row id, to delete a few rows of a table at a time.
const ROW_ID: &str = "ctid";
/// The UTC day (`YYYY-MM-DD`) of a timestamp column.
fn day_of(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
}
/// The start of the UTC hour of a timestamp column (whatever the session's time zone).
fn hour_of(column: &str) -> String {
    format!("date_bin('1 hour', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')")
}
/// Equal to one of the values bound as `param` (an array).
fn in_list(param: &str) -> String {
    format!("= ANY({param})")
}
/// The hours bound as `param` as a table `h(hour)`.
fn hours_from(param: &str) -> String {
    format!("unnest({param}::timestamptz[]) AS h(hour)")
}
/// Hours bound as one value: an array.
fn hour_list(hours: &[DateTime<Utc>]) -> Vec<DateTime<Utc>> {
    hours.to_vec()
}
/// Asks for a statement's plan instead of running it.
#[cfg(test)]
const EXPLAIN: &str = "EXPLAIN";
/// A row another node is working on right now is left to that node.
const SKIP_LOCKED: &str = "FOR UPDATE SKIP LOCKED";
/// Turns a number of microseconds into an interval.
const MICROS: &str = " * INTERVAL '1 microsecond'";
const LEAST: &str = "LEAST";
/// Leases due deliveries ($1 now, $2 lease end, $3 how many), skipping those another node is
/// leasing right now.
const LEASE_DUE_DELIVERIES: &str = "WITH due AS (SELECT id FROM webhook_deliveries \
     WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
     ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
     UPDATE webhook_deliveries d SET lease_until = $2 FROM due WHERE d.id = due.id RETURNING d.id";
/// A list of ids bound as one value: an array.
const IN_IDS: &str = "= ANY($1)";

fn id_list(ids: &[String]) -> &[String] {
    ids
}

pub struct PgStore {
    pool: PgPool,
    /// Creates go through the group writer (`group.rs`).
    inserts: group::GroupWriter,
    deliveries: Arc<tokio::sync::Notify>,
    listening: tokio::sync::OnceCell<()>,
    sealer: super::sealing::EndpointSealer,
    /// Key changes heard on `hundi_keys`, for every subscriber of this node.
    key_changes: tokio::sync::broadcast::Sender<KeyChange>,
    listening_keys: tokio::sync::OnceCell<()>,
    /// Payments changed on any node, heard on `hundi_payments`.
    payment_changes: tokio::sync::broadcast::Sender<PaymentChange>,
    listening_payments: tokio::sync::OnceCell<()>,
}

/// A connection idle longer than this is pinged before it is used again (the pool's and the
/// group writer's).
pub(super) const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

impl PgStore {
    /// Opens a pool of at most `max` connections (`HUNDI_DB_POOL_SIZE`, read in `config.rs`).
    pub async fn connect(url: &str, max: u32) -> StoreResult<PgStore> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings a connection each time it is taken from the pool, by default: a
            // round trip before every query. Under load a connection lies idle for
            // microseconds; only one idle for a while (long enough for the server to have
            // gone) is checked before use.
            .test_before_acquire(false)
            .before_acquire(|conn, idle| {
                Box::pin(async move {
                    if idle.idle_for > IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await?;
        let deliveries = Arc::new(tokio::sync::Notify::new());
        Ok(PgStore {
            inserts: group::GroupWriter::start(options, pool.clone(), deliveries.clone())?,
            pool,
            deliveries,
            listening: tokio::sync::OnceCell::new(),
            sealer: Default::default(),
            key_changes: tokio::sync::broadcast::channel(1024).0,
            listening_keys: tokio::sync::OnceCell::new(),
            payment_changes: tokio::sync::broadcast::channel(4096).0,
            listening_payments: tokio::sync::OnceCell::new(),
        })
    }

    /// The pool, for PostgreSQL-only features outside the store trait (LISTEN/NOTIFY).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// Nothing to do after the commit: the NOTIFY sent with it reaches this node too.
    fn payments_changed(&self, _ids: &[String]) {}

    /// Follows a notification channel once per store: each payload heard is sent on
    /// `sender` as `heard(payload)`, and `lost` whenever notifications may have been missed.
    async fn follow_channel<T: Clone + Send + 'static>(
        &self,
        started: &tokio::sync::OnceCell<()>,
        channel: &'static str,
        sender: &tokio::sync::broadcast::Sender<T>,
        heard: fn(&str) -> T,
        lost: T,
    ) -> StoreResult<()> {
        started
            .get_or_try_init(|| async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                listener.listen(channel).await?;
                let sender = sender.clone();
                tokio::spawn(async move {
                    loop {
                        // `None`: the connection dropped (the next call reconnects), and
                        // notifications sent meanwhile are lost; so is anything after an error.
                        let change = match listener.try_recv().await {
                            Ok(Some(n)) => heard(n.payload()),
                            Ok(None) => lost.clone(),
                            Err(_) => {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                lost.clone()
                            }
                        };
                        let _ = sender.send(change);
                    }
                });
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(())
    }
}

/// Tells every node, when this transaction commits, that these payments changed.
async fn announce_payments(tx: &mut Conn, ids: &[String]) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify('hundi_payments', id) FROM unnest($1::text[]) AS t(id)")
        .bind(ids)
        .execute(tx)
        .await?;
    Ok(())
}

rows::decoders!();

super::accounts::accounts_sql! {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    async fn migrations(&self) -> StoreResult<crate::store::accounts::Migrations> {
        let exists: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        let applied = if exists {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await?
        } else {
            Vec::new()
        };
        let known = sqlx::migrate!("./migrations/postgres").iter().map(|m| m.version).collect();
        Ok(crate::store::accounts::Migrations { applied, known })
    }

    async fn database_clock(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(Some(sqlx::query_scalar("SELECT now()").fetch_one(&self.pool).await?))
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

super::keys::keys_sql! {
    async fn take_rate_tokens(&self, name: &str, per_second: u32, burst: u32,
        want: u32) -> StoreResult<TokenGrant> {
        // $2 rate, $3 burst, $4 want. The database's clock (one `now()` for the whole
        // statement), so nodes whose clocks differ still agree. The upsert locks the row:
        // concurrent takes queue and each sees the previous one's result; a take whose
        // transaction began before the last one counts no refill. A new bucket starts full.
        let refilled = "LEAST($3::float8, b.tokens + $2::float8 * GREATEST(0, \
             EXTRACT(EPOCH FROM now() - b.updated_at)::float8))";
        let sql = format!("INSERT INTO rate_limit_buckets AS b (name, tokens, granted, updated_at) \
             VALUES ($1, $3 - LEAST($4, $3), LEAST($4, $3), now()) \
             ON CONFLICT (name) DO UPDATE SET \
             granted = LEAST($4, FLOOR({refilled}))::int, \
             tokens = {refilled} - LEAST($4, FLOOR({refilled})), \
             updated_at = GREATEST(b.updated_at, now()) \
             RETURNING tokens, granted");
        let row = sql!(&sql, name, f64::from(per_second), i32::try_from(burst).unwrap_or(i32::MAX),
            i32::try_from(want).unwrap_or(i32::MAX)).fetch_one(&self.pool).await?;
        let granted: i32 = row.try_get("granted")?;
        token_grant(i64::from(granted), row.try_get("tokens")?)
    }

    async fn prune_rate_buckets(&self, idle: Duration) -> StoreResult<u64> {
        let done = sql!("DELETE FROM rate_limit_buckets WHERE updated_at < clock_timestamp() - $1::float8 * interval '1 second'",
            idle.as_secs_f64()).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn watch_keys(&self) -> StoreResult<tokio::sync::broadcast::Receiver<KeyChange>> {
        self.follow_channel(&self.listening_keys, "hundi_keys", &self.key_changes,
            |id| KeyChange::Key(id.to_string()), KeyChange::Unknown).await?;
        Ok(self.key_changes.subscribe())
    }
}

super::payments::payments_sql! {
    async fn watch_payments(&self)
        -> StoreResult<tokio::sync::broadcast::Receiver<PaymentChange>> {
        self.follow_channel(&self.listening_payments, "hundi_payments", &self.payment_changes,
            |id| PaymentChange::Payment(id.to_string()), PaymentChange::Unknown).await?;
        Ok(self.payment_changes.subscribe())
    }

    async fn insert_payment(&self, p: &Payment, e: &NewEvent) -> StoreResult<()> {
        // With the creates waiting at the same moment, in one statement (`group.rs`).
        self.inserts.insert(p, e).await
    }
}

super::events::events_sql! {
    async fn watch_deliveries(&self) -> StoreResult<Arc<tokio::sync::Notify>> {
        self.listening.get_or_try_init(|| async {
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
        }).await?;
        Ok(self.deliveries.clone())
    }
}

super::credentials::credentials_sql! {}
super::second_factor::second_factor_sql! {}
super::sms::sms_sql! {}
super::mailboxes::mailboxes_sql! {}
super::payment_links::payment_links_sql! {}
super::receipts::receipts_sql! {}

super::audit::audit_sql! {}

super::credits::credits_sql! {}

super::rollups::rollups_sql! {}

super::idempotency::idempotency_sql! {
    async fn insert_payment_completing(&self, p: &Payment, e: &NewEvent,
        key: &KeyCompletion) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        complete_key_in(&mut tx, &scope_of(p), key).await?;
        let wake = group::insert_payments_on(&mut *tx, &[(p, e)]).await?;
        self.commit(tx, wake).await?;
        Ok(())
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
