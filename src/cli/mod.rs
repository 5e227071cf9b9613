//! The `hundi` command line: serve, migrate, and the admin commands scripts need.

use crate::config::Config;
use crate::domain::credential::Credential;
use crate::domain::key::{format_permissions, parse_permissions, ApiKey, Mode};
use crate::domain::money::{format_minor, Currency};
use crate::domain::role::Role;
use crate::domain::wallet::Wallet;
use crate::secrets::SecretBox;
use crate::service::access::Acting;
use crate::service::{keys, merchants, users};
use crate::startup;
use crate::store::{self, KeyRevenue, Store};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

mod doctor;
mod https;
mod inbox;

#[derive(Parser)]
#[command(
    name = "hundi",
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("HUNDI_BUILD_COMMIT"),
        ", ",
        env!("HUNDI_BUILD_DATE"),
        ")"
    ),
    about = "A self-hosted payment gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Db {
    /// `sqlite://path` (created if missing) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "HUNDI_DATABASE_URL",
        default_value = "sqlite://hundi.db",
        global = true
    )]
    database_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrating the database first).
    Serve(ServeArgs),
    /// Apply the database migrations; applying twice is a no-op.
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// Write a consistent copy of the SQLite database to FILE while the server runs
    /// (PostgreSQL: use pg_dump).
    Backup {
        #[command(flatten)]
        db: Db,
        /// Where the copy goes; never overwritten.
        file: std::path::PathBuf,
    },
    /// Move the database: `hundi db copy --to postgres://…`.
    #[command(name = "db")]
    Database {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        command: DbCommand,
    },
    /// The master key of sealed secrets: `hundi secrets rotate`.
    Secrets {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Remove webhook history past its keep (HUNDI_KEEP_*); the server does it by itself.
    Prune {
        #[command(flatten)]
        db: Db,
        /// Only count what would go.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Manage merchants.
    Merchant {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Manage API keys.
    Key {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage the credentials gateway dialects need.
    Credential {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        command: CredentialCommand,
    },
    /// The mailbox whose bank alerts are read: `hundi inbox set|show|clear`.
    Inbox {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        command: inbox::InboxCommand,
    },
    /// Check what can be checked without sending money: the database and its migrations,
    /// the master key, the public URL, the clock, webhook endpoints, live methods, the
    /// certificate. Exit status 1 on any error.
    Doctor(doctor::DoctorArgs),
    /// Manage dashboard logins.
    User {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Copy, Clone, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: Db,
    /// Address to listen on.
    #[arg(long, env = "HUNDI_LISTEN", default_value = "127.0.0.1:3000")]
    listen: String,
    /// Base URL for links Hundi hands out (checkout URLs); default `http://<listen>`.
    #[arg(long, env = "HUNDI_PUBLIC_URL")]
    public_url: Option<String>,
    /// Milliseconds between sweeps for expired payments.
    #[arg(long, env = "HUNDI_EXPIRY_INTERVAL_MS", default_value_t = 1000)]
    expiry_interval_ms: u64,
    #[arg(long, env = "HUNDI_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Proxies (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` names the
    /// client; from anyone else the header is ignored.
    #[arg(long, env = "HUNDI_TRUSTED_PROXIES", default_value = "", value_parser = crate::http::client_addr::TrustedProxies::parse)]
    trusted_proxies: crate::http::client_addr::TrustedProxies,
    /// A bearer token `/metrics` requires (it shows counts across all merchants).
    #[arg(long, env = "HUNDI_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Serves `/metrics` on this address instead of the main one (e.g. 127.0.0.1:9100).
    #[arg(long, env = "HUNDI_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    #[command(flatten)]
    https: https::HttpsArgs,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy this SQLite database into an empty PostgreSQL database, checked table by table.
    Copy {
        /// The PostgreSQL database to fill: `postgres://user@host/db` (migrated if new).
        #[arg(long)]
        to: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Seal every sealed secret again under a new master key, in one transaction, while the
    /// servers keep running.
    Rotate {
        /// The new key (64 hex digits); generated when not given. Only for a key file: with
        /// HUNDI_MASTER_KEY, the new key is the first one it lists.
        #[arg(long, env = "HUNDI_NEW_MASTER_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List merchants.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set (or, with no --upi-id, clear) where UPI payments go and the payee name shown.
    SetUpi {
        #[arg(long)]
        merchant: String,
        /// The UPI id (VPA), e.g. shop@okbank.
        #[arg(long)]
        upi_id: Option<String>,
        /// The payee name UPI apps show (default: the merchant's name).
        #[arg(long)]
        upi_name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set the merchant's own wallet numbers, where live wallet payments go. Each given
    /// number replaces that wallet's (an empty one clears it); wallets not given are kept.
    SetWallets {
        #[arg(long)]
        merchant: String,
        /// A JazzCash account number (03xxxxxxxxx).
        #[arg(long)]
        jazzcash: Option<String>,
        /// An Easypaisa account number (03xxxxxxxxx).
        #[arg(long)]
        easypaisa: Option<String>,
        /// A bKash account number (01xxxxxxxxx).
        #[arg(long)]
        bkash: Option<String>,
        /// A Nagad account number (01xxxxxxxxx).
        #[arg(long)]
        nagad: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Copy, Clone, ValueEnum)]
enum ModeArg {
    Test,
    Live,
}

impl ModeArg {
    fn is_live(self) -> bool {
        matches!(self, ModeArg::Live)
    }
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an API key; its secret is printed once.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum, default_value = "test")]
        mode: ModeArg,
        #[arg(long, default_value = "")]
        label: String,
        /// Comma-separated, e.g. payments:write,refunds:write (default: all).
        #[arg(long, default_value = "all")]
        permissions: String,
        #[arg(long)]
        webhook_url: Option<String>,
        /// Requests per second the key may make, in bursts of twice that
        /// (default: the server's HUNDI_RATE_LIMIT, 100).
        #[arg(long, value_parser = rate_limit_arg)]
        rate_limit: Option<RateLimitArg>,
        #[arg(long)]
        json: bool,
    },
    /// Change a key's rate limit: requests per second, or `default` for the server's.
    /// Every node applies it within HUNDI_KEY_CACHE_MS.
    SetRateLimit {
        id: String,
        #[arg(value_parser = rate_limit_arg)]
        rate_limit: RateLimitArg,
        #[arg(long)]
        json: bool,
    },
    /// List keys (prefix only, never the secret), with request counts and revenue.
    List {
        #[arg(long)]
        merchant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

/// A rate limit as typed: `N` requests per second or `default`.
#[derive(Clone, Copy)]
struct RateLimitArg(Option<u32>);

fn rate_limit_arg(text: &str) -> Result<RateLimitArg, String> {
    crate::domain::key::parse_rate_limit(text).map(RateLimitArg)
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Create a dialect credential, or rotate it (the old secret stops working at once); the
    /// secret is printed once. The names are the dialects' (docs/dialects.md, "Credentials");
    /// an unknown name is refused with the list of known ones.
    Create {
        name: String,
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum, default_value = "test")]
        mode: ModeArg,
        #[arg(long)]
        json: bool,
    },
    /// List a merchant's credentials (names and public ids, never the secrets).
    List {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum, default_value = "test")]
        mode: ModeArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a dashboard login for a merchant.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        email: String,
        /// Read from HUNDI_USER_PASSWORD if not given; generated and printed if neither.
        #[arg(long, env = "HUNDI_USER_PASSWORD")]
        password: Option<String>,
        /// owner, admin, developer, support or viewer.
        #[arg(long, default_value = "owner", value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        json: bool,
    },
    /// Change a dashboard login's role (a merchant keeps at least one owner).
    SetRole {
        #[arg(long)]
        email: String,
        /// owner, admin, developer, support or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        json: bool,
    },
    /// Remove a dashboard login and end its sessions (never a merchant's last owner).
    Remove {
        #[arg(long)]
        email: String,
    },
    /// Turn off a user's two-factor sign-in (a lost phone and no recovery code left): the
    /// password alone signs in again, or the set-up is asked where the merchant requires it.
    #[command(name = "reset-2fa")]
    ResetTwoFactor {
        #[arg(long)]
        email: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).map_err(|e| e.to_string())
}

async fn open(db: &Db, config: &Config) -> Result<Arc<dyn Store>> {
    let store = store::connect(&db.database_url, config.db_pool_size)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&db.database_url)))?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// Hides a password in a database URL before it is printed.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The master key of a database, as the configuration says where it is.
