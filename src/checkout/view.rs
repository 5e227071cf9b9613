//! What the checkout template shows: the payment, formatted for a customer.

use crate::domain::attempt::Attempt;
use crate::domain::merchant::Merchant;
use crate::domain::money::format_minor;
use crate::domain::payment::{Payment, PaymentStatus};
use crate::domain::wallet::Wallet;
use crate::methods::{self, FieldError};
use askama::Template;
use chrono::Utc;

/// What the last request left to say on the page.
pub enum Notice {
    None,
    /// Fields of `method` to correct.
    Fields {
        method: String,
        fields: Vec<FieldError>,
    },
    /// The method refused; the customer may try again.
    Declined {
        method: String,
        message: String,
    },
    /// Ask for the one-time code of this attempt.
    Otp(Attempt),
}

impl Notice {
    pub fn is_invalid(&self) -> bool {
        matches!(self, Notice::Fields { .. })
    }
}

pub struct MethodView {
    pub name: &'static str,
    pub label: &'static str,
    pub open: bool,
    pub error_number: Option<String>,
    pub error_expiry: Option<String>,
    pub error_cvc: Option<String>,
    pub error_phone: Option<String>,
    pub expiry_value: String,
    pub phone_value: String,
    pub phone_hint: &'static str,
}

pub struct UpiView {
    pub id: String,
    pub name: String,
    pub amount: String,
    pub deeplink: String,
    /// The QR code of the deeplink, as SVG markup made here (no user text in it).
    pub qr_svg: String,
    pub open: bool,
}

/// A live wallet the customer pays by sending money from their wallet app to the merchant's.
pub struct TransferView {
    pub name: &'static str,
    pub label: &'static str,
    /// The exact amount to send (unique among pending payments).
    pub amount: String,
    /// The merchant's own account number in this wallet.
    pub number: String,
    pub open: bool,
}

pub struct OtpView {
    pub attempt_id: String,
    pub prompt: String,
}

#[derive(Template)]
#[template(path = "checkout.html")]
pub struct Page {
    pub payment_id: String,
    pub status: &'static str,
    pub livemode: bool,
    pub merchant_name: String,
    pub merchant_initial: String,
    pub amount: String,
    pub description: Option<String>,
    pub expires_at: String,
    pub time_left: String,
    pub methods: Vec<MethodView>,
    pub upi: Option<UpiView>,
    pub transfers: Vec<TransferView>,
    pub error: Option<String>,
    pub otp: Option<OtpView>,
    pub csrf: String,
    pub embedded: bool,
    pub embed_origin: Option<String>,
    pub embed_query: String,
    pub paid_with: Option<String>,
    /// Where the customer goes next (success or cancel URL, with the payment id).
    pub redirect_to: Option<String>,
    /// Set when the page should move on by itself (not inside the SDK's modal).
    pub auto_redirect: Option<String>,
}

/// "PKR 1,250.50": the currency code and the amount with thousands separators.
pub fn format_amount(minor: i64, currency: crate::domain::money::Currency) -> String {
    let text = format_minor(minor, currency);
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w.to_string(), Some(f.to_string())),
        None => (text.clone(), None),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{} {grouped}.{f}", currency.code()),
        None => format!("{} {grouped}", currency.code()),
    }
}

