//! The audit log: who changed what, when and from where, filtered by actor, action and date,
//! newest first one page at a time, and as CSV (owners and admins only).

use super::view::Chrome;
use super::{render, Dash, DashError};
use crate::domain::audit::{AuditEntry, AuditFilter, ACTIONS};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};

/// Entries on one page.
const PAGE: u32 = 100;
/// The most rows one export holds (read `EXPORT_PAGE` at a time).
const CSV_MAX: usize = 10_000;
const EXPORT_PAGE: u32 = 500;

pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub object: String,
    pub mode: String,
    pub detail: String,
    pub origin: String,
}

impl AuditRow {
    fn new(e: &AuditEntry) -> AuditRow {
        AuditRow {
            when: e.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: e.actor_label.clone(),
            actor_kind: e.actor_kind.clone(),
            action: e.action.clone(),
            object: e.object_id.clone().unwrap_or_default(),
            mode: e.mode.clone().unwrap_or_default(),
            detail: e.detail.clone(),
            origin: [e.client_addr.as_deref(), e.user_agent.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub rows: Vec<AuditRow>,
    /// (value, label) of the actor filter: the team, the command line, the keys.
    pub actors: Vec<(String, String)>,
    pub actions: Vec<&'static str>,
    pub query: AuditQuery,
    /// The query string of the next (older) page, when there is one.
    pub older: Option<String>,
    /// The query string of the same filter, for the CSV link.
    pub filter_query: String,
}

/// The page's filter as the browser sends it: dates as `YYYY-MM-DD` (UTC), the cursor as
/// `<microseconds>~<id>` of the last entry shown.
#[derive(serde::Deserialize, serde::Serialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub before: String,
}

impl AuditQuery {
    fn to_filter(&self, limit: u32) -> Result<AuditFilter, DashError> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let action = text(&self.action);
        if let Some(a) = &action {
            if !ACTIONS.contains(&a.as_str()) {
                return Err(DashError::Invalid(format!("no action '{a}'")));
            }
        }
        let until = day(&self.to)?.and_then(|d| d.checked_add_days(chrono::Days::new(1)));
        Ok(AuditFilter {
            actor_id: text(&self.actor),
            action,
            since: day(&self.from)?.map(midnight),
            until: until.map(midnight),
            before: cursor(&self.before)?,
            limit,
        })
    }

    fn encoded(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

fn day(text: &str) -> Result<Option<NaiveDate>, DashError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| DashError::Invalid(format!("'{text}' is not a date (YYYY-MM-DD)")))
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn cursor(text: &str) -> Result<Option<(DateTime<Utc>, String)>, DashError> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || DashError::Invalid("the page cursor is not valid".into());
    let (micros, id) = text.split_once('~').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok(Some((at, id.chars().take(64).collect())))
}

pub async fn page(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<AuditQuery>,
) -> Result<Response, DashError> {
    let entries = state
        .payments
        .audit_log(&dash.acting(), &q.to_filter(PAGE + 1)?)
        .await?;
    let more = entries.len() > PAGE as usize;
    let shown = &entries[..entries.len().min(PAGE as usize)];
    let older = shown.last().filter(|_| more).map(|last| {
        AuditQuery {
            before: format!("{}~{}", last.created_at.timestamp_micros(), last.id),
            ..q.clone()
        }
        .encoded()
    });
    let filter_query = AuditQuery {
        before: String::new(),
        ..q.clone()
    }
    .encoded();
    render(&AuditPage {
        chrome: Chrome::new(&dash, "audit", format!("/dashboard/audit?{filter_query}")),
        rows: shown.iter().map(AuditRow::new).collect(),
        actors: actors(&state, &dash).await?,
        actions: ACTIONS.to_vec(),
        query: q,
        older,
        filter_query,
    })
}

/// Who the log can be filtered by: the team, the command line, the merchant's keys.
async fn actors(state: &AppState, dash: &Dash) -> Result<Vec<(String, String)>, DashError> {
    let merchant = &dash.merchant.id;
    let mut out: Vec<(String, String)> = state
        .reads
        .list_users(merchant)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    out.push(("cli".into(), "command line".into()));
    out.extend(
        state
            .reads
            .list_keys(Some(merchant))
            .await?
            .into_iter()
            .map(|k| (k.id.clone(), format!("key {} ({})", k.id, k.label))),
    );
    Ok(out)
}

/// The filtered log (newest first, up to `CSV_MAX` rows) as a CSV download.
pub async fn csv(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<AuditQuery>,
) -> Result<Response, DashError> {
    let by = dash.acting();
    let mut filter = q.to_filter(EXPORT_PAGE)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| DashError::Internal(e.to_string());
    out.write_record([
        "created_at",
        "actor_kind",
        "actor_id",
        "actor",
        "action",
        "object_id",
        "mode",
        "detail",
        "client_addr",
        "user_agent",
    ])
    .map_err(csv_error)?;
    let mut written = 0;
    loop {
        let page = state.payments.audit_log(&by, &filter).await?;
        for e in &page {
            out.write_record(csv_record(e)).map_err(csv_error)?;
        }
        written += page.len();
        match page.last() {
            Some(last) if page.len() == EXPORT_PAGE as usize && written < CSV_MAX => {
                filter.before = Some((last.created_at, last.id.clone()));
            }
            _ => break,
        }
    }
    let bytes = out
        .into_inner()
        .map_err(|e| DashError::Internal(e.to_string()))?;
    Ok(super::view::csv_download("audit", bytes))
}

/// One entry as a CSV row. Text a person typed (an e-mail address tried, a user agent) is
/// kept from starting a spreadsheet formula.
fn csv_record(e: &AuditEntry) -> [String; 10] {
    let text = |v: &str| super::payments::csv_text(v);
    [
        crate::service::objects::rfc3339(e.created_at),
        e.actor_kind.clone(),
        text(&e.actor_id),
        text(&e.actor_label),
        e.action.clone(),
        e.object_id.clone().unwrap_or_default(),
        e.mode.clone().unwrap_or_default(),
        text(&e.detail),
        e.client_addr.clone().unwrap_or_default(),
        text(e.user_agent.as_deref().unwrap_or("")),
    ]
}
