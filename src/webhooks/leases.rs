//! The deliveries this node has leased and not yet finished, and how far each got, so that a
//! stopping node can hand back at once the ones it never sent instead of leaving them to wait
//! out their lease.

use crate::store::DeliveryJob;
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use std::collections::HashMap;

/// How far a leased delivery got on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for a place to be sent from.
    Queued,
    /// Its request is out.
    Sending,
    /// Answered (or failed); its result waits to be written.
    Sent,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    /// The lease end this node set: the store hands a delivery back only while it is this.
    until: DateTime<Utc>,
    stage: Stage,
}

/// The leases one dispatcher holds, by delivery id.
#[derive(Default)]
pub struct Leases {
    held: DashMap<String, Held>,
}

impl Leases {
    /// Records a batch just claimed until `until`.
    pub fn claimed(&self, jobs: &[DeliveryJob], until: DateTime<Utc>) {
        for job in jobs {
            self.held.insert(
                job.delivery_id.clone(),
                Held {
                    until,
                    stage: Stage::Queued,
                },
            );
        }
    }

    /// The delivery's request is about to go out: from here a stopping node waits for it
    /// rather than handing it back, so that it is not sent twice.
    pub fn sending(&self, delivery_id: &str) {
        self.set(delivery_id, Stage::Sending);
    }

    /// The delivery's attempt is over; only its result is still to be written.
    pub fn sent(&self, delivery_id: &str) {
        self.set(delivery_id, Stage::Sent);
    }

    /// The node is done with the delivery: its result was written (or could not be, and the
    /// lease will run out), or it was left for its lease to run out.
    pub fn forget(&self, delivery_id: &str) {
        self.held.remove(delivery_id);
    }

    /// Whether any attempt's result is still to be written.
    pub fn results_pending(&self) -> bool {
        self.held.iter().any(|h| h.stage == Stage::Sent)
    }

    /// The deliveries never sent or whose request is still out, by the lease end they were
    /// claimed with: what a stopping node hands back once its sends had their time.
    pub fn unfinished(&self) -> HashMap<DateTime<Utc>, Vec<String>> {
        let mut by_lease: HashMap<DateTime<Utc>, Vec<String>> = HashMap::new();
        for h in self.held.iter() {
            if h.stage != Stage::Sent {
                by_lease.entry(h.until).or_default().push(h.key().clone());
            }
        }
        by_lease
    }

    fn set(&self, delivery_id: &str, stage: Stage) {
        if let Some(mut h) = self.held.get_mut(delivery_id) {
            h.stage = stage;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> DeliveryJob {
        DeliveryJob {
            delivery_id: id.into(),
            event_id: "evt_1".into(),
            endpoint_id: "we_1".into(),
            format: "native".into(),
            event_type: "payment.created".into(),
            object_id: "pay_1".into(),
            attempts: 0,
            url: "http://127.0.0.1:9/hook".into(),
            secret: "whsec_c2VjcmV0".into(),
            previous_secret: None,
            payload: "{}".into(),
            lease_until: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn unsent_and_cut_short_deliveries_are_handed_back_by_their_lease() {
        let leases = Leases::default();
        let first = Utc::now();
        let second = first + chrono::Duration::seconds(1);
        leases.claimed(&[job("whd_a"), job("whd_b"), job("whd_c")], first);
        leases.claimed(&[job("whd_d")], second);
        leases.sending("whd_b");
        leases.sending("whd_c");
        leases.sent("whd_c");
        assert!(leases.results_pending());
        let mut back = leases.unfinished();
        back.values_mut().for_each(|ids| ids.sort());
        assert_eq!(back.len(), 2);
        assert_eq!(back[&first], vec!["whd_a".to_string(), "whd_b".to_string()]);
        assert_eq!(back[&second], vec!["whd_d".to_string()]);
        leases.forget("whd_c");
        assert!(!leases.results_pending());
        assert_eq!(leases.len(), 3);
        // A stage change of a delivery no longer held adds nothing.
        leases.sent("whd_c");
        assert_eq!(leases.len(), 3);
    }
}
