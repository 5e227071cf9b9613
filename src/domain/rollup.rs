//! The overview's hourly roll-up: payments counted per (hour created, currency, status) so
//! that the dashboard's 30-day figures read a few hundred rows instead of every payment.
//!
//! Nothing is counted in the transaction that writes a payment: hundreds of creates a second
//! would all update the same roll-up row and queue behind each other's commits. A worker
//! recomputes hours instead (`service/rollup.rs`):
//! - an hour is *closed* once every write stamped inside it has committed (`SETTLE` after
//!   its end) and is then counted from the payments;
//! - an hour already counted is counted again when an event says one of its payments changed
//!   (succeeded, expired, refunded…);
//! - hours older than the roll-up reaches are filled in small chunks (a database that had
//!   payments before the roll-up existed).
//!
//! A read takes the counted hours from the roll-up and everything else (the newest hours,
//! and hours not filled in yet) from the payments themselves, so it is never wrong, only
//! faster once the roll-up has caught up.

use super::session::DayStat;
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::collections::BTreeMap;

/// How long after its timestamp a write may still commit. Hours are closed, and events
/// re-read, this far back; a write stamped earlier and committed later than this would be
/// missed until its hour is counted again.
pub const SETTLE: Duration = Duration::seconds(30);

/// The newest closed hour is still read from the payments, so a change to a payment made in
/// the last hour or two shows at once, without waiting for the worker's next pass.
pub const LIVE_MARGIN: Duration = Duration::hours(1);

/// A pass with nothing to count still moves the mark once this long has passed.
pub const IDLE_MARK: Duration = Duration::minutes(1);

/// The roll-up reaches back to the first payment (nothing older is left to fill in).
pub const FILLED: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// Where one scope's roll-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupMark {
    /// Hours from here (inclusive) to `closed_to` are counted; [`FILLED`] once every older
    /// hour is too.
    pub filled_from: DateTime<Utc>,
    /// The first hour not counted yet (hours from here on are read from the payments).
    pub closed_to: DateTime<Utc>,
    /// Events up to here (less [`SETTLE`]) have been looked at.
    pub events_to: DateTime<Utc>,
}

impl RollupMark {
    /// A new scope's mark at `now`: nothing counted yet, older hours to fill in.
    pub fn new(now: DateTime<Utc>) -> RollupMark {
        let hour = closed_hour(now);
        RollupMark {
            filled_from: hour,
            closed_to: hour,
            events_to: now,
        }
    }
}

/// The start of the hour `t` falls in (UTC).
pub fn hour_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// The end of the newest hour that can be closed at `now`.
pub fn closed_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    hour_floor(now - SETTLE)
}

