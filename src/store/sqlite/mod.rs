//! The SQLite store: the embedded default.
//!
//! One writer connection serializes every write transaction inside the process (SQLite
//! allows one writer at a time anyway; queueing in the pool avoids busy-retry storms), and
//! a small pool of readers serves queries concurrently thanks to WAL. Timestamps are
//! INTEGER microseconds since the Unix epoch, booleans 0/1. Creates go through the group
//! writer (`group.rs`).

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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

mod group;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    group: group::GroupWriter,
    deliveries: Arc<tokio::sync::Notify>,
    sealer: super::sealing::EndpointSealer,
    /// Never sent on: SQLite has no notifications between processes.
    key_changes: tokio::sync::broadcast::Sender<KeyChange>,
    /// Payments this process changed, sent once committed.
    payment_changes: tokio::sync::broadcast::Sender<PaymentChange>,
}

type Backend = SqliteStore;
type Db = sqlx::Sqlite;
type DbRow = SqliteRow;
type Conn = sqlx::SqliteConnection;
type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds a payment's columns, in `PAYMENT_COLUMNS` order, as `$1`…`$29`.
fn bind_payment<'q>(q: Query<'q>, p: &'q Payment) -> Query<'q> {
    q.bind(&p.id)
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
        .bind(ts(p.created_at))
        .bind(ts(p.expires_at))
        .bind(ts(p.updated_at))
        .bind(p.transfer.as_ref().map(|t| t.payee.clone()))
        .bind(p.transfer.as_ref().map(|t| t.payee_name.clone()))
        .bind(p.transfer.as_ref().map(|t| t.payable_minor))
        .bind(&p.paid_with)
        .bind(&p.method_reference)
        .bind(p.attempt_count)
        .bind(&p.dialect_data)
        .bind(p.locale.map(|l| l.code()))
}

/// A new delivery's id, made by the database.
const NEW_ID: &str = "'whd_' || lower(hex(randomblob(16)))";
/// The physical row id, to delete a few rows of a table at a time.
const ROW_ID: &str = "rowid";
/// The UTC day (`YYYY-MM-DD`) of a timestamp column.
fn day_of(column: &str) -> String {
    format!("strftime('%Y-%m-%d', {column} / 1000000, 'unixepoch')")
}
/// The start of the UTC hour of a timestamp column.
fn hour_of(column: &str) -> String {
    format!("({column} - {column} % 3600000000)")
}
/// `IN` the list of values bound as `param` (a JSON array).
fn in_list(param: &str) -> String {
    format!("IN (SELECT value FROM json_each({param}))")
}
/// The hours bound as `param` as a table `h(hour)`.
fn hours_from(param: &str) -> String {
    format!("(SELECT value AS hour FROM json_each({param})) h")
}
/// Hours bound as one value: a JSON array of microseconds.
fn hour_list(hours: &[DateTime<Utc>]) -> String {
    let micros: Vec<i64> = hours.iter().map(|h| h.timestamp_micros()).collect();
    serde_json::to_string(&micros).unwrap_or_default()
}
/// Asks for a statement's plan instead of running it.
#[cfg(test)]
const EXPLAIN: &str = "EXPLAIN QUERY PLAN";
/// The write lock BEGIN IMMEDIATE takes is the claim: no other writer runs meanwhile.
const SKIP_LOCKED: &str = "";
/// Turns a number of microseconds into a duration: timestamps are microseconds already.
const MICROS: &str = "";
const LEAST: &str = "min";
/// Leases due deliveries ($1 now, $2 lease end, $3 how many); the write lock is the claim.
const LEASE_DUE_DELIVERIES: &str = "UPDATE webhook_deliveries SET lease_until = $2 \
     WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' \
     AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
     ORDER BY next_attempt_at LIMIT $3) RETURNING id";
/// A list of ids bound as one value: a JSON array.
const IN_IDS: &str = "IN (SELECT value FROM json_each($1))";

fn id_list(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_default()
}

