//! What the dashboard's templates show, and the helpers that format it.

use super::Dash;
use crate::domain::money::{format_minor, Currency};
use crate::domain::payment::Payment;
use askama::Template;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};

const CSS: &str = include_str!("../../static/dashboard/dashboard.css");
const JS: &str = include_str!("../../static/dashboard/dashboard.js");

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        JS,
    )
}

/// A CSV document as a download named `{stem}-{now}.csv`, never cached.
pub fn csv_download(stem: &str, bytes: Vec<u8>) -> axum::response::Response {
    let name = format!(
        "attachment; filename=\"{stem}-{}.csv\"",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// What every page's frame shows: who is signed in, for which merchant, in which mode.
pub struct Chrome {
    pub section: &'static str,
    pub merchant_name: String,
    pub user_email: String,
    pub livemode: bool,
    pub csrf: String,
    /// This page's path and query, for the mode switch to come back to.
    pub here: String,
    /// The signed-in user's role, and whether it may read the audit log (its link is shown
    /// only then; the page refuses other roles either way).
    pub role: &'static str,
    pub may_audit: bool,
    /// The badge on Credits: money that arrived for no payment.
    pub unmatched_credits: i64,
}

impl Chrome {
    pub fn new(dash: &Dash, section: &'static str, here: String) -> Chrome {
        Chrome {
            section,
            merchant_name: dash.merchant.name.clone(),
            user_email: dash.user.email.clone(),
            livemode: dash.session.livemode,
            csrf: dash.session.csrf.clone(),
            here,
            role: dash.user.role.as_str(),
            may_audit: dash.may(crate::domain::role::Action::ReadAudit),
            unmatched_credits: dash.unmatched_credits,
        }
    }

    pub fn nav(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            ("overview", "/dashboard", "Overview"),
            ("payments", "/dashboard/payments", "Payments"),
            ("keys", "/dashboard/keys", "API keys"),
            ("webhooks", "/dashboard/webhooks", "Webhooks"),
            ("links", "/dashboard/links", "Payment links"),
            ("credits", "/dashboard/credits", "Credits"),
            ("mailbox", "/dashboard/mailbox", "Mailbox"),
            ("sms", "/dashboard/sms", "SMS forwarding"),
            ("settings", "/dashboard/settings", "Settings"),
            ("audit", "/dashboard/audit", "Audit log"),
        ]
        .into_iter()
        .filter(|(id, _, _)| *id != "audit" || self.may_audit)
        .map(|(id, href, label)| (href, label, id == self.section))
        .collect()
    }
}

/// `PKR 1,500.00`: the currency and its amount with thousands separators.
pub fn money(minor: i64, currency: &str) -> String {
    let text = match Currency::parse(currency) {
        Ok(c) => format_minor(minor, c),
        Err(_) => minor.to_string(),
    };
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{currency} {sign}{grouped}.{f}"),
        None => format!("{currency} {sign}{grouped}"),
    }
}

/// `2026-11-28 14:05` UTC.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// One row of a payments table.
pub struct PaymentRow {
    pub id: String,
    pub requested: String,
    pub payable: String,
    pub customer: String,
    pub source: String,
    pub status: &'static str,
    pub created: String,
    pub pending: bool,
}

impl PaymentRow {
    pub fn new(p: &Payment) -> PaymentRow {
        let currency = p.currency().code();
        let customer = match (&p.customer.name, &p.customer.email) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (Some(n), None) => n.clone(),
            (None, Some(e)) => e.clone(),
            (None, None) => "—".into(),
        };
        PaymentRow {
            id: p.id.clone(),
            requested: money(p.amount.minor(), currency),
            payable: money(p.payable_minor(), currency),
            customer,
            source: p.source.clone(),
            status: p.status.as_str(),
            created: when(p.created_at),
            pending: p.status == crate::domain::payment::PaymentStatus::Pending,
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub error: Option<String>,
    pub email: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_by_thousands() {
        assert_eq!(money(150000, "PKR"), "PKR 1,500.00");
        assert_eq!(money(123456789, "INR"), "INR 1,234,567.89");
        assert_eq!(money(1500, "JPY"), "JPY 1,500");
        assert_eq!(money(-2500, "PKR"), "PKR -25.00");
        assert_eq!(money(5, "PKR"), "PKR 0.05");
    }
}
