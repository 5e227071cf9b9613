//! Read a mobile wallet's "money received" SMS: which wallet, how much, from whom, and the
//! wallet's transaction id.
//!
//! Wordings read (whitespace, line breaks and letter case do not matter):
//! - **bKash**, as real messages print it:
//!   `You have received Tk 5,075.00 from 01735814791. Fee Tk 0.00. Balance Tk 6,075.50. TrxID
//!   BLU1H6X87P at 30/12/2024 13:22`, also with `Ref …` after the sender, `received payment
//!   Tk …` (a merchant account), `received a deposit of Tk …`, and the agent's `Cash In Tk …
//!   from 01… successful`. Cashback (`received Cashback Tk …`) is not a payment.
//! - **Nagad**, as real messages print it, one field a line: `Money Received.` / `Amount: Tk
//!   60.00` / `Sender: 01632951891` / `Ref: N/A` / `TxnID: 75K92M3Z` / `Balance: …`, and the
//!   agent's `Cash In Received.` / `Amt:Tk 200.00` / `Uddokta:01700000002` / `TxnID: …`.
//! - **JazzCash** and **Easypaisa**: a `received Rs|PKR <amount>` sentence with the sender
//!   after `from` and the id after `TID`, `Trx ID` or `Transaction ID`. These wordings are the
//!   shape account holders describe, not copied from a real message: an SMS that reads
//!   otherwise is not understood, and its credit can be posted to `/v1/credits` by hand.
//!
//! The wallet is told by the SMS's sender (`bKash`, `NAGAD`, `JazzCash`/`8558`,
//! `easypaisa`/`3737`), else by the text. Patterns are `regex` ones, which run in time linear
//! in the text, and the text is bounded by the caller.

use crate::domain::wallet::Wallet;
use regex::Regex;
use std::sync::LazyLock;

/// Money received on a wallet, as its SMS states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletCredit {
    pub wallet: Wallet,
    /// The amount as a plain decimal (`5075.00`), commas removed.
    pub amount: String,
    /// The sender's number or name, when the SMS names one.
    pub sender: Option<String>,
    /// The wallet's transaction id, upper-cased.
    pub transaction_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletSmsError {
    #[error("the message is not from a wallet Hundi reads (bKash, Nagad, JazzCash, Easypaisa)")]
    NotAWalletSms,
    #[error("the message does not say that money was received")]
    NotACredit,
    #[error("no transaction id found in the message")]
    NoTransactionId,
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this module, checked by its tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("wallet SMS pattern {pattern}: {e}"))
}

/// An amount with Indian, Western or no digit grouping, and at most two decimals; it must
/// end at a word boundary, so `20300.00` is not read as its first three digits.
const AMOUNT: &str = r"(\d{1,3}(?:,\d{2,3})*(?:\.\d{1,2})?|\d{1,12}(?:\.\d{1,2})?)\b";

static BKASH: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b(?:you have received(?: payment| a deposit of)?|cash in) tk ?{AMOUNT} from ([^.]{{1,60}}?)(?:\.| successful)"
    ))
});
static NAGAD_LEAD: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:money|cash in) received\b"));
static NAGAD_AMOUNT: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\b(?:amount|amt) ?: ?tk ?{AMOUNT}")));
static NAGAD_SENDER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:sender|uddokta) ?: ?(\+?\d{11,13})\b"));
static PK: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\breceived (?:rs\.?|pkr) ?{AMOUNT}(?: from ([^.]{{1,60}}?)(?:\.| on | at |$))?"
    ))
});
static PK_PHONE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:\+92|0)3\d{9}\b"));
static ID: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:trxid|trx id|txnid|txn id|tid|transaction id|trans id)\b ?[:#.]? ?([a-z0-9]{6,20})\b",
    )
});

/// The wallet an SMS comes from: by its sender, else by what its text says.
fn wallet_of(sender: &str, text: &str) -> Option<Wallet> {
    let from = sender.trim().to_ascii_lowercase();
    let by_sender = match from.as_str() {
        s if s.contains("bkash") => Some(Wallet::Bkash),
        s if s.contains("nagad") || s == "16167" => Some(Wallet::Nagad),
        s if s.contains("jazzcash") || s == "8558" => Some(Wallet::JazzCash),
        s if s.contains("easypaisa") || s == "3737" => Some(Wallet::Easypaisa),
        _ => None,
    };
    let lower = text.to_ascii_lowercase();
    by_sender.or(if lower.contains("trxid") && lower.contains("tk") {
        Some(Wallet::Bkash)
    } else if lower.contains("txnid") && lower.contains("tk") {
        Some(Wallet::Nagad)
    } else if lower.contains("jazzcash") {
        Some(Wallet::JazzCash)
    } else if lower.contains("easypaisa") {
        Some(Wallet::Easypaisa)
    } else {
        None
    })
}

