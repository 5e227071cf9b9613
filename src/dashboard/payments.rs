//! The payments (sessions) table with its filters, keyset pagination and CSV export; a
//! payment's page (amounts, customer, attempts, events with their webhook deliveries, refunds);
//! issuing a refund and canceling a pending payment.

use super::auth::{Plain, Posted};
use super::view::{money, when, Chrome, PaymentRow};
use super::{render, Dash, DashError};
use crate::domain::attempt::Attempt;
use crate::domain::payment::{Payment, PaymentStatus};
use crate::domain::refund::Refund;
use crate::domain::role::Action;
use crate::domain::source::Sources;
use crate::http::AppState;
use crate::service::{EventFilter, PaymentFilter};
use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime};

const PAGE: u32 = 50;
/// The most rows one CSV export holds.
const CSV_MAX: usize = 100_000;

#[derive(serde::Deserialize, Default, Clone)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

impl Filters {
    fn to_filter(&self, sources: &Sources, limit: u32) -> Result<PaymentFilter, DashError> {
        let date = |text: &str,
                    end: bool|
         -> Result<Option<chrono::DateTime<chrono::Utc>>, DashError> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| DashError::Invalid(format!("'{text}' is not a date (YYYY-MM-DD)")))?;
            let t = if end {
                NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or_default()
            } else {
                NaiveTime::MIN
            };
            Ok(Some(d.and_time(t).and_utc()))
        };
        let status = match self.status.trim() {
            "" => None,
            s => Some(
                PaymentStatus::parse(s)
                    .ok_or_else(|| DashError::Invalid(format!("unknown status '{s}'")))?,
            ),
        };
        let source = match self.source.trim() {
            "" => None,
            s if sources.get(s).is_some() || is_link_id(s) => Some(s.to_string()),
            s => return Err(DashError::Invalid(format!("unknown source '{s}'"))),
        };
        let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(PaymentFilter {
            status,
            source,
            search: non_empty(&self.q),
            created_gte: date(&self.from, false)?,
            created_lte: date(&self.to, true)?,
            starting_after: non_empty(&self.after),
            limit,
            ..PaymentFilter::default()
        })
    }

    /// The query string of these filters, with another cursor.
    fn query(&self, after: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("source", &self.source),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        if let Some(a) = after {
            q.append_pair("after", a);
        }
        q.finish()
    }
}

#[derive(Template)]
#[template(path = "dashboard/payments.html")]
pub struct PaymentsPage {
    pub chrome: Chrome,
    pub rows: Vec<PaymentRow>,
    pub status: String,
    pub source: String,
    pub from: String,
    pub to: String,
    pub q: String,
    pub statuses: Vec<&'static str>,
    pub sources: Vec<&'static str>,
    pub next: Option<String>,
    pub first: Option<String>,
    pub csv: String,
}

pub async fn list(
    State(state): State<AppState>,
    dash: Dash,
    Query(f): Query<Filters>,
    RawQuery(raw): RawQuery,
) -> Result<Response, DashError> {
    let mut found = state
        .payments
        .list(
            &dash.scope_for(Action::ReadPayments)?,
            &f.to_filter(&state.sources, PAGE + 1)?,
        )
        .await?;
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let next = more
        .then(|| {
            found
                .last()
                .map(|p| format!("/dashboard/payments?{}", f.query(Some(&p.id))))
        })
        .flatten();
    let here = match raw {
        Some(q) if !q.is_empty() => format!("/dashboard/payments?{q}"),
        _ => "/dashboard/payments".into(),
    };
    render(&PaymentsPage {
        chrome: Chrome::new(&dash, "payments", here),
        rows: found.iter().map(PaymentRow::new).collect(),
        first: (!f.after.is_empty()).then(|| format!("/dashboard/payments?{}", f.query(None))),
        csv: format!("/dashboard/payments.csv?{}", f.query(None)),
        status: f.status,
        source: f.source,
        from: f.from,
        to: f.to,
        q: f.q,
        statuses: PaymentStatus::ALL.iter().map(|s| s.as_str()).collect(),
        sources: state.sources.names(),
        next,
    })
}

/// The filtered rows as CSV (all pages, up to `CSV_MAX`).
pub async fn csv(
    State(state): State<AppState>,
    dash: Dash,
    Query(f): Query<Filters>,
) -> Result<Response, DashError> {
    let mut filter = f.to_filter(&state.sources, 500)?;
    filter.starting_after = None;
    let bytes = csv_bytes(&state, &dash.scope_for(Action::ReadPayments)?, filter).await?;
    Ok(super::view::csv_download(
        &format!("payments-{}", dash.mode().as_str()),
        bytes,
    ))
}

/// The CSV columns, in the order `csv_record` fills them.
const CSV_HEADER: [&str; 13] = [
    "id",
    "created_at",
    "status",
    "amount",
    "currency",
    "refunded",
    "payable",
    "source",
    "reference",
    "customer_name",
    "customer_email",
    "paid_with",
    "method_reference",
];

