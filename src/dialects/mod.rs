//! The wire dialects of existing gateways. Each dialect is one module: its routes, its auth
//! header, request → service command, payment → its response shape, and its webhook body and
//! signature (built by `formats.rs` when a delivery is sent). What they share lives here.

pub mod fields;
pub mod formats;
pub mod js_json;
pub mod kazawallet;
pub mod pakhipay;
pub mod paygate;
pub mod registry;
pub mod signing;
pub mod waypay;
pub mod xpay;

use crate::api::auth::find_key;
use crate::domain::key::{ApiKey, Permission};
use crate::domain::money::Money;
use crate::http::AppState;
use crate::service::Scope;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;

pub use registry::{registry, Delivery, Dialect, Registry};

/// A failure after the key was let in, sorted once for every dialect: a lost database is a
/// 503 (clients and load balancers retry it), anything else a 500, each in the dialect's shape.
pub trait Failure: std::fmt::Display {
    fn database_lost(&self) -> bool;

    fn status(&self) -> StatusCode {
        if self.database_lost() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl Failure for crate::service::StoreError {
    fn database_lost(&self) -> bool {
        matches!(self, crate::service::StoreError::Unavailable(_))
    }
}

impl Failure for crate::service::ServiceError {
    fn database_lost(&self) -> bool {
        matches!(self, crate::service::ServiceError::Store(e) if e.database_lost())
    }
}

impl Failure for crate::service::credentials::CredentialError {
    fn database_lost(&self) -> bool {
        matches!(self, crate::service::credentials::CredentialError::Store(e) if e.database_lost())
    }
}

/// Why a dialect's request was not let in; each dialect words it in its own shape.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyRefusal {
    Missing,
    Invalid,
    Revoked,
    Lacks(Permission),
    /// The key could not be checked (database down): a 5xx, not a 401.
    Unavailable(String),
    /// Over the key's rate limit: a 429; the response carries `Retry-After`.
    Throttled(crate::api::ratelimit::Throttled),
}

impl KeyRefusal {
    pub fn status(&self) -> StatusCode {
        match self {
            KeyRefusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            KeyRefusal::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The message in `header`'s terms (`api-key`, `X-API-Key`…).
    pub fn message(&self, header: &str) -> String {
        match self {
            KeyRefusal::Missing => format!("{header} header is required"),
            KeyRefusal::Invalid => format!("invalid {header}"),
            KeyRefusal::Revoked => format!("this {header} has been revoked"),
            KeyRefusal::Lacks(p) => format!("this {header} lacks the {} permission", p.as_str()),
            KeyRefusal::Unavailable(_) => "the service is unavailable; try again".into(),
            KeyRefusal::Throttled(t) => format!(
                "too many requests with this {header}; retry in {} s",
                t.retry_after_secs
            ),
        }
    }
}

/// A header's value, trimmed; absent when missing or blank.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Checks a dialect's API key (a Hundi key: one merchant's keys work in every dialect),
/// counts the request against the key's rate limit, and returns the key with the scope it
/// acts in.
pub async fn authenticate(
    state: &AppState,
    presented: Option<&str>,
    wanted: Permission,
) -> Result<(Scope, Arc<ApiKey>), KeyRefusal> {
    let presented = presented.ok_or(KeyRefusal::Missing)?;
    let key = find_key(state, presented).await.map_err(|e| {
        if e.status == StatusCode::UNAUTHORIZED {
            KeyRefusal::Invalid
        } else {
            KeyRefusal::Unavailable(e.message)
        }
    })?;
    if key.is_revoked() {
        return Err(KeyRefusal::Revoked);
    }
    if !key.allows(wanted) {
        return Err(KeyRefusal::Lacks(wanted));
    }
    crate::api::ratelimit::admit(state, &key)
        .await
        .map_err(KeyRefusal::Throttled)?;
    state.usage.count(&key.id);
    let scope = Scope {
        merchant_id: key.merchant_id.clone(),
        livemode: key.mode.is_live(),
    };
    Ok((scope, key))
}

/// An amount as a JSON number in JavaScript's shortest form (`99`, `98.99`): what
/// `JSON.stringify` gives back after parsing it.
pub fn money_number(m: &Money) -> Value {
    let text = m.to_string();
    let shortest = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if let Ok(i) = shortest.parse::<i64>() {
        return Value::from(i);
    }
    shortest
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// CORS for routes that real clients call from the browser: any origin, the given methods,
/// and the dialect's own headers plus `Content-Type`.
pub fn cors(methods: &[Method], headers: &[&'static str]) -> tower_http::cors::CorsLayer {
    let mut allowed: Vec<HeaderName> = headers.iter().map(|h| HeaderName::from_static(h)).collect();
    allowed.push(axum::http::header::CONTENT_TYPE);
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods(methods.to_vec())
        .allow_headers(allowed)
        .expose_headers(crate::api::ratelimit::HEADERS.map(HeaderName::from_static))
}

/// Preflights are answered by the CORS layer around a route; the route must accept OPTIONS
/// for the layer to see them.
pub async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;

    #[test]
    fn a_lost_database_is_a_503_and_other_failures_a_500() {
        use crate::service::credentials::CredentialError;
        use crate::service::{ServiceError, StoreError};
        let lost = || StoreError::Unavailable(sqlx::Error::PoolTimedOut);
        let broken = || StoreError::Corrupt("a stored row".into());
        assert_eq!(Failure::status(&lost()), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            Failure::status(&ServiceError::Store(lost())),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            Failure::status(&CredentialError::Store(lost())),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            Failure::status(&ServiceError::Store(broken())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            Failure::status(&CredentialError::Store(broken())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    /// docs/dialects.md's status table says what the code says, with a column for every
    /// dialect of the registry (headed by its label).
    #[test]
    fn the_documented_status_table_matches_the_code() {
        use crate::domain::payment::PaymentStatus;
        let doc = include_str!("../../docs/dialects.md");
        let rows: Vec<Vec<String>> = doc
            .split("<!-- checked: statuses -->")
            .nth(1)
            .expect("the status table")
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect()
            })
            .collect();
        let (head, table) = (&rows[0], &rows[2..]);
        assert_eq!(table.len(), PaymentStatus::ALL.len());
        let dialects = registry();
        assert_eq!(
            head.len(),
            dialects.all().len() + 1,
            "one column per dialect"
        );
        for row in table {
            let s = PaymentStatus::parse(&row[0]).expect("a Hundi status");
            for (column, cell) in head.iter().zip(row).skip(1) {
                let d = dialects
                    .all()
                    .iter()
                    .find(|d| column.starts_with(d.label()))
                    .unwrap_or_else(|| panic!("no dialect is labelled like '{column}'"));
                let code = d.status_name(s).unwrap_or("—");
                assert_eq!(cell, code, "docs/dialects.md's {column} for {}", s.as_str());
            }
        }
    }

    #[test]
    fn amounts_are_numbers_in_their_shortest_form() {
        let inr = Currency::parse("INR").unwrap();
        let n = |minor| js_json::stringify(&money_number(&Money::from_minor(minor, inr)));
        assert_eq!(n(9900), "99");
        assert_eq!(n(9899), "98.99");
        assert_eq!(n(15050), "150.5");
        assert_eq!(n(1), "0.01");
    }
}
