//! A dashboard login session: which user, which merchant, which mode it shows, and the token
//! every form of the session carries (CSRF).

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// SHA-256 (hex) of the cookie's token; the token itself is never stored.
    pub token_hash: String,
    pub user_id: String,
    pub merchant_id: String,
    pub csrf: String,
    pub livemode: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub stage: Stage,
}

/// How far a session has got: only a `Full` one reaches the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Full,
    /// The password was right; the two-factor code is still asked.
    SecondFactor,
    /// The merchant requires two-factor sign-in and this user must set it up first.
    Enroll,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Full => "full",
            Stage::SecondFactor => "second_factor",
            Stage::Enroll => "enroll",
        }
    }

    /// An unknown stage (a newer version's) is the least trusted one.
    pub fn parse(text: &str) -> Stage {
        match text {
            "full" => Stage::Full,
            "enroll" => Stage::Enroll,
            _ => Stage::SecondFactor,
        }
    }
}

/// A day's payments of one currency and status (for the overview's figures and chart).
#[derive(Debug, Clone, PartialEq)]
pub struct DayStat {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub currency: String,
    pub status: String,
    pub count: i64,
    pub amount_minor: i64,
    pub refunded_minor: i64,
}

/// How a throttle counts tries at one subject: `free` tries, then each try blocks the next
/// for `first_wait`, doubling per try up to `max_wait`. A try more than `window` after the
/// previous one starts the count again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleRule {
    pub free: i32,
    pub window: chrono::Duration,
    pub first_wait: chrono::Duration,
    pub max_wait: chrono::Duration,
}