/// A stretch of creation times and where its figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Counted from the payments created in `[from, to)`.
    Live {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Read from the roll-up's hours in `[from, to)` (both on the hour).
    Rolled {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// Later than any payment's creation.
pub fn end_of_time() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// How to read the figures of payments created since `since`: the roll-up where it has
/// counted whole hours, the payments everywhere else. The parts never overlap and together
/// cover `[since, end of time)`.
pub fn plan(mark: Option<&RollupMark>, since: DateTime<Utc>) -> Vec<Part> {
    let end = end_of_time();
    let Some(mark) = mark else {
        return vec![Part::Live {
            from: since,
            to: end,
        }];
    };
    let rolled_to = (mark.closed_to - LIVE_MARGIN).max(mark.filled_from);
    // The roll-up starts on an hour: a `since` inside an hour reads that hour's rest live.
    let first_hour = hour_floor(since);
    let rolled_from = if first_hour == since {
        since
    } else {
        first_hour + Duration::hours(1)
    }
    .max(mark.filled_from);
    if rolled_from >= rolled_to {
        return vec![Part::Live {
            from: since,
            to: end,
        }];
    }
    let mut parts = Vec::with_capacity(3);
    if since < rolled_from {
        parts.push(Part::Live {
            from: since,
            to: rolled_from,
        });
    }
    parts.push(Part::Rolled {
        from: rolled_from,
        to: rolled_to,
    });
    parts.push(Part::Live {
        from: rolled_to,
        to: end,
    });
    parts
}

/// Adds up day figures read in parts (the same day, currency and status may come from more
/// than one), sorted by day, currency and status.
pub fn merge(parts: impl IntoIterator<Item = DayStat>) -> Vec<DayStat> {
    let mut sums: BTreeMap<(String, String, String), DayStat> = BTreeMap::new();
    for s in parts {
        let key = (s.day.clone(), s.currency.clone(), s.status.clone());
        match sums.get_mut(&key) {
            Some(sum) => {
                sum.count += s.count;
                sum.amount_minor += s.amount_minor;
                sum.refunded_minor += s.refunded_minor;
            }
            None => {
                sums.insert(key, s);
            }
        }
    }
    sums.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn hours_close_once_their_writes_have_settled() {
        assert_eq!(
            closed_hour(at("2026-12-02T13:00:29Z")),
            at("2026-12-02T12:00:00Z")
        );
        assert_eq!(
            closed_hour(at("2026-12-02T13:00:30Z")),
            at("2026-12-02T13:00:00Z")
        );
        assert_eq!(
            hour_floor(at("2026-12-02T13:59:59.999Z")),
            at("2026-12-02T13:00:00Z")
        );
    }

    #[test]
    fn without_a_roll_up_everything_is_read_live() {
        let since = at("2026-11-03T00:00:00Z");
        assert_eq!(
            plan(None, since),
            vec![Part::Live {
                from: since,
                to: end_of_time()
            }]
        );
        // A new scope: nothing counted yet.
        let fresh = RollupMark::new(at("2026-12-02T13:10:00Z"));
        assert_eq!(
            plan(Some(&fresh), since),
            vec![Part::Live {
                from: since,
                to: end_of_time()
            }]
        );
    }

    #[test]
    fn counted_hours_come_from_the_roll_up_and_the_rest_live() {
        let mark = RollupMark {
            filled_from: at("2026-11-20T00:00:00Z"),
            closed_to: at("2026-12-02T13:00:00Z"),
            events_to: at("2026-12-02T13:10:00Z"),
        };
        let since = at("2026-11-03T00:00:00Z");
        assert_eq!(
            plan(Some(&mark), since),
            vec![
                Part::Live {
                    from: since,
                    to: mark.filled_from
                },
                Part::Rolled {
                    from: mark.filled_from,
                    to: at("2026-12-02T12:00:00Z")
                },
                Part::Live {
                    from: at("2026-12-02T12:00:00Z"),
                    to: end_of_time()
                },
            ]
        );
        // Filled in completely, and a `since` inside an hour.
        let full = RollupMark {
            filled_from: FILLED,
            ..mark
        };
        let since = at("2026-11-03T00:30:00Z");
        assert_eq!(
            plan(Some(&full), since),
            vec![
                Part::Live {
                    from: since,
                    to: at("2026-11-03T01:00:00Z")
                },
                Part::Rolled {
                    from: at("2026-11-03T01:00:00Z"),
                    to: at("2026-12-02T12:00:00Z")
                },
                Part::Live {
                    from: at("2026-12-02T12:00:00Z"),
                    to: end_of_time()
                },
            ]
        );
    }

    #[test]
    fn parts_of_the_same_day_add_up() {
        let stat = |day: &str, status: &str, count: i64| DayStat {
            day: day.into(),
            currency: "PKR".into(),
            status: status.into(),
            count,
            amount_minor: count * 100,
            refunded_minor: 0,
        };
        let merged = merge([
            stat("2026-12-02", "succeeded", 2),
            stat("2026-12-01", "succeeded", 1),
            stat("2026-12-02", "succeeded", 3),
            stat("2026-12-02", "pending", 1),
        ]);
        assert_eq!(
            merged,
            vec![
                stat("2026-12-01", "succeeded", 1),
                stat("2026-12-02", "pending", 1),
                stat("2026-12-02", "succeeded", 5),
            ]
        );
    }
}
