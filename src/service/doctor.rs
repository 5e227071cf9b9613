//! `hundi doctor`: what can be checked without sending money, each as ok, a warning or an
//! error with what to do. Read-only: nothing here writes (the master key check opens every
//! sealed value and writes none back).

use crate::domain::key::Mode;
use crate::secrets::SecretBox;
use crate::store::{Page, Scope, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Error,
}

/// One check's result: a stable id (for monitoring), what was found, what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            check,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warning(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Warning,
            fix: Some(fix.into()),
            ..Finding::ok(check, detail)
        }
    }

    fn error(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Error,
            ..Finding::warning(check, detail, fix)
        }
    }
}

/// The worst status among the findings (ok when there are none).
pub fn overall(findings: &[Finding]) -> Status {
    findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Ok)
}

/// What the node is configured with, as `serve` would read it.
pub struct Setup {
    /// The master key ring, or why it could not be read.
    pub ring: Result<SecretBox, String>,
    /// The public URL `serve` would hand out (explicit, or from the domain); `None`: none set.
    pub public_url: Option<String>,
    /// With `--domain`: the certificate directory and the name.
    pub certificate: Option<(PathBuf, String)>,
    /// HUNDI_ALLOW_PRIVATE_WEBHOOKS: private endpoints are then a warning, not an error.
    pub allow_private_webhooks: bool,
    /// The date of the commit the binary was built from (`YYYY-MM-DD`), if known.
    pub built_on: Option<chrono::NaiveDate>,
}

/// Every check against `store`, in a fixed order.
pub async fn examine(store: &dyn Store, setup: &Setup) -> Vec<Finding> {
    let mut findings = vec![migrations(store).await];
    findings.push(master_key(store, &setup.ring).await);
    findings.extend(clock(store, setup.built_on, Utc::now()).await);
    findings.extend(live(store, setup.public_url.as_deref()).await);
    findings.extend(webhooks(store, setup.allow_private_webhooks).await);
    if let Some((dir, domain)) = &setup.certificate {
        findings.push(certificate(
            crate::tls::stored_not_after(dir, domain),
            Utc::now(),
        ));
    }
    findings
}

async fn migrations(store: &dyn Store) -> Finding {
    const ID: &str = "database.migrated";
    let m = match store.migrations().await {
        Ok(m) => m,
        Err(e) => {
            return Finding::error(
                ID,
                format!("cannot read the migrations: {e}"),
                "check HUNDI_DATABASE_URL and that the database is up",
            )
        }
    };
    let unknown: Vec<i64> = m
        .applied
        .iter()
        .filter(|v| !m.known.contains(v))
        .copied()
        .collect();
    let pending = m.known.iter().filter(|v| !m.applied.contains(v)).count();
    if !unknown.is_empty() {
        return Finding::error(
            ID,
            format!("the database has migrations this binary does not know: {unknown:?}"),
            "this binary is older than the database: install the newer one",
        );
    }
    if pending > 0 {
        return Finding::warning(
            ID,
            format!("{pending} of {} migrations not applied", m.known.len()),
            "run `hundi migrate`, or start `hundi serve`, which migrates",
        );
    }
    Finding::ok(
        ID,
        format!(
            "{} migrations applied ({})",
            m.applied.len(),
            store.backend()
        ),
    )
}

async fn master_key(store: &dyn Store, ring: &Result<SecretBox, String>) -> Finding {
    const ID: &str = "secrets.master_key";
    let ring = match ring {
        Ok(ring) => ring,
        Err(e) => {
            return Finding::error(
                ID,
                format!("cannot read the master key: {e}"),
                "set HUNDI_MASTER_KEY_FILE (or HUNDI_MASTER_KEY) to the key the servers use",
            )
        }
    };
    match super::rotation::check_all(store, ring).await {
        Ok(()) => Finding::ok(ID, format!("every sealed secret opens ({} key(s) in the ring)", ring.key_count())),
        Err(e) => Finding::error(ID, e.to_string(), "give the master key the secrets were sealed with (keep the old key in the ring after a rotation: `hundi secrets rotate`)"),
    }
}

/// This machine's clock against the database server's (PostgreSQL) and the binary's build.
async fn clock(
    store: &dyn Store,
    built_on: Option<chrono::NaiveDate>,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    const ID: &str = "clock";
    let fix = "set the time with NTP (timedatectl set-ntp true): expiries, signatures' timestamps and TOTP codes depend on it";
    if let Some(day) = built_on {
        if now.date_naive() < day {
            return vec![Finding::error(
                ID,
                format!("the clock says {now}, before this binary was built ({day})"),
                fix,
            )];
        }
    }
    match store.database_clock().await {
        Ok(Some(db_now)) => vec![clock_skew(now, db_now, fix)],
        Ok(None) => vec![Finding::ok(ID, format!("{now} (after the build date)"))],
        Err(e) => vec![Finding::error(
            ID,
            format!("cannot read the database's clock: {e}"),
            fix,
        )],
    }
}