fn time_left(p: &Payment) -> String {
    let secs = (p.expires_at - Utc::now()).num_seconds().max(0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// `url` with the payment's id appended to its query, named as its front door expects.
fn with_payment_id(url: &str, p: &Payment, params: &[&str]) -> Option<String> {
    let mut u = url::Url::parse(url).ok()?;
    {
        let mut q = u.query_pairs_mut();
        for name in params {
            q.append_pair(name, &p.id);
        }
    }
    Some(u.to_string())
}

/// What the last request's notice means for the page: which method starts open, the fields
/// to correct, a decline to show, a one-time code to ask for.
struct NoticeView {
    open_method: Option<String>,
    fields: Vec<FieldError>,
    error: Option<String>,
    otp: Option<OtpView>,
}

impl NoticeView {
    fn new(notice: Notice) -> NoticeView {
        let (open_method, fields, error, otp) = match notice {
            Notice::None => (None, Vec::new(), None, None),
            Notice::Fields { method, fields } => (Some(method), fields, None, None),
            Notice::Declined { method, message } => (Some(method), Vec::new(), Some(message), None),
            Notice::Otp(a) => (Some(a.method.clone()), Vec::new(), None, Some(otp_view(a))),
        };
        NoticeView {
            open_method,
            fields,
            error,
            otp,
        }
    }

    /// The message for `field` of the method `method`, if that method's form is the one to correct.
    fn error_for(&self, method: &str, field: &str) -> Option<String> {
        if self.open_method.as_deref() != Some(method) {
            return None;
        }
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    }
}

/// The one-time code prompt, naming the card or phone the code went to.
fn otp_view(a: Attempt) -> OtpView {
    let prompt = match (&a.card_last4, &a.wallet_last4) {
        (Some(l4), _) => {
            format!("Your bank sent a code for the card ending {l4}. In test mode it is 123456.")
        }
        (_, Some(l4)) => {
            format!("We sent a code to the number ending {l4}. In test mode it is 123456.")
        }
        _ => "Enter the code you received. In test mode it is 123456.".into(),
    };
    OtpView {
        attempt_id: a.id,
        prompt,
    }
}

/// The UPI panel (QR code and deep link) when the payment offers UPI and has a UPI payee.
fn upi_view(p: &Payment, open: bool) -> Option<UpiView> {
    p.upi()
        .filter(|_| p.methods.iter().any(|m| m == "upi"))
        .map(|u| {
            let deeplink = u.deeplink(p.currency(), &p.id);
            UpiView {
                id: u.payee.clone(),
                name: u.payee_name.clone(),
                amount: format_amount(u.payable_minor, p.currency()),
                qr_svg: crate::http::qr::qr_svg(&deeplink, 200),
                deeplink,
                open,
            }
        })
}

/// The live wallets the payment offers and the merchant has a number for; the first starts
/// open unless the notice names another method.
fn transfer_views(p: &Payment, merchant: &Merchant, open: bool) -> Vec<TransferView> {
    let Some(t) = p.transfer.as_ref().filter(|_| p.upi().is_none()) else {
        return Vec::new();
    };
    p.methods
        .iter()
        .filter_map(|m| Wallet::parse(m))
        .filter_map(|w| Some((w, merchant.wallet_numbers.get(w)?)))
        .enumerate()
        .map(|(i, (w, number))| TransferView {
            name: w.name(),
            label: w.label(),
            amount: format_amount(t.payable_minor, p.currency()),
            number: number.to_string(),
            open: open && i == 0,
        })
        .collect()
}

/// The offered methods' forms: the one the notice names starts open (else the first, unless
/// UPI is shown first), with the notice's field errors on it.
fn method_views(p: &Payment, notice: &NoticeView, upi_shown: bool) -> Vec<MethodView> {
    let offered = methods::offered(p);
    let first = if upi_shown {
        None
    } else {
        offered.first().map(|m| m.name())
    };
    offered
        .iter()
        .map(|m| {
            let open = match &notice.open_method {
                Some(name) => name == m.name(),
                None => Some(m.name()) == first,
            };
            MethodView {
                name: m.name(),
                label: m.label(),
                open,
                error_number: notice.error_for(m.name(), "number"),
                error_expiry: notice.error_for(m.name(), "expiry"),
                error_cvc: notice.error_for(m.name(), "cvc"),
                error_phone: notice.error_for(m.name(), "phone"),
                expiry_value: String::new(),
                phone_value: String::new(),
                phone_hint: Wallet::parse(m.name()).map_or("", Wallet::number_shape),
            }
        })
        .collect()
}

/// Where a finished payment sends the customer: its success or cancel URL, with its id.
fn redirect_to(p: &Payment, redirect_id_params: &[&str]) -> Option<String> {
    let url = match p.status {
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
            p.success_url.as_deref()
        }
        PaymentStatus::Canceled => p.cancel_url.as_deref(),
        _ => None,
    };
    url.and_then(|u| with_payment_id(u, p, redirect_id_params))
}

/// How the payment was paid, as the receipt says it.
fn paid_with(p: &Payment) -> Option<String> {
    match (p.paid_with.as_deref(), &p.method_reference) {
        (Some("upi"), Some(utr)) => Some(format!("UPI · UTR {utr}")),
        (Some(method), Some(id)) if p.transfer.is_some() => {
            let label = Wallet::parse(method).map_or(method.to_string(), |w| w.label().into());
            Some(format!("{label} · transaction {id}"))
        }
        (Some("test"), _) => Some("Test mode".into()),
        (_, reference) => reference.clone(),
    }
}

impl Page {
    pub fn new(
        p: &Payment,
        merchant: &Merchant,
        csrf: String,
        embed_origin: Option<&str>,
        embed_query: String,
        notice: Notice,
        redirect_id_params: &[&str],
    ) -> Page {
        let notice = NoticeView::new(notice);
        // UPI comes first when offered; otherwise the first method starts open.
        let upi = upi_view(p, notice.open_method.is_none());
        let transfers = transfer_views(p, merchant, notice.open_method.is_none());
        let methods = method_views(p, &notice, upi.is_some() || !transfers.is_empty());
        let redirect_to = redirect_to(p, redirect_id_params);
        let embedded = embed_origin.is_some();
        Page {
            payment_id: p.id.clone(),
            status: match p.status {
                PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => "succeeded",
                other => other.as_str(),
            },
            livemode: p.livemode,
            merchant_name: merchant.name.clone(),
            merchant_initial: merchant
                .name
                .chars()
                .next()
                .map(|c| c.to_uppercase().to_string())
                .unwrap_or_default(),
            amount: format_amount(p.amount.minor(), p.currency()),
            description: p.description.clone(),
            expires_at: crate::service::objects::rfc3339(p.expires_at),
            time_left: time_left(p),
            methods,
            upi,
            transfers,
            error: notice.error,
            otp: notice.otp,
            csrf,
            embedded,
            embed_origin: embed_origin.map(str::to_string),
            embed_query,
            paid_with: paid_with(p),
            auto_redirect: if embedded { None } else { redirect_to.clone() },
            redirect_to,
        }
    }
}

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><link rel="stylesheet" href="/static/checkout.css"></head>
<body><main class="sheet"><section class="result neutral"><h1>{{ title }}</h1><p>{{ text }}</p></section>
<footer>Secured by Hundi</footer></main></body></html>"#,
    ext = "html"
)]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
}

pub fn message(title: &str, text: &str) -> String {
    MessagePage { title, text }
        .render()
        .unwrap_or_else(|_| title.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;

    #[test]
    fn amounts_read_as_a_customer_expects() {
        let pkr = Currency::parse("PKR").unwrap();
        assert_eq!(format_amount(125050, pkr), "PKR 1,250.50");
        assert_eq!(format_amount(99, pkr), "PKR 0.99");
        assert_eq!(format_amount(100000000, pkr), "PKR 1,000,000.00");
        assert_eq!(
            format_amount(1500, Currency::parse("JPY").unwrap()),
            "JPY 1,500"
        );
    }
}
