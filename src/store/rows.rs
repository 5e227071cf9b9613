//! Converting stored columns into domain types, shared by both backends.

use super::{StoreError, StoreResult};
use crate::domain::money::Currency;
use crate::domain::payment::{Payment, PaymentStatus};
use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};

/// A timestamp as stored: INTEGER microseconds since the Unix epoch on SQLite, TIMESTAMPTZ on
/// PostgreSQL. Bound and decoded the same way on both, so the shared SQL needs no per-backend
/// conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredTime(pub DateTime<Utc>);

pub fn ts(t: DateTime<Utc>) -> StoredTime {
    StoredTime(t)
}

/// A field's type and the type its column decodes as: timestamps as `StoredTime`, anything
/// else as itself.
pub trait Stored: Sized {
    type As;
    fn from_stored(v: Self::As) -> Self;
}

macro_rules! stored_as_itself {
    ($($t:ty),*) => {
        $(impl Stored for $t {
            type As = $t;
            fn from_stored(v: $t) -> $t {
                v
            }
        })*
    };
}

stored_as_itself!(
    String,
    bool,
    i32,
    i64,
    f64,
    Vec<u8>,
    Option<String>,
    Option<i32>,
    Option<i64>
);

impl Stored for DateTime<Utc> {
    type As = StoredTime;
    fn from_stored(v: StoredTime) -> Self {
        v.0
    }
}

impl Stored for Option<DateTime<Utc>> {
    type As = Option<StoredTime>;
    fn from_stored(v: Option<StoredTime>) -> Self {
        v.map(|t| t.0)
    }
}

/// `StoredTime` on backend `$db`: bound and decoded as `$raw`, converted by `$to` and `$from`.
macro_rules! stored_time_on {
    ($db:ty, $raw:ty, $to:expr, $from:expr) => {
        impl Type<$db> for StoredTime {
            fn type_info() -> <$db as Database>::TypeInfo {
                <$raw as Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as Database>::TypeInfo) -> bool {
                <$raw as Type<$db>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, $db> for StoredTime {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <$raw as Encode<'q, $db>>::encode($to(self.0), buf)
            }
        }

        impl<'r> Decode<'r, $db> for StoredTime {
            fn decode(value: <$db as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(StoredTime($from(<$raw as Decode<'r, $db>>::decode(
                    value,
                )?)?))
            }
        }
    };
}

stored_time_on!(
    Sqlite,
    i64,
    |t: DateTime<Utc>| t.timestamp_micros(),
    |m: i64| { DateTime::from_timestamp_micros(m).ok_or_else(|| format!("timestamp {m}")) }
);
stored_time_on!(Postgres, DateTime<Utc>, |t| t, Ok::<_, BoxDynError>);

/// The payment columns, in the order every payment query selects them.
pub const PAYMENT_COLUMNS: &str = "id, merchant_id, livemode, key_id, source, status, currency, \
     amount_minor, refunded_minor, description, reference, customer_name, customer_email, \
     customer_phone, metadata, success_url, cancel_url, methods, created_at, expires_at, updated_at, \
     upi_id, upi_name, payable_minor, paid_with, method_reference, attempt_count, dialect_data, locale";

/// The placeholders of a payment's columns, as `bind_payment` binds them.
pub const PAYMENT_VALUES: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
     $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29";

pub const KEY_COLUMNS: &str =
    "id, merchant_id, livemode, label, prefix, secret_hash, permissions, \
     webhook_url, request_count, created_at, revoked_at, rate_limit";

pub const REFUND_COLUMNS: &str =
    "id, payment_id, merchant_id, livemode, currency, amount_minor, reason, status, created_at";

pub const EVENT_COLUMNS: &str = "id, merchant_id, livemode, type, object_id, payload, created_at";

pub fn currency(code: &str) -> StoreResult<Currency> {
    Currency::parse(code).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A stored language code (`None`: none was named).
pub fn locale(code: Option<String>) -> StoreResult<Option<crate::domain::locale::Locale>> {
    code.map(|c| {
        crate::domain::locale::Locale::parse(&c)
            .map_err(|_| StoreError::Corrupt(format!("locale '{c}'")))
    })
    .transpose()
}

pub fn payment_status(s: &str) -> StoreResult<PaymentStatus> {
    PaymentStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("payment status '{s}'")))
}

/// A JSON column (`what` names it in the error).
pub fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
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
    "id, name, upi_id, upi_name, success_url, cancel_url, checkout_expiry_secs, created_at, \
     require_two_factor, wallet_numbers, default_locale";

