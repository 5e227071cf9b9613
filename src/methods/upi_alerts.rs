//! Parse Indian bank credit alerts (SMS or e-mail bodies) for a received
//! UPI / IMPS / NEFT payment.
//!
//! This is a pure module: no I/O, no regex, just a small hand-written scanner.
//! [`parse_credit_alert`] turns text such as
//!
//! ```text
//! Dear Customer, Rs.1,499.00 credited to your A/c XX1234 on 14-04-26 by
//! UPI Ref No 410512345678. Avl Bal Rs.25,000.00 -SBI
//! ```
//!
//! into a [`ParsedCredit`] with the bank reference (UTR / RRN), the credited
//! amount and, when stated, the payer.
//!
//! # Rules
//!
//! **Text clean-up.** Line breaks (`\r\n`, `\r`) become `\n`; other whitespace
//! (tabs, non-breaking spaces, runs of spaces) becomes a single space. Keyword
//! matching is ASCII case-insensitive and works on whole words.
//!
//! **Credit or debit.** The alert is read as a list of transaction verbs:
//! credit verbs are `credited`, `received`, `deposited`, `credit of`,
//! `credit alert`; debit verbs are `debited`, `debit of`, `spent`, `withdrawn`,
//! `deducted`, `sent`, `paid`, `transferred`. `sent` / `paid` / `transferred`
//! count as a credit when followed by `you` or `to you(r)` ("ravi@oksbi sent
//! you ₹750"). A verb that explicitly acts on *someone else's* account is
//! skipped: a debit verb followed by `from [the] payer/remitter/sender`
//! ("debited from payer's account") and a credit verb followed by
//! `to/in/into [the] beneficiary/payee/recipient/receiver`. The **first
//! remaining verb decides**: a credit verb means money reached the account
//! holder; a debit verb, or no verb at all, gives [`AlertError::NotACredit`].
//! So "Rs 5,000 debited from remitter a/c and credited to your A/c" is a
//! credit, while ICICI's "Acct XX567 debited for Rs 200.00; RAVI credited" is
//! a debit.
//!
//! **Amount.** An amount is a currency marker (`Rs`, `Rs.`, `INR`, `₹`; the
//! letter markers must start a word) followed, after at most four of
//! `. : )` and spaces, by a number. Commas between digits are dropped, so
//! Indian grouping (`1,00,000.00`) works; the result is rounded to, and carries
//! exactly, 2 decimal places. An amount is a *balance* (and never returned) if,
//! looking back up to 8 words before its marker, a balance word (`bal`,
//! `balance`, `avl`, `avbl`, `available`, `lmt`, `limit`, `ledger`, `closing`,
//! ...) appears before any "amount anchor" (`credited`, `received`, `credit`,
//! `of`, `with`, `by`, `amount`, `amt`, another `Rs`/`INR`). Of the remaining
//! amounts, the one nearest to the deciding credit verb wins (the earlier one
//! on a tie). No non-balance amount gives [`AlertError::NoAmount`].
//!
//! **Reference.** A reference value must look like a bank reference: exactly
//! 12 digits (UPI / IMPS RRN), or 16-22 ASCII alphanumerics with at least one
//! letter and at least 8 digits (NEFT / RTGS UTR such as `SBIN123456789012`).
//! This shape check alone keeps masked account numbers (`XX1234`), 10-digit
//! phone numbers and toll-free numbers out. Bare numbers are never taken: the
//! value must follow one of, in order of preference,
//! 1. a label `UTR`, `RRN`, `Ref`, `Reference` (optionally followed by
//!    `No`/`Number`/`Num` and `is`), which covers `UTR No`, `UPI Ref No`,
//!    `IMPS Ref no`, `Ref#`, `UTR-...`;
//! 2. a rail path `UPI/P2M/410598765432/NAME`, `IMPS/...`,
//!    `NEFT-SBIN123456789012-NAME`, `UPI:410512345678`;
//! 3. a label `Txn ID`, `Transaction ID`, `Txn No` (e.g. "UPI transaction ID").
//!
//! Between label and value only spaces and `: . - # ( =` (and a line break)
//! may appear. Within a preference level the earliest wins. The UTR is
//! returned upper-cased. None found gives [`AlertError::NoReference`].
//!
//! **Payer** (optional), in order of preference:
//! 1. a VPA (`local@handle`, handle without a dot, so e-mail addresses such as
//!    `alerts@hdfcbank.net` are ignored) not preceded within 3 words by
//!    `your`/`ur`/`my`; a VPA preceded within 6 words by `from`, `by`,
//!    `remitter`, `payer` or `sender` is preferred. Returned lower-cased.
//! 2. a labelled name: `Remitter`, `Payer`, `Sender` (optionally `Name`)
//!    followed by `:`, `-` or `=`;
//! 3. the name after `from` ("received from RAVI KUMAR on ...") — not after
//!    "Greetings from", "Regards from" and the like;
//! 4. the name after the reference in a `/` or `-` rail path
//!    (`UPI/P2M/410598765432/RAVI KUMAR`), unless it mentions "bank".
//!
//! A name is up to 6 words, ending at punctuation, a line break, a word with a
//! digit or `@`, or a connecting word (`on`, `to`, `in`, `via`, `ref`, `a/c`,
//! ...). Names keep the alert's casing.
//!
//! Error precedence: `NotACredit`, then `NoAmount`, then `NoReference`.

