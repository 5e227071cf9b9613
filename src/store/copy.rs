//! `hundi db copy`: the SQLite database copied into an empty PostgreSQL database, for a
//! merchant who outgrows one machine.
//!
//! The source is read in one read transaction (one snapshot; WAL lets a server go on
//! writing, though an operator stops it first so nothing lands after the snapshot). Every
//! table goes over with `COPY … FROM STDIN` inside one PostgreSQL transaction, is read back
//! inside it, and is compared with what was read by row count and checksum; only then does
//! the transaction commit. A failure anywhere leaves the target as it was: empty.
//!
//! Tables and columns are taken from the two schemas, not listed here, so a new migration
//! needs nothing in this file; the two schemas must agree (same tables, same columns), and
//! the PostgreSQL column types say how each SQLite value converts (timestamps are INTEGER
//! microseconds in SQLite and TIMESTAMPTZ in PostgreSQL, booleans 0/1 and BOOLEAN).
//! Sealed secrets go over as they are: the server on the copy needs the same master key.

use super::{AccountStore, PgStore, SqliteStore, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, Row};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target is not empty (its table {0} has rows); copy into a new, empty database")]
    TargetNotEmpty(String),
    #[error("the two schemas differ: {0} (run the same Hundi version's migrations on both)")]
    Schema(String),
    #[error("{table}.{column}: {reason}")]
    Value {
        table: String,
        column: String,
        reason: String,
    },
    #[error(
        "{table} differs after the copy: {source_rows} rows ({source_sum}) read, \
         {target_rows} rows ({target_sum}) written; nothing was kept"
    )]
    Mismatch {
        table: String,
        source_rows: u64,
        target_rows: u64,
        source_sum: String,
        target_sum: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> CopyError {
        CopyError::Store(e.into())
    }
}

/// One table as copied and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
    /// The checksum both sides agreed on (hex).
    pub checksum: String,
}

/// How a column's values convert, from its PostgreSQL type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Int4,
    Int8,
    Bool,
    Float,
    Bytes,
    Time,
}

impl Kind {
    fn of(pg_type: &str) -> Option<Kind> {
        Some(match pg_type {
            "text" | "character varying" => Kind::Text,
            "integer" | "smallint" => Kind::Int4,
            "bigint" => Kind::Int8,
            "boolean" => Kind::Bool,
            "double precision" | "real" => Kind::Float,
            "bytea" => Kind::Bytes,
            "timestamp with time zone" => Kind::Time,
            _ => return None,
        })
    }
}

/// One value on its way over; a time is microseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    Float(f64),
    Bytes(Vec<u8>),
    Time(i64),
}

struct Column {
    name: String,
    kind: Kind,
}

struct Table {
    name: String,
    columns: Vec<Column>,
}

impl Table {
    fn select(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| quote(&c.name)).collect();
        format!("SELECT {} FROM {}", columns.join(", "), quote(&self.name))
    }

    fn copy_in(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| quote(&c.name)).collect();
        format!(
            "COPY {} ({}) FROM STDIN",
            quote(&self.name),
            columns.join(", ")
        )
    }

    fn value_error(&self, column: &Column, reason: impl ToString) -> CopyError {
        CopyError::Value {
            table: self.name.clone(),
            column: column.name.clone(),
            reason: reason.to_string(),
        }
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Copies the SQLite database `source` into the PostgreSQL database `target` (migrated here
/// if it is new), which must hold no rows. Returns each table as checked.
pub async fn copy_sqlite_to_postgres(
    source: &str,
    target: &str,
) -> Result<Vec<TableCopy>, CopyError> {
    // Opened first, and never created: a copy of nothing is a mistake.
    let mut reader = sqlx::SqliteConnection::connect(&super::sqlite_url(source)).await?;
    // Both at this binary's schema (each is a no-op when it is already).
    SqliteStore::connect(source).await?.migrate().await?;
    let pg = PgStore::connect(target, 2).await?;
    pg.migrate().await?;
    let mut snapshot = reader.begin().await?;
    let mut writer = pg.pool().begin().await?;
    let tables = schema(&mut snapshot, &mut writer).await?;
    let mut copied = Vec::with_capacity(tables.len());
    for table in &tables {
        let found: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM {})",
            quote(&table.name)
        ))
        .fetch_one(&mut *writer)
        .await?;
        if found {
            return Err(CopyError::TargetNotEmpty(table.name.clone()));
        }
        let sent = send(table, &mut snapshot, &mut writer).await?;
        let kept = read_back(table, &mut writer).await?;
        if sent != kept {
            return Err(CopyError::Mismatch {
                table: table.name.clone(),
                source_rows: sent.rows,
                target_rows: kept.rows,
                source_sum: sent.hex(),
                target_sum: kept.hex(),
            });
        }
        copied.push(TableCopy {
            table: table.name.clone(),
            rows: sent.rows,
            checksum: sent.hex(),
        });
    }
    writer.commit().await?;
    snapshot.rollback().await?;
    Ok(copied)
}

