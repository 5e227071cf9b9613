//! `hundi inbox`: the mailbox whose bank alerts Hundi reads, set, shown and cleared from the
//! command line (the dashboard's Settings → Mailbox does the same).

use super::ModeArg;
use crate::domain::mailbox::{Mailbox, MailboxSettings, Security};
use crate::service::access::Acting;
use crate::service::inbox::Mailboxes;
use crate::service::Scope;
use anyhow::{bail, Result};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum InboxCommand {
    /// Set the mailbox of a merchant's mode (the password: HUNDI_MAIL_PASSWORD or
    /// --password-stdin; kept when changing other settings).
    Set {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum, default_value = "live")]
        mode: ModeArg,
        /// The IMAP server, e.g. imap.gmail.com.
        #[arg(long)]
        host: String,
        /// Default: 993 with tls, 143 with starttls.
        #[arg(long)]
        port: Option<u16>,
        /// tls (IMAPS) or starttls.
        #[arg(long, default_value = "tls")]
        security: String,
        #[arg(long)]
        user: String,
        #[arg(long, env = "HUNDI_MAIL_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "INBOX")]
        folder: String,
        /// Senders whose messages are read (addresses or domains, comma separated);
        /// default: every sender.
        #[arg(long, default_value = "")]
        senders: String,
        #[arg(long)]
        json: bool,
    },
    /// Show the mailbox and how its reading goes.
    Show {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum, default_value = "live")]
        mode: ModeArg,
        #[arg(long)]
        json: bool,
    },
    /// Stop reading the mailbox and forget it.
    Clear {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum, default_value = "live")]
        mode: ModeArg,
    },
}

pub async fn inbox(service: &Mailboxes, command: InboxCommand) -> Result<()> {
    match command {
        InboxCommand::Set {
            merchant,
            mode,
            host,
            port,
            security,
            user,
            password,
            password_stdin,
            folder,
            senders,
            json,
        } => {
            let security = Security::parse(&security).map_err(anyhow::Error::msg)?;
            let settings = MailboxSettings::new(&host, port, security, &user, &folder, &senders)
                .map_err(anyhow::Error::msg)?;
            let password = match password_stdin {
                true => Some(first_line_of_stdin()?),
                false => password,
            };
            let operator = Acting::cli(&merchant, mode.is_live());
            let m = service
                .set(&operator, settings, password.as_deref())
                .await?;
            print(&m, json)
        }
        InboxCommand::Show {
            merchant,
            mode,
            json,
        } => {
            let scope = Scope {
                merchant_id: merchant,
                livemode: mode.is_live(),
            };
            match service.get(&scope).await? {
                Some(m) => print(&m, json),
                None => bail!("no mailbox is set for this merchant and mode"),
            }
        }
        InboxCommand::Clear { merchant, mode } => {
            service
                .clear(&Acting::cli(&merchant, mode.is_live()))
                .await?;
            println!("the mailbox is no longer read");
            Ok(())
        }
    }
}

fn first_line_of_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The settings and the reading's state, never the password.
fn print(m: &Mailbox, json: bool) -> Result<()> {
    let s = &m.settings;
    let p = &m.progress;
    if json {
        let value = serde_json::json!({
            "merchant": m.merchant_id, "livemode": m.livemode, "settings": s,
            "progress": p, "set_at": m.set_at, "connected": m.connected(),
            "reader": m.lease_owner, "reader_until": m.lease_until,
        });
        println!("{value}");
        return Ok(());
    }
    let senders = match s.senders.is_empty() {
        true => "every sender".to_string(),
        false => s.senders.join(", "),
    };
    println!(
        "{}@{}:{} ({}), folder {}, reading {senders}",
        s.username,
        s.host,
        s.port,
        s.security.as_str(),
        s.folder
    );
    match (&p.last_message, p.last_read_at) {
        (Some(msg), Some(at)) => println!("last message read {at}: {msg}"),
        _ => println!("no message read yet"),
    }
    if let (Some(e), Some(at)) = (&p.last_error, p.last_error_at) {
        println!("last error {at}: {e}");
    }
    Ok(())
}