use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// A received bank credit extracted from an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCredit {
    /// The bank reference: UTR / UPI Ref / RRN / IMPS Ref — 12 digits for UPI/IMPS RRNs; NEFT UTRs are 16-22 alphanumerics (e.g. "SBIN123456789012" or "N123456789012345").
    pub utr: String,
    /// The credited amount, as a decimal with 2 places, e.g. rust_decimal::Decimal "1499.00".
    pub amount: rust_decimal::Decimal,
    /// The payer's VPA or name if the alert states it (e.g. "ravi@oksbi"), else None.
    pub payer: Option<String>,
}

/// Why an alert could not be read as a received credit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    #[error("the alert does not say that money was received (it may be a debit)")]
    NotACredit,
    #[error("no amount found in the alert")]
    NoAmount,
    #[error("no UTR or reference number found in the alert")]
    NoReference,
}

/// Extract a received UPI/IMPS/NEFT credit from the text of a bank alert.
///
/// See the module documentation for the exact rules.
pub fn parse_credit_alert(text: &str) -> Result<ParsedCredit, AlertError> {
    let norm = normalize(text);
    // ASCII lower-casing keeps byte offsets identical to `norm`.
    let lower = norm.to_ascii_lowercase();
    let toks = tokenize(&lower);

    let verb = match deciding_verb(&toks) {
        Some(v) if v.dir == Direction::In => v,
        _ => return Err(AlertError::NotACredit),
    };
    let amount = credited_amount(&lower, &toks, &verb).ok_or(AlertError::NoAmount)?;
    let reference = find_reference(&norm, &lower, &toks).ok_or(AlertError::NoReference)?;
    let payer = find_payer(&norm, &lower, &toks).or(reference.payer);

    Ok(ParsedCredit {
        utr: reference.utr,
        amount,
        payer,
    })
}

// ---------------------------------------------------------------------------
// Text preparation
// ---------------------------------------------------------------------------

/// Unify line breaks to `\n`, collapse other whitespace to single spaces and
/// drop spaces around line breaks and blank lines.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let c = if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            '\n'
        } else {
            c
        };
        if c == '\n' {
            while out.ends_with(' ') {
                out.pop();
            }
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
        } else if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') && !out.ends_with('\n') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    while out.ends_with(' ') || out.ends_with('\n') {
        out.pop();
    }
    out
}

/// A maximal run of ASCII alphanumerics in the lower-cased text.
#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    start: usize,
    end: usize,
    w: &'a str,
}

fn tokenize(lower: &str) -> Vec<Tok<'_>> {
    let b = lower.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphanumeric() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            toks.push(Tok {
                start,
                end: i,
                w: &lower[start..i],
            });
        } else {
            i += 1;
        }
    }
    toks
}

fn word_at<'a>(toks: &[Tok<'a>], i: usize) -> &'a str {
    toks.get(i).map(|t| t.w).unwrap_or("")
}

/// Whether every byte of `lower[from..to]` is in `allowed`.
fn gap_is(lower: &str, from: usize, to: usize, allowed: &[u8]) -> bool {
    from <= to
        && lower.as_bytes()[from..to]
            .iter()
            .all(|c| allowed.contains(c))
}

// ---------------------------------------------------------------------------
// Credit / debit
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Money came into the account holder's account.
    In,
    /// Money left the account holder's account.
    Out,
}

#[derive(Debug, Clone, Copy)]
struct Verb {
    dir: Direction,
    start: usize,
    end: usize,
}

const THIRD_PARTY: &[&str] = &[
    "payer",
    "payers",
    "remitter",
    "remitters",
    "sender",
    "senders",
    "beneficiary",
    "beneficiarys",
    "payee",
    "payees",
    "recipient",
    "receiver",
];