fn master_key(db: &Db, config: &Config) -> Result<SecretBox> {
    SecretBox::load(&db.database_url, &config.master_key).context("cannot read the master key")
}

pub async fn run() -> Result<()> {
    let cli = Cli::parse();
    // Read once, here: every other part gets its settings from this.
    let config = Config::from_env()?;
    match cli.command {
        Command::Serve(args) => serve(args, config).await,
        Command::Migrate { db } => {
            let store = store::connect(&db.database_url, config.db_pool_size).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.backend());
            let secrets = master_key(&db, &config)?;
            let sealed = store.seal_endpoint_secrets(&secrets).await?;
            if sealed > 0 {
                println!("sealed the secrets of {sealed} webhook endpoints");
            }
            Ok(())
        }
        Command::Backup { db, file } => backup(&db, &file).await,
        Command::Database {
            db,
            command: DbCommand::Copy { to, json },
        } => db_copy(&db, &config, &to, json).await,
        Command::Secrets {
            db,
            command: SecretsCommand::Rotate { new_key },
        } => rotate(&db, &config, new_key.as_deref()).await,
        Command::Prune { db, dry_run, json } => prune(&db, &config, dry_run, json).await,
        Command::Merchant { db, command } => merchant(&*open(&db, &config).await?, command).await,
        Command::Key { db, command } => {
            // A key's webhook URL is an endpoint, whose secret is stored sealed.
            let store = open(&db, &config).await?;
            let secrets = master_key(&db, &config)?;
            store.seal_endpoint_secrets(&secrets).await?;
            key(&*store, &config, command).await
        }
        Command::Doctor(args) => {
            if !doctor::doctor(args, &config).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::User { db, command } => user(&*open(&db, &config).await?, command).await,
        Command::Inbox { db, command } => {
            let secrets = master_key(&db, &config)?;
            let service = crate::service::inbox::Mailboxes::new(open(&db, &config).await?, secrets);
            inbox::inbox(&service, command).await
        }
        Command::Credential { db, command } => {
            let secrets = master_key(&db, &config)?;
            credential(open(&db, &config).await?, &secrets, command).await
        }
    }
}

