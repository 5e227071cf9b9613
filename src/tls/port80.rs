//! Plain HTTP on port 80 answers two things: the ACME server's HTTP-01 challenges
//! (`/.well-known/acme-challenge/{token}`, RFC 8555 §8.3) and, for everything else, a
//! permanent redirect to the same path on HTTPS. Nothing else is served without TLS.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The challenges being answered now: token → key authorization. A handful at most (one per
/// order in flight), removed when the order ends.
#[derive(Debug, Clone, Default)]
pub struct Challenges(Arc<RwLock<HashMap<String, String>>>);

impl Challenges {
    pub fn insert(&self, token: &str, key_authorization: &str) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.to_string(), key_authorization.to_string());
    }

    pub fn remove(&self, token: &str) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }

    fn get(&self, token: &str) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }
}

#[derive(Clone)]
struct Port80 {
    challenges: Challenges,
    /// `https://NAME[:port]`, where every other request is sent.
    https_base: Arc<str>,
}

/// The router of the plain-HTTP listener.
pub fn port80_router(challenges: Challenges, https_base: &str) -> Router {
    let state = Port80 {
        challenges,
        https_base: https_base.trim_end_matches('/').into(),
    };
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(challenge))
        .fallback(redirect)
        .with_state(state)
}

async fn challenge(State(port80): State<Port80>, Path(token): Path<String>) -> Response {
    match port80.challenges.get(&token) {
        Some(answer) => ([(header::CONTENT_TYPE, "text/plain")], answer).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// 308 keeps the method and body, so a client that posted to http:// by mistake is sent on
/// rather than turned into a GET.
async fn redirect(State(port80): State<Port80>, uri: Uri) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let location = format!("{}{path}", port80.https_base);
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}
