//! Converting stored columns into domain types, shared by both backends.

use super::{StoreError, StoreResult};
use crate::domain::key::{parse_permissions, ApiKey, Mode};
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus, UpiTarget};
use crate::domain::refund::Refund;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The payment columns, in the order every payment query selects them.
pub const PAYMENT_COLUMNS: &str = "id, merchant_id, livemode, key_id, source, status, currency, \
     amount_minor, refunded_minor, description, reference, customer_name, customer_email, \
     customer_phone, metadata, success_url, cancel_url, methods, created_at, expires_at, updated_at, \
     upi_id, upi_name, payable_minor, paid_with, method_reference, attempt_count, dialect_data";

pub const KEY_COLUMNS: &str =
    "id, merchant_id, livemode, label, prefix, secret_hash, permissions, \
     webhook_url, request_count, created_at, revoked_at, rate_limit";

pub const REFUND_COLUMNS: &str =
    "id, payment_id, merchant_id, livemode, currency, amount_minor, reason, status, created_at";

pub const EVENT_COLUMNS: &str = "id, merchant_id, livemode, type, object_id, payload, created_at";

/// A payment row with its backend-specific types already decoded.
pub struct PaymentRow {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    pub key_id: Option<String>,
    pub source: String,
    pub status: String,
    pub currency: String,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub metadata: String,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub methods: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub upi_id: Option<String>,
    pub upi_name: Option<String>,
    pub payable_minor: Option<i64>,
    pub paid_with: Option<String>,
    pub method_reference: Option<String>,
    pub attempt_count: i32,
    pub dialect_data: Option<String>,
}

pub fn currency(code: &str) -> StoreResult<Currency> {
    Currency::parse(code).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;

    fn try_from(r: PaymentRow) -> StoreResult<Payment> {
        let status = PaymentStatus::parse(&r.status)
            .ok_or_else(|| StoreError::Corrupt(format!("payment status '{}'", r.status)))?;
        let metadata: BTreeMap<String, String> = serde_json::from_str(&r.metadata)
            .map_err(|e| StoreError::Corrupt(format!("payment metadata: {e}")))?;
        let methods: Vec<String> = serde_json::from_str(&r.methods)
            .map_err(|e| StoreError::Corrupt(format!("payment methods: {e}")))?;
        Ok(Payment {
            amount: Money::from_minor(r.amount_minor, currency(&r.currency)?),
            id: r.id,
            merchant_id: r.merchant_id,
            livemode: r.livemode,
            key_id: r.key_id,
            source: r.source,
            status,
            refunded_minor: r.refunded_minor,
            description: r.description,
            reference: r.reference,
            customer: Customer {
                name: r.customer_name,
                email: r.customer_email,
                phone: r.customer_phone,
            },
            metadata,
            success_url: r.success_url,
            cancel_url: r.cancel_url,
            methods,
            upi: match (r.upi_id, r.payable_minor) {
                (Some(upi_id), Some(payable_minor)) => Some(UpiTarget {
                    upi_id,
                    upi_name: r.upi_name.unwrap_or_default(),
                    payable_minor,
                }),
                _ => None,
            },
            paid_with: r.paid_with,
            method_reference: r.method_reference,
            attempt_count: r.attempt_count,
            dialect_data: r.dialect_data,
            created_at: r.created_at,
            expires_at: r.expires_at,
            updated_at: r.updated_at,
        })
    }
}

pub fn metadata_json(p: &Payment) -> String {
    serde_json::to_string(&p.metadata).unwrap_or_else(|_| "{}".into())
}

pub fn methods_json(p: &Payment) -> String {
    serde_json::to_string(&p.methods).unwrap_or_else(|_| "[]".into())
}