/// `hundi backup FILE`: an online copy of a SQLite database.
async fn backup(db: &Db, file: &std::path::Path) -> Result<()> {
    let url = &db.database_url;
    if store::is_postgres(url) {
        bail!(
            "{} is a PostgreSQL database: back it up with pg_dump, for example\n  \
             pg_dump --format=custom --file {} '{}'",
            redact(url),
            file.display(),
            redact(url)
        );
    }
    let report = store::backup::backup_sqlite(url, file)
        .await
        .with_context(|| format!("cannot back up {url}"))?;
    println!(
        "backed up {} payments to {} ({} bytes)\n\
         The master key is not in the backup: keep HUNDI_MASTER_KEY (or the key file, \
         hundi.key beside the database by default) safe with it.",
        report.payments,
        report.path.display(),
        report.bytes
    );
    Ok(())
}

/// `hundi db copy --to postgres://…`: this SQLite database into an empty PostgreSQL one.
async fn db_copy(db: &Db, config: &Config, to: &str, json: bool) -> Result<()> {
    let from = &db.database_url;
    if store::is_postgres(from) {
        bail!(
            "the database to copy is PostgreSQL already; `hundi db copy` copies a SQLite database"
        );
    }
    if !store::is_postgres(to) {
        bail!("--to must be a PostgreSQL URL (postgres://user@host/db)");
    }
    let started = std::time::Instant::now();
    let tables = store::copy::copy_sqlite_to_postgres(from, to)
        .await
        .with_context(|| format!("cannot copy {from} to {}", redact(to)))?;
    let key = match config.master_key.file_for(from) {
        Some(file) => format!("HUNDI_MASTER_KEY_FILE={}", file.display()),
        None => "the same HUNDI_MASTER_KEY".to_string(),
    };
    if json {
        let tables: Vec<_> = tables
            .iter()
            .map(|t| json!({"table": t.table, "rows": t.rows, "checksum": t.checksum}))
            .collect();
        println!("{}", json!({"tables": tables, "master_key": key}));
        return Ok(());
    }
    for t in &tables {
        println!(
            "{:<24} {:>10} rows  checksum {}",
            t.table, t.rows, t.checksum
        );
    }
    let rows: u64 = tables.iter().map(|t| t.rows).sum();
    println!(
        "copied {rows} rows in {} tables in {:.1} s; every table's rows and checksum match.\n\
         Start Hundi on the copy with the same master key:\n  \
         {key} hundi serve --database-url '{}'",
        tables.len(),
        started.elapsed().as_secs_f64(),
        redact(to)
    );
    Ok(())
}

