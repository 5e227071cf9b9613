//! The overview: revenue today and this month per currency, the success rate, payments by
//! status, a 30-day revenue chart (SVG drawn here, no script), and the latest payments.

use super::view::{money, Chrome, PaymentRow};
use super::{render, Dash, DashError};
use crate::domain::payment::PaymentStatus;
use crate::domain::role::Action;
use crate::domain::session::DayStat;
use crate::http::AppState;
use crate::service::PaymentFilter;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
pub struct OverviewPage {
    pub chrome: Chrome,
    pub today: Vec<String>,
    pub month: Vec<String>,
    pub success_rate: String,
    pub settled: i64,
    pub by_status: Vec<(&'static str, i64)>,
    pub chart_currency: Option<String>,
    pub chart: String,
    pub recent: Vec<PaymentRow>,
}

fn paid(status: &str) -> bool {
    PaymentStatus::parse(status).is_some_and(|s| s.is_paid())
}

/// Net revenue (paid minus refunded) per currency over the days `keep` accepts.
fn revenue(stats: &[DayStat], keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for s in stats.iter().filter(|s| paid(&s.status) && keep(&s.day)) {
        *sums.entry(&s.currency).or_default() += s.amount_minor - s.refunded_minor;
    }
    if sums.is_empty() {
        return vec!["—".into()];
    }
    sums.into_iter().map(|(c, m)| money(m, c)).collect()
}

/// Bars of net revenue per day for one currency, as an SVG the page includes as is (it holds
/// only numbers and dates this function wrote).
fn chart(stats: &[DayStat], currency: &str, days: &[NaiveDate]) -> String {
    let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
    for s in stats
        .iter()
        .filter(|s| s.currency == currency && paid(&s.status))
    {
        *per_day.entry(s.day.clone()).or_default() += s.amount_minor - s.refunded_minor;
    }
    let max = per_day.values().copied().max().unwrap_or(0).max(1);
    let (width, height, top, bottom) = (600.0, 160.0, 10.0, 20.0);
    let slot = width / days.len().max(1) as f64;
    let mut svg = format!(
        r#"<svg viewBox="0 0 {width} {height}" role="img" aria-label="Revenue per day, last 30 days, {currency}" data-testid="revenue-chart">"#
    );
    svg.push_str(&format!(
        r#"<line class="axis" x1="0" y1="{y}" x2="{width}" y2="{y}" stroke-width="1"/>"#,
        y = height - bottom
    ));
    for (i, day) in days.iter().enumerate() {
        let key = day.format("%Y-%m-%d").to_string();
        let value = per_day.get(&key).copied().unwrap_or(0);
        let h = (value.max(0) as f64 / max as f64) * (height - top - bottom);
        let x = i as f64 * slot + slot * 0.15;
        svg.push_str(&format!(
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"><title>{key}: {amount}</title></rect>"#,
            y = height - bottom - h,
            w = slot * 0.7,
            amount = money(value, currency),
        ));
        // A date under every seventh bar and the last, never two on top of each other.
        let last = i + 1 == days.len();
        if (i % 7 == 0 && i + 4 < days.len()) || last {
            svg.push_str(&format!(
                r#"<text x="{tx:.1}" y="{ty}"{anchor}>{label}</text>"#,
                tx = if last { width } else { x },
                ty = height - 6.0,
                anchor = if last { r#" text-anchor="end""# } else { "" },
                label = day.format("%b %d"),
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// How the last 30 days' payments ended: the count per status (statuses with none left out),
/// the settled count (all but pending) and the share of those that were paid.
struct Outcomes {
    by_status: Vec<(&'static str, i64)>,
    settled: i64,
    success_rate: String,
}

fn outcomes(recent_days: &[&DayStat]) -> Outcomes {
    let count = |keep: &dyn Fn(&DayStat) -> bool| -> i64 {
        recent_days
            .iter()
            .filter(|d| keep(d))
            .map(|d| d.count)
            .sum()
    };
    let mut by_status: Vec<(&'static str, i64)> = PaymentStatus::ALL
        .iter()
        .map(|s| (s.as_str(), count(&|d| d.status == s.as_str())))
        .collect();
    by_status.retain(|(_, n)| *n > 0);
    let settled = count(&|d| d.status != "pending");
    let succeeded = count(&|d| paid(&d.status));
    let success_rate = if settled == 0 {
        "—".to_string()
    } else {
        format!("{:.1}%", succeeded as f64 * 100.0 / settled as f64)
    };
    Outcomes {
        by_status,
        settled,
        success_rate,
    }
}

/// The currency that earned the most in the last 30 days: the one the chart shows.
fn top_currency(recent_days: &[&DayStat]) -> Option<String> {
    let mut per_currency: BTreeMap<&str, i64> = BTreeMap::new();
    for d in recent_days.iter().filter(|d| paid(&d.status)) {
        *per_currency.entry(&d.currency).or_default() += d.amount_minor - d.refunded_minor;
    }
    per_currency
        .iter()
        .max_by_key(|(_, v)| **v)
        .map(|(c, _)| c.to_string())
}

pub async fn page(State(state): State<AppState>, dash: Dash) -> Result<Response, DashError> {
    let now = Utc::now();
    let today = now.date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let thirty = today - Duration::days(29);
    let since = month_start.min(thirty);
    let since_time = since.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let scope = dash.scope_for(Action::ReadPayments)?;
    let stats = state.reads.payment_stats(&scope, since_time).await?;
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let (today_key, month_key, thirty_key) = (day(today), day(month_start), day(thirty));

    let recent_days: Vec<&DayStat> = stats.iter().filter(|s| s.day >= thirty_key).collect();
    let Outcomes {
        by_status,
        settled,
        success_rate,
    } = outcomes(&recent_days);
    let chart_currency = top_currency(&recent_days);
    let days: Vec<NaiveDate> = (0..30).map(|i| thirty + Duration::days(i)).collect();
    let chart_svg = chart_currency
        .as_deref()
        .map(|c| chart(&stats, c, &days))
        .unwrap_or_default();
    let recent = state
        .payments
        .list(
            &scope,
            &PaymentFilter {
                limit: 8,
                ..PaymentFilter::default()
            },
        )
        .await?;
    render(&OverviewPage {
        chrome: Chrome::new(&dash, "overview", "/dashboard".into()),
        today: revenue(&stats, |d| d == today_key),
        month: revenue(&stats, |d| d >= month_key.as_str()),
        success_rate,
        settled,
        by_status,
        chart_currency,
        chart: chart_svg,
        recent: recent.iter().map(PaymentRow::new).collect(),
    })
}
