//! Persistence: one trait, two implementations (SQLite, PostgreSQL), one conformance suite.
//! No SQL lives outside this module.

/// A query with its values bound in order: `sql!(text, a, b)` is
/// `sqlx::query(text).bind(a).bind(b)`.
macro_rules! sql {
    ($sql:expr $(, $arg:expr)* $(,)?) => {
        sqlx::query($sql)$(.bind($arg))*
    };
}

/// `Type { a, b; c: expr }` read from a row: each listed field from the column of its name
/// (through the backend's `get`), the fields after `;` from their expressions.
macro_rules! from_row {
    ($r:expr, $ty:ident { $($f:ident),* $(,)? $(; $($g:ident : $e:expr),* $(,)?)? }) => {
        $ty { $($f: get($r, stringify!($f))?,)* $($($g: $e,)*)? }
    };
}

mod accounts;
mod audit;
pub mod backup;
pub mod copy;
mod credentials;
mod credits;
mod events;
mod idempotency;
mod keys;
mod mailboxes;
mod payment_links;
mod payments;
mod postgres;
mod receipts;
mod rollups;
mod rows;
mod sealing;
pub mod second_factor;
mod sms;
mod sqlite;

pub use accounts::AccountStore;
pub use audit::AuditStore;
pub use credentials::{CredentialStore, Resealer, SealedValue};
pub use credits::CreditStore;
pub use events::EventStore;
pub use idempotency::IdempotencyStore;
pub use keys::KeyStore;
pub use mailboxes::MailboxStore;
pub use payment_links::{LinkTally, PaymentLinkStore};
pub use payments::PaymentStore;
pub use receipts::ReceiptStore;
pub use rollups::RollupStore;
pub use sms::SmsStore;

pub use crate::domain::delivery::{
    AttemptLog, Delivery, DeliveryJob, DeliveryOutcome, FinishedDelivery,
};
pub use crate::domain::idempotency::{IdempotencyClaim, KeyCompletion, StoredResponse};
pub use crate::domain::key::{KeyChange, KeyRevenue, TokenGrant};
pub use crate::domain::retention::{Cut as RetentionCut, Pruned};
pub use crate::domain::session::ThrottleRule;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::domain::attempt::{Attempt, AttemptStatus};
use crate::domain::audit::AuditEntry;
use crate::domain::credential::Credential;
use crate::domain::credit::{AcceptedShortfall, Credit};
use crate::domain::event::Event;
use crate::domain::key::{ApiKey, Mode};
use crate::domain::merchant::{Merchant, User};
use crate::domain::payment::{Payment, PaymentChange, PaymentStatus};
use crate::domain::refund::Refund;
use crate::domain::rollup::{self, Part, RollupMark};
use crate::domain::session::{DayStat, Session};
use crate::domain::webhook::Endpoint;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; carries the constraint's name.
    #[error("conflicts with an existing row ({0})")]
    Duplicate(String),
    /// The database cannot be reached (its pool timed out or closed, its connection broke).
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A write that failed as a whole (for instance its group commit did).
    #[error("write failed: {0}")]
    Write(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The idempotency key this write was to complete is no longer held by its request (a
    /// retry took the stale claim over); nothing was written.
    #[error("the idempotency key is no longer held by this request")]
    KeyClaimLost,
    /// A team change would leave the merchant without an owner; nothing was changed.
    #[error("a merchant keeps at least one owner")]
    LastOwner,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whose data a query may see: one merchant, in one mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub merchant_id: String,
    pub livemode: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub reference: Option<String>,
    /// `native` or a dialect's name.
    pub source: Option<String>,
    /// An exact payment id, reference or customer e-mail, or the start of a customer name.
    pub search: Option<String>,
    pub created_gte: Option<DateTime<Utc>>,
    pub created_lte: Option<DateTime<Utc>>,
    /// Return rows older than this payment (cursor pagination, newest first).
    pub starting_after: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, Default)]
pub struct CreditFilter {
    pub matched: Option<bool>,
    pub starting_after: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<String>,
    pub object_id: Option<String>,
    pub starting_after: Option<String>,
    pub limit: u32,
}

/// One page of a listing in creation order, oldest first: up to `limit` rows created after
/// the row whose id is `starting_after` (an id from the previous page).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub starting_after: Option<String>,
    pub limit: u32,
}

/// An event to write alongside a state change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: String,
    /// The API key behind the object, if any: that key's own webhook endpoint gets the event.
    pub key_id: Option<String>,
    pub event_type: String,
    pub object_id: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    /// The audit entry of the change that caused the event (a refund, a cancel, a manual
    /// match), written with it; `None` for what no one on the team did.
    pub audit: Option<AuditEntry>,
}