#[allow(clippy::too_many_arguments)]
pub fn api_key(
    id: String,
    merchant_id: String,
    livemode: bool,
    label: String,
    prefix: String,
    secret_hash: Vec<u8>,
    permissions: String,
    webhook_url: Option<String>,
    request_count: i64,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id,
        merchant_id,
        mode: Mode::from_livemode(livemode),
        label,
        prefix,
        secret_hash,
        permissions: parse_permissions(&permissions).map_err(StoreError::Corrupt)?,
        webhook_url,
        request_count,
        created_at,
        revoked_at,
        rate_limit: None,
    })
}

/// A stored rate limit (a non-negative INTEGER) as the key's requests per second.
pub fn rate_limit(stored: Option<i64>) -> StoreResult<Option<u32>> {
    stored
        .map(|n| {
            u32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| StoreError::Corrupt(format!("rate limit {n}")))
        })
        .transpose()
}

#[allow(clippy::too_many_arguments)]
pub fn refund(
    id: String,
    payment_id: String,
    merchant_id: String,
    livemode: bool,
    currency_code: &str,
    amount_minor: i64,
    reason: Option<String>,
    status: String,
    created_at: DateTime<Utc>,
) -> StoreResult<Refund> {
    Ok(Refund {
        id,
        payment_id,
        merchant_id,
        livemode,
        amount: Money::from_minor(amount_minor, currency(currency_code)?),
        reason,
        status,
        created_at,
    })
}

pub const ATTEMPT_COLUMNS: &str = "id, payment_id, method, status, card_brand, card_last4, \
     wallet_last4, failure_code, failure_message, created_at, updated_at";

pub const MERCHANT_COLUMNS: &str =
    "id, name, upi_id, upi_name, success_url, cancel_url, checkout_expiry_secs, created_at";

pub fn attempt_status(s: &str) -> StoreResult<crate::domain::attempt::AttemptStatus> {
    crate::domain::attempt::AttemptStatus::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("attempt status '{s}'")))
}

pub const CREDIT_COLUMNS: &str = "id, merchant_id, livemode, utr, currency, amount_minor, payer, \
     received_at, payment_id, matched_at, created_at, shortfall_minor, shortfall_accepted_by, \
     shortfall_accepted_at";

/// The endpoints an event goes to, as a WHERE clause over `webhook_endpoints` (alias `w`), given
/// the placeholders of the event's merchant, mode, type, API key and object: the merchant's
/// enabled endpoints that want the type (an API key's own only for that key's objects), and
/// a callback URL given with the object itself.
pub fn subscribers(merchant: &str, livemode: &str, kind: &str, key: &str, object: &str) -> String {
    format!(
        "w.enabled AND w.deleted_at IS NULL \
         AND (w.events LIKE '%,*,%' OR w.events LIKE '%,' || {kind} || ',%') \
         AND ((w.merchant_id = {merchant} AND w.livemode = {livemode} AND w.payment_id IS NULL \
         AND (w.key_id IS NULL OR w.key_id = {key})) OR w.payment_id = {object})"
    )
}

pub const ENDPOINT_COLUMNS: &str = "id, merchant_id, livemode, url, description, events, enabled, \
     secret, previous_secret, previous_secret_until, failing_since, disabled_reason, key_id, \
     created_at, updated_at, format, payment_id";

/// A `LIKE … ESCAPE '\'` pattern matching text that starts with `prefix` (case-folded), with
/// the user's own `%`, `_` and `\` taken literally.
pub fn prefix_pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A value of a query built at run time, bound by each backend its own way (times are
/// microseconds on SQLite, TIMESTAMPTZ on PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Bool(bool),
    Int(i64),
    Time(DateTime<Utc>),
}

