//! Webhook targets may not reach the operator's own network (SSRF): checked when a URL is
//! saved and again at send time, after DNS resolution, by connecting only to addresses that
//! passed the check (so a name cannot be re-pointed between check and connect).

use crate::domain::webhook::forbidden_ip;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TargetError {
    #[error("the URL is not valid")]
    Invalid,
    #[error("webhook URLs must be http or https")]
    Scheme,
    #[error("live-mode webhook URLs must use https")]
    NotHttps,
    #[error("{0} is a private, loopback, link-local or otherwise reserved address")]
    Forbidden(String),
    #[error("the host {0} does not resolve")]
    Unresolvable(String),
}

/// Checks a webhook URL when it is saved.
pub async fn check_url(
    url: &str,
    livemode: bool,
    allow_private: bool,
) -> Result<url::Url, TargetError> {
    let parsed = url::Url::parse(url).map_err(|_| TargetError::Invalid)?;
    match parsed.scheme() {
        "https" => {}
        "http" if livemode => return Err(TargetError::NotHttps),
        "http" => {}
        _ => return Err(TargetError::Scheme),
    }
    if url.len() > 2048 || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Invalid);
    }
    let host = parsed.host_str().ok_or(TargetError::Invalid)?.to_string();
    if allow_private {
        return Ok(parsed);
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    for ip in resolve(&host, port).await? {
        if forbidden_ip(ip) {
            return Err(TargetError::Forbidden(ip.to_string()));
        }
    }
    Ok(parsed)
}

/// Checks the literal address of a URL at send time (names go through `GuardedResolver`).
pub fn check_literal(url: &url::Url, allow_private: bool) -> Result<(), TargetError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(TargetError::Invalid),
    };
    if !allow_private && forbidden_ip(ip) {
        return Err(TargetError::Forbidden(ip.to_string()));
    }
    Ok(())
}

async fn resolve(host: &str, port: u16) -> Result<Vec<IpAddr>, TargetError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|_| TargetError::Unresolvable(host.to_string()))?
        .map(|a| a.ip())
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::Unresolvable(host.to_string()));
    }
    Ok(addrs)
}

/// The HTTP client's resolver: resolves, then drops every forbidden address, so the client
/// connects only to addresses that were checked.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow || !forbidden_ip(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves only to forbidden addresses").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn saved_urls_are_checked() {
        assert_eq!(
            check_url("ftp://x.example/", false, false).await,
            Err(TargetError::Scheme)
        );
        assert_eq!(
            check_url("http://8.8.8.8/hook", true, false).await,
            Err(TargetError::NotHttps)
        );
        assert!(matches!(
            check_url("http://127.0.0.1:9000/hook", false, false).await,
            Err(TargetError::Forbidden(_))
        ));
        assert!(matches!(
            check_url("http://localhost:9000/hook", false, false).await,
            Err(TargetError::Forbidden(_))
        ));
        assert!(matches!(
            check_url("http://[::1]/hook", false, false).await,
            Err(TargetError::Forbidden(_))
        ));
        assert!(check_url("http://127.0.0.1:9000/hook", false, true)
            .await
            .is_ok());
        assert!(check_url("https://8.8.8.8/hook", true, false).await.is_ok());
        assert_eq!(
            check_url("https://user:pw@8.8.8.8/", true, false).await,
            Err(TargetError::Invalid)
        );
    }
}
