//! What every front door (the native API, the dialects, the checkout, the dashboard) shares:
//! the application's state, the client's address, the request metrics, QR codes, serving plain
//! HTTP/1.1. Nothing here names a front door, so the doors stay siblings.

pub mod client_addr;
pub mod metrics;
pub mod qr;
pub mod serve;
pub mod state;

pub use state::{AppState, DialectSettings};
