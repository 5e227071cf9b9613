//! Hundi's configuration, read once at start: every `HUNDI_*` setting, with its default and
//! its check. Nothing else reads the environment (the CLI's flags are clap's, and fill the
//! same struct); the values reach the code that needs them through `startup.rs`.

use crate::domain::money::Currency;
use crate::domain::retention::Retention;
use crate::http::client_addr::TrustedProxies;
use crate::http::metrics::MetricsAccess;
use crate::http::DialectSettings;
use crate::secrets::MasterKeySource;
use crate::service::keys::KeyCache;
use crate::service::ratelimit::RateLimitConfig;
use crate::service::throttle::SignInPolicy;
use crate::webhooks::WebhookConfig;
use std::path::PathBuf;
use std::time::Duration;

/// A setting the server cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// How a server runs. `Config::default()` is every default (what tests start from);
/// `Config::from_env()` reads the environment over it.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    /// The base of the URLs Hundi hands out (checkout links); defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// How often the expiry worker looks for overdue payments.
    pub expiry_interval: Duration,
    /// How often per-key request counts are written.
    pub usage_flush_interval: Duration,
    /// How often the overview's roll-up is brought up to date (`service/rollup.rs`).
    pub rollup_interval: Duration,
    /// How long a stopping server waits for requests in flight before it cuts them off.
    pub drain_timeout: Duration,
    /// How many checkout pages may wait for their payment at once, in all and per client.
    pub waiting: crate::service::waiting::WaitLimits,
    /// How often the expiry worker also deletes idempotency keys older than 24 hours.
    pub idempotency_purge_interval: Duration,
    /// How long webhook history is kept (`HUNDI_KEEP_*`); pruned by the expiry worker.
    pub retention: crate::domain::retention::Retention,
    /// Who may read `/metrics` (a bearer token) and how fresh its payment counts are.
    pub metrics: MetricsAccess,
    /// Serves `/metrics` on this address only (not on `listen`).
    pub metrics_listen: Option<String>,
    pub webhooks: WebhookConfig,
    /// Whether this node delivers webhooks (an API-only node leaves it to others).
    pub dispatch_webhooks: bool,
    /// The master key of sealed secrets; every node of a deployment needs the same one.
    pub secrets: crate::secrets::SecretBox,
    /// Where that key was read from (the CLI's commands load it for their database).
    pub master_key: MasterKeySource,
    /// The default per-key and per-address request rate limits.
    pub rate_limits: RateLimitConfig,
    /// How long a looked-up API key is trusted (`HUNDI_KEY_CACHE_MS`, at most 60 s).
    pub key_cache: Duration,
    /// The proxies whose `X-Forwarded-For` names the client (`HUNDI_TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// The dashboard's sign-in throttle.
    pub sign_in: SignInPolicy,
    /// Connections a PostgreSQL node keeps open at most (`HUNDI_DB_POOL_SIZE`, default 32).
    pub db_pool_size: u32,
    pub dialects: DialectSettings,
    /// The dialects it speaks (a test adds its own).
    pub registry: crate::dialects::Registry,
    /// How the merchants' alert mailboxes are read (`HUNDI_MAIL_*`).
    pub inbox: crate::inbox::InboxConfig,
    /// How receipts are e-mailed (`HUNDI_SMTP_*`); none are sent without a mail server.
    pub receipts: Option<crate::receipts::ReceiptConfig>,
    /// HTTPS for the node's own domain, with its certificate by ACME (`serve --domain`).
    pub https: Option<crate::tls::HttpsConfig>,
}

impl Default for DialectSettings {
    fn default() -> Self {
        DialectSettings {
            pakhipay_currency: Currency::BDT,
            paygate_session_secs: 600,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:3000".into(),
            public_url: None,
            expiry_interval: Duration::from_secs(1),
            usage_flush_interval: Duration::from_secs(1),
            rollup_interval: Duration::from_secs(5),
            waiting: Default::default(),
            drain_timeout: Duration::from_secs(10),
            idempotency_purge_interval: Duration::from_secs(60),
            retention: Default::default(),
            metrics: MetricsAccess::default(),
            metrics_listen: None,
            webhooks: WebhookConfig::default(),
            dispatch_webhooks: true,
            secrets: crate::secrets::SecretBox::random(),
            master_key: MasterKeySource::default(),
            rate_limits: RateLimitConfig::default(),
            key_cache: KeyCache::ttl_from(None),
            trusted_proxies: TrustedProxies::default(),
            sign_in: SignInPolicy::default(),
            db_pool_size: 32,
            dialects: DialectSettings::default(),
            registry: crate::dialects::registry(),
            inbox: Default::default(),
            receipts: None,
            https: None,
        }
    }
}

