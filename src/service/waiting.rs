//! Customers waiting on the checkout for their payment to finish (a UPI customer keeps the
//! page open for minutes while paying in a banking app). Each open page holds one long-lived
//! request that sleeps until the store says its payment changed (on PostgreSQL, on any node,
//! through LISTEN/NOTIFY), so waiting costs no database read: the page reads the payment
//! once when it starts waiting and once per change.
//!
//! The number of waiters is bounded in all and per client address, counted before anything
//! else is done; a page refused here falls back to polling slowly.

use crate::domain::payment::PaymentChange;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

/// How many pages may wait at once, in all and from one client address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitLimits {
    pub total: usize,
    pub per_address: usize,
}

impl Default for WaitLimits {
    fn default() -> Self {
        WaitLimits {
            total: 20_000,
            per_address: 64,
        }
    }
}

/// The waiting pages of this node, by payment.
pub struct Waiting {
    limits: WaitLimits,
    inner: Mutex<Registry>,
    /// Turns true when the server stops: every waiter ends.
    closing: watch::Sender<bool>,
}

#[derive(Default)]
struct Registry {
    /// One channel per payment someone waits on; its value counts the changes heard.
    payments: HashMap<String, watch::Sender<u64>>,
    /// Pages waiting per client (its address, or its /64 for IPv6).
    per_address: HashMap<String, usize>,
    total: usize,
}

/// Too many pages wait already (in all, or from this address).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("too many pages are waiting")]
pub struct Full;

/// Why a waiter woke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wake {
    /// Its payment may have changed: read it again.
    Changed,
    /// The server is stopping.
    Closing,
}

/// One waiting page; leaves the registry when dropped.
pub struct Waiter {
    waiting: Arc<Waiting>,
    payment_id: String,
    address: String,
    changes: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
}

impl Waiting {
    pub fn new(limits: WaitLimits) -> Waiting {
        Waiting {
            limits,
            inner: Mutex::default(),
            closing: watch::channel(false).0,
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // The registry holds counts only; one left half-updated by a panic is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets a page from `address` (a client's throttle key) wait on a payment, or refuses
    /// it when too many wait.
    pub fn admit(self: &Arc<Self>, payment_id: &str, address: &str) -> Result<Waiter, Full> {
        let mut r = self.registry();
        let from_address = r.per_address.get(address).copied().unwrap_or(0);
        if r.total >= self.limits.total || from_address >= self.limits.per_address {
            return Err(Full);
        }
        r.total += 1;
        r.per_address.insert(address.to_string(), from_address + 1);
        let changes = r
            .payments
            .entry(payment_id.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        Ok(Waiter {
            waiting: self.clone(),
            payment_id: payment_id.to_string(),
            address: address.to_string(),
            changes,
            closing: self.closing.subscribe(),
        })
    }

    /// How many pages wait now.
    pub fn count(&self) -> usize {
        self.registry().total
    }

    /// Wakes the pages waiting on this payment.
    pub fn changed(&self, payment_id: &str) {
        if let Some(changes) = self.registry().payments.get(payment_id) {
            changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Wakes every page (changes may have been missed).
    pub fn changed_all(&self) {
        for changes in self.registry().payments.values() {
            changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Ends every wait: the server is stopping.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Wakes pages as the store hears of changes, until `stopped` turns true.
    pub async fn follow(
        self: Arc<Self>,
        mut changes: broadcast::Receiver<PaymentChange>,
        mut stopped: watch::Receiver<bool>,
    ) {
        use broadcast::error::RecvError;
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(PaymentChange::Payment(id)) => self.changed(&id),
                    Ok(PaymentChange::Unknown) | Err(RecvError::Lagged(_)) => self.changed_all(),
                    Err(RecvError::Closed) => return,
                },
                _ = stopped.changed() => return,
            }
        }
    }
}

impl Waiter {
    /// Sleeps until the payment may have changed or the server stops.
    pub async fn wait(&mut self) -> Wake {
        if *self.closing.borrow() {
            return Wake::Closing;
        }
        tokio::select! {
            changed = self.changes.changed() => match changed {
                Ok(()) => Wake::Changed,
                // The registry never drops a sender a waiter holds; treat it as a change.
                Err(_) => Wake::Changed,
            },
            _ = self.closing.wait_for(|c| *c) => Wake::Closing,
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut r = self.waiting.registry();
        r.total = r.total.saturating_sub(1);
        if let Some(n) = r.per_address.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                r.per_address.remove(&self.address);
            }
        }
        // The last page waiting on this payment takes its channel away (this waiter's own
        // receiver still counts until the end of drop).
        if let Some(changes) = r.payments.get(&self.payment_id) {
            if changes.receiver_count() <= 1 {
                r.payments.remove(&self.payment_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(last: u8) -> String {
        format!("10.0.0.{last}")
    }

    #[tokio::test]
    async fn a_change_wakes_the_pages_of_that_payment_only() {
        let waiting = Arc::new(Waiting::new(WaitLimits::default()));
        let mut a = waiting.admit("pay_a", &addr(1)).unwrap();
        let mut b = waiting.admit("pay_b", &addr(1)).unwrap();
        waiting.changed("pay_a");
        assert_eq!(a.wait().await, Wake::Changed);
        let quiet = tokio::time::timeout(Duration::from_millis(50), b.wait()).await;
        assert!(quiet.is_err(), "pay_b did not change");
        // A change between two waits is not lost.
        waiting.changed("pay_b");
        assert_eq!(b.wait().await, Wake::Changed);
        waiting.close();
        assert_eq!(a.wait().await, Wake::Closing);
    }

    #[test]
    fn waiters_are_bounded_and_leave_when_dropped() {
        let waiting = Arc::new(Waiting::new(WaitLimits {
            total: 3,
            per_address: 2,
        }));
        let first = waiting.admit("pay_a", &addr(1)).unwrap();
        let second = waiting.admit("pay_a", &addr(1)).unwrap();
        assert_eq!(waiting.admit("pay_b", &addr(1)).err(), Some(Full));
        let third = waiting.admit("pay_c", &addr(2)).unwrap();
        assert_eq!(waiting.admit("pay_d", &addr(3)).err(), Some(Full));
        assert_eq!(waiting.count(), 3);
        drop((first, third));
        assert_eq!(waiting.count(), 1);
        assert!(waiting.admit("pay_e", &addr(1)).is_ok());
        drop(second);
        assert_eq!(waiting.count(), 0);
        assert!(waiting.registry().payments.is_empty());
        assert!(waiting.registry().per_address.is_empty());
    }
}
