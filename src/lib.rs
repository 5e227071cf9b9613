//! Hundi: a self-hosted payment gateway. See DESIGN.md for the map of the code.

pub mod domain;
pub mod service;
pub mod store;
pub mod api;
pub mod admin;
pub mod cli;
pub mod server;