/// `hundi secrets rotate`: every sealed secret under a new master key.
async fn rotate(db: &Db, config: &Config, new_key: Option<&str>) -> Result<()> {
    let store = open(db, config).await?;
    let ring = master_key(db, config)?;
    let new_key = new_key
        .map(crate::secrets::key_file::parse_ring)
        .transpose()?
        .and_then(|keys| keys.first().copied());
    let done = crate::service::rotation::rotate(&*store, &ring, new_key).await?;
    println!(
        "sealed {} secrets again under the new master key",
        done.resealed
    );
    match done.key_file {
        Some(file) => println!(
            "The new key is the first line of {}; the previous key follows it, so backups \
             made before now still open. Running servers read the file again by themselves. \
             Copy the file to every node; delete the previous key's line once no older backup \
             is needed.",
            file.display()
        ),
        None => println!(
            "Every secret is now under the first key of HUNDI_MASTER_KEY. Once no older \
             backup is needed, set HUNDI_MASTER_KEY to that key alone on every node."
        ),
    }
    Ok(())
}

/// `hundi prune [--dry-run]`: webhook history past its keep.
async fn prune(db: &Db, config: &Config, dry_run: bool, json: bool) -> Result<()> {
    use crate::service::retention;
    let store = open(db, config).await?;
    let now = crate::domain::now();
    let keep = &config.retention;
    let p = if dry_run {
        retention::prunable(&*store, keep, now).await?
    } else {
        retention::prune(&*store, keep, now, Duration::from_millis(20)).await?
    };
    let verb = if dry_run { "would remove" } else { "removed" };
    if json {
        let v = json!({"dry_run": dry_run, "delivery_attempts": p.attempts,
            "deliveries": p.deliveries, "events": p.events});
        println!("{v}");
        return Ok(());
    }
    let days = |d: Option<chrono::Duration>| match d {
        Some(d) if d.num_hours() % 24 == 0 => format!("{} days", d.num_days()),
        Some(d) => format!("{} hours", d.num_hours()),
        None => "forever".into(),
    };
    println!(
        "{verb} {} delivery attempts (kept {}), {} finished deliveries (kept {}), {} events (kept {})",
        p.attempts,
        days(keep.attempts),
        p.deliveries,
        days(keep.deliveries),
        p.events,
        days(keep.events)
    );
    Ok(())
}

