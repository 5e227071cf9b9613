//! Hundi: a self-hosted payment gateway. docs/architecture.md is the map of the code and the
//! rules between its modules; docs/dialects.md describes the five gateways it speaks.

pub mod admin;
pub mod api;
pub mod checkout;
pub mod cli;
pub mod dashboard;
pub mod dialects;
pub mod domain;
pub mod methods;
pub mod secrets;
pub mod server;
pub mod service;
pub mod store;
pub mod webhooks;