/// A conditional status change: from one of `from` to `to`, at `at`; with `unexpired_at`,
/// only if the payment has not expired by then.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub from: &'a [PaymentStatus],
    pub to: PaymentStatus,
    pub unexpired_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    /// Recorded on success: the method that paid and its reference.
    pub paid_with: Option<&'a str>,
    pub method_reference: Option<&'a str>,
}

/// Builds the event(s) for a state change from the row as it is after the change.
pub type EventBuilder<'a> = &'a (dyn Fn(&Payment) -> NewEvent + Send + Sync);
/// The events about a credit once it is recorded (matched or not).
pub type CreditEventBuilder<'a> = &'a (dyn Fn(&Credit) -> Vec<NewEvent> + Send + Sync);
/// Builds the event for an endpoint (when it is disabled).
pub type EndpointEventBuilder<'a> = &'a (dyn Fn(&Endpoint) -> NewEvent + Send + Sync);
/// Builds the event for a refund from the payment and the refund as written.
pub type RefundEventBuilder<'a> = &'a (dyn Fn(&Payment, &Refund) -> NewEvent + Send + Sync);

/// Why a refund was not written.
#[derive(Debug, thiserror::Error)]
pub enum RefundRefusal {
    #[error("payment not found")]
    NotFound,
    #[error("payment is not paid")]
    NotPaid(PaymentStatus),
    #[error("refund exceeds the refundable amount")]
    Exceeds { refundable_minor: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The whole store: the sum of its aggregates, each a trait in its own module holding its SQL.
pub trait Store:
    AccountStore
    + AuditStore
    + KeyStore
    + PaymentStore
    + EventStore
    + CredentialStore
    + CreditStore
    + IdempotencyStore
    + RollupStore
    + second_factor::SecondFactorStore
    + SmsStore
    + MailboxStore
    + PaymentLinkStore
    + ReceiptStore
{
}

impl<T> Store for T where
    T: AccountStore
        + AuditStore
        + KeyStore
        + PaymentStore
        + EventStore
        + CredentialStore
        + CreditStore
        + IdempotencyStore
        + RollupStore
        + second_factor::SecondFactorStore
        + SmsStore
        + MailboxStore
        + PaymentLinkStore
        + ReceiptStore
        + ReceiptStore
{
}

/// Whether a database URL names PostgreSQL (anything else is a SQLite file).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A SQLite database's URL: `sqlite:…` as given, a bare file path as `sqlite://path`.
pub(crate) fn sqlite_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        url.to_string()
    } else {
        format!("sqlite://{url}")
    }
}

/// Opens the store a URL names: `postgres://…` or `sqlite://…` (or a bare file path).
pub async fn connect(url: &str, pool_size: u32) -> StoreResult<Arc<dyn Store>> {
    if is_postgres(url) {
        Ok(Arc::new(PgStore::connect(url, pool_size).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    }
}

/// The mode a scope is in.
impl Scope {
    pub fn mode(&self) -> Mode {
        Mode::from_livemode(self.livemode)
    }
}

/// Runs a writer on a thread of its own with a one-thread runtime (the group writers): on
/// the shared runtime, each wake from the database's side waits behind the HTTP tasks. `task`
/// builds the writer's future on that thread, so what it opens (a connection's socket) is
/// driven by that runtime. The thread ends when the future does.
pub(crate) fn spawn_writer_thread<F, Fut>(name: &str, task: F) -> StoreResult<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let failed = |e: std::io::Error| StoreError::Write(format!("cannot start {name}: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(failed)?;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || runtime.block_on(task()))
        .map_err(failed)?;
    Ok(())
}

/// A duration as a whole number of microseconds, never negative.
fn micros(d: chrono::Duration) -> i64 {
    d.num_microseconds().unwrap_or(i64::MAX).max(0)
}

/// The one place a database error is sorted: a lost database is `Unavailable`, anything else
/// `Database`.
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        let lost = match &err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL's connection exceptions (08…) and operator intervention (57P…: the
            // server shutting down or not accepting connections yet).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        };
        if lost {
            StoreError::Unavailable(err)
        } else {
            StoreError::Database(err)
        }
    }
}

/// Maps a unique-constraint violation to `Duplicate`, anything else to `Database`.
pub(crate) fn classify(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Duplicate(db.constraint().unwrap_or("unique").to_string());
        }
    }
    if matches!(err, sqlx::Error::RowNotFound) {
        return StoreError::NotFound;
    }
    StoreError::from(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_database_is_unavailable() {
        for lost in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            assert!(matches!(classify(lost), StoreError::Unavailable(_)));
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            StoreError::from(sqlx::Error::Io(refused)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            classify(sqlx::Error::RowNotFound),
            StoreError::NotFound
        ));
        let bad = sqlx::Error::Protocol("bad".into());
        assert!(matches!(StoreError::from(bad), StoreError::Database(_)));
    }
}