pub fn attempt_status(s: &str) -> StoreResult<crate::domain::attempt::AttemptStatus> {
    crate::domain::attempt::AttemptStatus::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("attempt status '{s}'")))
}

pub const CREDIT_COLUMNS: &str = "id, merchant_id, livemode, utr, currency, amount_minor, payer, \
     received_at, payment_id, matched_at, created_at, shortfall_minor, shortfall_accepted_by, \
     shortfall_accepted_at, method";

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
        with = format!("WITH hits AS MATERIALIZED (\
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
        cond.join(" AND "));
    (sql, args)
}

/// The row decoders and helpers, written once and expanded inside each backend's module, where
/// `Db`, `DbRow`, `Conn` and `Query` are its types and `reader()`, `writer()` and `begin()` its
/// pools and transactions; the aggregates' shared SQL relies on the same names.
macro_rules! decoders {
    () => {
        fn payment_from_row(r: &DbRow) -> StoreResult<Payment> {
            use crate::domain::payment::{Customer, Transfer};
            let (status, metadata, methods): (String, String, String) =
                (get(r, "status")?, get(r, "metadata")?, get(r, "methods")?);
            // The payee is kept in the columns named when UPI was the only transfer.
            let transfer = match (get(r, "upi_id")?, get(r, "payable_minor")?) {
                (Some(payee), Some(payable_minor)) => Some(Transfer { payee, payable_minor,
                    payee_name: get::<Option<String>>(r, "upi_name")?.unwrap_or_default() }),
                _ => None,
            };
            Ok(from_row!(r, Payment { id, merchant_id, livemode, key_id, source, refunded_minor,
                description, reference, success_url, cancel_url, paid_with, method_reference,
                attempt_count, dialect_data, created_at, expires_at, updated_at;
                amount: money(r, get(r, "amount_minor")?)?,
                status: rows::payment_status(&status)?,
                customer: Customer { name: get(r, "customer_name")?, email: get(r, "customer_email")?,
                    phone: get(r, "customer_phone")? },
                metadata: rows::json(&metadata, "payment metadata")?,
                methods: rows::json(&methods, "payment methods")?,
                transfer: transfer,
                locale: rows::locale(get(r, "locale")?)? }))
        }

        /// Binds the values of a query built at run time, each the backend's way.
        fn bind_args<'q>(
            mut query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
            args: Vec<rows::Arg>,
        ) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
            for arg in args {
                query = match arg {
                    rows::Arg::Text(t) => query.bind(t),
                    rows::Arg::Bool(b) => query.bind(b),
                    rows::Arg::Int(i) => query.bind(i),
                    rows::Arg::Time(t) => query.bind(ts(t)),
                };
            }
            query
        }

        /// A column as the field type `T` it is read into (timestamps through `StoredTime`).
        fn get<T: rows::Stored>(r: &DbRow, column: &str) -> StoreResult<T>
        where
            T::As: for<'r> sqlx::Decode<'r, Db> + sqlx::Type<Db>,
        {
            Ok(T::from_stored(r.try_get::<T::As, _>(column)?))
        }

        fn key_from_row(r: &DbRow) -> StoreResult<ApiKey> {
            let permissions: String = get(r, "permissions")?;
            Ok(from_row!(r, ApiKey { id, merchant_id, label, prefix, secret_hash, webhook_url,
                request_count, created_at, revoked_at;
                mode: crate::domain::key::Mode::from_livemode(get(r, "livemode")?),
                permissions: crate::domain::key::parse_permissions(&permissions)
                    .map_err(StoreError::Corrupt)?,
                rate_limit: rows::rate_limit(get::<Option<i32>>(r, "rate_limit")?.map(i64::from))?,
            }))
        }

        /// A bucket row's answer as a grant.
        fn token_grant(granted: i64, left: f64) -> StoreResult<TokenGrant> {
            let granted = u32::try_from(granted)
                .map_err(|_| StoreError::Corrupt(format!("rate limit grant {granted}")))?;
            Ok(TokenGrant { granted, left })
        }

        /// An amount of `currency` (a column) in minor units.
        fn money(r: &DbRow, minor: i64) -> StoreResult<crate::domain::money::Money> {
            let currency: String = get(r, "currency")?;
            Ok(crate::domain::money::Money::from_minor(minor, rows::currency(&currency)?))
        }

        fn refund_from_row(r: &DbRow) -> StoreResult<Refund> {
            Ok(from_row!(r, Refund { id, payment_id, merchant_id, livemode, reason, status,
                created_at; amount: money(r, get(r, "amount_minor")?)? }))
        }

        fn event_from_row(r: &DbRow) -> StoreResult<Event> {
            Ok(from_row!(r, Event { id, merchant_id, livemode, object_id, payload, created_at;
                event_type: get(r, "type")? }))
        }

        fn attempt_from_row(r: &DbRow) -> StoreResult<Attempt> {
            Ok(from_row!(r, Attempt { id, payment_id, method, card_brand, card_last4, wallet_last4,
                failure_code, failure_message, created_at, updated_at;
                status: rows::attempt_status(&get::<String>(r, "status")?)? }))
        }

        fn credit_from_row(r: &DbRow) -> StoreResult<Credit> {
            let shortfall = match (get(r, "shortfall_minor")?, get(r, "shortfall_accepted_by")?,
                get(r, "shortfall_accepted_at")?) {
                (Some(minor), Some(accepted_by), Some(accepted_at)) => {
                    Some(AcceptedShortfall { amount: money(r, minor)?, accepted_by, accepted_at })
                }
                _ => None,
            };
            Ok(from_row!(r, Credit { id, merchant_id, livemode, method, utr, payer, received_at, payment_id,
                matched_at, created_at; amount: money(r, get(r, "amount_minor")?)?, shortfall: shortfall }))
        }

        fn user_from_row(r: &DbRow) -> StoreResult<User> {
            let role: String = get(r, "role")?;
            Ok(from_row!(r, User { id, merchant_id, email, password_hash, created_at;
                role: crate::domain::role::Role::parse(&role)
                    .map_err(|_| StoreError::Corrupt(format!("user role {role}")))? }))
        }

        fn credential_from_row(r: &DbRow) -> StoreResult<Credential> {
            Ok(from_row!(r, Credential { merchant_id, livemode, name, public_id, created_at;
                sealed: get(r, "secret")? }))
        }

        fn endpoint_from_row(r: &DbRow) -> StoreResult<Endpoint> {
            Ok(from_row!(r, Endpoint { id, merchant_id, livemode, url, description, enabled, secret,
                previous_secret, previous_secret_until, failing_since, disabled_reason, key_id,
                format, payment_id, created_at, updated_at;
                events: crate::domain::webhook::events_from_column(&get::<String>(r, "events")?) }))
        }

        fn attempt_log_from_row(r: &DbRow) -> StoreResult<AttemptLog> {
            Ok(from_row!(r, AttemptLog { id, attempted_at, status_code, latency_ms, response_body,
                error }))
        }

        fn merchant_from_row(r: &DbRow) -> StoreResult<Merchant> {
            let wallets: Option<String> = get(r, "wallet_numbers")?;
            Ok(from_row!(r, Merchant { id, name, upi_id, upi_name, success_url, cancel_url,
                checkout_expiry_secs, created_at, require_two_factor;
                default_locale: rows::locale(get(r, "default_locale")?)?,
                wallet_numbers: crate::domain::merchant::WalletNumbers::from_column(
                    wallets.as_deref()).map_err(StoreError::Corrupt)? }))
        }

        /// A delivery without its attempts.
        fn delivery_from_row(r: &DbRow) -> StoreResult<Delivery> {
            Ok(from_row!(r, Delivery { id, event_id, endpoint_id, status, attempts, next_attempt_at,
                last_status, created_at, completed_at; log: Vec::new() }))
        }

        impl Backend {
            /// Wakes this node's dispatcher after a commit that scheduled deliveries.
            fn signal_deliveries(&self) {
                self.deliveries.notify_one();
            }

            /// Commits, then wakes this node's dispatcher when the transaction scheduled
            /// deliveries.
            async fn commit(&self, tx: sqlx::Transaction<'static, Db>, wake: bool) -> StoreResult<()> {
                tx.commit().await?;
                if wake {
                    self.signal_deliveries();
                }
                Ok(())
            }

            /// Commits a transaction that changed these payments' status and tells whoever
            /// waits on them: on PostgreSQL by a NOTIFY sent with the commit, on SQLite
            /// once it has committed.
            async fn commit_changed(&self, mut tx: sqlx::Transaction<'static, Db>, wake: bool,
                payments: &[String]) -> StoreResult<()> {
                if payments.is_empty() {
                    return self.commit(tx, wake).await;
                }
                announce_payments(&mut tx, payments).await?;
                self.commit(tx, wake).await?;
                self.payments_changed(payments);
                Ok(())
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
