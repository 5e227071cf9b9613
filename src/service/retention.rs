//! Pruning webhook history past its keep (`domain/retention.rs`): a small batch at a time,
//! each in its own short transaction, with a pause between batches, so that creates never
//! wait long behind a prune.

use crate::domain::retention::{Pruned, Retention};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Rows of each kind one batch removes at most.
pub const BATCH: u32 = 1000;

/// Removes everything past its keep at `now`; returns what went.
pub async fn prune(
    store: &dyn Store,
    retention: &Retention,
    now: DateTime<Utc>,
    pause: Duration,
) -> Result<Pruned, StoreError> {
    let cut = retention.cut(now);
    let mut total = Pruned::default();
    loop {
        let done = store.prune(&cut, BATCH).await?;
        total.add(done);
        let full = u64::from(BATCH);
        if done.attempts < full && done.deliveries < full && done.events < full {
            return Ok(total);
        }
        tokio::time::sleep(pause).await;
    }
}

/// What `prune` would remove at `now`.
pub async fn prunable(
    store: &dyn Store,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<Pruned, StoreError> {
    store.prunable(&retention.cut(now)).await
}

impl super::PaymentService {
    /// [`prune`] with this service's store (the expiry worker's).
    pub async fn prune(
        &self,
        retention: &Retention,
        pause: Duration,
    ) -> Result<Pruned, StoreError> {
        prune(&*self.store, retention, crate::domain::now(), pause).await
    }
}
