//! The payment service: the only place payment state changes.
//!
//! Every command validates its input with the domain's rules, then asks the store for one
//! transaction (the change plus its outbox event). Dialects, the native API, the checkout
//! and the dashboard all come through here.

pub mod checkout;
pub mod credentials;
pub mod error;
pub mod idempotency;
pub mod objects;
pub mod payments;
pub mod ratelimit;
pub mod refunds;
pub mod upi;
pub mod webhooks;

pub use crate::store::{PaymentFilter, Scope};
pub use error::{CreateField, ServiceError};
pub use payments::{Callback, NewPayment, PaymentService};
