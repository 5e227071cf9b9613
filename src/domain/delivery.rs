//! Webhook deliveries: one event on its way to one endpoint, and the log of each attempt.

use chrono::{DateTime, Utc};

/// A delivery a dispatcher has leased, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery_id: String,
    pub event_id: String,
    pub endpoint_id: String,
    /// The endpoint's format: native, auto, or a dialect's.
    pub format: String,
    pub event_type: String,
    /// What the event is about (a payment id for payment events).
    pub object_id: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    /// Still signing after a rotation, until its grace period ends.
    pub previous_secret: Option<String>,
    /// The event's payload: the exact bytes to send.
    pub payload: String,
    /// The lease this job was claimed under: its result is written only while the lease is
    /// still this one (a node that stalled past its lease must not overwrite the next one's).
    pub lease_until: chrono::DateTime<chrono::Utc>,
}

/// One attempt's result, to be written.
#[derive(Debug, Clone)]
pub struct FinishedDelivery {
    pub job: DeliveryJob,
    pub log: AttemptLog,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryOutcome {
    Succeeded,
    /// The receiver answered and refused it for good (a dialect where a 4xx is final); the
    /// endpoint itself is working.
    Declined,
    /// Not sent: the endpoint's format has no webhook for this event.
    Skipped,
    Retry {
        at: DateTime<Utc>,
    },
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLog {
    pub id: String,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The first KiB of the response.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub log: Vec<AttemptLog>,
}