/// Reads a wallet's received-money SMS; `sender` is the SMS's sender as the phone saw it.
pub fn parse_wallet_sms(sender: &str, text: &str) -> Result<WalletCredit, WalletSmsError> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let wallet = wallet_of(sender, &text).ok_or(WalletSmsError::NotAWalletSms)?;
    let (amount, from) = match wallet {
        Wallet::Bkash => {
            let c = BKASH.captures(&text).ok_or(WalletSmsError::NotACredit)?;
            (c[1].to_string(), Some(c[2].trim().to_string()))
        }
        Wallet::Nagad => {
            NAGAD_LEAD.find(&text).ok_or(WalletSmsError::NotACredit)?;
            let c = NAGAD_AMOUNT
                .captures(&text)
                .ok_or(WalletSmsError::NotACredit)?;
            let sender = NAGAD_SENDER.captures(&text).map(|s| s[1].to_string());
            (c[1].to_string(), sender)
        }
        Wallet::JazzCash | Wallet::Easypaisa => {
            let c = PK.captures(&text).ok_or(WalletSmsError::NotACredit)?;
            let named = c.get(2).map(|m| m.as_str().trim().to_string());
            // A phone number in the sender's part is the most useful thing to show.
            let phone = named
                .as_deref()
                .and_then(|n| PK_PHONE.find(n))
                .map(|m| m.as_str().to_string());
            (c[1].to_string(), phone.or(named))
        }
    };
    let transaction_id = ID
        .captures(&text)
        .map(|c| c[1].to_ascii_uppercase())
        .filter(|id| id.bytes().any(|b| b.is_ascii_digit()))
        .ok_or(WalletSmsError::NoTransactionId)?;
    Ok(WalletCredit {
        wallet,
        amount: amount.replace(',', ""),
        sender: from.filter(|s| !s.is_empty()),
        transaction_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(sender: &str, text: &str) -> WalletCredit {
        parse_wallet_sms(sender, text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn bkash_received_money() {
        let c = ok("bKash", "You have received Tk 5,075.00 from 01735814791. Fee Tk 0.00. Balance Tk 6,075.50. TrxID BLU1H6X87P at 30/12/2024 13:22");
        assert_eq!(c.wallet, Wallet::Bkash);
        assert_eq!(c.amount, "5075.00");
        assert_eq!(c.sender.as_deref(), Some("01735814791"));
        assert_eq!(c.transaction_id, "BLU1H6X87P");
    }

    #[test]
    fn bkash_with_a_reference_and_no_space_before_it() {
        let c = ok("bKash", "You have received Tk 20,172.00 from 01815474012.Ref jazakallah vai. Fee Tk 0.00. Balance Tk 20,329.00. TrxID CAK845MSGS at 20/01/2025 10:53");
        assert_eq!(
            (c.amount.as_str(), c.sender.as_deref()),
            ("20172.00", Some("01815474012"))
        );
        assert_eq!(c.transaction_id, "CAK845MSGS");
    }

    #[test]
    fn bkash_merchant_payment_and_deposit_and_cash_in() {
        let c = ok("bKash", "You have received payment Tk 200.00 from 01818723483. Ref inv104335. Counter 1. Fee Tk 0.00. Balance Tk 1,250.00. TrxID 4EN44X4ALW at 23/05/2017 13:54");
        assert_eq!(
            (c.amount.as_str(), c.transaction_id.as_str()),
            ("200.00", "4EN44X4ALW")
        );
        let c = ok("bKash", "You have received a deposit of Tk 1,000.00 from Sonali Bank Account. Fee Tk 0.00. Balance Tk 1,140.34. TrxID CGJ2RQENX4 at 19/07/2025 15:43");
        assert_eq!(c.sender.as_deref(), Some("Sonali Bank Account"));
        let c = ok("bKash", "Cash In Tk 1,000.00 from 01835908735 successful. Fee Tk 0.00. Balance Tk 1,607.90. TrxID CK710WRNDB at 07/11/2025 22:21. Download App: https://bKa.sh/8app");
        assert_eq!(
            (c.amount.as_str(), c.transaction_id.as_str()),
            ("1000.00", "CK710WRNDB")
        );
    }

    #[test]
    fn bkash_from_a_business_and_without_the_sender_id() {
        let c = ok("", "You have received Tk 63.00 from OnnorokomWeb. Balance Tk 1,082.65. TrxID DE971UR13F at 09/05/2026 21:32");
        assert_eq!(c.wallet, Wallet::Bkash, "told by the text");
        assert_eq!(c.sender.as_deref(), Some("OnnorokomWeb"));
    }

    #[test]
    fn bkash_cashback_and_sending_are_not_payments() {
        assert_eq!(
            parse_wallet_sms("bKash", "Congratulations! You have received Cashback Tk 50.00. Balance Tk 71.91. TrxID BLU1H6X87Q at 29/05/2026 19:15."),
            Err(WalletSmsError::NotACredit)
        );
        assert_eq!(
            parse_wallet_sms("bKash", "Send Money Tk 500.00 to 01712345678 successful. Ref rent. Fee Tk 0.00. Balance Tk 1,000.00. TrxID BLU1H6X87R at 01/01/2025 10:00"),
            Err(WalletSmsError::NotACredit)
        );
    }

    #[test]
    fn nagad_money_received_one_field_a_line() {
        let c = ok("NAGAD", "Money Received.\nAmount: Tk 60.00\nSender: 01632951891\nRef: N/A\nTxnID: 75K92M3Z\nBalance: Tk 610.28\n24/06/2026 14:31");
        assert_eq!(c.wallet, Wallet::Nagad);
        assert_eq!(c.amount, "60.00");
        assert_eq!(c.sender.as_deref(), Some("01632951891"));
        assert_eq!(c.transaction_id, "75K92M3Z");
        let crlf = ok("NAGAD", "Money Received.\r\nAmount: Tk 20300.00\r\nSender: 01700000003\r\nRef: N/A\r\nTxnID: 73CCCCCC\r\nBalance: Tk 20300.32\r\n23/01/2025 20:58");
        assert_eq!(
            (crlf.amount.as_str(), crlf.transaction_id.as_str()),
            ("20300.00", "73CCCCCC")
        );
    }

    #[test]
    fn nagad_agent_cash_in() {
        let c = ok("NAGAD", "Cash In Received.\nAmt:Tk 200.00\nUddokta:01700000002\nTxnID: 72BBBBBB\nBal:208.65\n27/03/2024 15:54");
        assert_eq!(
            (c.amount.as_str(), c.sender.as_deref()),
            ("200.00", Some("01700000002"))
        );
        assert_eq!(c.transaction_id, "72BBBBBB");
    }

    #[test]
    fn nagad_money_sent_is_not_a_payment() {
        assert_eq!(
            parse_wallet_sms("NAGAD", "Money Sent.\nAmount: Tk 60.00\nReceiver: 01632951891\nTxnID: 75K92M3Z\nBalance: Tk 550.28"),
            Err(WalletSmsError::NotACredit)
        );
    }

    #[test]
    fn jazzcash_received_with_tid() {
        let c = ok("JazzCash", "You have received Rs 1,500.00 from ALI KHAN 03001234567 on 12-Jan-26 at 10:15 PM. TID: 29876543210. Your new balance is Rs 3,250.00");
        assert_eq!(c.wallet, Wallet::JazzCash);
        assert_eq!(c.amount, "1500.00");
        assert_eq!(c.sender.as_deref(), Some("03001234567"));
        assert_eq!(c.transaction_id, "29876543210");
    }

    #[test]
    fn easypaisa_received_with_trx_id() {
        let c = ok("3737", "Dear Customer, you have received Rs. 750.00 from Sara Ahmed. Trx ID 50568603579. Your Easypaisa account balance is Rs. 1,020.50");
        assert_eq!(c.wallet, Wallet::Easypaisa);
        assert_eq!(
            (c.amount.as_str(), c.sender.as_deref()),
            ("750.00", Some("Sara Ahmed"))
        );
        assert_eq!(c.transaction_id, "50568603579");
    }

    #[test]
    fn otp_and_bank_alerts_are_not_wallet_messages() {
        assert_eq!(
            parse_wallet_sms(
                "AD-HDFCBK",
                "Rs.1,499.00 credited to your A/c XX1234 by UPI Ref No 410512345678"
            ),
            Err(WalletSmsError::NotAWalletSms)
        );
        assert_eq!(
            parse_wallet_sms(
                "bKash",
                "Your bKash verification code is 123456. Do not share it."
            ),
            Err(WalletSmsError::NotACredit)
        );
        assert_eq!(
            parse_wallet_sms(
                "bKash",
                "You have received Tk 10.00 from 01735814791. Balance Tk 20.00."
            ),
            Err(WalletSmsError::NoTransactionId)
        );
    }

    #[test]
    fn long_texts_are_read_in_linear_time() {
        let text = format!(
            "You have received Tk 1 from {} TrxID",
            "0173581479 ".repeat(20_000)
        );
        let started = std::time::Instant::now();
        let _ = parse_wallet_sms("bKash", &text);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
