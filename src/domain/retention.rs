//! How long webhook history is kept. Payments, refunds and events are the merchant's books
//! and are kept forever unless told otherwise; delivery attempts (each with the first KiB of
//! a receiver's answer) go after 90 days, as an auditor would accept.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Delivery attempts (`HUNDI_KEEP_DELIVERY_ATTEMPTS`, default 90 days).
    pub attempts: Option<Duration>,
    /// Finished deliveries, with their attempts (`HUNDI_KEEP_DELIVERIES`, default forever).
    pub deliveries: Option<Duration>,
    /// Events, with their finished deliveries (`HUNDI_KEEP_EVENTS`, default forever).
    pub events: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            attempts: Some(Duration::days(90)),
            deliveries: None,
            events: None,
        }
    }
}

/// The shortest keep a setting may ask for: a day (webhook retries run for three).
const SHORTEST: Duration = Duration::days(1);

impl Retention {
    /// A keep setting: `forever`, or a number of days (`90d`, or `90`) or hours (`36h`), at
    /// least a day.
    pub fn parse(text: &str) -> Result<Option<Duration>, String> {
        let text = text.trim().to_ascii_lowercase();
        if text == "forever" {
            return Ok(None);
        }
        let (number, unit) = match text.strip_suffix('h') {
            Some(n) => (n, Duration::hours(1)),
            None => (text.strip_suffix('d').unwrap_or(&text), Duration::days(1)),
        };
        let n: i32 = number.trim().parse().map_err(|_| {
            format!("'{text}' is not `forever`, a number of days (90d) or hours (36h)")
        })?;
        // Capped at a hundred years: beyond that is forever anyway.
        let keep = unit * n.clamp(0, 36_500 * 24);
        if keep < SHORTEST {
            return Err(format!("'{text}' is shorter than a day"));
        }
        Ok(Some(keep))
    }

    /// The times before which rows go, at `now`.
    pub fn cut(&self, now: DateTime<Utc>) -> Cut {
        let before = |keep: Option<Duration>| keep.and_then(|k| now.checked_sub_signed(k));
        Cut {
            attempts_before: before(self.attempts),
            deliveries_before: before(self.deliveries),
            events_before: before(self.events),
        }
    }
}

/// What retention removes: delivery attempts made, finished deliveries created and events
/// created before each time (`None`: kept forever).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cut {
    pub attempts_before: Option<DateTime<Utc>>,
    pub deliveries_before: Option<DateTime<Utc>>,
    pub events_before: Option<DateTime<Utc>>,
}

/// Rows removed (or, counted, that would be).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pruned {
    pub attempts: u64,
    pub deliveries: u64,
    pub events: u64,
}

impl Pruned {
    pub fn add(&mut self, other: Pruned) {
        self.attempts += other.attempts;
        self.deliveries += other.deliveries;
        self.events += other.events;
    }

    pub fn is_empty(&self) -> bool {
        *self == Pruned::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_read_as_forever_days_or_hours_of_at_least_a_day() {
        assert_eq!(Retention::parse("forever"), Ok(None));
        assert_eq!(Retention::parse("90d"), Ok(Some(Duration::days(90))));
        assert_eq!(Retention::parse(" 30 "), Ok(Some(Duration::days(30))));
        assert_eq!(Retention::parse("36h"), Ok(Some(Duration::hours(36))));
        assert!(Retention::parse("2h").is_err());
        assert!(Retention::parse("0").is_err());
        assert!(Retention::parse("-5d").is_err());
        assert!(Retention::parse("soon").is_err());
        assert_eq!(
            Retention::parse("99999999d"),
            Ok(Some(Duration::days(36_500 * 24)))
        );
    }

    #[test]
    fn the_default_keeps_the_books_and_drops_old_attempts() {
        let now = Utc::now();
        let cut = Retention::default().cut(now);
        assert_eq!(cut.attempts_before, Some(now - Duration::days(90)));
        assert_eq!((cut.deliveries_before, cut.events_before), (None, None));
    }
}
