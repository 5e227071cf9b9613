//! Hundi: a self-hosted payment gateway. docs/architecture.md is the map of the code and the
//! rules between its modules; docs/dialects.md describes the five gateways it speaks.

pub mod api;
pub mod checkout;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod dialects;
pub mod domain;
pub mod http;
pub mod i18n;
pub mod inbox;
pub mod methods;
pub mod receipts;
pub mod secrets;
pub mod service;
pub mod startup;
pub mod store;
pub mod tls;
pub mod webhooks;