impl Config {
    /// The defaults with the environment's `HUNDI_*` settings over them.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults with `var`'s settings over them (a blank value counts as unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut c = Config {
            webhooks: WebhookConfig::from_vars(var),
            rate_limits: RateLimitConfig::from_vars(var),
            key_cache: KeyCache::ttl_from(var("HUNDI_KEY_CACHE_MS").as_deref()),
            master_key: MasterKeySource {
                key: var("HUNDI_MASTER_KEY"),
                file: var("HUNDI_MASTER_KEY_FILE").map(PathBuf::from),
            },
            ..Config::default()
        };
        if let Some(v) = var("HUNDI_DB_POOL_SIZE") {
            // An unreadable size keeps the default, as before this was checked here.
            c.db_pool_size = v.trim().parse().unwrap_or(c.db_pool_size);
        }
        if let Some(code) = var("HUNDI_PAKHIPAY_CURRENCY") {
            c.dialects.pakhipay_currency =
                Currency::parse(code.trim()).map_err(|e| ConfigError::Invalid {
                    name: "HUNDI_PAKHIPAY_CURRENCY",
                    message: e.to_string(),
                })?;
        }
        let keep = |name: &'static str, into: &mut Option<chrono::Duration>| {
            if let Some(v) = var(name) {
                *into = Retention::parse(&v)
                    .map_err(|message| ConfigError::Invalid { name, message })?;
            }
            Ok::<(), ConfigError>(())
        };
        keep("HUNDI_KEEP_DELIVERY_ATTEMPTS", &mut c.retention.attempts)?;
        keep("HUNDI_KEEP_DELIVERIES", &mut c.retention.deliveries)?;
        keep("HUNDI_KEEP_EVENTS", &mut c.retention.events)?;
        c.inbox.ca_file = var("HUNDI_MAIL_CA_FILE").map(PathBuf::from);
        c.inbox.allow_private = var("HUNDI_ALLOW_PRIVATE_MAIL")
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        let secs = |name: &'static str, into: &mut Duration| {
            if let Some(v) = var(name) {
                let n: u64 = v.trim().parse().map_err(|_| ConfigError::Invalid {
                    name,
                    message: format!("'{v}' is not a number of seconds"),
                })?;
                *into = Duration::from_secs(n.clamp(1, 3600));
            }
            Ok::<(), ConfigError>(())
        };
        secs("HUNDI_MAIL_LEASE_SECS", &mut c.inbox.lease)?;
        secs("HUNDI_MAIL_POLL_SECS", &mut c.inbox.poll)?;
        // Mailboxes without a reader are looked for as often as new mail, at most every 5 s.
        c.inbox.scan = c.inbox.poll.min(c.inbox.scan);
        if let Some(v) = var("HUNDI_PAYGATE_SESSION_SECS") {
            if let Ok(secs) = v.trim().parse() {
                c.dialects.paygate_session_secs = secs;
            }
        }
        c.receipts = receipts_from_vars(&var)?;
        Ok(c)
    }
}

/// `HUNDI_SMTP_URL` (none: no receipts), `HUNDI_SMTP_FROM` (default `receipts@` the public
/// URL's host) and `HUNDI_SMTP_TEST_RECEIPTS` (also send test-mode payments' receipts),
/// checked here so a mistake stops the start.
fn receipts_from_vars(
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::receipts::ReceiptConfig>, ConfigError> {
    let Some(smtp_url) = var("HUNDI_SMTP_URL") else {
        return Ok(None);
    };
    let host = var("HUNDI_PUBLIC_URL")
        .and_then(|u| url::Url::parse(&u).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "localhost".into());
    let config = crate::receipts::ReceiptConfig {
        smtp_url: smtp_url.trim().to_string(),
        from: var("HUNDI_SMTP_FROM").unwrap_or_else(|| format!("receipts@{host}")),
        test_mode: var("HUNDI_SMTP_TEST_RECEIPTS")
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
        poll: Duration::from_secs(1),
    };
    config.check().map_err(|message| ConfigError::Invalid {
        name: "HUNDI_SMTP_URL",
        message,
    })?;
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn settings_are_read_over_the_defaults() {
        let c = Config::from_vars(vars(&[
            ("HUNDI_KEY_CACHE_MS", "250"),
            ("HUNDI_DB_POOL_SIZE", "8"),
            ("HUNDI_PAKHIPAY_CURRENCY", "INR"),
            ("HUNDI_PAYGATE_SESSION_SECS", "90"),
            ("HUNDI_RATE_LIMIT", "7"),
            ("HUNDI_ALLOW_PRIVATE_WEBHOOKS", "1"),
            ("HUNDI_MASTER_KEY_FILE", "/tmp/k"),
            ("HUNDI_KEEP_DELIVERY_ATTEMPTS", "30d"),
            ("HUNDI_KEEP_EVENTS", "400d"),
        ]))
        .expect("valid");
        assert_eq!(c.retention.attempts, Some(chrono::Duration::days(30)));
        assert_eq!(c.retention.deliveries, None);
        assert_eq!(c.retention.events, Some(chrono::Duration::days(400)));
        let short = Config::from_vars(vars(&[("HUNDI_KEEP_EVENTS", "1h")]));
        assert!(matches!(
            short,
            Err(ConfigError::Invalid {
                name: "HUNDI_KEEP_EVENTS",
                ..
            })
        ));
        assert_eq!(c.key_cache, Duration::from_millis(250));
        assert_eq!(c.db_pool_size, 8);
        assert_eq!(c.dialects.pakhipay_currency.code(), "INR");
        assert_eq!(c.dialects.paygate_session_secs, 90);
        assert_eq!(c.rate_limits.default_per_second, 7);
        assert!(c.webhooks.allow_private);
        assert_eq!(c.master_key.file, Some(PathBuf::from("/tmp/k")));
    }

    #[test]
    fn blank_or_absent_settings_are_the_defaults() {
        let c = Config::from_vars(vars(&[("HUNDI_PAKHIPAY_CURRENCY", " ")])).expect("valid");
        assert_eq!(c.db_pool_size, 32);
        assert_eq!(c.dialects, DialectSettings::default());
        assert_eq!(c.key_cache, Duration::from_millis(1000));
    }

    #[test]
    fn a_bad_currency_stops_the_start() {
        let e = Config::from_vars(vars(&[("HUNDI_PAKHIPAY_CURRENCY", "XXX")]));
        assert!(matches!(
            e,
            Err(ConfigError::Invalid {
                name: "HUNDI_PAKHIPAY_CURRENCY",
                ..
            })
        ));
    }
}
