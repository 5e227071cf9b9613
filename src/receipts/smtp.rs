//! The operator's SMTP server, through lettre: one connection per message (receipts are few
//! and a pool would hold connections the server may drop), every command bounded in time.

use crate::domain::receipt::Receipt;
use lettre::message::{Mailbox, Message};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// The longest a connection or a command may take; far inside the receipt's lease.
const TIMEOUT: Duration = Duration::from_secs(20);

pub enum SendError {
    /// The server refused for good (5xx), or the message cannot be sent at all.
    Permanent(String),
    /// A 4xx, or no connection: worth trying again.
    Transient(String),
}

/// What a receipt says, before it is addressed.
pub struct Mail {
    pub sender_name: String,
    pub to: Mailbox,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("HUNDI_SMTP_URL: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from
            .parse::<Address>()
            .map_err(|e| format!("HUNDI_SMTP_FROM: {e}"))?;
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, r: &Receipt, mail: Mail) -> Result<(), SendError> {
        let message = self.message(r, mail).map_err(SendError::Permanent)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }

    /// The message: from the merchant's name at the operator's address, a text and an HTML
    /// part, and a Message-ID made from the receipt's id (the same on every try).
    fn message(&self, r: &Receipt, mail: Mail) -> Result<Message, String> {
        let sender = Mailbox::new(Some(mail.sender_name), self.from.clone());
        Message::builder()
            .from(sender)
            .to(mail.to)
            .subject(mail.subject)
            .message_id(Some(format!("<{}@{}>", r.id, self.from.domain())))
            .date(r.created_at.into())
            .multipart(lettre::message::MultiPart::alternative_plain_html(
                mail.text, mail.html,
            ))
            .map_err(|e| e.to_string())
    }
}
