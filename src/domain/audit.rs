//! The audit log: who changed what, when, and from where. Entries are written in the same
//! transaction as the change they record and are never changed or deleted (the database
//! refuses both, `migrations/*/0015_team.sql`). They never hold a secret.

use chrono::{DateTime, Utc};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A dashboard user (their id and, for reading the log, their e-mail address).
    User { id: String, email: String },
    /// The `hundi` command line: the operator of the instance.
    Cli,
    /// An API key.
    Key { id: String },
    /// Someone who is not (yet) signed in: a failed sign-in names the address tried.
    Anonymous { email: String },
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::Cli => "cli",
            Actor::Key { .. } => "key",
            Actor::Anonymous { .. } => "anonymous",
        }
    }

    /// The id the log is filtered by (a user's or key's id, `cli`, or the address tried).
    pub fn id(&self) -> &str {
        match self {
            Actor::User { id, .. } | Actor::Key { id } => id,
            Actor::Cli => "cli",
            Actor::Anonymous { email } => email,
        }
    }

    /// What a person reads in the log.
    pub fn label(&self) -> &str {
        match self {
            Actor::User { email, .. } | Actor::Anonymous { email } => email,
            Actor::Key { id } => id,
            Actor::Cli => "command line",
        }
    }
}

/// Where a request came from (empty for the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub client: Option<String>,
    pub user_agent: Option<String>,
}

/// A user agent is cut to this many characters: the log is not a place to store a payload.
pub const USER_AGENT_MAX: usize = 300;

impl Origin {
    pub fn new(client: Option<String>, user_agent: Option<&str>) -> Origin {
        Origin {
            client,
            user_agent: user_agent.map(|u| u.chars().take(USER_AGENT_MAX).collect()),
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    /// `None` for what belongs to no merchant (a failed sign-in for an unknown address).
    pub merchant_id: Option<String>,
    /// `test` or `live` for what belongs to one mode (keys, endpoints, payments).
    pub mode: Option<String>,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_label: String,
    /// `key.created`, `refund.created`, `user.role_changed`…
    pub action: String,
    pub object_id: Option<String>,
    /// A JSON object: what changed (`before` and `after` for settings), never a secret.
    pub detail: String,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Every action the log records, for the page's filter.
pub const ACTIONS: [&str; 26] = [
    "key.created",
    "key.changed",
    "key.rate_limit_changed",
    "key.revoked",
    "credential.created",
    "credential.rotated",
    "webhook_endpoint.created",
    "webhook_endpoint.changed",
    "webhook_endpoint.secret_rotated",
    "webhook_endpoint.removed",
    "event.redelivered",
    "refund.created",
    "payment.canceled",
    "credit.matched",
    "settings.changed",
    "settings.upi_changed",
    "user.created",
    "user.role_changed",
    "user.removed",
    "user.signed_in",
    "user.sign_in_failed",
    "user.two_factor_enabled",
    "user.two_factor_disabled",
    "user.two_factor_reset",
    "user.recovery_code_used",
    "settings.two_factor_required",
];

/// What the audit page asks for: newest first, before a cursor.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    /// Inclusive lower bound and exclusive upper bound of `created_at`.
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries older than this one (its time and id), for the next page.
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: u32,
}