/// The first transaction verb that acts on the account holder's account.
fn deciding_verb(toks: &[Tok]) -> Option<Verb> {
    (0..toks.len()).find_map(|i| verb_at(toks, i))
}

fn verb_at(toks: &[Tok], i: usize) -> Option<Verb> {
    let w = toks[i].w;
    let next = |k: usize| word_at(toks, i + k);
    let (dir, last) = match w {
        "credited" | "received" | "deposited" => (Direction::In, i),
        "credit" if matches!(next(1), "of" | "alert") => (Direction::In, i + 1),
        "debited" | "spent" | "withdrawn" | "deducted" => (Direction::Out, i),
        "debit" if next(1) == "of" => (Direction::Out, i + 1),
        "sent" | "paid" | "transferred" => {
            if next(1) == "you" {
                (Direction::In, i + 1)
            } else if next(1) == "to" && matches!(next(2), "you" | "your") {
                (Direction::In, i + 2)
            } else {
                (Direction::Out, i)
            }
        }
        _ => return None,
    };
    // Skip verbs that explicitly act on someone else's account.
    let prep = word_at(toks, last + 1);
    let acts_elsewhere = match dir {
        Direction::Out => prep == "from",
        Direction::In => matches!(prep, "to" | "in" | "into"),
    };
    if acts_elsewhere {
        let mut k = last + 2;
        if word_at(toks, k) == "the" {
            k += 1;
        }
        if THIRD_PARTY.contains(&word_at(toks, k)) {
            return None;
        }
    }
    Some(Verb {
        dir,
        start: toks[i].start,
        end: toks[last].end,
    })
}

// ---------------------------------------------------------------------------
// Amount
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct AmountCand {
    start: usize,
    end: usize,
    value: Decimal,
    balance: bool,
}

const BALANCE_WORDS: &[&str] = &[
    "bal",
    "bals",
    "balance",
    "avl",
    "avbl",
    "avlbal",
    "avail",
    "available",
    "availbal",
    "clbal",
    "lmt",
    "limit",
    "ledger",
    "closing",
];

const AMOUNT_ANCHORS: &[&str] = &[
    "credited",
    "received",
    "deposited",
    "credit",
    "of",
    "with",
    "by",
    "amount",
    "amt",
    "rs",
    "inr",
];

fn credited_amount(lower: &str, toks: &[Tok], verb: &Verb) -> Option<Decimal> {
    find_amounts(lower, toks)
        .into_iter()
        .filter(|c| !c.balance)
        // Distance between the amount and the verb spans (0 if they overlap).
        .min_by_key(|c| {
            verb.start
                .saturating_sub(c.end)
                .max(c.start.saturating_sub(verb.end))
        })
        .map(|c| c.value)
}

fn find_amounts(lower: &str, toks: &[Tok]) -> Vec<AmountCand> {
    let b = lower.as_bytes();
    let starts_word = |i: usize| i == 0 || !b[i - 1].is_ascii_alphanumeric();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let marker_len = if rest.starts_with("₹".as_bytes()) {
            "₹".len()
        } else if rest.starts_with(b"inr") && starts_word(i) {
            3
        } else if rest.starts_with(b"rs") && starts_word(i) {
            2
        } else {
            0
        };
        if marker_len == 0 {
            i += 1;
            continue;
        }
        let mut j = i + marker_len;
        let mut skipped = 0;
        while j < b.len() && skipped < 4 && matches!(b[j], b'.' | b' ' | b':' | b')') {
            j += 1;
            skipped += 1;
        }
        match parse_number(b, j) {
            Some((end, value)) => {
                out.push(AmountCand {
                    start: i,
                    end,
                    value,
                    balance: is_balance(toks, i),
                });
                i = end;
            }
            None => i += marker_len,
        }
    }
    out
}

/// Parse `1,00,000.00` / `1499` / `500.5` starting at `start`.
fn parse_number(b: &[u8], start: usize) -> Option<(usize, Decimal)> {
    if start >= b.len() || !b[start].is_ascii_digit() {
        return None;
    }
    let mut digits = String::new();
    let mut j = start;
    while j < b.len() {
        if b[j].is_ascii_digit() {
            digits.push(b[j] as char);
            j += 1;
        } else if b[j] == b',' && j + 1 < b.len() && b[j + 1].is_ascii_digit() {
            j += 1;
        } else {
            break;
        }
    }
    if digits.len() > 15 {
        return None;
    }
    if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
        digits.push('.');
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            digits.push(b[j] as char);
            j += 1;
        }
    }
    let mut value = Decimal::from_str(&digits)
        .ok()?
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    value.rescale(2);
    Some((j, value))
}

