//! Sandbox methods for test mode: cards and the JazzCash, Easypaisa (PKR), bKash and Nagad
//! (BDT) wallets, with fixed numbers that succeed, fail or ask for a one-time code. Refused
//! for live payments.
//!
//! Cards (any future expiry, any 3-digit CVC):
//! - 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined;
//!   4000 0000 0000 9995 has insufficient funds; 4000 0027 6000 3184 asks for OTP 123456.
//!
//! Wallets (mobile number 03xxxxxxxxx in Pakistan, 01xxxxxxxxx in Bangladesh, then OTP 123456):
//! - 03000000002 and 01000000002 are declined; 03000009995 and 01000009995 have insufficient
//!   balance; any other number asks for the OTP and succeeds with 123456.

use super::{FieldError, FormInput, Method, Outcome, Tried};
use crate::domain::payment::Payment;
use crate::domain::wallet::Wallet;
use chrono::{Datelike, Utc};

pub const TEST_OTP: &str = "123456";

fn field(form: &FormInput, name: &str) -> String {
    form.get(name)
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

pub fn brand(digits: &str) -> &'static str {
    let two: u32 = digits.get(..2).and_then(|d| d.parse().ok()).unwrap_or(0);
    let four: u32 = digits.get(..4).and_then(|d| d.parse().ok()).unwrap_or(0);
    match () {
        _ if digits.starts_with('4') => "Visa",
        _ if (51..=55).contains(&two) || (2221..=2720).contains(&four) => "Mastercard",
        _ if two == 34 || two == 37 => "American Express",
        _ if digits.starts_with("62") => "UnionPay",
        _ if digits.starts_with('6') => "Discover",
        _ => "Card",
    }
}

/// Parses "MM/YY" or "MM/YYYY" (spaces allowed) into (month, four-digit year).
fn parse_expiry(text: &str) -> Option<(u32, i32)> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (m, y) = compact.split_once('/')?;
    let month: u32 = m.parse().ok()?;
    let year: i32 = match y.len() {
        2 => 2000 + y.parse::<i32>().ok()?,
        4 => y.parse().ok()?,
        _ => return None,
    };
    (1..=12).contains(&month).then_some((month, year))
}

pub struct Card;