/// The payments list as SQL with only the conditions the filter has, so every one of them can
/// use its index (a `($n IS NULL OR col = $n)` cannot), keyset-paginated on
/// `(created_at, id)`. A search first collects the few matching ids through their own indexes
/// (id, reference, e-mail, name prefix) and only then sorts them.
pub fn payment_list_query(
    scope: &super::Scope,
    f: &super::PaymentFilter,
    cursor: Option<(DateTime<Utc>, &str)>,
) -> (String, Vec<Arg>) {
    let mut args: Vec<Arg> = vec![
        Arg::Text(scope.merchant_id.clone()),
        Arg::Bool(scope.livemode),
    ];
    let mut push = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let mut cond = vec![
        "p.merchant_id = $1".to_string(),
        "p.livemode = $2".to_string(),
    ];
    if let Some(s) = f.status {
        cond.push(format!("p.status = {}", push(Arg::Text(s.as_str().into()))));
    }
    if let Some(r) = &f.reference {
        cond.push(format!("p.reference = {}", push(Arg::Text(r.clone()))));
    }
    if let Some(s) = &f.source {
        cond.push(format!("p.source = {}", push(Arg::Text(s.clone()))));
    }
    if let Some(t) = f.created_gte {
        cond.push(format!("p.created_at >= {}", push(Arg::Time(t))));
    }
    if let Some(t) = f.created_lte {
        cond.push(format!("p.created_at <= {}", push(Arg::Time(t))));
    }
    if let Some((at, id)) = cursor {
        let (a, b) = (push(Arg::Time(at)), push(Arg::Text(id.to_string())));
        cond.push(format!("(p.created_at, p.id) < ({a}, {b})"));
    }
    let mut with = String::new();
    let mut from = "payments p".to_string();
    if let Some(q) = &f.search {
        let text = push(Arg::Text(q.clone()));
        let lower = push(Arg::Text(q.to_lowercase()));
        let prefix = push(Arg::Text(prefix_pattern(q)));
        let mine = "merchant_id = $1 AND livemode = $2";
        with = format!(
            "WITH hits AS MATERIALIZED (\
             SELECT id FROM payments WHERE id = {text} AND {mine} \
             UNION SELECT id FROM payments WHERE {mine} AND reference = {text} \
             UNION SELECT id FROM payments WHERE {mine} AND lower(customer_email) = {lower} \
             UNION SELECT id FROM payments WHERE {mine} AND lower(customer_name) LIKE {prefix} ESCAPE '\\') "
        );
        from = "hits JOIN payments p ON p.id = hits.id".to_string();
    }
    let limit = push(Arg::Int(i64::from(f.limit)));
    let columns = PAYMENT_COLUMNS
        .split(',')
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "{with}SELECT {columns} FROM {from} WHERE {} ORDER BY p.created_at DESC, p.id DESC LIMIT {limit}",
        cond.join(" AND ")
    );
    (sql, args)
}

