//! What the checkout template shows: the payment, formatted for a customer.

use crate::domain::attempt::Attempt;
use crate::domain::merchant::Merchant;
use crate::domain::money::format_minor;
use crate::domain::payment::{Payment, PaymentStatus};
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

/// A QR code of `text` as inline SVG.
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            // Inline in HTML: drop the XML declaration.
            match svg.find("<svg") {
                Some(at) => svg[at..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
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
        let (open_method, fields, error, otp) = match notice {
            Notice::None => (None, Vec::new(), None, None),
            Notice::Fields { method, fields } => (Some(method), fields, None, None),
            Notice::Declined { method, message } => (Some(method), Vec::new(), Some(message), None),
            Notice::Otp(a) => {
                let prompt = match (&a.card_last4, &a.wallet_last4) {
                    (Some(l4), _) => format!(
                        "Your bank sent a code for the card ending {l4}. In test mode it is 123456."
                    ),
                    (_, Some(l4)) => format!(
                        "We sent a code to the number ending {l4}. In test mode it is 123456."
                    ),
                    _ => "Enter the code you received. In test mode it is 123456.".into(),
                };
                (
                    Some(a.method.clone()),
                    Vec::new(),
                    None,
                    Some(OtpView {
                        attempt_id: a.id,
                        prompt,
                    }),
                )
            }
        };
        let error_for = |field: &str| {
            fields
                .iter()
                .find(|f| f.field == field)
                .map(|f| f.message.clone())
        };
        let offered = methods::offered(p);
        let upi = p
            .upi
            .as_ref()
            .filter(|_| p.methods.iter().any(|m| m == "upi"))
            .map(|u| {
                let deeplink = u.deeplink(p.currency(), &p.id);
                UpiView {
                    id: u.upi_id.clone(),
                    name: u.upi_name.clone(),
                    amount: format_amount(u.payable_minor, p.currency()),
                    qr_svg: qr_svg(&deeplink),
                    deeplink,
                    open: open_method.is_none(),
                }
            });
        // UPI comes first when offered; otherwise the first method starts open.
        let first = if upi.is_some() {
            None
        } else {
            offered.first().map(|m| m.name())
        };
        let methods = offered
            .iter()
            .map(|m| {
                let open = match &open_method {
                    Some(name) => name == m.name(),
                    None => Some(m.name()) == first,
                };
                let mine = open_method.as_deref() == Some(m.name());
                MethodView {
                    name: m.name(),
                    label: m.label(),
                    open,
                    error_number: if mine { error_for("number") } else { None },
                    error_expiry: if mine { error_for("expiry") } else { None },
                    error_cvc: if mine { error_for("cvc") } else { None },
                    error_phone: if mine { error_for("phone") } else { None },
                    expiry_value: String::new(),
                    phone_value: String::new(),
                }
            })
            .collect();
        let redirect_to = match p.status {
            PaymentStatus::Succeeded
            | PaymentStatus::PartiallyRefunded
            | PaymentStatus::Refunded => p
                .success_url
                .as_deref()
                .and_then(|u| with_payment_id(u, p, redirect_id_params)),
            PaymentStatus::Canceled => p
                .cancel_url
                .as_deref()
                .and_then(|u| with_payment_id(u, p, redirect_id_params)),
            _ => None,
        };
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
            error,
            otp,
            csrf,
            embedded,
            embed_origin: embed_origin.map(str::to_string),
            embed_query,
            paid_with: match (p.paid_with.as_deref(), &p.method_reference) {
                (Some("upi"), Some(utr)) => Some(format!("UPI · UTR {utr}")),
                (Some("test"), _) => Some("Test mode".into()),
                (_, reference) => reference.clone(),
            },
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