impl Method for Card {
    fn name(&self) -> &'static str {
        "card"
    }

    fn label(&self) -> &'static str {
        "Card"
    }

    fn accepts(&self, payment: &Payment) -> bool {
        !payment.livemode
    }

    fn attempt(&self, _: &Payment, form: &FormInput) -> Result<Tried, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number: String = field(form, "number")
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if !(12..=19).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit()) {
            errors.push(FieldError {
                field: "number",
                code: "card_number_missing",
                message: "Enter the card number".into(),
            });
        } else if !luhn_ok(&number) {
            errors.push(FieldError {
                field: "number",
                code: "card_number_invalid",
                message: "This card number is not valid".into(),
            });
        }
        let today = Utc::now();
        match parse_expiry(&field(form, "expiry")) {
            None => errors.push(FieldError {
                field: "expiry",
                code: "expiry_format",
                message: "Enter the expiry as MM/YY".into(),
            }),
            Some((month, year)) if (year, month) < (today.year(), today.month()) => {
                errors.push(FieldError {
                    field: "expiry",
                    code: "card_expired",
                    message: "This card has expired".into(),
                })
            }
            Some(_) => {}
        }
        let cvc = field(form, "cvc");
        if !(3..=4).contains(&cvc.len()) || !cvc.chars().all(|c| c.is_ascii_digit()) {
            errors.push(FieldError {
                field: "cvc",
                code: "cvc",
                message: "Enter the 3 or 4 digit security code".into(),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let last4 = number[number.len() - 4..].to_string();
        let brand = brand(&number);
        let outcome = match number.as_str() {
            "4242424242424242" => Outcome::Succeeded {
                reference: format!("{brand} •••• {last4}"),
            },
            "4000000000009995" => Outcome::Declined {
                code: "insufficient_funds",
                message: "Your card has insufficient funds. Try another card.".into(),
            },
            "4000002760003184" => Outcome::NeedsOtp,
            _ => Outcome::Declined {
                code: "card_declined",
                message: "Your card was declined. Try another card.".into(),
            },
        };
        Ok(Tried {
            outcome,
            card_brand: Some(brand.to_string()),
            card_last4: Some(last4),
            wallet_last4: None,
        })
    }

    fn confirm_otp(&self, otp: &str, card_last4: Option<&str>) -> Outcome {
        if otp.trim() == TEST_OTP {
            Outcome::Succeeded {
                reference: format!("Visa •••• {}", card_last4.unwrap_or("????")),
            }
        } else {
            Outcome::Declined {
                code: "incorrect_otp",
                message: "The code was not correct. Start again to get a new one.".into(),
            }
        }
    }
}

/// A wallet's sandbox form: a mobile number, then a one-time code.
#[derive(Clone, Copy)]
pub struct SandboxWallet(pub Wallet);

impl Method for SandboxWallet {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn label(&self) -> &'static str {
        self.0.label()
    }

    fn accepts(&self, payment: &Payment) -> bool {
        !payment.livemode && payment.currency().code() == self.0.currency_code()
    }

    fn attempt(&self, _: &Payment, form: &FormInput) -> Result<Tried, Vec<FieldError>> {
        let Some(phone) = self.0.account_number(&field(form, "phone")) else {
            return Err(vec![FieldError {
                field: "phone",
                code: "phone",
                message: format!("Enter your mobile number as {}", self.0.number_shape()),
            }]);
        };
        let outcome = match &phone[2..] {
            "000000002" => Outcome::Declined {
                code: "wallet_declined",
                message: format!(
                    "{} declined this payment. Try another method.",
                    self.label()
                ),
            },
            "000009995" => Outcome::Declined {
                code: "insufficient_funds",
                message: format!("Your {} balance is too low.", self.label()),
            },
            _ => Outcome::NeedsOtp,
        };
        Ok(Tried {
            outcome,
            card_brand: None,
            card_last4: None,
            wallet_last4: Some(phone[phone.len() - 4..].to_string()),
        })
    }

    fn confirm_otp(&self, otp: &str, _: Option<&str>) -> Outcome {
        if otp.trim() == TEST_OTP {
            Outcome::Succeeded {
                reference: format!("{} {}", self.label(), crate::domain::ids::random_token(10)),
            }
        } else {
            Outcome::Declined {
                code: "incorrect_otp",
                message: "The code was not correct. Start again to get a new one.".into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormInput {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn payment() -> Payment {
        let now = Utc::now();
        Payment {
            id: "pay_1".into(),
            merchant_id: "mer_1".into(),
            livemode: false,
            key_id: None,
            source: "native".into(),
            status: crate::domain::payment::PaymentStatus::Pending,
            amount: crate::domain::money::Money::from_minor(
                100,
                crate::domain::money::Currency::parse("PKR").unwrap(),
            ),
            refunded_minor: 0,
            description: None,
            reference: None,
            customer: Default::default(),
            metadata: Default::default(),
            success_url: None,
            cancel_url: None,
            methods: vec!["card".into()],
            transfer: None,
            paid_with: None,
            method_reference: None,
            attempt_count: 0,
            dialect_data: None,
            locale: None,
            created_at: now,
            expires_at: now,
            updated_at: now,
        }
    }

    fn card(number: &str) -> Result<Tried, Vec<FieldError>> {
        Card.attempt(
            &payment(),
            &form(&[("number", number), ("expiry", "12 / 40"), ("cvc", "123")]),
        )
    }

    #[test]
    fn test_cards_behave_as_documented() {
        assert!(matches!(
            card("4242 4242 4242 4242").unwrap().outcome,
            Outcome::Succeeded { .. }
        ));
        let declined = card("4000000000000002").unwrap();
        assert!(matches!(
            declined.outcome,
            Outcome::Declined {
                code: "card_declined",
                ..
            }
        ));
        assert_eq!(declined.card_last4.as_deref(), Some("0002"));
        assert_eq!(declined.card_brand.as_deref(), Some("Visa"));
        assert!(matches!(
            card("4000000000009995").unwrap().outcome,
            Outcome::Declined {
                code: "insufficient_funds",
                ..
            }
        ));
        assert_eq!(card("4000002760003184").unwrap().outcome, Outcome::NeedsOtp);
        assert!(matches!(
            Card.confirm_otp("123456", Some("3184")),
            Outcome::Succeeded { .. }
        ));
        assert!(matches!(
            Card.confirm_otp("000000", Some("3184")),
            Outcome::Declined { .. }
        ));
    }

    #[test]
    fn bad_card_fields_are_named_and_are_not_attempts() {
        let errors = card("4242424242424241").unwrap_err();
        assert_eq!(errors[0].field, "number");
        let errors = Card
            .attempt(
                &payment(),
                &form(&[
                    ("number", "4242424242424242"),
                    ("expiry", "01/20"),
                    ("cvc", "1"),
                ]),
            )
            .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["expiry", "cvc"]);
    }

    #[test]
    fn wallets_need_a_mobile_number_and_an_otp() {
        let w = SandboxWallet(Wallet::JazzCash);
        assert_eq!(
            w.attempt(&payment(), &form(&[("phone", "12345")]))
                .unwrap_err()[0]
                .field,
            "phone"
        );
        let tried = w
            .attempt(&payment(), &form(&[("phone", "0300 1234567")]))
            .unwrap();
        assert_eq!(tried.outcome, Outcome::NeedsOtp);
        assert_eq!(tried.wallet_last4.as_deref(), Some("4567"));
        assert!(matches!(
            w.attempt(&payment(), &form(&[("phone", "03000000002")]))
                .unwrap()
                .outcome,
            Outcome::Declined { .. }
        ));
        assert!(matches!(
            w.confirm_otp("123456", None),
            Outcome::Succeeded { .. }
        ));
    }

    #[test]
    fn a_bangladeshi_payment_offers_bangladeshi_wallets_only() {
        let mut p = payment();
        p.amount = crate::domain::money::Money::from_minor(
            100,
            crate::domain::money::Currency::parse("BDT").unwrap(),
        );
        p.methods = crate::domain::payment::METHODS.map(String::from).to_vec();
        let offered: Vec<&str> = crate::methods::offered(&p)
            .iter()
            .map(|m| m.name())
            .collect();
        assert_eq!(offered, ["card", "bkash", "nagad"]);
        let bkash = SandboxWallet(Wallet::Bkash);
        assert_eq!(
            bkash
                .attempt(&p, &form(&[("phone", "03001234567")]))
                .unwrap_err()[0]
                .message,
            "Enter your mobile number as 01xxxxxxxxx"
        );
        assert_eq!(
            bkash
                .attempt(&p, &form(&[("phone", "01712345678")]))
                .unwrap()
                .outcome,
            Outcome::NeedsOtp
        );
        assert!(matches!(
            bkash
                .attempt(&p, &form(&[("phone", "01000000002")]))
                .unwrap()
                .outcome,
            Outcome::Declined { .. }
        ));
    }

    #[test]
    fn sandbox_refuses_live_payments() {
        let mut p = payment();
        p.livemode = true;
        assert!(!Card.accepts(&p));
        assert!(!SandboxWallet(Wallet::Easypaisa).accepts(&p));
    }

    #[test]
    fn luhn_and_brands() {
        assert!(luhn_ok("4242424242424242"));
        assert!(!luhn_ok("4242424242424243"));
        assert_eq!(brand("5555555555554444"), "Mastercard");
        assert_eq!(brand("378282246310005"), "American Express");
    }
}