/// The row decoders, written once and expanded inside each backend's module, where `DbRow` is
/// its row type and `get_ts`/`get_opt_ts` read its timestamps.
macro_rules! decoders {
    () => {
        fn payment_from_row(r: &DbRow) -> StoreResult<Payment> {
            Payment::try_from(PaymentRow {
                id: r.try_get("id")?,
                merchant_id: r.try_get("merchant_id")?,
                livemode: r.try_get("livemode")?,
                key_id: r.try_get("key_id")?,
                source: r.try_get("source")?,
                status: r.try_get("status")?,
                currency: r.try_get("currency")?,
                amount_minor: r.try_get("amount_minor")?,
                refunded_minor: r.try_get("refunded_minor")?,
                description: r.try_get("description")?,
                reference: r.try_get("reference")?,
                customer_name: r.try_get("customer_name")?,
                customer_email: r.try_get("customer_email")?,
                customer_phone: r.try_get("customer_phone")?,
                metadata: r.try_get("metadata")?,
                success_url: r.try_get("success_url")?,
                cancel_url: r.try_get("cancel_url")?,
                methods: r.try_get("methods")?,
                created_at: get_ts(&r, "created_at")?,
                expires_at: get_ts(&r, "expires_at")?,
                updated_at: get_ts(&r, "updated_at")?,
                upi_id: r.try_get("upi_id")?,
                upi_name: r.try_get("upi_name")?,
                payable_minor: r.try_get("payable_minor")?,
                paid_with: r.try_get("paid_with")?,
                method_reference: r.try_get("method_reference")?,
                attempt_count: r.try_get("attempt_count")?,
                dialect_data: r.try_get("dialect_data")?,
            })
        }

        fn key_from_row(r: &DbRow) -> StoreResult<ApiKey> {
            rows::api_key(
                r.try_get("id")?,
                r.try_get("merchant_id")?,
                r.try_get("livemode")?,
                r.try_get("label")?,
                r.try_get("prefix")?,
                r.try_get("secret_hash")?,
                r.try_get("permissions")?,
                r.try_get("webhook_url")?,
                r.try_get("request_count")?,
                get_ts(&r, "created_at")?,
                get_opt_ts(&r, "revoked_at")?,
            ).and_then(|mut k| {
                let stored: Option<i32> = r.try_get("rate_limit")?;
                k.rate_limit = rows::rate_limit(stored.map(i64::from))?;
                Ok(k)
            })
        }

        /// A bucket row's answer as a grant.
        fn token_grant(granted: i64, left: f64) -> StoreResult<TokenGrant> {
            let granted = u32::try_from(granted)
                .map_err(|_| StoreError::Corrupt(format!("rate limit grant {granted}")))?;
            Ok(TokenGrant { granted, left })
        }

        fn refund_from_row(r: &DbRow) -> StoreResult<Refund> {
            let currency: String = r.try_get("currency")?;
            rows::refund(
                r.try_get("id")?,
                r.try_get("payment_id")?,
                r.try_get("merchant_id")?,
                r.try_get("livemode")?,
                &currency,
                r.try_get("amount_minor")?,
                r.try_get("reason")?,
                r.try_get("status")?,
                get_ts(&r, "created_at")?,
            )
        }

        fn event_from_row(r: &DbRow) -> StoreResult<Event> {
            Ok(Event {
                id: r.try_get("id")?,
                merchant_id: r.try_get("merchant_id")?,
                livemode: r.try_get("livemode")?,
                event_type: r.try_get("type")?,
                object_id: r.try_get("object_id")?,
                payload: r.try_get("payload")?,
                created_at: get_ts(&r, "created_at")?,
            })
        }

        fn attempt_from_row(r: &DbRow) -> StoreResult<Attempt> {
            let status: String = r.try_get("status")?;
            Ok(Attempt {
                id: r.try_get("id")?,
                payment_id: r.try_get("payment_id")?,
                method: r.try_get("method")?,
                status: rows::attempt_status(&status)?,
                card_brand: r.try_get("card_brand")?,
                card_last4: r.try_get("card_last4")?,
                wallet_last4: r.try_get("wallet_last4")?,
                failure_code: r.try_get("failure_code")?,
                failure_message: r.try_get("failure_message")?,
                created_at: get_ts(&r, "created_at")?,
                updated_at: get_ts(&r, "updated_at")?,
            })
        }

        fn credit_from_row(r: &DbRow) -> StoreResult<Credit> {
            let currency: String = r.try_get("currency")?;
            Ok(Credit {
                id: r.try_get("id")?,
                merchant_id: r.try_get("merchant_id")?,
                livemode: r.try_get("livemode")?,
                utr: r.try_get("utr")?,
                amount: crate::domain::money::Money::from_minor(
                    r.try_get("amount_minor")?,
                    rows::currency(&currency)?,
                ),
                payer: r.try_get("payer")?,
                received_at: get_ts(&r, "received_at")?,
                payment_id: r.try_get("payment_id")?,
                matched_at: get_opt_ts(&r, "matched_at")?,
                created_at: get_ts(&r, "created_at")?,
                shortfall: match (
                    r.try_get::<Option<i64>, _>("shortfall_minor")?,
                    r.try_get::<Option<String>, _>("shortfall_accepted_by")?,
                    get_opt_ts(&r, "shortfall_accepted_at")?,
                ) {
                    (Some(minor), Some(accepted_by), Some(accepted_at)) => Some(AcceptedShortfall {
                        amount: crate::domain::money::Money::from_minor(minor, rows::currency(&currency)?),
                        accepted_by,
                        accepted_at,
                    }),
                    _ => None,
                },
            })
        }

        fn user_from_row(r: &DbRow) -> StoreResult<User> {
            Ok(User {
                id: r.try_get("id")?,
                merchant_id: r.try_get("merchant_id")?,
                email: r.try_get("email")?,
                password_hash: r.try_get("password_hash")?,
                created_at: get_ts(&r, "created_at")?,
            })
        }

        fn credential_from_row(r: &DbRow) -> StoreResult<Credential> {
            Ok(Credential {
                merchant_id: r.try_get("merchant_id")?,
                livemode: r.try_get("livemode")?,
                name: r.try_get("name")?,
                public_id: r.try_get("public_id")?,
                sealed: r.try_get("secret")?,
                created_at: get_ts(&r, "created_at")?,
            })
        }

        fn endpoint_from_row(r: &DbRow) -> StoreResult<Endpoint> {
            let events: String = r.try_get("events")?;
            Ok(Endpoint {
                id: r.try_get("id")?,
                merchant_id: r.try_get("merchant_id")?,
                livemode: r.try_get("livemode")?,
                url: r.try_get("url")?,
                description: r.try_get("description")?,
                events: crate::domain::webhook::events_from_column(&events),
                enabled: r.try_get("enabled")?,
                secret: r.try_get("secret")?,
                previous_secret: r.try_get("previous_secret")?,
                previous_secret_until: get_opt_ts(&r, "previous_secret_until")?,
                failing_since: get_opt_ts(&r, "failing_since")?,
                disabled_reason: r.try_get("disabled_reason")?,
                key_id: r.try_get("key_id")?,
                format: r.try_get("format")?,
                payment_id: r.try_get("payment_id")?,
                created_at: get_ts(&r, "created_at")?,
                updated_at: get_ts(&r, "updated_at")?,
            })
        }

        fn attempt_log_from_row(r: &DbRow) -> StoreResult<AttemptLog> {
            Ok(AttemptLog {
                id: r.try_get("id")?,
                attempted_at: get_ts(&r, "attempted_at")?,
                status_code: r.try_get("status_code")?,
                latency_ms: r.try_get("latency_ms")?,
                response_body: r.try_get("response_body")?,
                error: r.try_get("error")?,
            })
        }

        fn merchant_from_row(r: &DbRow) -> StoreResult<Merchant> {
            Ok(Merchant {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                upi_id: r.try_get("upi_id")?,
                upi_name: r.try_get("upi_name")?,
                success_url: r.try_get("success_url")?,
                cancel_url: r.try_get("cancel_url")?,
                checkout_expiry_secs: r.try_get("checkout_expiry_secs")?,
                created_at: get_ts(&r, "created_at")?,
            })
        }

        impl Backend {
            /// Wakes this node's dispatcher after a commit that scheduled deliveries.
            fn signal_deliveries(&self) {
                self.deliveries.notify_one();
            }

            /// One row of `table` by id, if it belongs to the scope's merchant and mode.
            async fn scoped_row(
                &self,
                table: &str,
                columns: &str,
                scope: &Scope,
                id: &str,
            ) -> StoreResult<DbRow> {
                let sql = format!(
                    "SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2 AND livemode = $3"
                );
                sql!(&sql, id, &scope.merchant_id, scope.livemode).fetch_optional(self.reader())
                    .await?.ok_or(StoreError::NotFound)
            }
        }
    };
}
pub(super) use decoders;
