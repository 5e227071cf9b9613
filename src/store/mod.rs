//! Persistence: one trait, two implementations (SQLite, PostgreSQL), one conformance suite.
//! No SQL lives outside this module.

mod postgres;
mod rows;
mod sealing;
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
    /// The idempotency key this write was to complete is no longer held by its request (a
    /// retry took the stale claim over); nothing was written.
    #[error("the idempotency key is no longer held by this request")]
    KeyClaimLost,
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
        /// The claim's token: a release or completion names it, so a claim that another
        /// request has taken over in the meantime is left alone.
        token: String,
    },
}

/// A claimed idempotency key and the response to keep with it, written in the same
/// transaction as the change the request makes: a crash leaves both or neither.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCompletion {
    pub key: String,
    /// The token the claim was made with; the write fails (`KeyClaimLost`) when the key is
    /// no longer held with it.
    pub token: String,
    pub response: StoredResponse,
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

/// What one take from a rate-limit bucket gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenGrant {
    /// Tokens handed out (at most the number asked for).
    pub granted: u32,
    /// Tokens left in the bucket after the take (fractions refill over time).
    pub left: f64,
}

/// How a throttle counts tries at one subject: `free` tries, then each try blocks the next
/// for `first_wait`, doubling per try up to `max_wait`. A try more than `window` after the
/// previous one starts the count again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleRule {
    pub free: i32,
    pub window: chrono::Duration,
    pub first_wait: chrono::Duration,
    pub max_wait: chrono::Duration,
}

impl ThrottleRule {
    fn micros(d: chrono::Duration) -> i64 {
        d.num_microseconds().unwrap_or(i64::MAX).max(0)
    }
}

/// A change to API keys another node (or process) made.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyChange {
    /// This key was revoked or changed.
    Key(String),
    /// Changes may have been missed (the notification connection dropped): forget them all.
    Unknown,
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
    /// Sets a key's requests per second (`None`: the instance's default).
    async fn set_key_rate_limit(&self, id: &str, rate_limit: Option<u32>) -> StoreResult<ApiKey>;

    // Rate limits
    /// Takes up to `want` whole tokens from the bucket `name` in one atomic statement: the
    /// bucket (full when new) first refills at `per_second` since its last take, up to
    /// `burst`, by the database's clock. Nodes sharing the database share the bucket.
    async fn take_rate_tokens(
        &self,
        name: &str,
        per_second: u32,
        burst: u32,
        want: u32,
    ) -> StoreResult<TokenGrant>;
    /// Forgets buckets untouched for `idle` (by then they are full again, as a new one is).
    async fn prune_rate_buckets(&self, idle: std::time::Duration) -> StoreResult<u64>;
    /// Keys revoked or changed, so that nodes forget their cached copies at once. PostgreSQL:
    /// every node's (and the CLI's) `revoke_key` and `update_key`, through LISTEN/NOTIFY.
    /// SQLite: nothing (another process's change is seen when a cached copy expires).
    async fn watch_keys(&self) -> StoreResult<tokio::sync::broadcast::Receiver<KeyChange>>;

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
    /// The scope's endpoints (not a payment's own callback URLs), one page at a time.
    async fn list_endpoints(&self, scope: &Scope, page: &Page) -> StoreResult<Vec<Endpoint>>;
    /// Writes every mutable field of an endpoint.
    async fn update_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()>;
    async fn delete_endpoint(&self, scope: &Scope, id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Seals endpoint secrets with this master key from now on (`sealing.rs`), and seals the
    /// ones still stored in clear; returns how many endpoints it sealed. Safe on many nodes
    /// at once: each row is rewritten only if it still holds what was read.
    async fn seal_endpoint_secrets(&self, secrets: &crate::secrets::SecretBox) -> StoreResult<u64>;
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
    /// An event's deliveries with their attempts, one page at a time.
    async fn list_deliveries(
        &self,
        scope: &Scope,
        event_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<Delivery>>;
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
    /// Claims `key` with `token`, or returns who holds it. A key created before
    /// `expired_before` is forgotten first, so it counts as new.
    async fn claim_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        request_hash: &[u8],
        token: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> StoreResult<IdempotencyClaim>;
    /// Keeps the response of a claim still held with `token`; `false` when it is not (the
    /// response was kept already, or the claim was taken over).
    async fn complete_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        token: &str,
        response: &StoredResponse,
    ) -> StoreResult<bool>;
    /// Forgets an unfinished claim (the request failed before doing anything durable, or
    /// died) if it is still the one made with `token`; `false` when it is not.
    async fn release_idempotency_key(
        &self,
        scope: &Scope,
        key: &str,
        token: &str,
    ) -> StoreResult<bool>;
    /// Deletes up to `limit` keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64>;
    /// `insert_payment`, keeping the response of the key in the same transaction.
    async fn insert_payment_completing(
        &self,
        payment: &Payment,
        event: &NewEvent,
        key: &KeyCompletion,
    ) -> StoreResult<()>;
    /// `create_refund`, keeping the response of the key in the same transaction.
    async fn create_refund_completing(
        &self,
        scope: &Scope,
        refund: &Refund,
        event: RefundEventBuilder<'_>,
        key: &KeyCompletion,
    ) -> Result<(Payment, Refund), RefundRefusal>;
}

/// Opens the store a URL names: `postgres://…` or `sqlite://…` (or a bare file path).
pub async fn connect(url: &str, pool_size: u32) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
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
