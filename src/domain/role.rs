//! What a dashboard user may do: a role, and the one table of which role allows which action.
//!
//! The service asks [`Role::allows`] before every dashboard page, form and team change
//! (`service/access.rs`); the templates hide what a role cannot do only as a courtesy.

/// A dashboard user's role in their merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including the team and its roles.
    Owner,
    /// Everything but the team.
    Admin,
    /// Keys, webhooks, credentials; reads payments.
    Developer,
    /// Reads payments; refunds, cancels, matches credits.
    Support,
    /// Reads, never changes.
    Viewer,
}

/// Something a user can do in the dashboard; each page and form names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The overview, payments (list, page, CSV), credits and events.
    ReadPayments,
    Refund,
    Cancel,
    /// Matching a bank credit to a payment by hand.
    MatchCredit,
    /// The keys and webhooks pages.
    ReadDeveloper,
    /// Creating, changing and revoking API keys.
    ManageKeys,
    /// Dialect credentials.
    ManageCredentials,
    /// Webhook endpoints and redelivering events.
    ManageWebhooks,
    /// Business settings and UPI.
    ManageSettings,
    /// Adding and removing users and changing roles.
    ManageTeam,
    /// The audit log.
    ReadAudit,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::ReadPayments,
        Action::Refund,
        Action::Cancel,
        Action::MatchCredit,
        Action::ReadDeveloper,
        Action::ManageKeys,
        Action::ManageCredentials,
        Action::ManageWebhooks,
        Action::ManageSettings,
        Action::ManageTeam,
        Action::ReadAudit,
    ];

    /// In words, for a refusal: "your role (support) cannot {describe}".
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadPayments => "read payments",
            Action::Refund => "refund payments",
            Action::Cancel => "cancel payments",
            Action::MatchCredit => "match credits",
            Action::ReadDeveloper => "see keys and webhooks",
            Action::ManageKeys => "change API keys",
            Action::ManageCredentials => "change credentials",
            Action::ManageWebhooks => "change webhooks",
            Action::ManageSettings => "change settings",
            Action::ManageTeam => "change the team",
            Action::ReadAudit => "read the audit log",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a role is one of owner, admin, developer, support, viewer")]
pub struct RoleError;

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Developer,
        Role::Support,
        Role::Viewer,
    ];

    pub fn parse(text: &str) -> Result<Role, RoleError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim().to_ascii_lowercase())
            .ok_or(RoleError)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Support => "support",
            Role::Viewer => "viewer",
        }
    }

    /// The one table of permissions.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Owner => true,
            Role::Admin => action != ManageTeam,
            Role::Developer => matches!(
                action,
                ReadPayments | ReadDeveloper | ManageKeys | ManageCredentials | ManageWebhooks
            ),
            Role::Support => matches!(action, ReadPayments | Refund | Cancel | MatchCredit),
            Role::Viewer => matches!(action, ReadPayments | ReadDeveloper),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_from_their_names_and_nothing_else() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert_eq!(Role::parse(" Support "), Ok(Role::Support));
        assert_eq!(Role::parse("root"), Err(RoleError));
        assert_eq!(Role::parse(""), Err(RoleError));
    }

    #[test]
    fn only_owners_change_the_team_and_viewers_change_nothing() {
        let changes = |r: Role| {
            Action::ALL
                .into_iter()
                .filter(|a| {
                    r.allows(*a)
                        && !matches!(
                            a,
                            Action::ReadPayments | Action::ReadDeveloper | Action::ReadAudit
                        )
                })
                .count()
        };
        assert_eq!(changes(Role::Viewer), 0);
        for r in Role::ALL {
            assert_eq!(r.allows(Action::ManageTeam), r == Role::Owner, "{r}");
            assert!(r.allows(Action::ReadPayments), "{r}");
        }
        assert!(Role::Support.allows(Action::Refund));
        assert!(!Role::Support.allows(Action::ManageKeys));
        assert!(Role::Developer.allows(Action::ManageKeys));
        assert!(!Role::Developer.allows(Action::Refund));
        assert!(!Role::Admin.allows(Action::ManageTeam));
        assert!(Role::Admin.allows(Action::ReadAudit));
    }
}
