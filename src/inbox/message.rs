//! A fetched e-mail (RFC 5322 bytes, at most [`MESSAGE_MAX`] of them) read into what the
//! alert parser needs: the sender's address, the subject and the text. Parts are decoded by
//! `mailparse` (quoted-printable, base64, charsets); an HTML-only alert is reduced to text.

use crate::service::inbox::MailAlert;
use mailparse::{MailAddr, MailHeaderMap, ParsedMail};

/// Bytes of a message fetched at most: a bank alert is a few kilobytes; a larger message is
/// read only this far (its text part comes first in every alert seen).
pub const MESSAGE_MAX: usize = 64 * 1024;

/// Multipart boundaries tolerated: an alert has one or two; a message nested deeper is not an
/// alert, and refusing it keeps the parser's recursion shallow.
const BOUNDARIES_MAX: usize = 16;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum MessageError {
    #[error("not a readable e-mail: {0}")]
    Unreadable(String),
    #[error("nested deeper than an alert")]
    TooNested,
    #[error("no sender address")]
    NoSender,
}

/// Reads a message's sender, subject and text.
pub fn read_message(raw: &[u8]) -> Result<MailAlert, MessageError> {
    let raw = &raw[..raw.len().min(MESSAGE_MAX)];
    let boundaries = raw
        .windows(9)
        .filter(|w| w.eq_ignore_ascii_case(b"boundary="))
        .count();
    if boundaries > BOUNDARIES_MAX {
        return Err(MessageError::TooNested);
    }
    let mail = mailparse::parse_mail(raw).map_err(|e| MessageError::Unreadable(e.to_string()))?;
    let from = sender(&mail).ok_or(MessageError::NoSender)?;
    let subject = mail.headers.get_first_value("Subject").unwrap_or_default();
    let received_at = mail
        .headers
        .get_first_value("Date")
        .and_then(|d| mailparse::dateparse(&d).ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0));
    Ok(MailAlert {
        from,
        subject,
        text: text_of(&mail).unwrap_or_default(),
        received_at,
    })
}

/// The first address of `From`, lower-cased.
fn sender(mail: &ParsedMail) -> Option<String> {
    let header = mail.headers.get_first_header("From")?;
    let list = mailparse::addrparse_header(header).ok()?;
    let first = list.iter().find_map(|a| match a {
        MailAddr::Single(s) => Some(s.addr.clone()),
        MailAddr::Group(g) => g.addrs.first().map(|s| s.addr.clone()),
    })?;
    Some(first.trim().to_ascii_lowercase())
}

/// The message's text: its first `text/plain` part, else its first `text/html` part as text.
fn text_of(mail: &ParsedMail) -> Option<String> {
    let parts: Vec<&ParsedMail> = mail.parts().collect();
    let of_type = |t: &str| {
        parts
            .iter()
            .find(|p| p.ctype.mimetype.eq_ignore_ascii_case(t))
            .and_then(|p| p.get_body().ok())
    };
    of_type("text/plain").or_else(|| of_type("text/html").map(|html| html_text(&html)))
}

/// The text an HTML body shows: tags dropped (block tags as line breaks), `script` and
/// `style` contents dropped, the common entities decoded.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len().min(MESSAGE_MAX));
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let (tag, next) = after.split_once('>').unwrap_or((after, ""));
        let tag = tag.trim();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        rest = next;
        if matches!(name.as_str(), "script" | "style") && !tag.starts_with('/') {
            // Skip to the element's end tag (or the end of the text).
            let end = format!("</{name}");
            rest = find_ignoring_case(rest, &end).map_or("", |i| &rest[i..]);
            continue;
        }
        let block = matches!(
            name.as_str(),
            "br" | "p" | "div" | "tr" | "li" | "table" | "h1" | "h2" | "h3" | "td"
        );
        out.push(if block { '\n' } else { ' ' });
    }
    out.push_str(rest);
    decode_entities(&out)
}

/// Where ASCII `needle` first occurs in `text`, ignoring ASCII case.
fn find_ignoring_case(text: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    text.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn decode_entities(text: &str) -> String {
    const ENTITIES: [(&str, &str); 8] = [
        ("&nbsp;", " "),
        ("&#8377;", "₹"),
        ("&rupee;", "₹"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ];
    ENTITIES
        .iter()
        .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_printable_alert_is_read() {
        let raw = b"From: HDFC Bank InstaAlerts <alerts@hdfcbank.net>\r\n\
Subject: =?UTF-8?Q?You_have_received_=E2=82=B9499.00?=\r\n\
Date: Thu, 03 Dec 2026 09:00:00 +0000\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n\
Dear Customer, Rs.499.00 has been credited to your account **1234 by VPA ravi=\r\n\
@oksbi on 03-12-26. Your UPI transaction reference number is 410512345678.\r\n";
        let m = read_message(raw).expect("read");
        assert_eq!(m.from, "alerts@hdfcbank.net");
        assert_eq!(m.subject, "You have received ₹499.00");
        assert!(m.text.contains("VPA ravi@oksbi on"), "{}", m.text);
        assert_eq!(
            m.received_at.map(|t| t.to_rfc3339()),
            Some("2026-12-03T09:00:00+00:00".into())
        );
    }

    #[test]
    fn an_html_only_alert_becomes_text() {
        let raw = b"From: alerts@axisbank.com\r\nSubject: Credit\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<html><style>p{color:red}</style><body><p>Dear Customer,</p><p>INR&nbsp;1,499.00 credited\
 to A/c no. XX1234</p><script>var x = '<p>';</script><td>UPI/P2A/410512345678/RAVI</td></body></html>";
        let m = read_message(raw).expect("read");
        assert!(m.text.contains("INR 1,499.00 credited"), "{}", m.text);
        assert!(m.text.contains("UPI/P2A/410512345678/RAVI"), "{}", m.text);
        assert!(
            !m.text.contains("color") && !m.text.contains("var x"),
            "{}",
            m.text
        );
    }

    #[test]
    fn a_message_without_a_sender_or_nested_deep_is_refused() {
        assert_eq!(
            read_message(b"Subject: x\r\n\r\nbody"),
            Err(MessageError::NoSender)
        );
        let deep = "Content-Type: multipart/mixed; boundary=a\r\n".repeat(40);
        let raw = format!("From: a@b.com\r\n{deep}\r\n--a\r\n");
        assert_eq!(read_message(raw.as_bytes()), Err(MessageError::TooNested));
    }
}