/// The migrations' own table, which each database keeps for itself.
const SKIP: &str = "_sqlx_migrations";

/// The tables to copy with their columns, parents before the tables that refer to them;
/// refuses two schemas that do not agree.
async fn schema(
    sqlite: &mut sqlx::SqliteConnection,
    pg: &mut sqlx::PgConnection,
) -> Result<Vec<Table>, CopyError> {
    let source: BTreeSet<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> $1",
    )
    .bind(SKIP)
    .fetch_all(&mut *sqlite)
    .await?
    .into_iter()
    .collect();
    let mut target = target_columns(pg).await?;
    let names: BTreeSet<String> = target.keys().cloned().collect();
    if names != source {
        let only: Vec<_> = source.symmetric_difference(&names).cloned().collect();
        return Err(CopyError::Schema(format!(
            "tables in one only: {}",
            only.join(", ")
        )));
    }
    for (table, cols) in &target {
        same_columns(sqlite, table, cols).await?;
    }
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT tc.table_name::text, ccu.table_name::text \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.constraint_column_usage ccu \
         ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema \
         WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()",
    )
    .fetch_all(&mut *pg)
    .await?;
    let order = parents_first(&names, &references)?;
    Ok(order
        .into_iter()
        .filter_map(|name| {
            let columns = target.remove(&name)?;
            Some(Table { name, columns })
        })
        .collect())
}

/// PostgreSQL's tables with their columns in order, each with how its values convert.
async fn target_columns(
    pg: &mut sqlx::PgConnection,
) -> Result<BTreeMap<String, Vec<Column>>, CopyError> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name <> $1 ORDER BY table_name, ordinal_position",
    )
    .bind(SKIP)
    .fetch_all(&mut *pg)
    .await?;
    let mut target: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for (table, name, pg_type) in columns {
        let kind = Kind::of(&pg_type).ok_or_else(|| {
            CopyError::Schema(format!(
                "{table}.{name} has a type the copy does not know ({pg_type})"
            ))
        })?;
        target.entry(table).or_default().push(Column { name, kind });
    }
    Ok(target)
}

/// Refuses a table whose SQLite columns are not the PostgreSQL ones.
async fn same_columns(
    sqlite: &mut sqlx::SqliteConnection,
    table: &str,
    columns: &[Column],
) -> Result<(), CopyError> {
    let in_sqlite: BTreeSet<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
        .bind(table)
        .fetch_all(&mut *sqlite)
        .await?
        .into_iter()
        .collect();
    let in_pg: BTreeSet<String> = columns.iter().map(|c| c.name.clone()).collect();
    if in_sqlite != in_pg {
        let only: Vec<_> = in_sqlite.symmetric_difference(&in_pg).cloned().collect();
        return Err(CopyError::Schema(format!(
            "{table}: columns in one only: {}",
            only.join(", ")
        )));
    }
    Ok(())
}

/// The tables in an order where each comes after the tables it refers to (then by name).
fn parents_first(
    tables: &BTreeSet<String>,
    references: &[(String, String)],
) -> Result<Vec<String>, CopyError> {
    let mut waiting: BTreeMap<&str, BTreeSet<&str>> = tables
        .iter()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for (child, parent) in references {
        if child != parent && tables.contains(parent) {
            if let Some(parents) = waiting.get_mut(child.as_str()) {
                parents.insert(parent.as_str());
            }
        }
    }
    let mut order = Vec::with_capacity(tables.len());
    while !waiting.is_empty() {
        let ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, parents)| parents.is_empty())
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = waiting.keys().copied().collect();
            return Err(CopyError::Schema(format!(
                "the foreign keys of {} form a cycle",
                stuck.join(", ")
            )));
        }
        for t in ready {
            waiting.remove(t);
            waiting.values_mut().for_each(|parents| {
                parents.remove(t);
            });
            order.push(t.to_string());
        }
    }
    Ok(order)
}

