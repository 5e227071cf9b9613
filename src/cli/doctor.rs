//! `hundi doctor`: the service's checks (service/doctor.rs) printed for a person, or as JSON
//! for monitoring. Exit status 1 when any check is an error.

use super::Db;
use crate::config::Config;
use crate::service::doctor::{examine, overall, Finding, Setup, Status};
use crate::store;
use clap::Args;

#[derive(Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    db: Db,
    /// The public URL `serve` is given (HUNDI_PUBLIC_URL).
    #[arg(long, env = "HUNDI_PUBLIC_URL")]
    public_url: Option<String>,
    /// `serve`'s HTTPS settings: with a domain, its certificate is checked too.
    #[command(flatten)]
    https: super::https::HttpsArgs,
    #[arg(long)]
    json: bool,
}

/// Runs every check; returns whether none was an error.
pub async fn doctor(args: DoctorArgs, config: &Config) -> anyhow::Result<bool> {
    let findings = match store::connect(&args.db.database_url, 1).await {
        Ok(store) => examine(&*store, &setup(&args, config)?).await,
        Err(e) => vec![Finding {
            check: "database.connect",
            status: Status::Error,
            detail: e.to_string(),
            fix: Some("check HUNDI_DATABASE_URL and that the database is up".into()),
        }],
    };
    let status = overall(&findings);
    if args.json {
        let report = serde_json::json!({ "status": status, "checks": findings });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&findings, status);
    }
    Ok(status != Status::Error)
}

/// What `serve` would run with: the same HTTPS settings (the domain checked as serve checks
/// it) give the same public URL and certificate directory.
fn setup(args: &DoctorArgs, config: &Config) -> anyhow::Result<Setup> {
    let url = &args.db.database_url;
    let https = args.https.config(url)?;
    let public_url = match (&args.public_url, &https) {
        (Some(given), _) if !given.trim().is_empty() => Some(given.trim().to_string()),
        (_, Some(https)) => Some(https.public_url(https.listen_port())),
        _ => None,
    };
    Ok(Setup {
        ring: read_ring(url, config),
        public_url,
        certificate: https.map(|h| (h.cert_dir, h.domain)),
        allow_private_webhooks: config.webhooks.allow_private,
        built_on: env!("HUNDI_BUILD_DATE").parse().ok(),
    })
}

/// The master key ring as `serve` reads it, but never created here (a doctor writes nothing).
fn read_ring(database_url: &str, config: &Config) -> Result<crate::secrets::SecretBox, String> {
    match config.master_key.file_for(database_url) {
        Some(path) => crate::secrets::SecretBox::load_file(path).map_err(|e| e.to_string()),
        None => crate::secrets::SecretBox::load(database_url, &config.master_key)
            .map_err(|e| e.to_string()),
    }
}

fn print_text(findings: &[Finding], status: Status) {
    let word = |s: Status| match s {
        Status::Ok => "ok",
        Status::Warning => "warning",
        Status::Error => "error",
    };
    for f in findings {
        println!("{:<8} {:<22} {}", word(f.status), f.check, f.detail);
        if let Some(fix) = &f.fix {
            println!("{:<8} {:<22} → {fix}", "", "");
        }
    }
    let count = |s: Status| findings.iter().filter(|f| f.status == s).count();
    println!(
        "\n{}: {} ok, {} warning(s), {} error(s)",
        word(status),
        count(Status::Ok),
        count(Status::Warning),
        count(Status::Error)
    );
}
