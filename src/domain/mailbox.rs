//! A merchant's mailbox that receives its bank's credit alerts by e-mail: where it is, which
//! senders count, how far it has been read, and what went wrong last. Hundi reads it over IMAP
//! (`inbox/`) and records each alert as a credit, as if the merchant had posted it.

use chrono::{DateTime, Utc};

/// How the connection is secured; there is no plain-text choice, a password crosses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (IMAPS, port 993).
    Tls,
    /// A plain connection upgraded with STARTTLS before anything else (port 143).
    StartTls,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
        }
    }

    pub fn parse(s: &str) -> Result<Security, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" | "ssl" | "imaps" => Ok(Security::Tls),
            "starttls" => Ok(Security::StartTls),
            other => Err(format!("security must be tls or starttls, not '{other}'")),
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Security::Tls => 993,
            Security::StartTls => 143,
        }
    }
}

/// Senders listed at most; a bank sends from one or two addresses.
pub const SENDERS_MAX: usize = 20;

/// Where the mailbox is and what of it is read, as the merchant sets it (the password apart).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MailboxSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    /// The folder read (`INBOX`, or one a mail rule files the bank's alerts into).
    pub folder: String,
    /// Addresses (`alerts@hdfcbank.net`) or domains (`hdfcbank.net`, `@sbi.co.in`) whose
    /// messages are read; empty reads every sender.
    pub senders: Vec<String>,
}

impl MailboxSettings {
    /// Checks and normalises what a merchant typed: a host name, a port, a user, a folder of
    /// sane lengths without line breaks (they would end an IMAP command), and senders that
    /// look like addresses or domains.
    pub fn new(
        host: &str,
        port: Option<u16>,
        security: Security,
        username: &str,
        folder: &str,
        senders: &str,
    ) -> Result<MailboxSettings, String> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        let host_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':');
        if host.is_empty() || host.len() > 253 || !host.chars().all(host_ok) {
            return Err("host must be a host name or an IP address".into());
        }
        let port = port.unwrap_or(security.default_port());
        if port == 0 {
            return Err("port must be 1 to 65535".into());
        }
        let username = username.trim();
        if username.is_empty() || username.len() > 320 || username.chars().any(char::is_control) {
            return Err("user must be 1 to 320 characters".into());
        }
        let folder = match folder.trim() {
            "" => "INBOX",
            f => f,
        };
        if folder.len() > 200 || folder.chars().any(char::is_control) {
            return Err("folder must be at most 200 characters on one line".into());
        }
        Ok(MailboxSettings {
            host,
            port,
            security,
            username: username.to_string(),
            folder: folder.to_string(),
            senders: parse_senders(senders)?,
        })
    }

    /// Whether a message from `from` (an address) is read.
    pub fn reads_sender(&self, from: &str) -> bool {
        let from = from.trim().to_ascii_lowercase();
        let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
        self.senders.is_empty()
            || self.senders.iter().any(|s| match s.strip_prefix('@') {
                Some(d) => domain == d,
                None if s.contains('@') => from == *s,
                None => domain == s || domain.ends_with(&format!(".{s}")),
            })
    }
}

/// Senders as typed (one per line, or separated by commas or spaces), lower-cased.
fn parse_senders(text: &str) -> Result<Vec<String>, String> {
    let senders: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if senders.len() > SENDERS_MAX {
        return Err(format!("at most {SENDERS_MAX} senders"));
    }
    let shaped = |s: &String| {
        let domain = s.rsplit_once('@').map_or(s.as_str(), |(_, d)| d);
        s.len() <= 254 && domain.contains('.') && !domain.starts_with('.')
    };
    match senders.iter().find(|s| !shaped(s)) {
        Some(bad) => Err(format!(
            "'{bad}' is neither an address nor a domain (alerts@bank.com, bank.com)"
        )),
        None => Ok(senders),
    }
}