/// Every page of the filter (up to `CSV_MAX` rows) written as one CSV document.
async fn csv_bytes(
    state: &AppState,
    scope: &crate::service::Scope,
    mut filter: PaymentFilter,
) -> Result<Vec<u8>, DashError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| DashError::Internal(e.to_string());
    out.write_record(CSV_HEADER).map_err(csv_error)?;
    let mut written = 0;
    loop {
        let page = state.payments.list(scope, &filter).await?;
        for p in &page {
            out.write_record(csv_record(p)).map_err(csv_error)?;
        }
        written += page.len();
        match page.last() {
            Some(last) if page.len() == filter.limit as usize && written < CSV_MAX => {
                filter.starting_after = Some(last.id.clone());
            }
            _ => break,
        }
    }
    out.into_inner()
        .map_err(|e| DashError::Internal(e.to_string()))
}

/// One payment as a CSV row, in the order of `CSV_HEADER`.
fn csv_record(p: &Payment) -> [String; 13] {
    let currency = p.currency();
    let text = |v: &Option<String>| csv_text(v.as_deref().unwrap_or(""));
    let fmt = |m: i64| crate::domain::money::format_minor(m, currency);
    [
        p.id.clone(),
        crate::service::objects::rfc3339(p.created_at),
        p.status.as_str().to_string(),
        fmt(p.amount.minor()),
        currency.code().to_string(),
        fmt(p.refunded_minor),
        p.transfer
            .as_ref()
            .map(|t| fmt(t.payable_minor))
            .unwrap_or_default(),
        p.source.clone(),
        text(&p.reference),
        text(&p.customer.name),
        text(&p.customer.email),
        p.paid_with.clone().unwrap_or_default(),
        p.method_reference.clone().unwrap_or_default(),
    ]
}

/// Customer-supplied text as a spreadsheet will read it: a leading `=`, `+`, `-`, `@`, tab or
/// carriage return would start a formula, so such a value gets a leading `'`.
pub(super) fn csv_text(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

pub struct AttemptRow {
    pub method: String,
    pub status: String,
    pub detail: String,
    pub at: String,
}

pub struct DeliveryRow {
    pub endpoint: String,
    pub status: String,
    pub codes: String,
}

pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub at: String,
    pub deliveries: Vec<DeliveryRow>,
}

pub struct RefundRow {
    pub id: String,
    pub amount: String,
    pub reason: String,
    pub at: String,
}

/// A receipt e-mailed to the customer, as the payment page lists it.
pub struct ReceiptRow {
    /// "Payment" or the refund's id.
    pub about: String,
    pub to: String,
    pub status: &'static str,
    /// When it was sent, or the tries so far and the mail server's last words.
    pub detail: String,
}

fn receipt_row(r: &crate::domain::receipt::Receipt) -> ReceiptRow {
    let detail = match (r.sent_at, &r.last_error) {
        (Some(at), _) => format!("sent {}", when(at)),
        (None, Some(e)) => format!("{} tries; last: {e}", r.attempts),
        (None, None) => format!("{} tries", r.attempts),
    };
    ReceiptRow {
        about: r.refund_id.clone().unwrap_or_else(|| "Payment".into()),
        to: r.to_email.clone(),
        status: r.status.as_str(),
        detail,
    }
}

#[derive(Template)]
#[template(path = "dashboard/payment.html")]
pub struct PaymentPage {
    pub chrome: Chrome,
    pub p: PaymentRow,
    pub facts: Vec<(&'static str, String)>,
    pub refundable: Option<String>,
    pub refundable_plain: String,
    pub attempts: Vec<AttemptRow>,
    pub events: Vec<EventRow>,
    pub refunds: Vec<RefundRow>,
    pub receipts: Vec<ReceiptRow>,
    pub notice: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct DetailQuery {
    #[serde(default)]
    notice: String,
}

fn facts(p: &Payment, state: &AppState) -> Vec<(&'static str, String)> {
    let currency = p.currency().code();
    let mut out = vec![
        ("Amount", money(p.amount.minor(), currency)),
        ("Refunded", money(p.refunded_minor, currency)),
        ("Status", p.status.as_str().to_string()),
        ("Source", p.source.clone()),
        ("Created", when(p.created_at)),
        ("Expires", when(p.expires_at)),
    ];
    let mut opt = |label: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            out.push((label, v.clone()));
        }
    };
    opt("Reference", &p.reference);
    opt("Description", &p.description);
    opt("Customer name", &p.customer.name);
    opt("Customer e-mail", &p.customer.email);
    opt("Customer phone", &p.customer.phone);
    opt("Paid with", &p.paid_with);
    opt("Method reference", &p.method_reference);
    if let Some(u) = p.upi() {
        out.push(("UPI id", u.payee.clone()));
        out.push(("Payable (UPI)", money(u.payable_minor, currency)));
    } else if let Some(t) = &p.transfer {
        out.push((
            "Payable (wallet transfer)",
            money(t.payable_minor, currency),
        ));
    }
    out.push(("Methods offered", p.methods.join(", ")));
    out.push(("Checkout", state.payments.checkout_url(&p.id)));
    for (k, v) in &p.metadata {
        out.push(("Metadata", format!("{k}: {v}")));
    }
    out
}

