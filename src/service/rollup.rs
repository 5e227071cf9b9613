//! Keeping the overview's roll-up current (`domain/rollup.rs`): a pass over every merchant's
//! two modes, then older hours filled in a chunk at a time, each in its own short
//! transaction, so that creates never wait long behind it.

use crate::store::{Scope, Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// Payments one chunk of filling-in counts, about.
pub const FILL_ROWS: u32 = 10_000;

/// One pass over every scope at `now`, then filling in older hours for at most `fill_for`.
/// `Ok(true)` while older hours remain to fill in (come back soon).
pub async fn roll_up(
    store: &dyn Store,
    now: DateTime<Utc>,
    fill_for: Duration,
) -> Result<bool, StoreError> {
    let started = Instant::now();
    let mut unfinished = false;
    for merchant in store.list_merchants().await? {
        for livemode in [false, true] {
            let scope = Scope {
                merchant_id: merchant.id.clone(),
                livemode,
            };
            store.roll_up(&scope, now).await?;
            loop {
                if started.elapsed() >= fill_for {
                    unfinished = true;
                    break;
                }
                if !store.fill_rollup(&scope, FILL_ROWS).await? {
                    break;
                }
            }
        }
    }
    Ok(unfinished)
}

impl super::PaymentService {
    /// [`roll_up`] with this service's store, now.
    pub async fn roll_up(&self, fill_for: Duration) -> Result<bool, StoreError> {
        roll_up(&*self.store, crate::domain::now(), fill_for).await
    }
}
