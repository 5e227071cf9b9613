//! What a customer's request says about how to show a page: inside the JS SDK's modal (for
//! which origin), and in which language (`?lang=` from the page's switch, else the browser's
//! `Accept-Language`). The checkout keeps no cookies, so both ride in the URL.

use crate::i18n::{self, Locale, Texts};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use serde::Deserialize;
use std::convert::Infallible;

#[derive(Deserialize, Default)]
struct Params {
    embed: Option<String>,
    origin: Option<String>,
    lang: Option<String>,
}

pub struct Visit {
    params: Params,
    accept_language: Option<String>,
}

impl Visit {
    /// Reads a request's query and headers; a query that does not parse asks for nothing.
    pub fn of(uri: &Uri, headers: &HeaderMap) -> Visit {
        Visit::new(uri, headers.get(header::ACCEPT_LANGUAGE))
    }

    /// `of`, from the query and the `Accept-Language` header alone.
    pub fn new(uri: &Uri, accept_language: Option<&HeaderValue>) -> Visit {
        let params = uri
            .query()
            .and_then(|q| serde_urlencoded::from_str::<Params>(q).ok())
            .unwrap_or_default();
        let accept_language = accept_language
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(500).collect());
        Visit {
            params,
            accept_language,
        }
    }

    /// The origin the page is asked to be embedded by (`?embed=1&origin=…`), not yet checked.
    pub fn embed_origin(&self) -> Option<&str> {
        if self.params.embed.as_deref() != Some("1") {
            return None;
        }
        self.params.origin.as_deref()
    }

    /// The language chosen on the page's switch.
    fn asked(&self) -> Option<Locale> {
        self.params
            .lang
            .as_deref()
            .and_then(|l| Locale::parse(l).ok())
    }

    /// The language the customer asked for on the page, else the browser's preferred one.
    pub fn preferred(&self) -> Option<Locale> {
        self.asked().or_else(|| {
            self.accept_language
                .as_deref()
                .and_then(i18n::browser_preference)
        })
    }

    /// The page's words: see `i18n::choose` for the order.
    pub fn texts(&self, payment: Option<Locale>, merchant_default: Option<Locale>) -> Texts {
        Texts::new(i18n::choose(
            self.params.lang.as_deref(),
            payment,
            self.accept_language.as_deref(),
            merchant_default,
        ))
    }

    /// What the page's forms and links carry: the accepted embedding origin and the
    /// language the customer chose (`?embed=1&origin=…&lang=ur`), or nothing.
    pub fn query(&self, accepted_origin: Option<&str>) -> String {
        query(accepted_origin, self.asked())
    }

    /// `query` without the language, for the language switch to add its own.
    pub fn query_without_lang(&self, accepted_origin: Option<&str>) -> String {
        query(accepted_origin, None)
    }
}

fn query(origin: Option<&str>, lang: Option<Locale>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(o) = origin {
        q.append_pair("embed", "1").append_pair("origin", o);
    }
    if let Some(l) = lang {
        q.append_pair("lang", l.code());
    }
    match q.finish() {
        q if q.is_empty() => q,
        q => format!("?{q}"),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Visit, Infallible> {
        Ok(Visit::of(&parts.uri, &parts.headers))
    }
}