/// A table's rows summed up regardless of their order: how many, and the wrapping sum of
/// the first 16 bytes of each row's SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Tally {
    rows: u64,
    sum: u128,
}

impl Tally {
    fn add(&mut self, row: &[Value]) {
        let mut h = Sha256::new();
        for v in row {
            match v {
                Value::Null => h.update([0]),
                Value::Text(s) => {
                    h.update([1]);
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
                Value::Int(i) => {
                    h.update([2]);
                    h.update(i.to_le_bytes());
                }
                Value::Bool(b) => h.update([3, u8::from(*b)]),
                Value::Float(f) => {
                    h.update([4]);
                    h.update(f.to_bits().to_le_bytes());
                }
                Value::Bytes(b) => {
                    h.update([5]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
                Value::Time(t) => {
                    h.update([6]);
                    h.update(t.to_le_bytes());
                }
            }
        }
        let digest = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        self.rows += 1;
        self.sum = self.sum.wrapping_add(u128::from_le_bytes(first));
    }

    fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

/// The bytes sent to PostgreSQL at a time.
const CHUNK: usize = 1 << 20;

/// Streams a table from the snapshot into `COPY`; returns what was read.
async fn send(
    table: &Table,
    snapshot: &mut sqlx::SqliteConnection,
    pg: &mut sqlx::PgConnection,
) -> Result<Tally, CopyError> {
    let mut copy = pg.copy_in_raw(&table.copy_in()).await?;
    let mut tally = Tally::default();
    let mut buf = String::with_capacity(CHUNK + 4096);
    let select = table.select();
    let mut rows = sqlx::query(&select).fetch(&mut *snapshot);
    while let Some(row) = rows.try_next().await? {
        let values = row.values(table)?;
        tally.add(&values);
        copy_line(&values, &mut buf);
        if buf.len() >= CHUNK {
            copy.send(std::mem::take(&mut buf).into_bytes()).await?;
            buf.reserve(CHUNK + 4096);
        }
    }
    if !buf.is_empty() {
        copy.send(buf.into_bytes()).await?;
    }
    copy.finish().await?;
    Ok(tally)
}

/// Reads a table back from PostgreSQL, inside the copy's transaction.
async fn read_back(table: &Table, pg: &mut sqlx::PgConnection) -> Result<Tally, CopyError> {
    let mut tally = Tally::default();
    let select = table.select();
    let mut rows = sqlx::query(&select).fetch(&mut *pg);
    while let Some(row) = rows.try_next().await? {
        tally.add(&row.values(table)?);
    }
    Ok(tally)
}

/// A row of either database, read into values. The two differ only in how they keep 32-bit
/// integers and times: SQLite keeps both as 64-bit integers (times in microseconds).
trait SourceRow: Row
where
    usize: sqlx::ColumnIndex<Self>,
{
    fn int4(&self, i: usize) -> Result<Option<i64>, sqlx::Error>;
    fn micros(&self, i: usize) -> Result<Option<i64>, sqlx::Error>;

    fn cell<'r, T>(&'r self, i: usize) -> Result<Option<T>, sqlx::Error>
    where
        T: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
    {
        self.try_get::<Option<T>, _>(i)
    }

    fn values(&self, table: &Table) -> Result<Vec<Value>, CopyError>
    where
        for<'r> String: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
        for<'r> i64: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
        for<'r> bool: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
        for<'r> f64: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
        for<'r> Vec<u8>: sqlx::Decode<'r, Self::Database> + sqlx::Type<Self::Database>,
    {
        let mut out = Vec::with_capacity(table.columns.len());
        for (i, c) in table.columns.iter().enumerate() {
            let bad = |e: sqlx::Error| table.value_error(c, e);
            let v = match c.kind {
                Kind::Text => self.cell::<String>(i).map_err(bad)?.map(Value::Text),
                Kind::Int8 => self.cell::<i64>(i).map_err(bad)?.map(Value::Int),
                Kind::Bool => self.cell::<bool>(i).map_err(bad)?.map(Value::Bool),
                Kind::Float => self.cell::<f64>(i).map_err(bad)?.map(Value::Float),
                Kind::Bytes => self.cell::<Vec<u8>>(i).map_err(bad)?.map(Value::Bytes),
                Kind::Int4 => {
                    let n = self.int4(i).map_err(bad)?;
                    if n.is_some_and(|n| i32::try_from(n).is_err()) {
                        return Err(table.value_error(c, "does not fit a 32-bit integer"));
                    }
                    n.map(Value::Int)
                }
                Kind::Time => {
                    let micros = self.micros(i).map_err(bad)?;
                    if micros.is_some_and(|m| DateTime::from_timestamp_micros(m).is_none()) {
                        return Err(table.value_error(c, "is not a time"));
                    }
                    micros.map(Value::Time)
                }
            };
            out.push(v.unwrap_or(Value::Null));
        }
        Ok(out)
    }
}

impl SourceRow for SqliteRow {
    fn int4(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        self.cell::<i64>(i)
    }

    fn micros(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        self.cell::<i64>(i)
    }
}

impl SourceRow for PgRow {
    fn int4(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        Ok(self.cell::<i32>(i)?.map(i64::from))
    }

    fn micros(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        Ok(self.cell::<DateTime<Utc>>(i)?.map(|t| t.timestamp_micros()))
    }
}

/// One row in `COPY`'s text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_line(values: &[Value], out: &mut String) {
    use std::fmt::Write;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match v {
            Value::Null => out.push_str("\\N"),
            Value::Text(s) => escape(s, out),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Value::Float(f) if f.is_nan() => out.push_str("NaN"),
            Value::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Value::Float(f) => {
                let _ = write!(out, "{f:?}");
            }
            // bytea's hex form, its backslash escaped for COPY.
            Value::Bytes(b) => {
                out.push_str("\\\\x");
                out.push_str(&hex::encode(b));
            }
            Value::Time(m) => {
                if let Some(t) = DateTime::from_timestamp_micros(*m) {
                    out.push_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true));
                }
            }
        }
    }
    out.push('\n');
}

