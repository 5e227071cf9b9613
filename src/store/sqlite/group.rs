//! Group commit for SQLite creates: a durable commit costs one fsync, so the creates waiting
//! at the same moment share one transaction, and a 201 still means the row is on disk.
//!
//! Two things decide how many creates a second one writer can commit:
//! - **Statements per group, not per create.** sqlx runs each statement on its connection's
//!   own thread and hands the result back; a group's payments and events go as multi-row
//!   inserts in a few fixed sizes (`CHUNKS`), and their webhook deliveries as one statement,
//!   so a group of thirty (16 + 8 + 4 + 2) costs eleven hand-offs instead of ninety-two.
//! - **A thread of its own.** On the shared runtime every hand-off back waits behind the HTTP
//!   tasks (a wake from another thread is taken only between dozens of them); on its own
//!   one-thread runtime the writer resumes at once. Measured at 64 connections: 9,800-11,700
//!   creates a second against 6,800-7,700 on the shared runtime (docs/performance.md).
//!
//! The multi-row statements use anonymous `?` placeholders: sqlx looks up each numbered
//! parameter's name, which SQLite finds by a linear scan, so `$1`…`$1856` cost a quadratic
//! walk per statement (a third of the writer's time in a profile).
//!
//! If any create of a group breaks a rule (a unique reference, say), the group is rolled back
//! and written again one create at a time, each in a savepoint, so only that one fails.

use super::{
    bind_payment, complete_key_in, id_list, insert_audit, insert_event, record_receipt, scope_of,
    Conn, IN_IDS, NEW_ID,
};
use crate::domain::payment::Payment;
use crate::store::rows::{self, ts, PAYMENT_COLUMNS};
use crate::store::{
    classify, spawn_writer_thread, KeyCompletion, NewEvent, StoreError, StoreResult,
};
use sqlx::SqlitePool;
use std::sync::{Arc, LazyLock};
use tokio::sync::{mpsc, oneshot, Notify};

/// Most creates committed together in one transaction.
const GROUP_MAX: usize = 256;

/// Sizes of the multi-row statements a group is cut into, largest first: seven statement
/// texts per table serve every group size, so each stays prepared on the connection.
const CHUNKS: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// The columns of an event row a create writes.
const EVENT_COLUMNS: &str =
    "id, merchant_id, livemode, type, object_id, payload, created_at, key_id";

/// The multi-row inserts, one text per size of `CHUNKS`.
static PAYMENT_INSERTS: LazyLock<Vec<String>> =
    LazyLock::new(|| multi_row_inserts("payments", PAYMENT_COLUMNS));
static EVENT_INSERTS: LazyLock<Vec<String>> =
    LazyLock::new(|| multi_row_inserts("events", EVENT_COLUMNS));

/// The webhook deliveries of every event whose id is in the JSON array `$1`.
static FAN_OUT: LazyLock<String> = LazyLock::new(|| {
    let subscribers = rows::subscribers(
        "e.merchant_id",
        "e.livemode",
        "e.type",
        "e.key_id",
        "e.object_id",
    );
    format!(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, livemode, \
         status, attempts, next_attempt_at, created_at) \
         SELECT {NEW_ID}, e.id, w.id, w.merchant_id, w.livemode, 'pending', 0, e.created_at, \
         e.created_at FROM events e JOIN webhook_endpoints w ON {subscribers} WHERE e.id {IN_IDS}"
    )
});

fn multi_row_inserts(table: &str, columns: &str) -> Vec<String> {
    let width = columns.split(',').count();
    let row = format!("({})", vec!["?"; width].join(", "));
    CHUNKS
        .iter()
        .map(|&n| {
            format!(
                "INSERT INTO {table} ({columns}) VALUES {}",
                vec![row.as_str(); n].join(", ")
            )
        })
        .collect()
}

/// A payment to insert with its `payment.created` event, and where to say it is committed.
struct InsertJob {
    payment: Payment,
    event: NewEvent,
    /// The idempotency key whose response is kept in the same transaction.
    key: Option<KeyCompletion>,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The writer's queue. Dropping it (with the store) ends the writer's thread.
pub(super) struct GroupWriter {
    jobs: mpsc::Sender<InsertJob>,
}

impl GroupWriter {
    /// Starts the writer on its own thread and one-thread runtime.
    pub(super) fn start(writer: SqlitePool, deliveries: Arc<Notify>) -> StoreResult<GroupWriter> {
        let (sender, jobs) = mpsc::channel(4 * GROUP_MAX);
        spawn_writer_thread("hundi-sqlite-group", move || run(writer, jobs, deliveries))?;
        Ok(GroupWriter { jobs: sender })
    }