async fn serve(args: ServeArgs, config: Config) -> Result<()> {
    init_logging(args.log_format);
    let store = open(&args.db, &config).await?;
    let opts = Config {
        listen: args.listen,
        public_url: args.public_url,
        expiry_interval: Duration::from_millis(args.expiry_interval_ms.max(10)),
        secrets: master_key(&args.db, &config)?,
        trusted_proxies: args.trusted_proxies,
        metrics: crate::http::metrics::MetricsAccess {
            token: args.metrics_token.filter(|t| !t.trim().is_empty()),
            ..Default::default()
        },
        metrics_listen: args.metrics_listen,
        https: args.https.config(&args.db.database_url)?,
        ..config
    };
    let demo = merchants::ensure_demo(&*store).await?;
    let running = startup::start(store, opts).await.context("cannot listen")?;
    let url = running.url();
    if let Some(demo) = demo {
        demo_payment(&running.state, &demo.merchant.id).await;
        println!(
            "\nA new database: created the demo merchant \"{}\" ({}).\n\
             These secrets are shown once; keep them.\n\
             \n  test API key:     {}\n  dashboard login:  {} / {}\n\
             \nTry:  curl -X POST {url}/v1/payments -H 'Authorization: Bearer {}' \\\n\
             \x20       -H 'Content-Type: application/json' -d '{{\"amount\":\"100.00\",\"currency\":\"PKR\"}}'\n",
            demo.merchant.name, demo.merchant.id, demo.test_key, demo.email, demo.password, demo.test_key
        );
    }
    tracing::info!(%url, database = running.state.reads.backend(), "Hundi is listening");
    let stopper = running.stopper();
    tokio::spawn(async move {
        startup::shutdown_signal().await;
        tracing::info!("stopping: finishing in-flight requests");
        let _ = stopper.send(true);
    });
    running.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

/// A paid test payment, so a new dashboard has something to show.
async fn demo_payment(state: &crate::http::AppState, merchant_id: &str) {
    let scope = store::Scope {
        merchant_id: merchant_id.to_string(),
        livemode: false,
    };
    let input = crate::service::NewPayment {
        amount: "1500.00".into(),
        currency: "PKR".into(),
        description: Some("Demo order".into()),
        reference: Some("DEMO-1".into()),
        customer: crate::domain::payment::Customer {
            name: Some("Ayesha Khan".into()),
            email: Some("ayesha@example.com".into()),
            phone: None,
        },
        source: "native".into(),
        ..Default::default()
    };
    let made = match state.payments.create(&scope, input).await {
        Ok(p) => state.payments.succeed(&scope, &p.id).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = made {
        tracing::warn!(error = %e, "could not create the demo payment");
    }
}

/// `hundi merchant set-wallets`: each given number (JazzCash, Easypaisa, bKash, Nagad)
/// replaces its wallet's; the others are kept.
async fn set_wallets(
    store: &dyn Store,
    merchant: &str,
    given: [Option<&str>; 4],
    json: bool,
) -> Result<()> {
    let operator = Acting::cli(merchant, false);
    let pairs: Vec<(Wallet, Option<&str>)> = Wallet::ALL.into_iter().zip(given).collect();
    let m = merchants::set_wallets(store, &operator, &pairs).await?;
    if json {
        println!("{}", serde_json::to_string(&m)?);
    } else {
        for (w, n) in m.wallet_numbers.iter() {
            println!("live {} payments to {} go to {n}", w.label(), m.name);
        }
    }
    Ok(())
}

async fn merchant(store: &dyn Store, command: MerchantCommand) -> Result<()> {
    match command {
        MerchantCommand::Create { name, json } => {
            let m = merchants::create_merchant(store, &name).await?;
            if json {
                println!("{}", serde_json::to_string(&m)?);
            } else {
                println!("created merchant {} ({})", m.id, m.name);
            }
        }
        MerchantCommand::SetUpi {
            merchant,
            upi_id,
            upi_name,
            json,
        } => {
            let operator = Acting::cli(&merchant, false);
            let m = merchants::set_upi(store, &operator, upi_id.as_deref(), upi_name.as_deref())
                .await?;
            if json {
                println!("{}", serde_json::to_string(&m)?);
            } else {
                match &m.upi_id {
                    Some(id) => println!(
                        "UPI payments to {} go to {id} ({})",
                        m.name,
                        m.upi_name.as_deref().unwrap_or(&m.name)
                    ),
                    None => println!("UPI is off for {}", m.name),
                }
            }
        }
        MerchantCommand::SetWallets {
            merchant,
            jazzcash,
            easypaisa,
            bkash,
            nagad,
            json,
        } => {
            let given = [&jazzcash, &easypaisa, &bkash, &nagad].map(|n| n.as_deref());
            set_wallets(store, &merchant, given, json).await?;
        }
        MerchantCommand::List { json } => {
            let all = merchants::list_merchants(store).await?;
            if json {
                println!("{}", serde_json::to_string(&all)?);
            } else {
                for m in all {
                    println!("{}  {}", m.id, m.name);
                }
            }
        }
    }
    Ok(())
}

fn revenue_of(key: &ApiKey, revenue: &[KeyRevenue]) -> serde_json::Map<String, serde_json::Value> {
    revenue
        .iter()
        .filter(|r| r.key_id == key.id)
        .filter_map(|r| {
            let c = Currency::parse(&r.currency).ok()?;
            Some((r.currency.clone(), json!(format_minor(r.minor, c))))
        })
        .collect()
}

fn key_json(key: &ApiKey, revenue: &[KeyRevenue]) -> serde_json::Value {
    json!({
        "id": key.id,
        "merchant": key.merchant_id,
        "mode": key.mode.as_str(),
        "label": key.label,
        "prefix": key.prefix,
        "permissions": key.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "webhook_url": key.webhook_url,
        "requests": key.request_count,
        "revenue": revenue_of(key, revenue),
        "status": if key.is_revoked() { "revoked" } else { "active" },
        "created_at": crate::service::objects::rfc3339(key.created_at),
        "rate_limit": key.rate_limit,
    })
}

fn rate_limit_text(rate_limit: Option<u32>) -> String {
    match rate_limit {
        Some(n) => format!("{n} requests per second (bursts of {})", u64::from(n) * 2),
        None => "the server's default rate of requests (HUNDI_RATE_LIMIT)".into(),
    }
}

async fn key(store: &dyn Store, config: &Config, command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Create {
            merchant,
            mode,
            label,
            permissions,
            webhook_url,
            rate_limit,
            json,
        } => {
            let permissions = parse_permissions(&permissions).map_err(anyhow::Error::msg)?;
            let mode = match mode {
                ModeArg::Test => Mode::Test,
                ModeArg::Live => Mode::Live,
            };
            let operator = Acting::cli(&merchant, mode.is_live());
            let new = keys::NewKey {
                mode,
                label,
                permissions,
                webhook_url,
                rate_limit: rate_limit.and_then(|r| r.0),
                allow_private: config.webhooks.allow_private,
            };
            key_create(store, &operator, new, json).await?;
        }
        KeyCommand::List { merchant, json } => key_list(store, merchant.as_deref(), json).await?,
        KeyCommand::SetRateLimit {
            id,
            rate_limit,
            json,
        } => {
            let k =
                keys::set_key_rate_limit(store, &operator_of(store, &id).await?, &id, rate_limit.0)
                    .await?;
            if json {
                println!("{}", key_json(&k, &[]));
            } else {
                println!("{} may make {}", k.id, rate_limit_text(k.rate_limit));
            }
        }
        KeyCommand::Revoke { id, json } => {
            // The operator's CLI may revoke any key; the same command as the dashboard's.
            let k = keys::revoke_key(store, None, &operator_of(store, &id).await?, &id).await?;
            if json {
                println!("{}", key_json(&k, &[]));
            } else {
                println!("revoked {}", k.id);
            }
        }
    }
    Ok(())
}

/// `hundi key create`: the new key with its secrets, printed once.
/// The operator acting on a key named by its id alone: on the key's merchant, in its mode.
async fn operator_of(store: &dyn Store, key_id: &str) -> Result<Acting> {
    let key = keys::key_by_id(store, key_id).await?;
    Ok(Acting::cli(&key.merchant_id, key.mode.is_live()))
}

async fn key_create(
    store: &dyn Store,
    operator: &Acting,
    new: keys::NewKey,
    json: bool,
) -> Result<()> {
    let (merchant, mode) = (operator.merchant_id().to_string(), new.mode);
    let created = keys::create_key(store, operator, new).await?;
    if json {
        let mut v = key_json(&created.key, &[]);
        v["secret"] = json!(created.secret);
        if let Some(ws) = &created.webhook_secret {
            v["webhook_secret"] = json!(ws);
        }
        println!("{v}");
    } else {
        println!(
            "created {} key {} for {} ({})\nsecret (shown once): {}",
            mode.as_str(),
            created.key.id,
            merchant,
            format_permissions(&created.key.permissions),
            created.secret
        );
        if let Some(ws) = &created.webhook_secret {
            println!("webhook signing secret (shown once): {ws}");
        }
    }
    Ok(())
}

/// `hundi key list`: every key (of one merchant, or all), with request counts and revenue.
async fn key_list(store: &dyn Store, merchant: Option<&str>, json: bool) -> Result<()> {
    let keys = store.list_keys(merchant).await?;
    let revenue = store.key_revenue(merchant).await?;
    if json {
        let all: Vec<_> = keys.iter().map(|k| key_json(k, &revenue)).collect();
        println!("{}", serde_json::to_string(&all)?);
        return Ok(());
    }
    for k in &keys {
        let rev: Vec<String> = revenue_of(k, &revenue)
            .into_iter()
            .map(|(c, v)| format!("{} {c}", v.as_str().unwrap_or_default()))
            .collect();
        println!(
            "{}  {}  {:<4}  {:<20}  {}…  requests={}  revenue=[{}]  rate={}  {}",
            k.id,
            k.merchant_id,
            k.mode.as_str(),
            k.label,
            k.prefix,
            k.request_count,
            rev.join(", "),
            k.rate_limit
                .map_or_else(|| "default".to_string(), |n| format!("{n}/s")),
            if k.is_revoked() { "revoked" } else { "active" }
        );
    }
    Ok(())
}

async fn credential(
    shared: Arc<dyn Store>,
    secrets: &SecretBox,
    command: CredentialCommand,
) -> Result<()> {
    use crate::service::credentials;
    let sources = crate::dialects::registry().sources();
    let service = credentials::Credentials::new(shared.clone(), secrets.clone());
    let store = &*shared;
    let scope_of = |merchant: String, mode: ModeArg| store::Scope {
        merchant_id: merchant,
        livemode: matches!(mode, ModeArg::Live),
    };
    match command {
        CredentialCommand::Create {
            name,
            merchant,
            mode,
            json,
        } => {
            if store.get_merchant(&merchant).await.is_err() {
                bail!("no merchant {merchant}");
            }
            let kind = credentials::kind(&sources, &name)?;
            let scope = scope_of(merchant, mode);
            let operator = Acting::cli(&scope.merchant_id, scope.livemode);
            let created = service.create(&operator, kind).await?;
            if json {
                println!("{}", serde_json::to_string(&created)?);
            } else {
                if let Some(id) = &created.public_id {
                    println!("public id: {id}");
                }
                println!("secret:    {}", created.secret);
                println!("(the secret is shown once; keep it)");
            }
        }
        CredentialCommand::List {
            merchant,
            mode,
            json,
        } => {
            let all = store.list_credentials(&scope_of(merchant, mode)).await?;
            print_credentials(&all, json)?;
        }
    }
    Ok(())
}

/// `hundi credential list`: names, public ids and dates; the keys' own credentials are left out.
fn print_credentials(all: &[Credential], json: bool) -> Result<()> {
    let listed = all.iter().filter(|c| !c.name.starts_with("api_key:"));
    if json {
        let shown: Vec<_> = listed
            .map(|c| {
                json!({"name": c.name, "public_id": c.public_id, "created_at": c.created_at.to_rfc3339()})
            })
            .collect();
        println!("{}", serde_json::to_string(&shown)?);
        return Ok(());
    }
    for c in listed {
        println!(
            "{:<14} {:<26} {}",
            c.name,
            c.public_id.as_deref().unwrap_or("-"),
            c.created_at.to_rfc3339()
        );
    }
    Ok(())
}

async fn user(store: &dyn Store, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Create {
            merchant,
            email,
            password,
            role,
            json,
        } => {
            if store.get_merchant(&merchant).await.is_err() {
                bail!("no merchant {merchant}");
            }
            let generated = password.is_none();
            let password = password.unwrap_or_else(|| crate::domain::ids::random_token(16));
            let operator = Acting::cli(&merchant, false);
            let u = users::create_user(store, &operator, &email, &password, role).await?;
            if json {
                let mut v = serde_json::to_value(&u)?;
                if generated {
                    v["password"] = json!(password);
                }
                println!("{v}");
            } else if generated {
                println!(
                    "created user {} ({}) with password {password}",
                    u.id, u.email
                );
            } else {
                println!("created user {} ({}, {})", u.id, u.email, u.role);
            }
        }
        UserCommand::SetRole { email, role, json } => {
            let found = user_by_email(store, &email).await?;
            let operator = Acting::cli(&found.merchant_id, false);
            let u = users::set_role(store, &operator, &found.id, role).await?;
            if json {
                println!("{}", serde_json::to_value(&u)?);
            } else {
                println!("{} is now {}", u.email, u.role);
            }
        }
        UserCommand::Remove { email } => {
            let found = user_by_email(store, &email).await?;
            let operator = Acting::cli(&found.merchant_id, false);
            let u = users::remove_user(store, &operator, &found.id).await?;
            println!("removed {} ({})", u.email, u.id);
        }
        UserCommand::ResetTwoFactor { email } => {
            let found = user_by_email(store, &email).await?;
            let operator = Acting::cli(&found.merchant_id, false);
            crate::service::second_factor::reset(store, &operator, &found).await?;
            println!("two-factor sign-in of {} is off", found.email);
        }
    }
    Ok(())
}

async fn user_by_email(store: &dyn Store, email: &str) -> Result<crate::domain::merchant::User> {
    match store.find_user_by_email(email).await {
        Err(crate::store::StoreError::NotFound) => bail!("no user {email}"),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap checks a command's definition only when that command is parsed: check them all.
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
