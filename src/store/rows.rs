//! Converting stored columns into domain types, shared by both backends.

use super::{StoreError, StoreResult};
use crate::domain::money::{Currency, Money};
use crate::domain::payment::{Customer, Payment, PaymentStatus, UpiTarget};
use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};
use std::collections::BTreeMap;

/// A timestamp as stored: INTEGER microseconds since the Unix epoch on SQLite, TIMESTAMPTZ on
/// PostgreSQL. Bound and decoded the same way on both, so the shared SQL needs no per-backend
/// conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredTime(pub DateTime<Utc>);

pub fn ts(t: DateTime<Utc>) -> StoredTime {
    StoredTime(t)
}

impl Type<Sqlite> for StoredTime {
    fn type_info() -> <Sqlite as Database>::TypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &<Sqlite as Database>::TypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for StoredTime {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(self.0.timestamp_micros(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for StoredTime {
    fn decode(value: <Sqlite as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let micros = <i64 as Decode<'r, Sqlite>>::decode(value)?;
        let t = DateTime::from_timestamp_micros(micros);
        Ok(StoredTime(t.ok_or_else(|| format!("timestamp {micros}"))?))
    }
}

impl Type<Postgres> for StoredTime {
    fn type_info() -> <Postgres as Database>::TypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &<Postgres as Database>::TypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for StoredTime {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'q, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for StoredTime {
    fn decode(value: <Postgres as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(StoredTime(<DateTime<Utc> as Decode<'r, Postgres>>::decode(
            value,
        )?))
    }
}

/// The payment columns, in the order every payment query selects them.
pub const PAYMENT_COLUMNS: &str = "id, merchant_id, livemode, key_id, source, status, currency, \
     amount_minor, refunded_minor, description, reference, customer_name, customer_email, \
     customer_phone, metadata, success_url, cancel_url, methods, created_at, expires_at, updated_at, \
     upi_id, upi_name, payable_minor, paid_with, method_reference, attempt_count, dialect_data";

/// The placeholders of a payment's columns, as `bind_payment` binds them.
pub const PAYMENT_VALUES: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
     $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28";

pub const KEY_COLUMNS: &str =
    "id, merchant_id, livemode, label, prefix, secret_hash, permissions, \
     webhook_url, request_count, created_at, revoked_at, rate_limit";

pub const REFUND_COLUMNS: &str =
    "id, payment_id, merchant_id, livemode, currency, amount_minor, reason, status, created_at";

pub const EVENT_COLUMNS: &str = "id, merchant_id, livemode, type, object_id, payload, created_at";

/// A payment row as stored, decoded alike on both backends.
#[derive(sqlx::FromRow)]
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
    pub created_at: StoredTime,
    pub expires_at: StoredTime,
    pub updated_at: StoredTime,
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
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

pub fn metadata_json(p: &Payment) -> String {
    serde_json::to_string(&p.metadata).unwrap_or_else(|_| "{}".into())
}

pub fn methods_json(p: &Payment) -> String {
    serde_json::to_string(&p.methods).unwrap_or_else(|_| "[]".into())
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
            Payment::try_from(<PaymentRow as sqlx::FromRow<DbRow>>::from_row(r)?)
        }

        fn get_ts(r: &DbRow, column: &str) -> StoreResult<DateTime<Utc>> {
            Ok(r.try_get::<rows::StoredTime, _>(column)?.0)
        }

        fn get_opt_ts(r: &DbRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
            Ok(r.try_get::<Option<rows::StoredTime>, _>(column)?.map(|t| t.0))
        }

        /// Binds a payment's columns, in `PAYMENT_COLUMNS` order, as `$1`…`$28`.
        fn bind_payment<'q>(q: Query<'q>, p: &'q Payment) -> Query<'q> {
            q.bind(&p.id).bind(&p.merchant_id).bind(p.livemode).bind(&p.key_id).bind(&p.source)
                .bind(p.status.as_str()).bind(p.currency().code()).bind(p.amount.minor())
                .bind(p.refunded_minor).bind(&p.description).bind(&p.reference)
                .bind(&p.customer.name).bind(&p.customer.email).bind(&p.customer.phone)
                .bind(rows::metadata_json(p)).bind(&p.success_url).bind(&p.cancel_url)
                .bind(rows::methods_json(p)).bind(ts(p.created_at)).bind(ts(p.expires_at))
                .bind(ts(p.updated_at)).bind(p.upi.as_ref().map(|u| u.upi_id.clone()))
                .bind(p.upi.as_ref().map(|u| u.upi_name.clone()))
                .bind(p.upi.as_ref().map(|u| u.payable_minor)).bind(&p.paid_with)
                .bind(&p.method_reference).bind(p.attempt_count).bind(&p.dialect_data)
        }

        fn key_from_row(r: &DbRow) -> StoreResult<ApiKey> {
            let stored: Option<i32> = r.try_get("rate_limit")?;
            let permissions: String = r.try_get("permissions")?;
            Ok(ApiKey {
                id: r.try_get("id")?,
                merchant_id: r.try_get("merchant_id")?,
                mode: crate::domain::key::Mode::from_livemode(r.try_get("livemode")?),
                label: r.try_get("label")?,
                prefix: r.try_get("prefix")?,
                secret_hash: r.try_get("secret_hash")?,
                permissions: crate::domain::key::parse_permissions(&permissions)
                    .map_err(StoreError::Corrupt)?,
                webhook_url: r.try_get("webhook_url")?,
                request_count: r.try_get("request_count")?,
                created_at: get_ts(&r, "created_at")?,
                revoked_at: get_opt_ts(&r, "revoked_at")?,
                rate_limit: rows::rate_limit(stored.map(i64::from))?,
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
            Ok(Refund {
                id: r.try_get("id")?,
                payment_id: r.try_get("payment_id")?,
                merchant_id: r.try_get("merchant_id")?,
                livemode: r.try_get("livemode")?,
                amount: crate::domain::money::Money::from_minor(
                    r.try_get("amount_minor")?,
                    rows::currency(&currency)?,
                ),
                reason: r.try_get("reason")?,
                status: r.try_get("status")?,
                created_at: get_ts(&r, "created_at")?,
            })
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
            async fn scoped_row(&self, table: &str, columns: &str, scope: &Scope,
                id: &str) -> StoreResult<DbRow> {
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