    /// Hands a create to the writer and returns once its group is committed.
    pub(super) async fn insert(
        &self,
        payment: &Payment,
        event: &NewEvent,
        key: Option<KeyCompletion>,
    ) -> StoreResult<()> {
        let stopped = || StoreError::Write("the SQLite writer has stopped".into());
        let (done, result) = oneshot::channel();
        let job = InsertJob {
            payment: payment.clone(),
            event: event.clone(),
            key,
            done,
        };
        self.jobs.send(job).await.map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

/// Takes what is waiting (up to `GROUP_MAX`), writes it, answers each create, and again.
async fn run(writer: SqlitePool, mut jobs: mpsc::Receiver<InsertJob>, deliveries: Arc<Notify>) {
    loop {
        // Waits for one create, then takes every other one already waiting.
        let mut group = Vec::new();
        if jobs.recv_many(&mut group, GROUP_MAX).await == 0 {
            return;
        }
        match write_group(&writer, &group).await {
            Ok((results, wake)) => {
                if wake {
                    deliveries.notify_one();
                }
                for (job, result) in group.into_iter().zip(results) {
                    let _ = job.done.send(result);
                }
            }
            Err(e) => {
                let message = e.to_string();
                for job in group {
                    let _ = job.done.send(Err(StoreError::Write(message.clone())));
                }
            }
        }
    }
}

/// Writes a group in one transaction: all at once, or, if any create fails, again one by one
/// in savepoints so that only the bad one fails. Returns each create's result and whether any
/// webhook deliveries were scheduled.
async fn write_group(
    writer: &SqlitePool,
    group: &[InsertJob],
) -> StoreResult<(Vec<StoreResult<()>>, bool)> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    match insert_all(&mut tx, group).await {
        Ok(wake) => {
            tx.commit().await?;
            return Ok((group.iter().map(|_| Ok(())).collect(), wake));
        }
        Err(StoreError::Unavailable(e)) => return Err(StoreError::Unavailable(e)),
        Err(_) => tx.rollback().await?,
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let mut wake = false;
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        sqlx::query("SAVEPOINT one").execute(&mut *tx).await?;
        let result = insert_one(&mut tx, job).await;
        if result.is_err() {
            sqlx::query("ROLLBACK TO one").execute(&mut *tx).await?;
        }
        sqlx::query("RELEASE one").execute(&mut *tx).await?;
        results.push(result.map(|w| wake |= w));
    }
    tx.commit().await?;
    Ok((results, wake))
}

/// The whole group in a handful of statements: payments and events in multi-row inserts,
/// the deliveries of every event in one, then what only some creates need.
async fn insert_all(tx: &mut Conn, group: &[InsertJob]) -> StoreResult<bool> {
    let mut rest = group;
    while !rest.is_empty() {
        let (size, n) = CHUNKS
            .iter()
            .enumerate()
            .find(|(_, &n)| n <= rest.len())
            .map_or((CHUNKS.len() - 1, 1), |(i, &n)| (i, n));
        let (chunk, after) = rest.split_at(n);
        let mut payments = sqlx::query(&PAYMENT_INSERTS[size]);
        let mut events = sqlx::query(&EVENT_INSERTS[size]);
        for job in chunk {
            let (p, e) = (&job.payment, &job.event);
            payments = bind_payment(payments, p);
            events = events
                .bind(&e.id)
                .bind(&p.merchant_id)
                .bind(p.livemode)
                .bind(&e.event_type)
                .bind(&e.object_id)
                .bind(&e.payload)
                .bind(ts(e.created_at))
                .bind(&e.key_id);
        }
        payments.execute(&mut *tx).await.map_err(classify)?;
        events.execute(&mut *tx).await.map_err(classify)?;
        rest = after;
    }
    for job in group {
        if let Some(key) = &job.key {
            complete_key_in(tx, &scope_of(&job.payment), key).await?;
        }
        if let Some(entry) = &job.event.audit {
            insert_audit(tx, entry).await?;
        }
        record_receipt(tx, &job.event).await?;
    }
    let ids: Vec<String> = group.iter().map(|j| j.event.id.clone()).collect();
    let scheduled = sqlx::query(&FAN_OUT)
        .bind(id_list(&ids))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    Ok(scheduled > 0)
}

/// One create alone, as the single-row path writes it.
async fn insert_one(tx: &mut Conn, job: &InsertJob) -> StoreResult<bool> {
    let p = &job.payment;
    if let Some(key) = &job.key {
        complete_key_in(tx, &scope_of(p), key).await?;
    }
    let sql = format!(
        "INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ({})",
        rows::PAYMENT_VALUES
    );
    bind_payment(sqlx::query(&sql), p)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    insert_event(tx, &scope_of(p), &job.event).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_chunk_size_has_its_rows_of_anonymous_placeholders() {
        for (i, &n) in CHUNKS.iter().enumerate() {
            let sql = &PAYMENT_INSERTS[i];
            assert_eq!(sql.matches('?').count(), 29 * n, "{sql}");
            assert_eq!(EVENT_INSERTS[i].matches('?').count(), 8 * n);
            assert!(!sql.contains('$'), "{sql}");
        }
    }
}
