//! Persistence: one trait, two implementations (SQLite, PostgreSQL), one conformance suite.
//! No SQL lives outside this module.

mod postgres;
mod rows;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::domain::attempt::{Attempt, AttemptStatus};
use crate::domain::credential::Credential;
use crate::domain::credit::{AcceptedShortfall, Credit};
use crate::domain::event::Event;
use crate::domain::key::{ApiKey, Mode};
use crate::domain::merchant::{Merchant, User};
use crate::domain::payment::{Payment, PaymentStatus};
use crate::domain::refund::Refund;
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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A write that failed as a whole (for instance its group commit did).
    #[error("write failed: {0}")]
    Write(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
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
}

/// A delivery a dispatcher has leased, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery_id: String,
    pub event_id: String,
    pub endpoint_id: String,
    /// The endpoint's format: native, auto, or a dialect's.
    pub format: String,
    pub event_type: String,
    /// What the event is about (a payment id for payment events).
    pub object_id: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    /// Still signing after a rotation, until its grace period ends.
    pub previous_secret: Option<String>,
    /// The event's payload: the exact bytes to send.
    pub payload: String,
}

/// One attempt's result, to be written.
#[derive(Debug, Clone)]
pub struct FinishedDelivery {
    pub job: DeliveryJob,
    pub log: AttemptLog,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryOutcome {
    Succeeded,
    /// The receiver answered and refused it for good (a dialect where a 4xx is final); the
    /// endpoint itself is working.
    Declined,
    /// Not sent: the endpoint's format has no webhook for this event.
    Skipped,
    Retry {
        at: DateTime<Utc>,
    },
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLog {
    pub id: String,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The first KiB of the response.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub log: Vec<AttemptLog>,
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

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyClaim {
    /// The caller owns the key now and must complete or release it.
    Claimed,
    /// Someone else has it: finished (with its response) or still running.
    Existing {
        request_hash: Vec<u8>,
        response: Option<StoredResponse>,
        created_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Revenue of payments made with a key: per currency, net of refunds, in minor units.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRevenue {
    pub key_id: String,
    pub currency: String,
    pub minor: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies the embedded migrations for this backend; applying twice is a no-op.
    async fn migrate(&self) -> StoreResult<()>;
    /// A cheap round trip, for health checks.
    async fn ping(&self) -> StoreResult<()>;
    fn backend(&self) -> &'static str;

    // Merchants and users
    async fn create_merchant(&self, merchant: &Merchant) -> StoreResult<()>;
    async fn get_merchant(&self, id: &str) -> StoreResult<Merchant>;
    async fn list_merchants(&self) -> StoreResult<Vec<Merchant>>;
    async fn count_merchants(&self) -> StoreResult<i64>;
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn find_user_by_email(&self, email: &str) -> StoreResult<User>;
    async fn list_users(&self, merchant_id: &str) -> StoreResult<Vec<User>>;
    /// Name, default URLs and checkout expiry (the dashboard's settings).
    async fn update_merchant_settings(&self, merchant: &Merchant) -> StoreResult<Merchant>;
    async fn set_merchant_upi(
        &self,
        id: &str,
        upi_id: Option<&str>,
        upi_name: Option<&str>,
    ) -> StoreResult<Merchant>;

    // API keys
    async fn create_key(&self, key: &ApiKey) -> StoreResult<()>;
    async fn find_key_by_hash(&self, hash: &[u8]) -> StoreResult<ApiKey>;
    async fn list_keys(&self, merchant_id: Option<&str>) -> StoreResult<Vec<ApiKey>>;
    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> StoreResult<ApiKey>;
    /// Changes a key's label, permissions and webhook URL.
    async fn update_key(&self, key: &ApiKey) -> StoreResult<ApiKey>;
    /// Adds counted requests to keys (flushed in batches, not per request).
    async fn add_key_requests(&self, counts: &[(String, i64)]) -> StoreResult<()>;
    async fn key_revenue(&self, merchant_id: Option<&str>) -> StoreResult<Vec<KeyRevenue>>;

    // Payments
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

    // Attempts
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

    /// A secret shared by every node: created with `fresh` the first time, read afterwards.
    async fn instance_secret(&self, name: &str, fresh: &str) -> StoreResult<String>;

    // Dashboard sessions and the login throttle
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// The unexpired session with this token hash.
    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session>;
    async fn set_session_mode(&self, token_hash: &str, livemode: bool) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// When tries for this e-mail may resume, if it is blocked now.
    async fn login_blocked_until(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// Counts a failed login (atomically) and returns the failures so far; failures older
    /// than 15 minutes are forgotten.
    async fn record_login_failure(&self, email: &str, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn block_login(&self, email: &str, until: DateTime<Utc>) -> StoreResult<()>;
    async fn clear_login_failures(&self, email: &str) -> StoreResult<()>;

    // Dashboard views
    /// Payments per UTC day, currency and status since `since`.
    async fn payment_stats(&self, scope: &Scope, since: DateTime<Utc>)
        -> StoreResult<Vec<DayStat>>;
    async fn list_refunds(&self, scope: &Scope, payment_id: &str) -> StoreResult<Vec<Refund>>;
    /// The latest deliveries of the scope, newest first; `status` filters (`failed`…).
    async fn recent_deliveries(
        &self,
        scope: &Scope,
        status: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>>;

    // Dialect credentials (sealed secrets)
    /// Writes a credential, replacing the one of the same name (a rotation). `Duplicate` when
    /// its public id belongs to another.
    async fn put_credential(&self, credential: &Credential) -> StoreResult<()>;
    async fn get_credential(&self, scope: &Scope, name: &str) -> StoreResult<Credential>;
    /// The credential called `name` whose public id is `public_id` (XPay's account id).
    async fn find_credential(&self, name: &str, public_id: &str) -> StoreResult<Credential>;
    async fn list_credentials(&self, scope: &Scope) -> StoreResult<Vec<Credential>>;

    // UPI payable amounts and bank credits
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
    /// payable amount it equals. `Duplicate` when the UTR was recorded before.
    async fn record_credit(
        &self,
        scope: &Scope,
        credit: &Credit,
        now: DateTime<Utc>,
        event: EventBuilder<'_>,
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
    async fn list_credits(&self, scope: &Scope, filter: &CreditFilter) -> StoreResult<Vec<Credit>>;

    // Webhooks
    /// A signal that fires when deliveries may be due: at once after a commit on this node,
    /// and (PostgreSQL) on other nodes' commits through LISTEN/NOTIFY.
    async fn watch_deliveries(&self) -> StoreResult<Arc<tokio::sync::Notify>>;
    async fn create_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()>;
    async fn get_endpoint(&self, scope: &Scope, id: &str) -> StoreResult<Endpoint>;
    async fn list_endpoints(&self, scope: &Scope) -> StoreResult<Vec<Endpoint>>;
    /// Writes every mutable field of an endpoint.
    async fn update_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()>;
    async fn delete_endpoint(&self, scope: &Scope, id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Leases up to `limit` due deliveries until `lease_until`; a delivery whose lease ran
    /// out (its node died) is due again. Safe to run on many nodes at once.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>>;
    /// Logs attempts and moves their deliveries on, all in one transaction; also keeps each
    /// endpoint's `failing_since`.
    async fn finish_deliveries(&self, done: &[FinishedDelivery]) -> StoreResult<()>;
    /// Disables endpoints failing since before `before`, each with an event.
    async fn disable_failing_endpoints(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        event: EndpointEventBuilder<'_>,
    ) -> StoreResult<Vec<Endpoint>>;
    async fn list_deliveries(&self, scope: &Scope, event_id: &str) -> StoreResult<Vec<Delivery>>;
    /// Schedules an event again for every endpoint that wants it now; returns how many.
    async fn redeliver(
        &self,
        scope: &Scope,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    // Refunds
    async fn create_refund(
        &self,
        scope: &Scope,
        refund: &Refund,
        event: RefundEventBuilder<'_>,
    ) -> Result<(Payment, Refund), RefundRefusal>;
    async fn get_refund(&self, scope: &Scope, id: &str) -> StoreResult<Refund>;

    // Events
    async fn get_event(&self, scope: &Scope, id: &str) -> StoreResult<Event>;
    async fn list_events(&self, scope: &Scope, filter: &EventFilter) -> StoreResult<Vec<Event>>;

    // Idempotency keys
    async fn claim_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        request_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<IdempotencyClaim>;
    async fn complete_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()>;
    /// Forgets an unfinished claim (the request failed before doing anything durable).
    async fn release_idempotency_key(&self, scope: &Scope, key: &str) -> StoreResult<()>;
}

/// Opens the store a URL names: `postgres://…` or `sqlite://…` (or a bare file path).
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
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
    StoreError::Database(err)
}
