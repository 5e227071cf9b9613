//! What a receipt says, in the payment's language (else the merchant's default): the
//! subject, a text part and an HTML part (`templates/receipt.txt`, `templates/receipt.html`).

use super::smtp::Mail;
use crate::domain::receipt::Receipt;
use crate::i18n::{Locale, Texts};
use crate::store::{Scope, Store, StoreError};
use askama::Template;

pub enum ComposeError {
    /// The customer's address cannot be written to.
    Address(String),
    /// The payment could not be read: try again.
    Store(StoreError),
}

impl From<StoreError> for ComposeError {
    fn from(e: StoreError) -> ComposeError {
        ComposeError::Store(e)
    }
}

/// The lines of a receipt, each a label and a value, as both parts show them.
struct Line {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "receipt.txt")]
struct TextPart<'a> {
    heading: &'a str,
    lines: &'a [Line],
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct HtmlPart<'a> {
    t: &'a Texts,
    merchant: &'a str,
    heading: &'a str,
    lines: &'a [Line],
    footer: &'a str,
}

fn line(label: String, value: String) -> Line {
    Line { label, value }
}

pub async fn compose(store: &dyn Store, r: &Receipt) -> Result<Mail, ComposeError> {
    let scope = Scope {
        merchant_id: r.merchant_id.clone(),
        livemode: r.livemode,
    };
    let payment = store.get_payment(&scope, &r.payment_id).await?;
    let merchant = store.get_merchant(&r.merchant_id).await?;
    let t = Texts::new(
        payment
            .locale
            .or(merchant.default_locale)
            .unwrap_or(Locale::En),
    );
    let paid = t.amount(payment.amount.minor(), payment.currency());
    let name = merchant.name.as_str();
    let mut lines = vec![line(t.get("paid-to"), name.to_string())];
    let (subject, heading) = match &r.refund_id {
        Some(id) => {
            let refund = store.get_refund(&scope, id).await?;
            let back = t.amount(refund.amount.minor(), refund.amount.currency());
            lines.push(line(t.get("amount"), paid));
            lines.push(line(t.get("refunded"), back.clone()));
            lines.push(line(t.get("refunded-on"), t.date(r.created_at)));
            let both = [("merchant", name), ("amount", back.as_str())];
            let subject = t.with_args("refund-subject", &both);
            (subject, t.with_args("refund-sent", &both))
        }
        None => {
            let subject = t.with_args("receipt-subject", &[("merchant", name), ("amount", &paid)]);
            lines.push(line(t.get("amount"), paid));
            if let Some(how) = crate::i18n::paid_with(&t, &payment) {
                lines.push(line(t.get("paid-with"), how));
            }
            lines.push(line(t.get("paid-on"), t.date(r.created_at)));
            (subject, t.with("receipt-thanks", "merchant", name))
        }
    };
    if let Some(d) = &payment.description {
        lines.push(line(t.get("receipt-for"), d.clone()));
    }
    lines.push(line(t.get("payment"), payment.id.clone()));
    let footer = t.with("receipt-keep", "merchant", name);
    let text = TextPart {
        heading: &heading,
        lines: &lines,
        footer: &footer,
    };
    let html = HtmlPart {
        t: &t,
        merchant: name,
        heading: &heading,
        lines: &lines,
        footer: &footer,
    };
    let to = r
        .to_email
        .parse()
        .map_err(|e| ComposeError::Address(format!("{}: {e}", r.to_email)))?;
    Ok(Mail {
        sender_name: merchant.name.clone(),
        to,
        subject,
        text: text.render().unwrap_or_else(|_| heading.clone()),
        html: html.render().unwrap_or_else(|_| heading.clone()),
    })
}