/// How far a mailbox has been read and how its reading went, as the dashboard shows it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MailboxProgress {
    pub uid_validity: Option<u32>,
    /// The last message handled (read, or skipped as not an alert).
    pub last_uid: Option<u32>,
    /// When the reader last logged in and opened the folder.
    pub connected_at: Option<DateTime<Utc>>,
    pub last_read_at: Option<DateTime<Utc>>,
    /// What became of the last message handled, in a line.
    pub last_message: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mailbox {
    pub merchant_id: String,
    pub livemode: bool,
    pub settings: MailboxSettings,
    /// The password, sealed with the master key under [`seal_context`].
    pub password_sealed: String,
    pub set_at: DateTime<Utc>,
    /// Messages that arrived from then on are read (when this host, user and folder were
    /// first set).
    pub read_from: DateTime<Utc>,
    pub progress: MailboxProgress,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

impl Mailbox {
    /// Whether the reader is connected now: it logged in after its last error.
    pub fn connected(&self) -> bool {
        match (self.progress.connected_at, self.progress.last_error_at) {
            (Some(c), Some(e)) => c > e,
            (c, _) => c.is_some(),
        }
    }
}

/// What the password's seal is bound to, so a sealed value cannot be moved to another row.
pub fn seal_context(merchant_id: &str, livemode: bool) -> String {
    format!("mailbox:{merchant_id}:{livemode}")
}

/// What the reader reports after a step, written only while it holds the lease.
#[derive(Debug, Clone, PartialEq)]
pub enum MailboxReport {
    /// Logged in and opened the folder, whose UIDVALIDITY is this, and will read the
    /// messages after `last_uid` (where it stopped, or where the mailbox was when it was set).
    Connected {
        uid_validity: u32,
        last_uid: u32,
    },
    /// Handled the message with this UID; `summary` says what became of it.
    Read {
        uid: u32,
        summary: String,
    },
    Failed {
        error: String,
    },
}

/// Longest error or summary kept; a server's message can be long.
pub const REPORT_MAX: usize = 300;

/// `text` cut to [`REPORT_MAX`] characters on one line.
pub fn report_line(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(REPORT_MAX)
        .collect();
    line.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(senders: &str) -> MailboxSettings {
        MailboxSettings::new("imap.example.com", None, Security::Tls, "shop", "", senders)
            .expect("valid")
    }

    #[test]
    fn defaults_fill_the_port_and_folder() {
        let s = settings("");
        assert_eq!((s.port, s.folder.as_str()), (993, "INBOX"));
        let s = MailboxSettings::new("Mail.Example.com.", None, Security::StartTls, "u", "", "")
            .expect("valid");
        assert_eq!((s.host.as_str(), s.port), ("mail.example.com", 143));
    }

    #[test]
    fn line_breaks_and_bad_hosts_are_refused() {
        let bad = |host: &str, user: &str, folder: &str| {
            MailboxSettings::new(host, None, Security::Tls, user, folder, "").is_err()
        };
        assert!(bad("imap example.com", "u", ""));
        assert!(bad("", "u", ""));
        assert!(bad("imap.example.com", "u\r\nA1 LOGOUT", ""));
        assert!(bad("imap.example.com", "u", "INBOX\r\nA1 DELETE INBOX"));
        assert!(bad("imap.example.com", "", ""));
    }

    #[test]
    fn senders_match_addresses_and_domains() {
        let s = settings("alerts@hdfcbank.net, @sbi.co.in\nicicibank.com");
        assert!(s.reads_sender("Alerts@HDFCBank.net"));
        assert!(!s.reads_sender("other@hdfcbank.net"));
        assert!(s.reads_sender("cbsalerts@sbi.co.in"));
        assert!(!s.reads_sender("x@mail.sbi.co.in"));
        assert!(s.reads_sender("x@alerts.icicibank.com"));
        assert!(!s.reads_sender("x@noticicibank.com"));
        assert!(settings("").reads_sender("anyone@anywhere.org"));
        assert!(
            MailboxSettings::new("h.example", None, Security::Tls, "u", "", "nodomain").is_err()
        );
    }
}