/// Whether the amount whose marker starts at `marker` is labelled as a balance.
fn is_balance(toks: &[Tok], marker: usize) -> bool {
    for t in before(toks, marker).iter().rev().take(8) {
        if BALANCE_WORDS.contains(&t.w) {
            return true;
        }
        if AMOUNT_ANCHORS.contains(&t.w) {
            return false;
        }
    }
    false
}

/// The tokens that end at or before `pos` (tokens are in text order), found by bisection so
/// that looking back from each of many positions stays linear overall.
fn before<'t, 'a>(toks: &'t [Tok<'a>], pos: usize) -> &'t [Tok<'a>] {
    &toks[..toks.partition_point(|t| t.end <= pos)]
}

// ---------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct RefCand {
    /// 0 = UTR/RRN/Ref label, 1 = rail path, 2 = txn id label.
    prio: u8,
    pos: usize,
    utr: String,
    payer: Option<String>,
}

/// 12 digits (RRN) or a 16-22 character NEFT/RTGS UTR.
fn is_reference(v: &str) -> bool {
    let n = v.len();
    if v.bytes().all(|c| c.is_ascii_digit()) {
        return n == 12;
    }
    let letters = v.bytes().filter(|c| c.is_ascii_alphabetic()).count();
    let digits = v.bytes().filter(|c| c.is_ascii_digit()).count();
    (16..=22).contains(&n)
        && v.bytes().all(|c| c.is_ascii_alphanumeric())
        && letters >= 1
        && digits >= 8
}

const LABEL_SEPARATORS: &[u8] = b" :.-#(=\n";

fn find_reference(norm: &str, lower: &str, toks: &[Tok]) -> Option<RefCand> {
    let mut cands = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let prio = match t.w {
            "utr" | "utrno" | "rrn" | "rrnno" | "ref" | "refno" | "reference" => 0,
            "txn" | "transaction" | "trans" | "tran" | "txnid" => 2,
            "upi" | "imps" | "neft" | "rtgs" => {
                if let Some(c) = rail_path(norm, lower, t) {
                    cands.push(c);
                }
                continue;
            }
            _ => continue,
        };
        // Optional "No" / "Number" / "ID" and "is" after the label.
        let mut label_end = i;
        let suffixes: &[&str] = if prio == 0 {
            &["no", "number", "num", "nr"]
        } else {
            &["id", "no", "number", "num"]
        };
        if suffixes.contains(&word_at(toks, i + 1))
            && gap_is(lower, t.end, toks[i + 1].start, b" .:")
        {
            label_end = i + 1;
        } else if prio == 2 && t.w != "txnid" {
            // "txn" / "transaction" alone is not a label.
            continue;
        }
        if word_at(toks, label_end + 1) == "is"
            && gap_is(lower, toks[label_end].end, toks[label_end + 1].start, b" ")
        {
            label_end += 1;
        }
        let Some(v) = toks.get(label_end + 1) else {
            continue;
        };
        let gap_ok = v.start - toks[label_end].end <= 6
            && gap_is(lower, toks[label_end].end, v.start, LABEL_SEPARATORS);
        if gap_ok && is_reference(v.w) {
            cands.push(RefCand {
                prio,
                pos: v.start,
                utr: norm[v.start..v.end].to_ascii_uppercase(),
                payer: None,
            });
        }
    }
    cands.into_iter().min_by_key(|c| (c.prio, c.pos))
}

