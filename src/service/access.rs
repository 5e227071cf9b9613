//! Who is acting, what they may do, and the audit entry their change writes.
//!
//! Every command that changes a merchant's data takes an [`Acting`]: the dashboard builds one
//! from the signed-in user (whose role limits it), the API from its key, the command line for
//! the operator. The command asks [`Acting::require`] before it touches anything, so a
//! forbidden action changes nothing whatever the page showed, and hands the store the entry
//! [`Acting::entry`] makes, written in the change's own transaction.

use super::Scope;
use crate::domain::audit::{Actor, AuditEntry, Origin};
use crate::domain::ids::new_id;
use crate::domain::merchant::User;
use crate::domain::role::{Action, Role};

/// An action the actor's role does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("your role ({role}) cannot {}", .action.describe())]
pub struct Forbidden {
    pub role: Role,
    pub action: Action,
}

/// Someone acting on one merchant, in one mode when the action has one.
#[derive(Debug, Clone)]
pub struct Acting {
    actor: Actor,
    /// `None`: not limited by a role (the command line, an API key, whose own permissions
    /// the API checks).
    role: Option<Role>,
    merchant_id: String,
    livemode: bool,
    origin: Origin,
    /// Whether changes are written to the audit log: not for a customer's own cancel on the
    /// checkout page, which is the payment's history, not the team's.
    audited: bool,
}

impl Acting {
    /// A signed-in dashboard user, in the mode their session shows.
    pub fn user(user: &User, livemode: bool, origin: Origin) -> Acting {
        Acting {
            actor: Actor::User {
                id: user.id.clone(),
                email: user.email.clone(),
            },
            role: Some(user.role),
            merchant_id: user.merchant_id.clone(),
            livemode,
            origin,
            audited: true,
        }
    }

    /// The operator at the command line.
    pub fn cli(merchant_id: &str, livemode: bool) -> Acting {
        Acting {
            actor: Actor::Cli,
            role: None,
            merchant_id: merchant_id.to_string(),
            livemode,
            origin: Origin::default(),
            audited: true,
        }
    }

    /// An API key (its merchant and mode are the scope).
    pub fn key(key_id: &str, scope: &Scope, origin: Origin) -> Acting {
        Acting {
            actor: Actor::Key {
                id: key_id.to_string(),
            },
            role: None,
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            origin,
            audited: true,
        }
    }

    /// A customer on a payment's own page (nothing they do is the team's audit).
    pub fn customer(scope: &Scope) -> Acting {
        Acting {
            actor: Actor::Anonymous {
                email: String::new(),
            },
            role: None,
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            origin: Origin::default(),
            audited: false,
        }
    }

    /// Refuses an action the role does not allow.
    pub fn require(&self, action: Action) -> Result<(), Forbidden> {
        match self.role {
            Some(role) if !role.allows(action) => Err(Forbidden { role, action }),
            _ => Ok(()),
        }
    }

    /// Whether the role allows an action (for showing or hiding a form).
    pub fn may(&self, action: Action) -> bool {
        self.require(action).is_ok()
    }

    pub fn role(&self) -> Option<Role> {
        self.role
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn merchant_id(&self) -> &str {
        &self.merchant_id
    }

    pub fn scope(&self) -> Scope {
        Scope {
            merchant_id: self.merchant_id.clone(),
            livemode: self.livemode,
        }
    }

    /// The same actor in the other mode (a key or endpoint of a mode the session is not in).
    pub fn in_mode(&self, livemode: bool) -> Acting {
        Acting {
            livemode,
            ..self.clone()
        }
    }

    /// The entry that records `action` on `object_id` in the current mode, with `detail`
    /// (what changed; never a secret). `None` when this actor is not audited.
    pub fn entry(
        &self,
        action: &str,
        object_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Option<AuditEntry> {
        let mode = if self.livemode { "live" } else { "test" };
        self.audited
            .then(|| self.entry_in(Some(mode), action, object_id, detail))
    }

    /// An entry about the merchant as a whole (settings, the team), in no mode.
    pub fn merchant_entry(
        &self,
        action: &str,
        object_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Option<AuditEntry> {
        self.audited
            .then(|| self.entry_in(None, action, object_id, detail))
    }

    fn entry_in(
        &self,
        mode: Option<&str>,
        action: &str,
        object_id: Option<&str>,
        detail: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            id: new_id("aud"),
            merchant_id: Some(self.merchant_id.clone()),
            mode: mode.map(str::to_string),
            actor_kind: self.actor.kind().to_string(),
            actor_id: self.actor.id().to_string(),
            actor_label: self.actor.label().to_string(),
            action: action.to_string(),
            object_id: object_id.map(str::to_string),
            detail: detail.to_string(),
            client_addr: self.origin.client.clone(),
            user_agent: self.origin.user_agent.clone(),
            created_at: crate::domain::now(),
        }
    }
}

/// A sign-in refused for an address (known or not): nobody is signed in yet, so the entry
/// names the address tried and, when it is a user's, that user's merchant.
pub fn refused_sign_in(merchant_id: Option<&str>, email: &str, origin: &Origin) -> AuditEntry {
    AuditEntry {
        id: new_id("aud"),
        merchant_id: merchant_id.map(str::to_string),
        mode: None,
        actor_kind: "anonymous".into(),
        actor_id: email.to_string(),
        actor_label: email.to_string(),
        action: "user.sign_in_failed".into(),
        object_id: None,
        detail: "{}".into(),
        client_addr: origin.client.clone(),
        user_agent: origin.user_agent.clone(),
        created_at: crate::domain::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> User {
        User {
            id: "usr_1".into(),
            merchant_id: "mer_1".into(),
            email: "a@shop.example".into(),
            password_hash: String::new(),
            role,
            created_at: crate::domain::now(),
        }
    }

    #[test]
    fn a_user_is_limited_by_their_role_and_the_cli_is_not() {
        let support = Acting::user(&user(Role::Support), false, Origin::default());
        assert_eq!(
            support.require(Action::ManageKeys),
            Err(Forbidden {
                role: Role::Support,
                action: Action::ManageKeys
            })
        );
        assert!(support.require(Action::Refund).is_ok());
        let cli = Acting::cli("mer_1", true);
        assert!(Action::ALL.iter().all(|a| cli.may(*a)));
    }

    #[test]
    fn entries_name_the_actor_and_where_they_came_from() {
        let origin = Origin::new(Some("192.0.2.1".into()), Some(&"x".repeat(1000)));
        let e = Acting::user(&user(Role::Owner), true, origin)
            .entry("key.revoked", Some("key_1"), serde_json::json!({}))
            .unwrap();
        assert_eq!(
            (
                e.actor_kind.as_str(),
                e.actor_id.as_str(),
                e.actor_label.as_str()
            ),
            ("user", "usr_1", "a@shop.example")
        );
        assert_eq!(e.mode.as_deref(), Some("live"));
        assert_eq!(e.client_addr.as_deref(), Some("192.0.2.1"));
        assert_eq!(e.user_agent.map(|u| u.len()), Some(300));
        let customer = Acting::customer(&Scope {
            merchant_id: "mer_1".into(),
            livemode: false,
        });
        assert!(customer
            .entry("payment.canceled", None, serde_json::json!({}))
            .is_none());
    }
}