fn escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_escape_what_copy_reads_specially() {
        let mut line = String::new();
        copy_line(
            &[
                Value::Text("a\tb\nc\\d\r\\N".into()),
                Value::Null,
                Value::Bool(true),
                Value::Bytes(vec![0, 255]),
                Value::Time(1_000_001),
                Value::Float(0.5),
            ],
            &mut line,
        );
        assert_eq!(
            line,
            "a\\tb\\nc\\\\d\\r\\\\N\t\\N\tt\t\\\\x00ff\t1970-01-01T00:00:01.000001Z\t0.5\n"
        );
    }

    #[test]
    fn parents_come_before_the_tables_that_refer_to_them() {
        let tables: BTreeSet<String> = ["refunds", "payments", "merchants", "events"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let refs = vec![
            ("refunds".to_string(), "payments".to_string()),
            ("payments".to_string(), "merchants".to_string()),
            ("events".to_string(), "merchants".to_string()),
        ];
        assert_eq!(
            parents_first(&tables, &refs).unwrap(),
            ["merchants", "events", "payments", "refunds"]
        );
        let cycle = vec![
            ("a".to_string(), "b".to_string()),
            ("b".to_string(), "a".to_string()),
        ];
        let ab: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        assert!(parents_first(&ab, &cycle).is_err());
    }

    #[test]
    fn a_tally_does_not_depend_on_row_order_but_on_every_value() {
        let (a, b) = (vec![Value::Int(1)], vec![Value::Text("1".into())]);
        let (mut one, mut two) = (Tally::default(), Tally::default());
        one.add(&a);
        one.add(&b);
        two.add(&b);
        two.add(&a);
        assert_eq!(one, two);
        let mut three = Tally::default();
        three.add(&a);
        three.add(&[Value::Text("2".into())]);
        assert_ne!(one, three);
    }
}