fn clock_skew(now: DateTime<Utc>, db_now: DateTime<Utc>, fix: &str) -> Finding {
    const ID: &str = "clock";
    let apart = (now - db_now).num_milliseconds().abs();
    let detail = format!("{apart} ms apart from the database server's clock");
    match apart {
        0..=2_000 => Finding::ok(ID, detail),
        2_001..=60_000 => Finding::warning(ID, detail, fix),
        _ => Finding::error(ID, detail, fix),
    }
}

/// Merchants with a live key (not revoked): the public URL must be HTTPS, and each needs a
/// method that takes live payments.
async fn live(store: &dyn Store, public_url: Option<&str>) -> Vec<Finding> {
    let keys = match store.list_keys(None).await {
        Ok(keys) => keys,
        Err(e) => {
            return vec![Finding::error(
                "keys.live",
                format!("cannot list keys: {e}"),
                "check the database",
            )]
        }
    };
    let mut live: Vec<String> = keys
        .iter()
        .filter(|k| k.mode == Mode::Live && k.revoked_at.is_none())
        .map(|k| k.merchant_id.clone())
        .collect();
    live.sort();
    live.dedup();
    let mut findings = vec![public_url_finding(public_url, live.len())];
    for merchant_id in &live {
        findings.push(live_method(store, merchant_id).await);
    }
    findings
}

fn public_url_finding(public_url: Option<&str>, live_merchants: usize) -> Finding {
    const ID: &str = "public_url.https";
    let fix = "serve with --domain NAME (HTTPS by itself), or set HUNDI_PUBLIC_URL to the https:// address of the proxy in front";
    match public_url {
        Some(url) if url.starts_with("https://") => Finding::ok(ID, url),
        _ if live_merchants == 0 => Finding::ok(ID, format!("{} (no live keys yet)", public_url.unwrap_or("not set"))),
        Some(url) => Finding::error(ID, format!("{url} is not HTTPS and {live_merchants} merchant(s) have live keys"), fix),
        None => Finding::error(ID, format!("no public URL is set (checkout links would name the listen address) and {live_merchants} merchant(s) have live keys"), fix),
    }
}

async fn live_method(store: &dyn Store, merchant_id: &str) -> Finding {
    const ID: &str = "merchants.live_method";
    let merchant = match store.get_merchant(merchant_id).await {
        Ok(m) => m,
        Err(e) => {
            return Finding::error(
                ID,
                format!("merchant {merchant_id}: {e}"),
                "check the database",
            )
        }
    };
    let mut methods: Vec<&str> = merchant
        .wallet_numbers
        .iter()
        .map(|(w, _)| w.label())
        .collect();
    if merchant.upi_id.is_some() {
        methods.insert(0, "UPI");
    }
    if methods.is_empty() {
        return Finding::error(ID, format!("{} ({}) has live keys but no method takes live payments", merchant.name, merchant.id), "set a UPI id (`hundi merchant set-upi`) or wallet numbers (`hundi merchant set-wallets`), or Dashboard → Settings");
    }
    Finding::ok(ID, format!("{}: {}", merchant.name, methods.join(", ")))
}

/// Every enabled webhook endpoint resolves to public addresses only (and live ones are HTTPS).
async fn webhooks(store: &dyn Store, allow_private: bool) -> Vec<Finding> {
    const ID: &str = "webhooks.public";
    let merchants = match store.list_merchants().await {
        Ok(m) => m,
        Err(e) => {
            return vec![Finding::error(
                ID,
                format!("cannot list merchants: {e}"),
                "check the database",
            )]
        }
    };
    let mut findings = Vec::new();
    let mut checked = 0;
    for merchant in &merchants {
        for livemode in [false, true] {
            let scope = Scope {
                merchant_id: merchant.id.clone(),
                livemode,
            };
            let listed = match endpoints(store, &scope).await {
                Ok(listed) => listed,
                Err(e) => {
                    let detail = format!("cannot list {}'s endpoints: {e}", merchant.id);
                    findings.push(Finding::error(ID, detail, "check the database"));
                    continue;
                }
            };
            for endpoint in listed {
                checked += 1;
                if let Some(f) = endpoint_finding(&endpoint, allow_private).await {
                    findings.push(f);
                }
            }
        }
    }
    if findings.is_empty() {
        findings.push(Finding::ok(
            ID,
            format!("{checked} enabled endpoint(s), every one public"),
        ));
    }
    findings
}

