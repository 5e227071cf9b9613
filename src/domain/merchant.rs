//! Merchants and the people who log in to their dashboard.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Merchant {
    pub id: String,
    pub name: String,
    /// Where UPI payments go (`shop@okbank`) and the payee name customers see.
    pub upi_id: Option<String>,
    pub upi_name: Option<String>,
    /// Where customers go after paying or giving up when a payment names no URL.
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    /// Seconds a checkout stays open when a create does not say.
    pub checkout_expiry_secs: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct User {
    pub id: String,
    pub merchant_id: String,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

pub const NAME_MAX: usize = 200;
