//! Hundi: a self-hosted payment gateway. docs/architecture.md is the map of the code.

pub mod api;
pub mod checkout;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod dialects;
pub mod domain;
pub mod http;
pub mod methods;
pub mod secrets;
pub mod service;
pub mod startup;
pub mod store;
pub mod webhooks;
