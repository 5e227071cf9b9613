//! The overview's hourly roll-up of payments (see `domain/rollup.rs` for how it stays right)
//! and the day figures read from it.

use super::*;

#[async_trait]
pub trait RollupStore: Send + Sync + 'static {
    /// Payments per UTC day (of creation), currency and status since `since`: counted hours
    /// from the roll-up, the rest from the payments.
    async fn payment_stats(&self, scope: &Scope, since: DateTime<Utc>)
        -> StoreResult<Vec<DayStat>>;
    /// Where a scope's roll-up stands; `None` before its first pass.
    async fn rollup_mark(&self, scope: &Scope) -> StoreResult<Option<RollupMark>>;
    /// One pass at `now` for one scope, in one transaction: counts again the hours whose
    /// payments events say changed, counts the hours that closed since the last pass, and
    /// moves the mark. Starts the scope's roll-up if it has none. `Ok(false)` when another
    /// node was passing over the same scope (nothing was done).
    async fn roll_up(&self, scope: &Scope, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Counts older hours, about `rows` payments' worth, below where the scope's roll-up
    /// reaches. `Ok(true)` while older payments remain to be counted.
    async fn fill_rollup(&self, scope: &Scope, rows: u32) -> StoreResult<bool>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`).
macro_rules! rollups_sql {
    () => {
#[async_trait::async_trait]
impl RollupStore for Backend {
    async fn payment_stats(&self, scope: &Scope, since: DateTime<Utc>)
        -> StoreResult<Vec<DayStat>> {
        let mark = self.rollup_mark(scope).await?;
        let mut stats = Vec::new();
        for part in rollup::plan(mark.as_ref(), since) {
            let (sql, from, to) = match part {
                Part::Live { from, to } => (format!(
                    "SELECT {day} AS day, currency, status, CAST(COUNT(*) AS BIGINT) AS n, \
                     CAST(SUM(amount_minor) AS BIGINT) AS amount, \
                     CAST(SUM(refunded_minor) AS BIGINT) AS refunded FROM payments \
                     WHERE merchant_id = $1 AND livemode = $2 AND created_at >= $3 \
                     AND created_at < $4 GROUP BY 1, 2, 3", day = day_of("created_at")), from, to),
                Part::Rolled { from, to } => (format!(
                    "SELECT {day} AS day, currency, status, CAST(SUM(payments) AS BIGINT) AS n, \
                     CAST(SUM(amount_minor) AS BIGINT) AS amount, \
                     CAST(SUM(refunded_minor) AS BIGINT) AS refunded FROM payment_hours \
                     WHERE merchant_id = $1 AND livemode = $2 AND hour >= $3 AND hour < $4 \
                     GROUP BY 1, 2, 3", day = day_of("hour")), from, to),
            };
            let rows = sql!(&sql, &scope.merchant_id, scope.livemode, ts(from), ts(to))
                .fetch_all(self.reader()).await?;
            for r in &rows {
                stats.push(from_row!(r, DayStat { day, currency, status; count: get(r, "n")?,
                    amount_minor: get(r, "amount")?, refunded_minor: get(r, "refunded")? }));
            }
        }
        Ok(rollup::merge(stats))
    }

    async fn rollup_mark(&self, scope: &Scope) -> StoreResult<Option<RollupMark>> {
        let row = sql!("SELECT filled_from, closed_to, events_to FROM payment_rollups \
             WHERE merchant_id = $1 AND livemode = $2", &scope.merchant_id, scope.livemode)
            .fetch_optional(self.reader()).await?;
        row.map(|r| Ok(from_row!(&r, RollupMark { filled_from, closed_to, events_to })))
            .transpose()
    }

    async fn roll_up(&self, scope: &Scope, now: DateTime<Utc>) -> StoreResult<bool> {
        let Some(mark) = self.rollup_mark(scope).await? else {
            let new = RollupMark::new(now);
            let started = sql!("INSERT INTO payment_rollups (merchant_id, livemode, filled_from, \
                 closed_to, events_to) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &scope.merchant_id, scope.livemode, ts(new.filled_from), ts(new.closed_to),
                ts(new.events_to)).execute(self.writer()).await?.rows_affected();
            return Ok(started == 1);
        };
        let closed_to = rollup::closed_hour(now).max(mark.closed_to);
        // The counted hours whose payments changed since the last pass, read before the
        // transaction (a long read holds no write lock); an event committed meanwhile is
        // stamped after `now - SETTLE` and the next pass reads it.
        let changed: Vec<DateTime<Utc>> = sql!(&changed_hours_sql(),
            &scope.merchant_id, scope.livemode, ts(mark.events_to - rollup::SETTLE),
            ts(mark.filled_from), ts(mark.closed_to))
            .fetch_all(self.reader()).await?
            .iter().map(|r| get(r, "hour")).collect::<StoreResult<_>>()?;

        // Nothing to count: the mark moves only now and then (an idle server seldom writes),
        // which keeps the next pass's read of events short all the same.
        if changed.is_empty() && closed_to == mark.closed_to
            && now - mark.events_to < rollup::IDLE_MARK {
            return Ok(true);
        }
        let mut tx = self.begin().await?;
        let held = sql!(&format!("SELECT events_to FROM payment_rollups \
             WHERE merchant_id = $1 AND livemode = $2 {SKIP_LOCKED}"),
            &scope.merchant_id, scope.livemode).fetch_optional(&mut *tx).await?;
        let held: Option<DateTime<Utc>> = held.map(|r| get(&r, "events_to")).transpose()?;
        if held != Some(mark.events_to) {
            return Ok(false);
        }
        if !changed.is_empty() {
            count_hours_in(&mut tx, scope, &changed).await?;
        }
        if closed_to > mark.closed_to {
            count_range_in(&mut tx, scope, mark.closed_to, closed_to).await?;
        }
        sql!("UPDATE payment_rollups SET closed_to = $3, events_to = $4 \
             WHERE merchant_id = $1 AND livemode = $2",
            &scope.merchant_id, scope.livemode, ts(closed_to), ts(now)).execute(&mut *tx).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    async fn fill_rollup(&self, scope: &Scope, rows: u32) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let held = sql!(&format!("SELECT filled_from FROM payment_rollups \
             WHERE merchant_id = $1 AND livemode = $2 {SKIP_LOCKED}"),
            &scope.merchant_id, scope.livemode).fetch_optional(&mut *tx).await?;
        let Some(held) = held else {
            // No roll-up yet (the next pass starts it), or another node is on it.
            return Ok(false);
        };
        let filled_from: DateTime<Utc> = get(&held, "filled_from")?;
        if filled_from == rollup::FILLED {
            return Ok(false);
        }
        // The hour of the payment `rows` down: this chunk counts the hours from there.
        let below = sql!("SELECT created_at FROM payments WHERE merchant_id = $1 \
             AND livemode = $2 AND created_at < $3 ORDER BY created_at DESC LIMIT 1 OFFSET $4",
            &scope.merchant_id, scope.livemode, ts(filled_from), i64::from(rows))
            .fetch_optional(&mut *tx).await?;
        let from = match below {
            Some(r) => rollup::hour_floor(get(&r, "created_at")?),
            None => rollup::FILLED,
        };
        count_range_in(&mut tx, scope, from, filled_from).await?;
        sql!("UPDATE payment_rollups SET filled_from = $3 WHERE merchant_id = $1 \
             AND livemode = $2", &scope.merchant_id, scope.livemode, ts(from))
            .execute(&mut *tx).await?;
        self.commit(tx, false).await?;
        Ok(from != rollup::FILLED)
    }
}

/// The hours in `[$4, $5)` of scope `$1`/`$2` whose payments an event after `$3` says
/// changed. The condition on the type is `events_changes`'s own (migration 0024), so the read
/// goes through that index and never visits a create: a pass every few seconds under
/// thousands of creates a second would otherwise read every one of them.
fn changed_hours_sql() -> String {
    format!("SELECT DISTINCT {hour} AS hour FROM events e JOIN payments p ON p.id = \
         CASE WHEN e.type LIKE 'refund.%' \
         THEN (SELECT r.payment_id FROM refunds r WHERE r.id = e.object_id) \
         ELSE e.object_id END \
         WHERE e.merchant_id = $1 AND e.livemode = $2 AND e.created_at > $3 \
         AND e.type <> 'payment.created' AND p.created_at >= $4 AND p.created_at < $5",
        hour = hour_of("p.created_at"))
}

/// The database's plan for the read of changed hours at `since`, one line per step.
#[cfg(test)]
pub(in crate::store) async fn changed_hours_plan(pool: &sqlx::Pool<Db>, scope: &Scope,
    since: DateTime<Utc>) -> StoreResult<String> {
    let rows = sql!(&format!("{EXPLAIN} {}", changed_hours_sql()), &scope.merchant_id,
        scope.livemode, ts(since), ts(rollup::FILLED), ts(rollup::closed_hour(since)))
        .fetch_all(pool).await?;
    // The step's text is the last column on both (SQLite's `detail`, PostgreSQL's only one).
    let steps = rows.iter().map(|r| r.try_get::<String, _>(r.len() - 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(steps.join("\n"))
}

/// Counts the hours `[from, to)` of a scope again from its payments.
async fn count_range_in(tx: &mut Conn, scope: &Scope, from: DateTime<Utc>,
    to: DateTime<Utc>) -> StoreResult<()> {
    sql!("DELETE FROM payment_hours WHERE merchant_id = $1 AND livemode = $2 \
         AND hour >= $3 AND hour < $4", &scope.merchant_id, scope.livemode, ts(from), ts(to))
        .execute(&mut *tx).await?;
    sql!(&format!("INSERT INTO payment_hours (merchant_id, livemode, hour, currency, status, \
         payments, amount_minor, refunded_minor) \
         SELECT merchant_id, livemode, {hour} AS hour, currency, status, COUNT(*), \
         SUM(amount_minor), SUM(refunded_minor) FROM payments \
         WHERE merchant_id = $1 AND livemode = $2 AND created_at >= $3 AND created_at < $4 \
         GROUP BY merchant_id, livemode, 3, currency, status", hour = hour_of("created_at")),
        &scope.merchant_id, scope.livemode, ts(from), ts(to)).execute(&mut *tx).await?;
    Ok(())
}

/// Counts the listed hours of a scope again from its payments.
async fn count_hours_in(tx: &mut Conn, scope: &Scope, hours: &[DateTime<Utc>])
    -> StoreResult<()> {
    sql!(&format!("DELETE FROM payment_hours WHERE merchant_id = $1 AND livemode = $2 \
         AND hour {}", in_list("$3")), &scope.merchant_id, scope.livemode, hour_list(hours))
        .execute(&mut *tx).await?;
    sql!(&format!("INSERT INTO payment_hours (merchant_id, livemode, hour, currency, status, \
         payments, amount_minor, refunded_minor) \
         SELECT p.merchant_id, p.livemode, h.hour, p.currency, p.status, COUNT(*), \
         SUM(p.amount_minor), SUM(p.refunded_minor) FROM {hours} \
         JOIN payments p ON p.merchant_id = $1 AND p.livemode = $2 AND p.created_at >= h.hour \
         AND p.created_at < h.hour + 3600000000{MICROS} \
         GROUP BY p.merchant_id, p.livemode, h.hour, p.currency, p.status",
         hours = hours_from("$3")),
        &scope.merchant_id, scope.livemode, hour_list(hours)).execute(&mut *tx).await?;
    Ok(())
}
    };
}
pub(super) use rollups_sql;

#[cfg(test)]
mod tests {
    //! The roll-up worker reads which hours changed every few seconds; with the window full of
    //! creates (what a busy server has), that read must not visit them.
    use super::super::{postgres, sqlite, AccountStore, PgStore, Scope, SqliteStore};
    use chrono::Utc;

    const CREATES: u32 = 5_000;

    fn scope() -> Scope {
        Scope {
            merchant_id: "mer_busy".into(),
            livemode: false,
        }
    }

    /// `CREATES` payment.created events of the scope, all inside the pass's window.
    fn creates_sql(now: &str) -> String {
        format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {CREATES}) \
             INSERT INTO events (id, merchant_id, livemode, type, object_id, payload, created_at) \
             SELECT 'evt_' || n, 'mer_busy', false, 'payment.created', 'pay_' || n, '{{}}', {now} \
             FROM g"
        )
    }

    #[tokio::test]
    async fn sqlite_reads_changed_hours_without_visiting_creates() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/busy.db", dir.path().display());
        let store = SqliteStore::connect(&url).await.expect("the store opens");
        store.migrate().await.expect("migrations run");
        let pool = sqlx::SqlitePool::connect(&url)
            .await
            .expect("a second pool");
        let now = Utc::now();
        let micros = now.timestamp_micros().to_string();
        sqlx::query(&creates_sql(&micros))
            .execute(&pool)
            .await
            .expect("the creates are written");
        let plan = sqlite::changed_hours_plan(&pool, &scope(), now - chrono::Duration::seconds(60))
            .await
            .expect("the plan");
        assert!(plan.contains("USING INDEX events_changes"), "{plan}");
    }

    #[tokio::test]
    async fn postgres_reads_changed_hours_without_visiting_creates() {
        use sqlx::Executor;
        let admin = std::env::var("HUNDI_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("hundi_unit_rollup_{}", std::process::id());
        let admin_pool = sqlx::PgPool::connect(&admin)
            .await
            .expect("PostgreSQL must be running (HUNDI_TEST_PG_URL)");
        let recreate = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        admin_pool.execute(recreate.as_str()).await.expect("drop");
        admin_pool
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create");
        let mut url = url::Url::parse(&admin).expect("HUNDI_TEST_PG_URL is a URL");
        url.set_path(&name);
        let store = PgStore::connect(url.as_str(), 2)
            .await
            .expect("the store opens");
        store.migrate().await.expect("migrations run");
        let pool = store.pool().clone();
        pool.execute(creates_sql("now()").as_str())
            .await
            .expect("the creates are written");
        // As autovacuum would: the planner knows how many events there are.
        pool.execute("ANALYZE events").await.expect("analyze");
        let plan = postgres::changed_hours_plan(
            &pool,
            &scope(),
            Utc::now() - chrono::Duration::seconds(60),
        )
        .await
        .expect("the plan");
        pool.close().await;
        drop(store);
        admin_pool.execute(recreate.as_str()).await.expect("drop");
        assert!(plan.contains("using events_changes"), "{plan}");
    }
}
