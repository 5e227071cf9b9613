//! A payment link: a reusable address (`/l/{slug}`) where a customer pays a merchant without
//! the merchant writing code. Each payment made through it is an ordinary payment whose
//! `source` is the link's id.

use super::money::{Currency, Money};
use chrono::{DateTime, Utc};

/// What the customer pays: a fixed amount, or one they choose between two bounds.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkAmount {
    Fixed(Money),
    Chosen { min: Money, max: Money },
}

impl LinkAmount {
    pub fn currency(&self) -> Currency {
        match self {
            LinkAmount::Fixed(m) => m.currency(),
            LinkAmount::Chosen { min, .. } => min.currency(),
        }
    }

    /// The amount a customer asks to pay, checked against the link: the fixed amount whatever
    /// was typed, or a typed amount within the bounds.
    pub fn amount_for(&self, typed: Option<&str>) -> Result<Money, String> {
        match self {
            LinkAmount::Fixed(m) => Ok(*m),
            LinkAmount::Chosen { min, max } => {
                let typed = typed.map(str::trim).filter(|t| !t.is_empty());
                let text = typed.ok_or("Enter the amount to pay")?;
                let m = Money::parse(text, min.currency()).map_err(|e| e.to_string())?;
                if m.minor() < min.minor() || m.minor() > max.minor() {
                    let code = min.currency().code();
                    return Err(format!("The amount must be {min} to {max} {code}"));
                }
                Ok(m)
            }
        }
    }
}

/// Longest description; it is the payments' description too.
pub const DESCRIPTION_MAX: usize = 500;

/// Payments a link may be limited to at most (a larger limit is no limit).
pub const MAX_PAYMENTS_LIMIT: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct PaymentLink {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    /// The random part of its address, `/l/{slug}`.
    pub slug: String,
    pub amount: LinkAmount,
    pub description: String,
    /// The methods its payments offer (empty: the currency's defaults).
    pub methods: Vec<String>,
    /// It stops taking payments once this many have succeeded.
    pub max_payments: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// Why a link takes no payment now.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Closed {
    #[error("this link was deactivated")]
    Deactivated,
    #[error("this link has expired")]
    Expired,
    #[error("this link has taken all the payments it allows")]
    Full,
}

impl PaymentLink {
    /// Whether it takes a payment at `now`, having `succeeded` payments already.
    pub fn open_at(&self, now: DateTime<Utc>, succeeded: i64) -> Result<(), Closed> {
        if !self.active {
            return Err(Closed::Deactivated);
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(Closed::Expired);
        }
        if self.max_payments.is_some_and(|max| succeeded >= max) {
            return Err(Closed::Full);
        }
        Ok(())
    }
}

/// A new link's slug: 16 random letters and digits (about 95 bits), so links cannot be
/// guessed or listed.
pub fn new_slug() -> String {
    super::ids::random_token(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inr(text: &str) -> Money {
        Money::parse(text, Currency::parse("INR").expect("INR")).expect("amount")
    }

    #[test]
    fn a_chosen_amount_stays_within_its_bounds() {
        let chosen = LinkAmount::Chosen {
            min: inr("100"),
            max: inr("5000"),
        };
        assert_eq!(chosen.amount_for(Some("250.50")), Ok(inr("250.50")));
        assert!(chosen.amount_for(Some("99.99")).is_err());
        assert!(chosen.amount_for(Some("5000.01")).is_err());
        assert!(chosen.amount_for(None).is_err());
        let fixed = LinkAmount::Fixed(inr("499"));
        assert_eq!(fixed.amount_for(Some("1")), Ok(inr("499")));
    }

    #[test]
    fn a_link_closes_when_deactivated_expired_or_full() {
        let now = chrono::Utc::now();
        let link = PaymentLink {
            id: "plink_1".into(),
            merchant_id: "mer_1".into(),
            livemode: false,
            slug: new_slug(),
            amount: LinkAmount::Fixed(inr("10")),
            description: "Tea".into(),
            methods: vec![],
            max_payments: Some(2),
            expires_at: Some(now + chrono::Duration::hours(1)),
            active: true,
            created_at: now,
        };
        assert_eq!(link.open_at(now, 1), Ok(()));
        assert_eq!(link.open_at(now, 2), Err(Closed::Full));
        assert_eq!(
            link.open_at(now + chrono::Duration::hours(2), 0),
            Err(Closed::Expired)
        );
        let off = PaymentLink {
            active: false,
            ..link
        };
        assert_eq!(off.open_at(now, 0), Err(Closed::Deactivated));
    }
}
