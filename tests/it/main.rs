//! Every integration test of Hundi, in one binary so the suite links once.
//! Each module is one area (the store on both backends, the native API, each dialect, the
//! checkout and dashboard in a browser, processes killed and restarted, ...); `common` is the
//! harness: a fresh database per test and the real server on an ephemeral port.

#[macro_use]
mod common;

mod api_http;
mod checkout_browser;
mod checkout_http;
mod checkout_languages;
mod checkout_waiting;
mod concurrency;
mod dashboard;
mod dashboard_browser;
mod db_copy;
mod dialect_added;
mod dialect_kazawallet;
mod dialect_pakhipay;
mod dialect_paygate;
mod dialect_rules;
mod dialect_waypay;
mod dialect_xpay;
mod doctor;
mod fleet;
mod growing;
mod https_acme;
mod idempotency;
mod key_revocation;
mod mailbox;
mod mailbox_nodes;
mod metrics;
mod openapi_document;
mod openapi_schemathesis;
mod payment_links;
mod payment_links_browser;
mod process;
mod ratelimit;
mod receipts;
mod rotation;
mod sign_in_throttle;
mod sms;
mod store_conformance;
mod team;
mod two_factor;
mod two_factor_browser;
mod upi;
mod version;
mod wallets;
mod wallets_browser;
mod webhooks;
mod webhooks_nodes;
mod worst_bodies;
