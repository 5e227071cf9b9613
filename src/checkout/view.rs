//! What the checkout template shows: the payment, formatted for a customer.

use super::texts;
use crate::domain::attempt::Attempt;
use crate::domain::merchant::Merchant;
use crate::domain::payment::{Payment, PaymentStatus};
use crate::domain::wallet::Wallet;
use crate::i18n::{Locale, Texts};
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
        code: &'static str,
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
    pub label: String,
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

/// One language of the page's language switch: the same page in that language.
pub struct LanguageLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// The switch of a page at `path` whose query (without `lang`) is `query`.
pub fn language_links(path: &str, query: &str, current: Locale) -> Vec<LanguageLink> {
    Locale::ALL
        .into_iter()
        .map(|l| LanguageLink {
            code: l.code(),
            name: l.native_name(),
            href: match query {
                "" => format!("{path}?lang={}", l.code()),
                q => format!("{path}{q}&lang={}", l.code()),
            },
            current: l == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "checkout.html")]
pub struct Page {
    /// The page's words, in the customer's language.
    pub t: Texts,
    pub languages: Vec<LanguageLink>,
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
    /// What the page's forms and links carry: the embed parameters and the chosen language.
    pub page_query: String,
    pub paid_with: Option<String>,
    /// When it was paid: as the language writes it, and as RFC 3339 for the page's script.
    pub paid_on: Option<(String, String)>,
    /// Where the customer goes next (success or cancel URL, with the payment id).
    pub redirect_to: Option<String>,
    /// Set when the page should move on by itself (not inside the SDK's modal).
    pub auto_redirect: Option<String>,
}

/// The shop's initial, for the round badge beside its name.
pub fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default()
}

fn seconds_left(p: &Payment) -> i64 {
    (p.expires_at - Utc::now()).num_seconds().max(0)
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
    fn new(notice: Notice, t: &Texts) -> NoticeView {
        let (open_method, fields, error, otp) = match notice {
            Notice::None => (None, Vec::new(), None, None),
            Notice::Fields { method, fields } => (Some(method), fields, None, None),
            Notice::Declined {
                method,
                code,
                message,
            } => {
                let error = texts::decline(t, &method, code, &message);
                (Some(method), Vec::new(), Some(error), None)
            }
            Notice::Otp(a) => (
                Some(a.method.clone()),
                Vec::new(),
                None,
                Some(OtpView {
                    prompt: texts::otp_prompt(t, &a),
                    attempt_id: a.id,
                }),
            ),
        };
        NoticeView {
            open_method,
            fields,
            error,
            otp,
        }
    }

    /// The message for `field` of the method `method`, if that method's form is the one to correct.
    fn error_for(&self, t: &Texts, method: &str, field: &str) -> Option<String> {
        if self.open_method.as_deref() != Some(method) {
            return None;
        }
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| texts::field_error(t, method, f))
    }
}

/// The UPI panel (QR code and deep link) when the payment offers UPI and has a UPI payee.
fn upi_view(t: &Texts, p: &Payment, open: bool) -> Option<UpiView> {
    p.upi()
        .filter(|_| p.methods.iter().any(|m| m == "upi"))
        .map(|u| {
            let deeplink = u.deeplink(p.currency(), &p.id);
            UpiView {
                id: u.payee.clone(),
                name: u.payee_name.clone(),
                amount: t.exact_amount(u.payable_minor, p.currency()),
                qr_svg: crate::http::qr::qr_svg(&deeplink, 200),
                deeplink,
                open,
            }
        })
}

/// The live wallets the payment offers and the merchant has a number for; the first starts
/// open unless the notice names another method.
fn transfer_views(t: &Texts, p: &Payment, merchant: &Merchant, open: bool) -> Vec<TransferView> {
    let Some(transfer) = p.transfer.as_ref().filter(|_| p.upi().is_none()) else {
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
            amount: t.exact_amount(transfer.payable_minor, p.currency()),
            number: number.to_string(),
            open: open && i == 0,
        })
        .collect()
}

/// The offered methods' forms: the one the notice names starts open (else the first, unless
/// UPI is shown first), with the notice's field errors on it.
fn method_views(t: &Texts, p: &Payment, notice: &NoticeView, upi_shown: bool) -> Vec<MethodView> {
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
                label: match m.name() {
                    "card" => t.get("method-card"),
                    _ => m.label().to_string(),
                },
                open,
                error_number: notice.error_for(t, m.name(), "number"),
                error_expiry: notice.error_for(t, m.name(), "expiry"),
                error_cvc: notice.error_for(t, m.name(), "cvc"),
                error_phone: notice.error_for(t, m.name(), "phone"),
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

/// Where the page is shown: its language, whether inside the JS SDK's modal, and the query its
/// forms and links carry (the embed parameters; the language when the customer chose it).
pub struct Shown<'a> {
    pub t: Texts,
    pub embed_origin: Option<&'a str>,
    pub query: String,
    /// The query without the language, for the language switch.
    pub query_without_lang: String,
}

impl Page {
    pub fn new(
        p: &Payment,
        merchant: &Merchant,
        csrf: String,
        shown: Shown<'_>,
        notice: Notice,
        redirect_id_params: &[&str],
    ) -> Page {
        let Shown {
            t,
            embed_origin,
            query,
            query_without_lang,
        } = shown;
        let notice = NoticeView::new(notice, &t);
        // UPI comes first when offered; otherwise the first method starts open.
        let upi = upi_view(&t, p, notice.open_method.is_none());
        let transfers = transfer_views(&t, p, merchant, notice.open_method.is_none());
        let methods = method_views(&t, p, &notice, upi.is_some() || !transfers.is_empty());
        let redirect_to = redirect_to(p, redirect_id_params);
        let embedded = embed_origin.is_some();
        let path = format!("/pay/{}", p.id);
        Page {
            languages: language_links(&path, &query_without_lang, t.locale()),
            payment_id: p.id.clone(),
            status: match p.status {
                PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => "succeeded",
                other => other.as_str(),
            },
            livemode: p.livemode,
            merchant_name: merchant.name.clone(),
            merchant_initial: initial(&merchant.name),
            amount: t.amount(p.amount.minor(), p.currency()),
            description: p.description.clone(),
            expires_at: crate::service::objects::rfc3339(p.expires_at),
            time_left: t.countdown(seconds_left(p)),
            methods,
            upi,
            transfers,
            error: notice.error,
            otp: notice.otp,
            csrf,
            embedded,
            embed_origin: embed_origin.map(str::to_string),
            page_query: query,
            paid_with: crate::i18n::paid_with(&t, p),
            paid_on: (p.status == PaymentStatus::Succeeded).then(|| {
                (
                    t.date(p.updated_at),
                    crate::service::objects::rfc3339(p.updated_at),
                )
            }),
            auto_redirect: if embedded { None } else { redirect_to.clone() },
            redirect_to,
            t,
        }
    }
}

#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html lang="{{ t.locale() }}" dir="{{ t.dir() }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><link rel="stylesheet" href="/static/checkout.css"></head>
<body><main class="sheet"><section class="result neutral"><h1>{{ title }}</h1><p>{{ text }}</p></section>
<footer>{{ t.get("secured-by") }}</footer></main></body></html>"#,
    ext = "html"
)]
struct MessagePage<'a> {
    t: &'a Texts,
    title: &'a str,
    text: &'a str,
}

/// A page that says one thing (a payment not found, a form expired) in the page's language.
pub fn message(t: &Texts, title: &str, text: &str) -> String {
    MessagePage { t, title, text }
        .render()
        .unwrap_or_else(|_| title.to_string())
}