impl SqliteStore {
    /// Opens (creating if missing) the database a `sqlite://path` URL or plain path names.
    ///
    /// Durability: WAL with `synchronous=FULL`, so a commit is on disk before it is acknowledged.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(&super::sqlite_url(url))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let deliveries = Arc::new(tokio::sync::Notify::new());
        let group = group::GroupWriter::start(writer.clone(), deliveries.clone())?;
        Ok(SqliteStore {
            writer,
            reader,
            group,
            deliveries,
            sealer: Default::default(),
            key_changes: tokio::sync::broadcast::channel(1).0,
            payment_changes: tokio::sync::broadcast::channel(4096).0,
        })
    }

    async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        // IMMEDIATE takes the write lock up front, so another process's writer makes us wait
        // (busy_timeout) instead of failing half-way through.
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Tells this process's watchers, once committed, that these payments changed.
    fn payments_changed(&self, ids: &[String]) {
        for id in ids {
            let _ = self
                .payment_changes
                .send(PaymentChange::Payment(id.clone()));
        }
    }
}

/// Nothing to send with the commit: one process sees its own changes (`payments_changed`).
async fn announce_payments(_tx: &mut Conn, _ids: &[String]) -> StoreResult<()> {
    Ok(())
}

rows::decoders!();

super::accounts::accounts_sql! {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite").run(&self.writer).await?;
        Ok(())
    }

    async fn migrations(&self) -> StoreResult<super::accounts::Migrations> {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(self.reader())
        .await?;
        let applied = if exists > 0 {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(self.reader())
                .await?
        } else {
            Vec::new()
        };
        let known = sqlx::migrate!("./migrations/sqlite").iter().map(|m| m.version).collect();
        Ok(super::accounts::Migrations { applied, known })
    }

    async fn database_clock(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(None)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

super::keys::keys_sql! {
    async fn take_rate_tokens(&self, name: &str, per_second: u32, burst: u32,
        want: u32) -> StoreResult<TokenGrant> {
        // $2 rate, $3 burst, $4 want, $5 now (µs). A new bucket starts full.
        let refilled = "MIN($3, rate_limit_buckets.tokens \
             + $2 * MAX(0, $5 - rate_limit_buckets.updated_at) / 1000000.0)";
        let sql = format!("INSERT INTO rate_limit_buckets (name, tokens, granted, updated_at) \
             VALUES ($1, $3 - MIN($4, $3), MIN($4, $3), $5) \
             ON CONFLICT (name) DO UPDATE SET \
             granted = MIN($4, CAST({refilled} AS INTEGER)), \
             tokens = {refilled} - MIN($4, CAST({refilled} AS INTEGER)), \
             updated_at = MAX(rate_limit_buckets.updated_at, $5) \
             RETURNING tokens, granted");
        let row = sql!(&sql, name, f64::from(per_second), i64::from(burst), i64::from(want),
            ts(crate::domain::now())).fetch_one(&self.writer).await?;
        token_grant(row.try_get("granted")?, row.try_get("tokens")?)
    }

    async fn prune_rate_buckets(&self, idle: Duration) -> StoreResult<u64> {
        let before = crate::domain::now() - chrono::Duration::from_std(idle).unwrap_or_default();
        let done = sql!("DELETE FROM rate_limit_buckets WHERE updated_at < $1", ts(before))
            .execute(&self.writer).await?;
        Ok(done.rows_affected())
    }

    async fn watch_keys(&self) -> StoreResult<tokio::sync::broadcast::Receiver<KeyChange>> {
        // One process's changes are forgotten by the code that makes them; other processes'
        // (the CLI) are seen when the cached copy expires.
        Ok(self.key_changes.subscribe())
    }
}

super::payments::payments_sql! {
    async fn insert_payment(&self, p: &Payment, event: &NewEvent) -> StoreResult<()> {
        self.group.insert(p, event, None).await
    }

    async fn watch_payments(&self)
        -> StoreResult<tokio::sync::broadcast::Receiver<PaymentChange>> {
        Ok(self.payment_changes.subscribe())
    }
}

super::events::events_sql! {
    async fn watch_deliveries(&self) -> StoreResult<Arc<tokio::sync::Notify>> {
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
    async fn insert_payment_completing(&self, p: &Payment, event: &NewEvent,
        key: &KeyCompletion) -> StoreResult<()> {
        self.group.insert(p, event, Some(key.clone())).await
    }
}

/// In-process on SQLite: the store signals its dispatcher after the commit.
async fn notify_dispatchers(_: &mut Conn) -> StoreResult<()> {
    Ok(())
}

/// Nothing to tell: SQLite has no other nodes (another process's change is seen when its
/// cached copy expires).
async fn notify_key_change(_: &mut Conn, _: &str) -> StoreResult<()> {
    Ok(())
}
