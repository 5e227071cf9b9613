//! A web address a customer is sent to (success and cancel URLs): absolute, http or https,
//! with a host, of bounded length. Checked once, the same for the API and the dashboard.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebUrlError {
    #[error("must be at most {} characters", WebUrl::MAX)]
    TooLong,
    #[error("must be an absolute http(s) URL")]
    Invalid,
}

impl WebUrl {
    pub const MAX: usize = 2048;

    /// The text as given (not re-serialized), once it parses as an absolute http(s) URL.
    pub fn parse(text: &str) -> Result<WebUrl, WebUrlError> {
        if text.chars().count() > WebUrl::MAX {
            return Err(WebUrlError::TooLong);
        }
        match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Ok(WebUrl(text.to_string()))
            }
            _ => Err(WebUrlError::Invalid),
        }
    }

    /// A form's field: blank is none, anything else must be a URL.
    pub fn optional(text: &str) -> Result<Option<WebUrl>, WebUrlError> {
        let text = text.trim();
        if text.is_empty() {
            Ok(None)
        } else {
            WebUrl::parse(text).map(Some)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The hosted checkout page of a payment under the server's public URL (a trailing `/` of
/// the base is not doubled).
pub fn checkout_url(public_url: &str, payment_id: &str) -> String {
    format!("{}/pay/{payment_id}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_web_urls_pass() {
        assert!(WebUrl::parse("https://shop.example/done?x=1").is_ok());
        assert!(WebUrl::parse("http://127.0.0.1:8080/").is_ok());
        assert_eq!(WebUrl::parse("/done"), Err(WebUrlError::Invalid));
        assert_eq!(
            WebUrl::parse("ftp://shop.example/"),
            Err(WebUrlError::Invalid)
        );
        assert_eq!(
            WebUrl::parse("javascript:alert(1)"),
            Err(WebUrlError::Invalid)
        );
        let long = format!("https://a.example/{}", "x".repeat(2048));
        assert_eq!(WebUrl::parse(&long), Err(WebUrlError::TooLong));
        assert_eq!(WebUrl::optional("  "), Ok(None));
    }

    #[test]
    fn the_checkout_url_has_one_slash() {
        assert_eq!(
            checkout_url("http://h:3000", "pay_1"),
            "http://h:3000/pay/pay_1"
        );
        assert_eq!(
            checkout_url("http://h:3000/", "pay_1"),
            "http://h:3000/pay/pay_1"
        );
    }
}
