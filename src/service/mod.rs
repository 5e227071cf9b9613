//! The service: the only place state changes.
//!
//! Every command validates its input with the domain's rules, then asks the store for one
//! transaction (the change plus its outbox event). Dialects, the native API, the checkout,
//! the dashboard and the CLI all come through here; what they read comes through here too
//! (`reads.rs`), so no front door holds the store.
//!
//! payments.rs, refunds.rs, checkout.rs, upi.rs, webhooks.rs: payments and what hangs off
//! them; merchants.rs, settings.rs, keys.rs, users.rs (with throttle.rs): accounts, keys and
//! dashboard logins; usage.rs, ratelimit.rs: per-key request counts and limits.

pub mod access;
pub mod audit;
pub mod checkout;
pub mod credentials;
pub mod doctor;
pub mod error;
pub mod idempotency;
pub mod inbox;
pub mod keys;
pub mod merchants;
pub mod objects;
pub mod payment_links;
pub mod payments;
pub mod ratelimit;
pub mod reads;
pub mod refunds;
pub mod retention;
pub mod rollup;
pub mod rotation;
pub mod second_factor;
pub mod settings;
pub mod sms;
pub mod throttle;
pub mod upi;
pub mod usage;
pub mod users;
pub mod waiting;
pub mod webhooks;

/// The store's scopes, filters and pages, and its error, as the front doors name them.
pub use crate::store::{
    CreditFilter, EventFilter, IdempotencyClaim, KeyRevenue, LinkTally, Page, PaymentFilter, Scope,
    StoreError, StoredResponse,
};
pub use error::{AccountError, CreateField, ServiceError};
pub use payments::{Callback, NewPayment, PaymentService};