/// `UPI/P2M/410598765432/RAVI KUMAR`, `NEFT-SBIN123456789012-ACME`,
/// `UPI:410512345678`.
fn rail_path(norm: &str, lower: &str, rail: &Tok) -> Option<RefCand> {
    let b = lower.as_bytes();
    let first_sep = *b.get(rail.end)?;
    if !matches!(first_sep, b'/' | b'-' | b':') {
        return None;
    }
    let mut p = rail.end + 1;
    if first_sep == b':' {
        while p < b.len() && b[p] == b' ' {
            p += 1;
        }
    }
    for _ in 0..4 {
        let s = p;
        let mut e = s;
        while e < b.len() && b[e].is_ascii_alphanumeric() {
            e += 1;
        }
        if e == s {
            return None;
        }
        if is_reference(&lower[s..e]) {
            let payer = if first_sep != b':' && b.get(e) == Some(&first_sep) {
                read_name(&norm[e + 1..])
                    .filter(|n| !n.split(' ').any(|w| w.eq_ignore_ascii_case("bank")))
            } else {
                None
            };
            return Some(RefCand {
                prio: 1,
                pos: s,
                utr: norm[s..e].to_ascii_uppercase(),
                payer,
            });
        }
        match b.get(e) {
            Some(b'/' | b'-' | b':') => p = e + 1,
            _ => return None,
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Payer
// ---------------------------------------------------------------------------

fn find_payer(norm: &str, lower: &str, toks: &[Tok]) -> Option<String> {
    find_vpa(norm, toks)
        .or_else(|| labelled_name(norm, lower, toks))
        .or_else(|| from_name(norm, toks))
}

/// VPAs (`local@handle`) in the text with their start offsets.
fn vpas(norm: &str) -> Vec<(usize, String)> {
    let b = norm.as_bytes();
    let local_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
    let mut out = Vec::new();
    for (at, _) in norm.match_indices('@') {
        let mut l = at;
        while l > 0 && local_char(b[l - 1]) {
            l -= 1;
        }
        while l < at && !b[l].is_ascii_alphanumeric() {
            l += 1;
        }
        let mut r = at + 1;
        while r < b.len() && b[r].is_ascii_alphanumeric() {
            r += 1;
        }
        let handle_ok = r - (at + 1) >= 2 && b[at + 1].is_ascii_alphabetic();
        // `name@bank.com` is an e-mail address, not a VPA.
        let email =
            b.get(r) == Some(&b'.') && b.get(r + 1).is_some_and(|c| c.is_ascii_alphanumeric());
        if l < at && handle_ok && !email && b.get(r) != Some(&b'@') {
            out.push((l, norm[l..r].to_ascii_lowercase()));
        }
    }
    out
}

fn find_vpa(norm: &str, toks: &[Tok]) -> Option<String> {
    let words_before = |pos: usize, n: usize| -> Vec<&str> {
        before(toks, pos)
            .iter()
            .rev()
            .take(n)
            .map(|t| t.w)
            .collect()
    };
    let candidates: Vec<(usize, String)> = vpas(norm)
        .into_iter()
        .filter(|(pos, _)| {
            !words_before(*pos, 3)
                .iter()
                .any(|w| matches!(*w, "your" | "ur" | "my" | "yours"))
        })
        .collect();
    let preferred = candidates.iter().find(|(pos, _)| {
        words_before(*pos, 6)
            .iter()
            .any(|w| matches!(*w, "from" | "frm" | "by" | "remitter" | "payer" | "sender"))
    });
    preferred
        .or_else(|| candidates.first())
        .map(|(_, v)| v.clone())
}

/// `Remitter Name: RAVI KUMAR`, `Payer - ACME LTD`, `Sender: ...`.
fn labelled_name(norm: &str, lower: &str, toks: &[Tok]) -> Option<String> {
    let b = lower.as_bytes();
    toks.iter().enumerate().find_map(|(i, t)| {
        if !matches!(t.w, "remitter" | "payer" | "sender") {
            return None;
        }
        let mut end = t.end;
        if word_at(toks, i + 1) == "name" && gap_is(lower, t.end, toks[i + 1].start, b" ") {
            end = toks[i + 1].end;
        }
        let mut p = end;
        while p < b.len() && b[p] == b' ' {
            p += 1;
        }
        if !matches!(b.get(p), Some(b':' | b'-' | b'=')) {
            return None;
        }
        while p < b.len() && matches!(b[p], b' ' | b':' | b'-' | b'=') {
            p += 1;
        }
        read_name(&norm[p..])
    })
}

/// `received from RAVI KUMAR on 14 Apr`, `from ACME LTD.`
fn from_name(norm: &str, toks: &[Tok]) -> Option<String> {
    toks.iter().enumerate().find_map(|(i, t)| {
        if !matches!(t.w, "from" | "frm") {
            return None;
        }
        let prev = if i == 0 { "" } else { toks[i - 1].w };
        if matches!(
            prev,
            "greetings"
                | "regards"
                | "message"
                | "mail"
                | "email"
                | "sms"
                | "alert"
                | "notification"
                | "team"
        ) {
            return None;
        }
        read_name(&norm[t.end..])
    })
}

const NAME_STOP_CHARS: &[char] = &[
    '.', ',', ';', ':', '!', '?', '(', ')', '[', ']', '|', '<', '>', '\n', '"', '/', '-', '#', '*',
    '=',
];

const NAME_STOP_WORDS: &[&str] = &[
    "on",
    "in",
    "to",
    "via",
    "for",
    "at",
    "with",
    "ref",
    "utr",
    "upi",
    "imps",
    "neft",
    "rtgs",
    "a",
    "an",
    "ac",
    "acct",
    "account",
    "your",
    "ur",
    "my",
    "and",
    "thru",
    "through",
    "dt",
    "dated",
    "rs",
    "inr",
    "avl",
    "bal",
    "info",
    "not",
    "is",
    "has",
    "was",
    "the",
    "of",
    "txn",
    "rrn",
    "by",
    "vpa",
    "payer",
    "payers",
    "remitter",
    "remitters",
    "sender",
    "senders",
    "linked",
];

/// Read a person or business name: up to 6 words, stopping at punctuation,
/// a line break, a connecting word, or a word containing a digit or `@`.
fn read_name(s: &str) -> Option<String> {
    // Word by word up to the first stop character, never further than the name's words: a
    // search of the whole rest of the alert per candidate would make the scan quadratic.
    let mut rest = s;
    let name_words = std::iter::from_fn(move || {
        rest = rest.trim_start_matches(' ');
        let end = rest
            .find(|c: char| c == ' ' || NAME_STOP_CHARS.contains(&c))
            .unwrap_or(rest.len());
        let (w, after) = rest.split_at(end);
        let stop = after.starts_with(NAME_STOP_CHARS);
        rest = if stop { "" } else { after };
        (!w.is_empty()).then_some(w)
    });
    let mut words = Vec::new();
    for w in name_words {
        let key = w
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let starts_alpha = w.chars().next().is_some_and(char::is_alphabetic);
        let has_bad = w.chars().any(|c| c.is_ascii_digit() || c == '@');
        if !starts_alpha || has_bad || NAME_STOP_WORDS.contains(&key.as_str()) {
            break;
        }
        words.push(w);
        if words.len() == 6 {
            break;
        }
    }
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn ok(text: &str) -> ParsedCredit {
        parse_credit_alert(text).unwrap_or_else(|e| panic!("{e:?} for {text:?}"))
    }

    #[test]
    fn sbi_upi_credit() {
        let p = ok("Dear Customer, Rs.1,499.00 credited to your A/c XX1234 on 14-04-26 by UPI Ref No 410512345678. Avl Bal Rs.25,000.00 -SBI");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount, dec("1499.00"));
        assert_eq!(p.amount.to_string(), "1499.00");
        assert_eq!(p.payer, None);
    }

    #[test]
    fn sbi_short_form_with_transfer_from() {
        let p = ok("Dear SBI UPI User, ur A/cX1234 credited by Rs500 on 14Apr26 transfer from RAVI KUMAR Ref No 410512345678 -SBI");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "500.00");
        assert_eq!(p.payer.as_deref(), Some("RAVI KUMAR"));
    }

    #[test]
    fn axis_info_path() {
        let p = ok("INR 500.00 credited to A/c no. XX4321 on 14-04-26 12:01:33 IST. Info- UPI/P2M/410598765432/RAVI KUMAR. Avl bal: INR 10,234.50 - Axis Bank");
        assert_eq!(p.utr, "410598765432");
        assert_eq!(p.amount.to_string(), "500.00");
        assert_eq!(p.payer.as_deref(), Some("RAVI KUMAR"));
    }

    #[test]
    fn kotak_money_received_with_vpa() {
        let p = ok("Money Received! Rs 250 received from ravi@oksbi in your a/c XX9876. UPI Ref: 410511112222. -Kotak Bank");
        assert_eq!(p.utr, "410511112222");
        assert_eq!(p.amount.to_string(), "250.00");
        assert_eq!(p.payer.as_deref(), Some("ravi@oksbi"));
    }

    #[test]
    fn icici_neft_lakh_grouping() {
        let p = ok("ICICI Bank Acct XX567 credited with Rs 1,00,000.00 on 14-Apr-26; NEFT UTR N104261234567890 from ACME LTD.");
        assert_eq!(p.utr, "N104261234567890");
        assert_eq!(p.amount, dec("100000.00"));
        assert_eq!(p.amount.to_string(), "100000.00");
        assert_eq!(p.payer.as_deref(), Some("ACME LTD"));
    }

    #[test]
    fn icici_info_neft_dash_path_and_available_balance() {
        let p = ok("ICICI Bank Account XX567 credited:Rs. 12,34,567.89 on 14-Apr-26. Info NEFT-SBIN123456789012-ACME TRADERS. Available Balance is Rs. 25,00,000.00.");
        assert_eq!(p.utr, "SBIN123456789012");
        assert_eq!(p.amount, dec("1234567.89"));
        assert_eq!(p.payer.as_deref(), Some("ACME TRADERS"));
    }

    #[test]
    fn icici_upi_colon_form_prefers_from_name_over_bank_suffix() {
        let p = ok("Dear Customer, Acct XX567 is credited with Rs 1499.00 on 14-Apr-26 from RAVI KUMAR. UPI:410512345678-ICICI Bank.");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "1499.00");
        assert_eq!(p.payer.as_deref(), Some("RAVI KUMAR"));
    }

    #[test]
    fn hdfc_credit_linked_vpa() {
        let p = ok("Rs. 1499.00 credited to a/c XXXXXX1234 on 14-04-26 by a/c linked to VPA ravi.kumar@okhdfcbank (UPI Ref No  410512345678).");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "1499.00");
        assert_eq!(p.payer.as_deref(), Some("ravi.kumar@okhdfcbank"));
    }

    #[test]
    fn pnb_upi_colon_and_bal_cr() {
        let p = ok("A/c XX1234 credited INR 1,499.00 Dt 14-04-26 12:01:33 thru UPI:410512345678. Bal INR 25,000.00 CR Not u?Fwd this SMS to 9264092640 to block UPI.-PNB");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "1499.00");
        assert_eq!(p.payer, None);
    }

    #[test]
    fn paytm_payments_bank_credit() {
        let p = ok("Received Rs.1,499 in your Paytm Payments Bank a/c 91XXXX3210 from 9876543210@paytm. UPI Ref: 410512345678. Balance: Rs.2,500.00 :PPBL");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "1499.00");
        assert_eq!(p.payer.as_deref(), Some("9876543210@paytm"));
    }

    #[test]
    fn google_pay_style_rupee_sign_and_transaction_id() {
        let p = ok(
            "₹1,499.00 received from Ravi Kumar (ravi@okaxis)\nUPI transaction ID: 410512345678",
        );
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "1499.00");
        assert_eq!(p.payer.as_deref(), Some("ravi@okaxis"));
    }

    #[test]
    fn phonepe_style_prefers_utr_over_app_txn_id() {
        let p = ok("Received ₹ 500 from RAVI KUMAR. Transaction ID: T2604141201234567890123. UTR: 410512345678");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "500.00");
        assert_eq!(p.payer.as_deref(), Some("RAVI KUMAR"));
    }

    #[test]
    fn sent_you_counts_as_credit() {
        let p = ok("ravi@oksbi sent you ₹750.50 on BHIM. UPI Ref No. 410512349999");
        assert_eq!(p.utr, "410512349999");
        assert_eq!(p.amount, dec("750.50"));
        assert_eq!(p.payer.as_deref(), Some("ravi@oksbi"));
    }

    #[test]
    fn imps_debited_from_payer_credited_to_you() {
        let p = ok("IMPS: Rs 5,000.00 debited from payer's account and credited to your A/c XX1234 on 14-04-26. IMPS Ref no 410512345678. Avl Bal Rs 30,000.00 -PNB");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "5000.00");
        assert_eq!(p.payer, None);
    }

    #[test]
    fn email_body_with_line_breaks() {
        let text = "From: alerts@hdfcbank.net\r\n\r\nDear Customer,\r\n\r\nGreetings from HDFC Bank!\r\n\r\n\
            We wish to inform you that INR 1,499.00 has been credited to your account XX1234 on 14-04-2026 via NEFT.\r\n\r\n\
            Transaction details:\r\n  Amount      : INR 1,499.00\r\n  UTR No      : SBIN123456789012\r\n  Remitter    : ACME SOLUTIONS PVT LTD\r\n\r\n\
            Available Balance: INR 26,499.00\r\n\r\nWarm Regards,\r\nHDFC Bank\r\n";
        let p = ok(text);
        assert_eq!(p.utr, "SBIN123456789012");
        assert_eq!(p.amount.to_string(), "1499.00");
        assert_eq!(p.payer.as_deref(), Some("ACME SOLUTIONS PVT LTD"));
    }

    #[test]
    fn email_greeting_from_bank_is_not_the_payer() {
        let text = "Dear Customer,\n\nGreetings from Axis Bank!\n\nYour A/c no. XX4321 has been credited with INR 800.00 on 14-04-2026.\nIMPS Ref No.: 410577778888\n\nRegards,\nAxis Bank";
        let p = ok(text);
        assert_eq!(p.utr, "410577778888");
        assert_eq!(p.amount.to_string(), "800.00");
        assert_eq!(p.payer, None);
    }

    #[test]
    fn email_upi_reference_number_label() {
        let text = "Dear Customer,\n\nRs. 2,000.00 has been received in your account XXXXXX1234.\n\tUPI Reference Number:\n410512340000\nRemitter VPA: Priya.S@ybl\nAvailable balance: Rs. 25,000.00\n";
        let p = ok(text);
        assert_eq!(p.utr, "410512340000");
        assert_eq!(p.amount.to_string(), "2000.00");
        assert_eq!(p.payer.as_deref(), Some("priya.s@ybl"));
    }

    #[test]
    fn phone_numbers_and_account_numbers_are_not_references() {
        let p = ok("Rs 300.00 deposited in a/c no. XXXXXX1234 from 919876543210@paytm. Call +91 9876543210 or 919876543210 for help. RRN 410512345678");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "300.00");
        assert_eq!(p.payer.as_deref(), Some("919876543210@paytm"));
    }

    #[test]
    fn balance_before_credit_is_skipped() {
        let p = ok("Avl Bal Rs 10,000.00 for A/c XX1234. A credit of Rs 750 has been made via IMPS Ref#410512345678");
        assert_eq!(p.utr, "410512345678");
        assert_eq!(p.amount.to_string(), "750.00");
    }

    #[test]
    fn debit_alert_is_rejected() {
        assert_eq!(
            parse_credit_alert("Rs.200.00 debited from A/c XX1234 on 14-04-26 to VPA shop@ybl UPI Ref 410500001111. Not you? Call 1800111109 -SBI"),
            Err(AlertError::NotACredit)
        );
    }

    #[test]
    fn hdfc_sent_alert_is_rejected() {
        assert_eq!(
            parse_credit_alert("Sent Rs.200.00 From HDFC Bank A/C *1234 To RAVI On 14/04/26 Ref 410500001111 Not You? Call 18002586161/SMS BLOCK UPI to 7308080808"),
            Err(AlertError::NotACredit)
        );
    }

    #[test]
    fn icici_debit_mentioning_payee_credited_is_rejected() {
        assert_eq!(
            parse_credit_alert("ICICI Bank Acct XX567 debited for Rs 200.00 on 14-Apr-26; RAVI credited. UPI:410500001111. Call 18002662 for dispute."),
            Err(AlertError::NotACredit)
        );
    }

    #[test]
    fn card_spend_and_no_verb_are_rejected() {
        assert_eq!(
            parse_credit_alert("INR 1,250.00 spent on ICICI Bank Card XX9001 on 14-Apr-26 at AMAZON. Avl Lmt: INR 48,750.00"),
            Err(AlertError::NotACredit)
        );
        assert_eq!(
            parse_credit_alert("Your OTP for UPI PIN reset is 123456. Do not share it."),
            Err(AlertError::NotACredit)
        );
    }

    #[test]
    fn missing_reference() {
        assert_eq!(
            parse_credit_alert("Rs.1,499.00 credited to your A/c XX1234 on 14-04-26. Avl Bal Rs.25,000.00. For queries call 18001234000 -SBI"),
            Err(AlertError::NoReference)
        );
    }

    #[test]
    fn missing_amount_only_balance() {
        assert_eq!(
            parse_credit_alert("Your A/c XX1234 has been credited on 14-04-26 by UPI Ref No 410512345678. Avl Bal Rs.25,000.00"),
            Err(AlertError::NoAmount)
        );
    }

    #[test]
    fn no_amount_beats_no_reference() {
        assert_eq!(
            parse_credit_alert("Money received in your account XX1234."),
            Err(AlertError::NoAmount)
        );
    }

    /// Long alerts made of what the scanner looks back or ahead for: the time grows with the
    /// length, not with its square (each name candidate read the rest of the text, each amount
    /// looked back through every token).
    #[test]
    fn long_alerts_are_read_in_linear_time() {
        for unit in ["from ", "Rs 1 credited ", "ravi@oksbi by ", "Payer: "] {
            let text = format!("credited Rs 5 {}", unit.repeat(200_000 / unit.len()));
            let started = std::time::Instant::now();
            let _ = parse_credit_alert(&text);
            let took = started.elapsed();
            assert!(
                took < std::time::Duration::from_secs(1),
                "{unit:?}: {took:?}"
            );
        }
    }

    #[test]
    fn amount_rounding_and_helpers() {
        assert_eq!(normalize("  a \r\n\r\n\t b\u{a0}\u{a0}c  "), "a\nb c");
        assert!(is_reference("410512345678"));
        assert!(is_reference("HDFCR52026041412345678"));
        assert!(!is_reference("9876543210"));
        assert!(!is_reference("XX1234"));
        assert!(!is_reference("4105123456789012"));
        let (_, v) = parse_number(b"1,00,000.005", 0).unwrap();
        assert_eq!(v.to_string(), "100000.01");
    }
}
