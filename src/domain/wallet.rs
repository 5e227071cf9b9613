//! The mobile wallets of Pakistan and Bangladesh, and which currency each payment method takes.
//!
//! A wallet is offered only in its own country's currency: a Bangladeshi customer has no
//! JazzCash account. In test mode a wallet is a sandbox form; in live mode the customer sends
//! the exact payable amount to the merchant's own wallet number, and the wallet's
//! "money received" SMS, forwarded by the merchant's phone, completes the payment.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wallet {
    JazzCash,
    Easypaisa,
    Bkash,
    Nagad,
}

impl Wallet {
    pub const ALL: [Wallet; 4] = [
        Wallet::JazzCash,
        Wallet::Easypaisa,
        Wallet::Bkash,
        Wallet::Nagad,
    ];

    /// The name payments list in `methods`.
    pub fn name(self) -> &'static str {
        match self {
            Wallet::JazzCash => "jazzcash",
            Wallet::Easypaisa => "easypaisa",
            Wallet::Bkash => "bkash",
            Wallet::Nagad => "nagad",
        }
    }

    /// What the customer sees.
    pub fn label(self) -> &'static str {
        match self {
            Wallet::JazzCash => "JazzCash",
            Wallet::Easypaisa => "Easypaisa",
            Wallet::Bkash => "bKash",
            Wallet::Nagad => "Nagad",
        }
    }

    pub fn parse(name: &str) -> Option<Wallet> {
        Wallet::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The only currency the wallet moves.
    pub fn currency_code(self) -> &'static str {
        match self {
            Wallet::JazzCash | Wallet::Easypaisa => "PKR",
            Wallet::Bkash | Wallet::Nagad => "BDT",
        }
    }

    /// How a number of the wallet's country is written, for hints and messages.
    pub fn number_shape(self) -> &'static str {
        match self.currency_code() {
            "PKR" => "03xxxxxxxxx",
            _ => "01xxxxxxxxx",
        }
    }

    /// A mobile account number in the wallet's country, as its SMS prints it: Pakistan's
    /// `03` and Bangladesh's `01` numbers, eleven digits. Spaces, dashes and a leading country
    /// code (`+92 300…`, `+880 17…`) are accepted and dropped.
    pub fn account_number(self, text: &str) -> Option<String> {
        let digits: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let country = match self.currency_code() {
            "PKR" => "+92",
            _ => "+880",
        };
        let prefix = &self.number_shape()[..2];
        let local = match digits.strip_prefix(country) {
            Some(rest) if !rest.starts_with('0') => format!("0{rest}"),
            _ => digits,
        };
        let valid = local.len() == 11
            && local.starts_with(prefix)
            && local.chars().all(|c| c.is_ascii_digit());
        valid.then_some(local)
    }
}

/// The one currency a method takes, if it takes only one (`card` takes any).
pub fn method_currency(method: &str) -> Option<&'static str> {
    match method {
        "upi" => Some("INR"),
        other => Wallet::parse(other).map(Wallet::currency_code),
    }
}

/// Whether a payment in `currency` may offer `method`.
pub fn method_takes(method: &str, currency: &str) -> bool {
    method_currency(method).is_none_or(|c| c == currency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wallet_takes_its_own_currency_only() {
        assert!(method_takes("jazzcash", "PKR"));
        assert!(method_takes("easypaisa", "PKR"));
        assert!(!method_takes("jazzcash", "BDT"));
        assert!(method_takes("bkash", "BDT"));
        assert!(method_takes("nagad", "BDT"));
        assert!(!method_takes("nagad", "PKR"));
        assert!(method_takes("upi", "INR"));
        assert!(!method_takes("upi", "PKR"));
        assert!(method_takes("card", "USD"));
    }

    #[test]
    fn account_numbers_are_local_mobile_numbers() {
        let jc = Wallet::JazzCash;
        assert_eq!(
            jc.account_number("0300 1234567").as_deref(),
            Some("03001234567")
        );
        assert_eq!(
            jc.account_number("+92 300-1234567").as_deref(),
            Some("03001234567")
        );
        assert_eq!(jc.account_number("01712345678"), None);
        assert_eq!(jc.account_number("0300123456"), None);
        let bk = Wallet::Bkash;
        assert_eq!(
            bk.account_number("+8801712345678").as_deref(),
            Some("01712345678")
        );
        assert_eq!(bk.account_number("03001234567"), None);
        assert_eq!(bk.account_number("0171234567x"), None);
    }
}
