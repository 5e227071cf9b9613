//! Hundi: a self-hosted payment gateway. See DESIGN.md for the map of the code.

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