pub async fn detail(
    State(state): State<AppState>,
    dash: Dash,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, DashError> {
    let scope = dash.scope_for(Action::ReadPayments)?;
    let p = state.payments.get(&scope, &id).await?;
    let currency = p.currency().code();
    let attempts = state
        .reads
        .list_attempts(&p.id)
        .await?
        .iter()
        .map(attempt_row)
        .collect();
    let refunds_found = state.reads.list_refunds(&scope, &p.id).await?;
    let events = event_rows(&state, &scope, &p, &refunds_found).await?;
    let refunds = refunds_found
        .iter()
        .map(|r| RefundRow {
            id: r.id.clone(),
            amount: money(r.amount.minor(), currency),
            reason: r.reason.clone().unwrap_or_default(),
            at: when(r.created_at),
        })
        .collect();
    let receipts = state.reads.receipts_of(&scope, &p.id).await?;
    let left = p.refundable_minor();
    render(&PaymentPage {
        chrome: Chrome::new(&dash, "payments", format!("/dashboard/payments/{}", p.id)),
        facts: facts(&p, &state),
        refundable: (left > 0).then(|| money(left, currency)),
        refundable_plain: crate::domain::money::format_minor(left, p.currency()),
        p: PaymentRow::new(&p),
        attempts,
        events,
        refunds,
        receipts: receipts.iter().map(receipt_row).collect(),
        notice: Some(q.notice).filter(|n| !n.is_empty()),
    })
}

/// One attempt as the payment page lists it: its failure, else the card or wallet it used.
fn attempt_row(a: &Attempt) -> AttemptRow {
    AttemptRow {
        method: a.method.clone(),
        status: format!("{:?}", a.status).to_lowercase(),
        detail: match (
            &a.card_brand,
            &a.card_last4,
            &a.wallet_last4,
            &a.failure_message,
        ) {
            (_, _, _, Some(m)) => m.clone(),
            (Some(b), Some(l), _, _) => format!("{b} •••• {l}"),
            (_, _, Some(w), _) => format!("wallet •••• {w}"),
            _ => String::new(),
        },
        at: when(a.created_at),
    }
}

/// The payment's events and its refunds' events, oldest first, each with its deliveries.
async fn event_rows(
    state: &AppState,
    scope: &crate::service::Scope,
    p: &Payment,
    refunds: &[Refund],
) -> Result<Vec<EventRow>, DashError> {
    let mut raw_events = Vec::new();
    for object in std::iter::once(p.id.clone()).chain(refunds.iter().map(|r| r.id.clone())) {
        let filter = EventFilter {
            object_id: Some(object),
            limit: 100,
            ..EventFilter::default()
        };
        raw_events.extend(state.reads.list_events(scope, &filter).await?);
    }
    raw_events.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut events = Vec::with_capacity(raw_events.len());
    for e in raw_events {
        events.push(EventRow {
            deliveries: delivery_rows(state, scope, &e.id).await?,
            id: e.id,
            kind: e.event_type,
            at: when(e.created_at),
        });
    }
    Ok(events)
}

/// An event's webhook deliveries, each with the status codes its tries got.
async fn delivery_rows(
    state: &AppState,
    scope: &crate::service::Scope,
    event_id: &str,
) -> Result<Vec<DeliveryRow>, DashError> {
    let page = crate::service::Page {
        starting_after: None,
        limit: 100,
    };
    let deliveries = state.reads.list_deliveries(scope, event_id, &page).await?;
    Ok(deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            endpoint: d.endpoint_id.clone(),
            status: d.status.clone(),
            codes: d
                .log
                .iter()
                .map(|a| {
                    a.status_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "no answer".into())
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect())
}

#[derive(serde::Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

pub async fn refund(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, form): Posted<RefundForm>,
) -> Result<Response, DashError> {
    let amount = Some(form.amount.trim()).filter(|a| !a.is_empty());
    let reason = Some(form.reason.trim().to_string()).filter(|r| !r.is_empty());
    let (p, r) = state
        .payments
        .refund(&dash.acting(), &id, amount, reason)
        .await?;
    let notice = format!("Refunded {}.", money(r.amount.minor(), p.currency().code()));
    Ok(Redirect::to(&format!(
        "/dashboard/payments/{}?{}",
        p.id,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("notice", &notice)
            .finish()
    ))
    .into_response())
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(dash, _): Posted<Plain>,
) -> Result<Response, DashError> {
    let p = state.payments.cancel(&dash.acting(), &id).await?;
    Ok(Redirect::to(&format!("/dashboard/payments/{}?notice=Canceled.", p.id)).into_response())
}

/// A payment link's id: its payments have it as their source.
fn is_link_id(s: &str) -> bool {
    s.strip_prefix("plink_").is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 40 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}