/// A merchant's enabled endpoints in one mode, page by page.
async fn endpoints(
    store: &dyn Store,
    scope: &Scope,
) -> Result<Vec<crate::domain::webhook::Endpoint>, crate::store::StoreError> {
    let mut all = Vec::new();
    let mut page = Page {
        starting_after: None,
        limit: 100,
    };
    loop {
        let batch = store.list_endpoints(scope, &page).await?;
        let Some(last) = batch.last().map(|e| e.id.clone()) else {
            return Ok(all);
        };
        all.extend(batch.into_iter().filter(|e| e.enabled));
        page.starting_after = Some(last);
    }
}

async fn endpoint_finding(
    endpoint: &crate::domain::webhook::Endpoint,
    allow_private: bool,
) -> Option<Finding> {
    use crate::webhooks::ssrf::{check_url, TargetError};
    const ID: &str = "webhooks.public";
    let named = format!("endpoint {} ({})", endpoint.id, endpoint.url);
    match check_url(&endpoint.url, endpoint.livemode, false).await {
        Ok(_) => None,
        Err(TargetError::Unresolvable(host)) => Some(Finding::warning(ID, format!("{named}: {host} does not resolve from here"), "check the name; deliveries fail while it does not resolve")),
        Err(e @ TargetError::Forbidden(_)) if allow_private => Some(Finding::warning(ID, format!("{named}: {e}"), "allowed by HUNDI_ALLOW_PRIVATE_WEBHOOKS; unset it in production")),
        Err(e) => Some(Finding::error(ID, format!("{named}: {e}"), "change the endpoint's URL to a public https:// address (Dashboard → Webhooks), or disable it")),
    }
}

fn certificate(
    stored: Result<Option<DateTime<Utc>>, crate::tls::TlsError>,
    now: DateTime<Utc>,
) -> Finding {
    const ID: &str = "certificate.expiry";
    match stored {
        Err(e) => Finding::error(ID, e.to_string(), "remove the file: serve obtains a new certificate at start"),
        Ok(None) => Finding::warning(ID, "no certificate stored yet", "serve obtains it at start; ports 80 and 443 must reach this machine and the name must point at it"),
        Ok(Some(at)) if at <= now => Finding::error(ID, format!("expired on {at}"), "look at the log for acme errors; ports 80 and 443 must reach this machine"),
        Ok(Some(at)) if at - now < chrono::Duration::days(30) => Finding::warning(ID, format!("expires on {at}"), "renewal should have happened: look at the log for acme errors"),
        Ok(Some(at)) => Finding::ok(ID, format!("valid until {at}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn the_worst_finding_decides() {
        let ok = Finding::ok("a", "");
        let warn = Finding::warning("b", "", "");
        let err = Finding::error("c", "", "");
        assert_eq!(overall(&[]), Status::Ok);
        assert_eq!(overall(&[ok.clone(), warn.clone()]), Status::Warning);
        assert_eq!(overall(&[warn, err, ok]), Status::Error);
    }

    #[test]
    fn clocks_two_seconds_apart_pass_a_minute_fails() {
        let now = at("2026-12-03T10:00:00Z");
        assert_eq!(
            clock_skew(now, at("2026-12-03T10:00:01.5Z"), "").status,
            Status::Ok
        );
        assert_eq!(
            clock_skew(now, at("2026-12-03T09:59:30Z"), "").status,
            Status::Warning
        );
        assert_eq!(
            clock_skew(now, at("2026-12-03T10:05:00Z"), "").status,
            Status::Error
        );
    }

    #[test]
    fn a_certificate_is_renewed_a_month_ahead() {
        let now = at("2026-12-03T10:00:00Z");
        let status = |s: Option<&str>| certificate(Ok(s.map(at)), now).status;
        assert_eq!(status(Some("2027-03-01T00:00:00Z")), Status::Ok);
        assert_eq!(status(Some("2026-12-20T00:00:00Z")), Status::Warning);
        assert_eq!(status(Some("2026-12-01T00:00:00Z")), Status::Error);
        assert_eq!(status(None), Status::Warning);
    }

    #[test]
    fn an_http_public_url_matters_only_with_live_keys() {
        assert_eq!(
            public_url_finding(Some("http://127.0.0.1:3000"), 0).status,
            Status::Ok
        );
        assert_eq!(
            public_url_finding(Some("http://pay.example.com"), 1).status,
            Status::Error
        );
        assert_eq!(public_url_finding(None, 2).status, Status::Error);
        assert_eq!(
            public_url_finding(Some("https://pay.example.com"), 2).status,
            Status::Ok
        );
    }
}
